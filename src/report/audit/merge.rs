//! `nbguard report merge`: many per-repository audit JSON reports (one CI job each) into one
//! report. A secret is its fingerprint (rule and value, never where it was found), so one key
//! committed to three repositories is one secret to rotate, listed with all three.
//!
//! Only the audit JSON's documented fields are read, and unknown ones are ignored, so reports
//! from older or newer nbguard versions merge as long as they are version 1.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::html::{write_page, Page, Place, Row};
use super::{action, Kind};
use crate::finding::{Diagnostic, DiagnosticKind, Severity};
use crate::source::CommitInfo;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is not an nbguard audit JSON report: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path} is an audit report of version {version}; this nbguard reads version 1")]
    Version { path: PathBuf, version: u64 },
    #[error("{path} is a scan report, not an audit report (no `refs`/`repository`)")]
    NotAudit { path: PathBuf },
    #[error("no reports to merge")]
    Empty,
}

#[derive(Deserialize)]
struct Doc {
    version: u64,
    #[serde(default)]
    repository: Option<String>,
    #[serde(default)]
    refs: Option<serde_json::Value>,
    findings: Vec<InGroup>,
    #[serde(default)]
    diagnostics: Vec<InDiagnostic>,
}

#[derive(Deserialize, Serialize, Clone)]
struct InCommit {
    id: String,
    #[serde(default)]
    author: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    time: i64,
    #[serde(default)]
    summary: String,
}

#[derive(Deserialize, Serialize, Clone)]
struct InOccurrence {
    #[serde(default)]
    path: String,
    #[serde(default)]
    line: usize,
    #[serde(default)]
    cell: Option<usize>,
    #[serde(default)]
    part: Option<String>,
    #[serde(default)]
    cell_line: Option<usize>,
    #[serde(default)]
    snippet: String,
    #[serde(default)]
    commit: Option<InCommit>,
}

#[derive(Deserialize)]
struct InRefs {
    #[serde(default)]
    summary: String,
}

#[derive(Deserialize)]
struct InGroup {
    fingerprint: String,
    rule: String,
    #[serde(default)]
    title: String,
    severity: Severity,
    secret: String,
    #[serde(default)]
    introduced: Option<InCommit>,
    #[serde(default)]
    present_at: Vec<String>,
    #[serde(default)]
    still_present: bool,
    #[serde(default)]
    refs: Option<InRefs>,
    #[serde(default)]
    suppressed: Option<serde_json::Value>,
    #[serde(default)]
    occurrences: Vec<InOccurrence>,
}

#[derive(Deserialize, Clone)]
struct InDiagnostic {
    #[serde(default)]
    path: String,
    kind: DiagnosticKind,
    #[serde(default)]
    message: String,
}

/// One repository's view of a merged secret.
#[derive(Serialize)]
struct InRepo {
    repository: String,
    introduced: Option<InCommit>,
    present_at: Vec<String>,
    refs: String,
    still_present: bool,
    occurrences: Vec<InOccurrence>,
}

#[derive(Serialize)]
struct Merged {
    fingerprint: String,
    rule: String,
    title: String,
    severity: Severity,
    kind: Kind,
    secret: String,
    action: String,
    still_present: bool,
    repositories: Vec<InRepo>,
}

/// Per-repository reports merged by fingerprint.
pub struct MergedReport {
    repositories: Vec<String>,
    groups: Vec<Merged>,
    diagnostics: Vec<(String, InDiagnostic)>,
}

/// Reads and merges the reports; active findings only (suppressed ones stay in their repo's
/// report). Groups are ordered most severe first, then by how many repositories hold them.
pub fn merge(files: &[PathBuf]) -> Result<MergedReport, Error> {
    if files.is_empty() {
        return Err(Error::Empty);
    }
    let mut docs = Vec::new();
    for path in files {
        let text = std::fs::read(path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        let doc: Doc = serde_json::from_slice(&text).map_err(|source| Error::Parse {
            path: path.clone(),
            source,
        })?;
        if doc.version != 1 {
            return Err(Error::Version {
                path: path.clone(),
                version: doc.version,
            });
        }
        if doc.refs.is_none() && doc.repository.is_none() {
            return Err(Error::NotAudit { path: path.clone() });
        }
        docs.push((path.clone(), doc));
    }
    let names = labels(&docs);
    let mut by: BTreeMap<String, Merged> = BTreeMap::new();
    let mut diagnostics = Vec::new();
    for ((_, doc), name) in docs.into_iter().zip(&names) {
        for d in doc.diagnostics {
            diagnostics.push((name.clone(), d));
        }
        for g in doc.findings.into_iter().filter(|g| g.suppressed.is_none()) {
            let m = by.entry(g.fingerprint.clone()).or_insert_with(|| Merged {
                fingerprint: g.fingerprint.clone(),
                rule: g.rule.clone(),
                title: g.title.clone(),
                severity: g.severity,
                kind: Kind::of(&g.rule, g.severity),
                secret: g.secret.clone(),
                action: String::new(),
                still_present: false,
                repositories: Vec::new(),
            });
            m.severity = m.severity.max(g.severity);
            m.still_present |= g.still_present;
            m.repositories.push(InRepo {
                repository: name.clone(),
                introduced: g.introduced,
                refs: g
                    .refs
                    .map(|r| r.summary)
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| g.present_at.join(", ")),
                present_at: g.present_at,
                still_present: g.still_present,
                occurrences: g.occurrences,
            });
        }
    }
    let mut groups: Vec<Merged> = by.into_values().collect();
    for g in &mut groups {
        g.kind = Kind::of(&g.rule, g.severity);
        g.action = action(g.kind, &g.rule, g.still_present);
    }
    groups.sort_by_key(|g| {
        (
            std::cmp::Reverse(g.severity),
            std::cmp::Reverse(g.repositories.len()),
            g.rule.clone(),
        )
    });
    Ok(MergedReport {
        repositories: names,
        groups,
        diagnostics,
    })
}

/// The name each report's repository is shown under: its `repository` field, or the file's
/// stem when that is missing or taken by another report.
fn labels(docs: &[(PathBuf, Doc)]) -> Vec<String> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, d) in docs {
        *count
            .entry(d.repository.as_deref().unwrap_or(""))
            .or_default() += 1;
    }
    docs.iter()
        .map(|(path, d)| match d.repository.as_deref() {
            Some(r) if !r.is_empty() && count[r] == 1 => r.to_owned(),
            _ => stem(path),
        })
        .collect()
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn commit_info(c: &InCommit) -> CommitInfo {
    CommitInfo {
        id: c.id.clone(),
        author: c.author.clone(),
        email: c.email.clone(),
        time: c.time,
        summary: c.summary.clone(),
        reference: None,
    }
}

impl MergedReport {
    pub fn write_json(&self, w: &mut dyn Write) -> io::Result<()> {
        let mut by_kind: BTreeMap<&str, BTreeMap<&str, usize>> = BTreeMap::new();
        for g in &self.groups {
            *by_kind
                .entry(g.kind.as_str())
                .or_default()
                .entry(g.severity.as_str())
                .or_default() += 1;
        }
        let diagnostics: Vec<serde_json::Value> = self
            .diagnostics
            .iter()
            .map(|(repo, d)| {
                serde_json::json!({"repository": repo, "path": d.path, "kind": d.kind, "message": d.message})
            })
            .collect();
        let doc = serde_json::json!({
            "version": 1,
            "tool": {"name": "nbguard", "version": env!("CARGO_PKG_VERSION")},
            "repositories": self.repositories,
            "findings": self.groups,
            "diagnostics": diagnostics,
            "summary": {
                "repositories": self.repositories.len(),
                "findings": self.groups.len(),
                "in_several_repositories": self.groups.iter().filter(|g| g.repositories.len() > 1).count(),
                "still_present": self.groups.iter().filter(|g| g.still_present).count(),
                "by_kind": by_kind,
            },
        });
        serde_json::to_writer_pretty(&mut *w, &doc)?;
        writeln!(w)
    }

    pub fn write_html(&self, w: &mut dyn Write) -> io::Result<()> {
        let rows = self
            .groups
            .iter()
            .map(|g| {
                let introduced = g
                    .repositories
                    .iter()
                    .filter_map(|r| r.introduced.as_ref())
                    .min_by_key(|c| c.time)
                    .map(commit_info);
                let refs: Vec<String> = g
                    .repositories
                    .iter()
                    .filter(|r| r.still_present)
                    .map(|r| format!("{}: {}", r.repository, r.refs))
                    .collect();
                Row {
                    severity: g.severity,
                    kind: g.kind,
                    rule: g.rule.clone(),
                    title: g.title.clone(),
                    secret: g.secret.clone(),
                    fingerprint: g.fingerprint.clone(),
                    introduced,
                    refs: refs.join("; "),
                    still_present: g.still_present,
                    repos: g
                        .repositories
                        .iter()
                        .map(|r| r.repository.clone())
                        .collect(),
                    places: g
                        .repositories
                        .iter()
                        .flat_map(|r| {
                            r.occurrences.iter().map(|o| Place {
                                repo: Some(r.repository.clone()),
                                path: o.path.clone(),
                                line: o.line,
                                notebook: o.cell.map(|c| {
                                    format!(
                                        "cell {}, {} line {}",
                                        c + 1,
                                        o.part.as_deref().unwrap_or("source"),
                                        o.cell_line.unwrap_or(0)
                                    )
                                }),
                                commit: o.commit.as_ref().map(|c| c.id.chars().take(10).collect()),
                            })
                        })
                        .collect(),
                    authors: g
                        .repositories
                        .iter()
                        .flat_map(|r| r.occurrences.iter().filter_map(|o| o.commit.as_ref()))
                        .map(|c| format!("{} <{}>", c.author, c.email))
                        .collect::<BTreeSet<_>>(),
                    action: g.action.clone(),
                }
            })
            .collect();
        let page = Page {
            title: "nbguard audit of several repositories".to_owned(),
            scope: format!(
                "Merged from {} repositories: {}.",
                self.repositories.len(),
                self.repositories.join(", ")
            ),
            rows,
            diagnostics: self
                .diagnostics
                .iter()
                .map(|(repo, d)| Diagnostic {
                    path: format!("{repo}: {}", d.path),
                    kind: d.kind,
                    message: d.message.clone(),
                    commit: None,
                })
                .collect(),
        };
        write_page(w, &page)
    }

    /// SARIF 2.1.0: one result per (secret, repository, place); the repository is the
    /// location's `uriBaseId`, so code-scanning tools keep repositories apart.
    pub fn write_sarif(&self, w: &mut dyn Write) -> io::Result<()> {
        let mut rules: BTreeMap<&str, serde_json::Value> = BTreeMap::new();
        let mut results = Vec::new();
        for g in &self.groups {
            rules.entry(&g.rule).or_insert_with(|| {
                serde_json::json!({"id": g.rule, "shortDescription": {"text": g.title},
                    "properties": {"severity": g.severity, "kind": g.kind}})
            });
            let level = match g.severity {
                Severity::Critical | Severity::High => "error",
                Severity::Medium => "warning",
                Severity::Low | Severity::Info => "note",
            };
            for r in &g.repositories {
                for o in &r.occurrences {
                    results.push(serde_json::json!({
                        "ruleId": g.rule,
                        "level": level,
                        "message": {"text": format!("{}: {} (in {}). {}", g.title, g.secret, r.repository, g.action)},
                        "locations": [{"physicalLocation": {
                            "artifactLocation": {"uri": o.path, "uriBaseId": r.repository},
                            "region": {"startLine": o.line.max(1)}
                        }}],
                        "partialFingerprints": {"nbguard/v1": g.fingerprint},
                        "properties": {"repository": r.repository, "repositories": g.repositories.len(),
                            "commit": o.commit.as_ref().map(|c| c.id.clone())},
                    }));
                }
            }
        }
        let doc = serde_json::json!({
            "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {"name": "nbguard", "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://github.com/nbguard/nbguard",
                    "rules": rules.into_values().collect::<Vec<_>>()}},
                "results": results,
            }],
        });
        serde_json::to_writer_pretty(&mut *w, &doc)?;
        writeln!(w)
    }

    /// Whether any active finding is at least as severe as `floor`.
    pub fn has_findings(&self) -> bool {
        !self.groups.is_empty()
    }
}
