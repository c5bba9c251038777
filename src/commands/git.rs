//! The git gates: `pre-commit` (the index against `HEAD`), `pre-push` and `diff <range>` (the
//! commits a push or merge request brings), and `pre-receive` (every commit a push brings, read
//! inside git's quarantine). Each gathers items from `source`, scans only what they add, and
//! returns a report; printing and exit codes are left to `main.rs`.

use std::path::{Path, PathBuf};

use crate::commands::{scan_items_lazily, Load};
use crate::config::InlinePolicy;
use crate::finding::{Diagnostic, Finding, Suppression};
use crate::report::Report;
use crate::scanner::Scanner;
use crate::source::{commits, quarantine, repo, staged, Item, Notice};

/// Why a git gate could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error(transparent)]
    Open(#[from] repo::Error),
    #[error(transparent)]
    Quarantine(#[from] quarantine::Error),
    #[error(transparent)]
    Staged(#[from] staged::Error),
    #[error(transparent)]
    Commits(#[from] commits::Error),
    #[error("cannot read the ref updates on standard input: {0}")]
    Stdin(#[source] std::io::Error),
    #[error(
        "this repository uses SHA-256 object ids, and this nbguard build reads SHA-1 \
         repositories only"
    )]
    Sha256,
}

fn limits(scanner: &Scanner) -> repo::Limits {
    repo::Limits {
        max_bytes: scanner.max_file_size(),
    }
}

fn gather(scanner: &Scanner, items: Vec<Item>, notices: Vec<Notice>, load: &mut Load) -> Report {
    // Path-based settings (exclusions, notebooks only) say nothing about commit or tag messages.
    let items: Vec<Item> = items
        .into_iter()
        .filter(|i| !i.origin.is_file() || scanner.wants(&i.path))
        .collect();
    let mut report = scan_items_lazily(scanner, items, load);
    report
        .diagnostics
        .extend(notices.into_iter().map(Diagnostic::from));
    report
}

/// What `git commit` is about to record, against `HEAD`.
pub fn pre_commit(scanner: &Scanner, dir: &Path) -> Result<Report, GitError> {
    let repo = repo::open(dir)?;
    let limits = limits(scanner);
    let staged = staged::read_staged_lazily(&repo, &limits)?;
    let items: Vec<Item> = staged
        .items
        .into_iter()
        .filter(|i| scanner.wants(&i.path))
        .collect();
    let mut report = scan_items_lazily(scanner, items, &mut |hex, max| {
        repo::read_blob_hex(&repo, hex, max)
    });
    report
        .diagnostics
        .extend(staged.notices.into_iter().map(Diagnostic::from));
    Ok(report)
}

/// The commits a `git push` sends (`pre-push` hook: ref lines on stdin).
pub fn pre_push(
    scanner: &Scanner,
    dir: &Path,
    remote: Option<&str>,
    stdin: &str,
) -> Result<Report, GitError> {
    let repo = repo::open(dir)?;
    let updates = commits::parse_ref_updates(stdin)?;
    let pushed = commits::read_pre_push(&repo, &updates, remote, &limits(scanner))?;
    Ok(gather(
        scanner,
        pushed.items,
        pushed.notices,
        &mut |hex, max| repo::read_blob_hex(&repo, hex, max),
    ))
}

/// The commits of a revision range (`base..head`), for CI merge-request jobs.
pub fn range(scanner: &Scanner, dir: &Path, spec: &str) -> Result<Report, GitError> {
    let repo = repo::open(dir)?;
    let pushed = commits::read_range(&repo, spec, &limits(scanner))?;
    Ok(gather(
        scanner,
        pushed.items,
        pushed.notices,
        &mut |hex, max| repo::read_blob_hex(&repo, hex, max),
    ))
}

/// Every commit a push brings to a server repository, read inside git's quarantine.
pub fn pre_receive(scanner: &Scanner, dir: &Path, stdin: &str) -> Result<Report, GitError> {
    // Checked first: gix built for SHA-1 cannot even open such a repository, and would say so
    // in terms of its own build features.
    if names_sha256_ids(stdin) {
        return Err(GitError::Sha256);
    }
    let q = quarantine::open(dir)?;
    let updates = commits::parse_ref_updates(stdin)?;
    let pushed = commits::read_push(q.repo(), &updates, &limits(scanner))?;
    Ok(gather(
        scanner,
        pushed.items,
        pushed.notices,
        &mut |hex, max| repo::read_blob_hex(q.repo(), hex, max),
    ))
}

/// Whether git's ref-update lines carry 64-digit (SHA-256) ids.
fn names_sha256_ids(stdin: &str) -> bool {
    stdin
        .split_whitespace()
        .any(|w| w.len() == 64 && w.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// What a gate could not read (missing or corrupt objects, unreadable files), if anything. That
/// content was not scanned, so a clean result over it would be false: callers fail closed with
/// this message (on a server, as `hook.on_error` says).
pub fn unscanned(report: &Report) -> Option<String> {
    let unread: Vec<&Diagnostic> = report
        .diagnostics
        .iter()
        .filter(|d| d.kind.is_unscanned())
        .collect();
    let first = unread.first()?;
    Some(format!(
        "{} item(s) are missing or could not be read, so they were not scanned; first: {}: {}",
        unread.len(),
        crate::report::clean(&first.path),
        crate::report::clean(&first.message)
    ))
}

/// What to do about [`unscanned`] content in a repository.
pub const UNREAD_OBJECTS_ADVICE: &str = "\
Objects the repository should hold are missing or damaged. In a partial clone (`--filter`), let git \
download them first (for example `git log -p <range> > /dev/null`) or use a full clone; in a \
shallow clone, `git fetch --unshallow`; otherwise `git fsck` names what is damaged.";

/// The repository's git directory as the server sees it (`GIT_DIR`, else `dir`), for the
/// server-side config file and the log of push-option bypasses.
pub fn git_dir(dir: &Path) -> PathBuf {
    match repo::read_layout(dir) {
        Ok(l) => l.git_dir,
        Err(_) => dir.to_path_buf(),
    }
}

/// Fingerprints named by `git push -o nbguard.allow=<fingerprint>` (git passes push options as
/// `GIT_PUSH_OPTION_COUNT` and `GIT_PUSH_OPTION_<n>`).
pub fn push_option_allows() -> Vec<String> {
    let n: usize = std::env::var("GIT_PUSH_OPTION_COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (0..n)
        .filter_map(|i| std::env::var(format!("GIT_PUSH_OPTION_{i}")).ok())
        .filter_map(|o| {
            o.strip_prefix("nbguard.allow=")
                .map(|f| f.trim().to_string())
        })
        .filter(|f| !f.is_empty())
        .collect()
}

/// A finding a server let through, for the `remote:` output and the log.
#[derive(Debug, Clone)]
pub struct Bypass {
    /// How it was let through: `push-option` or `inline-marker`.
    pub how: &'static str,
    pub rule: String,
    pub fingerprint: String,
    pub path: String,
    pub line: usize,
    pub masked: String,
    pub commit: String,
    pub reference: String,
}

impl Bypass {
    fn of(how: &'static str, f: &Finding) -> Self {
        Bypass {
            how,
            rule: f.rule.clone(),
            fingerprint: f.fingerprint.clone(),
            path: crate::report::clean(&f.path),
            line: f.line,
            masked: f.masked_secret(),
            commit: f.commit.as_ref().map(|c| c.id.clone()).unwrap_or_default(),
            reference: f
                .commit
                .as_ref()
                .and_then(|c| c.reference.clone())
                .unwrap_or_default(),
        }
    }
}

impl std::fmt::Display for Bypass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{} {} {} (fingerprint {})",
            self.path, self.line, self.rule, self.masked, self.fingerprint
        )
    }
}

/// Marks the findings whose fingerprints a push option allows, and returns them for the record.
pub fn apply_push_allows(report: &mut Report, allowed: &[String]) -> Vec<Bypass> {
    let mut used = Vec::new();
    for f in report.findings.iter_mut().filter(|f| f.is_active()) {
        if allowed.iter().any(|a| a == &f.fingerprint) {
            f.suppressed = Some(Suppression::PushOption);
            used.push(Bypass::of("push-option", f));
        }
    }
    used
}

/// Applies the server's `hook.inline_suppressions` to the findings that a marker in the pushed
/// content (`nbguard: ignore`, a migrated marker, the cell tag) suppressed: the pusher wrote
/// those markers, so on a server they are either logged or not honoured at all.
pub fn judge_inline_markers(report: &mut Report, policy: InlinePolicy) -> Vec<Bypass> {
    let mut logged = Vec::new();
    for f in &mut report.findings {
        if !matches!(
            f.suppressed,
            Some(Suppression::Inline { .. } | Suppression::CellTag)
        ) {
            continue;
        }
        match policy {
            InlinePolicy::Ignore => f.suppressed = None,
            InlinePolicy::Log => logged.push(Bypass::of("inline-marker", f)),
        }
    }
    logged
}

/// Appends one line per finding let through to `<git dir>/nbguard-allowed.log`, so that every
/// bypass can be audited later: time, pusher, how, ref, commit, fingerprint, rule and place
/// (never the value).
pub fn record_bypasses(git_dir: &Path, bypasses: &[Bypass]) -> std::io::Result<()> {
    use std::io::Write;
    if bypasses.is_empty() {
        return Ok(());
    }
    let when = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let who = pusher();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(git_dir.join("nbguard-allowed.log"))?;
    for b in bypasses {
        writeln!(
            f,
            "time={when} pusher={who} how={} ref={} commit={} fingerprint={} rule={} path={}:{}",
            b.how,
            field(&b.reference),
            field(&b.commit),
            b.fingerprint,
            b.rule,
            field(&b.path),
            b.line
        )?;
    }
    Ok(())
}

/// Who is pushing, as the git server tells hooks (GitLab, Gitea/Forgejo, Gerrit and plain HTTP
/// or SSH setups each use their own variable), else the account the hook runs as.
fn pusher() -> String {
    [
        "GL_USERNAME",
        "GITEA_PUSHER_NAME",
        "GERRIT_USER",
        "REMOTE_USER",
        "SSH_USER",
        "USER",
    ]
    .iter()
    .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
    .map(|s| field(&s))
    .unwrap_or_else(|| "unknown".into())
}

/// A log field without spaces or control characters, so that each line splits cleanly.
fn field(s: &str) -> String {
    if s.is_empty() {
        return "-".into();
    }
    s.chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}
