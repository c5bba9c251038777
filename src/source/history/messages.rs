//! Commit and tag messages of the walked history, for the audit: a key pasted into a message is
//! as public as one in a file, and stays in history just the same. Each walked commit's message is
//! read once; which refs reach a commit is worked out only for the few commits whose message has
//! findings.

use std::collections::HashMap;

use gix::bstr::ByteSlice;

use super::{commit_info, Inventory, RefSet, RefSets, Repo, TipKind};
use crate::finding::DiagnosticKind;
use crate::source::{CommitInfo, Notice};

/// One message to scan.
#[derive(Debug, Clone)]
pub struct Message {
    /// The commit (or tag) it belongs to, as a report shows it.
    pub info: CommitInfo,
    /// `commit message of <id>` or `tag <name>`.
    pub label: String,
    pub tag: bool,
    pub text: Vec<u8>,
    /// The walked commit, for [`Inventory::reach`]; `None` for a tag.
    commit: Option<u32>,
    /// The tag's own ref, for a tag message.
    tip: Option<u32>,
}

/// The commits of a walk and the selected tips: enough to read their messages while the rest of
/// the inventory is still being built (see [`Inventory::build_with`]).
pub struct Walked<'a> {
    pub(super) repo: &'a Repo,
    pub(super) tips: &'a [super::Tip],
    pub(super) commits: &'a [super::CommitNode],
}

impl Walked<'_> {
    /// Every walked commit's message and every annotated tag's message among the tips, in walk
    /// order (read on all cores).
    pub fn read_messages(&self) -> (Vec<Message>, Vec<Notice>) {
        use rayon::prelude::*;
        let read: Vec<Result<Message, Notice>> = self
            .commits
            .par_iter()
            .enumerate()
            .with_min_len(256)
            .map_init(
                || self.repo.local(0),
                |local, (i, c)| {
                    local
                        .find_commit(c.id)
                        .map_err(|e| e.to_string())
                        .and_then(|commit| {
                            let text = commit.message_raw().map_err(|e| e.to_string())?.to_vec();
                            let info = commit_info(&commit).map_err(|e| e.to_string())?;
                            Ok(Message {
                                label: format!("commit message of {}", info.short_id()),
                                info,
                                tag: false,
                                text,
                                commit: Some(i as u32),
                                tip: None,
                            })
                        })
                        .map_err(|e| unreadable(c.id, e))
                },
            )
            .collect();
        let mut out = Vec::with_capacity(read.len());
        let mut notices = Vec::new();
        for r in read {
            match r {
                Ok(m) => out.push(m),
                Err(n) => notices.push(n),
            }
        }
        let local = self.repo.local(0);
        for (i, tip) in self.tips.iter().enumerate() {
            if let Some(m) = tag_message(&local, &tip.name, i as u32) {
                out.push(m);
            }
        }
        (out, notices)
    }
}

impl Inventory {
    /// For each message: its parents-first rank (tags after every commit) and the refs whose
    /// history holds it. Costs one pass over the commit graph per message asked for.
    pub fn reach(&self, messages: &[&Message], sets: &mut RefSets) -> Vec<(u32, RefSet)> {
        let order = super::attribute::topological_order(&self.commits);
        let mut ranks = vec![u32::MAX; self.commits.len()];
        for (rank, &c) in order.iter().enumerate() {
            ranks[c as usize] = rank as u32;
        }
        let index: HashMap<gix::ObjectId, u32> = self
            .commits
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id, i as u32))
            .collect();
        let mut children: Vec<Vec<u32>> = vec![Vec::new(); self.commits.len()];
        for (i, c) in self.commits.iter().enumerate() {
            for &p in &c.parents {
                children[p as usize].push(i as u32);
            }
        }
        // The tips sitting on each commit.
        let mut tips_at: HashMap<u32, Vec<u32>> = HashMap::new();
        for (t, tip) in self.tips.iter().enumerate() {
            if tip.kind == TipKind::Commit {
                if let Some(&c) = index.get(&tip.target) {
                    tips_at.entry(c).or_default().push(t as u32);
                }
            }
        }
        messages
            .iter()
            .map(|m| match (m.commit, m.tip) {
                (Some(start), _) => {
                    let mut seen = vec![false; self.commits.len()];
                    let mut stack = vec![start];
                    let mut reached = Vec::new();
                    seen[start as usize] = true;
                    while let Some(c) = stack.pop() {
                        reached.extend(tips_at.get(&c).into_iter().flatten().copied());
                        for &child in &children[c as usize] {
                            if !std::mem::replace(&mut seen[child as usize], true) {
                                stack.push(child);
                            }
                        }
                    }
                    (ranks[start as usize], sets.intern(reached))
                }
                (None, tip) => (u32::MAX, sets.intern(tip.into_iter().collect())),
            })
            .collect()
    }
}

/// The message of the annotated tag `name` points at, if it does.
fn tag_message(repo: &gix::Repository, name: &str, tip: u32) -> Option<Message> {
    if !name.starts_with("refs/tags/") {
        return None;
    }
    let reference = repo.find_reference(name).ok()?;
    let id = reference.target().try_id()?.to_owned();
    let tag = repo.find_tag(id).ok()?;
    let decoded = tag.decode().ok()?;
    let mut text = decoded.message.to_vec();
    if let Some(signature) = decoded.signature {
        text.push(b'\n');
        text.extend_from_slice(signature);
    }
    let tag_name = decoded.name.to_str_lossy().into_owned();
    let tagger = decoded.tagger().ok().flatten();
    let info = CommitInfo {
        id: id.to_string(),
        author: tagger
            .map(|t| t.name.to_str_lossy().into_owned())
            .unwrap_or_default(),
        email: tagger
            .map(|t| t.email.to_str_lossy().into_owned())
            .unwrap_or_default(),
        time: tagger
            .and_then(|t| t.time().ok())
            .map(|t| t.seconds)
            .unwrap_or(0),
        summary: format!("annotated tag {tag_name}"),
        reference: Some(name.to_string()),
    };
    Some(Message {
        label: format!("tag {tag_name}"),
        info,
        tag: true,
        text,
        commit: None,
        tip: Some(tip),
    })
}

fn unreadable(id: gix::ObjectId, why: String) -> Notice {
    Notice {
        path: id.to_string(),
        kind: DiagnosticKind::Unreadable,
        message: format!("commit {id}: its message could not be read ({why}); not scanned"),
    }
}
