//! What `git commit` is about to record: the index compared with `HEAD`'s tree, path by path.
//! Every file whose staged blob differs from `HEAD`'s becomes an [`Item`] with `HEAD`'s version as
//! its old content, so that the scanning stages can report only what is new.
//!
//! The index is the one git names in `GIT_INDEX_FILE` when the repository was opened with
//! [`super::repo::open`] (`git commit -a` and `git commit <paths>` use temporary indexes).
//! Entries that are not file content are reported, not scanned: submodules (a commit id of
//! another repository, never looked up), symlinks (the blob is the link target, whatever the
//! name says). Blobs over the size limit become items left unread ([`Item::large`]), for the
//! caller to scan in windows. Intent-to-add entries and deletions have nothing to scan. For an unmerged path (normally refused by `git commit` before hooks run, but seen when
//! nbguard runs by hand during a merge) both sides of the conflict that differ from `HEAD` are
//! scanned. Sparse-index directory entries are compared with `HEAD`'s subtree and expanded only
//! when they differ. A rename arrives as a deletion and an addition; the addition gets the
//! deleted file's content as its old content when the blob is identical or, failing that, when
//! exactly one deleted file has the same name.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::PathBuf;

use gix::bstr::{BStr, BString, ByteSlice, ByteVec};
use gix::index::entry::{Flags, Mode, Stage};
use gix::ObjectId;

pub use super::repo::Limits;
use super::repo::{display_path, read_blob, Blob};
use super::{Item, Notice, Provenance};
use crate::finding::DiagnosticKind;

/// Why the staged changes could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not read the index at {}", path.display())]
    Index {
        path: PathBuf,
        #[source]
        source: gix::Error,
    },
    #[error("could not read the tree of HEAD in {}", git_dir.display())]
    HeadTree {
        git_dir: PathBuf,
        #[source]
        source: gix::Error,
    },
    #[error("could not expand the sparse directory `{path}` (tree {id}) of the index")]
    SparseDir {
        path: String,
        id: String,
        #[source]
        source: gix::Error,
    },
    #[error("could not read object {id} for `{path}`")]
    Object {
        path: String,
        id: String,
        #[source]
        source: gix::Error,
    },
}

/// The staged changes: what to scan, and what the user should hear about.
#[derive(Debug, Default)]
pub struct Staged {
    pub items: Vec<Item>,
    pub notices: Vec<Notice>,
}

/// An index or tree entry reduced to what the comparison needs.
#[derive(Debug, Clone)]
struct Entry {
    path: BString,
    mode: Mode,
    id: ObjectId,
    stage: Stage,
    intent_to_add: bool,
}

impl Entry {
    fn is_file(&self) -> bool {
        self.mode == Mode::FILE || self.mode == Mode::FILE_EXECUTABLE
    }
}

/// A path whose staged state differs from `HEAD`.
#[derive(Debug)]
enum Change<'a> {
    Added(&'a Entry),
    Modified {
        new: &'a Entry,
        old: &'a Entry,
    },
    Deleted(&'a Entry),
    /// Conflict stages 2 and 3 (ours, theirs), and `HEAD`'s entry when there is one.
    Unmerged {
        sides: Vec<&'a Entry>,
        head: Option<&'a Entry>,
    },
}

/// Reads the staged changes of `repo` (see the module documentation for what is skipped).
pub fn read_staged(repo: &gix::Repository, limits: &Limits) -> Result<Staged, Error> {
    read_with(repo, limits, OldVersions::Read)
}

/// Like [`read_staged`], but leaves `HEAD`'s versions unread: items carry their id in
/// `old_blob` for [`read_old_blob`]. A commit without findings never needs them, and they are
/// half the bytes to inflate. New blobs are read on all cores.
pub fn read_staged_lazily(repo: &gix::Repository, limits: &Limits) -> Result<Staged, Error> {
    read_with(repo, limits, OldVersions::Defer)
}

/// Reads the old version named by an item's `old_blob`; `None` when it cannot be had (the
/// whole file then counts as new).
pub fn read_old_blob(repo: &gix::Repository, hex: &str, limits: &Limits) -> Option<Vec<u8>> {
    let id = ObjectId::from_hex(hex.as_bytes()).ok()?;
    match read_blob(repo, &id, limits) {
        Ok(Blob::Data(bytes)) => Some(bytes),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OldVersions {
    Read,
    Defer,
}

fn read_with(repo: &gix::Repository, limits: &Limits, old: OldVersions) -> Result<Staged, Error> {
    use rayon::prelude::*;
    let head_tree = head_tree_id(repo)?;
    let mut head = tree_entries(repo, head_tree)?;
    let index = index_entries(repo, head_tree, &mut head)?;
    let changes = pair_renames(join(&index, &head));
    // Each change is read on its own (a thread-local clone of the repository per worker) and the
    // results are put back in path order.
    let shared = repo.clone().into_sync();
    let parts: Vec<Result<Staged, Error>> = changes
        .into_par_iter()
        .map_init(
            || shared.to_thread_local(),
            |repo, change| {
                let mut out = Staged::default();
                read_change(repo, limits, change, old, &mut out).map(|()| out)
            },
        )
        .collect();
    let mut out = Staged::default();
    for part in parts {
        let part = part?;
        out.items.extend(part.items);
        out.notices.extend(part.notices);
    }
    Ok(out)
}

fn head_tree_id(repo: &gix::Repository) -> Result<ObjectId, Error> {
    repo.head_tree_id_or_empty()
        .map(gix::Id::detach)
        .map_err(|source| Error::HeadTree {
            git_dir: repo.git_dir().to_owned(),
            source,
        })
}

/// All blobs (and gitlinks) of a tree, sorted by path like an index.
fn tree_entries(repo: &gix::Repository, tree: ObjectId) -> Result<Vec<Entry>, Error> {
    let file = repo
        .index_from_tree(&tree)
        .map_err(|source| Error::HeadTree {
            git_dir: repo.git_dir().to_owned(),
            source,
        })?;
    Ok(entries_of(&file, b""))
}

fn entries_of(file: &gix::index::File, prefix: &[u8]) -> Vec<Entry> {
    file.entries()
        .iter()
        .map(|e| {
            let mut path = BString::from(prefix);
            path.push_str(e.path(file));
            Entry {
                path,
                mode: e.mode,
                id: e.id,
                stage: e.stage(),
                intent_to_add: e.flags.contains(Flags::INTENT_TO_ADD),
            }
        })
        .collect()
}

/// The index's entries with sparse directories resolved: a directory whose tree equals `HEAD`'s
/// subtree is dropped together with `HEAD`'s entries below it (nothing changed there), any other
/// is expanded into its files.
fn index_entries(
    repo: &gix::Repository,
    head_tree: ObjectId,
    head: &mut Vec<Entry>,
) -> Result<Vec<Entry>, Error> {
    let index = repo.index_or_empty().map_err(|source| Error::Index {
        path: repo.index_path(),
        source,
    })?;
    let mut entries = entries_of(&index, b"");
    if !entries.iter().any(|e| e.mode.is_sparse()) {
        return Ok(entries);
    }
    let mut unchanged = Vec::new();
    let mut expanded = Vec::new();
    for dir in entries.iter().filter(|e| e.mode.is_sparse()) {
        if head_subtree(repo, head_tree, dir.path.as_ref()) == Some(dir.id) {
            unchanged.push(dir.path.clone());
        } else {
            expanded.extend(expand_dir(repo, dir)?);
        }
    }
    entries.retain(|e| !e.mode.is_sparse());
    entries.extend(expanded);
    entries.sort_by(|a, b| a.path.cmp(&b.path).then(a.stage.cmp(&b.stage)));
    drop_below(head, unchanged);
    Ok(entries)
}

/// Removes the entries below any of `dirs` (each ending in `/`). Sparse directories never nest,
/// so the only candidate for an entry is the greatest directory that sorts before it.
fn drop_below(entries: &mut Vec<Entry>, mut dirs: Vec<BString>) {
    dirs.sort();
    entries.retain(|e| {
        let i = dirs.partition_point(|d| *d <= e.path);
        i == 0 || !e.path.starts_with(&dirs[i - 1])
    });
}

/// The id of `HEAD`'s tree at a sparse directory's path (which ends in `/`).
fn head_subtree(repo: &gix::Repository, head_tree: ObjectId, dir: &BStr) -> Option<ObjectId> {
    let rela = dir.strip_suffix(b"/").unwrap_or(dir);
    let path = gix::path::from_bstr(rela.as_bstr()).ok()?;
    let tree = repo.find_tree(head_tree).ok()?;
    let entry = tree.lookup_entry_by_path(path).ok()??;
    entry.mode().is_tree().then(|| entry.object_id())
}

fn expand_dir(repo: &gix::Repository, dir: &Entry) -> Result<Vec<Entry>, Error> {
    let file = repo
        .index_from_tree(&dir.id)
        .map_err(|source| Error::SparseDir {
            path: display_path(dir.path.as_ref()),
            id: dir.id.to_string(),
            source,
        })?;
    Ok(entries_of(&file, dir.path.as_ref()))
}

/// Merge-joins the index (possibly several stages per path) with `HEAD` (one entry per path).
fn join<'a>(index: &'a [Entry], head: &'a [Entry]) -> Vec<Change<'a>> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    loop {
        let order = match (index.get(i), head.get(j)) {
            (Some(a), Some(b)) => a.path.cmp(&b.path),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => return out,
        };
        let group = index[i..]
            .iter()
            .take_while(|e| index.get(i).is_some_and(|first| first.path == e.path))
            .count();
        match order {
            Ordering::Less => {
                out.extend(classify(&index[i..i + group], None));
                i += group;
            }
            Ordering::Greater => {
                out.push(Change::Deleted(&head[j]));
                j += 1;
            }
            Ordering::Equal => {
                out.extend(classify(&index[i..i + group], Some(&head[j])));
                i += group;
                j += 1;
            }
        }
    }
}

/// The change at one path, given its index entries (all stages) and `HEAD`'s entry.
fn classify<'a>(staged: &'a [Entry], head: Option<&'a Entry>) -> Option<Change<'a>> {
    let [entry] = staged else {
        return Some(unmerged(staged, head));
    };
    if entry.stage != Stage::Unconflicted {
        return Some(unmerged(staged, head));
    }
    match head {
        // An intent-to-add entry records nothing; over a `HEAD` entry it means a deletion.
        _ if entry.intent_to_add => None,
        Some(old) if old.id == entry.id && old.mode == entry.mode => None,
        // Only the executable bit changed: no new content.
        Some(old) if old.id == entry.id && old.is_file() && entry.is_file() => None,
        Some(old) => Some(Change::Modified { new: entry, old }),
        None => Some(Change::Added(entry)),
    }
}

fn unmerged<'a>(staged: &'a [Entry], head: Option<&'a Entry>) -> Change<'a> {
    let sides = staged
        .iter()
        .filter(|e| matches!(e.stage, Stage::Ours | Stage::Theirs))
        .collect();
    Change::Unmerged { sides, head }
}

/// Gives an added file the content of a deleted one it was renamed from: the same blob, or else
/// the only deleted file with the same name.
fn pair_renames(changes: Vec<Change<'_>>) -> Vec<Change<'_>> {
    let deleted: Vec<&Entry> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Deleted(e) if e.is_file() => Some(*e),
            _ => None,
        })
        .collect();
    if deleted.is_empty() {
        return changes;
    }
    let by_id: HashMap<ObjectId, &Entry> = deleted.iter().map(|e| (e.id, *e)).collect();
    let mut by_name: HashMap<&BStr, Vec<&Entry>> = HashMap::new();
    for e in &deleted {
        by_name.entry(file_name(&e.path)).or_default().push(e);
    }
    changes
        .into_iter()
        .map(|change| match change {
            Change::Added(new) if new.is_file() => {
                let same_name = by_name.get(file_name(&new.path)).filter(|v| v.len() == 1);
                match by_id.get(&new.id).or(same_name.map(|v| &v[0])) {
                    Some(old) => Change::Modified { new, old },
                    None => Change::Added(new),
                }
            }
            other => other,
        })
        .collect()
}

fn file_name(path: &BString) -> &BStr {
    path.rsplit_str("/")
        .next()
        .unwrap_or(path.as_ref())
        .as_bstr()
}

fn read_change(
    repo: &gix::Repository,
    limits: &Limits,
    change: Change<'_>,
    mode: OldVersions,
    out: &mut Staged,
) -> Result<(), Error> {
    match change {
        Change::Deleted(_) => Ok(()),
        Change::Added(new) => read_entry(repo, limits, new, None, mode, out),
        Change::Modified { new, old } => read_entry(repo, limits, new, Some(old), mode, out),
        Change::Unmerged { sides, head } => read_unmerged(repo, limits, sides, head, mode, out),
    }
}

fn read_unmerged(
    repo: &gix::Repository,
    limits: &Limits,
    sides: Vec<&Entry>,
    head: Option<&Entry>,
    mode: OldVersions,
    out: &mut Staged,
) -> Result<(), Error> {
    let Some(first) = sides.first() else {
        // Only the merge base is left: the path is deleted on both sides.
        return Ok(());
    };
    out.notices.push(notice(
        &first.path,
        DiagnosticKind::Other,
        "unmerged path: both sides of the conflict are scanned".into(),
    ));
    let mut seen = Vec::new();
    for side in sides {
        if head.is_some_and(|h| h.id == side.id) || seen.contains(&side.id) {
            continue;
        }
        seen.push(side.id);
        read_entry(repo, limits, side, head, mode, out)?;
    }
    Ok(())
}

/// Turns one staged entry into an item, or into a notice saying why it is not scanned.
fn read_entry(
    repo: &gix::Repository,
    limits: &Limits,
    new: &Entry,
    old: Option<&Entry>,
    mode: OldVersions,
    out: &mut Staged,
) -> Result<(), Error> {
    if let Some(skip) = skip_reason(new) {
        out.notices
            .push(notice(&new.path, DiagnosticKind::Skipped, skip));
        return Ok(());
    }
    let Some((bytes, large)) = read_new(repo, limits, new, out)? else {
        return Ok(());
    };
    let old_entry = old.filter(|o| o.is_file());
    let (old, old_blob) = match (old_entry, mode) {
        // A large blob's old version is read by whoever reads the blob.
        (Some(o), _) if large.is_some() => (None, Some(o.id.to_string())),
        (Some(o), OldVersions::Read) => (read_old(repo, limits, o, &new.path, out)?, None),
        (Some(o), OldVersions::Defer) => (None, Some(o.id.to_string())),
        (None, _) => (None, None),
    };
    out.items.push(Item {
        path: display_path(new.path.as_ref()),
        new: bytes,
        old,
        old_blob,
        blob: Some(new.id.to_string()),
        large,
        provenance: Provenance::Staged,
        origin: Default::default(),
    });
    Ok(())
}

fn skip_reason(entry: &Entry) -> Option<String> {
    if entry.mode == Mode::COMMIT {
        Some(format!(
            "submodule (commit {}) is not scanned; scan it in its own repository",
            entry.id
        ))
    } else if entry.mode == Mode::SYMLINK {
        Some("symbolic link is not scanned (its blob is the link target)".into())
    } else if !entry.is_file() {
        Some(format!(
            "entry of mode {:o} is not scanned",
            entry.mode.bits()
        ))
    } else {
        None
    }
}

/// Staged bytes, and the blob's size instead when it is over the limit (the bytes are then empty).
type NewContent = (Vec<u8>, Option<u64>);

/// The staged content, or (empty, its size) when it is over the limit and left for the caller
/// to read and scan in windows.
fn read_new(
    repo: &gix::Repository,
    limits: &Limits,
    entry: &Entry,
    out: &mut Staged,
) -> Result<Option<NewContent>, Error> {
    let (kind, message) = match read(repo, limits, entry, &entry.path)? {
        Blob::Data(bytes) => return Ok(Some((bytes, None))),
        Blob::TooLarge(size) => return Ok(Some((Vec::new(), Some(size)))),
        Blob::Missing => (
            DiagnosticKind::MissingObject,
            format!(
                "staged blob {} is missing from the object database",
                entry.id
            ),
        ),
        Blob::WrongKind(kind) => (
            DiagnosticKind::Unreadable,
            format!("staged object {} is a {kind}, not a blob", entry.id),
        ),
    };
    out.notices.push(notice(&entry.path, kind, message));
    Ok(None)
}

/// `HEAD`'s version; when it cannot be had, everything staged counts as new.
fn read_old(
    repo: &gix::Repository,
    limits: &Limits,
    entry: &Entry,
    path: &BString,
    out: &mut Staged,
) -> Result<Option<Vec<u8>>, Error> {
    Ok(match read(repo, limits, entry, path)? {
        Blob::Data(bytes) => Some(bytes),
        Blob::Missing => {
            out.notices.push(notice(
                path,
                DiagnosticKind::ScannedWhole,
                format!(
                    "previous version (blob {}) is missing; the whole file is treated as new",
                    entry.id
                ),
            ));
            None
        }
        Blob::TooLarge(_) | Blob::WrongKind(_) => None,
    })
}

fn read(
    repo: &gix::Repository,
    limits: &Limits,
    entry: &Entry,
    path: &BString,
) -> Result<Blob, Error> {
    read_blob(repo, &entry.id, limits).map_err(|source| Error::Object {
        path: display_path(path.as_ref()),
        id: entry.id.to_string(),
        source,
    })
}

fn notice(path: &BString, kind: DiagnosticKind, message: String) -> Notice {
    Notice {
        path: display_path(path.as_ref()),
        kind,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, id: u8, stage: Stage) -> Entry {
        Entry {
            path: path.into(),
            mode: Mode::FILE,
            id: ObjectId::from_bytes_or_panic(&[id; 20]),
            stage,
            intent_to_add: false,
        }
    }

    fn kinds(changes: &[Change<'_>]) -> Vec<String> {
        changes
            .iter()
            .map(|c| match c {
                Change::Added(e) => format!("A {}", e.path),
                Change::Modified { new, .. } => format!("M {}", new.path),
                Change::Deleted(e) => format!("D {}", e.path),
                Change::Unmerged { sides, .. } => format!("U {}", sides.len()),
            })
            .collect()
    }

    #[test]
    fn join_sees_additions_modifications_deletions_and_conflicts() {
        let index = vec![
            entry("a", 1, Stage::Unconflicted),
            entry("b", 9, Stage::Unconflicted),
            entry("c", 3, Stage::Base),
            entry("c", 4, Stage::Ours),
            entry("c", 5, Stage::Theirs),
            entry("e", 6, Stage::Unconflicted),
        ];
        let head = vec![
            entry("a", 1, Stage::Unconflicted),
            entry("b", 2, Stage::Unconflicted),
            entry("c", 3, Stage::Unconflicted),
            entry("d", 4, Stage::Unconflicted),
        ];
        assert_eq!(kinds(&join(&index, &head)), ["M b", "U 2", "D d", "A e"]);
    }

    #[test]
    fn entries_below_unchanged_sparse_directories_are_dropped() {
        let mut head = vec![
            entry("a/x", 1, Stage::Unconflicted),
            entry("b", 1, Stage::Unconflicted),
            entry("b/y", 1, Stage::Unconflicted),
            entry("b/z/w", 1, Stage::Unconflicted),
            entry("bc", 1, Stage::Unconflicted),
            entry("c/v", 1, Stage::Unconflicted),
        ];
        drop_below(&mut head, vec!["c/".into(), "b/".into()]);
        let left: Vec<String> = head.iter().map(|e| e.path.to_string()).collect();
        assert_eq!(left, ["a/x", "b", "bc"]);
    }

    #[test]
    fn renamed_file_gets_its_old_content() {
        let index = vec![entry("new/x.ipynb", 1, Stage::Unconflicted)];
        let head = vec![entry("old/x.ipynb", 2, Stage::Unconflicted)];
        let changes = pair_renames(join(&index, &head));
        assert_eq!(kinds(&changes), ["M new/x.ipynb", "D old/x.ipynb"]);
    }

    #[test]
    fn ambiguous_names_are_not_paired() {
        let index = vec![entry("n/x", 1, Stage::Unconflicted)];
        let head = vec![
            entry("a/x", 2, Stage::Unconflicted),
            entry("b/x", 3, Stage::Unconflicted),
        ];
        let changes = kinds(&pair_renames(join(&index, &head)));
        assert_eq!(changes, ["D a/x", "D b/x", "A n/x"]);
    }
}
