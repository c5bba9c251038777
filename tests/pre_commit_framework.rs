//! nbguard through the pre-commit framework (https://pre-commit.com), as a project without Rust
//! uses it: the README's `.pre-commit-config.yaml` (a `repo: local` hook, `language: python`,
//! `additional_dependencies: ["nbguard==VERSION"]`), copied as written, with pip pointed at the
//! wheel built from this checkout instead of PyPI. The framework makes its own virtualenv,
//! installs the wheel there and runs `nbguard pre-commit` on `git commit`; no cargo is on `PATH`.
//!
//! The `language: rust` hooks of `.pre-commit-hooks.yaml` (pre-commit builds nbguard from a
//! clone with cargo) are checked with the framework's own manifest validator only: building
//! nbguard a second time inside pre-commit's cache costs minutes and tests cargo, not nbguard.
//!
//! Needs `NBGUARD_TEST_VENV` (scripts/test.sh makes it); see tests/common/python.rs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use common::{python, CellOutput, Notebook, TestRepo};

fn pre_commit() -> PathBuf {
    python::venv_bin(&python::test_venv()).join("pre-commit")
}

/// The README's `.pre-commit-config.yaml` for the Python route: the yaml block that installs
/// nbguard with `language: python`.
fn readme_python_config() -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md is readable");
    let blocks: Vec<&str> = readme
        .split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .filter(|b| b.contains("language: python"))
        .collect();
    assert_eq!(
        blocks.len(),
        1,
        "one README yaml block with language: python"
    );
    blocks[0].to_string()
}

/// pre-commit installs a local hook's placeholder package (`pip install .`) next to its
/// `additional_dependencies`, and building that needs setuptools. The virtualenv package that
/// pre-commit makes environments with carries setuptools wheels: they join ours, so that pip
/// needs no index.
fn copy_setuptools_wheels(links: &Path) {
    let out = Command::new(python::venv_python(&python::test_venv()))
        .args([
            "-c",
            "import os, virtualenv; print(os.path.join(os.path.dirname(virtualenv.__file__), \
             'seed', 'wheels', 'embed'))",
        ])
        .output()
        .expect("python runs");
    assert!(out.status.success(), "{}", common::describe(&out));
    let embed = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let mut copied = 0;
    for entry in std::fs::read_dir(&embed).expect("virtualenv's embedded wheels") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if let Some(name) = name.filter(|n| n.starts_with("setuptools-") && n.ends_with(".whl")) {
            std::fs::copy(&path, links.join(name)).expect("copying a setuptools wheel");
            copied += 1;
        }
    }
    assert!(copied > 0, "no setuptools wheel in {}", embed.display());
}

#[test]
fn rust_hook_manifest_is_valid_for_the_framework() {
    let project = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(pre_commit())
        .current_dir(project)
        .args(["validate-manifest", ".pre-commit-hooks.yaml"])
        .output()
        .expect("pre-commit runs");
    assert!(out.status.success(), "{}", common::describe(&out));
}

#[test]
fn readme_python_hook_installs_the_wheel_and_blocks_a_leaky_notebook() {
    let wheel = python::wheel();
    let config = readme_python_config();
    let pinned = format!("\"nbguard=={}\"", env!("CARGO_PKG_VERSION"));
    assert!(
        config.contains(&pinned),
        "the README pins {pinned}:\n{config}"
    );

    // pip finds the local wheels only; no index, so nothing else can be installed by mistake.
    let links = tempfile::tempdir().expect("a temp dir for the wheel");
    std::fs::copy(wheel, links.path().join(wheel.file_name().expect("a file")))
        .expect("copying the wheel");
    copy_setuptools_wheels(links.path());
    let repo = TestRepo::new()
        .with_env("PATH", python::path_without_rust(&[]))
        .with_env("PIP_NO_INDEX", "1")
        .with_env("PIP_FIND_LINKS", links.path())
        .with_env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .with_env("PRE_COMMIT_HOME", links.path().join("pre-commit-home"))
        .with_env("PRE_COMMIT_COLOR", "never");
    repo.write(".pre-commit-config.yaml", &config);
    repo.write("README.md", "# Churn\n");
    repo.commit_all("set up pre-commit");

    // `--install-hooks` makes the hook's virtualenv here, so a failing install fails here.
    let started = Instant::now();
    let mut install = repo.command(pre_commit());
    install.args(["install", "--install-hooks"]);
    let out = install.output().expect("pre-commit runs");
    assert!(
        out.status.success(),
        "pre-commit install: {}",
        common::describe(&out)
    );
    eprintln!(
        "pre-commit install --install-hooks (virtualenv and the wheel): {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let clean = Notebook::new().markdown("# Churn").code_with(
        "df = load()\ndf.head()",
        vec![CellOutput::result("   id  churned", None)],
    );
    repo.write("analysis.ipynb", clean.to_json());
    repo.git(&["add", "analysis.ipynb"]);
    let stderr = repo.commit_passes(&["commit", "-m", "clean analysis"]);
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
