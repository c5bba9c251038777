//! Full history, for `nbguard audit`: every blob that ever sat at a file path in any commit
//! reachable from the selected refs, each listed once however many commits contain it.
//!
//! The work comes in three steps, each cheap enough for repositories with tens of thousands of
//! commits:
//! 1. [`Inventory::build`] picks the tips, walks every reachable commit and visits each unique
//!    tree object once, keeping only ids, sizes and paths of the unique blobs (never contents).
//! 2. [`Inventory::read_blobs_parallel`] hands each unique blob's content to the caller, on all
//!    cores, in pack order.
//! 3. [`Inventory::attribute`] answers "who introduced this, and is it still there?" for the few
//!    blobs that turned out to have findings, in one pass over history for all of them.
//!
//! Scanning the content is left to the engine; this module only decides what to read and reads it.
//! Missing or corrupt objects (partial clones, shallow clones, trimmed mirrors) become
//! [`Notice`]s and the walk goes on.

mod attribute;
mod messages;
mod pages;
mod read;
mod refs;
mod refset;
mod walk;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use crate::finding::DiagnosticKind;
use crate::source::{CommitInfo, Notice};

pub use attribute::{Attributed, Attribution, PathOrigin};
pub use messages::{Message, Walked};
pub use read::ReadStats;
pub use refset::{namespace, short, thousands, RefKind, RefSet, RefSets, RefSummary, RefTable};

/// Errors that stop an inventory or an attribution altogether. Problems with single objects are
/// [`Notice`]s instead.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot open the git repository at {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: BoxError,
    },
    #[error("cannot list the references of the repository")]
    References {
        #[source]
        source: BoxError,
    },
    #[error("invalid ref pattern `{pattern}`")]
    RefPattern {
        pattern: String,
        #[source]
        source: globset::Error,
    },
    #[error("invalid path pattern `{pattern}`")]
    PathPattern {
        pattern: String,
        #[source]
        source: globset::Error,
    },
    #[error("cannot start walking the history")]
    Walk {
        #[source]
        source: BoxError,
    },
    #[error("cannot read commit {commit}")]
    Commit {
        commit: String,
        #[source]
        source: BoxError,
    },
    #[error("invalid blob id `{0}`")]
    BlobId(String),
}

/// gix errors are boxed so that no gix type shows at this module's boundary.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A repository opened for reading history, shareable across threads.
pub struct Repo {
    inner: gix::ThreadSafeRepository,
}

impl Repo {
    /// Opens the repository at `path` (a work tree, its `.git` directory, or a bare repository).
    ///
    /// The repository is opened isolated: no environment variables, no global or system
    /// configuration, no `include` files and no `git` binary, so that a hostile repository (this
    /// runs on servers, on other people's pushes) can neither make us run programs nor read
    /// files outside it. Only its own `config` is read, for the object format and pack settings.
    pub fn open(path: impl AsRef<Path>) -> Result<Repo, Error> {
        let path = path.as_ref();
        let inner = gix::ThreadSafeRepository::open_opts(path, gix::open::Options::isolated())
            .map_err(|e| Error::Open {
                path: path.to_owned(),
                source: Box::new(e),
            })?;
        Ok(Repo { inner })
    }

    /// A handle for the current thread, with `pack_cache` bytes of delta-base cache.
    ///
    /// The pack cache is a byte-capped LRU keyed by pack position rather than gix's default of
    /// 64 entries: a delta whose base was decoded a few hundred objects earlier (the previous
    /// version of a notebook edited among many others) then finds that base instead of
    /// decoding its whole delta chain again. There is no object cache: every object is read
    /// once per (object, path) at most, so it would only copy them.
    pub(crate) fn local(&self, pack_cache: usize) -> gix::Repository {
        let mut repo = self.inner.to_thread_local();
        repo.object_cache_size(0);
        // Mapped packs stay mapped while any handle lives: pack positions stay valid, and
        // `pages` may drop their resident pages safely.
        repo.objects.prevent_pack_unload();
        if pack_cache == 0 {
            repo.objects.unset_pack_cache();
        } else {
            repo.objects.set_pack_cache(move || {
                Box::new(gix::odb::pack::cache::lru::MemoryCappedHashmap::new(
                    pack_cache,
                ))
            });
        }
        repo
    }
}

/// Delta-base cache per thread. Measured on a generated 20k-commit repository (1.5 GB of
/// distinct blobs) after `git repack -adf`, two reading threads: 24 MiB each keeps peak RSS
/// under 300 MB (about 150 MB of it the mapped pack); 32 MiB read slightly faster and went
/// over; 16 MiB was markedly slower on packs with oldest-to-newest delta chains.
const PACK_CACHE_BYTES: usize = 24 * 1024 * 1024;

/// A blob id: the hash of the content, shown as hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobId(gix::ObjectId);

impl BlobId {
    pub fn to_hex(&self) -> String {
        self.0.to_string()
    }

    pub(crate) fn oid(&self) -> gix::ObjectId {
        self.0
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobId({})", self.0)
    }
}

impl FromStr for BlobId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        gix::ObjectId::from_hex(s.as_bytes())
            .map(BlobId)
            .map_err(|_| Error::BlobId(s.to_owned()))
    }
}

/// Which refs to start from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RefSelection {
    /// Everything under `refs/` (branches, remote-tracking branches, tags, the top stash entry,
    /// notes, ...) plus a detached `HEAD`.
    #[default]
    All,
    /// Local branches: `refs/heads/**`.
    Branches,
    /// Tags: `refs/tags/**`.
    Tags,
    /// Full ref names matching any of these globs, e.g. `refs/heads/release/*`. `*` also
    /// matches `/`. A pattern without glob characters matches that ref and everything below it.
    Globs(Vec<String>),
}

/// Which blob paths to keep.
#[derive(Debug, Clone, Default)]
pub struct PathFilter {
    kind: FilterKind,
}

#[derive(Debug, Clone, Default)]
enum FilterKind {
    #[default]
    All,
    /// File names ending in one of these suffixes; checked on the name alone, before a full
    /// path is built, because this is the common `--notebooks-only` case.
    Suffixes(Vec<String>),
    Globs(globset::GlobSet),
}

impl PathFilter {
    /// Every regular file.
    pub fn all() -> Self {
        PathFilter::default()
    }

    /// Only `*.ipynb`.
    pub fn notebooks_only() -> Self {
        PathFilter {
            kind: FilterKind::Suffixes(vec![".ipynb".to_owned()]),
        }
    }

    /// Full repo-relative paths matching any of these globs (`**` crosses directories).
    pub fn globs<S: AsRef<str>>(patterns: &[S]) -> Result<Self, Error> {
        let mut set = globset::GlobSetBuilder::new();
        for pattern in patterns {
            let pattern = pattern.as_ref();
            let glob = globset::GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .map_err(|source| Error::PathPattern {
                    pattern: pattern.to_owned(),
                    source,
                })?;
            set.add(glob);
        }
        let set = set.build().map_err(|source| Error::PathPattern {
            pattern: patterns
                .iter()
                .map(|p| p.as_ref())
                .collect::<Vec<_>>()
                .join(", "),
            source,
        })?;
        Ok(PathFilter {
            kind: FilterKind::Globs(set),
        })
    }

    /// Whether a decision can be made from the file name alone.
    fn accepts_name(&self, name: &str) -> Option<bool> {
        match &self.kind {
            FilterKind::All => Some(true),
            FilterKind::Suffixes(s) => Some(s.iter().any(|s| name.ends_with(s.as_str()))),
            FilterKind::Globs(_) => None,
        }
    }

    fn accepts_path(&self, path: &str) -> bool {
        match &self.kind {
            FilterKind::Globs(set) => set.is_match(path),
            FilterKind::All | FilterKind::Suffixes(_) => true,
        }
    }
}

/// What to enumerate.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub refs: RefSelection,
    /// Only commits whose committer time is at or after this many seconds since the Unix epoch.
    /// The walk stops at older commits, so their ancestors are skipped too.
    pub since: Option<i64>,
    pub paths: PathFilter,
    /// Larger blobs are left out of the inventory and reported as [`DiagnosticKind::TooLarge`].
    pub max_blob_size: Option<u64>,
    /// Do not look up blob sizes before reading (they are then `None`): a size lookup follows
    /// the blob's delta chain to its base, which cost a whole second on a 25,000-blob mirror.
    /// Without a size limit, nothing needs them before the blob is read.
    pub skip_sizes: bool,
}

/// What a tip ref points at once annotated tags are peeled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TipKind {
    Commit,
    /// A ref straight to a tree: its blobs are inventoried with paths relative to it.
    Tree,
    /// A ref straight to a blob: inventoried under the ref's name, whatever the path filter says,
    /// because it is a place people hide things.
    Blob,
}

/// A selected ref and where it ends up.
#[derive(Debug, Clone)]
pub struct Tip {
    /// Full ref name (`refs/heads/main`), or `HEAD` when detached.
    pub name: String,
    pub kind: TipKind,
    target: gix::ObjectId,
}

impl Tip {
    /// Hex id of the peeled target.
    pub fn id(&self) -> String {
        self.target.to_string()
    }
}

/// One unique blob of history.
#[derive(Debug, Clone)]
pub struct BlobEntry {
    pub id: BlobId,
    /// Size in bytes of the content; `None` when [`Options::skip_sizes`] left it unknown.
    pub size: Option<u64>,
    /// Every repo-relative path (`/`-separated) the blob was seen at, in the order first seen.
    /// Paths that are not UTF-8 are decoded lossily.
    pub paths: Vec<Arc<str>>,
}

/// Counts, for progress lines and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub commits: usize,
    /// Tree objects read (a tree met under a second path is read again).
    pub trees_read: usize,
    pub blobs: usize,
    /// Bytes of the blobs whose size was looked up.
    pub blob_bytes: u64,
}

/// A commit of the walk, kept for attribution.
#[derive(Debug, Clone)]
struct CommitNode {
    id: gix::ObjectId,
    tree: gix::ObjectId,
    /// Indices into `Inventory::commits`; parents outside the walk (cut off by `since`, missing)
    /// are left out.
    parents: Vec<u32>,
    time: i64,
}

/// The unique blobs of the selected history, plus what is needed to attribute them later.
#[derive(Debug, Clone)]
pub struct Inventory {
    tips: Vec<Tip>,
    /// The tips' names by index, and which one is the default branch.
    refs: RefTable,
    blobs: Vec<BlobEntry>,
    notices: Vec<Notice>,
    commits: Vec<CommitNode>,
    stats: Stats,
}

impl Inventory {
    /// Walks the selected history of `repo` and lists its unique blobs.
    pub fn build(repo: &Repo, options: &Options) -> Result<Inventory, Error> {
        walk::build(repo, options, |_| ()).map(|(inventory, ())| inventory)
    }

    /// [`Inventory::build`], running `alongside` on the walked commits while their trees are
    /// listed: the tree listing leaves a core idle much of the time, and reading and scanning
    /// commit messages fills it.
    pub fn build_with<R: Send>(
        repo: &Repo,
        options: &Options,
        alongside: impl FnOnce(Walked<'_>) -> R + Send,
    ) -> Result<(Inventory, R), Error> {
        walk::build(repo, options, alongside)
    }

    /// The unique blobs, ordered for fast reading (pack order), not by path.
    pub fn blobs(&self) -> &[BlobEntry] {
        &self.blobs
    }

    pub fn tips(&self) -> &[Tip] {
        &self.tips
    }

    /// The tips as an indexed table: [`RefSet`]s are indices into it.
    pub fn refs(&self) -> &RefTable {
        &self.refs
    }

    /// Missing or unreadable objects, oversized blobs and broken refs met on the way.
    pub fn notices(&self) -> &[Notice] {
        &self.notices
    }

    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Reads every blob of the inventory on all cores (rayon) and calls `f` with its content.
    /// `f` runs concurrently on several threads. Blobs that cannot be read are returned as
    /// notices; the others are all passed to `f`, each once.
    pub fn read_blobs_parallel<F>(&self, repo: &Repo, f: F) -> (Vec<Notice>, ReadStats)
    where
        F: Fn(&BlobEntry, &[u8]) + Sync,
    {
        read::for_each_blob(repo, &self.blobs, f)
    }

    /// For each of `blobs`: the commit that introduced it at each of its paths, and the tips
    /// that still contain it (a set interned in `sets`). One pass over the walked history
    /// serves all of them.
    pub fn attribute(
        &self,
        repo: &Repo,
        blobs: &[BlobId],
        sets: &mut RefSets,
    ) -> Result<Attributed, Error> {
        attribute::attribute(self, repo, blobs, sets)
    }
}

fn notice(path: impl Into<String>, kind: DiagnosticKind, message: impl Into<String>) -> Notice {
    Notice {
        path: path.into(),
        kind,
        message: message.into(),
    }
}

/// Reads a commit's metadata for a report.
fn read_commit_info(repo: &gix::Repository, id: gix::ObjectId) -> Result<CommitInfo, Error> {
    let commit = repo.find_commit(id).map_err(|e| Error::Commit {
        commit: id.to_string(),
        source: Box::new(e),
    })?;
    commit_info(&commit)
}

/// A read commit's metadata for a report.
fn commit_info(commit: &gix::Commit<'_>) -> Result<CommitInfo, Error> {
    let id = commit.id;
    let err = |source: BoxError| Error::Commit {
        commit: id.to_string(),
        source,
    };
    let author = commit.author().map_err(|e| err(Box::new(e)))?;
    let time = author.time().map_err(|e| err(Box::new(e)))?;
    let summary = commit
        .message()
        .map_err(|e| err(Box::new(e)))?
        .summary()
        .to_string();
    // Shown in reports beside findings: a key pasted into a subject must not ride along.
    let summary = crate::redact::mask_text(&summary, &[], &[]);
    Ok(CommitInfo {
        id: id.to_string(),
        author: author.name.to_string(),
        email: author.email.to_string(),
        time: time.seconds,
        summary,
        reference: None,
    })
}
