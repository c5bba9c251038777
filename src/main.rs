//! The `nbguard` binary: parses the command line, resolves configuration, runs a command, writes
//! its report and maps the outcome to an exit code (0 clean, 1 blocked by findings, 2 nbguard
//! itself failed). Everything else lives in the library.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use nbguard::config::{self, Settings};

// The standard `println!`/`eprintln!` panic when their stream is closed (`nbguard hook status |
// head -1`). These replace them for the whole file, including lines added later: a closed pipe
// ends the output quietly, since the reader has what it wanted, and the exit code stays the one
// the work calls for. Reports go through `emit`, which does the same for a whole buffer.
macro_rules! println {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}
use nbguard::report::{self, Format, Report};
use nbguard::scanner::Scanner;
use nbguard::suppress::Baseline;

#[derive(Parser)]
#[command(
    name = "nbguard",
    version,
    about = "Keeps credentials and personal data out of git history, notebooks first."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan files and directories (everything in them).
    Scan(ScanArgs),
    /// Git pre-commit hook: scan what the commit adds (the index against HEAD).
    PreCommit(HookArgs),
    /// Git pre-push hook: scan the commits being pushed (ref lines on stdin).
    PrePush {
        /// The remote's name, as git passes it.
        remote: Option<String>,
        /// The remote's URL, as git passes it (unused).
        url: Option<String>,
        #[command(flatten)]
        hook: HookArgs,
    },
    /// Scan the commits of a revision range, e.g. `origin/main..HEAD`, for CI merge requests.
    Diff {
        /// `base..head`, `base...head`, a single revision, or `rev^!`.
        range: String,
        #[command(flatten)]
        hook: HookArgs,
    },
    /// Git pre-receive hook (server side): scan every commit a push brings.
    PreReceive(HookArgs),
    /// Scan every commit of every ref for secrets leaked in the past.
    Audit(AuditArgs),
    /// Take credentials out of working-tree files: code reads them from the environment (values
    /// go to .env), outputs and metadata are masked.
    Fix(FixArgs),
    /// Work with reports already written, e.g. merge per-repository audits into one.
    Report {
        #[command(subcommand)]
        action: ReportAction,
    },
    /// Install, remove or inspect nbguard's git hooks.
    Hook {
        #[command(subcommand)]
        action: HookAction,
    },
    /// List or check the rule catalogue.
    Rules {
        #[command(subcommand)]
        action: RulesAction,
    },
    /// Plumbing for the IPython extension: check notebooks sent as JSON lines on stdin, answer
    /// with JSON lines on stdout, until end of input.
    #[command(hide = true)]
    Serve {
        #[command(flatten)]
        common: Common,
        /// When the answer says `blocked` (default: the configured threshold).
        #[arg(long, env = "NBGUARD_FAIL_ON")]
        fail_on: Option<String>,
    },
}

#[derive(Subcommand)]
enum HookAction {
    /// Install hooks (an existing hook is kept and runs first).
    Install(HookTarget),
    /// Remove nbguard's hooks and restore what was there before.
    Uninstall(HookTarget),
    /// Show which hooks are installed where.
    Status {
        #[arg(long)]
        repo: Option<PathBuf>,
    },
}

#[derive(Args)]
struct HookTarget {
    /// The repository (default: the one around the current directory).
    #[arg(long)]
    repo: Option<PathBuf>,
    /// Which hooks: pre-commit (default), pre-push; pre-receive with --server.
    #[arg(long = "hook", value_name = "NAME")]
    hooks: Vec<String>,
    /// Server side: install the pre-receive hook into a bare repository.
    #[arg(long)]
    server: bool,
    /// The command the hook runs (default: this executable's absolute path).
    #[arg(long)]
    command: Option<String>,
}

#[derive(Subcommand)]
enum RulesAction {
    /// Show every rule with its id and severity.
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Run every rule's examples (custom rules' too) through the whole notebook pipeline.
    Check {
        #[command(flatten)]
        common: Common,
    },
}

/// Options every scanning command takes.
#[derive(Args, Clone, Default)]
struct Common {
    /// Extra config file (overrides the user config and the repository's .nbguard.toml).
    #[arg(long, env = "NBGUARD_CONFIG")]
    config: Vec<PathBuf>,
    /// Ignore the user config and the repository's .nbguard.toml.
    #[arg(long)]
    no_config: bool,
}

#[derive(Args, Clone, Default)]
struct Output {
    /// text, json or sarif (and html for `audit`).
    #[arg(long, short = 'f')]
    format: Option<String>,
    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Print secrets in full (they are masked otherwise).
    #[arg(long)]
    reveal: bool,
    /// Also list suppressed findings.
    #[arg(long)]
    show_suppressed: bool,
    /// When findings block, e.g. 'critical>0 or high>3' (default: any critical or high).
    #[arg(long, env = "NBGUARD_FAIL_ON")]
    fail_on: Option<String>,
    /// Accept the findings listed in this baseline file.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Write the findings of this run to a baseline file.
    #[arg(long)]
    write_baseline: Option<PathBuf>,
    /// Never use colour (NO_COLOR is honoured too).
    #[arg(long)]
    no_color: bool,
}

#[derive(Args, Clone, Default)]
struct HookArgs {
    /// The repository (default: the one git runs the hook in).
    #[arg(long)]
    repo: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    out: Output,
}

#[derive(Args)]
struct AuditArgs {
    /// The repository (normal or bare; default: the one around the current directory).
    #[arg(long)]
    repo: Option<PathBuf>,
    /// Which refs: all (default: branches, tags, remotes, stash, HEAD), branches, tags, or
    /// globs of full ref names such as 'refs/heads/release/*'.
    #[arg(long, num_args = 1.., value_name = "REFS")]
    refs: Vec<String>,
    /// Only commits after this date (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS, or @<unix seconds>).
    #[arg(long)]
    since: Option<String>,
    /// Only .ipynb files.
    #[arg(long)]
    notebooks_only: bool,
    /// Never show a progress line.
    #[arg(long)]
    no_progress: bool,
    /// Write a `git filter-repo --replace-text` expressions file for the secrets found (it holds
    /// them in clear: created owner-only; delete it after use).
    #[arg(long, value_name = "FILE")]
    write_replacements: Option<PathBuf>,
    /// List every ref that holds a finding (reports otherwise name the default branch,
    /// branches and tags up to a cap and count the rest by namespace).
    #[arg(long)]
    all_refs_in_report: bool,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    out: Output,
}

#[derive(Args)]
struct FixArgs {
    /// Files or directories (default: the current directory).
    paths: Vec<PathBuf>,
    /// Change nothing; print the diff (secrets masked) of what would change.
    #[arg(long)]
    dry_run: bool,
    /// Where the values go (default: .env at the repository root).
    #[arg(long, value_name = "FILE")]
    env_file: Option<PathBuf>,
    /// Print secrets in full (they are masked otherwise).
    #[arg(long)]
    reveal: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct ScanArgs {
    /// Files or directories (default: the current directory).
    paths: Vec<PathBuf>,
    /// Only scan .ipynb files.
    #[arg(long)]
    notebooks_only: bool,
    /// Files larger than this many bytes are scanned in overlapping windows, not whole.
    #[arg(long)]
    max_file_size: Option<u64>,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    out: Output,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("nbguard: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Scan(a) => scan(a),
        Command::PreCommit(h) => client_gate(Gate::PreCommit, &h),
        Command::PrePush { remote, hook, .. } => client_gate(Gate::PrePush(remote), &hook),
        Command::Diff { range, hook } => client_gate(Gate::Range(range), &hook),
        Command::PreReceive(h) => server_gate(&h),
        Command::Rules { action } => rules(action),
        Command::Hook { action } => hook(action),
        Command::Audit(a) => audit(a),
        Command::Fix(a) => fix(a),
        Command::Serve { common, fail_on } => serve(&common, fail_on),
        Command::Report { action } => report_command(action),
    }
}

/// Configuration is resolved once, as `nbguard scan` would in the directory the server starts
/// in (the kernel's working directory); a mistake in it ends the server with exit 2 before any
/// request, so the extension can show why.
fn serve(common: &Common, fail_on: Option<String>) -> Result<u8> {
    let cwd = std::env::current_dir().context("cannot tell the current directory")?;
    let s = settings(Some(&config_root(&cwd)), common)?;
    let out = Output {
        fail_on,
        ..Default::default()
    };
    let scanner = scanner(&s, &out)?;
    let threshold = threshold(&out, &s)?;
    nbguard::commands::serve::run(
        &scanner,
        &threshold,
        &mut std::io::stdin().lock(),
        &mut std::io::BufWriter::new(std::io::stdout().lock()),
    )
    .context("serve: standard input or output failed")?;
    Ok(0)
}

/// Finds the directory whose `.nbguard.toml` applies: the enclosing git work tree, else the
/// directory itself.
fn config_root(start: &Path) -> PathBuf {
    let start = std::fs::canonicalize(start).unwrap_or_else(|_| start.to_path_buf());
    let dir = if start.is_dir() {
        start.clone()
    } else {
        start
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or(start.clone())
    };
    let mut cur = Some(dir.as_path());
    while let Some(d) = cur {
        if d.join(".git").exists() {
            return d.to_path_buf();
        }
        cur = d.parent();
    }
    dir
}

fn settings(root: Option<&Path>, common: &Common) -> Result<Settings> {
    let layers = if common.no_config {
        common
            .config
            .iter()
            .map(|p| Ok((p.clone(), config::load_file(p)?)))
            .collect::<Result<Vec<_>, config::ConfigError>>()?
    } else {
        config::discover(root, &common.config)?
    };
    Ok(config::resolve(&layers)?)
}

fn scanner(s: &Settings, out: &Output) -> Result<Scanner> {
    let mut s = s.clone();
    if let Some(t) = &out.fail_on {
        s.fail_on = threshold(out, &s)?;
        s.references
            .retain(|r| r.kind != config::ReferenceKind::FailOn);
        let _ = t;
        s.reference_threshold("--fail-on (or NBGUARD_FAIL_ON)");
    }
    let s = &s;
    let path = out.baseline.clone().or_else(|| s.baseline.clone());
    let baseline = match path {
        Some(p) => Some(Baseline::load(&p)?),
        None => None,
    };
    Ok(Scanner::new(s, baseline)?)
}

fn scan(a: ScanArgs) -> Result<u8> {
    let paths = if a.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        a.paths.clone()
    };
    let root = config_root(&paths[0]);
    let mut s = settings(Some(&root), &a.common)?;
    if a.notebooks_only {
        s.notebooks_only = true;
    }
    if let Some(m) = a.max_file_size {
        s.max_file_size = m;
    }
    let scanner = scanner(&s, &a.out)?;
    let report = nbguard::commands::scan::run(&scanner, &paths)?;
    let unread = nbguard::commands::git::unscanned(&report);
    let code = finish(report, &s, &a.out, report::Options::default(), false)?;
    match unread {
        Some(why) => Ok(unscanned_error(&format!(
            "{why}\nMake them readable (check permissions), or leave them out of the paths given."
        ))),
        None => Ok(code),
    }
}

/// Content that could not be read was not scanned, so the run fails (exit 2) whatever else it
/// found: a clean report over unread content would be false assurance.
fn unscanned_error(why: &str) -> u8 {
    eprintln!("nbguard: error: {why}");
    2
}

/// The threshold in force: `--fail-on` over the configured one.
fn threshold(out: &Output, s: &Settings) -> Result<nbguard::threshold::Threshold> {
    match &out.fail_on {
        Some(t) => t
            .parse()
            .map_err(|e: String| anyhow::anyhow!("--fail-on `{t}`: {e}")),
        None => Ok(s.fail_on.clone()),
    }
}

/// Sorts, judges against the threshold, writes the report and any baseline, and returns the
/// exit code.
fn finish(
    mut report: Report,
    s: &Settings,
    out: &Output,
    mut opts: report::Options,
    to_stderr: bool,
) -> Result<u8> {
    report.sort();
    let threshold = threshold(out, s)?;
    report.blocked = threshold.blocks(&report.findings);
    report.threshold = threshold.to_string();
    let format: Format = match out.format.as_deref().or(s.format.as_deref()) {
        Some(f) => f.parse().map_err(|e: String| anyhow::anyhow!(e))?,
        None => Format::Text,
    };
    opts.reveal = out.reveal;
    opts.show_suppressed = out.show_suppressed;
    let terminal = if to_stderr {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    opts.color = out.output.is_none()
        && terminal
        && !out.no_color
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && s.color.unwrap_or(true);
    if let Some(p) = &out.write_baseline {
        Baseline::from_findings(report.findings.iter().filter(|f| {
            f.suppressed.is_none()
                || matches!(f.suppressed, Some(nbguard::finding::Suppression::Baseline))
        }))
        .write(p)?;
    }
    let mut buf = Vec::new();
    match format {
        Format::Text => report::write_text(&mut buf, &report, &opts)?,
        Format::Json => report::write_json(&mut buf, &report, &opts)?,
        Format::Sarif => report::write_sarif(&mut buf, &report, &opts)?,
    }
    match &out.output {
        Some(p) => {
            std::fs::write(p, &buf).with_context(|| format!("cannot write {}", p.display()))?
        }
        None => {
            let res = if to_stderr {
                std::io::stderr().write_all(&buf)
            } else {
                std::io::stdout().write_all(&buf)
            };
            match res {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other?,
            }
        }
    }
    Ok(if report.blocked { 1 } else { 0 })
}

fn parse_since(s: &str) -> Result<i64> {
    if let Some(secs) = s.strip_prefix('@') {
        return secs.parse().context("--since @<unix seconds>");
    }
    let (date, time) = s.split_once(['T', ' ']).unwrap_or((s, "00:00:00"));
    let d: Vec<i64> = date
        .split('-')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .context("--since takes YYYY-MM-DD")?;
    let t: Vec<i64> = time
        .split(':')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .context("--since time is HH:MM[:SS]")?;
    let [y, m, day] = d[..] else {
        bail!("--since takes YYYY-MM-DD")
    };
    // Days from civil (proleptic Gregorian), UTC.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(days * 86_400
        + t.first().copied().unwrap_or(0) * 3600
        + t.get(1).copied().unwrap_or(0) * 60
        + t.get(2).copied().unwrap_or(0))
}

fn audit(a: AuditArgs) -> Result<u8> {
    use nbguard::source::history::RefSelection;
    let dir = a.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let root = match nbguard::source::repo::read_layout(&dir) {
        Ok(l) => l.work_tree.unwrap_or(l.git_dir),
        Err(_) => dir.clone(),
    };
    let s = settings(Some(&root), &a.common)?;
    let scanner = scanner(&s, &a.out)?.with_history_memo();
    let refs = match a.refs.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] | ["all"] => RefSelection::All,
        ["branches"] => RefSelection::Branches,
        ["tags"] => RefSelection::Tags,
        _ => RefSelection::Globs(a.refs.clone()),
    };
    let request = nbguard::commands::audit::Request {
        refs,
        since: a.since.as_deref().map(parse_since).transpose()?,
        notebooks_only: a.notebooks_only,
        progress: !a.no_progress,
    };
    let mut report = nbguard::commands::audit::run(&scanner, &dir, &request)?;
    if let Some(p) = &a.write_replacements {
        write_replacements(p, &report)?;
    }
    let threshold = threshold(&a.out, &s)?;
    let reps = report.representatives();
    report.blocked = threshold.blocks(&reps);
    report.threshold = threshold.to_string();
    if let Some(p) = &a.out.write_baseline {
        Baseline::from_findings(report.groups.iter().flat_map(|g| g.occurrences.iter()))
            .write(p)?;
    }
    let opts = report::Options {
        reveal: a.out.reveal,
        show_suppressed: a.out.show_suppressed,
        all_refs: a.all_refs_in_report,
        ..Default::default()
    };
    let mut buf = Vec::new();
    use nbguard::report::audit::*;
    match a
        .out
        .format
        .as_deref()
        .or(s.format.as_deref())
        .unwrap_or("text")
    {
        "text" => write_audit_text(&mut buf, &report, &opts)?,
        "json" => write_audit_json(&mut buf, &report, &opts)?,
        "sarif" => write_audit_sarif(&mut buf, &report, &opts)?,
        "html" => write_audit_html(&mut buf, &report, &opts)?,
        other => bail!("unknown format `{other}` (text, json, sarif, html)"),
    }
    emit(&buf, a.out.output.as_deref(), false)?;
    Ok(if report.blocked { 1 } else { 0 })
}

/// The expressions file for `git filter-repo --replace-text`, owner-only from the start.
fn write_replacements(path: &Path, report: &nbguard::report::audit::AuditReport) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let lines = nbguard::fix::history::replacement_lines(
        report.groups.iter().flat_map(|g| g.occurrences.iter()),
    );
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    for l in &lines {
        writeln!(f, "{l}")?;
    }
    eprintln!(
        "nbguard: wrote {} expression(s) to {}. WARNING: that file holds the secrets in clear. \
         Review it first: each line replaces its text in every file of history, so delete the \
         lines of false positives. Then use it with `git filter-repo --replace-text {}` and \
         delete it. Purging history does not replace rotating: revoke and reissue every \
         credential listed.",
        lines.len(),
        path.display(),
        path.display()
    );
    Ok(())
}

fn fix(a: FixArgs) -> Result<u8> {
    let paths = if a.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        a.paths.clone()
    };
    let root = config_root(&paths[0]);
    let s = settings(Some(&root), &a.common)?;
    let scanner = scanner(&s, &Output::default())?;
    let request = nbguard::commands::fix::Request {
        paths,
        root,
        env_file: a.env_file.clone(),
        dry_run: a.dry_run,
    };
    let outcome = nbguard::commands::fix::run(&scanner, &request)?;
    let mut buf = Vec::new();
    report::write_fix_text(&mut buf, &outcome, a.reveal)?;
    emit(&buf, None, false)?;
    Ok(if outcome.incomplete() { 1 } else { 0 })
}

#[derive(Subcommand)]
enum ReportAction {
    /// Merge per-repository `audit --format json` reports into one: a secret found in several
    /// repositories is listed once, with all of them.
    Merge {
        /// Audit JSON reports, one per repository.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// html, json or sarif.
        #[arg(long, short = 'f', default_value = "html")]
        format: String,
        /// Write the merged report to this file instead of standard output.
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
}

fn report_command(action: ReportAction) -> Result<u8> {
    let ReportAction::Merge {
        files,
        format,
        output,
    } = action;
    let merged = nbguard::report::audit::merge::merge(&files)?;
    let mut buf = Vec::new();
    match format.as_str() {
        "html" => merged.write_html(&mut buf)?,
        "json" => merged.write_json(&mut buf)?,
        "sarif" => merged.write_sarif(&mut buf)?,
        other => bail!("unknown format `{other}` (html, json, sarif)"),
    }
    emit(&buf, output.as_deref(), false)?;
    Ok(0)
}

/// Writes a rendered report to a file or a standard stream; a closed pipe is not an error.
fn emit(buf: &[u8], path: Option<&Path>, to_stderr: bool) -> Result<()> {
    match path {
        Some(p) => {
            std::fs::write(p, buf).with_context(|| format!("cannot write {}", p.display()))?
        }
        None => {
            let res = if to_stderr {
                std::io::stderr().write_all(buf)
            } else {
                std::io::stdout().write_all(buf)
            };
            match res {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other?,
            }
        }
    }
    Ok(())
}

fn hook_kinds(t: &HookTarget) -> Result<Vec<nbguard::hooks::Kind>> {
    use nbguard::hooks::Kind;
    if t.hooks.is_empty() {
        return Ok(vec![if t.server {
            Kind::PreReceive
        } else {
            Kind::PreCommit
        }]);
    }
    t.hooks
        .iter()
        .map(|h| {
            Kind::ALL
                .into_iter()
                .find(|k| k.name() == h)
                .ok_or_else(|| {
                    anyhow::anyhow!("unknown hook `{h}` (pre-commit, pre-push, pre-receive)")
                })
        })
        .collect()
}

fn hook(action: HookAction) -> Result<u8> {
    use nbguard::hooks::{self, Installed, Removed, State};
    match action {
        HookAction::Install(t) => {
            let repo = t.repo.clone().unwrap_or_else(|| PathBuf::from("."));
            let command = match (&t.command, hooks::tracked_hooks_dir(&repo)?) {
                (Some(c), _) => c.clone(),
                (None, Some(dir)) => {
                    println!(
                        "note: git tracks {}, so the hook runs `nbguard` from PATH rather than \
                         this machine's path to it; everyone who uses these hooks needs nbguard \
                         on PATH (`--command` chooses another)",
                        dir.display()
                    );
                    "nbguard".to_string()
                }
                (None, None) => std::env::current_exe()
                    .context("cannot tell where this nbguard executable is; pass --command")?
                    .display()
                    .to_string(),
            };
            for kind in hook_kinds(&t)? {
                let what = hooks::install(&repo, kind, &command)?;
                let dir = hooks::hooks_dir(&repo)?;
                let path = dir.join(kind.name());
                match what {
                    Installed::New => println!("installed {}", path.display()),
                    Installed::Chained { previous } => println!(
                        "installed {} (the hook that was there is kept as {} and runs first)",
                        path.display(),
                        previous.display()
                    ),
                    Installed::Updated => println!("updated {}", path.display()),
                    Installed::Unchanged => println!("already installed: {}", path.display()),
                }
            }
            Ok(0)
        }
        HookAction::Uninstall(t) => {
            let repo = t.repo.clone().unwrap_or_else(|| PathBuf::from("."));
            let kinds = if t.hooks.is_empty() && !t.server {
                nbguard::hooks::Kind::ALL.to_vec()
            } else {
                hook_kinds(&t)?
            };
            for kind in kinds {
                match hooks::uninstall(&repo, kind)? {
                    Removed::Removed => println!("removed the {} hook", kind.name()),
                    Removed::Restored => println!(
                        "removed the {} hook and restored the one that was there before",
                        kind.name()
                    ),
                    Removed::NotInstalled => {}
                }
            }
            Ok(0)
        }
        HookAction::Status { repo } => {
            let repo = repo.unwrap_or_else(|| PathBuf::from("."));
            for st in hooks::status(&repo)? {
                let state = match st.state {
                    State::Missing => "not installed".to_string(),
                    State::Installed { chained: true } => {
                        "installed (runs the earlier hook first)".to_string()
                    }
                    State::Installed { chained: false } => "installed".to_string(),
                    State::Foreign => "another tool's hook (not nbguard)".to_string(),
                };
                println!("{:<12} {:<40} {}", st.kind.name(), state, st.path.display());
            }
            Ok(0)
        }
    }
}

enum Gate {
    PreCommit,
    PrePush(Option<String>),
    Range(String),
}

const CLIENT_ADVICE: &[&str] = &[
    "",
    "nbguard blocked this. For each finding above, either:",
    "  - remove the value and load it from the environment, a secret manager or getpass() instead;",
    "  - clear the cell's output if it was printed there (Restart & Clear Output, or nbstripout);",
    "  - or, for a false positive, add `# nbguard: ignore[<rule>]` to the line (or tag the cell",
    "    `nbguard-ignore`) and say why in the commit message.",
    "Then `git add` the files and try again.",
    "A credential that was ever committed anywhere, even only locally, must be treated as leaked:",
    "rotate it (revoke it and issue a new one) as well as removing it.",
];

const RANGE_ADVICE: &[&str] = &[
    "",
    "nbguard blocked this: the commits listed above add credentials or personal data.",
    "Removing the value in a new commit is not enough: it would stay in history. Rewrite those",
    "commits before they are pushed or merged:",
    "  - last commit only: edit the file, `git add` it, `git commit --amend`;",
    "  - older commits: `git rebase -i <oldest listed commit>^`, mark each listed commit `edit`,",
    "    remove the value, `git commit --amend`, `git rebase --continue`;",
    "  - a commit message: `git commit --amend` (last) or `reword` in `git rebase -i`.",
    "For a false positive, add `# nbguard: ignore[<rule>]` to the line in those commits.",
    "Rotate every credential listed (revoke and reissue): it has been committed.",
];

const SERVER_ADVICE: &[&str] = &[
    "",
    "nbguard rejected this push: the commits listed above add credentials or personal data.",
    "The whole push was refused; nothing was stored. To fix it, rewrite those commits:",
    "  - last commit only: edit the file, `git add` it, `git commit --amend`;",
    "  - older commits: `git rebase -i <oldest listed commit>^`, mark each listed commit `edit`,",
    "    remove the value, `git commit --amend`, `git rebase --continue`;",
    "then push again. Removing the value in a new commit is not enough: it would stay in history.",
    "Rotate every credential listed (revoke and reissue): it has left your machine.",
];

/// Repository root for a client hook's `.nbguard.toml`.
fn work_root(repo: &Option<PathBuf>) -> PathBuf {
    let dir = repo.clone().unwrap_or_else(|| PathBuf::from("."));
    match nbguard::source::repo::read_layout(&dir) {
        Ok(l) => l.work_tree.unwrap_or(l.git_dir),
        Err(_) => dir,
    }
}

fn client_gate(gate: Gate, h: &HookArgs) -> Result<u8> {
    let dir = h.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let name = match &gate {
        Gate::PreCommit => "pre-commit",
        Gate::PrePush(_) => "pre-push",
        Gate::Range(_) => "diff",
    };
    let s = match settings(Some(&work_root(&h.repo)), &h.common) {
        Ok(s) => s,
        Err(e) => return Ok(unreadable_config(name, &e)),
    };
    // Rules, globs, thresholds and the baseline are configuration too: a mistake there blocks
    // whatever `hook.on_error` says.
    let scanner = match scanner(&s, &h.out) {
        Ok(scanner) => scanner,
        Err(e) => return Ok(unreadable_config(name, &e)),
    };
    let _watchdog = watchdog(name, &s);
    let result = match gate {
        Gate::PreCommit => nbguard::commands::git::pre_commit(&scanner, &dir),
        Gate::PrePush(remote) => {
            let stdin = pre_push_input()?;
            nbguard::commands::git::pre_push(&scanner, &dir, remote.as_deref(), &stdin)
        }
        Gate::Range(spec) => nbguard::commands::git::range(&scanner, &dir, &spec),
    };
    let is_hook = name != "diff";
    let report = match result {
        Ok(report) => report,
        Err(e) if is_hook => return fail_policy(name, &s, anyhow::Error::new(e)),
        // `diff` runs in CI, not as a hook: hook policies do not apply to it.
        Err(e) => return Err(e.into()),
    };
    let advice = if name == "pre-commit" {
        CLIENT_ADVICE
    } else {
        RANGE_ADVICE
    };
    let mut advice: Vec<String> = advice.iter().map(|s| s.to_string()).collect();
    if name == "pre-commit" {
        advice.extend(nbguard::commands::git::fix_advice(&report));
    }
    let opts = report::Options {
        advice,
        ..Default::default()
    };
    let unread = nbguard::commands::git::unscanned(&report);
    let code = finish(report, &s, &h.out, opts, is_hook)?;
    let Some(why) = unread else {
        return Ok(code);
    };
    let why = format!("{why}\n{}", nbguard::commands::git::UNREAD_OBJECTS_ADVICE);
    if !is_hook {
        return Ok(unscanned_error(&why));
    }
    Ok(code.max(fail_policy(name, &s, anyhow::anyhow!(why))?))
}

fn server_gate(h: &HookArgs) -> Result<u8> {
    let dir = h.repo.clone().unwrap_or_else(|| PathBuf::from("."));
    let git_dir = nbguard::commands::git::git_dir(&dir);
    let layers = if h.common.no_config {
        config::discover_server(Path::new("/nonexistent"), &h.common.config)?
    } else {
        config::discover_server(&git_dir, &h.common.config)?
    };
    let s = config::resolve(&layers)?;
    let scanner = scanner(&s, &h.out)?.with_memo();
    let _watchdog = watchdog("pre-receive", &s);
    let stdin = read_stdin()?;
    match nbguard::commands::git::pre_receive(&scanner, &dir, &stdin) {
        Ok(mut report) => {
            if let Some(why) = nbguard::commands::git::unscanned(&report) {
                // Closed: the push is refused. Open: it goes on, and what could be read still
                // blocks.
                if s.on_error == config::FailPolicy::Closed {
                    return fail_policy("pre-receive", &s, anyhow::anyhow!(why));
                }
                eprintln!("nbguard: warning: pre-receive could not check all of this change and lets the unread part through (hook.on_error = \"open\"): {why}");
            }
            let mut bypasses =
                nbguard::commands::git::judge_inline_markers(&mut report, s.inline_suppressions);
            for b in &bypasses {
                eprintln!("nbguard: let through by an inline marker in the pushed content (recorded): {b}");
            }
            if s.allow_push_option {
                let allowed = nbguard::commands::git::push_option_allows();
                let used = nbguard::commands::git::apply_push_allows(&mut report, &allowed);
                for u in &used {
                    eprintln!("nbguard: allowed by push option (recorded): {u}");
                }
                bypasses.extend(used);
            }
            // A rejected push stores nothing, so only what actually gets through is recorded.
            let blocked = threshold(&h.out, &s)?.blocks(&report.findings);
            if !blocked {
                if let Err(e) = nbguard::commands::git::record_bypasses(&git_dir, &bypasses) {
                    return fail_policy(
                        "pre-receive",
                        &s,
                        anyhow::anyhow!("cannot record what was let through: {e}"),
                    );
                }
            }
            let mut advice: Vec<String> = SERVER_ADVICE.iter().map(|s| s.to_string()).collect();
            if s.allow_push_option {
                advice.push("A reviewed false positive can be let through with `git push -o nbguard.allow=<fingerprint>` (recorded):".into());
                advice.extend(report.findings.iter().filter(|f| f.is_active()).map(|f| {
                    format!(
                        "  nbguard.allow={}  ({} in {})",
                        f.fingerprint,
                        f.rule,
                        report::clean(&f.path)
                    )
                }));
            }
            let opts = report::Options {
                advice,
                ..Default::default()
            };
            finish(report, &s, &h.out, opts, true)
        }
        Err(e) => fail_policy("pre-receive", &s, anyhow::Error::new(e)),
    }
}

/// git gives `pre-push` hooks one line per ref on stdin; the pre-commit framework instead sets
/// `PRE_COMMIT_FROM_REF` / `PRE_COMMIT_TO_REF`, which are turned into the same line.
fn pre_push_input() -> Result<String> {
    match std::env::var("PRE_COMMIT_TO_REF") {
        Ok(to) if !to.is_empty() => {
            let from = std::env::var("PRE_COMMIT_FROM_REF")
                .ok()
                .filter(|f| !f.is_empty())
                .unwrap_or_else(|| "0".repeat(to.len()));
            let remote_ref =
                std::env::var("PRE_COMMIT_REMOTE_BRANCH").unwrap_or_else(|_| "HEAD".into());
            Ok(format!("HEAD {to} {remote_ref} {from}\n"))
        }
        _ => read_stdin(),
    }
}

fn read_stdin() -> Result<String> {
    let mut s = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
        .context("cannot read the ref updates on standard input")?;
    Ok(s)
}

/// Configuration that cannot be loaded (unreadable, or wrong: an unknown rule id, a bad custom
/// rule) cannot choose `hook.on_error = "open"` either: the hook says what is wrong and blocks.
fn unreadable_config(name: &str, e: &anyhow::Error) -> u8 {
    eprintln!(
        "nbguard: {name} could not load its configuration, so this change is blocked \
         (a configuration that cannot be loaded cannot set hook.on_error = \"open\"):\n{e:#}\n\
         Fix the configuration, then try again."
    );
    2
}

/// A hook that cannot do its job says so, then blocks (`closed`, the default) or lets the change
/// through (`open`).
fn fail_policy(name: &str, s: &Settings, e: anyhow::Error) -> Result<u8> {
    match s.on_error {
        config::FailPolicy::Closed => {
            eprintln!("nbguard: {name} could not check this change, so it is blocked (hook.on_error = \"closed\"): {e:#}");
            Ok(2)
        }
        config::FailPolicy::Open => {
            eprintln!("nbguard: warning: {name} could not check this change and lets it through (hook.on_error = \"open\"): {e:#}");
            Ok(0)
        }
    }
}

/// Enforces `hook.max_seconds`: past the budget the process ends with the failure policy's
/// answer, whatever it was doing.
fn watchdog(name: &'static str, s: &Settings) -> Option<std::thread::JoinHandle<()>> {
    let secs = s.max_seconds?;
    let policy = s.on_error;
    Some(std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(secs));
        let (code, what) = match policy {
            config::FailPolicy::Closed => (2, "blocked (hook.on_error = \"closed\")"),
            config::FailPolicy::Open => (0, "let through (hook.on_error = \"open\")"),
        };
        eprintln!("nbguard: {name} did not finish within {secs} s (hook.max_seconds); the change is {what}");
        std::process::exit(code);
    }))
}

fn rules(action: RulesAction) -> Result<u8> {
    let cwd = std::env::current_dir()?;
    let (RulesAction::List { common, .. } | RulesAction::Check { common }) = &action;
    let s = settings(Some(&config_root(&cwd)), common)?;
    let scanner = Scanner::new(&s, None)?;
    let mut buf = Vec::new();
    let code = match action {
        RulesAction::List { json, .. } => {
            nbguard::commands::rules::write_list(&mut buf, &scanner, json)?;
            0
        }
        RulesAction::Check { .. } => {
            let failures = check_rules(&mut buf, &scanner, &s)?;
            u8::from(failures > 0)
        }
    };
    emit(&buf, None, false)?;
    if code != 0 {
        bail!("rules check found problems (listed above)");
    }
    Ok(0)
}

/// Runs every rule's examples through the whole pipeline; writes one line per failure and a
/// summary, and returns the number of failures.
fn check_rules(w: &mut dyn Write, scanner: &Scanner, s: &Settings) -> Result<usize> {
    let mut failures = Vec::new();
    let mut examples = 0;
    let custom: Vec<&str> = s.custom_rules.iter().map(|r| r.id.as_str()).collect();
    for rule in &scanner.catalogue().rules {
        if let Err(e) = rule.compile_now() {
            failures.push(format!("{:#}", anyhow::Error::new(e)));
            continue;
        }
        if rule.examples.is_empty() || rule.negative_examples.is_empty() {
            failures.push(format!(
                "{}: needs at least one example and one negative example",
                rule.id
            ));
        }
        examples += rule.examples.len() + rule.negative_examples.len();
        for f in nbguard::commands::rules::check_rule(scanner, rule) {
            // Examples may hold working keys copied by a user: shown masked, like any secret.
            failures.push(format!(
                "{} [{}] example `{}`: {}",
                f.rule,
                f.placement,
                nbguard::finding::mask(&f.example),
                f.problem
            ));
        }
    }
    for f in &failures {
        writeln!(w, "FAIL {f}")?;
    }
    writeln!(
        w,
        "{} rules ({} custom), {} examples, {} failures",
        scanner.catalogue().rules.len(),
        custom.len(),
        examples,
        failures.len()
    )?;
    Ok(failures.len())
}
