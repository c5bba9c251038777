//! Opening repositories safely. nbguard runs inside other people's pushes on servers, so a
//! repository's own configuration must never make it run a program: we build gix without the
//! features that can (filters, credential helpers, network transports, attributes) and open with
//! the installation-config probe (which runs `git`) switched off. We only ever read objects,
//! references and the index; no hook, fsmonitor or filter is consulted.
//!
//! Two entry points: [`open`] follows the environment git gives hooks (`GIT_DIR`,
//! `GIT_INDEX_FILE`, `GIT_WORK_TREE`), [`open_path`] opens exactly the repository at or above a
//! directory and ignores those variables. Quarantined pushes are opened by
//! [`super::quarantine`].

use std::path::{Path, PathBuf};

/// Why a repository could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no git repository at or above {}", dir.display())]
    Open {
        dir: PathBuf,
        #[source]
        source: gix::Error,
    },
}

/// Where a repository keeps its parts, for code that must not name gix types (hook installation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The private git directory of this worktree (`.git`, `.git/worktrees/<name>`, or the bare
    /// repository itself).
    pub git_dir: PathBuf,
    /// The directory shared by all worktrees: objects, refs, config and the default hooks.
    pub common_dir: PathBuf,
    /// The checkout's top-level directory; `None` for a bare repository.
    pub work_tree: Option<PathBuf>,
    /// `core.hooksPath` with `~` expanded, exactly as configured (possibly relative).
    pub hooks_path: Option<PathBuf>,
}

/// Opens the repository a git hook or a command in `dir` is about: honours `GIT_DIR`,
/// `GIT_WORK_TREE` and `GIT_INDEX_FILE` (git sets them for hooks, and `git commit -a` or
/// `git commit <paths>` point `GIT_INDEX_FILE` at a temporary index), then discovers upwards.
///
/// Call it before changing the current directory: git's relative `GIT_DIR` and
/// `GIT_INDEX_FILE` values are relative to the directory the hook was started in.
pub fn open(dir: &Path) -> Result<gix::Repository, Error> {
    let upwards = gix::discover::upwards::Options {
        // An outside `GIT_CEILING_DIRECTORIES` that does not match should not stop discovery,
        // as it does not stop git.
        match_ceiling_dir_or_error: false,
        ..Default::default()
    };
    gix::ThreadSafeRepository::discover_with_environment_overrides_opts(
        dir,
        upwards,
        trust_map(true),
    )
    .map(gix::Repository::from)
    .map_err(|source| Error::Open {
        dir: dir.to_owned(),
        source,
    })
}

/// Opens the repository at or above `dir`, ignoring `GIT_DIR`, `GIT_INDEX_FILE` and the other
/// repository-selecting variables: for commands given an explicit path.
pub fn open_path(dir: &Path) -> Result<gix::Repository, Error> {
    gix::ThreadSafeRepository::discover_opts(dir, Default::default(), trust_map(false))
        .map(gix::Repository::from)
        .map_err(|source| Error::Open {
            dir: dir.to_owned(),
            source,
        })
}

/// Where the repository at or above `dir` keeps its parts; see [`Layout`]. Ignores the
/// environment like [`open_path`].
pub fn read_layout(dir: &Path) -> Result<Layout, Error> {
    let repo = open_path(dir)?;
    // Read as a plain string: gix's trusted-path accessor drops values from repositories owned by
    // another user, which is exactly the server case where git itself still uses them.
    let hooks_path = repo
        .config_snapshot()
        .string("core.hooksPath")
        .filter(|v| !v.is_empty())
        .map(|v| expand_home(&v.to_string()));
    Ok(Layout {
        git_dir: absolute(repo.git_dir()),
        common_dir: absolute(repo.common_dir()),
        work_tree: repo.workdir().map(absolute),
        hooks_path,
    })
}

/// The same safe options whatever the repository's ownership; only the use of git's
/// repository-selecting environment variables differs.
fn trust_map(use_git_env: bool) -> gix::sec::trust::Mapping<gix::open::Options> {
    let options = |level| {
        let mut opts: gix::open::Options =
            gix::sec::trust::DefaultForLevel::default_for_level(level);
        // Reading the installation's config means running `git config -l --show-origin`.
        opts.permissions.config.git_binary = false;
        opts.permissions.attributes.git_binary = false;
        if !use_git_env {
            opts.permissions.env.git_prefix = gix::sec::Permission::Deny;
        }
        opts
    };
    gix::sec::trust::Mapping {
        full: options(gix::sec::Trust::Full),
        reduced: options(gix::sec::Trust::Reduced),
    }
}

/// How much a source reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Blobs larger than this are not read; the source reports them as too large instead.
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 10 * 1024 * 1024,
        }
    }
}

/// A blob as a source sees it: read, or the reason it was not.
#[derive(Debug)]
pub(crate) enum Blob {
    Data(Vec<u8>),
    TooLarge(u64),
    Missing,
    WrongKind(gix::object::Kind),
}

/// Reads a blob unless its header says it is over the limit, so that a huge blob is never
/// loaded. A missing object (partial clone, trimmed mirror) is an answer, not an error.
pub(crate) fn read_blob(
    repo: &gix::Repository,
    id: &gix::oid,
    limits: &Limits,
) -> Result<Blob, gix::Error> {
    use gix::objs::{Find, FindHeader};
    let Some(header) = repo.objects.try_header(id)? else {
        return Ok(Blob::Missing);
    };
    if header.kind != gix::object::Kind::Blob {
        return Ok(Blob::WrongKind(header.kind));
    }
    if header.size > limits.max_bytes {
        return Ok(Blob::TooLarge(header.size));
    }
    let mut buf = Vec::new();
    Ok(match repo.objects.try_find(id, &mut buf)? {
        // The data may not start at the buffer's beginning, so copy exactly the object.
        Some(data) => Blob::Data(data.data.to_vec()),
        None => Blob::Missing,
    })
}

/// Reads the blob with hex id `hex` if it has at most `max_bytes` bytes; `None` when it is
/// larger, missing or unreadable (callers then treat what depends on it as new or unscanned).
pub fn read_blob_hex(repo: &gix::Repository, hex: &str, max_bytes: u64) -> Option<Vec<u8>> {
    let id = gix::ObjectId::from_hex(hex.as_bytes()).ok()?;
    match read_blob(repo, &id, &Limits { max_bytes }) {
        Ok(Blob::Data(bytes)) => Some(bytes),
        _ => None,
    }
}

/// A repository path as the scanning stages see it (lossy for the rare path that is not UTF-8).
pub(crate) fn display_path(path: &gix::bstr::BStr) -> String {
    String::from_utf8_lossy(path).into_owned()
}

/// git's pathname expansion of a leading `~/` (the only form worth supporting for hooks).
fn expand_home(value: &str) -> PathBuf {
    match (value.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(value),
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_a_plain_directory_says_where() {
        let dir = tempfile::tempdir().expect("temp dir");
        // Discovery walks up to `/`; only a repository above the temp dir would make this open.
        if let Err(err) = open_path(dir.path()) {
            assert!(err.to_string().contains(&dir.path().display().to_string()));
        }
    }

    #[test]
    fn home_is_expanded_in_hooks_path() {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        if let Some(home) = home {
            assert_eq!(expand_home("~/hooks"), home.join("hooks"));
        }
        assert_eq!(expand_home("rel/hooks"), PathBuf::from("rel/hooks"));
        assert_eq!(expand_home("/abs"), PathBuf::from("/abs"));
    }
}
