//! One module per subcommand: each wires sources, the scanner and a report together and returns
//! an outcome for `main.rs` to turn into an exit code.

pub mod audit;
pub mod git;
pub mod rules;
pub mod scan;
pub mod serve;

use rayon::prelude::*;

use crate::finding::{DiagnosticKind, Finding};
use crate::report::Report;
use crate::scanner::Scanner;
use crate::source::Item;

/// Scans items whose old versions are still unread (`old_blob`): first everything in the new
/// versions, in parallel; then, only for items with findings, reads the old version with
/// `load_old` (sequentially: repository handles are not shared across threads) and judges
/// against it. A clean change never pays for reading or parsing its old versions.
pub fn scan_items_lazily(
    scanner: &Scanner,
    mut items: Vec<Item>,
    mut load_old: impl FnMut(&str) -> Option<Vec<u8>>,
) -> Report {
    let mut outcomes: Vec<_> = items.par_iter().map(|i| scanner.scan_item(i)).collect();
    let mut again = Vec::new();
    for (k, o) in outcomes.iter().enumerate() {
        if o.findings.is_empty() {
            continue;
        }
        if let Some(hex) = items[k].old_blob.take() {
            items[k].old = load_old(&hex);
            again.push(k);
        }
    }
    let rescanned: Vec<_> = again
        .par_iter()
        .map(|&k| (k, scanner.scan_item(&items[k])))
        .collect();
    for (k, o) in rescanned {
        outcomes[k] = o;
    }
    let mut report = Report::default();
    for (item, o) in items.iter().zip(outcomes) {
        // Only files whose content was matched count as scanned: not git metadata, and not a
        // binary file or an LFS pointer that was passed over with a note.
        let skipped = o
            .diagnostics
            .iter()
            .any(|d| matches!(d.kind, DiagnosticKind::Binary | DiagnosticKind::LfsPointer));
        if item.origin.is_file() && !skipped {
            report.files_scanned += 1;
            report.bytes_scanned += item.new.len() as u64;
        }
        report.findings.extend(
            o.findings
                .into_iter()
                .filter(|f| item.origin.reports(&f.rule))
                .map(|f| Finding {
                    origin: item.origin,
                    ..f
                }),
        );
        report.diagnostics.extend(o.diagnostics);
    }
    report
}

/// Scans items in parallel and gathers one report (unsorted; callers sort).
pub fn scan_items(scanner: &Scanner, items: Vec<Item>) -> Report {
    // Items whose old version is already loaded (or absent) never call the loader.
    scan_items_lazily(scanner, items, |_| None)
}
