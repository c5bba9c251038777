//! Python source, read just enough to rewrite a credential safely: is the secret a whole string
//! literal standing on its own (not part of a larger string, not in a comment, not concatenated
//! implicitly), which name is it given (variable, keyword argument, dict key, subscript), where
//! can `import os` go, and is `os` already imported. No parser: a line-level reading that refuses
//! whenever it is unsure, because a refusal is listed and a wrong rewrite breaks the user's code.

use regex::Regex;
use std::sync::LazyLock;

/// A string literal that is exactly the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Literal {
    /// Byte range of the literal in the text, prefix and quotes included.
    pub start: usize,
    pub end: usize,
    /// The quote character it was written with (the rewrite uses the same).
    pub quote: char,
    /// The name the value is given, if any.
    pub name: Option<String>,
}

/// Finds the literal around `text[start..end]` (the secret) or says why it cannot be rewritten.
pub(crate) fn literal_at(text: &str, start: usize, end: usize) -> Result<Literal, &'static str> {
    let b = text.as_bytes();
    let line_start = text[..start].rfind('\n').map_or(0, |p| p + 1);
    let line_end = text[end..].find('\n').map_or(text.len(), |p| end + p);
    if text[start..end].contains(['\\', '\n']) {
        return Err("the value spans lines or holds escapes");
    }
    let quote = match (start.checked_sub(1).map(|i| b[i]), b.get(end)) {
        (Some(q @ (b'"' | b'\'')), Some(&c)) if c == q => q,
        _ => return Err("the secret is part of a larger string or expression"),
    };
    let open = start - 1;
    if open > line_start && b[open - 1] == quote {
        return Err("triple-quoted or adjacent string");
    }
    // A string prefix (r, u, f, b and their combinations) sits right before the opening quote.
    let mut lit_start = open;
    while lit_start > line_start && b[lit_start - 1].is_ascii_alphabetic() {
        lit_start -= 1;
    }
    let prefix = text[lit_start..open].to_ascii_lowercase();
    if !matches!(prefix.as_str(), "" | "r" | "u") {
        if prefix.len() <= 2 && prefix.chars().all(|c| "rubf".contains(c)) {
            return Err(if prefix.contains('b') {
                "a bytes literal"
            } else {
                "an f-string"
            });
        }
        return Err("the secret is part of a larger string or expression");
    }
    let before = &text[line_start..lit_start];
    match string_state(before) {
        State::Code => {}
        State::Comment => return Err("in a comment"),
        State::InString => return Err("the secret is part of a larger string or expression"),
    }
    if before.trim_end().ends_with(['"', '\'']) {
        return Err("implicitly concatenated with another string");
    }
    let after = text[end + 1..line_end].trim_start();
    let rest = after.trim_start_matches(|c: char| "rRuUbBfF".contains(c));
    let next_is_string = after.len() - rest.len() <= 2 && rest.starts_with(['"', '\'']);
    if next_is_string {
        return Err("implicitly concatenated with another string");
    }
    Ok(Literal {
        start: lit_start,
        end: end + 1,
        quote: quote as char,
        name: name_before(before),
    })
}

enum State {
    Code,
    Comment,
    InString,
}

/// Whether the end of `prefix` (a line up to a point) is in code, in a comment or in a string.
fn string_state(prefix: &str) -> State {
    let mut quote: Option<char> = None;
    let mut chars = prefix.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '#') => return State::Comment,
            (None, '"' | '\'') => quote = Some(c),
            (None, _) => {}
        }
    }
    if quote.is_some() {
        State::InString
    } else {
        State::Code
    }
}

static ASSIGNED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*[A-Za-z_][A-Za-z0-9_\[\]., ]*)?(?::=|=)\s*$")
        .expect("a valid regex")
});
static KEYED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"["']([A-Za-z_][A-Za-z0-9_. -]*)["']\s*(?:\]\s*=|:)\s*$"#).expect("a valid regex")
});

/// The name a literal is given by what precedes it on its line: `name =`, `name: str =`,
/// `f(name=`, `{"name":`, `cfg["name"] =`. Comparisons (`==`, `<=`, `!=`) give none.
fn name_before(before: &str) -> Option<String> {
    if let Some(c) = KEYED.captures(before) {
        return Some(c[1].to_string());
    }
    let c = ASSIGNED.captures(before)?;
    let eq = c.get(0).map_or(0, |m| m.end());
    let op = before[..eq].trim_end();
    let prev = op[..op.len() - 1].chars().last();
    if matches!(prev, Some('=' | '!' | '<' | '>')) {
        return None;
    }
    Some(c[1].to_string())
}

/// `dbPassword`, `db-password`, `db.password` → `DB_PASSWORD`.
pub(crate) fn env_name(name: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
        // A digit keeps the case before it: `neo4jPassword` and `NEO4J_PASSWORD` are one word
        // followed by another.
        if !c.is_ascii_digit() {
            prev_lower = c.is_ascii_lowercase();
        }
    }
    let out = out.trim_matches('_').to_string();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{out}")
    } else {
        out
    }
}

static IMPORTS_OS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)^import[ \t]+(?:[\w.]+(?:[ \t]+as[ \t]+\w+)?[ \t]*,[ \t]*)*os(?:\.\w+)*[ \t]*(?:,|;|#|\r?$)")
        .expect("a valid regex")
});

/// Whether module-level code binds `os` with a plain `import os` (an alias would not do).
pub(crate) fn imports_os(text: &str) -> bool {
    IMPORTS_OS.is_match(text)
}

/// Where `import os` can go: after what must stay first (a cell magic, a shebang or coding line,
/// a module docstring, `from __future__` imports). A byte offset at a line start.
pub(crate) fn import_point(text: &str) -> usize {
    let mut at = 0;
    let mut lines = text.split_inclusive('\n').peekable();
    if let Some(first) = lines.peek() {
        if first.starts_with("%%") || first.starts_with("#!") {
            at += first.len();
            lines.next();
        }
    }
    if let Some(l) = lines.peek() {
        if l.starts_with('#') && l.contains("coding") {
            at += l.len();
            lines.next();
        }
    }
    if let Some(l) = lines.peek() {
        let t = l.trim_start_matches(['r', 'u', 'R', 'U']);
        if let Some(q) = ["\"\"\"", "'''"].into_iter().find(|q| t.starts_with(q)) {
            // The docstring ends on the first line (its opening one included) holding the quotes.
            let closed_on_first = t[3..].contains(q);
            at += l.len();
            lines.next();
            if !closed_on_first {
                for l in lines.by_ref() {
                    at += l.len();
                    if l.contains(q) {
                        break;
                    }
                }
            }
        }
    }
    for l in lines {
        if l.starts_with("from __future__ import") {
            at += l.len();
        } else {
            break;
        }
    }
    at
}

/// The kernel language a notebook declares, if it declares one.
pub(crate) fn notebook_language(raw: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Top {
        metadata: Option<Meta>,
    }
    #[derive(serde::Deserialize)]
    struct Meta {
        kernelspec: Option<Lang>,
        language_info: Option<Name>,
    }
    #[derive(serde::Deserialize)]
    struct Lang {
        language: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Name {
        name: Option<String>,
    }
    // The kernel's language first: real notebooks carry `language_info.name` values such as
    // "plaintext" or "" under a Python kernel.
    let meta = serde_json::from_str::<Top>(raw).ok()?.metadata?;
    let filled = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    filled(meta.kernelspec.and_then(|k| k.language))
        .or_else(|| filled(meta.language_info.and_then(|l| l.name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The secret is assembled at run time and put where `§` is, so that this file passes
    /// nbguard's own scan.
    fn lit(template: &str, _: &str) -> Result<Literal, &'static str> {
        let secret = ["Zq8", "-s3cr", "et"].concat();
        let src = template.replace('§', &secret);
        let s = src.find(&secret).expect("secret in source");
        literal_at(&src, s, s + secret.len()).map(|mut l| {
            // Offsets back into the template, where the secret is one character.
            l.end -= secret.len() - '§'.len_utf8();
            l
        })
    }

    #[test]
    fn assignments_keywords_dict_entries_and_subscripts_are_named() {
        let cases = [
            ("password = \"§\"\n", "password"),
            ("db_pass: str = '§'", "db_pass"),
            ("conn = connect(host='h', password=\"§\")", "password"),
            ("cfg = {\"api_key\": \"§\", \"n\": 1}", "api_key"),
            ("cfg['token'] = '§'", "token"),
            ("self.secretKey = r\"§\"", "secretKey"),
        ];
        for (src, name) in cases {
            let l = lit(src, "§").unwrap_or_else(|e| panic!("{src}: {e}"));
            assert_eq!(l.name.as_deref(), Some(name), "{src}");
            assert!(src[l.start..l.end].ends_with("§\"") || src[l.start..l.end].ends_with("§'"));
        }
        assert_eq!(lit("connect('h', '§')", "§").unwrap().name, None);
        assert_eq!(lit("if pw == '§':", "§").unwrap().name, None);
    }

    #[test]
    fn what_cannot_be_rewritten_safely_is_refused() {
        for src in [
            "url = \"postgres://u:§@h/db\"",
            "# password = \"§\"",
            "token = f\"§\"",
            "token = b\"§\"",
            "token = \"\"\"§\"\"\"",
            "token = \"§\" \"more\"",
            "x = \"a '§' b\"",
        ] {
            assert!(lit(src, "§").is_err(), "{src}");
        }
    }

    #[test]
    fn env_names_are_upper_snake_case() {
        assert_eq!(env_name("dbPassword"), "DB_PASSWORD");
        assert_eq!(env_name("aws_access_key_id"), "AWS_ACCESS_KEY_ID");
        assert_eq!(env_name("api-key.v2"), "API_KEY_V2");
        assert_eq!(env_name("NEO4J_PASSWORD"), "NEO4J_PASSWORD");
        assert_eq!(env_name("neo4jPassword"), "NEO4J_PASSWORD");
    }

    #[test]
    fn os_imports_and_import_points_are_found() {
        assert!(imports_os("import sys\nimport os\n"));
        assert!(imports_os("import sys, os.path\n"));
        assert!(!imports_os("import os as o\n"));
        assert!(!imports_os("from os import environ\n"));
        assert_eq!(import_point("x = 1\n"), 0);
        assert_eq!(import_point("%%time\nx = 1\n"), 7);
        let src =
            "#!/usr/bin/env python\n\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\nx = 1\n";
        assert_eq!(&src[import_point(src)..], "x = 1\n");
    }
}
