//! `nbguard audit`: every unique blob that any ref's history ever held, scanned once and in
//! parallel; findings attributed to the commit that introduced them and to the refs that still
//! contain them, then grouped by secret. Cost follows the amount of distinct content, not
//! commits × files.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::finding::{Diagnostic, Finding, Origin};
use crate::report::audit::{AuditReport, Occurrence, WorkStats};
use crate::scanner::{Scanner, View};
use crate::source::history::{self, BlobId, Inventory, Options, PathFilter, RefSelection, RefSets};
use crate::source::{repo, Provenance};

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Layout(#[from] repo::Error),
    #[error(transparent)]
    History(#[from] history::Error),
}

/// What to audit.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub refs: RefSelection,
    pub since: Option<i64>,
    pub notebooks_only: bool,
    /// Show a progress line on stderr (only when it is a terminal).
    pub progress: bool,
}

pub fn run(scanner: &Scanner, dir: &Path, req: &Request) -> Result<AuditReport, AuditError> {
    // 1. Open the repository and list every unique blob reachable from the selected refs.
    let layout = repo::read_layout(dir)?;
    let repo = history::Repo::open(layout.work_tree.as_deref().unwrap_or(&layout.git_dir))?;
    let options = Options {
        refs: req.refs.clone(),
        since: req.since,
        paths: if req.notebooks_only || scanner.notebooks_only() {
            PathFilter::notebooks_only()
        } else {
            PathFilter::all()
        },
        // Blobs over the limit are read whole (gix inflates objects whole) and scanned in windows.
        max_blob_size: None,
        // Sizes are counted as blobs are read.
        skip_sizes: true,
    };
    // Commit and tag messages are read and scanned while the trees are listed.
    let (inventory, messages) =
        Inventory::build_with(&repo, &options, |walked| scan_messages(scanner, &walked))?;
    let stats = inventory.stats();
    let mut report = AuditReport {
        commits: stats.commits,
        blobs: stats.blobs,
        refs: inventory.tips().len(),
        ref_table: inventory.refs().clone(),
        repository: repository_name(&layout),
        ..Default::default()
    };
    report
        .diagnostics
        .extend(inventory.notices().iter().cloned().map(Diagnostic::from));

    // 2. Scan each blob once, in parallel.
    let (findings, diagnostics, bytes, read) = scan_blobs(scanner, &repo, &inventory, req.progress);
    report.bytes = bytes;
    report.diagnostics.extend(diagnostics);

    // 3. Attribute only the blobs that have findings, in one pass over history; the refs that
    //    hold each blob come back as a shared set.
    // Sorted, so that the same audit interns the same ref sets whatever order threads found them in.
    let mut with_findings: Vec<BlobId> = findings.keys().copied().collect();
    with_findings.sort_unstable();
    let mut sets = RefSets::default();
    let attributed = inventory.attribute(&repo, &with_findings, &mut sets)?;

    // 4. One occurrence per (finding, path the blob appeared at), grouped by secret.
    let mut occurrences = Vec::new();
    for a in &attributed.blobs {
        let Some(found) = findings.get(&a.blob) else {
            continue;
        };
        for f in found {
            for origin in &a.paths {
                let mut finding = f.clone();
                finding.path = origin.path.clone();
                finding.commit = origin.introduced_by.clone();
                occurrences.push(Occurrence {
                    finding,
                    rank: origin.rank,
                    refs: a.present_at.clone(),
                });
            }
        }
    }
    report
        .diagnostics
        .extend(messages.notices.iter().cloned().map(Diagnostic::from));
    occurrences.extend(message_occurrences(&inventory, &messages, &mut sets));
    report.groups = AuditReport::group(occurrences, &mut sets);
    report.stats = WorkStats {
        tips: inventory.tips().len(),
        commits: stats.commits,
        trees_read: stats.trees_read,
        blobs_read: stats.blobs,
        packs_walked: read.packs_walked,
        blobs_walked: read.walked,
        blobs_with_findings: with_findings.len(),
        attribution_trees_read: attributed.trees_read,
        tip_trees: attributed.tip_trees,
        ref_sets: sets.count(),
    };
    // Blobs are scanned on several threads: the same audit gives the same report.
    report.diagnostics.sort_by(|a, b| {
        (&a.path, a.kind.as_str(), &a.commit, &a.message).cmp(&(
            &b.path,
            b.kind.as_str(),
            &b.commit,
            &b.message,
        ))
    });
    Ok(report)
}

/// Commit and tag messages, what could not be read of them, and the findings in each message
/// that has any (by index into `messages`).
struct MessageFindings {
    messages: Vec<history::Message>,
    notices: Vec<crate::source::Notice>,
    found: Vec<(usize, Vec<Finding>)>,
}

/// Commit and tag messages, each scanned once for credentials (git metadata names people by
/// design, so personal-data rules do not apply); the refs that reach a message are worked out
/// later, only for messages with findings.
fn scan_messages(scanner: &Scanner, walked: &history::Walked<'_>) -> MessageFindings {
    use rayon::prelude::*;
    let (messages, notices) = walked.read_messages();
    let found: Vec<(usize, Vec<Finding>)> = messages
        .par_iter()
        .enumerate()
        .filter_map(|(i, m)| {
            let origin = if m.tag {
                Origin::TagMessage
            } else {
                Origin::CommitMessage
            };
            let provenance = Provenance::Commit(m.info.clone());
            let view = View {
                path: &m.label,
                new: &m.text,
                old: None,
                provenance: &provenance,
            };
            let findings: Vec<Finding> = scanner
                .scan(&view)
                .findings
                .into_iter()
                .filter(|f| origin.reports(&f.rule))
                .map(|f| Finding { origin, ..f })
                .collect();
            (!findings.is_empty()).then_some((i, findings))
        })
        .collect();
    MessageFindings {
        messages,
        notices,
        found,
    }
}

/// One occurrence per message finding, with the refs that reach the message.
fn message_occurrences(
    inventory: &Inventory,
    m: &MessageFindings,
    sets: &mut RefSets,
) -> Vec<Occurrence> {
    let which: Vec<&history::Message> = m.found.iter().map(|(i, _)| &m.messages[*i]).collect();
    let reached = inventory.reach(&which, sets);
    let mut out = Vec::new();
    for ((_, findings), (rank, refs)) in m.found.iter().zip(reached) {
        for finding in findings {
            out.push(Occurrence {
                finding: finding.clone(),
                rank: Some(rank),
                refs: refs.clone(),
            });
        }
    }
    out
}

/// The repository's directory name, without `.git`: how merged reports tell repositories apart.
fn repository_name(layout: &repo::Layout) -> String {
    let dir = layout.work_tree.as_deref().unwrap_or(&layout.git_dir);
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match name.strip_suffix(".git") {
        Some(stem) if !stem.is_empty() => stem.to_owned(),
        _ if name == ".git" => dir
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        _ => name,
    }
}

type Found = HashMap<BlobId, Vec<Finding>>;

fn scan_blobs(
    scanner: &Scanner,
    repo: &history::Repo,
    inventory: &Inventory,
    progress: bool,
) -> (Found, Vec<Diagnostic>, u64, history::ReadStats) {
    let found: Mutex<Found> = Mutex::new(HashMap::new());
    let diags: Mutex<Vec<Diagnostic>> = Mutex::new(Vec::new());
    let counters = Arc::new(Counters::default());
    let ticker = (progress && std::io::stderr().is_terminal())
        .then(|| spawn_progress(counters.clone(), inventory.blobs().len()));
    let provenance = Provenance::WorkTree;
    let (notices, read) = inventory.read_blobs_parallel(repo, |entry, bytes| {
        counters.blobs.fetch_add(1, Ordering::Relaxed);
        counters
            .bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let Some(path) = entry.paths.iter().find(|p| scanner.wants(p)) else {
            return;
        };
        let out = scanner.scan(&View {
            path,
            new: bytes,
            old: None,
            provenance: &provenance,
        });
        if !out.diagnostics.is_empty() {
            let blob = entry.id.to_hex();
            let mut d = diags
                .lock()
                .expect("no scan thread panics while holding this lock");
            d.extend(out.diagnostics.into_iter().map(|mut x| {
                x.commit = Some(format!("blob {blob}"));
                x
            }));
        }
        if !out.findings.is_empty() {
            found
                .lock()
                .expect("no scan thread panics while holding this lock")
                .insert(entry.id, out.findings);
        }
    });
    counters.done.store(true, Ordering::Relaxed);
    if let Some(t) = ticker {
        let _ = t.join();
    }
    let mut diagnostics = diags.into_inner().expect("all scan threads have finished");
    diagnostics.extend(notices.into_iter().map(Diagnostic::from));
    (
        found.into_inner().expect("all scan threads have finished"),
        diagnostics,
        counters.bytes.load(Ordering::Relaxed),
        read,
    )
}

#[derive(Default)]
struct Counters {
    blobs: AtomicUsize,
    bytes: AtomicU64,
    done: AtomicBool,
}

/// A progress line on stderr: blobs scanned, MB/s, ETA.
fn spawn_progress(c: Arc<Counters>, blobs: usize) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let start = Instant::now();
        while !c.done.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(200));
            let (n, b) = (
                c.blobs.load(Ordering::Relaxed),
                c.bytes.load(Ordering::Relaxed),
            );
            let secs = start.elapsed().as_secs_f64().max(0.001);
            let rate = b as f64 / secs;
            // Sizes are known only once read: the estimate goes by blobs.
            let eta = if n > 0 {
                blobs.saturating_sub(n) as f64 * secs / n as f64
            } else {
                0.0
            };
            eprint!(
                "\r\x1b[2Kaudit: {n}/{blobs} blobs, {:.0} MB/s, ETA {:.0} s",
                rate / 1_048_576.0,
                eta
            );
        }
        eprint!("\r\x1b[2K");
    })
}
