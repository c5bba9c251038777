//! Which rules run: the built-in catalogue plus the configuration's custom rules, every one of
//! them validated when configuration loads, then narrowed by `[rules] only` and `disable`.
//!
//! This is also where configuration's rule references meet the catalogue: every id or glob in
//! `only`, `disable`, `severity`, `[pii]` and the failure threshold must name at least one rule,
//! or loading fails with the nearest real ids. A typo must never switch a rule, or a gate, off
//! without a word. Custom rules are compiled and their examples run here, before any scan, so a
//! bad one is a configuration error naming it, never a panic in the middle of a `git commit`.
//! Compiling the built-in automata stays lazy (a hook that scans three files should not build
//! three hundred of them); those rules were all compiled and run by the test suite.

use globset::GlobMatcher;

use super::catalogue::{builtin_raw, CatalogueError, RawRule, Rule};
use super::engine::Catalogue;
use crate::config::{Reference, ReferenceKind, Settings};

/// Why the rules to run could not be settled.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    #[error("{}: `{}` {}{}", place(.reference), shown(.reference), what(.reference), did_you_mean(.suggestions, .reference.kind))]
    Unknown {
        reference: Reference,
        suggestions: Vec<String>,
    },
    #[error("{}: `{}` names only rules that are switched off ([rules] only / disable), so it can never block", place(.0), .0.pattern)]
    OnlyDisabled(Reference),
    #[error("invalid rule glob `{glob}` ({} in {})", .kind.as_str(), .origin)]
    Glob {
        glob: String,
        kind: ReferenceKind,
        origin: String,
    },
    #[error("custom rule `{id}` is not a built-in rule: did you mean `{builtin}`? A custom rule replaces the built-in rule with the same id; to add a new rule, choose an id that is not this close to a built-in one")]
    NearBuiltin { id: String, builtin: String },
    #[error("rule {id}: example {number} is not found by the rule itself")]
    ExampleMissed { id: String, number: usize },
    #[error("rule {id}: negative example {number} is found by the rule")]
    NegativeFound { id: String, number: usize },
    #[error("no rule is left to run after [rules] only and disable")]
    NothingLeft,
}

/// Where a reference was written: `[rules] only in <file>`, or the flag itself.
fn place(r: &Reference) -> String {
    if r.source.starts_with("--") {
        r.source.clone()
    } else {
        format!("{} in {}", r.kind.as_str(), r.source)
    }
}

fn shown(r: &Reference) -> &str {
    match r.kind {
        ReferenceKind::Pii => r.pattern.strip_prefix("pii.").unwrap_or(&r.pattern),
        _ => &r.pattern,
    }
}

fn what(r: &Reference) -> &'static str {
    match r.kind {
        ReferenceKind::Pii => "is not a kind of personal data nbguard knows",
        _ => "matches no rule",
    }
}

fn did_you_mean(suggestions: &[String], kind: ReferenceKind) -> String {
    let list: Vec<String> = suggestions
        .iter()
        .map(|s| match kind {
            ReferenceKind::Pii => format!("`{}`", s.strip_prefix("pii.").unwrap_or(s)),
            _ => format!("`{s}`"),
        })
        .collect();
    match list.len() {
        0 => "; `nbguard rules list` shows every rule id".into(),
        1 => format!("; did you mean {}?", list[0]),
        _ => format!("; did you mean one of {}?", list.join(", ")),
    }
}

/// Built-in rules plus custom ones, all validated, minus what settings switch off.
pub fn select(settings: &Settings) -> Result<Vec<Rule>, SelectError> {
    let builtin = builtin_raw()?;
    // Built-in rules are checked for shape here and were compiled and run by the test suite
    // against exactly these embedded files; checking their regex syntax again at every load
    // measured at about 10 ms of CPU per run (an empty `scan`: 19.7 against 8.9 ms), a tenth of
    // a pre-commit hook, for something that cannot have changed since.
    let mut rules = builtin
        .iter()
        .map(|raw| raw.compile())
        .collect::<Result<Vec<_>, _>>()?;
    for custom in &settings.custom_rules {
        let rule = check_custom(custom, &builtin)?;
        rules.retain(|r| r.id != rule.id);
        rules.push(rule);
    }
    let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
    let mut matchers = Vec::with_capacity(settings.references.len());
    for r in &settings.references {
        let m = glob(r)?;
        if !ids.iter().any(|id| m.is_match(id)) {
            return Err(SelectError::Unknown {
                suggestions: suggest(&r.pattern, r.kind, &ids),
                reference: r.clone(),
            });
        }
        matchers.push((r, m));
    }
    let disable: Vec<GlobMatcher> = settings
        .disable
        .iter()
        .map(|g| glob(&plain(g)))
        .collect::<Result<_, _>>()?;
    let only: Vec<GlobMatcher> = settings
        .only
        .iter()
        .map(|g| glob(&plain(g)))
        .collect::<Result<_, _>>()?;
    rules.retain(|r| {
        !disable.iter().any(|g| g.is_match(&r.id))
            && (only.is_empty() || only.iter().any(|g| g.is_match(&r.id)))
    });
    if rules.is_empty() {
        return Err(SelectError::NothingLeft);
    }
    for (r, m) in matchers {
        if r.kind == ReferenceKind::FailOn && !rules.iter().any(|x| m.is_match(&x.id)) {
            return Err(SelectError::OnlyDisabled(r.clone()));
        }
    }
    Ok(rules)
}

/// A reference for globs that carry no origin of their own (the merged lists of settings).
fn plain(g: &str) -> Reference {
    Reference {
        pattern: g.to_string(),
        kind: ReferenceKind::Disable,
        source: "configuration".into(),
    }
}

fn glob(r: &Reference) -> Result<GlobMatcher, SelectError> {
    globset::Glob::new(&r.pattern)
        .map(|g| g.compile_matcher())
        .map_err(|_| SelectError::Glob {
            glob: r.pattern.clone(),
            kind: r.kind,
            origin: r.source.clone(),
        })
}

/// A custom rule, checked as fully as it can be before any scan: its shape, every regex
/// compiled, its secret group, its validator, and its examples run through its own matcher
/// (`nbguard rules check --config` runs them through the whole notebook pipeline).
fn check_custom(raw: &RawRule, builtin: &[RawRule]) -> Result<Rule, SelectError> {
    let replaces = builtin.iter().any(|b| b.id == raw.id);
    if let Some(near) = builtin
        .iter()
        .find(|b| !replaces && distance(&b.id, &raw.id) <= 2)
    {
        return Err(SelectError::NearBuiltin {
            id: raw.id.clone(),
            builtin: near.id.clone(),
        });
    }
    let rule = raw.compile()?;
    rule.compile_now()?;
    let alone = Catalogue::new(vec![rule.clone()])?;
    let found = |text: &str| {
        let mut out = Vec::new();
        alone.scan(text, &mut out);
        !out.is_empty()
    };
    for (i, ex) in rule.examples.iter().enumerate() {
        if !found(ex) {
            return Err(SelectError::ExampleMissed {
                id: rule.id.clone(),
                number: i + 1,
            });
        }
    }
    for (i, ex) in rule.negative_examples.iter().enumerate() {
        if found(ex) {
            return Err(SelectError::NegativeFound {
                id: rule.id.clone(),
                number: i + 1,
            });
        }
    }
    Ok(rule)
}

/// The real ids (or `namespace.*` globs) nearest to a reference that names nothing.
fn suggest(pattern: &str, kind: ReferenceKind, ids: &[&str]) -> Vec<String> {
    let mut candidates: Vec<String> = Vec::new();
    for id in ids {
        if kind == ReferenceKind::Pii && !id.starts_with("pii.") {
            continue;
        }
        candidates.push(id.to_string());
        if kind != ReferenceKind::Pii {
            let mut prefix = String::new();
            for part in id.split('.').take(id.split('.').count() - 1) {
                if !prefix.is_empty() {
                    prefix.push('.');
                }
                prefix.push_str(part);
                candidates.push(format!("{prefix}.*"));
            }
        }
    }
    candidates.sort();
    candidates.dedup();
    let budget = (pattern.chars().count() / 3).clamp(2, 6);
    let mut scored: Vec<(usize, String)> = candidates
        .into_iter()
        .map(|c| (distance(pattern, &c), c))
        .filter(|(d, _)| *d <= budget)
        .collect();
    scored.sort();
    let best = scored.first().map_or(0, |s| s.0);
    scored
        .into_iter()
        .take_while(|(d, _)| *d == best)
        .take(3)
        .map(|(_, c)| c)
        .collect()
}

/// Levenshtein distance, in characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_ids_and_namespaces_are_suggested() {
        let ids = [
            "secret.aws.access-key-id",
            "secret.aws.secret-access-key",
            "pii.email",
            "pii.phone",
        ];
        assert_eq!(
            suggest("secret.aws.acess-key-id", ReferenceKind::Only, &ids),
            vec!["secret.aws.access-key-id"]
        );
        assert_eq!(
            suggest("secret.aws", ReferenceKind::FailOn, &ids)[0],
            "secret.aws.*"
        );
        assert_eq!(
            suggest("pii.emial", ReferenceKind::Pii, &ids),
            vec!["pii.email"]
        );
        assert!(suggest("zzzzzzzzzzzzzzzz", ReferenceKind::Only, &ids).is_empty());
    }

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "ab"), 2);
        assert_eq!(distance("same", "same"), 0);
    }
}
