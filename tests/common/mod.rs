//! The integration-test harness: real repositories made by the real `git` binary in temporary
//! directories, with an isolated environment (no user or system config, fixed identities and
//! dates), a notebook builder that writes nbformat JSON through `serde_json`, the built
//! `nbguard` binary, and synthetic secrets assembled at run time so that no complete key appears
//! in this repository's own source.
//!
//! Every test binary includes this module and uses a different part of it.
#![allow(dead_code)]

pub mod python;
pub mod report;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Map, Value};
use tempfile::TempDir;

/// Fixed identity and date, so commit ids are reproducible within a test.
const NAME: &str = "Ada Tester";
const EMAIL: &str = "ada@example.com";
const DATE: &str = "2024-01-02T03:04:05+00:00";

/// A repository in a temporary directory, removed when dropped.
pub struct TestRepo {
    /// Holds the repository (in `repo/`) and a private `home/`.
    dir: TempDir,
    root: PathBuf,
    home: PathBuf,
    /// Extra variables every `git` and `nbguard` command of this repository gets (and so every
    /// hook they run), on top of the isolated environment.
    env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
}

impl TestRepo {
    /// A fresh non-bare repository on branch `main`.
    pub fn new() -> Self {
        Self::init(&[])
    }

    /// A fresh bare repository (a server) with default branch `main`.
    pub fn bare() -> Self {
        Self::init(&["--bare"])
    }

    /// A fresh repository made with extra `git init` arguments (e.g. `--object-format=sha256`).
    pub fn init(extra: &[&str]) -> Self {
        isolate_this_process();
        let dir = tempfile::Builder::new()
            .prefix("nbguard-test-")
            .tempdir()
            .expect("the temp dir must be writable to run tests");
        let root = dir.path().join("repo");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&root).expect("creating the repo dir");
        std::fs::create_dir_all(&home).expect("creating the home dir");
        let repo = TestRepo {
            dir,
            root,
            home,
            env: Vec::new(),
        };
        let mut args = vec!["init", "--quiet"];
        args.extend_from_slice(extra);
        repo.git(&args);
        repo
    }

    /// A clone of `url` (a path or URL) on its default branch, with its own temp dir and home.
    pub fn clone_of(url: &str) -> Self {
        let repo = Self::new();
        std::fs::remove_dir_all(&repo.root).expect("emptying the repo dir for the clone");
        let dest = repo
            .root
            .to_str()
            .expect("temp paths are UTF-8")
            .to_string();
        repo.git_in(repo.dir.path(), &["clone", "--quiet", url, &dest]);
        repo
    }

    /// `git push <args>`, whatever its outcome.
    pub fn push(&self, args: &[&str]) -> Output {
        let mut all = vec!["push"];
        all.extend_from_slice(args);
        self.git_may_fail(&all)
    }

    /// Passes `key=value` to every command run for this repository from now on, hooks included.
    pub fn with_env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// The repository's top-level directory (the git dir itself for a bare repository).
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// A scratch directory next to the repository, for files that must not be inside it.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::create_dir_all(&p).expect("creating a scratch dir");
        p
    }

    /// A `git` command in the repository with the isolated environment, not yet run.
    pub fn git_command(&self, args: &[&str]) -> Command {
        self.git_command_in(&self.root, args)
    }

    /// Like [`git_command`](Self::git_command) but in another directory (a linked worktree).
    pub fn git_command_in(&self, dir: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        isolate(&mut cmd, &self.home);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd.current_dir(dir)
            .args(["-c", "init.defaultBranch=main"])
            .args(["-c", "protocol.file.allow=always"])
            .args(args);
        cmd
    }

    /// Runs `git` and panics with its output when it fails.
    pub fn git(&self, args: &[&str]) -> Output {
        must_succeed(self.git_command(args), args)
    }

    /// Runs `git` in `dir` and panics with its output when it fails.
    pub fn git_in(&self, dir: &Path, args: &[&str]) -> Output {
        must_succeed(self.git_command_in(dir, args), args)
    }

    /// Runs `git` and returns its output whatever the exit status.
    pub fn git_may_fail(&self, args: &[&str]) -> Output {
        self.git_command(args)
            .output()
            .expect("the git binary must be on PATH")
    }

    /// Trimmed stdout of a successful `git` call.
    pub fn git_stdout(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.git(args).stdout)
            .trim()
            .to_string()
    }

    /// Writes a file (creating parent directories) relative to the repository root.
    pub fn write(&self, path: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.root.join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("creating parent directories");
        }
        std::fs::write(&p, bytes).expect("writing a test file");
        p
    }

    /// Stages everything and commits it; returns the new commit's full id.
    pub fn commit_all(&self, msg: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "--quiet", "--allow-empty", "-m", msg]);
        self.git_stdout(&["rev-parse", "HEAD"])
    }

    /// Stages everything and commits as `who` (author and committer) at `date` (anything git
    /// takes, e.g. `2024-02-01T10:00:00+00:00`); returns the new commit's full id.
    pub fn commit_as(&self, msg: &str, who: Who, date: &str) -> String {
        self.git(&["add", "-A"]);
        let mut cmd = self.git_command(&["commit", "--quiet", "--allow-empty", "-m", msg]);
        cmd.env("GIT_AUTHOR_NAME", who.name)
            .env("GIT_AUTHOR_EMAIL", who.email)
            .env("GIT_AUTHOR_DATE", date)
            .env("GIT_COMMITTER_NAME", who.name)
            .env("GIT_COMMITTER_EMAIL", who.email)
            .env("GIT_COMMITTER_DATE", date);
        must_succeed(cmd, &["commit", "-m", msg]);
        self.git_stdout(&["rev-parse", "HEAD"])
    }

    /// Deletes the loose object `hex`, as a damaged or trimmed clone would lack it.
    pub fn delete_loose_object(&self, hex: &str) {
        let objects = PathBuf::from(self.git_stdout(&["rev-parse", "--git-path", "objects"]));
        let objects = if objects.is_absolute() {
            objects
        } else {
            self.root.join(objects)
        };
        let file = objects.join(&hex[..2]).join(&hex[2..]);
        std::fs::remove_file(&file)
            .unwrap_or_else(|e| panic!("{} must be a loose object: {e}", file.display()));
    }

    /// `git rev-parse <rev>`.
    pub fn rev_parse(&self, rev: &str) -> String {
        self.git_stdout(&["rev-parse", rev])
    }

    /// Runs the built `nbguard` binary in the repository with the isolated environment.
    pub fn nbguard(&self, args: &[&str]) -> Output {
        self.nbguard_command(args)
            .output()
            .expect("the nbguard binary is built by cargo for integration tests")
    }

    /// Any program run in the repository with the isolated environment (and this repository's
    /// extra variables), not yet run.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        isolate(&mut cmd, &self.home);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.root);
        cmd
    }

    /// The `nbguard` command, not yet run (to add stdin or environment).
    pub fn nbguard_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_nbguard"));
        isolate(&mut cmd, &self.home);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd.current_dir(&self.root).args(args);
        cmd
    }
}

/// Everything a hook must leave alone: the branch tip, the history, the index and the files of
/// the work tree. Compare one taken before `git commit` with one taken after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoState {
    pub head: Option<String>,
    pub commits: usize,
    /// `git status --porcelain --untracked-files=all`.
    pub status: String,
    /// `git ls-files --stage`: every index entry with mode, blob and stage.
    pub index: String,
    /// Every file of the work tree (`.git` excluded) with its bytes.
    pub files: std::collections::BTreeMap<PathBuf, Vec<u8>>,
}

impl TestRepo {
    /// The state of the checkout in `dir` (the main one or a linked worktree).
    pub fn state_in(&self, dir: &Path) -> RepoState {
        let stdout = |args: &[&str]| {
            let out = self.git_in(dir, args);
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let head = self
            .git_command_in(dir, &["rev-parse", "--verify", "--quiet", "HEAD"])
            .output()
            .expect("git runs");
        let head = head
            .status
            .success()
            .then(|| String::from_utf8_lossy(&head.stdout).trim().to_string());
        let commits = match head {
            Some(_) => stdout(&["rev-list", "--count", "HEAD"])
                .trim()
                .parse()
                .expect("rev-list --count prints a number"),
            None => 0,
        };
        let mut files = std::collections::BTreeMap::new();
        read_tree_files(dir, dir, &mut files);
        RepoState {
            head,
            commits,
            status: stdout(&["status", "--porcelain", "--untracked-files=all"]),
            index: stdout(&["ls-files", "--stage"]),
            files,
        }
    }

    pub fn state(&self) -> RepoState {
        self.state_in(&self.root)
    }

    /// `nbguard hook install --command <the built binary> <extra>` in `dir`; panics on failure.
    pub fn install_hook_in(&self, dir: &Path, extra: &[&str]) -> Output {
        let mut args = vec![
            "hook",
            "install",
            "--command",
            env!("CARGO_BIN_EXE_nbguard"),
        ];
        args.extend_from_slice(extra);
        let mut cmd = self.nbguard_command(&args);
        cmd.current_dir(dir);
        let out = cmd.output().expect("nbguard runs");
        assert!(
            out.status.success(),
            "hook install failed: {}",
            describe(&out)
        );
        out
    }

    /// Installs the pre-commit hook (or those named by `extra`) in the main checkout.
    pub fn install_hook(&self, extra: &[&str]) -> Output {
        self.install_hook_in(&self.root, extra)
    }

    /// Runs `git <args>` (a commit) in `dir`, asserts that it fails and that the hook left the
    /// branch, history, index and work tree exactly as they were; returns git's stderr, which
    /// carries the hook's report.
    pub fn commit_blocked_in(&self, dir: &Path, args: &[&str]) -> String {
        let before = self.state_in(dir);
        let out = self.git_command_in(dir, args).output().expect("git runs");
        assert!(
            !out.status.success(),
            "git {args:?} should have been blocked: {}",
            describe(&out)
        );
        let after = self.state_in(dir);
        assert_eq!(before, after, "a blocked commit changed the repository");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn commit_blocked(&self, args: &[&str]) -> String {
        self.commit_blocked_in(&self.root, args)
    }

    /// Runs `git <args>` (a commit) in `dir`, asserts that it succeeds and adds exactly one
    /// commit; returns git's stderr (the hook's summary).
    pub fn commit_passes_in(&self, dir: &Path, args: &[&str]) -> String {
        let before = self.state_in(dir);
        let out = self.git_command_in(dir, args).output().expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?} should have passed: {}",
            describe(&out)
        );
        let after = self.state_in(dir);
        assert_eq!(
            after.commits,
            before.commits + 1,
            "exactly one commit lands"
        );
        assert_ne!(after.head, before.head);
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    pub fn commit_passes(&self, args: &[&str]) -> String {
        self.commit_passes_in(&self.root, args)
    }

    /// Stages everything and commits it without running hooks (history that predates nbguard).
    pub fn commit_all_unchecked(&self, msg: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&[
            "commit",
            "--quiet",
            "--no-verify",
            "--allow-empty",
            "-m",
            msg,
        ]);
        self.git_stdout(&["rev-parse", "HEAD"])
    }
}

fn read_tree_files(
    root: &Path,
    dir: &Path,
    out: &mut std::collections::BTreeMap<PathBuf, Vec<u8>>,
) {
    let entries = std::fs::read_dir(dir).expect("reading a test work tree");
    for entry in entries {
        let entry = entry.expect("reading a directory entry");
        let path = entry.path();
        if entry.file_name() == ".git" {
            continue;
        }
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            read_tree_files(root, &path, out);
        } else {
            let bytes = if kind.is_symlink() {
                std::fs::read_link(&path)
                    .expect("reading a symlink")
                    .into_os_string()
                    .into_encoded_bytes()
            } else {
                std::fs::read(&path).expect("reading a work-tree file")
            };
            let rel = path.strip_prefix(root).expect("below the root").to_owned();
            out.insert(rel, bytes);
        }
    }
}

impl Default for TestRepo {
    fn default() -> Self {
        Self::new()
    }
}

/// Makes in-process library calls (which read the environment, like git) blind to the user's
/// git configuration and to any repository a surrounding git hook names: a developer's global
/// `core.hooksPath` must not receive test hooks, and `cargo test` run from a hook must not read
/// that hook's index. Runs once, before any test repository exists.
/// `HOME` before [`isolate_this_process`] replaced it: cargo, run by maturin, finds its
/// toolchain and crate cache there.
pub fn original_home() -> Option<std::ffi::OsString> {
    match ORIGINAL_HOME.get() {
        Some(home) => home.clone(),
        None => std::env::var_os("HOME"),
    }
}

static ORIGINAL_HOME: std::sync::OnceLock<Option<std::ffi::OsString>> = std::sync::OnceLock::new();

fn isolate_this_process() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for var in [
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_INDEX_FILE",
            "GIT_COMMON_DIR",
            "GIT_OBJECT_DIRECTORY",
            "GIT_ALTERNATE_OBJECT_DIRECTORIES",
            "GIT_QUARANTINE_PATH",
            "GIT_NAMESPACE",
            "GIT_CEILING_DIRECTORIES",
            "GIT_CONFIG_PARAMETERS",
            "GIT_CONFIG_COUNT",
        ] {
            std::env::remove_var(var);
        }
        // Nothing is there, so no user configuration is found.
        let _ = ORIGINAL_HOME.set(std::env::var_os("HOME"));
        std::env::set_var("HOME", "/nonexistent/nbguard-test-home");
        std::env::set_var("XDG_CONFIG_HOME", "/nonexistent/nbguard-test-home/.config");
        std::env::set_var("GIT_CONFIG_NOSYSTEM", "1");
        std::env::set_var("GIT_CONFIG_GLOBAL", "/dev/null");
    });
}

/// Clears the environment except `PATH` and pins everything git reads from it.
fn isolate(cmd: &mut Command, home: &Path) {
    let path = std::env::var_os("PATH").unwrap_or_default();
    cmd.env_clear()
        .env("PATH", path)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", NAME)
        .env("GIT_AUTHOR_EMAIL", EMAIL)
        .env("GIT_AUTHOR_DATE", DATE)
        .env("GIT_COMMITTER_NAME", NAME)
        .env("GIT_COMMITTER_EMAIL", EMAIL)
        .env("GIT_COMMITTER_DATE", DATE)
        .env("LC_ALL", "C")
        // Server hooks never read this machine's /etc/nbguard/config.toml in tests.
        .env(
            "NBGUARD_SYSTEM_CONFIG",
            "/nonexistent/nbguard-test-system.toml",
        )
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
}

fn must_succeed(mut cmd: Command, args: &[&str]) -> Output {
    let out = cmd.output().expect("the git binary must be on PATH");
    assert!(
        out.status.success(),
        "git {args:?} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// An author (and committer) for [`TestRepo::commit_as`].
#[derive(Debug, Clone, Copy)]
pub struct Who {
    pub name: &'static str,
    pub email: &'static str,
}

/// The identity every commit has unless a test says otherwise.
pub const DEFAULT_WHO: Who = Who {
    name: NAME,
    email: EMAIL,
};

/// Builds notebooks as JSON values, so tests never hand-type notebook JSON.
#[derive(Debug, Clone)]
pub struct Notebook {
    cells: Vec<Value>,
    metadata: Map<String, Value>,
    v3: bool,
}

/// One output of a code cell.
#[derive(Debug, Clone)]
pub enum CellOutput {
    Stream {
        name: String,
        text: String,
    },
    ExecuteResult {
        plain: String,
        html: Option<String>,
    },
    Png {
        base64: String,
    },
    Error {
        ename: String,
        evalue: String,
        traceback: Vec<String>,
    },
}

impl Notebook {
    /// An empty nbformat 4.5 notebook with a Python kernelspec.
    pub fn new() -> Self {
        let mut metadata = Map::new();
        metadata.insert(
            "kernelspec".into(),
            json!({"name": "python3", "display_name": "Python 3", "language": "python"}),
        );
        metadata.insert("language_info".into(), json!({"name": "python"}));
        Notebook {
            cells: Vec::new(),
            metadata,
            v3: false,
        }
    }

    /// Writes nbformat 3 (one worksheet, `input` instead of `source`) instead of 4.5.
    pub fn nbformat3(mut self) -> Self {
        self.v3 = true;
        self
    }

    /// Adds a notebook-level metadata entry.
    pub fn metadata(mut self, key: &str, value: Value) -> Self {
        self.metadata.insert(key.into(), value);
        self
    }

    pub fn code(self, source: &str) -> Self {
        self.code_with(source, Vec::new())
    }

    pub fn code_with(mut self, source: &str, outputs: Vec<CellOutput>) -> Self {
        let n = self.cells.len();
        self.cells.push(json!({
            "cell_type": "code",
            "id": cell_id(n),
            "execution_count": n + 1,
            "metadata": {},
            "source": lines(source),
            "outputs": outputs.iter().map(|o| o.to_v4(n + 1)).collect::<Vec<_>>(),
        }));
        self
    }

    pub fn markdown(mut self, source: &str) -> Self {
        let n = self.cells.len();
        self.cells.push(json!({
            "cell_type": "markdown", "id": cell_id(n), "metadata": {}, "source": lines(source),
        }));
        self
    }

    pub fn raw(mut self, source: &str) -> Self {
        let n = self.cells.len();
        self.cells.push(json!({
            "cell_type": "raw", "id": cell_id(n), "metadata": {}, "source": lines(source),
        }));
        self
    }

    /// Adds a metadata entry to the last cell.
    pub fn cell_metadata(mut self, key: &str, value: Value) -> Self {
        let cell = self.cells.last_mut().expect("cell_metadata follows a cell");
        cell["metadata"][key] = value;
        self
    }

    /// Moves a cell (with its id, outputs and metadata) to another position.
    pub fn move_cell(mut self, from: usize, to: usize) -> Self {
        let cell = self.cells.remove(from);
        self.cells.insert(to, cell);
        self
    }

    /// As if run again in a fresh kernel later on: every execution count moves by `by`.
    pub fn reexecuted(mut self, by: usize) -> Self {
        for cell in &mut self.cells {
            let Some(n) = cell["execution_count"].as_u64() else {
                continue;
            };
            cell["execution_count"] = json!(n + by as u64);
            if let Some(outputs) = cell["outputs"].as_array_mut() {
                for o in outputs
                    .iter_mut()
                    .filter(|o| o.get("execution_count").is_some())
                {
                    o["execution_count"] = json!(n + by as u64);
                }
            }
        }
        self
    }

    /// Pretty-printed with `indent` spaces per level (Jupyter uses 1, many tools 2 or 4).
    pub fn to_json_indent(&self, indent: usize) -> String {
        use serde::Serialize;
        let pad = " ".repeat(indent);
        let mut buf = Vec::new();
        let fmt = serde_json::ser::PrettyFormatter::with_indent(pad.as_bytes());
        let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
        self.to_value()
            .serialize(&mut ser)
            .expect("a JSON value always serialises");
        buf.push(b'\n');
        String::from_utf8(buf).expect("serde_json writes UTF-8")
    }

    pub fn to_value(&self) -> Value {
        if self.v3 {
            return self.to_v3();
        }
        json!({
            "cells": self.cells,
            "metadata": self.metadata,
            "nbformat": 4,
            "nbformat_minor": 5,
        })
    }

    /// Pretty-printed with a trailing newline, as Jupyter writes it.
    pub fn to_json(&self) -> String {
        let mut s =
            serde_json::to_string_pretty(&self.to_value()).expect("a JSON value always serialises");
        s.push('\n');
        s
    }

    fn to_v3(&self) -> Value {
        let cells: Vec<Value> = self.cells.iter().map(cell_to_v3).collect();
        json!({
            "metadata": self.metadata,
            "nbformat": 3,
            "nbformat_minor": 0,
            "worksheets": [{"cells": cells, "metadata": {}}],
        })
    }
}

impl Default for Notebook {
    fn default() -> Self {
        Self::new()
    }
}

impl CellOutput {
    pub fn stream(text: &str) -> Self {
        CellOutput::Stream {
            name: "stdout".into(),
            text: text.into(),
        }
    }

    pub fn result(plain: &str, html: Option<&str>) -> Self {
        CellOutput::ExecuteResult {
            plain: plain.into(),
            html: html.map(Into::into),
        }
    }

    /// A PNG display; `bytes` are base64-encoded here.
    pub fn png(bytes: &[u8]) -> Self {
        use base64::Engine;
        CellOutput::Png {
            base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }

    /// An error whose traceback lines carry ANSI colour codes, as IPython writes them.
    pub fn error(ename: &str, evalue: &str, frames: &[&str]) -> Self {
        let traceback = frames
            .iter()
            .map(|f| format!("\u{1b}[0;31m{f}\u{1b}[0m"))
            .chain(std::iter::once(format!(
                "\u{1b}[0;31m{ename}\u{1b}[0m: {evalue}"
            )))
            .collect();
        CellOutput::Error {
            ename: ename.into(),
            evalue: evalue.into(),
            traceback,
        }
    }

    fn to_v4(&self, count: usize) -> Value {
        match self {
            CellOutput::Stream { name, text } => {
                json!({"output_type": "stream", "name": name, "text": lines(text)})
            }
            CellOutput::ExecuteResult { plain, html } => {
                let mut data = Map::new();
                data.insert("text/plain".into(), json!(lines(plain)));
                if let Some(h) = html {
                    data.insert("text/html".into(), json!(lines(h)));
                }
                json!({"output_type": "execute_result", "execution_count": count,
                       "data": data, "metadata": {}})
            }
            CellOutput::Png { base64 } => json!({
                "output_type": "display_data", "data": {"image/png": base64, "text/plain": ["<Figure>"]},
                "metadata": {},
            }),
            CellOutput::Error {
                ename,
                evalue,
                traceback,
            } => json!({"output_type": "error", "ename": ename, "evalue": evalue,
                        "traceback": traceback}),
        }
    }
}

/// nbformat 3 keeps code in `input`, names outputs `pyout`/`pyerr`, and puts mime data at the
/// top level of an output under short keys.
fn cell_to_v3(cell: &Value) -> Value {
    let kind = cell["cell_type"].as_str().unwrap_or("raw");
    if kind != "code" {
        return json!({"cell_type": kind, "metadata": {}, "source": cell["source"]});
    }
    let outputs: Vec<Value> = cell["outputs"]
        .as_array()
        .map(|a| a.iter().map(output_to_v3).collect())
        .unwrap_or_default();
    json!({
        "cell_type": "code", "language": "python", "collapsed": false, "metadata": {},
        "input": cell["source"], "prompt_number": cell["execution_count"], "outputs": outputs,
    })
}

fn output_to_v3(o: &Value) -> Value {
    match o["output_type"].as_str().unwrap_or("") {
        "stream" => json!({"output_type": "stream", "stream": o["name"], "text": o["text"]}),
        "execute_result" => json!({"output_type": "pyout", "prompt_number": o["execution_count"],
            "text": o["data"]["text/plain"], "html": o["data"]["text/html"], "metadata": {}}),
        "display_data" => json!({"output_type": "display_data", "png": o["data"]["image/png"],
            "metadata": {}}),
        _ => json!({"output_type": "pyerr", "ename": o["ename"], "evalue": o["evalue"],
            "traceback": o["traceback"]}),
    }
}

/// Splits text into nbformat's list-of-lines, each but the last keeping its `\n`.
pub fn lines(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(str::to_string).collect()
}

fn cell_id(n: usize) -> String {
    format!("cell-{n:04}")
}

/// Writes every character of `secret` in serialised JSON as a `\uXXXX` escape, as some tools do:
/// the raw file then never contains the secret literally, the decoded notebook does.
pub fn json_unicode_escape(json: &str, secret: &str) -> String {
    let escaped: String = secret
        .encode_utf16()
        .map(|u| format!("\\u{u:04x}"))
        .collect();
    assert!(
        json.contains(secret),
        "the secret must appear in the JSON to be escaped"
    );
    json.replace(secret, &escaped)
}

/// A repository with one committed notebook holding an AWS key id in a code cell.
pub fn leaky_repo() -> TestRepo {
    let repo = TestRepo::new();
    let nb = Notebook::new().code(&format!("key = \"{}\"\n", aws_key_id()));
    repo.write("analysis.ipynb", nb.to_json());
    repo.commit_all("analysis");
    repo
}

/// An AWS access key id of the documented shape (not a real key).
pub fn aws_key_id() -> String {
    ["AK", "IA", "Z7QRT2XKPL4MW3VN"].concat()
}

/// The `n`-th of 32 distinct AWS access key ids (same shape as [`aws_key_id`]), for tests that
/// need several different secrets of one kind.
pub fn aws_key_id_numbered(n: usize) -> String {
    const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let last = BASE32[n % BASE32.len()] as char;
    format!("{}{}{last}", ["AK", "IA"].concat(), "Q4MZ7RT2XKPL4W3")
}

/// An AWS secret access key of the documented shape (40 characters, not a real key).
pub fn aws_secret_key() -> String {
    ["wJalr", "XUtnFEMI/K7MDENG/", "bPxRfiCYZQ8Rt4Kw2m"].concat()
}

/// A GitHub classic token whose CRC32 checksum is valid, so checksum validators accept it.
pub fn github_token() -> String {
    nbguard::rules::validate::with_token_crc32(
        &["gh", "p_"].concat(),
        "Zq8RtY3mKx7Wp2Lc9Vb4Nd6Hf1Js5T",
    )
}

/// A PEM private key block (random base64 body, not a usable key).
pub fn pem_private_key() -> String {
    let label = ["PRIVATE", " KEY"].concat();
    let body = [
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7Vx3k2PqJm8Rt",
        "Yh4Lw9Nc6Bf2Zs1Xa5Ke7Gu3Dp0Tq8Wm4Hn2Jr6Fy9Cv1Lb5Mx3Oz7Pk0Ui2Sg4Ea",
        "Qd8Rn6Tw1Vy3Xb5Zc7Af9Hj2Kl4Mn6Op8Qr0St2Uv4Wx6Yz8Ab0Cd2Ef4Gh6Ij8Kl",
    ]
    .join("\n");
    format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n")
}

/// A password assignment as people write them in notebooks.
pub fn password_line() -> String {
    ["pass", "word = \"", "PassXYZ", "\""].concat()
}

/// Runs `cmd` with `stdin` fed in and returns its output.
pub fn run_with_stdin(mut cmd: Command, stdin: &[u8]) -> Output {
    use std::io::Write;
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawning a test command");
    let mut input = child.stdin.take().expect("stdin was piped");
    input.write_all(stdin).expect("writing stdin");
    drop(input);
    child
        .wait_with_output()
        .expect("waiting for a test command")
}

/// Lossy text of an output's stdout and stderr, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Makes `path` executable (mode 755).
pub fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .expect("setting the executable bit");
}

/// Whether a program runs with `--version` (for skipping tests that need optional tools).
pub fn has_program(name: impl AsRef<OsStr>) -> bool {
    Command::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// A bare repository with nbguard's pre-receive hook installed by the real
/// `nbguard hook install --server`, as an administrator would.
pub struct Server {
    pub repo: TestRepo,
}

impl Server {
    /// A bare repository with the hook installed.
    pub fn new() -> Self {
        let server = Self::without_hook();
        server.install_hook();
        server
    }

    /// A bare repository without the hook yet (to seed it with history first).
    pub fn without_hook() -> Self {
        Server {
            repo: TestRepo::bare(),
        }
    }

    /// Runs `nbguard hook install --server --repo <bare> --command <built nbguard>`.
    pub fn install_hook(&self) {
        let out = self.repo.nbguard(&[
            "hook",
            "install",
            "--server",
            "--repo",
            self.url(),
            "--command",
            env!("CARGO_BIN_EXE_nbguard"),
        ]);
        assert!(
            out.status.success(),
            "hook install failed: {}",
            describe(&out)
        );
    }

    /// The path clients push to.
    pub fn url(&self) -> &str {
        self.repo.path().to_str().expect("temp paths are UTF-8")
    }

    /// Where `name` points on the server, `None` when it does not exist.
    pub fn ref_id(&self, name: &str) -> Option<String> {
        let out = self
            .repo
            .git_may_fail(&["rev-parse", "--verify", "--quiet", name]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Whether the server's repository holds object `id` (`git cat-file -e`).
    pub fn has_object(&self, id: &str) -> bool {
        self.repo
            .git_may_fail(&["cat-file", "-e", id])
            .status
            .success()
    }

    /// Writes `<bare>/nbguard.toml`, the repository's server-side configuration.
    pub fn write_config(&self, toml: &str) {
        std::fs::write(self.repo.path().join("nbguard.toml"), toml).expect("writing nbguard.toml");
    }
}

impl Default for Server {
    fn default() -> Self {
        Self::new()
    }
}

/// A `git push` that must land; returns its stderr (the hook's `remote:` lines).
pub fn assert_pushed(out: &Output) -> String {
    assert!(
        out.status.success(),
        "the push should land: {}",
        describe(out)
    );
    stderr(out)
}

/// Lossy stderr of an output.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
