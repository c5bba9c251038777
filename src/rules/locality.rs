//! Where a rule's matches can lie relative to its keyword hits, worked out from the regex.
//!
//! The keyword prefilter says which rules can match a text; running each such rule's regex over
//! the whole text was most of an audit's matching time: the generic rules (`[A-Za-z0-9_.-]*` before
//! `token`, `secret`, `key`…) have no literal for the regex engine to skip to, so every mention
//! of `key` in a notebook made each of them read all of it. When every match of a rule's regex
//! must contain one of its keywords, and the match is bounded in length or in the line breaks it
//! can cross, a match can only lie in a window around a keyword hit, and the regex needs to run
//! only there. Both facts are proven from the parsed regex, never assumed: a rule that cannot be
//! proven runs over the whole text as before, so windows change how much is read, never what is
//! found.
//!
//! Line breaks are counted in *breaks*: a maximal run of whitespace holding one or more line
//! breaks. `\s*` between a name and its value can cross any number of blank lines, but all of
//! them within one such run, so `token\s*=\s*"…"` crosses at most two breaks however many
//! empty lines it spans.

use regex_syntax::hir::{Class, Hir, HirKind};

/// Matches longer than this are not worth windowing by length.
const MAX_WINDOWED_LEN: usize = 2048;

/// Matches that may cross more breaks than this are not windowed by lines.
const MAX_WINDOWED_BREAKS: usize = 6;

/// Expanding literal alternatives stops at this many strings.
const MAX_STRINGS: usize = 64;

/// Where the matches of a rule lie relative to the keyword hits in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locality {
    /// Every match is at most this long.
    pub max_len: Option<usize>,
    /// No match crosses more breaks (whitespace runs holding line breaks) than this; 0: matches
    /// stay within a line.
    pub max_breaks: Option<usize>,
}

impl Locality {
    /// The analysis for `pattern` (as compiled: ASCII classes, no Unicode) and its keywords
    /// (lowercase); `None` when matches are not tied to keyword hits.
    pub fn of(pattern: &str, keywords: &[String]) -> Option<Locality> {
        if keywords.is_empty() {
            return None;
        }
        let hir = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
            .parse(pattern)
            .ok()?;
        if !covers(&hir, keywords) || has_literal_prefix(&hir) {
            return None;
        }
        let locality = Locality {
            max_len: hir
                .properties()
                .maximum_len()
                .filter(|&n| n <= MAX_WINDOWED_LEN),
            max_breaks: breaks(&hir).filter(|&n| n <= MAX_WINDOWED_BREAKS),
        };
        (locality.max_len.is_some() || locality.max_breaks.is_some()).then_some(locality)
    }

    /// The byte range a match containing the keyword hit `start..end` must lie in.
    pub fn window(&self, text: &[u8], start: usize, end: usize) -> (usize, usize) {
        let (mut from, mut to) = (0, text.len());
        if let Some(n) = self.max_len {
            from = end.saturating_sub(n);
            to = (start + n).min(text.len());
        }
        if let Some(k) = self.max_breaks {
            from = from.max(breaks_before(text, start, k));
            to = to.min(breaks_after(text, end, k));
        }
        (from, to)
    }
}

/// The whitespace a break is made of (a superset of every class [`breaks`] counts as one).
fn is_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

/// Where a match holding `start` and crossing at most `k` breaks can begin: at the last line
/// break of the (k+1)th break before `start`, or later.
fn breaks_before(text: &[u8], start: usize, k: usize) -> usize {
    let mut at = start;
    for crossed in 0..=k {
        let Some(newline) = memchr::memrchr(b'\n', &text[..at]) else {
            return 0;
        };
        if crossed == k {
            return newline;
        }
        at = newline;
        while at > 0 && is_space(text[at - 1]) {
            at -= 1;
        }
    }
    unreachable!("the loop returns on its last round")
}

/// Where a match holding `end` and crossing at most `k` breaks must have ended: just after the
/// first line break of the (k+1)th break after `end`, or earlier.
fn breaks_after(text: &[u8], end: usize, k: usize) -> usize {
    let mut at = end;
    for crossed in 0..=k {
        let Some(newline) = memchr::memchr(b'\n', &text[at.min(text.len())..]).map(|p| at + p)
        else {
            return text.len();
        };
        if crossed == k {
            return newline + 1;
        }
        at = newline + 1;
        while at < text.len() && is_space(text[at]) {
            at += 1;
        }
    }
    unreachable!("the loop returns on its last round")
}

/// Whether the regex engine can skip to a literal every match starts with: it then finds
/// matches faster over the whole text than by being restarted around each keyword hit.
/// (The same test the regex engine makes when it picks a prefilter.)
fn has_literal_prefix(hir: &Hir) -> bool {
    use regex_automata::util::prefilter::Prefilter;
    Prefilter::from_hir_prefix(regex_automata::MatchKind::LeftmostFirst, hir)
        .is_some_and(|p| p.is_fast())
}

/// Whether every match of `hir` contains one of `keywords` (ASCII case-insensitively).
fn covers(hir: &Hir, keywords: &[String]) -> bool {
    if let Some(set) = strings(hir) {
        return !set.is_empty() && set.iter().all(|s| has_keyword(s, keywords));
    }
    match hir.kind() {
        HirKind::Capture(c) => covers(&c.sub, keywords),
        HirKind::Repetition(r) => r.min >= 1 && covers(&r.sub, keywords),
        HirKind::Alternation(alts) => alts.iter().all(|a| covers(a, keywords)),
        HirKind::Concat(parts) => {
            if parts.iter().any(|p| covers(p, keywords)) {
                return true;
            }
            // A keyword may be spelled by consecutive parts (`auth`, `_?`, `token`).
            for i in 0..parts.len() {
                let mut run: Vec<Vec<u8>> = vec![Vec::new()];
                for part in &parts[i..] {
                    let Some(next) = strings(part).and_then(|s| product(&run, &s)) else {
                        break;
                    };
                    run = next;
                    if run.iter().all(|s| has_keyword(s, keywords)) {
                        return true;
                    }
                }
            }
            false
        }
        _ => false,
    }
}

fn has_keyword(s: &[u8], keywords: &[String]) -> bool {
    keywords
        .iter()
        .any(|k| !k.is_empty() && s.windows(k.len()).any(|w| w == k.as_bytes()))
}

/// Every string `hir` can match, lowercased, when they are few and `hir` has no repetition
/// beyond a couple of copies.
fn strings(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(vec![Vec::new()]),
        HirKind::Literal(l) => Some(vec![l.0.to_ascii_lowercase()]),
        HirKind::Class(c) => {
            let mut bytes: Vec<u8> = Vec::new();
            match c {
                Class::Bytes(b) => {
                    for r in b.ranges() {
                        if (r.end() - r.start()) as usize >= MAX_STRINGS {
                            return None;
                        }
                        bytes.extend((r.start()..=r.end()).map(|x| x.to_ascii_lowercase()));
                    }
                }
                Class::Unicode(u) => {
                    for r in u.ranges() {
                        if !r.end().is_ascii() || (r.end() as u32 - r.start() as u32) >= 64 {
                            return None;
                        }
                        bytes.extend(
                            (r.start() as u8..=r.end() as u8).map(|x| x.to_ascii_lowercase()),
                        );
                    }
                }
            }
            bytes.sort_unstable();
            bytes.dedup();
            (bytes.len() <= 4).then(|| bytes.into_iter().map(|b| vec![b]).collect())
        }
        HirKind::Capture(c) => strings(&c.sub),
        HirKind::Repetition(r) => {
            let max = r.max?;
            if max > 2 {
                return None;
            }
            let one = strings(&r.sub)?;
            let mut out = Vec::new();
            let mut copies: Vec<Vec<u8>> = vec![Vec::new()];
            for n in 0..=max {
                if n >= r.min {
                    out.extend(copies.iter().cloned());
                }
                copies = product(&copies, &one)?;
            }
            dedup(out)
        }
        HirKind::Concat(parts) => {
            let mut out: Vec<Vec<u8>> = vec![Vec::new()];
            for p in parts {
                out = product(&out, &strings(p)?)?;
            }
            Some(out)
        }
        HirKind::Alternation(alts) => {
            let mut out = Vec::new();
            for a in alts {
                out.extend(strings(a)?);
            }
            dedup(out)
        }
    }
}

fn product(a: &[Vec<u8>], b: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if a.len() * b.len() > MAX_STRINGS {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            let mut s = x.clone();
            s.extend_from_slice(y);
            out.push(s);
        }
    }
    Some(out)
}

fn dedup(mut v: Vec<Vec<u8>>) -> Option<Vec<Vec<u8>>> {
    v.sort_unstable();
    v.dedup();
    (v.len() <= MAX_STRINGS).then_some(v)
}

/// The most breaks a match of `hir` can cross, if bounded. A repetition of a class of
/// whitespace matches one run of it, so it crosses one break at most however long it is.
fn breaks(hir: &Hir) -> Option<usize> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(0),
        HirKind::Literal(l) => Some(l.0.iter().filter(|&&b| b == b'\n').count()),
        HirKind::Class(c) => Some(usize::from(class_has(c, |b| b == b'\n'))),
        HirKind::Capture(c) => breaks(&c.sub),
        HirKind::Repetition(r) => match (breaks(&r.sub)?, r.max, r.sub.kind()) {
            (0, _, _) | (_, Some(0), _) => Some(0),
            (_, _, HirKind::Class(c)) if class_all(c, is_space) => Some(1),
            (n, Some(max), _) => n.checked_mul(max as usize),
            (_, None, _) => None,
        },
        HirKind::Concat(parts) => parts
            .iter()
            .try_fold(0usize, |sum, p| Some(sum + breaks(p)?)),
        HirKind::Alternation(alts) => alts
            .iter()
            .try_fold(0usize, |most, a| Some(most.max(breaks(a)?))),
    }
}

/// Whether some byte of the class passes `f` (non-ASCII members never do).
fn class_has(c: &Class, f: impl Fn(u8) -> bool) -> bool {
    match c {
        Class::Bytes(b) => b.ranges().iter().any(|r| (r.start()..=r.end()).any(&f)),
        Class::Unicode(u) => u
            .ranges()
            .iter()
            .any(|r| (r.start() as u32..=(r.end() as u32).min(0x7f)).any(|x| f(x as u8))),
    }
}

/// Whether every member of the class is a byte passing `f`.
fn class_all(c: &Class, f: impl Fn(u8) -> bool) -> bool {
    let ascii = match c {
        Class::Bytes(_) => true,
        Class::Unicode(u) => u.ranges().iter().all(|r| r.end().is_ascii()),
    };
    ascii && !class_has(c, |b| !f(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(pattern: &str, keywords: &[&str]) -> Option<Locality> {
        let keywords: Vec<String> = keywords.iter().map(|k| k.to_string()).collect();
        Locality::of(&crate::rules::catalogue::ascii_classes(pattern), &keywords)
    }

    #[test]
    fn a_keyword_inside_every_match_ties_matches_to_hits() {
        let l = of(r"\b([0-9]{13}:[a-f0-9]{32})\b", &[":"]).expect("windowed");
        assert_eq!(l.max_len, Some(46));
        assert_eq!(l.max_breaks, Some(0));
        // Spelled across optional parts and case-insensitive letters.
        assert!(of(
            r"(?i)[a-z]*auth_?token[ \t]*=[ \t]*([a-f0-9]{32})",
            &["auth_token", "authtoken"]
        )
        .is_some());
        // Every alternative has to carry a keyword.
        assert!(of(r"[a-z]?(?:key-|tok_)[a-f0-9]{32}", &["key-", "tok_"]).is_some());
        assert!(of(r"[a-z]?(?:key-|tok_)[a-f0-9]{32}", &["key-"]).is_none());
    }

    #[test]
    fn a_literal_prefix_is_left_to_the_regex_engine() {
        assert!(of(r"\b(AC[a-f0-9]{32})\b", &["ac"]).is_none());
        assert!(of(r"(?:^|[^a-z])(AC[a-f0-9]{32})\b", &["ac"]).is_some());
    }

    #[test]
    fn keywords_that_only_gate_the_text_do_not_window() {
        // The keyword is context, not part of the match.
        assert!(of(r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b", &["ssn"]).is_none());
        // An optional keyword proves nothing.
        assert!(of(r"(?:twilio_)?[a-f0-9]{32}", &["twilio"]).is_none());
        assert!(of(r"x{0,3}[a-f]{8}", &["x"]).is_none());
        assert!(of(r"[a-f]{8}", &[]).is_none());
    }

    #[test]
    fn line_breaks_are_counted_in_whitespace_runs() {
        assert!(of(r"[a-z]*token=[^;]*;", &["token"]).is_none());
        // Each whitespace run is one break, however many blank lines it spans.
        let l = of(r"[a-z]*token\s*=\s*(\S+)", &["token"]).expect("two breaks");
        assert_eq!(l.max_breaks, Some(2));
        let l = of(r"[a-z]*token[ \t]*=[ \t]*([^\s]+)", &["token"]).expect("one line");
        assert_eq!(l.max_len, None);
        assert_eq!(l.max_breaks, Some(0));
        let l = of(
            r"(?:^|[^a-z])[a-z]*token[ \t]*=[ \t]*([^\s]+)(?:$|[^a-z])",
            &["token"],
        )
        .expect("two");
        assert_eq!(l.max_breaks, Some(2));
        let l = of(r"[a-z]?token\s{0,4}=\s{0,4}([a-z]{8})", &["token"]).expect("bounded");
        assert_eq!(l.max_len, Some(23));
        assert_eq!(l.max_breaks, Some(2));
        // A class that is not all whitespace counts each line break it may take.
        assert_eq!(
            of(r"[a-z]?token(?:=|[:\n]){0,3}([a-z]{8})", &["token"]).and_then(|l| l.max_breaks),
            Some(3)
        );
    }

    #[test]
    fn windows_hold_every_match_around_a_hit() {
        let text = b"first line\nsecret: tok_0123abcd here\nlast";
        let hit = 19; // "tok_"
        let lines = |k| Locality {
            max_len: None,
            max_breaks: Some(k),
        };
        assert_eq!(lines(0).window(text, hit, hit + 4), (10, 37));
        // One more line each way, line breaks included.
        assert_eq!(lines(1).window(text, hit, hit + 4), (0, text.len()));
        let both = Locality {
            max_len: Some(12),
            max_breaks: Some(0),
        };
        assert_eq!(both.window(text, hit, hit + 4), (11, 31));
        let bounded = Locality {
            max_len: Some(30),
            max_breaks: None,
        };
        assert_eq!(bounded.window(text, hit, hit + 4), (0, text.len()));
        let middle = b"a\nb\nc token d\ne\nf";
        assert_eq!(lines(1).window(middle, 6, 11), (1, 16));
        // Blank lines and indentation between a name and its value are one break.
        let spread = b"x = 1\ntoken\n\n   \n  = 'abc'\nnext\n";
        assert_eq!(lines(1).window(spread, 6, 11), (0, 27));
    }
}
