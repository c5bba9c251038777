//! One module per subcommand: each wires sources, the scanner and a report together and returns
//! an outcome for `main.rs` to turn into an exit code.

pub mod audit;
pub mod git;
pub mod rules;
pub mod scan;

use rayon::prelude::*;

use crate::report::Report;
use crate::scanner::Scanner;
use crate::source::Item;

/// Scans items in parallel and gathers one report (unsorted; callers sort).
pub fn scan_items(scanner: &Scanner, items: Vec<Item>) -> Report {
    let outcomes: Vec<_> = items
        .into_par_iter()
        .map(|item| {
            let bytes = item.new.len() as u64;
            (bytes, scanner.scan_item(&item))
        })
        .collect();
    let mut report = Report::default();
    for (bytes, o) in outcomes {
        report.files_scanned += 1;
        report.bytes_scanned += bytes;
        report.findings.extend(o.findings);
        report.diagnostics.extend(o.diagnostics);
    }
    report
}
