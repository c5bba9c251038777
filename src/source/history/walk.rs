//! Building the inventory: tips → commits → unique trees → unique blobs.
//!
//! Each tree object is read once per directory path it appears at, not once per commit: a
//! commit that changes one notebook shares every other subtree with its parent, and those are
//! skipped by id. A tree that shows up under a second path (a renamed or copied directory) is
//! read again under that path, so that every blob gets every path it was seen at; its blobs
//! are not read, only listed.

use std::collections::HashMap;
use std::sync::Arc;

use gix::bstr::ByteSlice;
use gix::objs::Find;
use gix::objs::FindHeader;
use rayon::prelude::*;

use crate::finding::DiagnosticKind;
use crate::source::Notice;

use super::{
    notice, refs, BlobEntry, BlobId, CommitNode, Error, Inventory, Options, PathFilter, Repo,
    Stats, TipKind,
};

pub(super) fn build<R: Send>(
    repo: &Repo,
    options: &Options,
    alongside: impl FnOnce(super::Walked<'_>) -> R + Send,
) -> Result<(Inventory, R), Error> {
    let local = repo.local(super::PACK_CACHE_BYTES);
    let mut notices = Vec::new();

    // 1. The tips, peeled.
    let tips = refs::select_tips(&local, &options.refs, &mut notices)?;
    let ref_table = super::RefTable::new(
        tips.iter().map(|t| t.name.clone()).collect(),
        refs::default_branch(&local).as_deref(),
    );

    // 2. Every reachable commit (within `since`).
    let commit_tips = tips
        .iter()
        .filter(|t| t.kind == TipKind::Commit)
        .map(|t| t.target);
    let commits = walk_commits(&local, commit_tips, options.since, &mut notices)?;

    // 3. Every unique tree, at every path it appears at; the blobs in them.
    let mut collector = Collector::new(&options.paths, PackIndexes::open(&local));
    let mut roots = Vec::with_capacity(commits.len());
    for commit in &commits {
        roots.push((commit.tree, commit.id.to_string()));
    }
    for tip in &tips {
        match tip.kind {
            TipKind::Tree => roots.push((tip.target, tip.name.clone())),
            TipKind::Blob => collector.add_blob(tip.target, &tip.name),
            TipKind::Commit => {}
        }
    }
    let hash = local.object_hash();
    // Its caches are not needed any more; free them before the next step allocates its own.
    drop(local);
    let walked = super::Walked {
        repo,
        tips: &tips,
        commits: &commits,
    };
    let ((trees_read, blobs, mut tree_notices), beside) = rayon::join(
        || {
            let mut notices = Vec::new();
            collector.walk(repo, hash, roots, &mut notices);
            // 4. Sizes, the size limit, and the reading order.
            let trees_read = collector.trees_read;
            let blobs = collector.finish(repo, options, &mut notices);
            (trees_read, blobs, notices)
        },
        || alongside(walked),
    );
    notices.append(&mut tree_notices);
    // Listing trees and blob headers touched most of the packs; none of it is needed as such.
    super::pages::release_mapped_packs();

    let stats = Stats {
        commits: commits.len(),
        trees_read,
        blobs: blobs.len(),
        blob_bytes: blobs.iter().filter_map(|b| b.size).sum(),
    };
    let inventory = Inventory {
        tips,
        refs: ref_table,
        blobs,
        notices,
        commits,
        stats,
    };
    Ok((inventory, beside))
}

/// Walks from the commit tips, returning the commits with their trees, times and parents (as
/// indices into the returned list).
fn walk_commits(
    repo: &gix::Repository,
    tips: impl Iterator<Item = gix::ObjectId>,
    since: Option<i64>,
    notices: &mut Vec<Notice>,
) -> Result<Vec<CommitNode>, Error> {
    let tips: Vec<_> = tips.collect();
    if tips.is_empty() {
        return Ok(Vec::new());
    }
    let mut walk = repo.rev_walk(tips);
    if let Some(seconds) = since {
        walk = walk.sorting(gix::revision::walk::Sorting::ByCommitTimeCutoff {
            order: gix::traverse::commit::simple::CommitTimeOrder::NewestFirst,
            seconds,
        });
    }
    let iter = walk.all().map_err(|e| Error::Walk {
        source: Box::new(e),
    })?;

    let mut buf = Vec::new();
    let mut nodes = Vec::new();
    let mut parent_ids = Vec::new();
    let mut index = gix::hashtable::HashMap::default();
    // After an error the walk goes on with the commits still queued; what lies behind a missing
    // commit is out of reach anyway.
    for info in iter {
        let info = match info {
            Ok(info) => info,
            Err(e) => {
                notices.push(notice(
                    "",
                    DiagnosticKind::MissingObject,
                    format!("history walk: a commit could not be read, its ancestors may be missing: {e}"),
                ));
                continue;
            }
        };
        let Some((tree, time)) = read_commit(repo, info.id, &mut buf, notices) else {
            continue;
        };
        if since.is_some_and(|since| time < since) {
            continue;
        }
        index.insert(info.id, nodes.len() as u32);
        nodes.push(CommitNode {
            id: info.id,
            tree,
            parents: Vec::new(),
            time,
        });
        parent_ids.push(info.parent_ids.to_vec());
    }
    for (node, parents) in nodes.iter_mut().zip(parent_ids) {
        node.parents = parents
            .iter()
            .filter_map(|p| index.get(p).copied())
            .collect();
    }
    Ok(nodes)
}

/// The tree and committer time of a commit, or a notice.
fn read_commit(
    repo: &gix::Repository,
    id: gix::ObjectId,
    buf: &mut Vec<u8>,
    notices: &mut Vec<Notice>,
) -> Option<(gix::ObjectId, i64)> {
    let problem = match repo.objects.try_find(&id, buf) {
        Ok(Some(data)) if data.kind == gix::object::Kind::Commit => {
            match gix::objs::CommitRef::from_bytes(data.data, repo.object_hash()) {
                Ok(commit) => {
                    let time = commit.committer().map(|c| c.seconds()).unwrap_or(0);
                    return Some((commit.tree(), time));
                }
                Err(e) => format!("commit {id} cannot be decoded, skipped: {e}"),
            }
        }
        Ok(Some(data)) => format!("{id} is a {}, not a commit, skipped", data.kind),
        Ok(None) => {
            notices.push(notice(
                "",
                DiagnosticKind::MissingObject,
                format!("commit {id} is missing, skipped"),
            ));
            return None;
        }
        Err(e) => format!("commit {id} cannot be read, skipped: {e}"),
    };
    notices.push(notice("", DiagnosticKind::Unreadable, problem));
    None
}

/// A tree to read at a directory path, found through `context` (an index into the roots'
/// names).
struct Visit {
    tree: gix::ObjectId,
    dir: u32,
    context: u32,
    order: (u32, u64),
}

/// Trees decoded in parallel before they are listed in order: enough to keep both cores busy,
/// few enough (tens of KB each at most) to hold in memory at once.
const TREE_BATCH: usize = 2048;

/// A tree's bytes, or what was found instead: another kind of object, nothing, or an error.
type TreeRead = Result<Vec<u8>, Result<Option<gix::object::Kind>, String>>;

/// Reads the trees of `batch` (in pack order) on all cores, each worker a contiguous run of it so
/// that delta bases are still found in its cache.
fn read_trees(repo: &Repo, batch: &[Visit]) -> Vec<TreeRead> {
    let per_worker = batch.len().div_ceil(rayon::current_num_threads()).max(1);
    let runs: Vec<Vec<_>> = batch
        .par_chunks(per_worker)
        .map(|run| {
            let local = repo.local(super::PACK_CACHE_BYTES);
            let mut buf = Vec::new();
            run.iter()
                .map(
                    |visit| match local.objects.try_find(&visit.tree, &mut buf) {
                        Ok(Some(data)) if data.kind == gix::object::Kind::Tree => {
                            Ok(data.data.to_vec())
                        }
                        Ok(other) => Err(Ok(other.map(|d| d.kind))),
                        Err(e) => Err(Err(e.to_string())),
                    },
                )
                .collect()
        })
        .collect();
    runs.into_iter().flatten().collect()
}

/// The pack indexes of a repository, opened once to tell where objects sit without reading
/// them (gix's `location_by_oid` inflates the whole entry to measure it: every blob was
/// decompressed once more just to be sorted).
pub(super) struct PackIndexes(Vec<gix::odb::pack::index::File>);

impl PackIndexes {
    /// Every `objects/pack/*.idx` that opens, in name order; alternates and unreadable indexes
    /// are left out, and their objects sort as loose ones (the order is only a speed-up).
    pub(super) fn open(repo: &gix::Repository) -> Self {
        let paths = super::read::pack_index_paths(repo.objects.store_ref().path());
        PackIndexes(
            paths
                .iter()
                .filter_map(|p| gix::odb::pack::index::File::at(p, repo.object_hash()).ok())
                .collect(),
        )
    }

    /// Where an object sits: (pack, offset), loose objects after all packs.
    pub(super) fn order(&self, id: &gix::oid) -> (u32, u64) {
        self.0
            .iter()
            .enumerate()
            .find_map(|(i, idx)| {
                idx.lookup(id)
                    .map(|n| (i as u32, idx.pack_offset_at_index(n)))
            })
            .unwrap_or((u32::MAX, 0))
    }
}

/// Strings stored once, referred to by index.
#[derive(Default)]
struct Interner {
    ids: HashMap<Arc<str>, u32>,
    names: Vec<Arc<str>>,
}

impl Interner {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        let name: Arc<str> = s.into();
        self.names.push(name.clone());
        self.ids.insert(name, id);
        id
    }

    fn get(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
}

/// The directory paths a tree has been read at. Nearly always one.
enum SeenAt {
    One(u32),
    Many(Vec<u32>),
}

/// Collects unique blobs and their paths from trees, reading each (tree, path) pair once.
struct Collector<'f> {
    filter: &'f PathFilter,
    /// Tree id → directory ids (into `dirs`) it was read at.
    seen: gix::hashtable::HashMap<gix::ObjectId, SeenAt>,
    /// Directory paths; 0 is the root, "".
    dirs: Interner,
    files: Interner,
    blob_index: gix::hashtable::HashMap<gix::ObjectId, u32>,
    /// Blob id and file ids (into `files`), in order of discovery.
    blobs: Vec<(gix::ObjectId, Vec<u32>)>,
    path: String,
    trees_read: usize,
    pages: super::pages::Releaser,
    packs: PackIndexes,
}

impl<'f> Collector<'f> {
    fn new(filter: &'f PathFilter, packs: PackIndexes) -> Self {
        let mut dirs = Interner::default();
        dirs.intern("");
        Collector {
            filter,
            seen: Default::default(),
            dirs,
            files: Interner::default(),
            blob_index: Default::default(),
            blobs: Vec::new(),
            path: String::new(),
            trees_read: 0,
            pages: Default::default(),
            packs,
        }
    }

    /// Marks `tree` as read at `dir`; false if it already was.
    fn first_visit(&mut self, tree: gix::ObjectId, dir: u32) -> bool {
        match self.seen.get_mut(&tree) {
            None => {
                self.seen.insert(tree, SeenAt::One(dir));
                true
            }
            Some(seen) => match seen {
                SeenAt::One(d) if *d == dir => false,
                SeenAt::One(d) => {
                    let first = *d;
                    *seen = SeenAt::Many(vec![first, dir]);
                    true
                }
                SeenAt::Many(dirs) if dirs.contains(&dir) => false,
                SeenAt::Many(dirs) => {
                    dirs.push(dir);
                    true
                }
            },
        }
    }

    /// Reads the trees `roots` (each with the commit or ref that names it, for notices) and
    /// every subtree not yet read at its path.
    ///
    /// The walk goes one directory level at a time over all roots together, each level sorted
    /// by position in the packs. Reading in pack order means a delta's base has just been
    /// decoded and sits in the cache, whichever direction the packer chose for delta chains;
    /// newest-first commit order alone is quadratic in chain length for packs (like
    /// `fast-import`'s) whose chains run oldest to newest.
    fn walk(
        &mut self,
        repo: &Repo,
        hash: gix::hash::Kind,
        roots: Vec<(gix::ObjectId, String)>,
        notices: &mut Vec<Notice>,
    ) {
        let mut contexts = Vec::new();
        let mut level = Vec::new();
        for (tree, context) in roots {
            if self.first_visit(tree, 0) {
                level.push(Visit {
                    tree,
                    dir: 0,
                    context: contexts.len() as u32,
                    order: (0, 0),
                });
                contexts.push(context);
            }
        }
        let mut next = Vec::new();
        while !level.is_empty() {
            for visit in &mut level {
                visit.order = self.packs.order(&visit.tree);
            }
            level.sort_unstable_by_key(|v| v.order);
            for batch in level.chunks(TREE_BATCH) {
                for (visit, data) in batch.iter().zip(read_trees(repo, batch)) {
                    match data {
                        Ok(data) => {
                            self.list_tree(visit, &data, hash, &contexts, &mut next, notices)
                        }
                        Err(found) => {
                            let context = &contexts[visit.context as usize];
                            notices.push(self.tree_notice(visit.tree, visit.dir, context, found));
                        }
                    }
                }
            }
            level.clear();
            std::mem::swap(&mut level, &mut next);
        }
    }

    /// Lists one tree: its blobs are recorded, its subtrees not yet read at their path are
    /// queued in `next`.
    fn list_tree(
        &mut self,
        visit: &Visit,
        data: &[u8],
        hash: gix::hash::Kind,
        contexts: &[String],
        next: &mut Vec<Visit>,
        notices: &mut Vec<Notice>,
    ) {
        let Visit {
            tree, dir, context, ..
        } = *visit;
        let context = &contexts[context as usize];
        self.trees_read += 1;
        self.pages.read(data.len() as u64);
        for entry in gix::objs::TreeRefIter::from_bytes(data, hash) {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    notices.push(notice(
                        self.dirs.get(dir),
                        DiagnosticKind::Unreadable,
                        format!("tree {tree} (in {context}) is corrupt, rest of it skipped: {e}"),
                    ));
                    return;
                }
            };
            let name = entry.filename.to_str_lossy();
            if entry.mode.is_tree() {
                self.set_path(dir, &name);
                let child = self.dirs.intern(&self.path);
                let id = entry.oid.to_owned();
                if self.first_visit(id, child) {
                    next.push(Visit {
                        tree: id,
                        dir: child,
                        context: visit.context,
                        order: (0, 0),
                    });
                }
            } else if entry.mode.is_blob() {
                // Symlinks (their blob is a link target) and submodules (a commit of another
                // repository) are not file content.
                if self.filter.accepts_name(&name) == Some(false) {
                    continue;
                }
                self.set_path(dir, &name);
                if !self.filter.accepts_path(&self.path) {
                    continue;
                }
                let file = self.files.intern(&self.path);
                self.add_blob_path(entry.oid.to_owned(), file);
            }
        }
    }

    fn tree_notice(
        &self,
        tree: gix::ObjectId,
        dir: u32,
        context: &str,
        found: Result<Option<gix::object::Kind>, String>,
    ) -> Notice {
        let at = match self.dirs.get(dir) {
            "" => "the root".to_owned(),
            d => format!("{d}/"),
        };
        match found {
            Ok(None) => notice(
                self.dirs.get(dir),
                DiagnosticKind::MissingObject,
                format!("tree {tree} at {at} (in {context}) is missing, skipped"),
            ),
            Ok(Some(kind)) => notice(
                self.dirs.get(dir),
                DiagnosticKind::Unreadable,
                format!("{tree} at {at} (in {context}) is a {kind}, not a tree, skipped"),
            ),
            Err(e) => notice(
                self.dirs.get(dir),
                DiagnosticKind::Unreadable,
                format!("tree {tree} at {at} (in {context}) cannot be read, skipped: {e}"),
            ),
        }
    }

    fn set_path(&mut self, dir: u32, name: &str) {
        self.path.clear();
        let dir = self.dirs.get(dir);
        self.path.push_str(dir);
        if !dir.is_empty() {
            self.path.push('/');
        }
        self.path.push_str(name);
    }

    /// A blob a ref points at directly, listed under the ref's name.
    fn add_blob(&mut self, id: gix::ObjectId, name: &str) {
        let file = self.files.intern(name);
        self.add_blob_path(id, file);
    }

    fn add_blob_path(&mut self, id: gix::ObjectId, file: u32) {
        let index = match self.blob_index.get(&id) {
            Some(&i) => i,
            None => {
                let i = self.blobs.len() as u32;
                self.blob_index.insert(id, i);
                self.blobs.push((id, Vec::new()));
                i
            }
        };
        let paths = &mut self.blobs[index as usize].1;
        if !paths.contains(&file) {
            paths.push(file);
        }
    }

    /// Looks up sizes (in parallel), drops missing and oversized blobs with a notice each, and
    /// sorts the rest by their place in the packs so that reading them streams through each
    /// pack once and finds delta bases in the cache.
    fn finish(self, repo: &Repo, options: &Options, notices: &mut Vec<Notice>) -> Vec<BlobEntry> {
        let max_size = options.max_blob_size;
        let sizes = !options.skip_sizes || max_size.is_some();
        let Collector {
            files,
            blobs,
            pages,
            packs,
            ..
        } = self;
        let looked_up: Vec<Lookup> = blobs
            .par_iter()
            .with_min_len(512)
            .map_init(
                // Sizes come from entry headers; no decoded objects to cache.
                || repo.local(0),
                |repo, (id, _)| {
                    pages.read(0);
                    if sizes {
                        look_up(repo, &packs, *id)
                    } else {
                        locate(repo, &packs, *id)
                    }
                },
            )
            .collect();

        let mut kept = Vec::with_capacity(blobs.len());
        for ((id, file_ids), found) in blobs.into_iter().zip(looked_up) {
            let paths: Vec<Arc<str>> = file_ids
                .iter()
                .map(|&f| files.names[f as usize].clone())
                .collect();
            let first = paths.first().map(|p| p.to_string()).unwrap_or_default();
            match found {
                Lookup::Found { size, order } => {
                    if let Some(size) = size.filter(|s| max_size.is_some_and(|max| *s > max)) {
                        notices.push(notice(
                            first,
                            DiagnosticKind::TooLarge,
                            format!("blob {id} has {size} bytes, over the limit; not scanned"),
                        ));
                        continue;
                    }
                    kept.push((
                        order,
                        BlobEntry {
                            id: BlobId(id),
                            size,
                            paths,
                        },
                    ));
                }
                Lookup::Missing => notices.push(notice(
                    first,
                    DiagnosticKind::MissingObject,
                    format!("blob {id} is missing from the object database; not scanned"),
                )),
                Lookup::Failed(e) => notices.push(notice(
                    first,
                    DiagnosticKind::Unreadable,
                    format!("blob {id} cannot be read; not scanned: {e}"),
                )),
            }
        }
        kept.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.id.cmp(&b.1.id)));
        kept.into_iter().map(|(_, entry)| entry).collect()
    }
}

enum Lookup {
    /// `order` is (pack, offset); loose objects sort after all packs.
    Found {
        size: Option<u64>,
        order: (u32, u64),
    },
    Missing,
    Failed(String),
}

fn look_up(repo: &gix::Repository, packs: &PackIndexes, id: gix::ObjectId) -> Lookup {
    match repo.objects.try_header(&id) {
        Ok(Some(header)) => Lookup::Found {
            size: Some(header.size),
            order: packs.order(&id),
        },
        Ok(None) => Lookup::Missing,
        Err(e) => Lookup::Failed(e.to_string()),
    }
}

/// Where a blob is, without its size: an index lookup, no inflating.
fn locate(repo: &gix::Repository, packs: &PackIndexes, id: gix::ObjectId) -> Lookup {
    use gix::objs::Exists as _;
    match packs.order(&id) {
        (u32::MAX, _) if !repo.objects.exists(&id) => Lookup::Missing,
        order => Lookup::Found { size: None, order },
    }
}
