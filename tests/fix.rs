//! `nbguard fix` as a user runs it: notebooks built like real ones (several cells, outputs,
//! nbformat 4.5 ids, indent 1 and 2) in a real repository; the result checked by nbguard's own
//! scan, by nbformat's validator, by executing the fixed cell with python3 and the values from
//! `.env` (read by python-dotenv), and by git. History: `audit --write-replacements` fed to the
//! real `git filter-repo`. Python, nbformat, python-dotenv and git-filter-repo come from the
//! throw-away virtualenv that scripts/test.sh makes (`NBGUARD_TEST_PYTHON`); without it these
//! tests fail rather than skip.

mod common;

use common::*;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Output;

const HOW: &str = "run the tests through scripts/test.sh, which installs nbformat, python-dotenv \
                   and git-filter-repo into target/test-venv and sets NBGUARD_TEST_PYTHON";

/// The virtualenv's python; panics (never skips) without it.
fn python() -> PathBuf {
    let Some(p) = std::env::var_os("NBGUARD_TEST_PYTHON") else {
        panic!("NBGUARD_TEST_PYTHON is not set: {HOW}");
    };
    PathBuf::from(p)
}

/// A password nbguard's generic rule reports (not a sample value), assembled at run time.
fn db_password() -> String {
    ["Rv7", "-kQ2m", "!Lp9x"].concat()
}

/// The analysis cell: an assignment, keyword arguments and dict entries holding credentials.
fn credentials_cell() -> String {
    format!(
        "import json\n\
         aws_access_key_id = \"{}\"\n\
         settings = dict(region=\"eu-west-1\", aws_secret_access_key='{}')\n\
         db = {{\"host\": \"db.internal\", \"db_password\": \"{}\"}}\n\
         print(aws_access_key_id[:4], len(db))\n",
        aws_key_id(),
        aws_secret_key(),
        db_password()
    )
}

/// The names the credentials cell defines, dumped as JSON by the harness.
const DEFINED: &[&str] = &["aws_access_key_id", "settings", "db"];

fn secrets() -> Vec<String> {
    vec![
        aws_key_id(),
        aws_secret_key(),
        db_password(),
        github_token(),
    ]
}

fn notebook() -> Notebook {
    Notebook::new()
        .markdown("# Monthly report\nLoads the data and plots it.\n")
        .code_with(
            &credentials_cell(),
            vec![CellOutput::stream(&format!("{} 2\n", &aws_key_id()[..4]))],
        )
        .code_with(
            "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\n",
            vec![CellOutput::png(b"\x89PNG not really an image")],
        )
        .code_with(
            "client.whoami()\n",
            vec![
                CellOutput::stream(&format!("authenticated with {}\n", github_token())),
                CellOutput::result("'ok'", None),
            ],
        )
        .markdown("## Results\nSee the figure above.\n")
}

fn assert_ok(out: &Output, what: &str) {
    assert!(out.status.success(), "{what} failed:\n{}", describe(out));
}

/// Executes `source` with python3 after loading `.env` (python-dotenv) into the environment, and
/// returns the JSON of the names it defines.
fn run_cell(repo: &TestRepo, source: &str) -> Value {
    let harness = format!(
        "import json, os, sys\n\
         from dotenv import dotenv_values\n\
         os.environ.update({{k: v for k, v in dotenv_values('.env').items() if v is not None}})\n\
         ns = {{}}\n\
         exec(compile(sys.stdin.read(), 'cell', 'exec'), ns)\n\
         print(json.dumps({{k: ns[k] for k in {DEFINED:?}}}, sort_keys=True))\n"
    );
    let mut cmd = repo.command(python());
    cmd.args(["-c", &harness]);
    let out = run_with_stdin(cmd, source.as_bytes());
    assert_ok(&out, "executing the cell");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().expect("the harness prints the names");
    serde_json::from_str(last).expect("the harness prints JSON")
}

fn cell_source(nb: &Value, cell: usize) -> String {
    nb["cells"][cell]["source"]
        .as_array()
        .expect("source is a list of lines")
        .iter()
        .map(|l| l.as_str().expect("lines are strings"))
        .collect()
}

fn validate_with_nbformat(repo: &TestRepo, path: &str) {
    let mut cmd = repo.command(python());
    cmd.args([
        "-c",
        "import nbformat, sys\n\
         nb = nbformat.read(sys.argv[1], as_version=nbformat.NO_CONVERT)\n\
         nbformat.validate(nb)\n",
        path,
    ]);
    assert_ok(&cmd.output().expect("python runs"), "nbformat.validate");
}

/// Lines only in `before` and lines only in `after`, by a line diff.
fn changed_lines(before: &str, after: &str) -> (Vec<String>, Vec<String>) {
    let diff = similar::TextDiff::from_lines(before, after);
    let (mut gone, mut new) = (Vec::new(), Vec::new());
    for c in diff.iter_all_changes() {
        match c.tag() {
            similar::ChangeTag::Delete => gone.push(c.value().to_string()),
            similar::ChangeTag::Insert => new.push(c.value().to_string()),
            similar::ChangeTag::Equal => {}
        }
    }
    (gone, new)
}

fn scan_findings(repo: &TestRepo) -> Vec<Value> {
    let out = repo.nbguard(&["scan", ".", "--no-config", "--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("scan JSON ({e}): {}", describe(&out)));
    v["findings"].as_array().cloned().unwrap_or_default()
}

#[test]
fn fixed_notebook_scans_clean_validates_and_computes_the_same_values() {
    for indent in [1, 2] {
        let repo = TestRepo::new();
        repo.write("README.md", "report\n");
        repo.commit_all("start");
        let original = notebook().to_json_indent(indent);
        repo.write("report.ipynb", &original);
        let before_values = run_cell(&repo, &credentials_cell());

        let out = repo.nbguard(&["fix", "--no-config", "report.ipynb"]);
        assert_ok(&out, "nbguard fix");
        let report = String::from_utf8_lossy(&out.stdout);
        for s in secrets() {
            assert!(!report.contains(&s), "fix printed a secret:\n{report}");
        }

        // Nothing is found any more, and nbformat accepts the notebook.
        assert_eq!(scan_findings(&repo), Vec::<Value>::new(), "indent {indent}");
        validate_with_nbformat(&repo, "report.ipynb");

        // Only the lines that held secrets changed, plus one `import os` line.
        let fixed = std::fs::read_to_string(repo.path().join("report.ipynb")).unwrap();
        let (gone, new) = changed_lines(&original, &fixed);
        assert!(!gone.is_empty());
        for l in &gone {
            assert!(
                secrets().iter().any(|s| l.contains(s.as_str())),
                "changed line without a secret: {l}"
            );
        }
        let imports: Vec<&String> = new
            .iter()
            .filter(|l| l.contains("\"import os\\n\","))
            .collect();
        assert_eq!(imports.len(), 1, "{new:#?}");
        assert_eq!(new.len(), gone.len() + 1, "{gone:#?}\n{new:#?}");
        let indent_of = |l: &str| l.len() - l.trim_start().len();
        assert_eq!(
            indent_of(imports[0]),
            indent_of(&gone[0]),
            "the import is indented like its list"
        );
        assert!(fixed.ends_with("}\n"), "the trailing newline is kept");

        // Outputs: the secrets are masked, the picture and the other outputs stay.
        let nb: Value = serde_json::from_str(&fixed).unwrap();
        let orig: Value = serde_json::from_str(&original).unwrap();
        assert_eq!(nb["cells"][2], orig["cells"][2], "untouched cell identical");
        assert_eq!(nb["cells"][3]["outputs"][1], orig["cells"][3]["outputs"][1]);
        assert_eq!(
            nb["cells"][3]["outputs"][0]["text"][0],
            "authenticated with [REDACTED]\n"
        );

        // The values are in .env, owner-only, ignored by git; the cell computes the same values.
        let env = repo.path().join(".env");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&env).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(repo
            .git_may_fail(&["check-ignore", "-q", ".env"])
            .status
            .success());
        let env_text = std::fs::read_to_string(&env).unwrap();
        assert!(env_text.contains("AWS_ACCESS_KEY_ID="), "{env_text}");
        let after_values = run_cell(&repo, &cell_source(&nb, 1));
        assert_eq!(after_values, before_values);
        assert!(cell_source(&nb, 1).contains("os.environ[\"AWS_ACCESS_KEY_ID\"]"));

        // A second run changes nothing.
        let state = repo.state();
        let again = repo.nbguard(&["fix", "--no-config", "."]);
        assert_ok(&again, "second fix");
        assert_eq!(repo.state(), state, "a second fix changed something");
    }
}

#[test]
fn dry_run_changes_nothing_and_shows_a_masked_diff() {
    let repo = TestRepo::new();
    repo.write("report.ipynb", notebook().to_json());
    repo.commit_all("start");
    let state = repo.state();
    let out = repo.nbguard(&["fix", "--no-config", "--dry-run"]);
    assert_ok(&out, "fix --dry-run");
    assert_eq!(repo.state(), state, "a dry run changed something");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--- a/report.ipynb") && text.contains("+++ b/report.ipynb"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with('+') && l.contains("\"aws_access_key_id = os.environ")),
        "{text}"
    );
    assert!(text.contains("would add"), "{text}");
    for s in secrets() {
        assert!(!text.contains(&s), "the diff shows a secret:\n{text}");
    }
}

#[test]
fn what_cannot_be_rewritten_is_left_alone_and_listed() {
    let repo = TestRepo::new();
    let pw = db_password();
    let nb = Notebook::new()
        .markdown(&format!("The password is `{pw}`, keep it safe.\n"))
        .code(&format!(
            "url = \"postgresql://ana:{pw}@db.internal/sales\"\npassword = \"{pw}\"\n"
        ));
    let raw = nb.to_json_indent(1);
    repo.write("n.ipynb", &raw);
    let out = repo.nbguard(&["fix", "--no-config", "n.ipynb"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("in markdown"), "{text}");
    assert!(text.contains("part of a larger string"), "{text}");
    assert!(!text.contains(&pw), "{text}");
    let fixed = std::fs::read_to_string(repo.path().join("n.ipynb")).unwrap();
    let after: Value = serde_json::from_str(&fixed).unwrap();
    let before: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(after["cells"][0], before["cells"][0]);
    let src = cell_source(&after, 1);
    assert!(
        src.contains(&format!(
            "url = \"postgresql://ana:{pw}@db.internal/sales\""
        )),
        "{src}"
    );
    assert!(src.contains("password = os.environ[\"PASSWORD\"]"), "{src}");
}

#[test]
fn plain_python_file_is_fixed_in_place() {
    let repo = TestRepo::new();
    let src = format!(
        "#!/usr/bin/env python3\n\"\"\"Uploads the report.\"\"\"\nimport sys\n\n\ndef main():\n    token = \"{}\"\n    return token\n",
        github_token()
    );
    repo.write("upload.py", &src);
    let out = repo.nbguard(&["fix", "--no-config", "upload.py"]);
    assert_ok(&out, "fix");
    let fixed = std::fs::read_to_string(repo.path().join("upload.py")).unwrap();
    assert_eq!(
        fixed,
        src.replace("import sys", "import os\nimport sys").replace(
            &format!("\"{}\"", github_token()),
            "os.environ[\"GITHUB_TOKEN\"]"
        )
    );
    assert!(scan_findings(&repo).is_empty());
}

#[test]
fn an_env_file_tracked_by_git_is_refused() {
    let repo = TestRepo::new();
    repo.write(".env", "DEBUG=1\n");
    repo.write("a.py", format!("password = \"{}\"\n", db_password()));
    repo.commit_all_unchecked("tracked env");
    let state = repo.state();
    let out = repo.nbguard(&["fix", "--no-config", "a.py"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(
        stderr(&out).contains("tracked by git"),
        "{}",
        describe(&out)
    );
    assert_eq!(repo.state(), state);
}

#[test]
fn an_env_file_that_is_a_symlink_is_refused() {
    let repo = TestRepo::new();
    let elsewhere = repo.scratch("home").join("profile");
    std::fs::write(&elsewhere, "# shell profile\n").unwrap();
    std::os::unix::fs::symlink(&elsewhere, repo.path().join(".env")).unwrap();
    repo.write("a.py", format!("password = \"{}\"\n", db_password()));
    let before = std::fs::read(repo.path().join("a.py")).unwrap();
    let out = repo.nbguard(&["fix", "--no-config", "a.py"]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(stderr(&out).contains("symbolic link"), "{}", describe(&out));
    assert_eq!(
        std::fs::read_to_string(&elsewhere).unwrap(),
        "# shell profile\n"
    );
    assert_eq!(std::fs::read(repo.path().join("a.py")).unwrap(), before);
}

#[test]
fn blocked_commit_names_the_fix_command_and_then_passes() {
    let repo = TestRepo::new();
    repo.write("README.md", "x\n");
    repo.commit_all("start");
    repo.install_hook(&[]);
    repo.write("report.ipynb", notebook().to_json());
    repo.git(&["add", "report.ipynb"]);
    let err = repo.commit_blocked(&["commit", "-m", "report"]);
    assert!(err.contains("nbguard fix report.ipynb"), "{err}");
    assert!(err.contains("git add report.ipynb"), "{err}");
    assert_ok(
        &repo.nbguard(&["fix", "--no-config", "report.ipynb"]),
        "fix",
    );
    repo.git(&["add", "report.ipynb", ".gitignore"]);
    repo.commit_passes(&["commit", "-m", "report"]);
    let committed = repo.git_stdout(&["ls-files"]);
    assert!(!committed.contains(".env"), "{committed}");
}

#[test]
fn filter_repo_with_the_written_replacements_purges_every_secret() {
    let repo = TestRepo::new();
    repo.write("report.ipynb", notebook().to_json());
    repo.commit_all_unchecked("report");
    repo.write(
        "etl/load.py",
        format!("aws_secret_access_key = \"{}\"\n", aws_secret_key()),
    );
    repo.write("report.ipynb", Notebook::new().code("x = 1\n").to_json());
    repo.commit_all_unchecked("move the loader, clear the notebook");

    let file = repo.scratch("out").join("replacements.txt");
    let file_s = file.to_str().unwrap();
    let out = repo.nbguard(&[
        "audit",
        "--no-config",
        "--no-progress",
        "--write-replacements",
        file_s,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(stderr(&out).contains("in clear"), "{}", describe(&out));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let lines = std::fs::read_to_string(&file).unwrap();
    assert!(lines.lines().count() >= 4, "{lines}");

    let filter_repo = python().with_file_name("git-filter-repo");
    let mut cmd = repo.command(&filter_repo);
    cmd.args(["--force", "--quiet", "--replace-text", file_s]);
    assert_ok(
        &cmd.output().expect("git-filter-repo runs"),
        "git filter-repo",
    );

    let again = repo.nbguard(&["audit", "--no-config", "--no-progress", "--format", "json"]);
    let report: Value = serde_json::from_slice(&again.stdout)
        .unwrap_or_else(|e| panic!("audit JSON ({e}): {}", describe(&again)));
    assert_eq!(
        report["findings"],
        Value::Array(vec![]),
        "{}",
        describe(&again)
    );
    assert_eq!(again.status.code(), Some(0));
    let history = String::from_utf8_lossy(&repo.git(&["log", "--all", "-p"]).stdout).into_owned();
    for s in secrets() {
        assert!(!history.contains(&s), "history still holds a secret");
    }
}
