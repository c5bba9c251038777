//! The rule catalogue as data: the TOML schema of `config/rules/*.toml` (and of custom rules in a
//! config file), and its compilation into matchers. Rule files are embedded in the binary at build
//! time so that a hook never depends on files next to it.
//!
//! Matching itself lives in `rules::engine`; validators in `rules::validate`.

use regex::bytes::Regex;
use serde::Deserialize;
use std::sync::OnceLock;

use crate::finding::Severity;

/// The built-in rule files, embedded at build time (see `build.rs`).
pub(crate) const BUILTIN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// One `config/rules/*.toml` file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    #[serde(default, rename = "rule")]
    pub rules: Vec<RawRule>,
}

/// A rule as written in TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// Stable forever: `kind.provider.what`.
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub severity: Severity,
    /// Case-insensitive literals; the regex only runs on text containing one of them. Empty means
    /// the rule runs everywhere (keep such rules cheap).
    #[serde(default)]
    pub keywords: Vec<String>,
    pub regex: String,
    /// Which capture group is the secret: a name or a number. Default: the group named `secret`,
    /// else group 1 when there is one, else the whole match.
    #[serde(default)]
    pub secret_group: Option<SecretGroup>,
    /// Minimum Shannon entropy (bits per character) of the secret.
    #[serde(default)]
    pub entropy: Option<f64>,
    /// A named validator, see `rules::validate`.
    #[serde(default)]
    pub validator: Option<String>,
    /// Regexes over the secret that mean "not a secret" for this rule.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Regexes over the whole match (name and value) that mean "not a secret": names that end
    /// in a credential word without naming one (`sort_key`, `next_page_token`).
    #[serde(default)]
    pub allow_match: Vec<String>,
    /// A regex that must match within `lines` lines of the finding (e.g. "aws" near a 40-char
    /// secret key).
    #[serde(default)]
    pub context: Option<RawContext>,
    /// Whether the generic placeholder filter applies (default: yes).
    #[serde(default = "yes")]
    pub placeholder_check: bool,
    /// Where the rule runs: `all` text, or only `authored` text (not lockfiles, minified or
    /// generated code). Default: `authored` for rules gated by a context, `all` otherwise.
    #[serde(default)]
    pub scope: Option<Scope>,
    /// The match must not sit inside a double-quoted string on its line (for prose rules:
    /// quoted prose in code is a prompt or a demo payload, not a note to a colleague).
    #[serde(default)]
    pub outside_strings: bool,
    /// Rules whose match of the same secret this rule replaces (a Firebase web config's API
    /// key is the Firebase rule's, not the generic Google API key rule's).
    #[serde(default)]
    pub supersedes: Vec<String>,
    /// Rules whose secret this rule's match only accompanies: an identifier such as a
    /// service-account key's `private_key_id` is context for the private key's finding when
    /// both are in the same text, not a finding of its own.
    #[serde(default)]
    pub context_for: Vec<String>,
    /// One line telling a person how to fix it.
    #[serde(default)]
    pub fix: String,
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub negative_examples: Vec<String>,
}

fn yes() -> bool {
    true
}

/// Which kinds of text a rule runs on (see `filekind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Every text: the format itself proves a secret (a prefix, a checksum, a structure).
    All,
    /// Only text people write: the rule rests on a name next to a value, or on personal data.
    Authored,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SecretGroup {
    Index(usize),
    Name(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawContext {
    pub regex: String,
    #[serde(default = "three")]
    pub lines: usize,
}

fn three() -> usize {
    3
}

/// Why a rule could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("rule file {file}")]
    Toml {
        file: String,
        #[source]
        source: toml::de::Error,
    },
    #[error("rule {id}: invalid {what} regex")]
    Regex {
        id: String,
        what: &'static str,
        #[source]
        source: regex::Error,
    },
    #[error("rule {id}: {message}")]
    Invalid { id: String, message: String },
    #[error("rule id {0} is defined twice")]
    Duplicate(String),
}

/// A rule ready to run. Its regexes are compiled on first use: a hook that scans three files
/// should not pay for compiling three hundred automata whose keywords never occur. Built-in rules
/// are fixed when the binary is built and the test suite compiles and runs every one of them;
/// custom rules are compiled, and their examples run, when configuration loads
/// (`rules::select`), so a bad pattern is a configuration error, never a panic mid-scan.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub description: String,
    pub severity: Severity,
    pub keywords: Vec<String>,
    pub pattern: String,
    compiled: OnceLock<Compiled>,
    secret_group_spec: Option<SecretGroup>,
    pub entropy: Option<f64>,
    pub validator: Option<crate::rules::validate::Validator>,
    allow_patterns: Vec<String>,
    allow_match_patterns: Vec<String>,
    context_pattern: Option<(String, usize)>,
    pub placeholder_check: bool,
    pub scope: Scope,
    pub outside_strings: bool,
    pub supersedes: Vec<String>,
    pub context_for: Vec<String>,
    pub fix: String,
    pub examples: Vec<String>,
    pub negative_examples: Vec<String>,
}

/// The compiled parts of a rule.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub regex: Regex,
    pub secret_group: usize,
    pub allow: Vec<Regex>,
    pub allow_match: Vec<Regex>,
    pub context: Option<(Regex, usize)>,
    /// Where matches lie relative to keyword hits, when the regex proves it.
    pub locality: Option<super::locality::Locality>,
}

impl Rule {
    /// The compiled regexes. Built-in rules are all compiled by the test suite, and custom rules
    /// are compiled eagerly when configuration loads, so this cannot fail at scan time.
    pub fn compiled(&self) -> &Compiled {
        self.compiled.get_or_init(|| {
            self.try_compile()
                .expect("rules are compiled once at load or in tests before they are used lazily")
        })
    }

    /// Compiles now, reporting any error (used for custom rules and by `rules check`).
    pub fn try_compile(&self) -> Result<Compiled, CatalogueError> {
        let regex = compile_regex(&self.id, "match", &self.pattern)?;
        let bad = |message: String| CatalogueError::Invalid {
            id: self.id.clone(),
            message,
        };
        let secret_group = match &self.secret_group_spec {
            Some(SecretGroup::Index(i)) if *i < regex.captures_len() => *i,
            Some(SecretGroup::Index(i)) => return Err(bad(format!("no capture group {i}"))),
            Some(SecretGroup::Name(n)) => regex
                .capture_names()
                .position(|c| c == Some(n.as_str()))
                .ok_or_else(|| bad(format!("no capture group named {n}")))?,
            None => regex
                .capture_names()
                .position(|c| c == Some("secret"))
                .unwrap_or(if regex.captures_len() > 1 { 1 } else { 0 }),
        };
        let allow = self
            .allow_patterns
            .iter()
            .map(|a| compile_regex(&self.id, "allow", a))
            .collect::<Result<Vec<_>, _>>()?;
        let allow_match = self
            .allow_match_patterns
            .iter()
            .map(|a| compile_regex(&self.id, "allow_match", a))
            .collect::<Result<Vec<_>, _>>()?;
        let context = match &self.context_pattern {
            None => None,
            Some((c, lines)) => Some((compile_regex(&self.id, "context", c)?, *lines)),
        };
        Ok(Compiled {
            locality: super::locality::Locality::of(&ascii_classes(&self.pattern), &self.keywords),
            regex,
            secret_group,
            allow,
            allow_match,
            context,
        })
    }

    /// Compiles now and keeps the result.
    pub fn compile_now(&self) -> Result<(), CatalogueError> {
        if self.compiled.get().is_none() {
            let c = self.try_compile()?;
            let _ = self.compiled.set(c);
        }
        Ok(())
    }
}

impl RawRule {
    /// Checks the rule (id shape, validator name) without building automata.
    pub fn compile(&self) -> Result<Rule, CatalogueError> {
        let id = self.id.clone();
        let bad = |message: String| CatalogueError::Invalid {
            id: id.clone(),
            message,
        };
        if !self
            .id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
            || self.id.split('.').count() < 2
        {
            return Err(bad(
                "ids look like `kind.provider.what`, in lowercase".into()
            ));
        }
        let validator = match &self.validator {
            None => None,
            Some(name) => Some(
                name.parse::<crate::rules::validate::Validator>()
                    .map_err(bad)?,
            ),
        };
        Ok(Rule {
            id: self.id.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            severity: self.severity,
            keywords: self
                .keywords
                .iter()
                .map(|k| k.to_ascii_lowercase())
                .collect(),
            pattern: self.regex.clone(),
            compiled: OnceLock::new(),
            secret_group_spec: self.secret_group.clone(),
            entropy: self.entropy,
            validator,
            allow_patterns: self.allow.clone(),
            allow_match_patterns: self.allow_match.clone(),
            context_pattern: self.context.as_ref().map(|c| (c.regex.clone(), c.lines)),
            placeholder_check: self.placeholder_check,
            scope: self.scope.unwrap_or(if self.context.is_some() {
                Scope::Authored
            } else {
                Scope::All
            }),
            outside_strings: self.outside_strings,
            supersedes: self.supersedes.clone(),
            context_for: self.context_for.clone(),
            fix: self.fix.clone(),
            examples: self.examples.clone(),
            negative_examples: self.negative_examples.clone(),
        })
    }
}

fn compile_regex(id: &str, what: &'static str, pattern: &str) -> Result<Regex, CatalogueError> {
    // Byte regexes without Unicode: secrets are ASCII, and Unicode-aware classes (`[^"'\s]`
    // repeated 128 times) compile to enormous automata; compiling them was most of a hook's
    // time. Matches are snapped to character boundaries by the engine.
    regex::bytes::RegexBuilder::new(&ascii_classes(pattern))
        .unicode(false)
        .size_limit(1 << 24)
        .build()
        .map_err(|source| CatalogueError::Regex {
            id: id.to_string(),
            what,
            source,
        })
}

/// Rewrites `\b`, `\B`, `\w` and `\d` to their ASCII forms. Secrets are ASCII, and Unicode word
/// boundaries stop the regex engine's lazy DFA on any non-ASCII text (notebooks are full of it),
/// sending every search to the much slower PikeVM.
pub(crate) fn ascii_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push_str("(?-u:\\b)"),
            Some('B') => out.push_str("(?-u:\\B)"),
            Some('w') => out.push_str("[0-9A-Za-z_]"),
            Some('W') => out.push_str("[^0-9A-Za-z_]"),
            Some('d') => out.push_str("[0-9]"),
            Some('D') => out.push_str("[^0-9]"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Parses one rule file.
pub fn parse_rule_file(name: &str, text: &str) -> Result<Vec<RawRule>, CatalogueError> {
    toml::from_str::<RuleFile>(text)
        .map(|f| f.rules)
        .map_err(|source| CatalogueError::Toml {
            file: name.to_string(),
            source,
        })
}

/// The built-in catalogue, uncompiled.
pub fn builtin_raw() -> Result<Vec<RawRule>, CatalogueError> {
    let mut out = Vec::new();
    for (name, text) in BUILTIN {
        out.extend(parse_rule_file(name, text)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::ascii_classes;

    #[test]
    fn unicode_classes_become_ascii_and_escapes_survive() {
        assert_eq!(
            ascii_classes(r"\bab\w+\\b[\d_]"),
            r"(?-u:\b)ab[0-9A-Za-z_]+\\b[[0-9]_]"
        );
        let re = regex::Regex::new(&ascii_classes(r"\b(AKIA[A-Z0-9]{4})\b")).unwrap();
        assert!(re.is_match("é AKIA1234 é"));
        assert!(!re.is_match("xAKIA1234"));
    }
}
