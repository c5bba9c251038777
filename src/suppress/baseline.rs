//! The baseline: fingerprints of findings a team has accepted (usually written by
//! `nbguard audit --write-baseline` or `nbguard scan --write-baseline`). It records where each was
//! seen for people to review, but matching is by fingerprint alone, so moved lines do not churn
//! it. It never contains a secret.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::finding::Finding;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    pub entries: Vec<Entry>,
    #[serde(skip)]
    index: HashSet<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub fingerprint: String,
    pub rule: String,
    pub path: String,
    #[serde(default)]
    pub line: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read baseline {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid baseline {path}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot write baseline {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Baseline {
    pub fn load(path: &Path) -> Result<Self, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut b: Baseline =
            serde_json::from_str(&text).map_err(|source| BaselineError::Parse {
                path: path.to_path_buf(),
                source,
            })?;
        b.index = b.entries.iter().map(|e| e.fingerprint.clone()).collect();
        Ok(b)
    }

    pub fn from_findings<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Self {
        let mut seen = HashSet::new();
        let mut entries: Vec<Entry> = findings
            .into_iter()
            .filter(|f| seen.insert((f.fingerprint.clone(), f.path.clone())))
            .map(|f| Entry {
                fingerprint: f.fingerprint.clone(),
                rule: f.rule.clone(),
                path: f.path.clone(),
                line: f.line,
                commit: f.commit.as_ref().map(|c| c.id.clone()),
            })
            .collect();
        entries.sort_by(|a, b| (&a.path, a.line, &a.rule).cmp(&(&b.path, b.line, &b.rule)));
        let index = entries.iter().map(|e| e.fingerprint.clone()).collect();
        Baseline {
            version: 1,
            entries,
            index,
        }
    }

    pub fn contains(&self, fingerprint: &str) -> bool {
        self.index.contains(fingerprint)
    }

    pub fn write(&self, path: &Path) -> Result<(), BaselineError> {
        let text = serde_json::to_string_pretty(self).expect("a baseline always serialises");
        std::fs::write(path, text + "\n").map_err(|source| BaselineError::Write {
            path: path.to_path_buf(),
            source,
        })
    }
}
