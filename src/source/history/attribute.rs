//! Attribution for the few blobs that have findings: which commit introduced each at each of its
//! paths, and which tips still contain it.
//!
//! One pass over the walked commits serves all blobs together. Commits are visited parents
//! first; for each, only the directories leading to the wanted paths are read, and a
//! (tree, directory) pair seen before answers from a memo, so an unchanged subtree costs a hash
//! lookup. A commit introduces (blob, path) when its tree has the blob there and none of its
//! parents' trees does.
//!
//! Which tips still hold a blob is computed once per distinct tip tree (thousands of pull-request
//! refs share a few thousand trees at most) and kept as an interned [`RefSet`], never as names.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::rc::Rc;

use gix::bstr::ByteSlice;
use gix::objs::Find;

use crate::source::CommitInfo;

use super::{
    read_commit_info, BlobId, CommitNode, Error, Inventory, RefSet, RefSets, Repo, TipKind,
};

/// Where one blob came from and where it still is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    pub blob: BlobId,
    /// One entry per path the blob was seen at, in the inventory's order.
    pub paths: Vec<PathOrigin>,
    /// The tips (indices into [`Inventory::refs`]) whose tree still contains the blob at any
    /// path. Empty when it was removed everywhere.
    pub present_at: RefSet,
}

/// The commit that brought a blob to a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathOrigin {
    pub path: String,
    /// The earliest walked commit (parents before children, then older commit time first) that
    /// has the blob at this path while none of its parents does. `None` when no walked commit
    /// does: the path came from a ref that points straight at a tree or blob.
    pub introduced_by: Option<CommitInfo>,
    /// `introduced_by`'s position in that parents-first order. Of two introducing commits, the
    /// one with the lower rank is never a descendant of the other, whatever their clocks say.
    pub rank: Option<u32>,
}

/// The attributions, and how much history had to be read for them.
#[derive(Debug, Clone, Default)]
pub struct Attributed {
    pub blobs: Vec<Attribution>,
    /// Tree objects read, both to find introducers and to find the tips that hold each blob.
    pub trees_read: usize,
    /// Distinct tip trees examined for presence (tips sharing a tree count once).
    pub tip_trees: usize,
}

thread_local! {
    /// Each attribution pass runs on one thread; its tree reads count towards releasing pack
    /// pages.
    static PAGES: super::pages::Releaser = super::pages::Releaser::default();
}

/// Deeper trees are treated as not containing anything, so that a hostile repository cannot
/// overflow the stack.
const MAX_DEPTH: usize = 1024;

pub(super) fn attribute(
    inventory: &Inventory,
    repo: &Repo,
    blobs: &[BlobId],
    sets: &mut RefSets,
) -> Result<Attributed, Error> {
    // 1. The (blob, path) pairs to attribute, and a trie of their paths.
    let targets = Targets::new(inventory, blobs);

    // 2. The introducing commit of each pair, and its rank, in one parents-first pass; and, at
    //    the same time (they read history independently), 3. the tips that still contain each
    //    blob.
    let ((introducers, ranks, intro_trees), (present, tip_trees, tip_trees_read)) = rayon::join(
        || {
            let local = repo.local(super::PACK_CACHE_BYTES);
            find_introducers(&local, &inventory.commits, &targets)
        },
        || {
            let local = repo.local(super::PACK_CACHE_BYTES);
            tips_containing(&local, inventory, &targets, sets)
        },
    );
    let local = repo.local(0);

    // 4. Commit details for the report, read once per commit.
    let mut infos: HashMap<u32, CommitInfo> = HashMap::new();
    let mut out = Vec::with_capacity(blobs.len());
    for blob in blobs {
        let target = targets.blob_index[&blob.oid()];
        let mut paths = Vec::new();
        for &(pair, ref path) in &targets.pairs_of_blob[target as usize] {
            let introduced_by = match introducers[pair as usize] {
                Some(c) => Some(match infos.get(&c) {
                    Some(info) => info.clone(),
                    None => {
                        let info = read_commit_info(&local, inventory.commits[c as usize].id)?;
                        infos.insert(c, info.clone());
                        info
                    }
                }),
                None => None,
            };
            paths.push(PathOrigin {
                path: path.clone(),
                introduced_by,
                rank: introducers[pair as usize].map(|c| ranks[c as usize]),
            });
        }
        out.push(Attribution {
            blob: *blob,
            paths,
            present_at: present[target as usize].clone(),
        });
    }
    Ok(Attributed {
        blobs: out,
        trees_read: intro_trees + tip_trees_read,
        tip_trees,
    })
}

/// A directory of the trie of wanted paths.
#[derive(Default)]
struct Dir {
    dirs: HashMap<String, u32>,
    /// File name → the pairs wanted there, with their blob ids.
    files: HashMap<String, Vec<(u32, gix::ObjectId)>>,
}

struct Targets {
    /// Blob id → index of the wanted blob.
    blob_index: HashMap<gix::ObjectId, u32>,
    /// Per wanted blob: its pairs (pair index, path).
    pairs_of_blob: Vec<Vec<(u32, String)>>,
    pair_count: usize,
    /// The trie; 0 is the root.
    dirs: Vec<Dir>,
}

impl Targets {
    fn new(inventory: &Inventory, blobs: &[BlobId]) -> Targets {
        let entries: HashMap<gix::ObjectId, &super::BlobEntry> =
            inventory.blobs.iter().map(|b| (b.id.oid(), b)).collect();
        let mut targets = Targets {
            blob_index: HashMap::new(),
            pairs_of_blob: Vec::new(),
            pair_count: 0,
            dirs: vec![Dir::default()],
        };
        for blob in blobs {
            let id = blob.oid();
            if targets.blob_index.contains_key(&id) {
                continue;
            }
            let index = targets.pairs_of_blob.len() as u32;
            targets.blob_index.insert(id, index);
            let mut pairs = Vec::new();
            for path in entries.get(&id).map(|e| e.paths.as_slice()).unwrap_or(&[]) {
                let pair = targets.pair_count as u32;
                targets.pair_count += 1;
                targets.insert(path, pair, id);
                pairs.push((pair, path.to_string()));
            }
            targets.pairs_of_blob.push(pairs);
        }
        targets
    }

    fn insert(&mut self, path: &str, pair: u32, blob: gix::ObjectId) {
        let mut node = 0u32;
        let mut components = path.split('/').peekable();
        while let Some(name) = components.next() {
            if components.peek().is_none() {
                self.dirs[node as usize]
                    .files
                    .entry(name.to_owned())
                    .or_default()
                    .push((pair, blob));
                return;
            }
            node = match self.dirs[node as usize].dirs.get(name) {
                Some(&child) => child,
                None => {
                    let child = self.dirs.len() as u32;
                    self.dirs.push(Dir::default());
                    self.dirs[node as usize].dirs.insert(name.to_owned(), child);
                    child
                }
            };
        }
    }
}

/// Which wanted pairs a tree holds, memoised per (tree, trie directory).
struct Presence<'a> {
    repo: &'a gix::Repository,
    targets: &'a Targets,
    memo: HashMap<(gix::ObjectId, u32), Rc<Vec<u32>>>,
    buf: Vec<u8>,
    trees_read: usize,
}

impl Presence<'_> {
    /// Sorted pair indices found in `tree`, which sits at trie directory `dir`. Unreadable trees
    /// count as empty: the inventory has already reported them.
    fn pairs_in(&mut self, tree: gix::ObjectId, dir: u32, depth: usize) -> Rc<Vec<u32>> {
        if let Some(found) = self.memo.get(&(tree, dir)) {
            return found.clone();
        }
        let mut found = Vec::new();
        let mut subdirs = Vec::new();
        let node = &self.targets.dirs[dir as usize];
        if let Ok(Some(data)) = self.repo.objects.try_find(&tree, &mut self.buf) {
            self.trees_read += 1;
            PAGES.with(|p| p.read(data.data.len() as u64));
            if data.kind == gix::object::Kind::Tree && depth < MAX_DEPTH {
                for entry in gix::objs::TreeRefIter::from_bytes(data.data, self.repo.object_hash())
                    .map_while(Result::ok)
                {
                    let name = entry.filename.to_str_lossy();
                    if entry.mode.is_tree() {
                        if let Some(&child) = node.dirs.get(name.as_ref()) {
                            subdirs.push((entry.oid.to_owned(), child));
                        }
                    } else if entry.mode.is_blob() {
                        if let Some(wanted) = node.files.get(name.as_ref()) {
                            found.extend(
                                wanted
                                    .iter()
                                    .filter(|(_, blob)| blob.as_ref() == entry.oid)
                                    .map(|(pair, _)| *pair),
                            );
                        }
                    }
                }
            }
        }
        // The tree's data borrowed the buffer; recursing only after the loop lets it be reused.
        for (child_tree, child_dir) in subdirs {
            found.extend(self.pairs_in(child_tree, child_dir, depth + 1).iter());
        }
        found.sort_unstable();
        let found = Rc::new(found);
        self.memo.insert((tree, dir), found.clone());
        found
    }
}

/// For each pair, the index of the first commit (in parents-first order) that introduces it;
/// each commit's rank in that order; and the number of trees read.
fn find_introducers(
    repo: &gix::Repository,
    commits: &[CommitNode],
    targets: &Targets,
) -> (Vec<Option<u32>>, Vec<u32>, usize) {
    let order = topological_order(commits);
    let mut ranks = vec![u32::MAX; commits.len()];
    for (rank, &c) in order.iter().enumerate() {
        ranks[c as usize] = rank as u32;
    }
    let mut introducers = vec![None; targets.pair_count];
    let mut missing = targets.pair_count;
    if missing == 0 {
        return (introducers, ranks, 0);
    }
    let mut presence = Presence {
        repo,
        targets,
        memo: HashMap::new(),
        buf: Vec::new(),
        trees_read: 0,
    };
    let mut seen: Vec<Option<Rc<Vec<u32>>>> = vec![None; commits.len()];
    for c in order {
        let commit = &commits[c as usize];
        let here = presence.pairs_in(commit.tree, 0, 0);
        for &pair in here.iter() {
            if introducers[pair as usize].is_some() {
                continue;
            }
            let in_a_parent = commit.parents.iter().any(|&p| {
                seen[p as usize]
                    .as_ref()
                    .is_some_and(|s| s.binary_search(&pair).is_ok())
            });
            if !in_a_parent {
                introducers[pair as usize] = Some(c);
                missing -= 1;
            }
        }
        if missing == 0 {
            break;
        }
        seen[c as usize] = Some(here);
    }
    (introducers, ranks, presence.trees_read)
}

/// Parents before children; among commits whose parents are all done, the oldest commit time
/// first (then the walk's order), so unrelated branches interleave by time.
pub(super) fn topological_order(commits: &[CommitNode]) -> Vec<u32> {
    let mut waiting: Vec<usize> = commits.iter().map(|c| c.parents.len()).collect();
    let mut children: Vec<Vec<u32>> = vec![Vec::new(); commits.len()];
    for (i, c) in commits.iter().enumerate() {
        for &p in &c.parents {
            children[p as usize].push(i as u32);
        }
    }
    let mut ready: BinaryHeap<Reverse<(i64, u32)>> = commits
        .iter()
        .enumerate()
        .filter(|(i, _)| waiting[*i] == 0)
        .map(|(i, c)| Reverse((c.time, i as u32)))
        .collect();
    let mut order = Vec::with_capacity(commits.len());
    while let Some(Reverse((_, c))) = ready.pop() {
        order.push(c);
        for &child in &children[c as usize] {
            waiting[child as usize] -= 1;
            if waiting[child as usize] == 0 {
                ready.push(Reverse((commits[child as usize].time, child)));
            }
        }
    }
    order
}

/// Per wanted blob, the set of tips that contain it anywhere; the number of distinct tip trees
/// looked at, and of trees read.
///
/// Tips are grouped by the tree they name first, so ten thousand refs over a thousand commits
/// cost a thousand lookups, and the tips of each tree are handed to each blob as one run of
/// indices: the work is (distinct tip trees × blobs found in them) + tips, never blobs × refs.
fn tips_containing(
    repo: &gix::Repository,
    inventory: &Inventory,
    targets: &Targets,
    sets: &mut RefSets,
) -> (Vec<RefSet>, usize, usize) {
    // The walk already read every commit tip's tree.
    let tree_of: HashMap<gix::ObjectId, gix::ObjectId> =
        inventory.commits.iter().map(|c| (c.id, c.tree)).collect();
    let mut by_tree: HashMap<gix::ObjectId, Vec<u32>> = HashMap::new();
    let mut blob_tips: Vec<(gix::ObjectId, u32)> = Vec::new();
    for (i, tip) in inventory.tips.iter().enumerate() {
        let root = match tip.kind {
            TipKind::Blob => {
                blob_tips.push((tip.target, i as u32));
                continue;
            }
            TipKind::Tree => tip.target,
            TipKind::Commit => match tree_of.get(&tip.target) {
                Some(&tree) => tree,
                // Cut off by `since`, or unreadable (already reported by the inventory).
                None => match repo.find_commit(tip.target).and_then(|c| c.tree_id()) {
                    Ok(tree) => tree.detach(),
                    Err(_) => continue,
                },
            },
        };
        by_tree.entry(root).or_default().push(i as u32);
    }
    let mut contents = Contents {
        repo,
        targets,
        memo: HashMap::new(),
        buf: Vec::new(),
        trees_read: 0,
    };
    let mut present: Vec<Vec<u32>> = vec![Vec::new(); targets.pairs_of_blob.len()];
    let tip_trees = by_tree.len();
    for (tree, tips) in &by_tree {
        for &blob in contents.blobs_in(*tree, 0).iter() {
            present[blob as usize].extend_from_slice(tips);
        }
    }
    for (blob, tip) in blob_tips {
        if let Some(&b) = targets.blob_index.get(&blob) {
            present[b as usize].push(tip);
        }
    }
    let present = present.into_iter().map(|p| sets.intern(p)).collect();
    (present, tip_trees, contents.trees_read)
}

/// Which wanted blobs a whole tree contains, memoised per tree id (paths do not matter here).
struct Contents<'a> {
    repo: &'a gix::Repository,
    targets: &'a Targets,
    memo: HashMap<gix::ObjectId, Rc<Vec<u32>>>,
    buf: Vec<u8>,
    trees_read: usize,
}

impl Contents<'_> {
    fn blobs_in(&mut self, tree: gix::ObjectId, depth: usize) -> Rc<Vec<u32>> {
        if let Some(found) = self.memo.get(&tree) {
            return found.clone();
        }
        let mut found = Vec::new();
        let mut subtrees = Vec::new();
        if let Ok(Some(data)) = self.repo.objects.try_find(&tree, &mut self.buf) {
            self.trees_read += 1;
            PAGES.with(|p| p.read(data.data.len() as u64));
            if data.kind == gix::object::Kind::Tree && depth < MAX_DEPTH {
                for entry in gix::objs::TreeRefIter::from_bytes(data.data, self.repo.object_hash())
                    .map_while(Result::ok)
                {
                    if entry.mode.is_tree() {
                        subtrees.push(entry.oid.to_owned());
                    } else if entry.mode.is_blob() {
                        if let Some(&blob) = self.targets.blob_index.get(entry.oid) {
                            found.push(blob);
                        }
                    }
                }
            }
        }
        for subtree in subtrees {
            found.extend(self.blobs_in(subtree, depth + 1).iter());
        }
        found.sort_unstable();
        found.dedup();
        let found = Rc::new(found);
        self.memo.insert(tree, found.clone());
        found
    }
}
