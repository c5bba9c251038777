//! Refs as data: the audited refs in one indexed table, and sets of them interned so that every
//! blob, commit and finding with the same refs shares one list of indices.
//!
//! A busy repository has thousands of `refs/pull/*`; a secret in an old notebook is in most of
//! them. Keeping ref names per finding grows as findings × refs, and comparing them does too.
//! Here a set is a sorted slice of indices into [`RefTable`], stored once however many findings
//! point at it, and reports summarise a set ("main, 3 tags and 2,276 pull-request refs") rather
//! than list it. Plain data: no gix types, so that reports can use it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The refs an audit started from, by index. Index order is the order refs were listed in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefTable {
    names: Vec<String>,
    /// The branch `HEAD` names (`refs/heads/main`), when it is one of the audited refs.
    default_branch: Option<u32>,
}

/// A set of refs: sorted, distinct indices into a [`RefTable`]. Cloning shares the indices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RefSet(Arc<[u32]>);

impl RefSet {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn indices(&self) -> &[u32] {
        &self.0
    }

    fn ptr(&self) -> *const u32 {
        self.0.as_ptr()
    }
}

/// Hands out one shared [`RefSet`] per distinct set of indices.
#[derive(Debug, Default)]
pub struct RefSets {
    known: HashMap<Arc<[u32]>, RefSet>,
    /// Unions already computed, keyed by the addresses of their (interned) inputs.
    unions: HashMap<(usize, usize), RefSet>,
}

impl RefSets {
    /// The shared set for these indices (sorted and deduplicated here).
    pub fn intern(&mut self, mut indices: Vec<u32>) -> RefSet {
        indices.sort_unstable();
        indices.dedup();
        if let Some(set) = self.known.get(indices.as_slice()) {
            return set.clone();
        }
        let shared: Arc<[u32]> = indices.into();
        let set = RefSet(shared.clone());
        self.known.insert(shared, set.clone());
        set
    }

    /// The union of two interned sets, memoised: grouping merges the same few sets over and
    /// over, so each distinct pair is merged once.
    pub fn union(&mut self, a: &RefSet, b: &RefSet) -> RefSet {
        if a.is_empty() || Arc::ptr_eq(&a.0, &b.0) {
            return b.clone();
        }
        if b.is_empty() {
            return a.clone();
        }
        let key = (a.ptr() as usize, b.ptr() as usize);
        let key = (key.0.min(key.1), key.0.max(key.1));
        if let Some(u) = self.unions.get(&key) {
            return u.clone();
        }
        let (x, y) = (a.indices(), b.indices());
        let mut out = Vec::with_capacity(x.len().max(y.len()));
        let (mut i, mut j) = (0, 0);
        while i < x.len() && j < y.len() {
            match x[i].cmp(&y[j]) {
                std::cmp::Ordering::Less => {
                    out.push(x[i]);
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    out.push(y[j]);
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    out.push(x[i]);
                    i += 1;
                    j += 1;
                }
            }
        }
        out.extend_from_slice(&x[i..]);
        out.extend_from_slice(&y[j..]);
        let u = self.intern(out);
        self.unions.insert(key, u.clone());
        u
    }

    /// How many distinct sets were made.
    pub fn count(&self) -> usize {
        self.known.len()
    }
}

/// What kind of ref a full name is, by its namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RefKind {
    Branch,
    Tag,
    PullRequest,
    MergeRequest,
    Remote,
    Head,
    Other,
}

impl RefKind {
    pub fn of(name: &str) -> RefKind {
        if name.starts_with("refs/heads/") {
            RefKind::Branch
        } else if name.starts_with("refs/tags/") {
            RefKind::Tag
        } else if name.starts_with("refs/pull/") {
            RefKind::PullRequest
        } else if name.starts_with("refs/merge-requests/") {
            RefKind::MergeRequest
        } else if name.starts_with("refs/remotes/") {
            RefKind::Remote
        } else if name == "HEAD" {
            RefKind::Head
        } else {
            RefKind::Other
        }
    }

    /// Singular and plural nouns for a summary.
    fn nouns(self) -> (&'static str, &'static str) {
        match self {
            RefKind::Branch => ("branch", "branches"),
            RefKind::Tag => ("tag", "tags"),
            RefKind::PullRequest => ("pull-request ref", "pull-request refs"),
            RefKind::MergeRequest => ("merge-request ref", "merge-request refs"),
            RefKind::Remote => ("remote-tracking ref", "remote-tracking refs"),
            RefKind::Head => ("detached HEAD", "detached HEADs"),
            RefKind::Other => ("other ref", "other refs"),
        }
    }
}

/// The namespace a ref is counted under: its first two components (`refs/pull`), or `HEAD`.
pub fn namespace(name: &str) -> &str {
    match name.match_indices('/').nth(1) {
        Some((i, _)) => &name[..i],
        None => name,
    }
}

/// Names listed per kind in a summary before it switches to a count.
const NAMED: usize = 3;

/// What a report says about a set: counts always, names only of what people look for first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefSummary {
    pub total: usize,
    /// The default branch's full name, when the set holds it.
    pub default_branch: Option<String>,
    pub branches: usize,
    pub tags: usize,
    /// Up to `cap` branch names (the default branch first), then tag names, by name.
    pub branch_names: Vec<String>,
    pub tag_names: Vec<String>,
    /// Count per namespace (`refs/heads`, `refs/pull`, `HEAD`, ...).
    pub namespaces: BTreeMap<String, usize>,
    /// One line for people: "main, 3 tags and 2,276 pull-request refs".
    pub text: String,
}

impl RefTable {
    pub fn new(names: Vec<String>, default_branch: Option<&str>) -> RefTable {
        let default_branch = default_branch
            .and_then(|d| names.iter().position(|n| n == d))
            .map(|i| i as u32);
        RefTable {
            names,
            default_branch,
        }
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn name(&self, index: u32) -> &str {
        &self.names[index as usize]
    }

    pub fn default_branch(&self) -> Option<&str> {
        self.default_branch.map(|i| self.name(i))
    }

    /// Every name in the set, sorted.
    pub fn names<'a>(&'a self, set: &RefSet) -> Vec<&'a str> {
        let mut v: Vec<&str> = set.indices().iter().map(|&i| self.name(i)).collect();
        v.sort_unstable();
        v
    }

    /// Count per namespace over the whole table.
    pub fn namespaces(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for n in &self.names {
            *out.entry(namespace(n).to_owned()).or_default() += 1;
        }
        out
    }

    /// Counts and at most `cap` names of branches and of tags; cost is linear in the set.
    pub fn summarise(&self, set: &RefSet, cap: usize) -> RefSummary {
        let mut s = RefSummary {
            total: set.len(),
            ..Default::default()
        };
        let mut by_kind: BTreeMap<RefKind, usize> = BTreeMap::new();
        let has_default = self
            .default_branch
            .is_some_and(|d| set.indices().binary_search(&d).is_ok());
        if has_default {
            s.default_branch = self.default_branch().map(str::to_owned);
        }
        let mut branches = Vec::new();
        let mut tags = Vec::new();
        for &i in set.indices() {
            let name = self.name(i);
            let kind = RefKind::of(name);
            *by_kind.entry(kind).or_default() += 1;
            *s.namespaces.entry(namespace(name).to_owned()).or_default() += 1;
            match kind {
                RefKind::Branch if Some(i) != self.default_branch => branches.push(name),
                RefKind::Tag => tags.push(name),
                _ => {}
            }
        }
        s.branches = by_kind.get(&RefKind::Branch).copied().unwrap_or(0);
        s.tags = by_kind.get(&RefKind::Tag).copied().unwrap_or(0);
        branches.sort_unstable();
        tags.sort_unstable();
        s.branch_names = s
            .default_branch
            .iter()
            .map(String::as_str)
            .chain(branches.iter().copied())
            .take(cap)
            .map(str::to_owned)
            .collect();
        s.tag_names = tags.iter().take(cap).map(|t| t.to_string()).collect();
        s.text = self.sentence(&s, &by_kind, &branches, &tags);
        s
    }

    fn sentence(
        &self,
        s: &RefSummary,
        by_kind: &BTreeMap<RefKind, usize>,
        branches: &[&str],
        tags: &[&str],
    ) -> String {
        if s.total == 0 {
            return "no ref".to_owned();
        }
        let mut parts = Vec::new();
        if let Some(d) = &s.default_branch {
            parts.push(short(d).to_owned());
        }
        let other = if s.default_branch.is_some() {
            "other "
        } else {
            ""
        };
        parts.extend(listed(branches, "branch", "branches", other));
        parts.extend(listed(tags, "tag", "tags", ""));
        for (kind, &n) in by_kind {
            if matches!(kind, RefKind::Branch | RefKind::Tag) {
                continue;
            }
            if *kind == RefKind::Head {
                parts.push("HEAD (detached)".to_owned());
                continue;
            }
            let (one, many) = kind.nouns();
            parts.push(format!(
                "{} {}",
                thousands(n),
                if n == 1 { one } else { many }
            ));
        }
        join_and(&parts)
    }
}

/// Short names when there are few, a count otherwise.
fn listed(names: &[&str], one: &str, many: &str, other: &str) -> Option<String> {
    match names.len() {
        0 => None,
        n if n <= NAMED => {
            let shown: Vec<&str> = names.iter().map(|n| short(n)).collect();
            Some(format!(
                "{} {}",
                if n == 1 { one } else { many },
                shown.join(", ")
            ))
        }
        n => Some(format!("{} {other}{many}", thousands(n))),
    }
}

/// `refs/heads/main` → `main`, `refs/tags/v1` → `v1`.
pub fn short(name: &str) -> &str {
    name.strip_prefix("refs/heads/")
        .or_else(|| name.strip_prefix("refs/tags/"))
        .unwrap_or(name)
}

fn join_and(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// 2276 → "2,276".
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RefTable {
        let mut names = vec![
            "refs/heads/main".to_owned(),
            "refs/heads/dev".to_owned(),
            "refs/tags/v1".to_owned(),
            "refs/tags/v2".to_owned(),
            "refs/tags/v3".to_owned(),
            "refs/tags/v4".to_owned(),
        ];
        names.extend((0..2276).map(|i| format!("refs/pull/{i}/head")));
        RefTable::new(names, Some("refs/heads/main"))
    }

    #[test]
    fn summary_names_the_default_branch_and_counts_the_rest() {
        let t = table();
        let mut sets = RefSets::default();
        let all: Vec<u32> = (0..t.len() as u32).filter(|&i| i != 1).collect();
        let s = t.summarise(&sets.intern(all), 2);
        assert_eq!(s.text, "main, 4 tags and 2,276 pull-request refs");
        assert_eq!(s.branch_names, ["refs/heads/main"]);
        assert_eq!(s.tag_names, ["refs/tags/v1", "refs/tags/v2"]);
        assert_eq!(s.namespaces["refs/pull"], 2276);
        assert_eq!(s.total, 2281);
    }

    #[test]
    fn few_refs_are_named() {
        let t = table();
        let mut sets = RefSets::default();
        assert_eq!(
            t.summarise(&sets.intern(vec![1, 2]), 9).text,
            "branch dev and tag v1"
        );
        assert_eq!(t.summarise(&sets.intern(vec![]), 9).text, "no ref");
    }

    #[test]
    fn equal_sets_share_storage_and_unions_are_memoised() {
        let mut sets = RefSets::default();
        let a = sets.intern(vec![3, 1, 1]);
        let b = sets.intern(vec![1, 3]);
        assert_eq!(a.ptr(), b.ptr());
        let c = sets.intern(vec![2]);
        let u = sets.union(&a, &c);
        assert_eq!(u.indices(), [1, 2, 3]);
        assert_eq!(sets.union(&c, &a).ptr(), u.ptr());
        assert_eq!(sets.count(), 3);
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(7), "7");
        assert_eq!(thousands(2276), "2,276");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
