//! The audit as JSON (version 1, fields only ever added) and as SARIF.
//!
//! Each group names the refs that hold it only up to a cap (the default branch, then branches,
//! then tags) and counts the rest by namespace, so that a secret in 4,000 pull-request refs
//! costs a few hundred bytes, not 4,000 names; `--all-refs-in-report` lists every name.

use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

use super::{action, counts, AuditReport, Group, Kind};
use crate::finding::{Severity, Suppression};
use crate::report::json::{wire, WireFinding};
use crate::report::Options;
use crate::source::history::{RefSet, RefTable};
use crate::source::CommitInfo;

/// Ref names per kind in a group before only counts are given.
pub(crate) const REF_NAMES_CAP: usize = 20;

#[derive(Serialize)]
struct WireGroup<'a> {
    fingerprint: &'a str,
    rule: &'a str,
    title: &'a str,
    severity: Severity,
    kind: Kind,
    secret: String,
    introduced: Option<&'a CommitInfo>,
    /// Every ref name when there are few or `--all-refs-in-report`; else the capped names.
    present_at: Vec<String>,
    still_present: bool,
    refs: WireRefs,
    action: String,
    suppressed: Option<&'a Suppression>,
    occurrences: Vec<WireFinding<'a>>,
}

#[derive(Serialize)]
pub(crate) struct Named {
    pub count: usize,
    pub names: Vec<String>,
}

/// What a group says about the refs that hold it.
#[derive(Serialize)]
pub(crate) struct WireRefs {
    pub total: usize,
    pub summary: String,
    pub default_branch: Option<String>,
    pub branches: Named,
    pub tags: Named,
    pub namespaces: BTreeMap<String, usize>,
    /// Whether `present_at` lists every ref.
    pub complete: bool,
}

fn refs_of(table: &RefTable, set: &RefSet, all: bool) -> (Vec<String>, WireRefs) {
    let s = table.summarise(set, REF_NAMES_CAP);
    let complete = all || set.len() <= REF_NAMES_CAP;
    let present_at = if complete {
        table.names(set).into_iter().map(str::to_owned).collect()
    } else {
        s.branch_names.iter().chain(&s.tag_names).cloned().collect()
    };
    let refs = WireRefs {
        total: s.total,
        summary: s.text,
        default_branch: s.default_branch,
        branches: Named {
            count: s.branches,
            names: s.branch_names,
        },
        tags: Named {
            count: s.tags,
            names: s.tag_names,
        },
        namespaces: s.namespaces,
        complete,
    };
    (present_at, refs)
}

fn wire_group<'a>(r: &'a AuditReport, g: &'a Group, o: &Options) -> WireGroup<'a> {
    let (present_at, refs) = refs_of(&r.ref_table, &g.present_at, o.all_refs);
    WireGroup {
        fingerprint: &g.fingerprint,
        rule: &g.rule,
        title: &g.title,
        severity: g.severity,
        kind: g.kind(),
        secret: if o.reveal {
            g.occurrences[0].secret.clone()
        } else {
            g.occurrences[0].masked_secret()
        },
        introduced: g.introduced(),
        present_at,
        still_present: !g.present_at.is_empty(),
        refs,
        action: action(g.kind(), &g.rule, !g.present_at.is_empty()),
        suppressed: g.suppressed.as_ref(),
        occurrences: g.occurrences.iter().map(|f| wire(f, o.reveal)).collect(),
    }
}

/// Counts of active groups: kind → severity → count.
pub(crate) fn by_kind(groups: &[&Group]) -> BTreeMap<&'static str, BTreeMap<&'static str, usize>> {
    counts(groups)
        .into_iter()
        .map(|(k, sev)| {
            (
                k.as_str(),
                sev.into_iter().map(|(s, n)| (s.0.as_str(), n)).collect(),
            )
        })
        .collect()
}

pub fn write_audit_json(w: &mut dyn Write, r: &AuditReport, o: &Options) -> io::Result<()> {
    let shown: Vec<&Group> = r
        .groups
        .iter()
        .filter(|g| o.show_suppressed || g.suppressed.is_none())
        .collect();
    let groups: Vec<WireGroup> = shown.iter().map(|g| wire_group(r, g, o)).collect();
    let mut refs = serde_json::json!({
        "total": r.ref_table.len(),
        "default_branch": r.ref_table.default_branch(),
        "namespaces": r.ref_table.namespaces(),
    });
    if o.all_refs {
        let names: Vec<&str> = (0..r.ref_table.len() as u32)
            .map(|i| r.ref_table.name(i))
            .collect();
        refs["names"] = serde_json::json!(names);
    }
    let all_groups: Vec<&Group> = r.groups.iter().collect();
    let doc = serde_json::json!({
        "version": 1,
        "tool": {"name": "nbguard", "version": env!("CARGO_PKG_VERSION")},
        "repository": r.repository,
        "findings": groups,
        "diagnostics": r.diagnostics,
        "refs": refs,
        "stats": r.stats,
        "summary": {
            "refs": r.refs, "commits": r.commits, "blobs": r.blobs, "bytes": r.bytes,
            "findings": r.groups.len(), "active": r.active().count(),
            "still_present": r.active().filter(|g| !g.present_at.is_empty()).count(),
            "by_kind": by_kind(&all_groups),
            "blocked": r.blocked, "threshold": r.threshold,
        },
    });
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    writeln!(w)
}

/// SARIF: one result per occurrence, so that code-scanning tools can point at each.
pub fn write_audit_sarif(w: &mut dyn Write, r: &AuditReport, o: &Options) -> io::Result<()> {
    let flat = crate::report::Report {
        findings: r
            .groups
            .iter()
            .flat_map(|g| g.occurrences.iter().cloned())
            .collect(),
        diagnostics: r.diagnostics.clone(),
        files_scanned: r.blobs,
        bytes_scanned: r.bytes,
        blocked: r.blocked,
        threshold: r.threshold.clone(),
    };
    crate::report::write_sarif(w, &flat, o)
}
