//! Keeping mapped pack files from piling up as resident memory.
//!
//! gix reads packs through memory maps. Every page of a pack the audit has touched stays mapped
//! into the process, so reading all of a 500 MB pack once leaves 500 MB resident although none
//! of it is needed again: on a real mirror that, not the audit's own data, made peak memory
//! (and `git cat-file --batch-all-objects`'s too) the size of the pack. Every so often the pages
//! of mapped `.pack` files are dropped from this process with `MADV_DONTNEED`. For a read-only
//! file mapping that only unmaps the pages: they stay in the page cache and a later read faults
//! them back in unchanged (a minor fault), so concurrent readers see the same bytes.
//! (`MADV_PAGEOUT` was tried first: it evicts from the page cache too, and silently does
//! nothing for pages the kernel deems in use.) Packs are never unmapped under us: every handle
//! [`super::Repo::local`] makes pins them with `prevent_pack_unload`.

use std::sync::atomic::{AtomicU64, Ordering};

/// A read maps at least one 64 KiB window of the pack (the kernel's fault-around); releasing
/// every 2048 windows keeps at most about 128 MiB of pack resident.
const WINDOW: u64 = 64 * 1024;
const RELEASE_EVERY: u64 = 2048;

/// Counts objects read (in windows) and releases mapped pack pages every [`RELEASE_EVERY`].
#[derive(Default)]
pub(super) struct Releaser {
    windows: AtomicU64,
}

impl Releaser {
    /// One object of `size` bytes was read.
    pub(super) fn read(&self, size: u64) {
        let n = 1 + size / WINDOW;
        let before = self.windows.fetch_add(n, Ordering::Relaxed);
        if before / RELEASE_EVERY != (before + n) / RELEASE_EVERY {
            release_mapped_packs();
        }
    }
}

/// Drops this process's resident pages of every mapped `.pack` file.
#[cfg(target_os = "linux")]
pub(super) fn release_mapped_packs() {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return;
    };
    for line in maps.lines() {
        // start-end perms offset dev inode path
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        let path = fields.nth(3).unwrap_or("");
        if !path.ends_with(".pack") || perms.contains('w') {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (
            usize::from_str_radix(start, 16),
            usize::from_str_radix(end, 16),
        ) else {
            continue;
        };
        // SAFETY: the range is, as /proc/self/maps just said, a read-only mapping of a pack
        // file, and it stays one: gix unmaps packs only when a handle refreshes the store, and
        // every handle of a history audit pins loaded packs (`Repo::local`). MADV_DONTNEED on a
        // read-only file mapping never changes what a read returns; pages refill from the file.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub(super) fn release_mapped_packs() {}
