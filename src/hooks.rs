//! Installing nbguard as a git hook (`nbguard hook install|uninstall|status`).
//!
//! Hooks go where git looks for them, as git itself resolves it (`git rev-parse --git-path
//! hooks`): `core.hooksPath` from whichever configuration file sets it (a relative value is
//! relative to the worktree's top-level directory, or to the repository itself when it is bare:
//! that is where git runs hooks), else `hooks/` in the common git directory, which linked
//! worktrees share. Without a `git` to ask, the repository's own configuration decides. The
//! hook is a small POSIX `sh` script carrying a marker line so we can recognise it later. A hook
//! that was already there is kept as `<name>.pre-nbguard` and run first, with the same arguments
//! and the same stdin; if it fails, the commit or push stops there. Installing twice changes
//! nothing, and uninstalling puts back exactly what was there (renames keep bytes and mode).
//!
//! There is deliberately no way to skip the hook from here: that is `git commit --no-verify`.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::source::repo;

/// The line that marks a hook as ours.
pub const MARKER: &str = "# installed by nbguard";

/// Which hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    PreCommit,
    PrePush,
    PreReceive,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::PreCommit, Kind::PrePush, Kind::PreReceive];

    /// The hook's file name, which is also the nbguard subcommand it runs.
    pub fn name(self) -> &'static str {
        match self {
            Kind::PreCommit => "pre-commit",
            Kind::PrePush => "pre-push",
            Kind::PreReceive => "pre-receive",
        }
    }

    /// Whether git feeds the hook ref updates on stdin.
    fn reads_stdin(self) -> bool {
        !matches!(self, Kind::PreCommit)
    }
}

/// Why a hook could not be installed or removed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Repo(#[from] repo::Error),
    #[error("could not {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{} is not nbguard's, and {} already holds an earlier hook; \
         merge them by hand, then install again",
        hook.display(),
        backup.display()
    )]
    BackupExists { hook: PathBuf, backup: PathBuf },
}

/// What [`install`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// There was no hook; ours is now there.
    New,
    /// Another hook was there; it is kept at `previous` and runs before ours.
    Chained { previous: PathBuf },
    /// Ours was there with another command; it now runs this one.
    Updated,
    /// Ours was already there as asked.
    Unchanged,
}

/// What [`uninstall`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    /// Ours is gone and nothing was there before it.
    Removed,
    /// Ours is gone and the hook that was there before it is back.
    Restored,
    /// The hook there is not ours (or there is none); nothing was touched.
    NotInstalled,
}

/// The state of one hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookStatus {
    pub kind: Kind,
    pub path: PathBuf,
    pub state: State,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Missing,
    /// Ours; `chained` when an earlier hook is kept and runs first.
    Installed {
        chained: bool,
    },
    /// Someone else's hook.
    Foreign,
}

/// Where git looks for the hooks of the repository at or above `repo_path`.
pub fn hooks_dir(repo_path: &Path) -> Result<PathBuf, Error> {
    // gix's discovery misreads a relative path that climbs out of another repository
    // (`--repo ../server.git` run inside a clone), so it is given a canonical one.
    let repo_path = fs::canonicalize(repo_path).unwrap_or_else(|_| repo_path.to_owned());
    let layout = repo::read_layout(&repo_path)?;
    // Hooks run from the top of the work tree (a bare repository's own directory).
    let top = layout.work_tree.clone().unwrap_or(layout.git_dir.clone());
    if let Some(dir) = git_hooks_dir(&top) {
        return Ok(dir);
    }
    Ok(match layout.hooks_path {
        Some(p) if p.is_absolute() => p,
        Some(p) => top.join(p),
        None => layout.common_dir.join("hooks"),
    })
}

/// Asks git where it will run hooks from. `core.hooksPath` can come from any file git reads
/// (system, `GIT_CONFIG_GLOBAL`, XDG, `include` and `includeIf`, `GIT_CONFIG_COUNT` pairs),
/// and a hook written anywhere else is silently never run: only git resolves all of that
/// exactly as it will when the hook is due. `None` when git cannot be run (then git cannot run
/// hooks here either, and the repository's own configuration is the best answer).
fn git_hooks_dir(top: &Path) -> Option<PathBuf> {
    let out = git(top, &["rev-parse", "--git-path", "hooks"])?;
    let path = out.trim_end_matches(['\n', '\r']);
    (!path.is_empty()).then(|| normalize(&top.join(path)))
}

/// The hooks directory, when it lies inside the work tree and git tracks files in it: a hook
/// written there is shared with everyone who clones, so it must not name this machine's path.
pub fn tracked_hooks_dir(repo_path: &Path) -> Result<Option<PathBuf>, Error> {
    let repo_path = fs::canonicalize(repo_path).unwrap_or_else(|_| repo_path.to_owned());
    let layout = repo::read_layout(&repo_path)?;
    let Some(top) = layout.work_tree else {
        return Ok(None);
    };
    let dir = hooks_dir(&repo_path)?;
    let top = fs::canonicalize(&top).unwrap_or(top);
    let canonical = fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
    let Ok(rel) = canonical.strip_prefix(&top) else {
        return Ok(None);
    };
    let rel = rel.to_string_lossy().into_owned();
    let listed = git(
        &top,
        &["ls-files", "--", if rel.is_empty() { "." } else { &rel }],
    );
    Ok(listed.filter(|l| !l.trim().is_empty()).map(|_| dir))
}

/// Runs `git -C dir args…` with the repository-selecting variables removed (`dir` decides), and
/// returns its standard output when it succeeds.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_COMMON_DIR")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `a/b/../c` → `a/c`, without touching the file system (the directory may not exist yet).
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The hook script for `kind`, running `command` (a program path or name, quoted as needed).
/// The files in the repository's `hooks/` directory are `script(kind, "nbguard")`.
pub fn script(kind: Kind, command: &str) -> String {
    let name = kind.name();
    let command = shell_quote(command);
    let mut s = format!(
        "#!/bin/sh\n\
         {MARKER}\n\
         # Runs `nbguard {name}`, which blocks secrets and personal data, notebooks included.\n\
         # Remove with `nbguard hook uninstall`. A hook that was here before is kept as\n\
         # {name}.pre-nbguard and runs first; if it fails, so does this one.\n\
         previous=\"$(dirname \"$0\")/{name}.pre-nbguard\"\n"
    );
    if kind.reads_stdin() {
        s.push_str(&format!(
            "# git writes the refs being updated to stdin: read them once, give both hooks a copy.\n\
             input=$(cat)\n\
             replay() {{ [ -z \"$input\" ] || printf '%s\\n' \"$input\"; }}\n\
             if [ -x \"$previous\" ]; then\n    \
                 replay | \"$previous\" \"$@\" || exit $?\n\
             fi\n\
             replay | {command} {name} \"$@\"\n"
        ));
    } else {
        s.push_str(&format!(
            "if [ -x \"$previous\" ]; then\n    \
                 \"$previous\" \"$@\" || exit $?\n\
             fi\n\
             exec {command} {name}\n"
        ));
    }
    s
}

/// Installs nbguard's `kind` hook into the repository at or above `repo_path`, running
/// `command` (usually `nbguard`); see the module documentation.
pub fn install(repo_path: &Path, kind: Kind, command: &str) -> Result<Installed, Error> {
    let dir = hooks_dir(repo_path)?;
    fs::create_dir_all(&dir).map_err(io("create", &dir))?;
    let hook = dir.join(kind.name());
    let wanted = script(kind, command);
    match read_hook(&hook)? {
        None => {
            write_hook(&hook, &wanted)?;
            Ok(Installed::New)
        }
        Some(existing) if is_ours(&existing.content) => {
            // A symlink to our script was set up by hand; writing would change its target.
            if existing.content == wanted.as_bytes() || existing.is_symlink {
                return Ok(Installed::Unchanged);
            }
            write_hook(&hook, &wanted)?;
            Ok(Installed::Updated)
        }
        Some(_) => chain(&hook, kind, &wanted),
    }
}

fn chain(hook: &Path, kind: Kind, wanted: &str) -> Result<Installed, Error> {
    let backup = backup_path(hook, kind);
    if exists(&backup)? {
        return Err(Error::BackupExists {
            hook: hook.to_owned(),
            backup,
        });
    }
    fs::rename(hook, &backup).map_err(io("keep the existing hook at", &backup))?;
    write_hook(hook, wanted)?;
    Ok(Installed::Chained { previous: backup })
}

/// Removes nbguard's `kind` hook and puts back the one it replaced, if any.
pub fn uninstall(repo_path: &Path, kind: Kind) -> Result<Removed, Error> {
    let dir = hooks_dir(repo_path)?;
    let hook = dir.join(kind.name());
    match read_hook(&hook)? {
        Some(existing) if is_ours(&existing.content) => {}
        _ => return Ok(Removed::NotInstalled),
    }
    fs::remove_file(&hook).map_err(io("remove", &hook))?;
    let backup = backup_path(&hook, kind);
    if !exists(&backup)? {
        return Ok(Removed::Removed);
    }
    fs::rename(&backup, &hook).map_err(io("restore", &hook))?;
    Ok(Removed::Restored)
}

/// The state of every hook kind in the repository at or above `repo_path`.
pub fn status(repo_path: &Path) -> Result<Vec<HookStatus>, Error> {
    let dir = hooks_dir(repo_path)?;
    Kind::ALL
        .iter()
        .map(|&kind| {
            let path = dir.join(kind.name());
            let state = match read_hook(&path)? {
                None => State::Missing,
                Some(h) if is_ours(&h.content) => State::Installed {
                    chained: exists(&backup_path(&path, kind))?,
                },
                Some(_) => State::Foreign,
            };
            Ok(HookStatus { kind, path, state })
        })
        .collect()
}

fn is_ours(content: &[u8]) -> bool {
    content
        .split(|&b| b == b'\n')
        .any(|line| line.trim_ascii() == MARKER.as_bytes())
}

struct Existing {
    content: Vec<u8>,
    is_symlink: bool,
}

/// The hook at `path`, read through a symlink; `None` when there is nothing there (a dangling
/// symlink counts as something: it is someone's hook).
fn read_hook(path: &Path) -> Result<Option<Existing>, Error> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("inspect", path)(e)),
    };
    let content = match fs::read(path) {
        Ok(c) => c,
        Err(e) if e.kind() == ErrorKind::NotFound && meta.is_symlink() => Vec::new(),
        Err(e) => return Err(io("read", path)(e)),
    };
    Ok(Some(Existing {
        content,
        is_symlink: meta.is_symlink(),
    }))
}

/// Writes beside the hook, makes it executable, then renames over it: git never sees half a
/// hook.
fn write_hook(hook: &Path, content: &str) -> Result<(), Error> {
    let tmp = hook.with_extension("nbguard-new");
    fs::write(&tmp, content).map_err(io("write", &tmp))?;
    set_executable(&tmp)?;
    fs::rename(&tmp, hook).map_err(io("install", hook))
}

#[cfg(unix)]
fn set_executable(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).map_err(io("chmod", path))
}

#[cfg(not(unix))]
fn set_executable(_: &Path) -> Result<(), Error> {
    Ok(())
}

fn backup_path(hook: &Path, kind: Kind) -> PathBuf {
    hook.with_file_name(format!("{}.pre-nbguard", kind.name()))
}

fn exists(path: &Path) -> Result<bool, Error> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io("inspect", path)(e)),
    }
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}

/// Leaves plain words alone so the scripts stay readable; single-quotes anything else.
fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@%".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("nbguard"), "nbguard");
        assert_eq!(shell_quote("/opt/nb guard/bin"), "'/opt/nb guard/bin'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn scripts_carry_the_marker_and_run_the_subcommand() {
        for kind in Kind::ALL {
            let s = script(kind, "nbguard");
            assert!(is_ours(s.as_bytes()));
            assert!(s.contains(&format!("nbguard {}", kind.name())));
        }
        assert!(!is_ours(b"#!/bin/sh\n# installed by something else\n"));
    }

    /// Regenerate them with `NBGUARD_BLESS=1 cargo test --release --lib hooks`.
    #[test]
    fn shipped_hook_files_match_the_generated_scripts() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("hooks");
        for kind in Kind::ALL {
            let path = dir.join(kind.name());
            if std::env::var_os("NBGUARD_BLESS").is_some() {
                fs::create_dir_all(&dir).expect("creating hooks/");
                write_hook(&path, &script(kind, "nbguard")).expect("writing hooks/");
            }
            let shipped = fs::read_to_string(&path).expect("hooks/ ships a script per kind");
            assert_eq!(
                shipped,
                script(kind, "nbguard"),
                "{} is stale",
                path.display()
            );
        }
    }
}
