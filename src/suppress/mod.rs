//! Why a finding might not count: inline ignore comments (ours and the markers teams migrate
//! from), the `nbguard-ignore` cell tag, configured allowlists, and the baseline. A suppressed
//! finding is marked, never dropped, so reports can show what was let through and why.

mod baseline;

pub use baseline::{Baseline, BaselineError};

use globset::{GlobSet, GlobSetBuilder};
use regex::Regex;
use std::collections::HashSet;

use crate::config::Settings;
use crate::finding::Suppression;

/// Allowlists compiled from settings.
#[derive(Debug, Clone)]
pub struct Allowlist {
    paths: GlobSet,
    secrets: Vec<Regex>,
    stopwords: Vec<String>,
    fingerprints: HashSet<String>,
    reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AllowlistError {
    #[error("invalid allowlist path glob `{glob}`")]
    Glob {
        glob: String,
        #[source]
        source: globset::Error,
    },
    #[error("invalid allowlist secret regex `{regex}`")]
    Regex {
        regex: String,
        #[source]
        source: regex::Error,
    },
}

impl Allowlist {
    pub fn new(s: &Settings) -> Result<Self, AllowlistError> {
        Ok(Allowlist {
            paths: globs(&s.allow_paths)?,
            secrets: s
                .allow_secrets
                .iter()
                .map(|r| {
                    Regex::new(r).map_err(|source| AllowlistError::Regex {
                        regex: r.clone(),
                        source,
                    })
                })
                .collect::<Result<_, _>>()?,
            stopwords: s.stopwords.clone(),
            fingerprints: s.allow_fingerprints.iter().cloned().collect(),
            reason: if s.allow_reason.is_empty() {
                "allowlisted in configuration".into()
            } else {
                s.allow_reason.clone()
            },
        })
    }

    pub fn check(&self, path: &str, secret: &str, fingerprint: &str) -> Option<Suppression> {
        let reason = |what: &str| Suppression::Allowlist {
            reason: format!("{what}: {}", self.reason),
        };
        if self.paths.is_match(path) {
            return Some(reason("path"));
        }
        if self.fingerprints.contains(fingerprint) {
            return Some(reason("fingerprint"));
        }
        if self.secrets.iter().any(|r| r.is_match(secret)) {
            return Some(reason("secret pattern"));
        }
        let lower = secret.to_lowercase();
        if self.stopwords.iter().any(|w| lower.contains(w.as_str())) {
            return Some(reason("stop word"));
        }
        None
    }
}

/// Compiles path globs. A glob without a `/` matches at any depth, like `.gitignore`.
pub fn globs(patterns: &[String]) -> Result<GlobSet, AllowlistError> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let mut add = |g: &str| -> Result<(), AllowlistError> {
            let glob = globset::GlobBuilder::new(g)
                .literal_separator(true)
                .build()
                .map_err(|source| AllowlistError::Glob {
                    glob: p.clone(),
                    source,
                })?;
            b.add(glob);
            Ok(())
        };
        let trimmed = p.trim_start_matches("./").trim_start_matches('/');
        add(trimmed)?;
        if !trimmed.contains('/') {
            add(&format!("**/{trimmed}"))?;
        }
        if trimmed.ends_with('/') {
            add(&format!("{trimmed}**"))?;
        } else {
            add(&format!("{trimmed}/**"))?;
        }
    }
    b.build().map_err(|source| AllowlistError::Glob {
        glob: patterns.join(", "),
        source,
    })
}

/// An inline marker on `line` (or a next-line marker on `previous`) that covers `rule`.
pub fn inline(line: &str, previous: Option<&str>, rule: &str) -> Option<Suppression> {
    if let Some(m) = marker_on(line, rule, false) {
        return Some(Suppression::Inline { marker: m });
    }
    previous
        .and_then(|p| marker_on(p, rule, true))
        .map(|m| Suppression::Inline { marker: m })
}

fn marker_on(line: &str, rule: &str, next_line: bool) -> Option<String> {
    let lower = line.to_ascii_lowercase();
    if next_line {
        if lower.contains("pragma: allowlist nextline secret") {
            return Some("pragma: allowlist nextline secret".into());
        }
        return nbguard_marker(&lower, "nbguard: ignore-next-line", rule)
            .or_else(|| nbguard_marker(&lower, "nbguard:ignore-next-line", rule));
    }
    for m in ["pragma: allowlist secret", "gitleaks:allow"] {
        if lower.contains(m) {
            return Some(m.into());
        }
    }
    nbguard_marker(&lower, "nbguard: ignore", rule)
        .or_else(|| nbguard_marker(&lower, "nbguard:ignore", rule))
}

/// `nbguard: ignore` covers every rule; `nbguard: ignore[a, b]` only the rules listed (globs).
fn nbguard_marker(lower: &str, marker: &str, rule: &str) -> Option<String> {
    let p = lower.find(marker)?;
    let rest = &lower[p + marker.len()..];
    if rest.starts_with("-next-line") && !marker.ends_with("next-line") {
        return None;
    }
    let Some(list) = rest.strip_prefix('[') else {
        return Some(marker.to_string());
    };
    let list = &list[..list.find(']')?];
    // Only the entries that cover the rule are kept for the report: the line is scanned content,
    // and anything else between the brackets could be part of a secret.
    let covering: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|r| {
            *r == rule
                || globset::Glob::new(r)
                    .map(|g| g.compile_matcher().is_match(rule))
                    .unwrap_or(false)
        })
        .collect();
    (!covering.is_empty()).then(|| format!("{marker}[{}]", covering.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_markers_cover_their_rules() {
        assert!(inline("x = 'k'  # nbguard: ignore", None, "a.b").is_some());
        assert!(inline("x = 'k'  # nbguard: ignore[a.b]", None, "a.b").is_some());
        assert!(inline("x = 'k'  # nbguard: ignore[a.*]", None, "a.b").is_some());
        assert!(inline("x = 'k'  # nbguard: ignore[c.d]", None, "a.b").is_none());
        assert!(inline("x = 'k'  # pragma: allowlist secret", None, "a.b").is_some());
        assert!(inline("x = 'k'  # gitleaks:allow", None, "a.b").is_some());
        assert!(inline("x = 'k'", Some("# nbguard: ignore-next-line"), "a.b").is_some());
        assert!(inline("x = 'k'", Some("# nbguard: ignore"), "a.b").is_none());
        assert!(inline("x = 'k'", None, "a.b").is_none());
    }

    #[test]
    fn path_globs_match_at_any_depth_and_whole_directories() {
        let g = globs(&["*.csv".into(), "config/rules".into()]).unwrap();
        assert!(g.is_match("a/b/c.csv"));
        assert!(g.is_match("config/rules/aws.toml"));
        assert!(!g.is_match("src/config.rs"));
    }
}
