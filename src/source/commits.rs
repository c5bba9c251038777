//! Commit ranges: the blobs that new commits bring, for `pre-receive` (a push arriving on a
//! server), `pre-push` (what a user is about to publish) and `nbguard diff <base>..<head>` in CI.
//!
//! New commits are those reachable from the new tips and from no existing ref (`git rev-list
//! <new…> --not --all`), visited parents before children. Each commit is diffed against its first
//! parent; a merge contributes only the blobs that are in none of its parents at that path, i.e.
//! what the merge itself introduces. A blob id is emitted once per call, by the oldest commit
//! that brings it, so content carried by many commits is scanned once. There is no rename
//! tracking: a renamed file is new at its new path, with no old content.
//!
//! A ref may point straight at a tree or a blob; those are scanned whole. Deletions scan nothing.
//! Missing objects (shallow and partial clones, trimmed mirrors) become notices, not errors.

mod scan;

use std::collections::HashMap;

use gix::ObjectId;

pub use super::repo::Limits;
use super::{Item, Notice};
use crate::finding::DiagnosticKind;
use scan::Scan;

/// Why the commits of a push or range could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("line {line} of the ref updates is not `<old> <new> <ref>` or `<local ref> <local id> <remote ref> <remote id>`: {text:?}")]
    Syntax { line: usize, text: String },
    #[error("line {line} of the ref updates has an invalid object id {id:?}")]
    BadId { line: usize, id: String },
    #[error("could not resolve the revision range {spec:?}")]
    Spec {
        spec: String,
        #[source]
        source: Option<gix::Error>,
    },
    #[error("could not list the repository's references")]
    Refs {
        #[source]
        source: gix::Error,
    },
    #[error("could not walk the commits from {tip}")]
    Walk {
        tip: String,
        #[source]
        source: gix::Error,
    },
    #[error("could not read {what} {id}")]
    Object {
        what: &'static str,
        id: String,
        #[source]
        source: gix::Error,
    },
}

/// One line of `pre-receive` or `pre-push` input. `None` stands for git's all-zero id: a ref
/// being created (`old`) or deleted (`new`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    pub old: Option<ObjectId>,
    pub new: Option<ObjectId>,
    /// The ref being updated (for `pre-push`, the remote ref).
    pub name: String,
}

/// The content a push or range brings: what to scan, and what the user should hear about.
#[derive(Debug, Default)]
pub struct Pushed {
    pub items: Vec<Item>,
    pub notices: Vec<Notice>,
}

/// Parses `pre-receive` lines (`<old> <new> <ref>`) or `pre-push` lines (`<local ref> <local id>
/// <remote ref> <remote id>`); blank lines are ignored. Zero ids may be 40 or 64 digits.
pub fn parse_ref_updates(text: &str) -> Result<Vec<RefUpdate>, Error> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (old, new, name) = match fields[..] {
            [] => continue,
            [old, new, name] => (old, new, name),
            [_local_ref, local, remote_ref, remote] => (remote, local, remote_ref),
            _ => {
                return Err(Error::Syntax {
                    line: line_no,
                    text: line.to_string(),
                })
            }
        };
        out.push(RefUpdate {
            old: parse_id(old, line_no)?,
            new: parse_id(new, line_no)?,
            name: name.to_string(),
        });
    }
    Ok(out)
}

fn parse_id(hex: &str, line: usize) -> Result<Option<ObjectId>, Error> {
    let bad = || Error::BadId {
        line,
        id: hex.to_string(),
    };
    if !matches!(hex.len(), 40 | 64) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    if hex.bytes().all(|b| b == b'0') {
        return Ok(None);
    }
    ObjectId::from_hex(hex.as_bytes())
        .map(Some)
        .map_err(|_| bad())
}

/// Every existing ref (and `HEAD`) peeled to a commit: what `--not --all` hides. Refs that cannot
/// be peeled or that point at trees and blobs are left out; git would not hide through them either.
pub fn existing_tips(repo: &gix::Repository) -> Result<Vec<ObjectId>, Error> {
    tips_under(repo, None)
}

fn tips_under(repo: &gix::Repository, prefix: Option<&str>) -> Result<Vec<ObjectId>, Error> {
    let refs_error = |source| Error::Refs { source };
    let platform = repo.references().map_err(refs_error)?;
    let iter = match prefix {
        Some(p) => platform.prefixed(p).map_err(refs_error)?,
        None => platform.all().map_err(refs_error)?,
    };
    let mut tips: Vec<ObjectId> = iter
        .peeled()
        .map_err(refs_error)?
        .filter_map(Result::ok)
        .map(|r| r.id().detach())
        .collect();
    if prefix.is_none() {
        tips.extend(repo.head_id().ok().map(gix::Id::detach));
    }
    tips.retain(|id| kind_of(repo, id) == Some(gix::object::Kind::Commit));
    tips.sort();
    tips.dedup();
    Ok(tips)
}

/// The commits reachable from `tips` and from none of `hidden`, parents before children.
/// `hidden` must hold commit ids; others are ignored (as gix would silently ignore them).
pub fn new_commits(
    repo: &gix::Repository,
    tips: &[ObjectId],
    hidden: &[ObjectId],
) -> Result<Vec<ObjectId>, Error> {
    let (nodes, _) = walk(repo, tips, hidden)?;
    Ok(nodes.into_iter().map(|n| n.id).collect())
}

/// Everything a `pre-receive` hook must scan: for each update in order, the new commits (not
/// reachable from any existing ref nor from an earlier update's tip), or the tree or blob the ref
/// points at. Open the repository with [`super::quarantine::open`] so pushed objects are visible.
pub fn read_push(
    repo: &gix::Repository,
    updates: &[RefUpdate],
    limits: &Limits,
) -> Result<Pushed, Error> {
    let hidden = existing_tips(repo)?;
    read_updates(repo, updates, hidden, limits)
}

/// Everything a `pre-push` hook must scan: the local commits not reachable from the
/// remote-tracking refs of `remote` (all remotes when `None`) nor from the remote's current ids.
/// git passes the hook a URL instead of a name when pushing to a URL; pass `None` then.
pub fn read_pre_push(
    repo: &gix::Repository,
    updates: &[RefUpdate],
    remote: Option<&str>,
    limits: &Limits,
) -> Result<Pushed, Error> {
    let prefix = match remote {
        Some(name) => format!("refs/remotes/{name}/"),
        None => "refs/remotes/".to_string(),
    };
    let mut hidden = tips_under(repo, Some(&prefix))?;
    hidden.extend(updates.iter().filter_map(|u| u.old));
    read_updates(repo, updates, hidden, limits)
}

/// Everything a revision range brings, for CI: `base..head` (and `base...head`, read the same
/// way: only head's side matters) scans the commits reachable from head and not from base;
/// a single revision scans its whole history; `rev^!` scans that one commit.
pub fn read_range(repo: &gix::Repository, spec: &str, limits: &Limits) -> Result<Pushed, Error> {
    let (tips, hidden) = resolve_range(repo, spec)?;
    let mut scan = Scan::new(repo, *limits);
    scan.commits(&tips, &hidden, None)?;
    Ok(scan.out)
}

fn resolve_range(
    repo: &gix::Repository,
    spec: &str,
) -> Result<(Vec<ObjectId>, Vec<ObjectId>), Error> {
    use gix::revision::plumbing::Spec;
    let fail = |source| Error::Spec {
        spec: spec.to_string(),
        source,
    };
    let parsed = repo.rev_parse(spec).map_err(|e| fail(Some(e)))?.detach();
    let (tips, hidden) = match parsed {
        Spec::Include(to) => (vec![to], vec![]),
        Spec::Range { from, to } => (vec![to], vec![from]),
        Spec::Merge { theirs, ours } => (vec![ours], vec![theirs]),
        Spec::ExcludeParents(id) => {
            let commit = peel_commit(repo, id).ok_or_else(|| fail(None))?;
            (vec![commit], parents_of(repo, commit)?)
        }
        Spec::Exclude(_) | Spec::IncludeOnlyParents(_) => return Err(fail(None)),
    };
    let peel_all = |ids: Vec<ObjectId>| -> Result<Vec<ObjectId>, Error> {
        ids.into_iter()
            .map(|id| peel_commit(repo, id).ok_or_else(|| fail(None)))
            .collect()
    };
    Ok((peel_all(tips)?, peel_all(hidden)?))
}

fn read_updates(
    repo: &gix::Repository,
    updates: &[RefUpdate],
    mut hidden: Vec<ObjectId>,
    limits: &Limits,
) -> Result<Pushed, Error> {
    let mut scan = Scan::new(repo, *limits);
    for update in updates {
        let Some(new) = update.new else {
            continue;
        };
        if let Some(commit) = scan.update(new, &update.name, &hidden)? {
            hidden.push(commit);
        }
    }
    Ok(scan.out)
}

/// What a ref's new id turned out to be once annotated tags are peeled.
enum Target {
    Commit(ObjectId),
    Tree(ObjectId),
    Blob(ObjectId),
    Missing(ObjectId),
}

fn kind_of(repo: &gix::Repository, id: &ObjectId) -> Option<gix::object::Kind> {
    use gix::objs::FindHeader;
    repo.objects.try_header(id).ok().flatten().map(|h| h.kind)
}

/// Follows annotated tags (possibly nested) to what they finally name.
fn peel(repo: &gix::Repository, mut id: ObjectId) -> Result<Target, Error> {
    use gix::object::Kind;
    loop {
        match kind_of(repo, &id) {
            None => return Ok(Target::Missing(id)),
            Some(Kind::Commit) => return Ok(Target::Commit(id)),
            Some(Kind::Tree) => return Ok(Target::Tree(id)),
            Some(Kind::Blob) => return Ok(Target::Blob(id)),
            Some(Kind::Tag) => {
                let tag = repo.find_tag(id).map_err(|source| Error::Object {
                    what: "tag",
                    id: id.to_string(),
                    source,
                })?;
                id = tag
                    .target_id()
                    .map_err(|source| Error::Object {
                        what: "tag",
                        id: id.to_string(),
                        source,
                    })?
                    .detach();
            }
        }
    }
}

fn peel_commit(repo: &gix::Repository, id: ObjectId) -> Option<ObjectId> {
    match peel(repo, id).ok()? {
        Target::Commit(c) => Some(c),
        _ => None,
    }
}

fn parents_of(repo: &gix::Repository, id: ObjectId) -> Result<Vec<ObjectId>, Error> {
    let commit = repo.find_commit(id).map_err(|source| Error::Object {
        what: "commit",
        id: id.to_string(),
        source,
    })?;
    Ok(commit.parent_ids().map(gix::Id::detach).collect())
}

/// A commit of a walk with the parents the walk saw.
struct Node {
    id: ObjectId,
    parents: Vec<ObjectId>,
}

/// `rev-list <tips> --not <hidden>`, parents before children. A walk cut short by a missing
/// object keeps what it found and says so.
fn walk(
    repo: &gix::Repository,
    tips: &[ObjectId],
    hidden: &[ObjectId],
) -> Result<(Vec<Node>, Option<Notice>), Error> {
    let tip_name = tips.first().map(ToString::to_string).unwrap_or_default();
    let walk_error = |source| Error::Walk {
        tip: tip_name.clone(),
        source,
    };
    let hidden: Vec<ObjectId> = hidden
        .iter()
        .filter(|id| kind_of(repo, id) == Some(gix::object::Kind::Commit))
        .copied()
        .collect();
    let iter = repo
        .rev_walk(tips.iter().copied())
        .with_hidden(hidden)
        .all()
        .map_err(walk_error)?;
    let mut nodes = Vec::new();
    let mut notice = None;
    for info in iter {
        match info {
            Ok(info) => nodes.push(Node {
                id: info.id,
                parents: info.parent_ids.iter().copied().collect(),
            }),
            Err(err) if err.is_not_found() => {
                notice = Some(missing(&tip_name, format!("history is incomplete: {err}")));
                break;
            }
            Err(err) => return Err(walk_error(err)),
        }
    }
    Ok((topological(nodes), notice))
}

/// Orders commits so that every parent in the set comes before its children (a depth-first
/// post-order), keeping the walk's order where it is free.
fn topological(nodes: Vec<Node>) -> Vec<Node> {
    let index: HashMap<ObjectId, usize> =
        nodes.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
    let mut visited = vec![false; nodes.len()];
    let mut order = Vec::with_capacity(nodes.len());
    for start in 0..nodes.len() {
        if visited[start] {
            continue;
        }
        visited[start] = true;
        let mut stack = vec![(start, 0usize)];
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let parent = nodes[node].parents.get(*next).and_then(|p| index.get(p));
            *next += 1;
            match parent {
                Some(&p) if !visited[p] => {
                    visited[p] = true;
                    stack.push((p, 0));
                }
                Some(_) => {}
                None if *next > nodes[node].parents.len() => {
                    order.push(node);
                    stack.pop();
                }
                None => {}
            }
        }
    }
    let mut slots: Vec<Option<Node>> = nodes.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|i| slots[i].take().expect("each node is ordered once"))
        .collect()
}

fn missing(path: &str, message: String) -> Notice {
    Notice {
        path: path.to_string(),
        kind: DiagnosticKind::MissingObject,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";

    fn id(hex: &str) -> ObjectId {
        ObjectId::from_hex(hex.as_bytes()).expect("test ids are valid")
    }

    #[test]
    fn pre_receive_lines_parse() {
        let zero = "0".repeat(40);
        let text = format!(
            "{A} {B} refs/heads/main\n\n{zero} {A} refs/tags/v1\n{B} {zero} refs/heads/old\n"
        );
        let updates = parse_ref_updates(&text).expect("valid input");
        assert_eq!(updates.len(), 3);
        assert_eq!(
            updates[0],
            RefUpdate {
                old: Some(id(A)),
                new: Some(id(B)),
                name: "refs/heads/main".into()
            }
        );
        assert_eq!((updates[1].old, updates[1].new), (None, Some(id(A))));
        assert_eq!(updates[2].new, None);
    }

    #[test]
    fn pre_push_lines_parse_with_the_remote_ref_as_name() {
        let zero = "0".repeat(64);
        let text = format!(
            "refs/heads/topic {A} refs/heads/topic {zero}\n(delete) {} refs/heads/gone {B}\n",
            "0".repeat(40)
        );
        let updates = parse_ref_updates(&text).expect("valid input");
        assert_eq!(
            updates[0],
            RefUpdate {
                old: None,
                new: Some(id(A)),
                name: "refs/heads/topic".into()
            }
        );
        assert_eq!((updates[1].old, updates[1].new), (Some(id(B)), None));
    }

    #[test]
    fn malformed_lines_are_errors_that_say_where() {
        let err = parse_ref_updates("just two").expect_err("two fields");
        assert!(err.to_string().contains("line 1"));
        let err = parse_ref_updates(&format!("{A} xyz refs/heads/a")).expect_err("bad id");
        assert!(matches!(err, Error::BadId { line: 1, .. }));
    }

    #[test]
    fn topological_order_puts_parents_first() {
        // m -> p1 -> q -> p2 and m -> p2: breadth-first would give m, p1, p2, q.
        let n = |h: u8, parents: &[u8]| Node {
            id: ObjectId::from_bytes_or_panic(&[h; 20]),
            parents: parents
                .iter()
                .map(|p| ObjectId::from_bytes_or_panic(&[*p; 20]))
                .collect(),
        };
        let nodes = vec![n(4, &[3, 1]), n(3, &[2]), n(1, &[0]), n(2, &[1])];
        let order: Vec<u8> = topological(nodes)
            .iter()
            .map(|n| n.id.as_bytes()[0])
            .collect();
        assert_eq!(order, [1, 2, 3, 4]);
    }
}
