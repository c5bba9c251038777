//! nbguard through the pre-commit framework (https://pre-commit.com), as a project that lists it
//! in `.pre-commit-config.yaml` uses it: the framework clones this repository at a commit, builds
//! it with `cargo install` (`language: rust`), and runs the `nbguard` hook from
//! `.pre-commit-hooks.yaml` on `git commit`.
//!
//! It needs the `pre-commit` program, which `scripts/test.sh` installs into `target/test-venv`
//! and names in `NBGUARD_TEST_PRE_COMMIT`. Without it the test fails rather than skips: a skipped
//! test would let a broken `.pre-commit-hooks.yaml` through CI.
//!
//! Cost: the framework builds the *committed* `HEAD` of this checkout (uncommitted changes are
//! not part of what it tests) in release mode. Its cargo target directory
//! (`target/pre-commit-build`) persists, so only the first run builds the dependencies; its
//! environment cache (`target/pre-commit-home/<commit>`) is keyed by the commit, so a cache built
//! from another commit is never used.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::{CellOutput, Notebook, TestRepo};

const HOW: &str = "run the tests with scripts/test.sh, which installs the pre-commit framework \
                   into target/test-venv and sets NBGUARD_TEST_PRE_COMMIT";

/// The `pre-commit` program named by `NBGUARD_TEST_PRE_COMMIT`; panics (never skips) without it.
fn pre_commit_program() -> PathBuf {
    let Some(path) = std::env::var_os("NBGUARD_TEST_PRE_COMMIT") else {
        panic!("NBGUARD_TEST_PRE_COMMIT is not set: {HOW}");
    };
    let path = PathBuf::from(path);
    let runs = Command::new(&path)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        runs,
        "NBGUARD_TEST_PRE_COMMIT={} does not run: {HOW}",
        path.display()
    );
    path
}

/// `git <args>` in this project's checkout, ignoring any git environment around the test.
fn project_git(args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_WORK_TREE")
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} in {} failed: {}",
        env!("CARGO_MANIFEST_DIR"),
        common::describe(&out)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Where cargo and rustup keep the toolchain and the crates cache: the tests' isolated `HOME`
/// must not hide them, or the framework's `cargo install` would download everything again.
fn toolchain_env() -> Vec<(&'static str, PathBuf)> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let mut env = Vec::new();
    for (var, default) in [("CARGO_HOME", ".cargo"), ("RUSTUP_HOME", ".rustup")] {
        let dir = std::env::var_os(var)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(default)));
        if let Some(dir) = dir.filter(|d| d.is_dir()) {
            env.push((var, dir));
        }
    }
    if let Some(t) = std::env::var_os("RUSTUP_TOOLCHAIN") {
        env.push(("RUSTUP_TOOLCHAIN", PathBuf::from(t)));
    }
    env
}

/// The framework's cache for `rev`, after removing caches built from other commits (each holds a
/// clone and a built binary).
fn pre_commit_home(target: &Path, rev: &str) -> PathBuf {
    let homes = target.join("pre-commit-home");
    if let Ok(entries) = std::fs::read_dir(&homes) {
        for e in entries.flatten().filter(|e| e.file_name() != rev) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
    homes.join(rev)
}

#[test]
fn pre_commit_framework_hook_passes_clean_commits_and_blocks_a_leaky_notebook() {
    // Read before the harness isolates this process (it resets HOME).
    let toolchain = toolchain_env();
    let program = pre_commit_program();
    let project = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rev = project_git(&["rev-parse", "HEAD"]);
    project_git(&["cat-file", "-e", &format!("{rev}:.pre-commit-hooks.yaml")]);
    if !project_git(&["status", "--porcelain", "--untracked-files=no"]).is_empty() {
        eprintln!("note: the framework builds commit {rev}; uncommitted changes are not tested");
    }
    let target = project.join("target");
    let mut repo = TestRepo::new()
        .with_env("PRE_COMMIT_HOME", pre_commit_home(&target, &rev))
        .with_env("CARGO_TARGET_DIR", target.join("pre-commit-build"))
        .with_env("PRE_COMMIT_COLOR", "never");
    for (var, value) in toolchain {
        repo = repo.with_env(var, value);
    }

    let config = format!(
        "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: nbguard\n",
        project.display()
    );
    repo.write(".pre-commit-config.yaml", config);
    repo.write("README.md", "# Churn\n");
    repo.commit_all("set up pre-commit");

    // `--install-hooks` clones and builds here, so a failing build fails here, with its output.
    let started = Instant::now();
    let mut install = repo.command(&program);
    install.args(["install", "--install-hooks"]);
    let out = install.output().expect("pre-commit runs");
    assert!(
        out.status.success(),
        "pre-commit install: {}",
        common::describe(&out)
    );
    eprintln!(
        "pre-commit install --install-hooks (clone and cargo install of {}): {:.1} s",
        &rev[..10],
        started.elapsed().as_secs_f64()
    );

    let clean = Notebook::new().markdown("# Churn").code_with(
        "df = load()\ndf.head()",
        vec![CellOutput::result("   id  churned", None)],
    );
    repo.write("analysis.ipynb", clean.to_json());
    repo.git(&["add", "analysis.ipynb"]);
    let started = Instant::now();
    let stderr = repo.commit_passes(&["commit", "-m", "clean analysis"]);
    eprintln!(
        "clean commit through the framework: {:.2} s",
        started.elapsed().as_secs_f64()
    );
    assert!(stderr.contains("nbguard"), "the hook ran:\n{stderr}");
    assert!(stderr.contains("Passed"), "{stderr}");

    let leaky = clean.code(&format!(
        "import boto3\naws_key = \"{}\"",
        common::aws_key_id()
    ));
    repo.write("analysis.ipynb", leaky.to_json());
    repo.git(&["add", "analysis.ipynb"]);
    let stderr = repo.commit_blocked(&["commit", "-m", "leaky analysis"]);
    for wanted in [
        "Failed",
        "analysis.ipynb:",
        "secret.aws.access-key-id",
        "cell 2 (code, id cell-0002) · source · line 2",
    ] {
        assert!(
            stderr.contains(wanted),
            "output lacks `{wanted}`:\n{stderr}"
        );
    }
    assert!(!stderr.contains(&common::aws_key_id()), "{stderr}");
}
