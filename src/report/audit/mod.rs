//! The history audit's report: findings grouped by secret (one fingerprint, every place it ever
//! appeared), each with the commit that introduced it and the set of refs that still contain
//! it. Written as text, JSON, SARIF (one result per occurrence) or one self-contained HTML page.
//!
//! Refs are held as interned [`RefSet`]s over one [`RefTable`] and summarised when written, so
//! neither grouping nor the report grows as findings × refs. Merging per-repository JSON reports
//! into one lives in [`merge`].

mod html;
mod json;
pub mod merge;
mod text;

pub use html::write_audit_html;
pub use json::{write_audit_json, write_audit_sarif};
pub use text::write_audit_text;

use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

use crate::finding::{Diagnostic, DiagnosticKind, Finding, Severity, Suppression};
use crate::source::history::{RefSet, RefSets, RefTable};
use crate::source::CommitInfo;

/// What a finding is, for people deciding what to do first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Keys, tokens, passwords: rotate them.
    Credential,
    /// Data about people (card numbers, national ids, e-mail addresses).
    PersonalData,
    /// Worth knowing, nothing to rotate.
    Informational,
}

impl Kind {
    /// Informational by severity whatever the rule; otherwise personal data for `pii.*` rules
    /// and a credential for everything else (custom rules included: failing towards "rotate").
    pub fn of(rule: &str, severity: Severity) -> Kind {
        if severity == Severity::Info {
            Kind::Informational
        } else if rule.starts_with("pii.") {
            Kind::PersonalData
        } else {
            Kind::Credential
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Credential => "credential",
            Kind::PersonalData => "personal-data",
            Kind::Informational => "informational",
        }
    }

    /// A plural noun for headlines: never "secrets" for e-mail addresses.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Credential => "credentials",
            Kind::PersonalData => "personal-data findings",
            Kind::Informational => "informational findings",
        }
    }

    pub const ALL: [Kind; 3] = [Kind::Credential, Kind::PersonalData, Kind::Informational];
}

/// What to do about a group, in one sentence for the report.
pub fn action(kind: Kind, rule: &str, still_present: bool) -> String {
    let purge = if still_present {
        "remove it from every ref that still holds it, then purge it from history (git filter-repo) and have clones re-fetched"
    } else {
        "it is no longer at any ref but still in history: purge it (git filter-repo) and have clones re-fetched"
    };
    match kind {
        Kind::Credential => {
            // `secret.generic.*`, `secret.key.*` and the like name a format, not an issuer.
            let provider = match rule.split('.').nth(1) {
                Some("generic" | "key" | "db" | "jwt") | None => "wherever it was issued",
                Some(p) => p,
            };
            let provider = if provider.starts_with("wherever") {
                provider.to_owned()
            } else {
                format!("at {provider}")
            };
            format!("Rotate it {provider} now (revoke, issue a new one, check the provider's logs for use); then {purge}.")
        }
        Kind::PersonalData => format!(
            "Remove the personal data from the files; {purge}; tell your data-protection contact if it is real."
        ),
        Kind::Informational => {
            "Review it; nothing to rotate if it is expected (a public contact address, a sample value).".to_owned()
        }
    }
}

/// One secret and everywhere history has it.
#[derive(Debug, Clone)]
pub struct Group {
    pub fingerprint: String,
    pub rule: String,
    pub title: String,
    pub severity: Severity,
    /// Every occurrence; each finding's `commit` is the commit that introduced that occurrence.
    /// In ancestry order of those commits (parents first), then by path and line.
    pub occurrences: Vec<Finding>,
    /// Refs whose tip still contains it; empty when removed everywhere (still in history).
    pub present_at: RefSet,
    pub suppressed: Option<Suppression>,
    introduced: Option<CommitInfo>,
}

impl Group {
    /// The first introducing commit in ancestry order over all occurrences.
    pub fn introduced(&self) -> Option<&CommitInfo> {
        self.introduced.as_ref()
    }

    pub fn kind(&self) -> Kind {
        Kind::of(&self.rule, self.severity)
    }
}

/// One finding at one path, as the audit found it, before grouping.
#[derive(Debug, Clone)]
pub struct Occurrence {
    /// With `commit` set to the commit that introduced it (when known).
    pub finding: Finding,
    /// That commit's position in parents-first order; `None` when not introduced by a commit
    /// (a ref straight to a tree or blob).
    pub rank: Option<u32>,
    /// Refs whose tip still holds the content.
    pub refs: RefSet,
}

/// Counts of work done, so that tests and benchmarks can check that the audit's cost follows
/// distinct content rather than refs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WorkStats {
    pub tips: usize,
    pub commits: usize,
    pub trees_read: usize,
    pub blobs_read: usize,
    /// Packs decoded whole, each entry once, and the blobs read that way; the rest of
    /// `blobs_read` were looked up one by one.
    pub packs_walked: usize,
    pub blobs_walked: usize,
    pub blobs_with_findings: usize,
    pub attribution_trees_read: usize,
    pub tip_trees: usize,
    pub ref_sets: usize,
}

/// What an audit produced.
#[derive(Debug, Default)]
pub struct AuditReport {
    pub groups: Vec<Group>,
    pub diagnostics: Vec<Diagnostic>,
    pub commits: usize,
    pub blobs: usize,
    pub bytes: u64,
    pub refs: usize,
    /// The audited refs; every group's `present_at` indexes into it.
    pub ref_table: RefTable,
    /// The repository's name (its directory, without `.git`), for merged reports.
    pub repository: String,
    pub stats: WorkStats,
    pub blocked: bool,
    pub threshold: String,
}

impl AuditReport {
    /// Groups occurrences by fingerprint in one pass. Occurrences are sorted by the ancestry
    /// rank of their introducing commit, then path and line, and only the first commit's
    /// occurrences are kept per path: a later version of a file that still holds the secret
    /// (another cell edited) did not introduce it. A group's refs are the union of its
    /// occurrences' sets, merged once per distinct pair of sets.
    pub fn group(occurrences: Vec<Occurrence>, sets: &mut RefSets) -> Vec<Group> {
        let mut by: BTreeMap<String, (Group, Vec<Option<u32>>)> = BTreeMap::new();
        for o in occurrences {
            let f = o.finding;
            let (g, ranks) = by.entry(f.fingerprint.clone()).or_insert_with(|| {
                (
                    Group {
                        fingerprint: f.fingerprint.clone(),
                        rule: f.rule.clone(),
                        title: f.title.clone(),
                        severity: f.severity,
                        occurrences: Vec::new(),
                        present_at: RefSet::default(),
                        suppressed: f.suppressed.clone(),
                        introduced: None,
                    },
                    Vec::new(),
                )
            });
            g.severity = g.severity.max(f.severity);
            if f.suppressed.is_none() {
                g.suppressed = None;
            }
            g.present_at = sets.union(&g.present_at, &o.refs);
            g.occurrences.push(f);
            ranks.push(o.rank);
        }
        let mut groups: Vec<Group> = by
            .into_values()
            .map(|(g, ranks)| order_occurrences(g, ranks))
            .collect();
        groups.sort_by(|a, b| {
            (
                std::cmp::Reverse(a.severity),
                a.introduced().map(|c| c.time),
                &a.rule,
            )
                .cmp(&(
                    std::cmp::Reverse(b.severity),
                    b.introduced().map(|c| c.time),
                    &b.rule,
                ))
        });
        groups
    }

    pub fn active(&self) -> impl Iterator<Item = &Group> {
        self.groups.iter().filter(|g| g.suppressed.is_none())
    }

    /// One finding per group (the earliest occurrence), for thresholds and baselines.
    pub fn representatives(&self) -> Vec<Finding> {
        self.groups
            .iter()
            .filter_map(|g| {
                let mut f = g.occurrences.first()?.clone();
                f.severity = g.severity;
                f.suppressed = g.suppressed.clone();
                Some(f)
            })
            .collect()
    }
}

/// Sorts a group's occurrences by ancestry and keeps, per path, the first commit's only.
fn order_occurrences(mut g: Group, ranks: Vec<Option<u32>>) -> Group {
    let mut paired: Vec<(Option<u32>, Finding)> = ranks.into_iter().zip(g.occurrences).collect();
    paired.sort_by(|(ra, a), (rb, b)| {
        (ra, &a.path, a.line, a.column).cmp(&(rb, &b.path, b.line, b.column))
    });
    let mut first_at: HashMap<String, Option<u32>> = HashMap::new();
    paired.retain(|(rank, f)| *first_at.entry(f.path.clone()).or_insert(*rank) == *rank);
    g.introduced = paired.iter().find_map(|(_, f)| f.commit.clone());
    g.occurrences = paired.into_iter().map(|(_, f)| f).collect();
    g
}

/// Counts of active groups by kind, then severity (most severe first).
pub fn counts(groups: &[&Group]) -> BTreeMap<Kind, BTreeMap<std::cmp::Reverse<Severity>, usize>> {
    let mut out: BTreeMap<Kind, BTreeMap<std::cmp::Reverse<Severity>, usize>> = BTreeMap::new();
    for g in groups.iter().filter(|g| g.suppressed.is_none()) {
        *out.entry(g.kind())
            .or_default()
            .entry(std::cmp::Reverse(g.severity))
            .or_default() += 1;
    }
    out
}

/// Diagnostics by kind, the kinds that mean history was not fully read first.
pub fn diagnostics_by_kind(diags: &[Diagnostic]) -> Vec<(DiagnosticKind, Vec<&Diagnostic>)> {
    let mut by: HashMap<DiagnosticKind, Vec<&Diagnostic>> = HashMap::new();
    for d in diags {
        by.entry(d.kind).or_default().push(d);
    }
    let mut out: Vec<_> = by.into_iter().collect();
    out.sort_by_key(|(k, v)| (diagnostic_rank(*k), std::cmp::Reverse(v.len())));
    out
}

fn diagnostic_rank(k: DiagnosticKind) -> u8 {
    match k {
        DiagnosticKind::MissingObject => 0,
        DiagnosticKind::Unreadable => 1,
        DiagnosticKind::Timeout => 2,
        DiagnosticKind::TooLarge => 3,
        DiagnosticKind::InvalidNotebook => 4,
        DiagnosticKind::NotUtf8 => 5,
        DiagnosticKind::LfsPointer => 6,
        DiagnosticKind::Other => 7,
        DiagnosticKind::ScannedWhole => 8,
        DiagnosticKind::Skipped => 9,
        DiagnosticKind::Binary => 10,
    }
}

/// Civil date and time (UTC) from Unix seconds, without a date crate.
fn date(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let (z, secs) = (days + 719_468, t.rem_euclid(86_400));
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(date(0), "1970-01-01 00:00");
        assert_eq!(date(1_704_164_645), "2024-01-02 03:04");
    }

    #[test]
    fn email_addresses_are_never_credentials() {
        assert_eq!(Kind::of("pii.email", Severity::Low), Kind::PersonalData);
        assert_eq!(Kind::of("pii.email", Severity::Info), Kind::Informational);
        assert_eq!(
            Kind::of("secret.aws.access-key-id", Severity::High),
            Kind::Credential
        );
        assert!(action(Kind::Credential, "secret.openai.api-key", true).contains("openai"));
    }
}
