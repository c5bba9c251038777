//! Reports: what a run found, written as text for people, JSON for tools, SARIF for code-scanning
//! dashboards. Each writer takes a `&mut dyn Write`; nothing else in the library prints.

pub mod audit;
mod fix;
mod json;
mod sarif;
mod text;

pub use fix::write_fix_text;
pub use json::write_json;
pub(crate) use json::{wire as wire_finding, WireFinding};
pub use sarif::write_sarif;
pub use text::{notebook_place, write_text};

use std::str::FromStr;

use crate::finding::{Diagnostic, Finding, Severity};

/// Everything a run produced.
#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub diagnostics: Vec<Diagnostic>,
    pub files_scanned: usize,
    pub bytes_scanned: u64,
    /// Whether the configured threshold says this run blocks.
    pub blocked: bool,
    /// The threshold, as text, for people to see why.
    pub threshold: String,
}

impl Report {
    /// Sorts findings by path, line, column, rule so output is stable across runs and threads.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (
                &a.path,
                a.line,
                a.column,
                &a.rule,
                a.commit.as_ref().map(|c| &c.id),
            )
                .cmp(&(
                    &b.path,
                    b.line,
                    b.column,
                    &b.rule,
                    b.commit.as_ref().map(|c| &c.id),
                ))
        });
        self.diagnostics
            .sort_by(|a, b| (&a.path, a.kind.as_str()).cmp(&(&b.path, b.kind.as_str())));
    }

    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.is_active())
    }

    pub fn count(&self, s: Severity) -> usize {
        self.active().filter(|f| f.severity == s).count()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Sarif,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            "sarif" => Ok(Format::Sarif),
            other => Err(format!("unknown format `{other}` (text, json, sarif)")),
        }
    }
}

/// How to render.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub color: bool,
    pub reveal: bool,
    pub show_suppressed: bool,
    /// Lines printed after the findings (e.g. how to rewrite history, for hooks).
    pub advice: Vec<String>,
    /// Prefix for every line (`remote: ` is added by git itself; this is for our own framing).
    pub heading: Option<String>,
    /// Audit reports: list every ref that holds a finding, not a summary.
    pub all_refs: bool,
}

/// Removes control characters from anything taken from scanned content before it reaches a
/// terminal or a log.
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
        .collect()
}

pub(crate) fn shown_secret(f: &Finding, reveal: bool) -> String {
    if reveal {
        clean(&f.secret)
    } else {
        f.masked_secret()
    }
}
