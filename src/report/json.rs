//! The JSON report, version 1: `{"version", "tool", "findings", "diagnostics", "summary"}`.
//! Field names are part of the interface (documented in the README); add, never rename.

use serde::Serialize;
use std::io::{self, Write};

use super::{shown_secret, Options, Report};
use crate::finding::{Diagnostic, Finding, Origin, Severity, Suppression};
use crate::source::CommitInfo;

#[derive(Serialize)]
struct Wire<'a> {
    version: u32,
    tool: Tool,
    findings: Vec<WireFinding<'a>>,
    diagnostics: &'a [Diagnostic],
    summary: Summary,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
pub(crate) struct WireFinding<'a> {
    rule: &'a str,
    title: &'a str,
    severity: Severity,
    path: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    cell: Option<usize>,
    cell_id: Option<&'a str>,
    cell_type: Option<&'a str>,
    part: Option<&'static str>,
    output: Option<usize>,
    output_kind: Option<&'a str>,
    cell_line: Option<usize>,
    secret: String,
    fingerprint: &'a str,
    snippet: &'a str,
    fix: &'a str,
    suppressed: Option<&'a Suppression>,
    commit: Option<&'a CommitInfo>,
    #[serde(skip_serializing_if = "Origin::is_file")]
    origin: Origin,
}

#[derive(Serialize)]
struct Summary {
    files_scanned: usize,
    bytes_scanned: u64,
    findings: usize,
    active: usize,
    suppressed: usize,
    by_severity: std::collections::BTreeMap<&'static str, usize>,
    diagnostics: usize,
    blocked: bool,
    threshold: String,
}

pub(crate) fn wire(f: &Finding, reveal: bool) -> WireFinding<'_> {
    let nb = f.notebook.as_ref();
    WireFinding {
        rule: &f.rule,
        title: &f.title,
        severity: f.severity,
        path: &f.path,
        line: f.line,
        column: f.column,
        end_line: f.end_line,
        cell: nb.and_then(|n| n.cell),
        cell_id: nb.and_then(|n| n.cell_id.as_deref()),
        cell_type: nb.and_then(|n| n.cell_type.as_deref()),
        part: nb.and_then(|n| n.part).map(|p| p.as_str()),
        output: nb.and_then(|n| n.output),
        output_kind: nb.and_then(|n| n.output_kind.as_deref()),
        cell_line: nb.map(|n| n.line),
        secret: shown_secret(f, reveal),
        fingerprint: &f.fingerprint,
        snippet: &f.snippet,
        fix: &f.fix,
        suppressed: f.suppressed.as_ref(),
        commit: f.commit.as_ref(),
        origin: f.origin,
    }
}

pub fn write_json(w: &mut dyn Write, r: &Report, o: &Options) -> io::Result<()> {
    let shown: Vec<_> = r
        .findings
        .iter()
        .filter(|f| o.show_suppressed || f.is_active())
        .map(|f| wire(f, o.reveal))
        .collect();
    let wire = Wire {
        version: 1,
        tool: Tool {
            name: "nbguard",
            version: env!("CARGO_PKG_VERSION"),
        },
        summary: Summary {
            files_scanned: r.files_scanned,
            bytes_scanned: r.bytes_scanned,
            findings: r.findings.len(),
            active: r.active().count(),
            suppressed: r.findings.len() - r.active().count(),
            by_severity: Severity::ALL
                .iter()
                .map(|s| (s.as_str(), r.count(*s)))
                .collect(),
            diagnostics: r.diagnostics.len(),
            blocked: r.blocked,
            threshold: r.threshold.clone(),
        },
        findings: shown,
        diagnostics: &r.diagnostics,
    };
    serde_json::to_writer_pretty(&mut *w, &wire)?;
    writeln!(w)
}
