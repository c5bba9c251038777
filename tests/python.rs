//! nbguard as Python users get it: the wheel that maturin builds from this checkout, installed
//! with pip into a fresh virtualenv that has no Rust on `PATH`; the `nbguard` executable and
//! `python -m nbguard` from it; the IPython extension in a real kernel (ipykernel, run by
//! nbclient as Jupyter runs a notebook); and `nbguard serve`, the checker behind the extension.
//!
//! Needs `NBGUARD_TEST_VENV` (scripts/test.sh makes it); see tests/common/python.rs.

mod common;

use std::path::Path;

use common::python::{self, Venv};
use common::{Notebook, TestRepo};
use serde_json::Value;

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn wheel_installs_the_executable_and_python_dash_m_without_cargo() {
    python::wheel();
    let venv = Venv::with_wheel(false);
    let cargo_visible = venv
        .command("python")
        .args(["-c", "import shutil; print(shutil.which('cargo') or '')"])
        .output()
        .expect("python runs");
    assert_eq!(
        text(&cargo_visible).trim(),
        "",
        "cargo is on the venv's PATH"
    );

    let want = format!("nbguard {}", env!("CARGO_PKG_VERSION"));
    let exe = venv.run("nbguard", &["--version"]);
    assert!(exe.status.success(), "{}", common::describe(&exe));
    assert_eq!(text(&exe).trim(), want);
    let module = venv.run("python", &["-m", "nbguard", "--version"]);
    assert!(module.status.success(), "{}", common::describe(&module));
    assert_eq!(text(&module).trim(), want);

    // The module passes arguments and the exit code through: a finding exits 1.
    let dir = venv.dir.path().join("work");
    std::fs::create_dir_all(&dir).expect("creating a work dir");
    std::fs::write(
        dir.join("settings.py"),
        format!("aws_key = \"{}\"\n", common::aws_key_id()),
    )
    .expect("writing a leaky file");
    let scan = venv
        .command("python")
        .args(["-m", "nbguard", "scan", "--no-config", "--format", "json"])
        .arg(&dir)
        .output()
        .expect("python runs");
    assert_eq!(scan.status.code(), Some(1), "{}", common::describe(&scan));
    assert!(text(&scan).contains("secret.aws.access-key-id"));

    let found = venv.run(
        "python",
        &[
            "-c",
            "import nbguard; print(nbguard.find_nbguard_bin()); print(nbguard.__version__)",
        ],
    );
    assert!(found.status.success(), "{}", common::describe(&found));
    let found = text(&found);
    let mut lines = found.lines();
    assert_eq!(
        Path::new(lines.next().unwrap_or_default()),
        venv.bin().join("nbguard")
    );
    assert_eq!(lines.next(), Some(env!("CARGO_PKG_VERSION")));
}

/// Runs `notebook` in a real kernel of `venv`, in `dir`, and returns the executed notebook.
fn execute(venv: &Venv, dir: &Path, notebook: &Notebook) -> Value {
    execute_with(venv, dir, notebook, &[])
}

fn execute_with(venv: &Venv, dir: &Path, notebook: &Notebook, env: &[(&str, &Path)]) -> Value {
    let input = dir.join("analysis.ipynb");
    std::fs::write(&input, notebook.to_json()).expect("writing the notebook");
    let output = dir.join("executed.ipynb");
    let script = "import sys, nbformat, nbclient\n\
                  nb = nbformat.read(sys.argv[1], as_version=4)\n\
                  nbclient.NotebookClient(nb, timeout=120, allow_errors=True, kernel_name='python3',\n\
                      resources={'metadata': {'path': sys.argv[3]}}).execute()\n\
                  nbformat.write(nb, sys.argv[2])\n";
    let run = venv
        .command("python")
        .arg("-c")
        .arg(script)
        .arg(&input)
        .arg(&output)
        .arg(dir)
        .current_dir(dir)
        .envs(env.iter().copied())
        .output()
        .expect("python runs");
    assert!(run.status.success(), "nbclient: {}", common::describe(&run));
    serde_json::from_str(&std::fs::read_to_string(&output).expect("nbclient wrote the notebook"))
        .expect("nbclient writes JSON")
}

/// Everything nbguard displayed under a cell (its warning or its note that it could not check).
fn warnings(cell: &Value) -> Vec<String> {
    cell["outputs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| o["output_type"] == "display_data")
        .map(|o| multiline(&o["data"]["text/plain"]))
        .filter(|t| t.starts_with("nbguard"))
        .collect()
}

/// nbformat's multi-line string: one string, or a list of lines.
fn multiline(v: &Value) -> String {
    match v {
        Value::Array(lines) => lines.iter().filter_map(Value::as_str).collect(),
        other => other.as_str().unwrap_or_default().to_string(),
    }
}

#[test]
fn ipython_extension_warns_under_the_leaky_cells_only_and_never_shows_the_key() {
    python::wheel();
    let venv = Venv::with_wheel(true);
    let dir = venv.dir.path().join("work");
    std::fs::create_dir_all(&dir).expect("creating a work dir");
    let key = common::aws_key_id();
    // Assembled in the kernel, so the key is only ever in what the cells show.
    let assemble = format!("key = \"{}\" + \"{}\"", &key[..8], &key[8..]);
    let notebook = Notebook::new()
        .code("%load_ext nbguard")
        .code(&format!("{assemble}\nprint('uploading with', key)"))
        .code("total = sum(range(10))\nprint(total)\ntotal")
        .code("raise ValueError('the token ' + key + ' was refused')")
        .code("%unload_ext nbguard")
        .code("print(key)")
        .code("open('.nbguard.toml', 'w').write('[rules\\n')")
        .code("%load_ext nbguard")
        .code("x = 2");
    let executed = execute(&venv, &dir, &notebook);
    let cells = executed["cells"].as_array().expect("cells");
    let all: Vec<Vec<String>> = cells.iter().map(warnings).collect();

    assert!(all[0].is_empty(), "load cell: {:?}", all[0]);
    assert_eq!(all[1].len(), 1, "leaky print: {:?}", all[1]);
    let printed = &all[1][0];
    for wanted in [
        "secret.aws.access-key-id",
        "printed output (stdout), line 1",
        "AKIA…",
        "os.environ",
        "nbguard fix",
    ] {
        assert!(printed.contains(wanted), "lacks `{wanted}`:\n{printed}");
    }
    assert!(all[2].is_empty(), "clean cell: {:?}", all[2]);
    assert_eq!(all[3].len(), 1, "leaky error: {:?}", all[3]);
    assert!(all[3][0].contains("error message"), "{}", all[3][0]);
    assert!(
        all[4].is_empty() && all[5].is_empty(),
        "after unload: {all:?}"
    );
    assert!(
        cells[5]["outputs"].to_string().contains(&key),
        "the cell after unloading did run and print"
    );
    // A configuration mistake shows under `%load_ext`, then under every cell, saying why.
    assert!(all[6].is_empty(), "{all:?}");
    for problem in [&all[7], &all[8]] {
        assert_eq!(problem.len(), 1, "{all:?}");
        assert!(
            problem[0].starts_with("nbguard could not check this cell")
                && problem[0].contains(".nbguard.toml"),
            "{}",
            problem[0]
        );
    }

    // Saved with the notebook, the warnings themselves are no findings for the hooks.
    let scan = std::process::Command::new(env!("CARGO_BIN_EXE_nbguard"))
        .args(["scan", "--no-config", "--format", "json"])
        .arg(dir.join("executed.ipynb"))
        .output()
        .expect("nbguard runs");
    let report: Value = serde_json::from_slice(&scan.stdout).expect("a JSON report");
    let findings = report["findings"].as_array().expect("findings");
    assert!(
        !findings.is_empty(),
        "the printed key is in the saved notebook"
    );
    for f in findings {
        let (cell, output) = (
            &cells[f["cell"].as_u64().unwrap_or(0) as usize],
            &f["output"],
        );
        let kind = &cell["outputs"][output.as_u64().unwrap_or(u64::MAX) as usize]["output_type"];
        assert_ne!(kind, "display_data", "a finding in a warning: {f}");
    }

    // Never the key: not in any warning, in neither of its forms.
    for (i, cell) in cells.iter().enumerate() {
        for o in cell["outputs"].as_array().into_iter().flatten() {
            if o["output_type"] == "display_data" {
                assert!(!o.to_string().contains(&key), "cell {i}: {o}");
            }
        }
    }
}

#[test]
fn ipython_config_loads_the_extension_in_every_kernel() {
    python::wheel();
    let venv = Venv::with_wheel(true);
    let dir = venv.dir.path().join("work");
    let profile = venv.dir.path().join("ipython").join("profile_default");
    std::fs::create_dir_all(&dir).expect("creating a work dir");
    std::fs::create_dir_all(&profile).expect("creating an IPython profile");
    // The README's line, as written.
    std::fs::write(
        profile.join("ipython_config.py"),
        "c.InteractiveShellApp.extensions = [\"nbguard\"]\n",
    )
    .expect("writing ipython_config.py");
    let key = common::aws_key_id();
    let notebook = Notebook::new()
        .code(&format!("key = \"{}\" + \"{}\"\nkey", &key[..8], &key[8..]))
        .code("1 + 1");
    let ipython_dir = venv.dir.path().join("ipython");
    let executed = execute_with(&venv, &dir, &notebook, &[("IPYTHONDIR", &ipython_dir)]);
    let cells = executed["cells"].as_array().expect("cells");
    let first = warnings(&cells[0]);
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(
        first[0].contains("cell result (text/plain), line 1"),
        "{}",
        first[0]
    );
    assert!(warnings(&cells[1]).is_empty());
}

fn serve(repo: &TestRepo, requests: &str) -> (std::process::Output, Vec<Value>) {
    let out = common::run_with_stdin(repo.nbguard_command(&["serve"]), requests.as_bytes());
    let replies = text(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each reply is one JSON line"))
        .collect();
    (out, replies)
}

fn request(id: u32, source: &str) -> String {
    let notebook = Notebook::new().code(source).to_value();
    let request = serde_json::json!({"id": id, "path": "analysis.ipynb", "notebook": notebook});
    format!("{request}\n")
}

#[test]
fn serve_answers_each_line_with_masked_findings_under_the_repositorys_config() {
    let repo = TestRepo::new();
    let key = common::aws_key_id();
    let leaky = request(1, &format!("aws_key = \"{key}\""));
    let password = request(2, &common::password_line());

    let (out, replies) = serve(&repo, &format!("{leaky}{password}"));
    assert!(out.status.success(), "{}", common::describe(&out));
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0]["id"], 1);
    assert_eq!(replies[0]["blocked"], true);
    assert_eq!(
        replies[0]["findings"][0]["rule"],
        "secret.aws.access-key-id"
    );
    assert_eq!(replies[0]["findings"][0]["part"], "source");
    assert!(!text(&out).contains(&key), "{}", text(&out));
    assert_eq!(replies[1]["findings"][0]["rule"], "secret.generic.password");

    repo.write(
        ".nbguard.toml",
        // The generic named-credential rule would report `aws_key = "…"` on its own.
        "[rules]\ndisable = [\"secret.aws.*\", \"secret.generic.named-credential\"]\n\
         [fail]\non = \"total>5\"\n",
    );
    let (out, replies) = serve(&repo, &format!("{leaky}{password}"));
    assert!(out.status.success(), "{}", common::describe(&out));
    assert_eq!(replies[0]["findings"].as_array().map(Vec::len), Some(0));
    assert_eq!(replies[1]["blocked"], false, "the configured threshold");
}

#[test]
fn serve_with_a_broken_config_exits_2_before_answering() {
    let repo = TestRepo::new();
    repo.write(".nbguard.toml", "[rules\n");
    // No request: the server may be gone before one could be written.
    let out = repo
        .nbguard_command(&["serve"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("nbguard runs");
    assert_eq!(out.status.code(), Some(2), "{}", common::describe(&out));
    assert!(out.stdout.is_empty(), "{}", common::describe(&out));
    assert!(common::stderr(&out).contains(".nbguard.toml"));
}

#[test]
fn ci_templates_install_this_version_with_pip_and_no_rust() {
    let project = Path::new(env!("CARGO_MANIFEST_DIR"));
    // PyYAML comes with pre-commit in the test virtualenv.
    let script = "import json, sys, yaml\n\
                  print(json.dumps([yaml.safe_load(open(p)) for p in sys.argv[1:]]))\n";
    let out = std::process::Command::new(python::venv_python(&python::test_venv()))
        .current_dir(project)
        .args(["-c", script])
        .args([
            "config/ci/github-actions.yml",
            "config/ci/gitlab-ci.yml",
            ".github/workflows/release.yml",
            "config/ci/github-actions-org-audit.yml",
            "config/ci/gitlab-ci-org-audit.yml",
        ])
        .output()
        .expect("python runs");
    assert!(out.status.success(), "{}", common::describe(&out));
    let parsed: Vec<Value> = serde_json::from_str(&text(&out)).expect("JSON from python");
    let version = env!("CARGO_PKG_VERSION");
    let (github, gitlab) = (&parsed[0], &parsed[1]);
    assert_eq!(github["env"]["NBGUARD_VERSION"], version);
    assert_eq!(gitlab["variables"]["NBGUARD_VERSION"], version);
    assert!(gitlab["variables"]["NBGUARD_FAIL_ON"].is_string());
    let install = gitlab[".nbguard"]["before_script"].to_string();
    assert!(install.contains("pip install") && install.contains("nbguard==${NBGUARD_VERSION}"));
    let (org_github, org_gitlab) = (&parsed[3], &parsed[4]);
    assert_eq!(org_github["env"]["NBGUARD_VERSION"], version);
    assert_eq!(org_gitlab["variables"]["NBGUARD_VERSION"], version);
    for (name, template) in [
        ("github", github),
        ("gitlab", gitlab),
        ("github org audit", org_github),
        ("gitlab org audit", org_gitlab),
    ] {
        let all = template.to_string();
        assert!(!all.contains("cargo"), "{name} template uses cargo: {all}");
        assert!(all.contains("nbguard==${NBGUARD_VERSION}"), "{name}: {all}");
    }
    let release = parsed[2]["jobs"]["wheels"]["strategy"]["matrix"].to_string();
    for target in [
        "x86_64-unknown-linux-gnu",
        "aarch64-unknown-linux-gnu",
        "apple-darwin",
        "windows",
    ] {
        assert!(release.contains(target), "release matrix lacks {target}");
    }
}
