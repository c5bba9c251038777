//! The finding: what was found (rule, severity), where (raw file position and notebook
//! coordinates, commit), and how to refer to it without revealing it (a fingerprint and a masked
//! secret). Also the diagnostics that accompany a scan: anything nbguard did not scan normally.
//!
//! Nothing here decides *whether* something is a finding; see `rules` and `suppress`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

use crate::source::CommitInfo;

/// How bad a finding is. Ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "info" | "informational" | "note" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" | "moderate" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity `{other}` (expected critical, high, medium, low or info)"
            )),
        }
    }
}

/// Which part of a notebook cell (or of the notebook) a finding sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    Source,
    Output,
    Metadata,
    Attachment,
}

impl Part {
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Source => "source",
            Part::Output => "output",
            Part::Metadata => "metadata",
            Part::Attachment => "attachment",
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where in a notebook a finding sits. Absent for plain text files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NotebookLocation {
    /// 0-based cell index; `None` for notebook-level metadata.
    pub cell: Option<usize>,
    /// The cell's `id` (nbformat >= 4.5).
    pub cell_id: Option<String>,
    /// `code`, `markdown`, `raw`, `heading`.
    pub cell_type: Option<String>,
    pub part: Option<Part>,
    /// 0-based output index when `part` is `output`.
    pub output: Option<usize>,
    /// The output's type or mime type (`stream`, `text/html`, `traceback`, ...).
    pub output_kind: Option<String>,
    /// 1-based line within the part.
    pub line: usize,
}

/// What kind of content a finding (or an item) sits in: a file, the usual case, or the git
/// metadata a push carries besides files, which is just as public once pushed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    #[default]
    File,
    /// The message of the commit named in the finding's `commit`.
    CommitMessage,
    /// The message of an annotated tag (the tag object named in `commit`).
    TagMessage,
    /// The names of the files a commit adds, one per line.
    FileNames,
}

impl Origin {
    pub fn is_file(&self) -> bool {
        *self == Origin::File
    }

    /// Whether a finding of `rule` in content of this origin is reported. Git metadata names
    /// people by design (authors, `Signed-off-by:` and `Co-authored-by:` trailers), so personal
    /// data rules are for files only; credentials are reported everywhere.
    pub fn reports(&self, rule: &str) -> bool {
        self.is_file() || !rule.starts_with("pii.")
    }
}

/// Why a finding does not count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Suppression {
    /// `nbguard: ignore` (or a migrated marker) on the line.
    Inline { marker: String },
    /// The cell carries the `nbguard-ignore` tag.
    CellTag,
    /// Matched an allowlist entry of the configuration.
    Allowlist { reason: String },
    /// Listed in the baseline file.
    Baseline,
    /// Let through by a pre-receive push option.
    PushOption,
}

/// One match of one rule, located and fingerprinted.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: String,
    pub title: String,
    pub severity: Severity,
    pub path: String,
    /// 1-based line in the file as stored.
    pub line: usize,
    /// 1-based column (Unicode scalar values) in the file as stored.
    pub column: usize,
    pub end_line: usize,
    pub notebook: Option<NotebookLocation>,
    /// The secret itself. Only printed when the user asks for it (`--reveal`).
    #[serde(skip)]
    pub secret: String,
    pub fingerprint: String,
    /// The line with the secret masked, control characters removed, trimmed to a sane length.
    pub snippet: String,
    pub fix: String,
    pub suppressed: Option<Suppression>,
    pub commit: Option<CommitInfo>,
    /// File content unless said otherwise; `path` then names the metadata (`commit message of …`).
    #[serde(skip_serializing_if = "Origin::is_file")]
    pub origin: Origin,
}

impl Finding {
    pub fn masked_secret(&self) -> String {
        mask(&self.secret)
    }

    pub fn is_active(&self) -> bool {
        self.suppressed.is_none()
    }
}

/// A fingerprint of a secret that neither reveals it nor depends on where it was found: the same
/// key in two files, or moved ten lines down, has the same fingerprint. Keyed by rule so that one
/// value reported by two rules can be accepted for one and not the other.
pub fn fingerprint(rule: &str, secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"nbguard-fingerprint-v1\0");
    h.update(rule.as_bytes());
    h.update(b"\0");
    h.update(secret.as_bytes());
    let digest = h.finalize();
    let mut out = String::with_capacity(32);
    for b in &digest[..16] {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Shows enough of a secret to recognise it and never enough to use it: up to four leading
/// characters (fewer for short values) and the length.
pub fn mask(secret: &str) -> String {
    let n = secret.chars().count();
    let keep = match n {
        0..=7 => 1,
        8..=15 => 2,
        _ => 4,
    };
    let head: String = secret.chars().take(keep).collect();
    format!("{head}…[{n} chars]")
}

/// What kind of thing a diagnostic reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiagnosticKind {
    /// A `.ipynb` that is not valid JSON or not a notebook; scanned as text instead.
    InvalidNotebook,
    /// Contains NUL bytes; not scanned.
    Binary,
    /// Larger than the configured limit; not scanned (or scanned in part).
    TooLarge,
    /// Not valid UTF-8; scanned after lossy decoding.
    NotUtf8,
    /// A Git LFS pointer; the content lives elsewhere and was not scanned.
    LfsPointer,
    /// A submodule, symlink or other entry that is not file content.
    Skipped,
    /// An object that should be in the repository and is not.
    MissingObject,
    /// The previous version could not be read, so everything counted as new: scanned, and on
    /// the safe side, but possibly reporting what was already there.
    ScannedWhole,
    /// A file or object that could not be read.
    Unreadable,
    /// The time budget ran out.
    Timeout,
    /// Anything else worth a word.
    Other,
}

impl DiagnosticKind {
    /// Content of this kind was not scanned at all, so a clean result over it would be false.
    pub fn is_unscanned(self) -> bool {
        matches!(
            self,
            DiagnosticKind::MissingObject | DiagnosticKind::Unreadable
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DiagnosticKind::InvalidNotebook => "invalid-notebook",
            DiagnosticKind::Binary => "binary",
            DiagnosticKind::TooLarge => "too-large",
            DiagnosticKind::NotUtf8 => "not-utf8",
            DiagnosticKind::LfsPointer => "lfs-pointer",
            DiagnosticKind::Skipped => "skipped",
            DiagnosticKind::MissingObject => "missing-object",
            DiagnosticKind::ScannedWhole => "scanned-whole",
            DiagnosticKind::Unreadable => "unreadable",
            DiagnosticKind::Timeout => "timeout",
            DiagnosticKind::Other => "other",
        }
    }
}

/// Something about a file that the user should know, that is not a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub path: String,
    pub kind: DiagnosticKind,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_depends_on_rule_and_secret_only() {
        assert_eq!(fingerprint("a", "s"), fingerprint("a", "s"));
        assert_ne!(fingerprint("a", "s"), fingerprint("b", "s"));
        assert_ne!(fingerprint("a", "s"), fingerprint("a", "t"));
        assert_eq!(fingerprint("a", "s").len(), 32);
    }

    #[test]
    fn mask_never_shows_most_of_the_secret() {
        assert_eq!(mask("PassXYZ"), "P…[7 chars]");
        assert_eq!(mask("abcdefghijklmnopqrstuvwxyz"), "abcd…[26 chars]");
    }
}
