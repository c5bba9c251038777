//! Where bytes come from: the working tree, the index, commit ranges, full history and a
//! pre-receive push. Every source produces [`Item`]s (a path, the new content, the old content
//! when there is one, and where it came from); the scanning stages never see a gix type.
//!
//! Only this module names gix types. It decides *what* to scan, never *how*.

pub mod commits;
pub mod history;
pub mod quarantine;
pub mod repo;
pub mod staged;
pub mod worktree;

use std::fmt;

/// One piece of content to scan.
#[derive(Debug, Clone, Default)]
pub struct Item {
    /// Path as the user should see it: relative to the repository root (or as given on the
    /// command line), with `/` separators.
    pub path: String,
    /// The content being added.
    pub new: Vec<u8>,
    /// The content this one replaces, when there is one (the `HEAD` version for pre-commit, the
    /// parent's version for a commit). `None` means "everything is new".
    pub old: Option<Vec<u8>>,
    /// The old version's blob id when `old` was left unread: a caller reads it only when the new
    /// content has findings at all (a clean change never needs its old version).
    pub old_blob: Option<String>,
    /// The blob id of `new` when it came from git (hex), so that callers can cache by content.
    pub blob: Option<String>,
    /// The blob (`blob`) is over the size limit and was left unread, `new` is empty: its size.
    /// The caller reads it when its turn comes, scans it in windows and drops it, so that only
    /// one such blob is in memory at a time. gix inflates an object whole (a packed object's
    /// delta chain needs its bases whole), so this is as far as memory can be bounded for git
    /// content; files on disk are streamed.
    pub large: Option<u64>,
    pub provenance: Provenance,
    /// File content, or git metadata (a commit or tag message, added file names) shown as text.
    pub origin: crate::finding::Origin,
}

impl Item {
    /// A file on disk (or text standing for one), all of it new.
    pub fn worktree(path: impl Into<String>, bytes: Vec<u8>) -> Item {
        Item {
            path: path.into(),
            new: bytes,
            provenance: Provenance::WorkTree,
            ..Item::default()
        }
    }
}

/// Where an item's content came from; carried through to every finding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Provenance {
    /// A file on disk.
    #[default]
    WorkTree,
    /// The index (what `git commit` is about to record).
    Staged,
    /// A blob of a commit.
    Commit(CommitInfo),
}

/// Enough about a commit for a person to find it again.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CommitInfo {
    /// Full hex id.
    pub id: String,
    pub author: String,
    pub email: String,
    /// Seconds since the Unix epoch (author time).
    pub time: i64,
    pub summary: String,
    /// The ref through which this commit arrived (pre-receive, pre-push), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl CommitInfo {
    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(10)]
    }
}

/// Something a source noticed and the user should hear about, without it being a finding:
/// a skipped submodule, a missing object, an unreadable file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Notice {
    pub path: String,
    pub kind: crate::finding::DiagnosticKind,
    pub message: String,
}

impl From<Notice> for crate::finding::Diagnostic {
    fn from(n: Notice) -> Self {
        crate::finding::Diagnostic {
            path: n.path,
            kind: n.kind,
            message: n.message,
            commit: None,
        }
    }
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}
