//! `nbguard fix`, the rewriting: given a file's raw text and the credentials the scanner found in
//! it, plan byte-range edits that take each credential out without losing it. In Python code a
//! literal becomes `os.environ["NAME"]` (the value goes to the env file, `import os` is added
//! where the cell lacks it); in an output the value is masked, or the output removed when masking
//! cannot be done exactly; in metadata it is masked. Whatever cannot be rewritten safely is left
//! as it is and listed with the reason. Reading files, writing them and printing are left to
//! `commands::fix` and `report::fix`.

mod edit;
mod envfile;
pub mod history;
mod python;

pub use envfile::{ensure_ignored, EnvError, EnvFile, Ignored};

use std::collections::{BTreeMap, BTreeSet};

use crate::finding::{Finding, Part};
use crate::notebook::{self, Document, Segment};
use crate::scanner::LineIndex;
use edit::{Edit, OutputSpans};

/// What a masked value is replaced by in outputs and metadata.
pub const MASK: &str = "[REDACTED]";

/// Where something is: the raw file position and, in a notebook, the cell and part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spot {
    pub line: usize,
    pub column: usize,
    pub cell: Option<usize>,
    pub cell_type: Option<String>,
    pub part: Option<Part>,
    pub output: Option<usize>,
}

/// What was done to one occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The literal now reads the environment variable `name`.
    Moved { name: String },
    /// The value was replaced by [`MASK`].
    Masked,
    /// The whole output was removed.
    Cleared,
}

#[derive(Debug, Clone)]
pub struct Change {
    pub spot: Spot,
    pub rule: String,
    pub action: Action,
}

/// An occurrence left as it was.
#[derive(Debug, Clone)]
pub struct LeftAlone {
    pub spot: Spot,
    pub rule: String,
    /// The value (for masked display only).
    pub secret: String,
    pub reason: String,
}

/// The plan for one file.
#[derive(Debug, Clone)]
pub struct FilePlan {
    pub path: String,
    pub original: String,
    pub fixed: String,
    pub changes: Vec<Change>,
    pub left: Vec<LeftAlone>,
    /// Every value taken out, to mask them wherever the plan is shown.
    pub secrets: Vec<String>,
    /// Personal-data findings, which `fix` does not touch (they need synthetic data, not an
    /// environment variable).
    pub personal: usize,
}

/// A value as it is written inside a JSON string (how a notebook stores it).
pub fn json_form(s: &str) -> String {
    edit::json_content(s)
}

impl FilePlan {
    pub fn changed(&self) -> bool {
        self.original != self.fixed
    }
}

/// One place a secret occurs in a segment.
struct Occurrence {
    segment: usize,
    start: usize,
    end: usize,
    rule: String,
}

/// Plans the rewrite of one file. `findings` are the scanner's for this file (suppressed ones
/// are ignored); new names are registered in `env`.
pub fn plan(path: &str, raw: &str, findings: &[Finding], env: &mut EnvFile) -> FilePlan {
    let mut p = Planner {
        raw,
        json: crate::scanner::is_notebook(path),
        lines: LineIndex::new(raw),
        edits: Vec::new(),
        changes: Vec::new(),
        left: Vec::new(),
    };
    // 1. Credentials are taken out; personal data is only counted (it needs synthetic data).
    let mut secrets: Vec<(String, String)> = Vec::new();
    let mut personal = 0;
    for f in findings.iter().filter(|f| f.is_active()) {
        if !f.rule.starts_with("secret.") {
            personal += 1;
        } else if !secrets.iter().any(|(s, _)| s == &f.secret) && !f.secret.is_empty() {
            secrets.push((f.secret.clone(), f.rule.clone()));
        }
    }
    secrets.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
    let fixed = if secrets.is_empty() {
        raw.to_string()
    } else {
        p.rewrite(path, &secrets, env)
    };
    p.changes.sort_by_key(|c| (c.spot.line, c.spot.column));
    p.left.sort_by_key(|l| (l.spot.line, l.spot.column));
    FilePlan {
        path: path.to_string(),
        original: raw.to_string(),
        fixed,
        changes: p.changes,
        left: p.left,
        secrets: secrets.into_iter().map(|(s, _)| s).collect(),
        personal,
    }
}

struct Planner<'a> {
    raw: &'a str,
    json: bool,
    lines: LineIndex,
    edits: Vec<Edit>,
    changes: Vec<Change>,
    left: Vec<LeftAlone>,
}

impl Planner<'_> {
    fn rewrite(&mut self, path: &str, secrets: &[(String, String)], env: &mut EnvFile) -> String {
        // 2. Decode the file the way the scanner did, and find every occurrence of every value.
        let doc = if self.json {
            match notebook::parse(self.raw) {
                Ok(d) => d,
                Err(e) => {
                    let doc = Document::plain(self.raw.to_string());
                    for o in occurrences(&doc, secrets) {
                        self.leave(&doc.segments[o.segment], &o, &format!("{e}"));
                    }
                    return self.raw.to_string();
                }
            }
        } else {
            Document::plain(self.raw.to_string())
        };
        let python = if self.json {
            python::notebook_language(self.raw)
                .is_none_or(|l| l.to_ascii_lowercase().starts_with("python"))
        } else {
            path.to_ascii_lowercase().ends_with(".py")
        };
        // 3. Each occurrence by where it is.
        let mut outputs: BTreeMap<(usize, usize), Vec<Occurrence>> = BTreeMap::new();
        let mut needs_import = BTreeSet::new();
        for o in occurrences(&doc, secrets) {
            let seg = &doc.segments[o.segment];
            let origin = &seg.origin;
            if origin.ignored {
                continue;
            }
            match (origin.part, origin.cell_type.as_deref()) {
                (Some(Part::Output), _) => match (origin.cell, origin.output) {
                    (Some(c), Some(k)) => outputs.entry((c, k)).or_default().push(o),
                    _ => self.leave(seg, &o, "an output nbguard cannot locate"),
                },
                (Some(Part::Metadata), _) => self.mask(seg, &o, "metadata"),
                (Some(Part::Attachment), _) => {
                    self.leave(seg, &o, "in an attachment: remove the attachment by hand")
                }
                (Some(Part::Source), Some("markdown")) => {
                    self.leave(seg, &o, "in markdown: edit the text by hand")
                }
                (Some(Part::Source), Some("code")) | (None, _) if python => {
                    if self.move_to_env(seg, &o, env) {
                        needs_import.insert(o.segment);
                    }
                }
                (Some(Part::Source), Some("code")) | (None, _) => {
                    self.leave(seg, &o, "not Python code: nbguard fix rewrites Python only")
                }
                _ => self.leave(seg, &o, "in a raw or unknown cell: edit it by hand"),
            }
        }
        // 4. Outputs: masked where every value maps back exactly, removed otherwise.
        let spans = OutputSpans::read(self.raw);
        let mut cleared: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for ((cell, k), occs) in outputs {
            self.fix_output(&doc, &spans, cell, k, &occs, &mut cleared);
        }
        for (cell, drop) in cleared {
            match spans.removal(cell, &drop) {
                Some(e) => self.edits.extend(e),
                None => unreachable!("only outputs found in the spans are cleared"),
            }
        }
        // 5. `import os` where a rewritten cell lacks it.
        for si in needs_import {
            self.add_import(&doc.segments[si]);
        }
        // 6. Apply, and check the result is still a notebook.
        let fixed = edit::apply(self.raw, &self.edits);
        let valid = fixed.as_deref().is_some_and(|f| {
            !self.json
                || (serde_json::from_str::<serde_json::Value>(f).is_ok()
                    && notebook::parse(f).is_ok())
        });
        match fixed {
            Some(f) if valid => f,
            _ => {
                // A bug, not a user error: refuse the whole file rather than write a broken one.
                for c in std::mem::take(&mut self.changes) {
                    self.left.push(LeftAlone {
                        spot: c.spot,
                        rule: c.rule,
                        secret: String::new(),
                        reason: "the rewrite would not be a valid file (please report this)".into(),
                    });
                }
                self.raw.to_string()
            }
        }
    }

    fn move_to_env(&mut self, seg: &Segment, o: &Occurrence, env: &mut EnvFile) -> bool {
        let text = &seg.body.text;
        let lit = match python::literal_at(text, o.start, o.end) {
            Ok(l) => l,
            Err(why) => {
                self.leave(seg, o, why);
                return false;
            }
        };
        let mut candidates: Vec<String> = envfile::provider_name(&o.rule).into_iter().collect();
        if let Some(n) = &lit.name {
            candidates.push(python::env_name(n));
        }
        if candidates.iter().all(String::is_empty) {
            self.leave(
                seg,
                o,
                "not assigned to a name, key or keyword to derive a variable from",
            );
            return false;
        }
        let Some((rs, re)) = edit::raw_span(self.raw, &seg.body, lit.start, lit.end, self.json)
        else {
            self.leave(seg, o, "cannot map the literal back to the file exactly");
            return false;
        };
        let name = env.name_for(&text[o.start..o.end], &candidates);
        let q = lit.quote;
        let code = format!("os.environ[{q}{name}{q}]");
        self.edits.push(Edit {
            start: rs,
            end: re,
            text: self.encode(&code),
        });
        self.changes.push(Change {
            spot: self.spot(seg, o),
            rule: o.rule.clone(),
            action: Action::Moved { name },
        });
        true
    }

    fn mask(&mut self, seg: &Segment, o: &Occurrence, what: &str) {
        match edit::raw_span(self.raw, &seg.body, o.start, o.end, self.json) {
            Some((rs, re)) => {
                self.edits.push(Edit {
                    start: rs,
                    end: re,
                    text: self.encode(MASK),
                });
                self.changes.push(Change {
                    spot: self.spot(seg, o),
                    rule: o.rule.clone(),
                    action: Action::Masked,
                });
            }
            None => self.leave(
                seg,
                o,
                &format!("in {what}, written in a way nbguard cannot mask exactly"),
            ),
        }
    }

    fn fix_output(
        &mut self,
        doc: &Document,
        spans: &OutputSpans,
        cell: usize,
        k: usize,
        occs: &[Occurrence],
        cleared: &mut BTreeMap<usize, Vec<usize>>,
    ) {
        let mapped: Option<Vec<(usize, usize)>> = occs
            .iter()
            .map(|o| {
                edit::raw_span(
                    self.raw,
                    &doc.segments[o.segment].body,
                    o.start,
                    o.end,
                    true,
                )
            })
            .collect();
        let first = &occs[0];
        let seg = &doc.segments[first.segment];
        match mapped {
            Some(ranges) => {
                for (r, o) in ranges.into_iter().zip(occs) {
                    self.edits.push(Edit {
                        start: r.0,
                        end: r.1,
                        text: edit::json_content(MASK),
                    });
                    self.changes.push(Change {
                        spot: self.spot(&doc.segments[o.segment], o),
                        rule: o.rule.clone(),
                        action: Action::Masked,
                    });
                }
            }
            None if spans
                .cells
                .get(&cell)
                .is_some_and(|(_, items)| k < items.len()) =>
            {
                cleared.entry(cell).or_default().push(k);
                self.changes.push(Change {
                    spot: self.spot(seg, first),
                    rule: first.rule.clone(),
                    action: Action::Cleared,
                });
            }
            None => {
                for o in occs {
                    self.leave(
                        &doc.segments[o.segment],
                        o,
                        "an output nbguard cannot locate",
                    );
                }
            }
        }
    }

    fn add_import(&mut self, seg: &Segment) {
        let text = &seg.body.text;
        if python::imports_os(text) {
            return;
        }
        let at = python::import_point(text);
        let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let line = format!("import os{nl}");
        if !self.json {
            self.edits.push(Edit {
                start: at,
                end: at,
                text: line,
            });
            return;
        }
        let ro = seg.body.raw_offset(at);
        let b = self.raw.as_bytes();
        // nbformat's list of lines: a new element before the one that starts the line, with the
        // same separator and indentation as the list already uses.
        if ro > 0 && b[ro - 1] == b'"' {
            let before = self.raw[..ro - 1].trim_end();
            if before.ends_with(['[', ',']) {
                let ws = &self.raw[before.len()..ro - 1];
                self.edits.push(Edit {
                    start: ro - 1,
                    end: ro - 1,
                    text: format!("\"{}\",{ws}", edit::json_content(&line)),
                });
                return;
            }
        }
        self.edits.push(Edit {
            start: ro,
            end: ro,
            text: edit::json_content(&line),
        });
    }

    fn encode(&self, s: &str) -> String {
        if self.json {
            edit::json_content(s)
        } else {
            s.to_string()
        }
    }

    fn spot(&self, seg: &Segment, o: &Occurrence) -> Spot {
        let (line, column) = self.lines.line_col(self.raw, seg.body.raw_offset(o.start));
        Spot {
            line,
            column,
            cell: seg.origin.cell,
            cell_type: seg.origin.cell_type.clone(),
            part: seg.origin.part,
            output: seg.origin.output,
        }
    }

    fn leave(&mut self, seg: &Segment, o: &Occurrence, reason: &str) {
        self.left.push(LeftAlone {
            spot: self.spot(seg, o),
            rule: o.rule.clone(),
            secret: seg.body.text[o.start..o.end].to_string(),
            reason: reason.to_string(),
        });
    }
}

/// Every place each value occurs, longest values first so that a value inside another is not
/// counted twice.
fn occurrences(doc: &Document, secrets: &[(String, String)]) -> Vec<Occurrence> {
    let mut out: Vec<Occurrence> = Vec::new();
    for (si, seg) in doc.segments.iter().enumerate() {
        let mut taken: Vec<(usize, usize)> = Vec::new();
        for (secret, rule) in secrets {
            for (start, _) in seg.body.text.match_indices(secret.as_str()) {
                let end = start + secret.len();
                if taken.iter().any(|&(s, e)| s < end && start < e) {
                    continue;
                }
                taken.push((start, end));
                out.push(Occurrence {
                    segment: si,
                    start,
                    end,
                    rule: rule.clone(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
