//! Scans every case with the library and scores it: a positive is recalled when a finding of an
//! accepted rule sits at the planted location; every finding that is not about the planted item
//! is a false alarm; findings about the planted item from a rule of the wrong family are
//! "misattributed" (neither recall nor false alarm).

use std::collections::BTreeSet;
use std::path::Path;

use nbguard::rules::catalogue::RuleFile;

use nbguard::finding::{Finding, Severity};
use nbguard::scanner::Scanner;
use nbguard::source::Item;

use crate::cases::{Case, Label, Loc};

/// A finding as the report shows it: never the secret itself.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Seen {
    pub rule: String,
    pub severity: Severity,
    pub location: String,
    pub masked: String,
}

#[derive(Debug, serde::Serialize)]
pub struct Scored {
    pub id: usize,
    pub family: String,
    pub context: &'static str,
    pub positive: bool,
    pub recalled: bool,
    /// Recalled by a finding at critical or high severity.
    pub blocking: bool,
    /// The planted value, masked.
    pub planted: String,
    pub false_alarms: Vec<Seen>,
    /// Informational findings on negatives that tolerate them.
    pub tolerated: Vec<Seen>,
    pub misattributed: Vec<Seen>,
    /// Everything found on a missed positive, to say why it was missed.
    pub found: Vec<Seen>,
}

/// The default scanner, plus the rules of every `*.toml` in `extra_rules` (replacing built-in
/// rules of the same id): that evaluates a rule author's work in progress without a rebuild.
pub fn scanner(extra_rules: Option<&Path>) -> Result<Scanner, String> {
    let mut settings = nbguard::config::resolve(&[]).map_err(|e| e.to_string())?;
    if let Some(dir) = extra_rules {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for path in files {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let file: RuleFile =
                toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            settings.custom_rules.extend(file.rules);
        }
    }
    Scanner::new(&settings, None).map_err(|e| e.to_string())
}

pub fn scan(scanner: &Scanner, case: &Case) -> Vec<Finding> {
    let item = Item::worktree(
        format!("eval/case-{:04}.ipynb", case.id),
        case.raw.clone().into_bytes(),
    );
    scanner.scan_item(&item).findings
}

fn location(f: &Finding) -> String {
    match &f.notebook {
        Some(n) => format!(
            "cell {} {} {}",
            n.cell.map_or("-".to_string(), |c| c.to_string()),
            n.part.map_or("?", |p| p.as_str()),
            n.output_kind.clone().unwrap_or_default()
        ),
        None => format!("line {} (not read as a notebook)", f.line),
    }
}

fn seen(f: &Finding) -> Seen {
    Seen {
        rule: f.rule.clone(),
        severity: f.severity,
        location: location(f),
        masked: f.masked_secret(),
    }
}

/// Text compared without layout: newlines, escaped newlines and whitespace removed.
fn squash(s: &str) -> String {
    s.replace("\\n", "")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

fn at(f: &Finding, loc: &Loc) -> bool {
    let Some(n) = &f.notebook else { return false };
    n.cell == loc.cell
        && n.part == Some(loc.part)
        && (loc.output.is_none() || n.output == loc.output)
}

/// Whether a finding reports (part of) one of the planted values.
fn about(f: &Finding, values: &[String]) -> bool {
    let s = squash(&f.secret);
    s.len() >= 4
        && values.iter().any(|v| {
            let v = squash(v);
            v.contains(&s) || s.contains(&v)
        })
}

pub fn mask_planted(values: &[String]) -> String {
    values.first().map_or(String::new(), |v| {
        nbguard::finding::mask(v.lines().next().unwrap_or(v))
    })
}

pub fn score(case: &Case, findings: &[Finding]) -> Scored {
    let mut s = Scored {
        id: case.id,
        family: case.family.clone(),
        context: case.context,
        positive: matches!(case.label, Label::Positive { .. }),
        recalled: false,
        blocking: false,
        planted: String::new(),
        false_alarms: Vec::new(),
        tolerated: Vec::new(),
        misattributed: Vec::new(),
        found: Vec::new(),
    };
    // One false alarm per distinct (rule, value): a table row repeated in the HTML and the text
    // repr of one output is one mistake, not two.
    let mut counted = BTreeSet::new();
    match &case.label {
        Label::Positive {
            accept,
            values,
            at: loc,
        } => {
            s.planted = mask_planted(values);
            for f in findings {
                let accepted = accept.iter().any(|a| f.rule.contains(a));
                let ours = about(f, values);
                if accepted && ours && at(f, loc) {
                    s.recalled = true;
                    s.blocking |= f.severity >= Severity::High;
                } else if ours {
                    // The planted value, but reported by another family's rule or elsewhere.
                    s.misattributed.push(seen(f));
                } else if f.severity == Severity::Info && f.rule.starts_with("pii.") {
                    // A lone address reported as informational is what the specification allows
                    // (a username in a login call, an author line); it is listed, not counted.
                    s.tolerated.push(seen(f));
                } else if counted.insert((f.rule.clone(), f.secret.clone())) {
                    s.false_alarms.push(seen(f));
                }
            }
            if !s.recalled {
                s.found = findings.iter().map(seen).collect();
            }
        }
        Label::Negative { tolerate_info } => {
            for f in findings {
                if *tolerate_info && f.severity == Severity::Info {
                    s.tolerated.push(seen(f));
                } else if counted.insert((f.rule.clone(), f.secret.clone())) {
                    s.false_alarms.push(seen(f));
                }
            }
        }
    }
    s
}
