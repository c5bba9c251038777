//! Reading the inventory's blobs on all cores.
//!
//! Workers take consecutive chunks of the (pack-ordered) blob list from a shared counter, so
//! each reads runs of neighbouring pack entries and its delta-base cache keeps paying off. Each
//! worker has its own thread-local repository handle and one reused buffer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use gix::objs::Find;
use rayon::prelude::*;

use crate::finding::DiagnosticKind;
use crate::source::Notice;

use super::{notice, BlobEntry, Repo};

/// Blobs per chunk: large enough that neighbours in a pack stay with one worker, small enough
/// that both cores stay busy to the end.
const CHUNK: usize = 64;

pub(super) fn for_each_blob<F>(repo: &Repo, blobs: &[BlobEntry], f: F) -> Vec<Notice>
where
    F: Fn(&BlobEntry, &[u8]) + Sync,
{
    let next = AtomicUsize::new(0);
    let notices = Mutex::new(Vec::new());
    let releaser = super::pages::Releaser::default();
    let workers = rayon::current_num_threads()
        .min(blobs.len().div_ceil(CHUNK))
        .max(1);
    (0..workers).into_par_iter().for_each(|_| {
        let local = repo.local(super::PACK_CACHE_BYTES);
        let mut buf = Vec::new();
        loop {
            let start = next.fetch_add(CHUNK, Ordering::Relaxed);
            if start >= blobs.len() {
                break;
            }
            let end = (start + CHUNK).min(blobs.len());
            for entry in &blobs[start..end] {
                let read = read_one(&local, entry, &mut buf, &f);
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
