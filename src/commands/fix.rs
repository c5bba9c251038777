//! `nbguard fix [PATH...]`: scans files of the working tree, plans each rewrite (`fix`), and —
//! unless it is a dry run — makes git ignore the env file, stores the values there, then writes
//! each file, refusing any file that changed on disk since it was read. Values are stored before
//! any file loses them, so an interrupted run never loses a credential.

use rayon::prelude::*;
use std::path::{Path, PathBuf};

use crate::finding::Diagnostic;
use crate::fix::{self, EnvError, EnvFile, FilePlan, Ignored};
use crate::scanner::Scanner;
use crate::source::{worktree, Item};

#[derive(Debug, thiserror::Error)]
pub enum FixError {
    #[error("cannot read {path}: {source}")]
    Path {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Env(#[from] EnvError),
}

/// What to fix.
#[derive(Debug, Clone)]
pub struct Request {
    pub paths: Vec<PathBuf>,
    /// The work tree the env file and `.gitignore` belong to.
    pub root: PathBuf,
    /// Default: `.env` at `root`.
    pub env_file: Option<PathBuf>,
    pub dry_run: bool,
}

/// What a run did (or, in a dry run, would do).
#[derive(Debug)]
pub struct Outcome {
    pub dry_run: bool,
    pub plans: Vec<FilePlan>,
    pub env_path: PathBuf,
    /// The env file's path as shown: relative to the current directory when under it.
    pub env_shown: String,
    /// Names and values added to the env file.
    pub env_added: Vec<(String, String)>,
    pub ignored: Option<Ignored>,
    /// Files not written, with the reason.
    pub refused: Vec<(String, String)>,
    pub diagnostics: Vec<Diagnostic>,
    /// Personal-data findings left to the user, and in how many files.
    pub personal: (usize, usize),
}

impl Outcome {
    /// Whether anything is still there for a person to handle.
    pub fn incomplete(&self) -> bool {
        !self.refused.is_empty() || self.plans.iter().any(|p| !p.left.is_empty())
    }
}

pub fn run(scanner: &Scanner, req: &Request) -> Result<Outcome, FixError> {
    // 1. Read and scan every file in scope; the env file itself is never a target.
    let env_path = req
        .env_file
        .clone()
        .unwrap_or_else(|| req.root.join(".env"));
    let env_abs = absolute(&env_path);
    let (files, diagnostics) = read_files(scanner, &req.paths, &env_abs)?;
    // 2. Plan every rewrite, naming values in one env file.
    let mut env = EnvFile::load(&env_path)?;
    let all: Vec<FilePlan> = files
        .iter()
        .map(|(path, _, text, findings)| fix::plan(path, text, findings, &mut env))
        .collect();
    let personal = (
        all.iter().map(|p| p.personal).sum(),
        all.iter().filter(|p| p.personal > 0).count(),
    );
    let plans: Vec<FilePlan> = all
        .into_iter()
        .filter(|p| p.changed() || !p.left.is_empty())
        .collect();
    let mut outcome = Outcome {
        dry_run: req.dry_run,
        plans,
        env_path: env_path.clone(),
        env_shown: shown(&env_abs),
        env_added: env.added.clone(),
        ignored: None,
        refused: Vec::new(),
        diagnostics,
        personal,
    };
    if !env.added.is_empty() {
        outcome.ignored = Some(fix::ensure_ignored(
            &absolute(&req.root),
            &env_abs,
            req.dry_run,
        )?);
    }
    if req.dry_run {
        return Ok(outcome);
    }
    // 3. Values first, then the files that no longer hold them.
    env.write()?;
    for plan in outcome.plans.iter().filter(|p| p.changed()) {
        let Some((_, path, _, _)) = files.iter().find(|f| f.0 == plan.path) else {
            continue;
        };
        if let Err(why) = write_checked(path, &plan.original, &plan.fixed) {
            outcome.refused.push((plan.path.clone(), why));
        }
    }
    Ok(outcome)
}

type Read = (String, PathBuf, String, Vec<crate::finding::Finding>);

fn read_files(
    scanner: &Scanner,
    paths: &[PathBuf],
    env: &Path,
) -> Result<(Vec<Read>, Vec<Diagnostic>), FixError> {
    for p in paths {
        std::fs::metadata(p).map_err(|source| FixError::Path {
            path: p.clone(),
            source,
        })?;
    }
    let (files, notices) = worktree::walk(paths).map_err(|source| FixError::Path {
        path: paths.first().cloned().unwrap_or_default(),
        source,
    })?;
    let mut diagnostics: Vec<Diagnostic> = notices.into_iter().map(Diagnostic::from).collect();
    let scanned: Vec<_> = files
        .par_iter()
        .filter(|f| scanner.wants(&f.display) && absolute(&f.path) != env)
        .map(|f| {
            if f.size > scanner.max_file_size() {
                return Ok(Err(Diagnostic {
                    path: f.display.clone(),
                    kind: crate::finding::DiagnosticKind::TooLarge,
                    message: format!(
                        "{} bytes is over the {} byte limit (scan.max_file_size): not rewritten",
                        f.size,
                        scanner.max_file_size()
                    ),
                    commit: None,
                }));
            }
            let bytes = std::fs::read(&f.path).map_err(|source| FixError::Path {
                path: f.path.clone(),
                source,
            })?;
            let item = Item::worktree(f.display.clone(), bytes);
            let o = scanner.scan_item(&item);
            Ok(Ok((f, item.new, o)))
        })
        .collect::<Result<_, FixError>>()?;
    let mut out = Vec::new();
    for read in scanned {
        let (f, bytes, o) = match read {
            Ok(r) => r,
            Err(d) => {
                diagnostics.push(d);
                continue;
            }
        };
        diagnostics.extend(o.diagnostics);
        if !o.findings.iter().any(|x| x.is_active()) {
            continue;
        }
        // Only text that is exactly the file can be edited by byte ranges.
        match String::from_utf8(bytes) {
            Ok(text) => out.push((f.display.clone(), f.path.clone(), text, o.findings)),
            Err(_) => diagnostics.push(Diagnostic {
                path: f.display.clone(),
                kind: crate::finding::DiagnosticKind::NotUtf8,
                message: "not valid UTF-8: not rewritten".into(),
                commit: None,
            }),
        }
    }
    Ok((out, diagnostics))
}

/// Replaces the file with `fixed` if it still holds exactly `original`: written beside it and
/// renamed over it, with its permissions kept (through a symlink, onto its target).
fn write_checked(path: &Path, original: &str, fixed: &str) -> Result<(), String> {
    let target = std::fs::canonicalize(path).map_err(|e| e.to_string())?;
    let now = std::fs::read(&target).map_err(|e| e.to_string())?;
    if now != original.as_bytes() {
        return Err("changed on disk while nbguard was working; not written, run fix again".into());
    }
    let perms = std::fs::metadata(&target)
        .map_err(|e| e.to_string())?
        .permissions();
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = target.with_file_name(format!(".{name}.nbguard-fix.tmp"));
    let result = (|| -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(fixed.as_bytes())?;
        f.set_permissions(perms)?;
        f.sync_all()?;
        if std::fs::read(&target)? != original.as_bytes() {
            return Err(std::io::Error::other(
                "changed on disk while nbguard was working; not written, run fix again",
            ));
        }
        std::fs::rename(&tmp, &target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(|e| e.to_string())
}

fn shown(p: &Path) -> String {
    let cwd = std::env::current_dir()
        .map(|d| absolute(&d))
        .unwrap_or_default();
    p.strip_prefix(&cwd)
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}

fn absolute(p: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c;
    }
    // Not there yet (a new env file): its directory resolved, its name kept.
    match (p.parent(), p.file_name()) {
        (Some(dir), Some(name)) => {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            std::fs::canonicalize(dir)
                .map(|d| d.join(name))
                .unwrap_or_else(|_| p.to_path_buf())
        }
        _ => p.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_changed_since_it_was_read_is_not_written() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let p = dir.path().join("a.py");
        std::fs::write(&p, "x = 2\n").expect("writing");
        let err = write_checked(&p, "x = 1\n", "x = 3\n").expect_err("must refuse");
        assert!(err.contains("changed on disk"), "{err}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "x = 2\n");
        write_checked(&p, "x = 2\n", "x = 3\n").expect("unchanged file is written");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "x = 3\n");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }
}
