//! Runs the catalogue over decoded text: one Aho-Corasick pass over every rule's keywords decides
//! which rules can match at all, then only those rules' regexes run, and each candidate secret
//! goes through the rule's filters (allow-list, placeholders, entropy, validator, context).
//!
//! Where the match sits (lines, cells) and whether it is new or suppressed is decided by callers.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use super::catalogue::{CatalogueError, Compiled, Rule, Scope};
use super::filters;
use super::locality::Locality;
use crate::filekind::{Context, Kind};

/// The compiled catalogue.
pub struct Catalogue {
    pub rules: Vec<Rule>,
    /// Cheap to build: serves small inputs (a hook scanning a few files).
    prefilter: AhoCorasick,
    /// Three times dearer to build, faster to run: built once a run has scanned enough text.
    prefilter_dfa: OnceLock<AhoCorasick>,
    keywords: Vec<String>,
    scanned: AtomicU64,
    /// For each keyword pattern, the rules it enables.
    keyword_rules: Vec<Vec<u32>>,
    /// Rules without keywords: they run on every text.
    always: Vec<u32>,
    /// The regexes of `always` as one set, built on first use.
    always_set: OnceLock<Option<regex::bytes::RegexSet>>,
    /// Per rule: whether searching windows has been paying off.
    timing: Vec<Timing>,
}

/// One accepted match of one rule in one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub rule: usize,
    /// Byte range of the whole match.
    pub start: usize,
    pub end: usize,
    /// Byte range of the secret inside the text.
    pub secret_start: usize,
    pub secret_end: usize,
}

impl Catalogue {
    pub fn new(rules: Vec<Rule>) -> Result<Self, CatalogueError> {
        let mut seen = std::collections::HashSet::new();
        for r in &rules {
            if !seen.insert(r.id.as_str()) {
                return Err(CatalogueError::Duplicate(r.id.clone()));
            }
        }
        let mut keywords: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<u32>> = Vec::new();
        let mut always = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if r.keywords.is_empty() {
                always.push(i as u32);
            }
            for k in &r.keywords {
                match keywords.iter().position(|x| x == k) {
                    Some(p) => keyword_rules[p].push(i as u32),
                    None => {
                        keywords.push(k.clone());
                        keyword_rules.push(vec![i as u32]);
                    }
                }
            }
        }
        let prefilter =
            build_prefilter(&keywords, AhoCorasickKind::ContiguousNFA).map_err(|e| {
                CatalogueError::Invalid {
                    id: "(keywords)".into(),
                    message: e.to_string(),
                }
            })?;
        Ok(Catalogue {
            prefilter,
            prefilter_dfa: OnceLock::new(),
            keywords,
            scanned: AtomicU64::new(0),
            keyword_rules,
            timing: rules.iter().map(|_| Timing::default()).collect(),
            rules,
            always,
            always_set: OnceLock::new(),
        })
    }

    /// The rules whose keywords occur in `text`, with where, plus the keyword-less ones; in
    /// rule order.
    fn candidates(&self, text: &str) -> Vec<Candidate> {
        let mut out: Vec<Candidate> = self
            .always_matching(text)
            .into_iter()
            .map(|rule| Candidate {
                rule,
                hits: Vec::new(),
            })
            .collect();
        let mut slot: Vec<u32> = vec![u32::MAX; self.rules.len()];
        let before = self.scanned.fetch_add(text.len() as u64, Ordering::Relaxed);
        let prefilter = if before < DFA_AFTER_BYTES {
            &self.prefilter
        } else {
            self.prefilter_dfa.get_or_init(|| {
                build_prefilter(&self.keywords, AhoCorasickKind::DFA)
                    .unwrap_or_else(|_| self.prefilter.clone())
            })
        };
        for m in prefilter.find_overlapping_iter(text) {
            for &r in &self.keyword_rules[m.pattern().as_usize()] {
                let s = &mut slot[r as usize];
                if *s == u32::MAX {
                    *s = out.len() as u32;
                    out.push(Candidate {
                        rule: r,
                        hits: Vec::new(),
                    });
                }
                out[*s as usize].hits.push((m.start(), m.end()));
            }
        }
        out.sort_unstable_by_key(|c| c.rule);
        out
    }

    /// The keyword-less rules that can match `text` at all: one pass of a set of their regexes
    /// instead of one pass each (they would otherwise run over every byte of every text).
    fn always_matching(&self, text: &str) -> Vec<u32> {
        if self.always.len() < 2 {
            return self.always.clone();
        }
        let set = self.always_set.get_or_init(|| {
            let patterns: Vec<String> = self
                .always
                .iter()
                .map(|&r| super::catalogue::ascii_classes(&self.rules[r as usize].pattern))
                .collect();
            regex::bytes::RegexSetBuilder::new(patterns)
                .unicode(false)
                .size_limit(1 << 24)
                .build()
                .ok()
        });
        match set {
            Some(set) => set
                .matches(text.as_bytes())
                .into_iter()
                .map(|i| self.always[i])
                .collect(),
            None => self.always.clone(),
        }
    }

    /// Every accepted match in authored `text`, in rule order then position.
    pub fn scan(&self, text: &str, out: &mut Vec<Match>) {
        self.scan_kind(
            text,
            Context {
                kind: Kind::Authored,
                code: false,
            },
            out,
        )
    }

    /// Every accepted match in `text` of the given kind: lockfiles and generated code only get
    /// the rules whose format proves a secret. Escaped line breaks (`\n` inside a repr or a JSON
    /// string) are matched as the line breaks they stand for.
    pub fn scan_kind(&self, text: &str, ctx: Context, out: &mut Vec<Match>) {
        let unescaped = filters::unescape_breaks(text);
        let text = unescaped.as_deref().unwrap_or(text);
        for candidate in self.candidates(text) {
            let r = candidate.rule;
            let rule = &self.rules[r as usize];
            if !ctx.kind.is_authored() && rule.scope == Scope::Authored {
                continue;
            }
            let compiled = rule.compiled();
            let found = match compiled.locality {
                // Each window costs at least a restart: with hits this dense, one pass is cheaper
                // whatever the windows come to, and working them out would cost as much again.
                Some(l) if candidate.hits.len() * RESTART_COST < text.len() / 2 => {
                    self.timing[r as usize].find(compiled, text.as_bytes(), || {
                        windows(&l, text.as_bytes(), &candidate.hits)
                    })
                }
                _ => find_all(compiled, text.as_bytes()),
            };
            for (whole, secret) in found {
                // Byte regexes may stop inside a multi-byte character; widen to whole ones.
                let (start, end) = widen(text, whole.0, whole.1);
                let (s, e) = widen(text, secret.0, secret.1);
                let value = &text[s..e];
                if value.is_empty() || !accept(rule, value, text, ctx, (start, end), (s, e)) {
                    continue;
                }
                out.push(Match {
                    rule: r as usize,
                    start,
                    end,
                    secret_start: s,
                    secret_end: e,
                });
            }
        }
    }
}

/// A rule whose keywords occur in a text, with where they occur.
struct Candidate {
    rule: u32,
    /// Byte ranges of the keyword hits (empty for keyword-less rules).
    hits: Vec<(usize, usize)>,
}

/// A match's whole range and its secret's range.
type Found = Vec<((usize, usize), (usize, usize))>;

fn found(
    compiled: &Compiled,
    caps: &regex::bytes::Captures<'_>,
) -> ((usize, usize), (usize, usize)) {
    let whole = caps.get(0).expect("group 0 always participates");
    let secret = caps.get(compiled.secret_group).unwrap_or(whole);
    ((whole.start(), whole.end()), (secret.start(), secret.end()))
}

fn find_all(compiled: &Compiled, text: &[u8]) -> Found {
    compiled
        .regex
        .captures_iter(text)
        .map(|caps| found(compiled, &caps))
        .collect()
}

/// The merged windows around `hits` that hold every match.
fn windows(l: &Locality, text: &[u8], hits: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut w: Vec<(usize, usize)> = hits.iter().map(|&(s, e)| l.window(text, s, e)).collect();
    w.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(w.len());
    for (from, to) in w {
        match merged.last_mut() {
            // Windows one byte apart merge too: each is searched with one byte of look-ahead.
            Some(last) if from <= last.1 + 1 => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    merged
}

/// Whether searching `windows` reads clearly less than one pass over the whole text.
fn worth_windowing(windows: &[(usize, usize)], len: usize) -> bool {
    // Each restart of the regex costs about as much as reading a few hundred bytes.
    let cost: usize = windows.iter().map(|(a, b)| b - a + RESTART_COST).sum();
    !windows.is_empty() && cost < len / 2
}

/// Searching windows is exact but not always faster: a regex that can skip to a literal of its
/// own (`/` inside every match) reads a whole text faster than it restarts around hundreds of
/// keyword hits. Which is faster depends on the rule and on the texts, so it is measured: every
/// [`SAMPLE_EVERY`]th windowed search of a rule runs both ways (the results are the same) and
/// adds up their times, and the others take the way that has been faster so far.
#[derive(Default)]
struct Timing {
    searches: AtomicU64,
    whole_ns: AtomicU64,
    windows_ns: AtomicU64,
}

const SAMPLE_EVERY: u64 = 16;

impl Timing {
    /// The matches of `compiled` in `text`, searching the windows `windows` works out (which
    /// hold every match) or the whole text, whichever has been faster for this rule.
    fn find(
        &self,
        compiled: &Compiled,
        text: &[u8],
        windows: impl FnOnce() -> Vec<(usize, usize)>,
    ) -> Found {
        let windowed = |windows: Vec<(usize, usize)>| {
            worth_windowing(&windows, text.len())
                .then(|| find_in_windows(compiled, text, &windows))
                .flatten()
        };
        let n = self.searches.fetch_add(1, Ordering::Relaxed);
        if n.is_multiple_of(SAMPLE_EVERY) {
            let t0 = Instant::now();
            let whole = find_all(compiled, text);
            let t1 = Instant::now();
            // Working the windows out is part of what searching them costs; where they were not
            // worth it, the whole search is too.
            let found = windowed(windows());
            let t2 = Instant::now();
            let whole_ns = (t1 - t0).as_nanos() as u64;
            let windows_ns =
                (t2 - t1).as_nanos() as u64 + if found.is_none() { whole_ns } else { 0 };
            self.whole_ns.fetch_add(whole_ns, Ordering::Relaxed);
            self.windows_ns.fetch_add(windows_ns, Ordering::Relaxed);
            debug_assert!(found.as_ref().is_none_or(|w| *w == whole));
            return whole;
        }
        if self.windows_ns.load(Ordering::Relaxed) <= self.whole_ns.load(Ordering::Relaxed) {
            if let Some(found) = windowed(windows()) {
                return found;
            }
        }
        find_all(compiled, text)
    }
}

/// Bytes of reading that one restart of a regex search costs, roughly.
const RESTART_COST: usize = 256;

/// The same matches as [`find_all`], searching only `windows`, which hold every match (see
/// [`Locality`]). Each window is searched with the text before it as look-behind and one byte
/// after it as look-ahead, which is all `\b` and `$` need. A match that reaches past that byte
/// could only come from cutting the text short: then `None`, and the caller searches it all.
fn find_in_windows(compiled: &Compiled, text: &[u8], windows: &[(usize, usize)]) -> Option<Found> {
    let mut out = Vec::new();
    for &(from, to) in windows {
        let hay = &text[..(to + 1).min(text.len())];
        let mut at = from;
        while at <= to {
            let Some(caps) = compiled.regex.captures_at(hay, at) else {
                break;
            };
            let (whole, secret) = found(compiled, &caps);
            if whole.1 == hay.len() && hay.len() < text.len() {
                return None;
            }
            out.push((whole, secret));
            at = if whole.1 > whole.0 {
                whole.1
            } else {
                whole.1 + 1
            };
        }
    }
    Some(out)
}

/// The smallest character-aligned range around `start..end`.
fn widen(text: &str, mut start: usize, mut end: usize) -> (usize, usize) {
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    while !text.is_char_boundary(end) {
        end += 1;
    }
    (start, end)
}

/// After this many bytes the overlapping keyword pass (the hottest loop of a large scan) switches
/// to a full DFA; below it, building the DFA would cost more than it saves.
const DFA_AFTER_BYTES: u64 = 2 << 20;

fn build_prefilter(
    keywords: &[String],
    kind: AhoCorasickKind,
) -> Result<AhoCorasick, aho_corasick::BuildError> {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .kind(Some(kind))
        .match_kind(MatchKind::Standard)
        .build(keywords)
}

fn accept(
    rule: &Rule,
    secret: &str,
    text: &str,
    ctx: Context,
    (start, end): (usize, usize),
    (secret_start, secret_end): (usize, usize),
) -> bool {
    let compiled = rule.compiled();
    if compiled.allow.iter().any(|a| a.is_match(secret.as_bytes())) {
        return false;
    }
    if rule.placeholder_check && filters::is_placeholder(secret) {
        return false;
    }
    if compiled
        .allow_match
        .iter()
        .any(|a| a.is_match(&text.as_bytes()[start..end]))
    {
        return false;
    }
    // A name next to a value is only evidence when the value is a literal: not a reference to
    // a secret kept elsewhere, not a piece of a string being assembled.
    if rule.scope == Scope::Authored && filters::is_reference(text, start, secret_start, secret_end)
    {
        return false;
    }
    if rule.scope == Scope::Authored
        && (filters::is_token_in_prose(text, start, end) || filters::is_in_invite_link(text, start))
    {
        return false;
    }
    if rule.outside_strings && ctx.code && filters::inside_double_quotes(text, start) {
        return false;
    }
    if let Some(min) = rule.entropy {
        if filters::entropy(secret) < min {
            return false;
        }
    }
    if let Some(v) = rule.validator {
        if !v.check(secret) {
            return false;
        }
    }
    if let Some((re, lines)) = &compiled.context {
        if !re.is_match(window(text, start, end, *lines).as_bytes()) {
            return false;
        }
    }
    true
}

/// The text from `lines` lines before `start` to `lines` lines after `end`.
fn window(text: &str, start: usize, end: usize, lines: usize) -> &str {
    let b = text.as_bytes();
    let mut from = start;
    for _ in 0..=lines {
        match memchr::memrchr(b'\n', &b[..from]) {
            Some(p) => from = p,
            None => {
                from = 0;
                break;
            }
        }
    }
    let mut to = end;
    for _ in 0..=lines {
        match memchr::memchr(b'\n', &b[to.min(b.len())..]) {
            Some(p) => to = to + p + 1,
            None => {
                to = b.len();
                break;
            }
        }
    }
    let mut to = to.min(b.len());
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    while !text.is_char_boundary(to) {
        to += 1;
    }
    &text[from..to]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every built-in rule whose windows are proven gives the same matches searching only its
    /// windows as searching the whole text, on texts made of its own examples among filler that
    /// mentions its keywords elsewhere.
    #[test]
    fn windowed_search_finds_exactly_what_a_whole_search_finds() {
        let rules: Vec<Rule> = super::super::catalogue::builtin_raw()
            .expect("built-in rules parse")
            .iter()
            .map(|r| r.compile().expect("built-in rules compile"))
            .collect();
        let mut windowed = 0;
        for rule in &rules {
            let compiled = rule.compiled();
            let Some(locality) = compiled.locality else {
                continue;
            };
            windowed += 1;
            let catalogue = Catalogue::new(vec![rule.clone()]).expect("one rule");
            let mut text = String::new();
            for (i, example) in rule
                .examples
                .iter()
                .chain(&rule.negative_examples)
                .enumerate()
            {
                for k in &rule.keywords {
                    text.push_str(&format!("filler {i} mentions {k} in passing\n"));
                }
                text.push_str(&"padding without any of them\n".repeat(20));
                text.push_str(example);
                text.push('\n');
                // The same with blank lines where a name meets its value.
                text.push_str(&example.replace("= ", "=\n\n  ").replace(": ", ":\n \n"));
                text.push('\n');
            }
            let hits: Vec<(usize, usize)> = catalogue
                .candidates(&text)
                .into_iter()
                .flat_map(|c| c.hits)
                .collect();
            let whole = find_all(compiled, text.as_bytes());
            let w = windows(&locality, text.as_bytes(), &hits);
            if let Some(found) = find_in_windows(compiled, text.as_bytes(), &w) {
                assert_eq!(found, whole, "{}", rule.id);
            }
            assert!(
                rule.examples.is_empty() || !whole.is_empty(),
                "{}: its examples match",
                rule.id
            );
        }
        assert!(windowed >= 20, "only {windowed} rules are windowed");
    }
}
