//! The expressions file for `git filter-repo --replace-text`: one line per secret an audit found.
//! A value whose raw form in a file may differ from its decoded form (a notebook stores strings
//! JSON-escaped, and splits multi-line values into a list of lines) becomes a regular expression
//! that matches every such form; anything else is a plain literal.

use crate::finding::Finding;

/// What each secret is replaced with.
pub const REPLACEMENT: &str = "***REMOVED***";

/// The expressions for every active credential among `findings`, one line each, sorted, without
/// duplicates. Personal data is left out: replacing names or addresses everywhere in history
/// would rewrite far more than the leak.
pub fn replacement_lines<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Vec<String> {
    let mut lines: Vec<String> = findings
        .into_iter()
        .filter(|f| f.is_active() && f.rule.starts_with("secret.") && !f.secret.is_empty())
        .map(|f| line_for(&f.secret))
        .collect();
    lines.sort();
    lines.dedup();
    lines
}

fn line_for(secret: &str) -> String {
    let plain = !secret.contains("==>")
        && !secret.starts_with("regex:")
        && !secret.starts_with("glob:")
        && !secret.starts_with("literal:")
        && secret
            .chars()
            .all(|c| !c.is_control() && !needs_json_escape(c));
    if plain {
        format!("{secret}==>{REPLACEMENT}")
    } else {
        format!("regex:{}==>{REPLACEMENT}", pattern(secret))
    }
}

/// Characters JSON writes in another form (`\"`, `\\`, `\/`, `\n`, ...).
fn needs_json_escape(c: char) -> bool {
    matches!(c, '"' | '\\' | '/')
}

/// A Python `re` pattern (filter-repo runs it over bytes) matching the value as written in plain
/// text and as written inside a notebook's JSON.
fn pattern(secret: &str) -> String {
    let mut p = String::new();
    for c in secret.chars() {
        match c {
            '"' => p.push_str(r#"(?:"|\\")"#),
            '\\' => p.push_str(r"(?:\\|\\\\)"),
            '/' => p.push_str(r"(?:/|\\/)"),
            // A newline, escaped, or the end of one element of a list of lines and the start of
            // the next.
            '\n' => p.push_str(r#"(?:\n|\\n(?:"\s*,\s*")?)"#),
            '\r' => p.push_str(r"(?:\r|\\r)"),
            '\t' => p.push_str(r"(?:\t|\\t)"),
            c if c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii() => p.push(c),
            c if c.is_ascii_control() => p.push_str(&format!(r"\x{:02x}", c as u32)),
            c => {
                p.push('\\');
                p.push(c);
            }
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_are_literals_and_others_regexes() {
        assert_eq!(line_for("Zq8-x.y"), "Zq8-x.y==>***REMOVED***");
        assert_eq!(line_for("ab/cd"), r"regex:ab(?:/|\\/)cd==>***REMOVED***");
        let pem = line_for("-----BEGIN K-----\nMIIE\n-----END K-----");
        assert!(pem.starts_with("regex:"), "{pem}");
        assert!(!pem.contains('\n'));
        assert_eq!(line_for("a==>b"), r"regex:a\=\=\>b==>***REMOVED***");
    }
}
