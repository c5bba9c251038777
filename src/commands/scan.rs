//! `nbguard scan PATH...`: files and directories on disk, everything in them.

use rayon::prelude::*;
use std::path::PathBuf;

use crate::finding::{Diagnostic, DiagnosticKind};
use crate::report::Report;
use crate::scanner::Scanner;
use crate::source::{worktree, Item, Provenance};

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("cannot read {path}")]
    Path {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub fn run(scanner: &Scanner, paths: &[PathBuf]) -> Result<Report, ScanError> {
    let mut report = Report::default();
    for p in paths {
        std::fs::metadata(p).map_err(|source| ScanError::Path {
            path: p.clone(),
            source,
        })?;
    }
    let (files, notices) = worktree::walk(paths).map_err(|source| ScanError::Path {
        path: paths.first().cloned().unwrap_or_default(),
        source,
    })?;
    report
        .diagnostics
        .extend(notices.into_iter().map(Diagnostic::from));
    let max = scanner.max_file_size();
    let results: Vec<_> = files
        .par_iter()
        .filter(|f| scanner.wants(&f.display))
        .map(|f| {
            let diag = |kind, message: String| Diagnostic {
                path: f.display.clone(),
                kind,
                message,
                commit: None,
            };
            if f.size > max {
                // Streamed in windows: memory stays bounded whatever the file's size.
                return match std::fs::File::open(&f.path) {
                    Ok(mut file) => {
                        let o = scanner.scan_stream(&f.display, &mut file, &Provenance::WorkTree);
                        (f.size, o.findings, o.diagnostics)
                    }
                    Err(e) => (
                        0,
                        Vec::new(),
                        vec![diag(DiagnosticKind::Unreadable, e.to_string())],
                    ),
                };
            }
            match std::fs::read(&f.path) {
                Ok(bytes) => {
                    let n = bytes.len() as u64;
                    let item = Item::worktree(f.display.clone(), bytes);
                    let o = scanner.scan_item(&item);
                    (n, o.findings, o.diagnostics)
                }
                Err(e) => (
                    0,
                    Vec::new(),
                    vec![diag(DiagnosticKind::Unreadable, e.to_string())],
                ),
            }
        })
        .collect();
    for (bytes, findings, diags) in results {
        // What was passed over with a note (binary, LFS pointer) or not read is not scanned.
        let passed_over = diags.iter().any(|d| {
            d.kind.is_unscanned()
                || matches!(d.kind, DiagnosticKind::Binary | DiagnosticKind::LfsPointer)
        });
        if !passed_over {
            report.files_scanned += 1;
            report.bytes_scanned += bytes;
        }
        report.findings.extend(findings);
        report.diagnostics.extend(diags);
    }
    Ok(report)
}
