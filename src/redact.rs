//! The masking path: whatever a report shows that was taken from a scanned file (the line around
//! a finding, a cell id, an output's name) goes through here first. Every occurrence of every
//! secret that any rule matched in the text is masked, whether its finding was kept, merged into
//! another or suppressed, and so is any other token that looks like a credential: a snippet is
//! there to show where a finding is, and a key that no rule recognised must not ride along in it.
//! Control characters are replaced too, so scanned content cannot drive a terminal.
//!
//! `--reveal` is the only way around this, and it only ever reveals the finding's own secret.

use crate::finding::mask;
use crate::rules::filters::entropy;

/// `text` with the byte ranges `spans` (secrets matched in it, possibly cut by the ends of the
/// text) and every occurrence of each of `secrets` masked, as well as tokens that look like
/// credentials; control characters become spaces.
pub fn mask_text(text: &str, spans: &[(usize, usize)], secrets: &[&str]) -> String {
    let mut ranges: Vec<(usize, usize)> = spans
        .iter()
        .map(|&(s, e)| (s.min(text.len()), e.min(text.len())))
        .filter(|&(s, e)| s < e && text.is_char_boundary(s) && text.is_char_boundary(e))
        .collect();
    for secret in secrets.iter().filter(|s| s.len() >= MIN_OCCURRENCE) {
        ranges.extend(text.match_indices(secret).map(|(at, m)| (at, at + m.len())));
    }
    ranges.extend(credential_like(text));
    ranges.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut i = 0;
    while i < ranges.len() {
        let (start, mut end) = ranges[i];
        // Overlapping ranges are masked as one.
        while i + 1 < ranges.len() && ranges[i + 1].0 < end {
            end = end.max(ranges[i + 1].1);
            i += 1;
        }
        i += 1;
        if start < at {
            continue;
        }
        out.push_str(&text[at..start]);
        out.push_str(&mask(&text[start..end]));
        at = end;
    }
    out.push_str(&text[at..]);
    out.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Shorter values are not searched for elsewhere in a line: a three-letter match would mask
/// ordinary words. (The match itself is still masked through its span.)
const MIN_OCCURRENCE: usize = 4;

/// Byte ranges of tokens that look like credentials: runs of key characters with the entropy of
/// random text, either long (16+) and mixing letters and digits, or shorter (12+) and mixing
/// upper case, lower case and digits as passwords do. Identifiers and words have too little of
/// one or the other; a masked hash in a snippet costs nothing.
fn credential_like(text: &str) -> Vec<(usize, usize)> {
    let is_key_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'_' | b'-');
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !is_key_char(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_key_char(b[i]) {
            i += 1;
        }
        let token = &text[start..i];
        let count = |f: fn(&u8) -> bool| token.bytes().filter(f).count();
        let (digits, upper, lower) = (
            count(u8::is_ascii_digit),
            count(u8::is_ascii_uppercase),
            count(u8::is_ascii_lowercase),
        );
        let long = token.len() >= 16 && digits >= 2 && upper + lower >= 4 && entropy(token) >= 3.5;
        let password =
            token.len() >= 12 && digits >= 2 && upper >= 2 && lower >= 2 && entropy(token) >= 3.0;
        if long || password {
            out.push((start, i));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_occurrence_and_every_span_is_masked() {
        let key = ["AKIA", "Z7QRT2XKPL4MW3VN"].concat();
        let line = format!("k = '{key}'  # same as {key}");
        let out = mask_text(&line, &[(5, 25)], &[&key]);
        assert!(!out.contains(&key), "{out}");
        assert_eq!(out.matches("AKIA…[20 chars]").count(), 2, "{out}");
    }

    #[test]
    fn random_looking_tokens_are_masked_and_words_are_not() {
        let token = ["xq7", "Lm2Pw9", "Rt4Kz8Vn3"].concat();
        let out = mask_text(
            &format!("print({token}) # model_name_v2 rows=120"),
            &[],
            &[],
        );
        assert!(!out.contains(&token), "{out}");
        let pw = ["bc91", "6WfhCbJL7q"].concat();
        assert!(!mask_text(&format!("pw = {pw}"), &[], &[]).contains(&pw));
        assert!(mask_text("df_2024_sales_final", &[], &[]).contains("df_2024_sales_final"));
        assert!(out.contains("model_name_v2 rows=120"), "{out}");
        assert_eq!(mask_text("a\u{1b}[31mb", &[], &[]), "a [31mb");
    }
}
