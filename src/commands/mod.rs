//! One module per subcommand: each wires sources, the scanner and a report together and returns
//! an outcome for `main.rs` to turn into an exit code.

pub mod audit;
pub mod fix;
pub mod git;
pub mod rules;
pub mod scan;
pub mod serve;

use rayon::prelude::*;

use crate::finding::{Diagnostic, DiagnosticKind, Finding};
use crate::report::Report;
use crate::scanner::{Outcome, Scanner, View};
use crate::source::Item;

/// Reads a blob by hex id, whole or within a byte limit; `None` when it cannot be had.
pub type Load<'a> = dyn FnMut(&str, u64) -> Option<Vec<u8>> + 'a;

/// Scans items whose old versions are still unread (`old_blob`): first everything in the new
/// versions, in parallel; then, only for items with findings, reads the old version with `load`
/// (sequentially: repository handles are not shared across threads) and judges against it. A
/// clean change never pays for reading or parsing its old versions. Items over the size limit
/// (`large`) are read with `load` last, one at a time, and scanned in windows.
pub fn scan_items_lazily(scanner: &Scanner, mut items: Vec<Item>, load: &mut Load) -> Report {
    let limit = scanner.max_file_size();
    let mut outcomes: Vec<_> = items
        .par_iter()
        .map(|i| match i.large {
            Some(_) => Outcome::default(),
            None => scanner.scan_item(i),
        })
        .collect();
    let mut again = Vec::new();
    for (k, o) in outcomes.iter().enumerate() {
        if o.findings.is_empty() || items[k].large.is_some() {
            continue;
        }
        if let Some(hex) = items[k].old_blob.take() {
            items[k].old = load(&hex, limit);
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
        if item.large.is_none() {
            gather_one(&mut report, item, o, item.new.len() as u64);
        }
    }
    for item in items.iter().filter(|i| i.large.is_some()) {
        let o = scan_large(scanner, item, load);
        gather_one(&mut report, item, o, item.large.unwrap_or_default());
    }
    report
}

/// Adds one item's outcome to the report.
fn gather_one(report: &mut Report, item: &Item, o: Outcome, bytes: u64) {
    // Only files whose content was matched count as scanned: not git metadata, and not a
    // binary file or an LFS pointer that was passed over with a note.
    let skipped = o
        .diagnostics
        .iter()
        .any(|d| matches!(d.kind, DiagnosticKind::Binary | DiagnosticKind::LfsPointer));
    if item.origin.is_file() && !skipped {
        report.files_scanned += 1;
        report.bytes_scanned += bytes;
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

/// Reads one large item whole (gix cannot stream an object), scans it in windows, and against
/// its old version only when it has findings.
fn scan_large(scanner: &Scanner, item: &Item, load: &mut Load) -> Outcome {
    let blob = item.blob.as_deref().unwrap_or_default();
    let Some(new) = load(blob, u64::MAX) else {
        return Outcome {
            findings: Vec::new(),
            diagnostics: vec![Diagnostic {
                path: item.path.clone(),
                kind: DiagnosticKind::Unreadable,
                message: format!("blob {blob} could not be read; not scanned"),
                commit: None,
            }],
        };
    };
    let view = |old: Option<&'_ [u8]>| {
        scanner.scan(&View {
            path: &item.path,
            new: &new,
            old,
            provenance: &item.provenance,
        })
    };
    let first = view(None);
    match (&item.old_blob, first.findings.is_empty()) {
        (Some(hex), false) => match load(hex, u64::MAX) {
            Some(old) => view(Some(&old)),
            None => first,
        },
        _ => first,
    }
}

/// Scans items in parallel and gathers one report (unsorted; callers sort). Items over the size
/// limit or with unread old versions are read with `load`.
pub fn scan_items(scanner: &Scanner, items: Vec<Item>, load: &mut Load) -> Report {
    scan_items_lazily(scanner, items, load)
}
