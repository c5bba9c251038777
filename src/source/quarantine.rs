//! Opening a server repository during `pre-receive`, when the pushed objects are not yet in the
//! repository but in git's quarantine directory. git announces it with `GIT_OBJECT_DIRECTORY`
//! (the quarantine) and `GIT_ALTERNATE_OBJECT_DIRECTORIES` (the real `objects/`), which gix
//! does not read.
//!
//! We make a private objects directory *outside* the repository whose `info/alternates` lists
//! those directories, and open an object store on it. Nothing is ever written into the
//! quarantine: git moves its contents into the repository when the push is accepted. The private
//! directory lives as long as the returned [`Quarantined`] handle.

use std::path::{Path, PathBuf};

use gix::bstr::{BStr, ByteSlice};

use super::repo;

/// Why a quarantined repository could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Open(#[from] repo::Error),
    #[error("could not prepare a private objects directory at {}", path.display())]
    TempDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot name {} in an alternates file (not valid UTF-8)", path.display())]
    PathEncoding { path: PathBuf },
    #[error("could not open the objects of the push at {}", path.display())]
    Store {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The object directories git gives a `pre-receive` hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectDirs {
    /// `GIT_OBJECT_DIRECTORY`: the quarantine holding the pushed objects.
    pub primary: PathBuf,
    /// `GIT_ALTERNATE_OBJECT_DIRECTORIES`: the repository's own objects and its alternates.
    pub alternates: Vec<PathBuf>,
}

impl ObjectDirs {
    /// Reads `GIT_OBJECT_DIRECTORY` and `GIT_ALTERNATE_OBJECT_DIRECTORIES`; `None` outside a
    /// quarantine (an old git, or the command run by hand).
    pub fn from_env() -> Option<Self> {
        let primary = std::env::var_os("GIT_OBJECT_DIRECTORY").filter(|v| !v.is_empty())?;
        let alternates = std::env::var_os("GIT_ALTERNATE_OBJECT_DIRECTORIES")
            .map(|v| parse_alternates(gix::bstr::BString::from(v.into_encoded_bytes()).as_ref()))
            .unwrap_or_default();
        Some(ObjectDirs {
            primary: PathBuf::from(primary),
            alternates,
        })
    }
}

/// A repository whose object store also sees the quarantined objects of a push. Dropping it
/// removes the private objects directory.
pub struct Quarantined {
    // Declared first so that it is dropped before the directory its object store reads.
    repo: gix::Repository,
    _objects: Option<TempDir>,
}

impl Quarantined {
    pub fn repo(&self) -> &gix::Repository {
        &self.repo
    }
}

/// Opens the repository a `pre-receive` hook runs in, seeing the pushed objects when git
/// quarantined them (see [`ObjectDirs::from_env`]).
pub fn open(dir: &Path) -> Result<Quarantined, Error> {
    open_with(dir, ObjectDirs::from_env().as_ref())
}

/// Like [`open`] with the object directories given instead of read from the environment.
pub fn open_with(dir: &Path, dirs: Option<&ObjectDirs>) -> Result<Quarantined, Error> {
    let repo = repo::open(dir)?;
    let Some(dirs) = dirs else {
        return Ok(Quarantined {
            repo,
            _objects: None,
        });
    };
    let tmp = TempDir::new()?;
    write_alternates(tmp.path(), dirs)?;
    let hash = repo.object_hash();
    let mut shared = repo.into_sync();
    let store = gix::odb::Store::at_opts(
        tmp.path().to_owned(),
        hash,
        &mut std::iter::empty(),
        Default::default(),
    )
    .map_err(|source| Error::Store {
        path: dirs.primary.clone(),
        source,
    })?;
    shared.objects = gix::parallel::OwnShared::new(store);
    Ok(Quarantined {
        repo: shared.to_thread_local(),
        _objects: Some(tmp),
    })
}

/// Splits a `GIT_ALTERNATE_OBJECT_DIRECTORIES` value: `:`-separated, and an entry starting with
/// `"` is C-quoted (so it may contain `:`), as git's `parse_alt_odb_entry` reads it.
pub fn parse_alternates(mut value: &BStr) -> Vec<PathBuf> {
    let mut out = Vec::new();
    while !value.is_empty() {
        let (entry, rest) = split_entry(value);
        // Only non-Unix systems can fail here (paths that are not UTF-8), and git itself could
        // not have produced such an entry there.
        if let Some(path) = (!entry.is_empty())
            .then(|| gix::path::from_bstring(entry).ok())
            .flatten()
        {
            out.push(path);
        }
        value = rest;
    }
    out
}

fn split_entry(value: &BStr) -> (gix::bstr::BString, &BStr) {
    if value.starts_with(b"\"") {
        if let Ok((unquoted, consumed)) = gix::quote::ansi_c::undo(value) {
            let rest = &value[consumed..];
            let rest = rest.strip_prefix(b":").unwrap_or(rest);
            return (unquoted.into_owned(), rest.as_bstr());
        }
    }
    match value.find_byte(b':') {
        Some(i) => (value[..i].into(), value[i + 1..].as_bstr()),
        None => (value.into(), b"".as_bstr()),
    }
}

/// Absolute paths, C-quoted when they need it, so that gix reads back exactly these directories.
fn write_alternates(objects: &Path, dirs: &ObjectDirs) -> Result<(), Error> {
    let mut text = Vec::new();
    for dir in std::iter::once(&dirs.primary).chain(&dirs.alternates) {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
        let raw = gix::path::into_bstr(dir.as_path())
            .map_err(|_| Error::PathEncoding { path: dir.clone() })?;
        text.extend_from_slice(&gix::quote::ansi_c::quote(raw.as_ref()));
        text.push(b'\n');
    }
    let info = objects.join("info");
    let io = |source| Error::TempDir {
        path: objects.to_owned(),
        source,
    };
    std::fs::create_dir(&info).map_err(io)?;
    std::fs::write(info.join("alternates"), text).map_err(io)
}

/// A directory in the system temp dir, removed on drop. Kept here rather than taking a
/// dependency for twenty lines.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self, Error> {
        let base = std::env::temp_dir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mut last = None;
        for attempt in 0..16u32 {
            let path = base.join(format!(
                "nbguard-odb-{}-{nanos:x}-{attempt}",
                std::process::id()
            ));
            // `create_dir` fails on an existing path, so we never share a directory.
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(TempDir(path)),
                Err(err) => last = Some(err),
            }
        }
        Err(Error::TempDir {
            path: base,
            source: last.expect("the loop ran at least once"),
        })
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Vec<PathBuf> {
        parse_alternates(s.as_bytes().as_bstr())
    }

    #[test]
    fn alternates_are_colon_separated() {
        assert_eq!(
            parse("/a/objects:/b/objects"),
            vec![PathBuf::from("/a/objects"), PathBuf::from("/b/objects")]
        );
        assert!(parse("").is_empty());
        assert_eq!(parse("::/x:"), vec![PathBuf::from("/x")]);
    }

    #[test]
    fn quoted_alternates_may_hold_colons() {
        assert_eq!(
            parse(r#""/a:b/objects":/c"#),
            vec![PathBuf::from("/a:b/objects"), PathBuf::from("/c")]
        );
    }

    #[test]
    fn temp_dir_is_removed_on_drop() {
        let dir = TempDir::new().expect("temp dir");
        let path = dir.path().to_owned();
        assert!(path.is_dir());
        drop(dir);
        assert!(!path.exists());
    }
}
