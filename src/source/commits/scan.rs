//! The scanning half of [`super`]: for each commit, the blobs it introduces (tree diffs
//! against its parents, reusing one diff state), read within the limits and emitted once per
//! call; and the trees and blobs a ref can point at directly.

use std::collections::HashSet;

use gix::bstr::ByteSlice;
use gix::diff::tree::recorder::Change as TreeChange;
use gix::ObjectId;

use super::{kind_of, missing, peel, walk, Error, Limits, Node, Pushed, Target};
use crate::finding::{DiagnosticKind, Origin};
use crate::source::repo::{display_path, read_blob, Blob};
use crate::source::{CommitInfo, Item, Notice, Provenance};

/// One call's worth of scanning state: the blobs already emitted, and the reusable diff state.
pub(super) struct Scan<'r> {
    repo: &'r gix::Repository,
    limits: Limits,
    seen: HashSet<ObjectId>,
    /// Submodules and symlinks already reported; apart from `seen` so that a symlink never hides
    /// a file with the same bytes.
    reported: HashSet<ObjectId>,
    state: gix::diff::tree::State,
    lhs: Vec<u8>,
    rhs: Vec<u8>,
    pub(super) out: Pushed,
}

/// A blob a commit brings, with the first parent's blob at that path if there was one.
struct NewBlob {
    path: String,
    id: ObjectId,
    old: Option<ObjectId>,
    mode: gix::object::tree::EntryMode,
}

impl<'r> Scan<'r> {
    pub(super) fn new(repo: &'r gix::Repository, limits: Limits) -> Self {
        Scan {
            repo,
            limits,
            seen: HashSet::new(),
            reported: HashSet::new(),
            state: Default::default(),
            lhs: Vec::new(),
            rhs: Vec::new(),
            out: Pushed::default(),
        }
    }

    /// Scans one ref update's new id; returns the commit it names, to hide from later updates.
    pub(super) fn update(
        &mut self,
        new: ObjectId,
        name: &str,
        hidden: &[ObjectId],
    ) -> Result<Option<ObjectId>, Error> {
        self.tag_messages(new, name)?;
        match peel(self.repo, new)? {
            Target::Commit(id) => {
                self.commits(&[id], hidden, Some(name))?;
                return Ok(Some(id));
            }
            Target::Tree(id) => self.whole_tree(id, name)?,
            Target::Blob(id) => {
                let from = direct_provenance(id, name, "blob");
                self.blob(name.to_string(), id, None, from);
            }
            Target::Missing(id) => self.out.notices.push(missing(
                name,
                format!("{id} is not in the repository; nothing was scanned for this ref"),
            )),
        }
        Ok(None)
    }

    pub(super) fn commits(
        &mut self,
        tips: &[ObjectId],
        hidden: &[ObjectId],
        reference: Option<&str>,
    ) -> Result<(), Error> {
        let (nodes, notice) = walk(self.repo, tips, hidden)?;
        self.out.notices.extend(notice);
        for node in nodes {
            self.commit(&node, reference)?;
        }
        Ok(())
    }

    fn commit(&mut self, node: &Node, reference: Option<&str>) -> Result<(), Error> {
        let (info, tree, message) = commit_info(self.repo, node.id, reference)?;
        let short = info.short_id().to_string();
        let provenance = Provenance::Commit(info);
        self.metadata(
            format!("commit message of {short}"),
            message,
            Origin::CommitMessage,
            &provenance,
        );
        let Some(blobs) = self.introduced(node, tree)? else {
            return Ok(());
        };
        let names = self.names(&blobs);
        if !names.is_empty() {
            let label = format!("file names added by {short}");
            self.metadata(
                label,
                names.join("\n").into_bytes(),
                Origin::FileNames,
                &provenance,
            );
        }
        for b in blobs {
            if b.mode.is_blob() {
                self.blob(b.path, b.id, b.old, provenance.clone());
            } else if self.reported.insert(b.id) {
                self.out.notices.push(skipped(&b.path, b.mode, node.id));
            }
        }
        Ok(())
    }

    /// The names a commit brings: each added path, and each new symbolic link with its target
    /// (`path -> target`; a link's blob is its target, a name that is never followed).
    fn names(&self, blobs: &[NewBlob]) -> Vec<String> {
        let mut names = Vec::new();
        for b in blobs {
            if b.mode.is_link() {
                let target = match read_blob(self.repo, &b.id, &self.limits) {
                    Ok(Blob::Data(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
                    _ => String::new(),
                };
                names.push(format!("{} -> {target}", b.path));
            } else if b.old.is_none() {
                names.push(b.path.clone());
            }
        }
        names
    }

    /// Emits git metadata (a message, file names) as a text item labelled `label`.
    fn metadata(&mut self, label: String, text: Vec<u8>, origin: Origin, from: &Provenance) {
        if text.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        self.out.items.push(Item {
            path: label,
            new: text,
            provenance: from.clone(),
            origin,
            ..Item::default()
        });
    }

    /// Annotated tags on the way from a ref's new id to what it names: their messages are
    /// pushed content too, even when the tagged commit is old.
    fn tag_messages(&mut self, mut id: ObjectId, name: &str) -> Result<(), Error> {
        while kind_of(self.repo, &id) == Some(gix::object::Kind::Tag) {
            if !self.seen.insert(id) {
                return Ok(());
            }
            let error = |source| Error::Object {
                what: "tag",
                id: id.to_string(),
                source,
            };
            let tag = self.repo.find_tag(id).map_err(error)?;
            let decoded = tag.decode().map_err(error)?;
            let tag_name = decoded.name.to_str_lossy().into_owned();
            let mut text = decoded.message.to_vec();
            if let Some(signature) = decoded.signature {
                text.push(b'\n');
                text.extend_from_slice(signature);
            }
            let (author, email, time) = match decoded.tagger().ok().flatten() {
                Some(t) => (
                    t.name.trim().to_str_lossy().into_owned(),
                    t.email.trim().to_str_lossy().into_owned(),
                    t.time().map(|t| t.seconds).unwrap_or(0),
                ),
                None => Default::default(),
            };
            let from = Provenance::Commit(CommitInfo {
                id: id.to_string(),
                author,
                email,
                time,
                summary: format!("annotated tag {tag_name}"),
                reference: Some(name.to_string()),
            });
            let target = decoded.target();
            self.metadata(format!("tag {tag_name}"), text, Origin::TagMessage, &from);
            id = target;
        }
        Ok(())
    }

    /// The blobs a commit introduces: against its only parent, or for a merge, those whose path
    /// differs from every parent. `None` when a missing tree stopped the diff (with a notice).
    fn introduced(&mut self, node: &Node, tree: ObjectId) -> Result<Option<Vec<NewBlob>>, Error> {
        let mut parents = node.parents.iter();
        let first = parents.next().copied();
        let Some(mut blobs) = self.diff_to_parent(first, tree, node.id)? else {
            return Ok(None);
        };
        for &parent in parents {
            let Some(other) = self.diff_to_parent(Some(parent), tree, node.id)? else {
                return Ok(None);
            };
            let changed: HashSet<(String, ObjectId)> =
                other.into_iter().map(|b| (b.path, b.id)).collect();
            blobs.retain(|b| changed.contains(&(b.path.clone(), b.id)));
        }
        Ok(Some(blobs))
    }

    fn diff_to_parent(
        &mut self,
        parent: Option<ObjectId>,
        tree: ObjectId,
        commit: ObjectId,
    ) -> Result<Option<Vec<NewBlob>>, Error> {
        let parent_tree = match parent {
            None => None,
            Some(p) => match parent_tree(self.repo, p)? {
                Some(t) => Some(t),
                None => {
                    // A shallow boundary: without the parent everything counts as new, which
                    // scans more, never less.
                    self.out.notices.push(notice(
                        &commit.to_string(),
                        DiagnosticKind::ScannedWhole,
                        format!("parent {p} is missing; the whole tree is treated as new"),
                    ));
                    None
                }
            },
        };
        match self.diff(parent_tree, tree) {
            Ok(changes) => Ok(Some(changes.into_iter().filter_map(new_blob).collect())),
            Err(gix::diff::tree::Error::Failure(err)) if err.is_not_found() => {
                let message = format!("could not diff commit {commit}: {err}");
                self.out.notices.push(missing(&commit.to_string(), message));
                Ok(None)
            }
            Err(source) => Err(Error::Object {
                what: "trees of commit",
                id: commit.to_string(),
                source: gix::Error::from_error(source),
            }),
        }
    }

    fn diff(
        &mut self,
        from: Option<ObjectId>,
        to: ObjectId,
    ) -> Result<Vec<TreeChange>, gix::diff::tree::Error> {
        use gix::objs::FindExt;
        let kind = self.repo.object_hash();
        let lhs = match from {
            Some(id) => self.repo.objects.find_tree_iter(&id, &mut self.lhs)?,
            None => gix::objs::TreeRefIter::from_bytes(&[], kind),
        };
        let rhs = self.repo.objects.find_tree_iter(&to, &mut self.rhs)?;
        // A fresh recorder each time: it tracks the current path, which a finished diff can
        // leave behind. The diff state, which holds the larger buffers, is reused.
        let mut recorder = gix::diff::tree::Recorder::default();
        gix::diff::tree(lhs, rhs, &mut self.state, &self.repo.objects, &mut recorder)?;
        Ok(recorder.records)
    }

    /// Every blob of a tree a ref points at directly, under the ref's name.
    fn whole_tree(&mut self, tree: ObjectId, name: &str) -> Result<(), Error> {
        let changes = self.diff(None, tree).map_err(|source| Error::Object {
            what: "tree",
            id: tree.to_string(),
            source: gix::Error::from_error(source),
        })?;
        let from = direct_provenance(tree, name, "tree");
        for b in changes.into_iter().filter_map(new_blob) {
            if b.mode.is_blob() {
                self.blob(format!("{name}:{}", b.path), b.id, None, from.clone());
            }
        }
        Ok(())
    }

    /// Emits one blob unless this call already did; reads it within the limits.
    fn blob(&mut self, path: String, id: ObjectId, old: Option<ObjectId>, from: Provenance) {
        if !self.seen.insert(id) {
            return;
        }
        let Some(new) = self.read_new(&path, id, &from) else {
            return;
        };
        if let New::Large(size) = new {
            self.out.items.push(Item {
                path,
                blob: Some(id.to_string()),
                old_blob: old.map(|o| o.to_string()),
                large: Some(size),
                provenance: from,
                ..Item::default()
            });
            return;
        }
        let New::Data(new) = new else { return };
        let old = old.and_then(|o| match read_blob(self.repo, &o, &self.limits) {
            Ok(Blob::Data(bytes)) => Some(bytes),
            // Without the old version everything counts as new, which is the safe side.
            _ => None,
        });
        self.out.items.push(Item {
            path,
            new,
            old,
            blob: Some(id.to_string()),
            old_blob: None,
            large: None,
            provenance: from,
            origin: Default::default(),
        });
    }

    fn read_new(&mut self, path: &str, id: ObjectId, from: &Provenance) -> Option<New> {
        let at = match from {
            Provenance::Commit(c) if !c.author.is_empty() => format!(" in commit {}", c.short_id()),
            _ => String::new(),
        };
        let (kind, message) = match read_blob(self.repo, &id, &self.limits) {
            Ok(Blob::Data(bytes)) => return Some(New::Data(bytes)),
            Ok(Blob::TooLarge(size)) => return Some(New::Large(size)),
            Ok(Blob::Missing) => (
                DiagnosticKind::MissingObject,
                format!("blob {id}{at} is missing; not scanned"),
            ),
            Ok(Blob::WrongKind(kind)) => (
                DiagnosticKind::Unreadable,
                format!("object {id}{at} is a {kind}, not a blob; not scanned"),
            ),
            Err(err) => (
                DiagnosticKind::Unreadable,
                format!("blob {id}{at} could not be read ({err}); not scanned"),
            ),
        };
        self.out.notices.push(notice(path, kind, message));
        None
    }
}

/// The commit's metadata, tree and whole message.
fn commit_info(
    repo: &gix::Repository,
    id: ObjectId,
    reference: Option<&str>,
) -> Result<(CommitInfo, ObjectId, Vec<u8>), Error> {
    let error = |source| Error::Object {
        what: "commit",
        id: id.to_string(),
        source,
    };
    let commit = repo.find_commit(id).map_err(error)?;
    let author = commit.author().map_err(error)?;
    let time = author.time().map(|t| t.seconds).unwrap_or(0);
    let summary = commit
        .message()
        .map(|m| m.summary().to_str_lossy().into_owned())
        .unwrap_or_default();
    let info = CommitInfo {
        id: id.to_string(),
        author: author.name.trim().to_str_lossy().into_owned(),
        email: author.email.trim().to_str_lossy().into_owned(),
        time,
        summary,
        reference: reference.map(str::to_string),
    };
    let tree = commit.tree_id().map_err(error)?.detach();
    let message = commit.message_raw().map_err(error)?.to_vec();
    Ok((info, tree, message))
}

/// Stands in for a commit when a ref names a tree or blob directly: the object's id, and a
/// summary saying what happened.
fn direct_provenance(id: ObjectId, name: &str, what: &str) -> Provenance {
    Provenance::Commit(CommitInfo {
        id: id.to_string(),
        summary: format!("{name} points directly at a {what}"),
        reference: Some(name.to_string()),
        ..CommitInfo::default()
    })
}

/// A parent's tree, or `None` when the parent commit is not in the repository.
fn parent_tree(repo: &gix::Repository, parent: ObjectId) -> Result<Option<ObjectId>, Error> {
    if kind_of(repo, &parent).is_none() {
        return Ok(None);
    }
    let error = |source| Error::Object {
        what: "commit",
        id: parent.to_string(),
        source,
    };
    let commit = repo.find_commit(parent).map_err(error)?;
    Ok(Some(commit.tree_id().map_err(error)?.detach()))
}

/// The new side of an addition or modification, unless it is a tree.
fn new_blob(change: TreeChange) -> Option<NewBlob> {
    let (path, id, old, mode, old_mode) = match change {
        TreeChange::Addition {
            entry_mode,
            oid,
            path,
            ..
        } => (path, oid, None, entry_mode, None),
        TreeChange::Modification {
            previous_entry_mode,
            previous_oid,
            entry_mode,
            oid,
            path,
        } => (
            path,
            oid,
            Some(previous_oid),
            entry_mode,
            Some(previous_entry_mode),
        ),
        TreeChange::Deletion { .. } => return None,
    };
    if mode.is_tree() {
        return None;
    }
    let old = old.filter(|_| old_mode.is_some_and(|m| m.is_blob()));
    Some(NewBlob {
        path: display_path(path.as_ref()),
        id,
        old,
        mode,
    })
}

fn skipped(path: &str, mode: gix::object::tree::EntryMode, commit: ObjectId) -> Notice {
    let message = if mode.is_commit() {
        format!(
            "submodule in commit {commit} is not scanned (its repository is scanned on its own)"
        )
    } else {
        format!("symbolic link in commit {commit} is not followed; its target is scanned as a name")
    };
    notice(path, DiagnosticKind::Skipped, message)
}

fn notice(path: &str, kind: DiagnosticKind, message: String) -> Notice {
    Notice {
        path: path.to_string(),
        kind,
        message,
    }
}

/// A new blob: read, or over the limit and left for the caller to read and scan in windows.
enum New {
    Data(Vec<u8>),
    Large(u64),
}
