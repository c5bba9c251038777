//! The Python side of the tests: the wheel built from this checkout by maturin, and fresh
//! virtualenvs that install it with no cargo on `PATH`, as a user without Rust would.
//!
//! The test packages (maturin, ipykernel, nbclient, pre-commit) live in the virtualenv that
//! `scripts/test.sh` makes and names in `NBGUARD_TEST_VENV`; without it a test fails rather than
//! skips. A fresh virtualenv reaches those packages through a `.pth` file, so that making one costs
//! a `python -m venv --without-pip` and an offline install of the wheel, not a download.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Instant;

use tempfile::TempDir;

const HOW: &str = "run the tests with scripts/test.sh, which makes the virtualenv \
                   target/test-venv with the test packages and sets NBGUARD_TEST_VENV";

/// The test virtualenv (`NBGUARD_TEST_VENV`); panics, never skips, without a working one.
pub fn test_venv() -> PathBuf {
    let Some(dir) = std::env::var_os("NBGUARD_TEST_VENV") else {
        panic!("NBGUARD_TEST_VENV is not set: {HOW}");
    };
    let dir = PathBuf::from(dir);
    assert!(
        venv_python(&dir).is_file(),
        "NBGUARD_TEST_VENV={} has no bin/python: {HOW}",
        dir.display()
    );
    dir
}

pub fn venv_bin(venv: &Path) -> PathBuf {
    venv.join(if cfg!(windows) { "Scripts" } else { "bin" })
}

pub fn venv_python(venv: &Path) -> PathBuf {
    venv_bin(venv).join(if cfg!(windows) {
        "python.exe"
    } else {
        "python"
    })
}

/// The wheel built from this checkout, once per test binary: `maturin build --release` into
/// `target/wheels`, reusing what `cargo build --release` built in `target/release`.
pub fn wheel() -> &'static Path {
    static WHEEL: OnceLock<PathBuf> = OnceLock::new();
    WHEEL.get_or_init(build_wheel)
}

fn build_wheel() -> PathBuf {
    let project = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = project.join("target").join("wheels");
    let venv = test_venv();
    let started = Instant::now();
    let mut cmd = Command::new(venv_bin(&venv).join("maturin"));
    cmd.current_dir(project)
        // Stored, not deflated: this wheel is installed right here, and compressing the
        // binary is most of what a build that reuses cargo's costs.
        .args([
            "build",
            "--release",
            "--compression-method",
            "stored",
            "--out",
        ])
        .arg(&out);
    // The harness may already have replaced HOME; cargo finds its toolchain and crates there.
    if let Some(home) = super::original_home() {
        cmd.env("HOME", home);
    }
    let built = cmd.output().expect("maturin runs");
    assert!(
        built.status.success(),
        "maturin build failed: {}",
        super::describe(&built)
    );
    let version = env!("CARGO_PKG_VERSION");
    let log = String::from_utf8_lossy(&built.stderr).into_owned();
    let wheel = log
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .map(PathBuf::from)
        .find(|p| {
            p.extension().is_some_and(|e| e == "whl")
                && p.file_name().is_some_and(|n| {
                    n.to_string_lossy()
                        .starts_with(&format!("nbguard-{version}-"))
                })
        })
        .unwrap_or_else(|| panic!("maturin named no nbguard-{version} wheel:\n{log}"));
    eprintln!(
        "maturin build --release (wheel {}): {:.1} s",
        wheel.display(),
        started.elapsed().as_secs_f64()
    );
    wheel
}

/// `PATH` with `first`, then the system directories (for git and sh), leaving out any that
/// holds cargo or rustc: what a machine without Rust has.
pub fn path_without_rust(first: &[PathBuf]) -> std::ffi::OsString {
    let system = ["/usr/local/bin", "/usr/bin", "/bin"]
        .iter()
        .map(PathBuf::from)
        .filter(|d| !d.join("cargo").exists() && !d.join("rustc").exists());
    std::env::join_paths(first.iter().cloned().chain(system)).expect("no separator in these paths")
}

/// A throw-away virtualenv with the wheel installed and nothing of Rust on its `PATH`.
pub struct Venv {
    pub dir: TempDir,
}

impl Venv {
    /// A fresh virtualenv holding only the wheel (`test_packages`: also able to import the
    /// test virtualenv's packages, such as ipykernel and nbclient).
    pub fn with_wheel(test_packages: bool) -> Venv {
        let wheel = wheel();
        let test_venv = test_venv();
        let dir = tempfile::Builder::new()
            .prefix("nbguard-venv-")
            .tempdir()
            .expect("the temp dir must be writable to run tests");
        let made = Command::new(venv_python(&test_venv))
            .args(["-m", "venv", "--without-pip"])
            .arg(dir.path())
            .output()
            .expect("python runs");
        assert!(made.status.success(), "venv: {}", super::describe(&made));
        let venv = Venv { dir };
        // The test virtualenv's pip installs into the new one: offline, from the wheel only.
        let installed = Command::new(venv_python(&test_venv))
            .args(["-m", "pip", "--disable-pip-version-check", "--python"])
            .arg(venv.python())
            .args(["install", "--no-index", "--quiet"])
            .arg(wheel)
            .output()
            .expect("pip runs");
        assert!(
            installed.status.success(),
            "pip install of the wheel: {}",
            super::describe(&installed)
        );
        if test_packages {
            let site = venv.site_packages();
            let theirs = Venv::site_packages_of(&venv_python(&test_venv));
            std::fs::write(
                site.join("nbguard-test-packages.pth"),
                format!("{theirs}\n"),
            )
            .expect("writing a .pth file into the new virtualenv");
        }
        venv
    }

    pub fn bin(&self) -> PathBuf {
        venv_bin(self.dir.path())
    }

    pub fn python(&self) -> PathBuf {
        venv_python(self.dir.path())
    }

    fn site_packages(&self) -> PathBuf {
        PathBuf::from(Venv::site_packages_of(&self.python()))
    }

    fn site_packages_of(python: &Path) -> String {
        let out = Command::new(python)
            .args([
                "-c",
                "import sysconfig; print(sysconfig.get_path('purelib'))",
            ])
            .output()
            .expect("python runs");
        assert!(out.status.success(), "{}", super::describe(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `PATH` for commands in this virtualenv: its own scripts, then [`path_without_rust`].
    pub fn path_var(&self) -> std::ffi::OsString {
        path_without_rust(&[self.bin()])
    }

    /// A program of this virtualenv, run with only its `PATH` and a private `HOME`.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.bin().join(program));
        let home = self.dir.path().join("home");
        std::fs::create_dir_all(&home).expect("creating a home for the virtualenv's programs");
        cmd.env_clear()
            .env("PATH", self.path_var())
            .env("HOME", &home)
            .env("VIRTUAL_ENV", self.dir.path());
        cmd
    }

    pub fn run(&self, program: &str, args: &[&str]) -> Output {
        self.command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{program} in the virtualenv: {e}"))
    }
}
