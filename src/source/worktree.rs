//! Files on disk: the paths named on the command line, directories walked with `.gitignore`
//! respected and `.git/` skipped. Dotfiles are walked (`.env` is where secrets live).

use std::path::{Path, PathBuf};

use super::Notice;
use crate::finding::DiagnosticKind;

/// A file to read, with the path to show for it.
#[derive(Debug, Clone)]
pub struct File {
    pub path: PathBuf,
    pub display: String,
    pub size: u64,
}

/// Expands the given paths into files. Unreadable entries become notices; a path that does not
/// exist is an error for the caller to report.
pub fn walk(paths: &[PathBuf]) -> Result<(Vec<File>, Vec<Notice>), std::io::Error> {
    let mut files = Vec::new();
    let mut notices = Vec::new();
    for root in paths {
        let meta = std::fs::metadata(root)?;
        if meta.is_file() {
            files.push(File {
                path: root.clone(),
                display: display(root, None),
                size: meta.len(),
            });
            continue;
        }
        let walker = ignore::WalkBuilder::new(root)
            .hidden(false)
            .git_ignore(true)
            .git_exclude(true)
            .git_global(false)
            .require_git(false)
            .parents(true)
            .filter_entry(|e| e.file_name() != ".git")
            .build();
        for entry in walker {
            match entry {
                Ok(e) => {
                    if !e.file_type().is_some_and(|t| t.is_file()) {
                        continue;
                    }
                    let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                    files.push(File {
                        display: display(e.path(), Some(root)),
                        path: e.into_path(),
                        size,
                    });
                }
                Err(err) => notices.push(Notice {
                    path: root.display().to_string(),
                    kind: DiagnosticKind::Unreadable,
                    message: err.to_string(),
                }),
            }
        }
    }
    files.sort_by(|a, b| a.display.cmp(&b.display));
    files.dedup_by(|a, b| a.path == b.path);
    Ok((files, notices))
}

/// Paths under a walked directory are shown relative to it when it is `.`, and as joined
/// otherwise, always with `/`.
fn display(path: &Path, root: Option<&Path>) -> String {
    let shown = match root {
        Some(r) if r == Path::new(".") => path.strip_prefix(r).unwrap_or(path),
        _ => path,
    };
    let s = shown.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").map(str::to_string).unwrap_or(s)
}
