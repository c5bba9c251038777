//! The scanning engine for one item: classify the bytes (LFS pointer, binary, which text
//! encoding: `scanner/classify.rs`), decode them (notebook or plain text), find which lines are
//! new when there is an old version, run the catalogue over every segment, and turn matches into
//! located, fingerprinted, possibly suppressed findings. Content over the size limit goes through
//! the same steps a window at a time (`scanner/window.rs`). Sources decide what to scan; reports
//! decide how to show it.

use globset::{GlobMatcher, GlobSet};
use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::OnceLock;

use crate::config::Settings;
use crate::diff::{self, NewLines};
use crate::finding::{
    self, Diagnostic, DiagnosticKind, Finding, NotebookLocation, Part, Severity, Suppression,
};
use crate::notebook::{self, Document, Segment};
use crate::rules::memo::Memo;
use crate::rules::{Catalogue, CatalogueError, Match, RawRule, Rule};
use crate::source::{Item, Provenance};
use crate::suppress::{self, Allowlist, AllowlistError, Baseline};

mod classify;
mod window;

/// Why a scanner could not be built from settings.
#[derive(Debug, thiserror::Error)]
pub enum ScannerError {
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    #[error(transparent)]
    Allowlist(#[from] AllowlistError),
    #[error("invalid rule glob `{glob}`: {source}")]
    Glob {
        glob: String,
        #[source]
        source: globset::Error,
    },
}

/// What scanning one item produced.
#[derive(Debug, Default)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    pub diagnostics: Vec<Diagnostic>,
}

pub struct Scanner {
    catalogue: Catalogue,
    severity: Vec<(GlobMatcher, Severity)>,
    allow: Allowlist,
    baseline: Option<Baseline>,
    max_file_size: u64,
    exclude: GlobSet,
    notebooks_only: bool,
    memo: Option<Memo>,
}

impl Scanner {
    pub fn new(settings: &Settings, baseline: Option<Baseline>) -> Result<Self, ScannerError> {
        Ok(Scanner {
            catalogue: Catalogue::new(select_rules(settings)?)?,
            severity: settings
                .severity
                .iter()
                .map(|(g, s)| Ok((glob(g)?, *s)))
                .collect::<Result<_, ScannerError>>()?,
            allow: Allowlist::new(settings)?,
            baseline,
            max_file_size: settings.max_file_size,
            exclude: suppress::globs(&settings.exclude)?,
            notebooks_only: settings.notebooks_only,
            memo: None,
        })
    }

    /// Remembers match results by segment text, for scans that meet the same cells many times
    /// (the history audit, large pushes).
    pub fn with_memo(mut self) -> Self {
        self.memo = Some(Memo::default());
        self
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// Whether a path is in scope at all (not excluded, and a notebook when only notebooks are
    /// wanted).
    pub fn wants(&self, path: &str) -> bool {
        !self.exclude.is_match(path) && (!self.notebooks_only || is_notebook(path))
    }

    pub fn notebooks_only(&self) -> bool {
        self.notebooks_only
    }

    pub fn max_file_size(&self) -> u64 {
        self.max_file_size
    }

    /// Scans one item: everything in it, or only what it adds when it has an old version.
    pub fn scan_item(&self, item: &Item) -> Outcome {
        self.scan(&View {
            path: &item.path,
            new: &item.new,
            old: item.old.as_deref(),
            provenance: &item.provenance,
        })
    }

    /// Scans borrowed content (the history audit reads blobs into reused buffers).
    pub fn scan(&self, item: &View) -> Outcome {
        if item.new.len() as u64 > self.max_file_size {
            return self.scan_large(item);
        }
        let mut out = Outcome::default();
        let diag = |kind: DiagnosticKind, message: String| Diagnostic {
            path: item.path.to_string(),
            kind,
            message,
            commit: commit_id(item.provenance),
        };
        let Some(text) = self.classify(item.new, &mut out.diagnostics, &diag) else {
            return out;
        };
        let doc = match build_document(item.path, &text) {
            Ok(d) => d,
            Err((d, why)) => {
                out.diagnostics
                    .push(diag(DiagnosticKind::InvalidNotebook, why));
                d
            }
        };
        let old = item.old.map(|o| {
            // An old version that was a pointer or binary has no text: everything is new.
            let t = match classify::classify(o, o.len() as u64) {
                classify::Kind::Text(enc) => classify::decode(o, enc).0,
                _ => Cow::Borrowed(""),
            };
            build_document(item.path, &t).unwrap_or_else(|(d, _)| d)
        });
        let fresh = old.as_ref().map(|o| diff::new_lines(o, &doc));
        if fresh.as_ref().is_some_and(NewLines::is_empty) {
            return out;
        }
        let mut findings = self.scan_document(item, &text, &doc, fresh.as_ref(), None);
        if let (Some(old), false) = (&old, findings.is_empty()) {
            // A secret that the old version already had is not new, wherever it moved to.
            let before: HashSet<String> = self
                .scan_document(item, "", old, None, None)
                .into_iter()
                .map(|f| f.fingerprint)
                .collect();
            findings.retain(|f| !before.contains(&f.fingerprint));
        }
        out.findings = findings;
        out
    }

    /// Returns the text to scan, or `None` (with a diagnostic) when the bytes are not scanned.
    fn classify<'b>(
        &self,
        bytes: &'b [u8],
        diags: &mut Vec<Diagnostic>,
        diag: &dyn Fn(DiagnosticKind, String) -> Diagnostic,
    ) -> Option<Cow<'b, str>> {
        let encoding = match classify::classify(bytes, bytes.len() as u64) {
            classify::Kind::LfsPointer => {
                diags.push(diag(
                    DiagnosticKind::LfsPointer,
                    "Git LFS pointer: the content is in LFS storage and was not scanned".into(),
                ));
                return None;
            }
            classify::Kind::Binary(what) => {
                diags.push(diag(
                    DiagnosticKind::Binary,
                    format!("binary file ({what}); not scanned"),
                ));
                return None;
            }
            classify::Kind::Text(enc) => enc,
        };
        let (text, bad) = classify::decode(bytes, encoding);
        if let Some(at) = bad {
            let message = match encoding {
                classify::Encoding::Utf8 | classify::Encoding::Utf8Bom => format!(
                    "not valid UTF-8 (first bad byte at offset {at}); scanned with invalid bytes replaced"
                ),
                _ => format!(
                    "not valid UTF-16 (first bad unit at offset {at}); scanned with invalid units replaced"
                ),
            };
            diags.push(diag(DiagnosticKind::NotUtf8, message));
        }
        Some(text)
    }

    /// Every finding in a document; with `fresh`, only those touching a new line.
    /// With `own` (a window of a large file), only matches that start in that raw range.
    fn scan_document(
        &self,
        item: &View,
        raw: &str,
        doc: &Document,
        fresh: Option<&NewLines>,
        own: Option<&std::ops::Range<usize>>,
    ) -> Vec<Finding> {
        use rayon::prelude::*;
        // The raw file's line index is only needed to locate a finding; most files have none.
        let raw_lines = OnceLock::new();
        let scan = |(si, seg): (usize, &Segment)| -> Vec<Finding> {
            if fresh.is_some_and(|f| !f.segment_has_new(si)) {
                return Vec::new();
            }
            let raw_lines = || raw_lines.get_or_init(|| LineIndex::new(raw));
            self.scan_segment(item, raw, raw_lines, doc, si, seg, fresh, own)
        };
        let size: usize = doc.segments.iter().map(|s| s.body.text.len()).sum();
        // A few large notebooks (a typical commit) would leave cores idle if only files were
        // spread over threads; their segments are spread too.
        let per_segment: Vec<Vec<Finding>> = if size >= PARALLEL_SEGMENTS_FROM {
            doc.segments.par_iter().enumerate().map(scan).collect()
        } else {
            doc.segments.iter().enumerate().map(scan).collect()
        };
        same_output_once(per_segment.into_iter().flatten().collect())
    }

    #[allow(clippy::too_many_arguments)]
    fn scan_segment<'l>(
        &self,
        item: &View,
        raw: &str,
        raw_lines: impl Fn() -> &'l LineIndex,
        doc: &Document,
        si: usize,
        seg: &Segment,
        fresh: Option<&NewLines>,
        own: Option<&std::ops::Range<usize>>,
    ) -> Vec<Finding> {
        let mut matches = Vec::new();
        match &self.memo {
            Some(memo) => memo.get_or_scan(&seg.body.text, &mut matches, |t, out| {
                self.catalogue.scan(t, out)
            }),
            None => self.catalogue.scan(&seg.body.text, &mut matches),
        }
        if matches.is_empty() {
            return Vec::new();
        }
        dedupe(&self.catalogue.rules, &mut matches);
        if let Some(own) = own {
            matches.retain(|m| own.contains(&seg.body.raw_offset(m.start)));
        }
        let ctx = SegmentMatches {
            segment: seg,
            lines: LineIndex::new(&seg.body.text),
            matches: &matches,
        };
        let seg_lines = &ctx.lines;
        let pii_counts = pii_counts(&self.catalogue.rules, seg, &matches);
        let mut in_segment = Vec::new();
        for m in &matches {
            // Lines of the secret itself: a match may begin with the newline before it.
            let first = seg_lines.line_of(m.secret_start);
            let last = seg_lines.line_of(m.secret_end.saturating_sub(1).max(m.secret_start));
            if let Some(f) = fresh {
                if !f.any_new(si, first, last) {
                    continue;
                }
            }
            let rule = &self.catalogue.rules[m.rule];
            let pii = pii_counts.iter().find(|(r, _)| *r == m.rule).map(|x| x.1);
            in_segment.push(self.finding(
                item,
                raw,
                raw_lines(),
                doc,
                &ctx,
                m,
                rule,
                first,
                last,
                pii,
            ));
        }
        aggregate_pii(in_segment, seg, &matches, &self.catalogue.rules)
    }

    #[allow(clippy::too_many_arguments)]
    fn finding(
        &self,
        item: &View,
        raw: &str,
        raw_lines: &LineIndex,
        doc: &Document,
        ctx: &SegmentMatches,
        m: &Match,
        rule: &Rule,
        first: usize,
        last: usize,
        pii_distinct: Option<usize>,
    ) -> Finding {
        let (seg, seg_lines, all) = (ctx.segment, &ctx.lines, ctx.matches);
        let text = &seg.body.text;
        let secret = text[m.secret_start..m.secret_end].to_string();
        let raw_at = seg.body.raw_offset(m.secret_start);
        let (line, column) = if raw.is_empty() {
            (0, 0)
        } else {
            raw_lines.line_col(raw, raw_at)
        };
        let end_raw = seg
            .body
            .raw_offset(m.secret_end.saturating_sub(1).max(m.secret_start));
        let end_line = if raw.is_empty() {
            0
        } else {
            raw_lines.line_of(end_raw) + 1
        };
        let fingerprint = finding::fingerprint(&rule.id, &secret);
        let notebook = doc.nbformat.map(|_| NotebookLocation {
            cell: seg.origin.cell,
            cell_id: seg.origin.cell_id.clone(),
            cell_type: seg.origin.cell_type.clone(),
            part: seg.origin.part,
            output: seg.origin.output,
            output_kind: seg.origin.output_kind.clone(),
            line: first + 1,
        });
        let mut severity =
            self.severity_for(rule, seg.origin.part, doc.nbformat.is_some(), pii_distinct);
        if let Some((_, s)) = self.severity.iter().find(|(g, _)| g.is_match(&rule.id)) {
            severity = *s;
        }
        let line_text = seg_lines.line(text, first);
        let previous = first.checked_sub(1).map(|p| seg_lines.line(text, p));
        let suppressed = seg
            .origin
            .ignored
            .then_some(Suppression::CellTag)
            .or_else(|| suppress::inline(line_text, previous, &rule.id))
            .or_else(|| {
                (first != last)
                    .then(|| suppress::inline(seg_lines.line(text, last), None, &rule.id))
                    .flatten()
            })
            .or_else(|| self.allow.check(item.path, &secret, &fingerprint))
            .or_else(|| {
                self.baseline
                    .as_ref()
                    .filter(|b| b.contains(&fingerprint))
                    .map(|_| Suppression::Baseline)
            });
        Finding {
            rule: rule.id.clone(),
            title: rule.title.clone(),
            severity,
            path: item.path.to_string(),
            line,
            column,
            end_line: end_line.max(line),
            notebook,
            snippet: snippet(line_text, seg_lines.start(first), m, all),
            secret,
            fingerprint,
            fix: fix_hint(rule, seg.origin.part),
            suppressed,
            commit: match item.provenance {
                Provenance::Commit(c) => Some(c.clone()),
                _ => None,
            },
            // Set by whoever knows the item (see `commands::scan_items_lazily`).
            origin: Default::default(),
        }
    }

    /// Personal data is judged by context: many distinct values in an output is a data leak,
    /// one address in prose is not.
    fn severity_for(
        &self,
        rule: &Rule,
        part: Option<Part>,
        notebook: bool,
        pii_distinct: Option<usize>,
    ) -> Severity {
        let Some(n) = pii_distinct else {
            return rule.severity;
        };
        if !matches!(rule.id.as_str(), "pii.email" | "pii.phone") {
            return rule.severity;
        }
        match (part, notebook) {
            (Some(Part::Output), _) | (Some(Part::Metadata), _) => match n {
                0..=1 => Severity::Low,
                2 => Severity::Medium,
                _ => Severity::High,
            },
            (_, true) => {
                if n >= 10 {
                    Severity::Medium
                } else {
                    Severity::Info
                }
            }
            (_, false) => match n {
                0..=2 => Severity::Info,
                3..=9 => Severity::Medium,
                _ => Severity::High,
            },
        }
    }
}

/// Documents with at least this much decoded text have their segments scanned in parallel.
const PARALLEL_SEGMENTS_FROM: usize = 256 * 1024;

/// One segment with its line index and every accepted match in it.
struct SegmentMatches<'a> {
    segment: &'a Segment,
    lines: LineIndex,
    matches: &'a [Match],
}

/// Content to scan, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    pub path: &'a str,
    pub new: &'a [u8],
    pub old: Option<&'a [u8]>,
    pub provenance: &'a Provenance,
}

/// Built-in rules plus custom ones, minus what settings switch off.
fn select_rules(settings: &Settings) -> Result<Vec<Rule>, ScannerError> {
    let mut raw: Vec<RawRule> = crate::rules::catalogue::builtin_raw()?;
    for custom in &settings.custom_rules {
        raw.retain(|r| r.id != custom.id);
        raw.push(custom.clone());
    }
    let disable: Vec<GlobMatcher> = settings
        .disable
        .iter()
        .map(|g| glob(g))
        .collect::<Result<_, _>>()?;
    let only: Vec<GlobMatcher> = settings
        .only
        .iter()
        .map(|g| glob(g))
        .collect::<Result<_, _>>()?;
    raw.retain(|r| {
        !disable.iter().any(|g| g.is_match(&r.id))
            && (only.is_empty() || only.iter().any(|g| g.is_match(&r.id)))
    });
    raw.iter()
        .map(|r| r.compile().map_err(ScannerError::from))
        .collect()
}

fn glob(g: &str) -> Result<GlobMatcher, ScannerError> {
    globset::Glob::new(g)
        .map(|x| x.compile_matcher())
        .map_err(|source| ScannerError::Glob {
            glob: g.to_string(),
            source,
        })
}

pub fn is_notebook(path: &str) -> bool {
    path.to_ascii_lowercase().ends_with(".ipynb")
}

/// A notebook's segments, or its text with JSON strings decoded and the reason it is not read as
/// a notebook.
fn build_document(path: &str, text: &str) -> Result<Document, (Document, String)> {
    if !is_notebook(path) {
        return Ok(Document::plain(text.to_owned()));
    }
    notebook::parse(text).map_err(|e| (Document::json_text(text), e.to_string()))
}

fn commit_id(p: &Provenance) -> Option<String> {
    match p {
        Provenance::Commit(c) => Some(c.id.clone()),
        _ => None,
    }
}

/// Where two rules claim overlapping secrets, keep one: a credential over personal data (the
/// `pw@host` of `https://user:pw@host` is not an e-mail address), a provider rule over a generic
/// one, then the higher severity, then the longer secret.
fn dedupe(rules: &[Rule], matches: &mut Vec<Match>) {
    let rank = |m: &Match| {
        let r = &rules[m.rule];
        (
            !r.id.starts_with("pii."),
            !r.id.contains(".generic."),
            r.severity,
            m.secret_end - m.secret_start,
        )
    };
    matches.sort_by_key(|m| (m.secret_start, std::cmp::Reverse(rank(m))));
    let mut kept: Vec<Match> = Vec::with_capacity(matches.len());
    for m in matches.drain(..) {
        match kept
            .iter_mut()
            .find(|k| k.secret_start < m.secret_end && m.secret_start < k.secret_end)
        {
            Some(k) if rank(&m) > rank(k) => *k = m,
            Some(_) => {}
            None => kept.push(m),
        }
    }
    *matches = kept;
}

/// An output's mime bundle shows one value several ways (`text/plain` and `text/html` of the
/// same dataframe): the same secret in two renderings of one output is one finding, the first.
fn same_output_once(findings: Vec<Finding>) -> Vec<Finding> {
    let mut seen = HashSet::new();
    findings
        .into_iter()
        .filter(|f| match &f.notebook {
            Some(nb) if nb.part == Some(Part::Output) => {
                seen.insert((nb.cell, nb.output, f.fingerprint.clone()))
            }
            _ => true,
        })
        .collect()
}

/// Personal data in a segment is one finding per kind, not one per value: a displayed table of
/// 500 customers is one leak with 500 e-mail addresses. Its fingerprint covers every distinct value
/// in the segment, so re-running the same query adds nothing, and a new row is a new finding.
fn aggregate_pii(
    found: Vec<Finding>,
    seg: &Segment,
    matches: &[Match],
    rules: &[Rule],
) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::with_capacity(found.len());
    for f in found {
        if !f.rule.starts_with("pii.") {
            out.push(f);
            continue;
        }
        if out.iter().any(|o| o.rule == f.rule && o.title != f.title) {
            continue;
        }
        let mut values: Vec<&str> = matches
            .iter()
            .filter(|m| rules[m.rule].id == f.rule)
            .map(|m| &seg.body.text[m.secret_start..m.secret_end])
            .collect();
        values.sort_unstable();
        values.dedup();
        if values.len() < 2 {
            out.push(f);
            continue;
        }
        let mut agg = f;
        let place = match seg.origin.part {
            Some(Part::Output) => "output",
            Some(Part::Metadata) => "metadata",
            Some(Part::Source) => "cell",
            _ => "file",
        };
        agg.title = format!(
            "{} ({} distinct values in this {place})",
            agg.title,
            values.len()
        );
        agg.fingerprint = finding::fingerprint(&agg.rule, &values.join("\n"));
        out.push(agg);
    }
    out
}

/// For each PII rule with matches in this segment, how many distinct values it found.
fn pii_counts(rules: &[Rule], seg: &Segment, matches: &[Match]) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, HashSet<&str>)> = Vec::new();
    for m in matches
        .iter()
        .filter(|m| rules[m.rule].id.starts_with("pii."))
    {
        let v = &seg.body.text[m.secret_start..m.secret_end];
        match out.iter_mut().find(|(r, _)| *r == m.rule) {
            Some((_, set)) => {
                set.insert(v);
            }
            None => out.push((m.rule, HashSet::from([v]))),
        }
    }
    out.into_iter().map(|(r, s)| (r, s.len())).collect()
}

fn fix_hint(rule: &Rule, part: Option<Part>) -> String {
    let base = if rule.fix.is_empty() {
        if rule.id.starts_with("pii.") {
            "Remove the personal data or replace it with synthetic values.".to_string()
        } else {
            "Remove the value, rotate it, and load it from the environment or a secret manager."
                .to_string()
        }
    } else {
        rule.fix.clone()
    };
    match part {
        Some(Part::Output) => {
            format!("Clear this cell's output (or strip outputs with nbstripout). {base}")
        }
        _ => base,
    }
}

/// The line with the secret masked and control characters removed, cut to a readable length.
fn snippet(line: &str, line_start: usize, m: &Match, all: &[Match]) -> String {
    // Every secret found on the line is masked, not only this finding's.
    let line_end = line_start + line.len();
    let mut spans: Vec<(usize, usize)> = all
        .iter()
        .filter(|x| x.secret_start < line_end && x.secret_end > line_start)
        .map(|x| {
            (
                x.secret_start.max(line_start) - line_start,
                x.secret_end.min(line_end) - line_start,
            )
        })
        .filter(|&(s, e)| s < e && line.is_char_boundary(s) && line.is_char_boundary(e))
        .collect();
    spans.sort_unstable();
    let mut masked = String::with_capacity(line.len());
    let mut at = 0;
    for (s, e) in spans {
        if s < at {
            continue;
        }
        masked.push_str(&line[at..s]);
        masked.push_str(&finding::mask(&line[s..e]));
        at = e;
    }
    masked.push_str(&line[at..]);
    let focus = m.secret_start.saturating_sub(line_start);
    let clean: String = masked
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let clean = clean.trim();
    if clean.chars().count() > 200 {
        let start = clean
            .char_indices()
            .map(|(i, _)| i)
            .find(|&i| i + 100 >= focus)
            .unwrap_or(0);
        let cut: String = clean[start..].chars().take(200).collect();
        format!("…{cut}…")
    } else {
        clean.to_string()
    }
}

/// Line starts of a text, for offset → line/column.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|p| p + 1));
        LineIndex { starts }
    }

    /// 0-based line of a byte offset.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        self.starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1)
    }

    pub(crate) fn start(&self, line: usize) -> usize {
        self.starts.get(line).copied().unwrap_or(0)
    }

    /// The text of a 0-based line, without its newline.
    pub(crate) fn line<'t>(&self, text: &'t str, line: usize) -> &'t str {
        let s = self.start(line).min(text.len());
        let e = self
            .starts
            .get(line + 1)
            .map_or(text.len(), |&e| e.saturating_sub(1))
            .max(s);
        text[s..e].trim_end_matches('\r')
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub(crate) fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.line_of(offset);
        let start = self.start(line);
        let col = text.as_bytes()[start..offset]
            .iter()
            .filter(|&&b| (b as i8) >= -0x40)
            .count();
        (line + 1, col + 1)
    }
}
