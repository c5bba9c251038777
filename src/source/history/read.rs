//! Reading the inventory's blobs on all cores.
//!
//! Two ways, chosen per pack:
//!
//! - **Walking a pack's delta trees.** When the inventory's blobs make up most of a pack (a
//!   full-history audit), every entry of the pack is decoded exactly once: gix builds the tree
//!   of delta bases from the index and resolves each base before its deltas, on all cores.
//!   Looking blobs up one by one instead decodes a delta chain's full base again whenever it
//!   has left the delta cache (gix caches resolved deltas, never undeltified bases), which on
//!   a real mirror inflated five times the bytes the pack holds.
//! - **Looking each blob up**, for everything else: packs the inventory uses little of (an
//!   audit of one branch, of recent commits or of notebooks only), packs too large to index in
//!   memory or holding objects too large to keep a chain of, loose objects, alternates, and whatever a pack walk could not decode (a corrupt
//!   entry stops the walk; each blob it left is then looked up and, if unreadable, reported).
//!   Workers take consecutive chunks of the (pack-ordered) blob list from a shared counter, so
//!   each reads runs of neighbouring pack entries and its delta-base cache keeps paying off.
//!
//! Either way each blob is handed over once, from whichever thread read it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use gix::objs::Find;
use gix::odb::pack;
use rayon::prelude::*;

use crate::finding::DiagnosticKind;
use crate::source::Notice;

use super::{notice, BlobEntry, Repo};

/// Blobs per chunk: large enough that neighbours in a pack stay with one worker, small enough
/// that both cores stay busy to the end.
const CHUNK: usize = 64;

/// A pack is walked when the inventory's blobs take at least this share of its (compressed)
/// bytes; below it, decoding the whole pack would cost more than looking up the blobs wanted,
/// even counting the delta bases lookups decode again.
const WALK_SHARE: f64 = 1.0 / 3.0;

/// Packs with more entries are not walked: the delta tree costs about 150 bytes per entry,
/// and this keeps it near 150 MB.
const WALK_MAX_ENTRIES: u32 = 1_000_000;

/// Packs holding an entry larger than this are not walked. A walk keeps every resolved object
/// on the path from a chain's base to the delta being resolved, so its memory grows with object
/// size times chain depth; lookups hold one object (and a capped delta cache) at a time. Entry
/// headers give the sizes without inflating anything (a delta's is its own, close to its base's).
const WALK_MAX_ENTRY_BYTES: u64 = 32 << 20;

/// How the blobs were read, for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Packs whose delta trees were walked.
    pub packs_walked: usize,
    /// Blobs handed over from pack walks.
    pub walked: usize,
    /// Blobs looked up one by one (including those that turned out missing or unreadable).
    pub looked_up: usize,
}

pub(super) fn for_each_blob<F>(repo: &Repo, blobs: &[BlobEntry], f: F) -> (Vec<Notice>, ReadStats)
where
    F: Fn(&BlobEntry, &[u8]) + Sync,
{
    let wanted = Wanted::new(blobs);
    let releaser = super::pages::Releaser::default();
    let mut stats = ReadStats::default();
    for path in pack_index_paths(repo.inner.objects.path()) {
        let Ok(bundle) = pack::Bundle::at(&path, repo.inner.objects.object_hash()) else {
            // Unreadable here, unreadable for lookups too: those report each blob.
            continue;
        };
        if !worth_walking(&bundle, &wanted) {
            continue;
        }
        stats.packs_walked += 1;
        // A walk that stops early (a corrupt entry) leaves its remaining blobs to lookups.
        let _ = walk_pack(&bundle, &wanted, &releaser, &f);
    }
    super::pages::release_mapped_packs();
    let rest: Vec<usize> = (0..blobs.len())
        .filter(|&i| !wanted.done[i].load(Ordering::Relaxed))
        .collect();
    stats.walked = blobs.len() - rest.len();
    stats.looked_up = rest.len();
    let notices = look_up_each(repo, blobs, &rest, &releaser, &f);
    (notices, stats)
}

/// The inventory's blobs by id, and which of them have been handed over.
struct Wanted<'b> {
    blobs: &'b [BlobEntry],
    by_id: HashMap<gix::ObjectId, usize>,
    done: Vec<AtomicBool>,
}

impl<'b> Wanted<'b> {
    fn new(blobs: &'b [BlobEntry]) -> Self {
        Wanted {
            blobs,
            by_id: blobs
                .iter()
                .enumerate()
                .map(|(i, b)| (b.id.oid(), i))
                .collect(),
            done: blobs.iter().map(|_| AtomicBool::new(false)).collect(),
        }
    }

    /// The blob with this id, if it is wanted and nobody has taken it yet (the same object may
    /// sit in two packs).
    fn take(&self, id: &gix::oid) -> Option<&'b BlobEntry> {
        let &i = self.by_id.get(id)?;
        (!self.done[i].swap(true, Ordering::Relaxed)).then(|| &self.blobs[i])
    }
}

/// Every `pack/*.idx` of an objects directory, in name order (alternates are not included).
pub(super) fn pack_index_paths(objects: &std::path::Path) -> Vec<PathBuf> {
    let dir = objects.join("pack");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "idx"))
        .collect();
    paths.sort();
    paths
}

/// Whether the wanted blobs hold at least [`WALK_SHARE`] of the pack's entry bytes (an entry's
/// size is the distance to the next entry's offset) and no entry is over
/// [`WALK_MAX_ENTRY_BYTES`].
fn worth_walking(bundle: &pack::Bundle, wanted: &Wanted<'_>) -> bool {
    let index = &bundle.index;
    if index.num_objects() == 0 || index.num_objects() > WALK_MAX_ENTRIES {
        return false;
    }
    let mut entries: Vec<(u64, bool)> = index
        .iter()
        .map(|e| (e.pack_offset, wanted.by_id.contains_key(&e.oid)))
        .collect();
    entries.sort_unstable_by_key(|e| e.0);
    let end = bundle.pack.pack_end() as u64;
    let mut total = 0u64;
    let mut ours = 0u64;
    for (i, &(offset, wanted)) in entries.iter().enumerate() {
        let next = entries.get(i + 1).map_or(end, |e| e.0);
        let size = next.saturating_sub(offset);
        total += size;
        if wanted {
            ours += size;
        }
    }
    if total == 0 || (ours as f64) < WALK_SHARE * total as f64 {
        return false;
    }
    // Only for a pack about to be walked: reading every entry header touches all of it.
    !entries.iter().any(|&(offset, _)| {
        bundle
            .pack
            .entry(offset)
            .map_or(true, |e| e.decompressed_size > WALK_MAX_ENTRY_BYTES)
    })
}

/// Decodes every entry of the pack once, handing over the wanted blobs.
fn walk_pack<F>(
    bundle: &pack::Bundle,
    wanted: &Wanted<'_>,
    releaser: &super::pages::Releaser,
    f: &F,
) -> Result<(), gix::Error>
where
    F: Fn(&BlobEntry, &[u8]) + Sync,
{
    let interrupt = AtomicBool::new(false);
    bundle
        .index
        .traverse_with_index(
            &bundle.pack,
            |kind, data, entry, _| {
                releaser.read(data.len() as u64);
                if kind == gix::object::Kind::Blob {
                    if let Some(blob) = wanted.take(&entry.oid) {
                        f(blob, data);
                    }
                }
                Ok(())
            },
            &mut gix::utils::progress::Discard,
            &interrupt,
            pack::index::traverse::with_index::Options {
                thread_limit: Some(rayon::current_num_threads()),
                // The same trust as lookups, which do not re-hash objects either; the pack and
                // index checksums would cost a pass over the whole pack.
                check: pack::index::traverse::SafetyCheck::SkipFileAndObjectChecksumVerification,
                alloc_limit_bytes: None,
            },
        )
        .map(|_| ())
}

/// Looks up `which` blobs (indices into `blobs`, in pack order) on all cores.
fn look_up_each<F>(
    repo: &Repo,
    blobs: &[BlobEntry],
    which: &[usize],
    releaser: &super::pages::Releaser,
    f: &F,
) -> Vec<Notice>
where
    F: Fn(&BlobEntry, &[u8]) + Sync,
{
    let next = AtomicUsize::new(0);
    let notices = Mutex::new(Vec::new());
    let workers = rayon::current_num_threads()
        .min(which.len().div_ceil(CHUNK))
        .max(1);
    (0..workers).into_par_iter().for_each(|_| {
        let local = repo.local(super::PACK_CACHE_BYTES);
        let mut buf = Vec::new();
        loop {
            let start = next.fetch_add(CHUNK, Ordering::Relaxed);
            if start >= which.len() {
                break;
            }
            let end = (start + CHUNK).min(which.len());
            for &i in &which[start..end] {
                let read = read_one(&local, &blobs[i], &mut buf, f);
                releaser.read(buf.len() as u64);
                if let Err(n) = read {
                    notices
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .push(n);
                }
            }
        }
    });
    super::pages::release_mapped_packs();
    notices
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn read_one<F>(
    repo: &gix::Repository,
    entry: &BlobEntry,
    buf: &mut Vec<u8>,
    f: &F,
) -> Result<(), Notice>
where
    F: Fn(&BlobEntry, &[u8]),
{
    let path = entry
        .paths
        .first()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let id = entry.id;
    match repo.objects.try_find(&id.oid(), buf) {
        Ok(Some(data)) if data.kind == gix::object::Kind::Blob => {
            f(entry, data.data);
            Ok(())
        }
        Ok(Some(data)) => Err(notice(
            path,
            DiagnosticKind::Unreadable,
            format!("{id} is a {}, not a blob; not scanned", data.kind),
        )),
        Ok(None) => Err(notice(
            path,
            DiagnosticKind::MissingObject,
            format!("blob {id} is missing from the object database; not scanned"),
        )),
        Err(e) => Err(notice(
            path,
            DiagnosticKind::Unreadable,
            format!("blob {id} cannot be read; not scanned: {e}"),
        )),
    }
}
