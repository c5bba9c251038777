//! The audit's reports as a security lead reads them: the HTML page in a real browser (headless
//! Chromium driven by Selenium) with its filters and a 1400 px window, and `nbguard report merge`
//! over the audits of two repositories that share a secret.
//!
//! The browser test needs Python with Selenium (`scripts/test.sh` installs it into
//! `target/test-venv` and names it in `NBGUARD_TEST_PYTHON`) and Debian's `chromium` and
//! `chromium-driver` (`.ci/run` installs them). Without them it fails rather than skips.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{
    aws_key_id_numbered, describe, github_token, pem_private_key, CellOutput, Notebook, TestRepo,
    Who, DEFAULT_WHO,
};
use serde_json::Value;

const GRACE: Who = Who {
    name: "Grace Hopper",
    email: "grace@example.com",
};

fn audit(repo: &TestRepo, args: &[&str]) -> std::process::Output {
    let mut all = vec!["audit", "--no-config", "--no-progress"];
    all.extend_from_slice(args);
    let out = repo.nbguard(&all);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "the audit must not fail:\n{}",
        describe(&out)
    );
    out
}

/// A history with what makes pages overflow: a path of 200 characters, a secret copied into
/// nine files, a line of 3,000 characters, hundreds of pull-request refs; and one finding of
/// each kind, by two authors.
fn busy_history() -> TestRepo {
    let repo = TestRepo::new();
    let token = github_token();
    let email = ["maria.lopez", "northwind-traders.net"].join("@");
    repo.write(
        "train.ipynb",
        Notebook::new()
            .code(&format!("token = '{token}'\n"))
            .code_with(
                "print(customers.head(1))",
                vec![CellOutput::stream(&format!(
                    "name contact\nMaria {email}\n"
                ))],
            )
            .to_json(),
    );
    repo.commit_as("Train", DEFAULT_WHO, "2024-01-01T10:00:00+00:00");
    let deep = format!(
        "{}/configuration_for_the_quarterly_customer_churn_pipeline_v2.py",
        [
            "warehouse_extracts",
            "customer_analytics_team",
            "experimental_pipelines"
        ]
        .repeat(3)
        .join("/")
    );
    let long_line = format!(
        "SETTINGS = {{{}, 'aws_access_key_id': '{}'}}\n",
        (0..150)
            .map(|i| format!("'option_{i}': {i}"))
            .collect::<Vec<_>>()
            .join(", "),
        aws_key_id_numbered(7)
    );
    repo.write(&deep, &long_line);
    for i in 0..9 {
        repo.write(
            &format!("scripts/job_{i}.py"),
            format!("TOKEN = \"{token}\"\n"),
        );
    }
    repo.write("deploy/id_rsa", pem_private_key());
    repo.commit_as("Pipelines", GRACE, "2024-02-01T10:00:00+00:00");
    let head = repo.rev_parse("HEAD");
    let mut cmd = repo.git_command(&["update-ref", "--stdin"]);
    cmd.stdin(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("git update-ref starts");
    let refs: String = (0..400)
        .map(|n| format!("create refs/pull/{n}/head {head}\n"))
        .collect();
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(refs.as_bytes())
        .expect("refs written");
    assert!(child.wait().expect("update-ref ends").success());
    repo
}

fn target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target")
}

const HOW: &str = "run the tests with scripts/test.sh (it installs Selenium into target/test-venv \
                   and sets NBGUARD_TEST_PYTHON); .ci/run installs Debian's chromium and \
                   chromium-driver";

fn browser_check(page: &Path, shot: &Path) -> Value {
    let Some(python) = std::env::var_os("NBGUARD_TEST_PYTHON") else {
        panic!("NBGUARD_TEST_PYTHON is not set: {HOW}");
    };
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/audit_page.py");
    let out = Command::new(python)
        .arg(script)
        .arg(page)
        .arg(shot)
        .env("SE_OFFLINE", "true")
        .output()
        .unwrap_or_else(|e| panic!("cannot run the browser check ({e}): {HOW}"));
    assert!(
        out.status.success(),
        "browser check failed ({HOW}):\n{}",
        describe(&out)
    );
    serde_json::from_slice(&out.stdout).expect("the browser check prints JSON")
}

#[test]
fn html_page_filters_work_in_a_browser_and_nothing_is_wider_than_the_window() {
    let repo = busy_history();
    let report: Value =
        serde_json::from_slice(&audit(&repo, &["--format", "json"]).stdout).expect("JSON");
    let groups = report["findings"].as_array().expect("findings");
    let page = repo.scratch("page").join("audit.html");
    audit(
        &repo,
        &["--format", "html", "-o", page.to_str().expect("utf-8")],
    );
    let dir = target_dir().join("browser");
    std::fs::create_dir_all(&dir).expect("target/browser");
    let shot = dir.join("audit-report.png");
    let seen = browser_check(&page, &shot);

    assert!(std::fs::metadata(&shot).expect("a screenshot").len() > 10_000);
    assert_eq!(seen["rows"], groups.len());
    let count = |pred: &dyn Fn(&Value) -> bool| groups.iter().filter(|g| pred(g)).count();
    for (sev, n) in seen["by_severity"].as_object().expect("severities") {
        assert_eq!(
            n,
            &count(&|g| g["severity"] == sev.as_str()),
            "severity {sev}"
        );
    }
    for (rule, n) in seen["by_rule"].as_object().expect("rules") {
        assert_eq!(n, &count(&|g| g["rule"] == rule.as_str()), "rule {rule}");
    }
    let kinds = seen["by_kind"].as_object().expect("kinds");
    assert_eq!(kinds["credential"], count(&|g| g["kind"] == "credential"));
    assert_eq!(kinds["personal-data"], 1, "the e-mail address: {seen}");
    let by_author = seen["by_author"].as_object().expect("authors");
    assert_eq!(by_author["Grace Hopper <grace@example.com>"], 3, "{seen}");
    assert_eq!(by_author.len(), 2);
    // The token sits in scripts/ too, the others do not.
    assert_eq!(seen["path_scripts"], 1);
    assert_eq!(seen["shown_text"], format!("1 of {} shown", groups.len()));
    assert_eq!(seen["rows_after_clear"], groups.len());
    let headline = seen["headline"].as_str().expect("a headline");
    assert!(
        headline.starts_with("3 credentials to rotate"),
        "{headline}"
    );
    assert!(headline.contains("1 personal-data finding"), "{headline}");
    assert!(!headline.to_lowercase().contains("secret"), "{headline}");
}

#[test]
fn html_page_leads_with_counts_rotation_order_and_grouped_diagnostics() {
    let repo = busy_history();
    repo.write("data/blob.bin", b"\x00\x01binary\x00".repeat(10));
    repo.commit_all("Add a binary file");
    let out = audit(&repo, &["--format", "html"]);
    let html = String::from_utf8_lossy(&out.stdout);
    let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("{s} is on the page"));
    assert!(at("id=\"counts\"") < at("id=\"rotate\""));
    assert!(at("id=\"rotate\"") < at("id=\"findings\""));
    assert!(at("id=\"findings\"") < at("<h2>Diagnostics"));
    assert!(
        html.contains("main and 400 pull-request refs"),
        "ref summary"
    );
    assert!(!html.contains("refs/pull/399/head"), "no list of 400 refs");
    assert!(html.contains("Rotate it at github now"));
    assert!(html.contains("<details class=\"diag\" data-kind=\"binary\"><summary>"));
    // The critical credentials come first in "rotate first".
    let rotate = &html[at("id=\"rotate\"")..at("id=\"findings\"")];
    assert!(
        rotate.find("critical").expect("a critical one")
            < rotate.find("high").unwrap_or(usize::MAX)
    );
}

/// A repository holding the shared token plus one key of its own.
fn repo_with(own_key: usize) -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "nb.ipynb",
        Notebook::new()
            .code(&format!(
                "token = '{}'\nkey = '{}'\n",
                github_token(),
                aws_key_id_numbered(own_key)
            ))
            .to_json(),
    );
    repo.commit_all("Notebook");
    repo
}

#[test]
fn merged_report_lists_a_secret_shared_by_two_repositories_once_with_both() {
    let (a, b) = (repo_with(1), repo_with(2));
    let dir = a.scratch("reports");
    let files: Vec<String> = [("alpha", &a), ("beta", &b)]
        .iter()
        .map(|(name, repo)| {
            let file = dir.join(format!("{name}.json"));
            let text = audit(repo, &["--format", "json"]).stdout;
            // Each job names its repository; here the temp directories' names differ, so the
            // merge uses them. Rename them to what a CI matrix would pass.
            let mut doc: Value = serde_json::from_slice(&text).expect("JSON");
            assert!(!doc["repository"].as_str().expect("a name").is_empty());
            doc["repository"] = Value::from(*name);
            std::fs::write(&file, serde_json::to_vec(&doc).expect("JSON")).expect("written");
            file.to_str().expect("utf-8").to_owned()
        })
        .collect();
    let merge = |format: &str| {
        let mut args = vec!["report", "merge", "--format", format];
        args.extend(files.iter().map(String::as_str));
        let out = a.nbguard(&args);
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        out.stdout
    };
    let merged: Value = serde_json::from_slice(&merge("json")).expect("JSON");
    assert_eq!(merged["repositories"], serde_json::json!(["alpha", "beta"]));
    let findings = merged["findings"].as_array().expect("findings");
    assert_eq!(
        findings.len(),
        3,
        "one shared token, two own keys: {merged:#}"
    );
    let token =
        nbguard::finding::fingerprint("secret.github.personal-access-token", &github_token());
    let shared = findings
        .iter()
        .find(|g| g["fingerprint"] == token.as_str())
        .expect("the token");
    let repos: Vec<&str> = shared["repositories"]
        .as_array()
        .expect("repositories")
        .iter()
        .map(|r| r["repository"].as_str().expect("a name"))
        .collect();
    assert_eq!(repos, ["alpha", "beta"]);
    assert_eq!(merged["summary"]["in_several_repositories"], 1);
    for g in findings
        .iter()
        .filter(|g| g["fingerprint"] != token.as_str())
    {
        assert_eq!(g["repositories"].as_array().map(Vec::len), Some(1));
    }

    let html = String::from_utf8(merge("html")).expect("utf-8");
    assert!(
        html.contains("in 2: alpha, beta"),
        "the shared token names both"
    );
    assert!(!html.contains(&github_token()), "masked");

    let sarif: Value = serde_json::from_slice(&merge("sarif")).expect("SARIF is JSON");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/schemas/sarif-schema-2.1.0.json"
        ))
        .expect("the shared SARIF schema is beside the repo"),
    )
    .expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(
        sarif["runs"][0]["results"].as_array().map(Vec::len),
        Some(4)
    );
}

#[test]
fn merge_refuses_what_is_not_an_audit_report() {
    let repo = repo_with(1);
    let file = repo.scratch("x").join("scan.json");
    let scan = repo.nbguard(&["scan", "--no-config", "--format", "json", "."]);
    std::fs::write(&file, &scan.stdout).expect("written");
    let out = repo.nbguard(&[
        "report",
        "merge",
        "--format",
        "json",
        file.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an audit report"));
}
