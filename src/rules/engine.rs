//! Runs the catalogue over decoded text: one Aho-Corasick pass over every rule's keywords decides
//! which rules can match at all, then only those rules' regexes run, and each candidate secret
//! goes through the rule's filters (allow-list, placeholders, entropy, validator, context).
//!
//! Where the match sits (lines, cells) and whether it is new or suppressed is decided by callers.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use super::catalogue::{CatalogueError, Rule, Scope};
use super::filters;
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
            rules,
            prefilter,
            prefilter_dfa: OnceLock::new(),
            keywords,
            scanned: AtomicU64::new(0),
            keyword_rules,
            always,
            always_set: OnceLock::new(),
        })
    }

    /// The rules whose keywords occur in `text`, plus the keyword-less ones.
    fn candidates(&self, text: &str, hit: &mut Vec<bool>) -> Vec<u32> {
        hit.clear();
        hit.resize(self.rules.len(), false);
        let mut out = self.always_matching(text);
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
                if !hit[r as usize] {
                    hit[r as usize] = true;
                    out.push(r);
                }
            }
        }
        out.sort_unstable();
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
        let mut hit = Vec::new();
        for r in self.candidates(text, &mut hit) {
            let rule = &self.rules[r as usize];
            if !ctx.kind.is_authored() && rule.scope == Scope::Authored {
                continue;
            }
            let compiled = rule.compiled();
            for caps in compiled.regex.captures_iter(text.as_bytes()) {
                let whole = caps.get(0).expect("group 0 always participates");
                let secret = caps.get(compiled.secret_group).unwrap_or(whole);
                // Byte regexes may stop inside a multi-byte character; widen to whole ones.
                let (start, end) = widen(text, whole.start(), whole.end());
                let (s, e) = widen(text, secret.start(), secret.end());
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
    let to = to.min(b.len());
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    let mut to = to;
    while !text.is_char_boundary(to) {
        to += 1;
    }
    &text[from..to]
}
