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
use crate::filekind::{self, Context, Kind};
use crate::finding::{
    self, Diagnostic, DiagnosticKind, Finding, NotebookLocation, Part, Severity, Suppression,
};
use crate::notebook::{self, Document, Segment};
use crate::rules::memo::Memo;
use crate::rules::{Catalogue, CatalogueError, Match, Rule};
use crate::source::{Item, Provenance};
use crate::suppress::{self, Allowlist, AllowlistError, Baseline};

mod classify;
mod generated;
mod window;

/// Why a scanner could not be built from settings.
#[derive(Debug, thiserror::Error)]
pub enum ScannerError {
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    #[error(transparent)]
    Allowlist(#[from] AllowlistError),
    #[error(transparent)]
    Select(#[from] crate::rules::select::SelectError),
    #[error("invalid rule glob `{glob}`")]
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
            catalogue: Catalogue::new(crate::rules::select::select(settings)?)?,
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
    /// (large pushes). Exact: only byte-identical texts and cells are taken from the memo.
    pub fn with_memo(mut self) -> Self {
        self.memo = Some(Memo::default());
        self
    }

    /// [`Scanner::with_memo`] for the history audit, which also scans long texts met again only
    /// where they changed (see `rules/pieces.rs`). That rests on matches reaching no further than
    /// 40 lines, which holds for every built-in rule but is an assumption: it is for reports on
    /// history, never for a gate, where a pusher chooses the content.
    pub fn with_history_memo(mut self) -> Self {
        self.memo = Some(Memo::with_pieces());
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
        // A whole-blob scan with a memo skips cells it has already seen clean, byte for byte.
        let memo = self
            .memo
            .as_ref()
            .filter(|_| item.old.is_none() && is_notebook(item.path));
        let parsed = match memo {
            Some(m) => notebook::parse_with(&text, &mut |cell, v3| !m.cell_is_clean(cell, v3))
                .map_err(|e| (Document::json_text(&text), e.to_string())),
            None => build_document(item.path, &text),
        };
        let doc = match parsed {
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
        let mut findings = match memo {
            Some(m) => {
                let all = self.scan_segments((item, &text, &doc), None, None);
                remember_clean_cells(m, &text, &doc, &all);
                same_output_once(all)
            }
            None => self.scan_document(item, &text, &doc, fresh.as_ref(), None),
        };
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
        same_output_once(self.scan_segments((item, raw, doc), fresh, own))
    }

    /// [`Scanner::scan_document`] before the renderings of one output are merged: every
    /// segment's own findings.
    fn scan_segments(
        &self,
        (item, raw, doc): (&View, &str, &Document),
        fresh: Option<&NewLines>,
        own: Option<&std::ops::Range<usize>>,
    ) -> Vec<Finding> {
        use rayon::prelude::*;
        // The raw file's line index is only needed to locate a finding; most files have none.
        let raw_lines = OnceLock::new();
        let file = match doc.nbformat {
            Some(_) => Context::default(),
            None => Context {
                kind: filekind::of_file(item.path, raw),
                code: filekind::is_code_file(item.path),
            },
        };
        let scan = |(si, seg): (usize, &Segment)| -> Vec<Finding> {
            if fresh.is_some_and(|f| !f.segment_has_new(si)) {
                return Vec::new();
            }
            let raw_lines = || raw_lines.get_or_init(|| LineIndex::new(raw));
            let ctx = match (doc.nbformat, seg.origin.part) {
                (None, _) => file,
                (Some(_), Some(Part::Output)) => Context {
                    kind: filekind::of_output(seg.origin.output_kind.as_deref(), &seg.body.text),
                    code: false,
                },
                (Some(_), part) => Context {
                    kind: Kind::Authored,
                    code: part == Some(Part::Source)
                        && seg.origin.cell_type.as_deref() == Some("code"),
                },
            };
            self.scan_segment(item, raw, raw_lines, doc, (si, seg, ctx), fresh, own)
        };
        let size: usize = doc.segments.iter().map(|s| s.body.text.len()).sum();
        // A few large notebooks (a typical commit) would leave cores idle if only files were
        // spread over threads; their segments are spread too.
        let per_segment: Vec<Vec<Finding>> = if size >= PARALLEL_SEGMENTS_FROM {
            doc.segments.par_iter().enumerate().map(scan).collect()
        } else {
            doc.segments.iter().enumerate().map(scan).collect()
        };
        per_segment.into_iter().flatten().collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn scan_segment<'l>(
        &self,
        item: &View,
        raw: &str,
        raw_lines: impl Fn() -> &'l LineIndex,
        doc: &Document,
        (si, seg, ctx): (usize, &Segment, Context),
        fresh: Option<&NewLines>,
        own: Option<&std::ops::Range<usize>>,
    ) -> Vec<Finding> {
        let mut matches = Vec::new();
        match &self.memo {
            Some(memo) => memo.get_or_scan(&seg.body.text, ctx, &mut matches, |t, out| {
                self.catalogue.scan_kind(t, ctx, out)
            }),
            None => self.catalogue.scan_kind(&seg.body.text, ctx, &mut matches),
        }
        if matches.is_empty() {
            return Vec::new();
        }
        // Every secret any rule matched is masked wherever this segment's text is shown, also
        // when overlap resolution below keeps another rule's match in its place.
        let matched: Vec<(usize, usize)> = matches
            .iter()
            .map(|m| (m.secret_start, m.secret_end))
            .collect();
        let mut secrets: Vec<&str> = matched.iter().map(|&(s, e)| &seg.body.text[s..e]).collect();
        secrets.sort_unstable();
        secrets.dedup();
        dedupe(&self.catalogue.rules, &mut matches);
        if let Some(own) = own {
            matches.retain(|m| own.contains(&seg.body.raw_offset(m.start)));
        }
        let ctx = SegmentMatches {
            segment: seg,
            lines: LineIndex::new(&seg.body.text),
            matched: &matched,
            secrets: &secrets,
        };
        let seg_lines = &ctx.lines;
        let pii_counts = pii_counts(&self.catalogue.rules, seg, &matches);
        // Only segments with personal data pay for these checks.
        let generated =
            !pii_counts.is_empty() && generated::check_addresses(&seg.body.text).look_generated();
        let document = !pii_counts.is_empty()
            && seg.origin.part == Some(Part::Output)
            && shows_loaded_document(&seg.body.text);
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
            let pii = pii_counts
                .iter()
                .find(|(r, _)| *r == m.rule)
                .map(|&(_, distinct)| Pii {
                    distinct,
                    generated,
                    document,
                });
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
        let mut found = aggregate_pii(in_segment, seg, &matches, &self.catalogue.rules);
        if generated {
            for f in found.iter_mut().filter(|f| f.rule.starts_with("pii.")) {
                f.title.push_str(GENERATED_NOTE);
            }
        }
        found
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
        pii: Option<Pii>,
    ) -> Finding {
        let (seg, seg_lines) = (ctx.segment, &ctx.lines);
        let shown = |s: &Option<String>| {
            s.as_deref()
                .map(|s| crate::redact::mask_text(s, &[], ctx.secrets))
        };
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
        // Cell ids, cell types and output names come from the file too.
        let notebook = doc.nbformat.map(|_| NotebookLocation {
            cell: seg.origin.cell,
            cell_id: shown(&seg.origin.cell_id),
            cell_type: shown(&seg.origin.cell_type),
            part: seg.origin.part,
            output: seg.origin.output,
            output_kind: shown(&seg.origin.output_kind),
            line: first + 1,
        });
        let mut severity = self.severity_for(rule, seg.origin.part, doc.nbformat.is_some(), pii);
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
            snippet: snippet(line_text, seg_lines.start(first), m, ctx),
            secret,
            fingerprint,
            fix: fix_hint(rule, &seg.origin),
            suppressed,
            // A commit's subject is content too (commit messages are scanned): shown masked.
            commit: match item.provenance {
                Provenance::Commit(c) => Some(crate::source::CommitInfo {
                    summary: crate::redact::mask_text(&c.summary, &[], ctx.secrets),
                    ..c.clone()
                }),
                _ => None,
            },
            // Set by whoever knows the item (see `commands::scan_items_lazily`).
            origin: Default::default(),
        }
    }

    /// Personal data is judged by context: many distinct values in an output is a data leak,
    /// one address in prose is not, and records a generator made up never block.
    fn severity_for(
        &self,
        rule: &Rule,
        part: Option<Part>,
        notebook: bool,
        pii: Option<Pii>,
    ) -> Severity {
        let Some(Pii {
            distinct,
            generated,
            document,
        }) = pii
        else {
            return rule.severity;
        };
        // A document the notebook loaded and displayed is judged as the document it is.
        let (part, notebook) = if document {
            (None, false)
        } else {
            (part, notebook)
        };
        let by_context = Self::pii_severity(rule, part, notebook, distinct);
        if generated {
            by_context.min(Severity::Medium)
        } else {
            by_context
        }
    }

    fn pii_severity(rule: &Rule, part: Option<Part>, notebook: bool, n: usize) -> Severity {
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
            // Addresses in documents (scraped pages, brochures, AUTHORS files) are published
            // contact details far more often than a leak: worth a look, never a block.
            (_, false) => match n {
                0..=2 => Severity::Info,
                _ => Severity::Medium,
            },
        }
    }
}

/// Said of personal data whose records look made up, so that a reader sees why it does not block.
const GENERATED_NOTE: &str =
    "; the records look generated (their US addresses have ZIP codes of other states)";

/// What a segment says about one personal-data rule's matches in it.
#[derive(Debug, Clone, Copy)]
struct Pii {
    /// Distinct values, as far as severity is concerned (see [`pii_counts`]).
    distinct: usize,
    /// The segment's records look made up by a generator (see `scanner/generated.rs`).
    generated: bool,
    /// An output that displays a document the notebook loaded (a paper, a brochure, a web page
    /// read by a document loader): its addresses are the document's published ones.
    document: bool,
}

/// Whether an output shows documents as the loaders of LLM frameworks return them.
fn shows_loaded_document(text: &str) -> bool {
    static LOADED: OnceLock<regex::Regex> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            regex::Regex::new(r#"\bpage_content\s*=\s*['"]|['"]page_content['"]\s*:|\b(?:Document|TextNode)\(id_="#)
                .expect("the loaded-document pattern is a valid regex")
        })
        .is_match(text)
}

/// Documents with at least this much decoded text have their segments scanned in parallel.
const PARALLEL_SEGMENTS_FROM: usize = 256 * 1024;

/// One segment with its line index and every accepted match in it.
struct SegmentMatches<'a> {
    segment: &'a Segment,
    lines: LineIndex,
    /// Secret ranges of every match before overlaps were resolved, and their distinct values.
    matched: &'a [(usize, usize)],
    secrets: &'a [&'a str],
}

/// Content to scan, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    pub path: &'a str,
    pub new: &'a [u8],
    pub old: Option<&'a [u8]>,
    pub provenance: &'a Provenance,
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

/// Remembers the decoded cells of `doc` that had no finding at all (suppressed ones count as
/// findings).
fn remember_clean_cells(memo: &Memo, raw: &str, doc: &Document, findings: &[Finding]) {
    let dirty: HashSet<usize> = findings
        .iter()
        .filter_map(|f| f.notebook.as_ref().and_then(|nb| nb.cell))
        .collect();
    for (index, range, v3) in &doc.cells {
        if !dirty.contains(index) {
            memo.mark_clean(&raw[range.clone()], *v3);
        }
    }
}

fn commit_id(p: &Provenance) -> Option<String> {
    match p {
        Provenance::Commit(c) => Some(c.id.clone()),
        _ => None,
    }
}

/// Where two rules claim overlapping secrets, keep one: the rule that supersedes the other, else
/// a credential over personal data (the `pw@host` of `https://user:pw@host` is not an e-mail
/// address), a provider rule over a generic one, then the higher severity, then the longer secret.
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
    let supersedes = |a: &Match, b: &Match| rules[a.rule].supersedes.contains(&rules[b.rule].id);
    matches.sort_by_key(|m| (m.secret_start, std::cmp::Reverse(rank(m))));
    let mut kept: Vec<Match> = Vec::with_capacity(matches.len());
    for m in matches.drain(..) {
        match kept
            .iter_mut()
            .find(|k| k.secret_start < m.secret_end && m.secret_start < k.secret_end)
        {
            Some(k) if supersedes(&m, k) || (!supersedes(k, &m) && rank(&m) > rank(k)) => *k = m,
            Some(_) => {}
            None => kept.push(m),
        }
    }
    // An identifier next to the secret it belongs to is part of that finding.
    let present: HashSet<&str> = kept.iter().map(|m| rules[m.rule].id.as_str()).collect();
    kept.retain(|m| {
        !rules[m.rule]
            .context_for
            .iter()
            .any(|id| present.contains(id.as_str()))
    });
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

/// For each PII rule with matches in this segment, how many distinct values it found, as far as
/// severity is concerned: values scattered through a long text (the author list of a paper, the
/// contact page of a scraped brochure) count as two at most; a leak is a table or a list of
/// records, where they come line after line.
fn pii_counts(rules: &[Rule], seg: &Segment, matches: &[Match]) -> Vec<(usize, usize)> {
    let counts = distinct_pii(rules, seg, matches);
    if counts.is_empty() {
        return counts;
    }
    let lines = seg
        .body
        .text
        .lines()
        .map(str::trim)
        // Markup lines of an HTML table hold no prose.
        .filter(|l| !l.is_empty() && !l.starts_with('<'))
        // The repr of a loaded document is one physical line with its line breaks escaped.
        .map(|l| 1 + l.matches("\\n").count())
        .sum::<usize>()
        .max(1);
    counts
        .into_iter()
        .map(|(r, n)| {
            (
                r,
                if n * PII_LINES_PER_VALUE < lines {
                    n.min(2)
                } else {
                    n
                },
            )
        })
        .collect()
}

/// More non-empty lines than this per distinct value, and the values are scattered in prose.
const PII_LINES_PER_VALUE: usize = 8;

fn distinct_pii(rules: &[Rule], seg: &Segment, matches: &[Match]) -> Vec<(usize, usize)> {
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

/// How to fix a finding, in the terms of where it is: the rule's advice is about the value, and
/// the part that holds it (a markdown cell, an output, the metadata) decides what to do there.
fn fix_hint(rule: &Rule, origin: &notebook::Origin) -> String {
    let markdown = origin.cell_type.as_deref() == Some("markdown");
    if rule.id.starts_with("pii.") {
        return match origin.part {
            // Personal-data rules explain how to keep data out of displayed outputs.
            Some(Part::Output) if !rule.fix.is_empty() => rule.fix.clone(),
            Some(Part::Output) => "Clear this cell's output (or strip outputs with nbstripout), and mask or pseudonymise the data before it is displayed.".into(),
            Some(Part::Source) if markdown => "Remove the personal data from this markdown cell, or replace it with a made-up value (an address at example.com, a 555 number).".into(),
            Some(Part::Source) => "Remove the personal data from this cell's code, or replace it with synthetic values; load real data at run time from where it is protected.".into(),
            Some(Part::Metadata) => "Remove the personal data from the metadata (Edit > Cell metadata, or the notebook's metadata).".into(),
            Some(Part::Attachment) => "Remove the attachment that holds the personal data from the cell.".into(),
            None => "Remove the personal data from the file, or replace it with synthetic values.".into(),
        };
    }
    let base = if rule.fix.is_empty() {
        "Remove the value, rotate it, and load it from the environment or a secret manager."
            .to_string()
    } else {
        rule.fix.clone()
    };
    match origin.part {
        Some(Part::Output) => {
            format!("Clear this cell's output (or strip outputs with nbstripout). {base}")
        }
        Some(Part::Metadata) => format!("Remove the value from the metadata. {base}"),
        Some(Part::Attachment) => format!("Remove the attachment from the cell. {base}"),
        Some(Part::Source) if markdown => {
            format!("Remove the value from this markdown cell. {base}")
        }
        _ => base,
    }
}

/// The line with every secret masked (see `redact`), cut to a readable length.
fn snippet(line: &str, line_start: usize, m: &Match, ctx: &SegmentMatches) -> String {
    let line_end = line_start + line.len();
    let spans: Vec<(usize, usize)> = ctx
        .matched
        .iter()
        .filter(|&&(s, e)| s < line_end && e > line_start)
        .map(|&(s, e)| (s.max(line_start) - line_start, e.min(line_end) - line_start))
        .collect();
    let masked = crate::redact::mask_text(line, &spans, ctx.secrets);
    let focus = m.secret_start.saturating_sub(line_start);
    let clean = masked.trim();
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
