//! `nbguard scan` as a user runs it: the built binary over files in a temp dir.

use assert_fs::prelude::*;
use serde_json::{json, Value};
use std::process::Command;

fn nbguard(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_nbguard"))
        .args(args)
        .current_dir(dir)
        .env("NBGUARD_USER_CONFIG", "/nonexistent")
        .env_remove("NBGUARD_CONFIG")
        .output()
        .expect("nbguard runs")
}

fn json_report(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// The seed case from the product brief, password assembled at run time.
fn seed_cell() -> String {
    let pw = ["Pass", "XYZ"].concat();
    format!("# Connect to database\ndatabase_URL = \"jdbc:mysql://database/predictive_model\"\nusername = \"DataPro\"\npassword = \"{pw}\"\n")
}

fn lines(s: &str) -> Value {
    json!(s.split_inclusive('\n').collect::<Vec<_>>())
}

fn notebook(cells: Vec<Value>) -> String {
    serde_json::to_string_pretty(
        &json!({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}),
    )
    .unwrap()
}

fn code(id: &str, src: &str, outputs: Value) -> Value {
    json!({"cell_type": "code", "id": id, "execution_count": 1, "metadata": {}, "source": lines(src), "outputs": outputs})
}

#[test]
fn seed_case_in_a_code_cell_is_reported_with_cell_and_raw_coordinates() {
    let dir = assert_fs::TempDir::new().unwrap();
    let nb = notebook(vec![
        json!({"cell_type": "markdown", "id": "intro", "metadata": {}, "source": ["# Analysis"]}),
        code("db", &seed_cell(), json!([])),
    ]);
    dir.child("analysis.ipynb").write_str(&nb).unwrap();
    let out = nbguard(&["scan", ".", "--format", "json"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json_report(&out);
    let f = &r["findings"][0];
    assert_eq!(f["rule"], "secret.generic.password");
    assert_eq!(f["path"], "analysis.ipynb");
    assert_eq!(f["cell"], 1);
    assert_eq!(f["cell_id"], "db");
    assert_eq!(f["part"], "source");
    assert_eq!(f["cell_line"], 4);
    let raw_line = nb
        .lines()
        .nth(f["line"].as_u64().unwrap() as usize - 1)
        .unwrap();
    let col = f["column"].as_u64().unwrap() as usize - 1;
    assert!(raw_line[col..].starts_with("Pass"), "{raw_line} @ {col}");
    assert_eq!(f["secret"], "P…[7 chars]", "masked by default");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&["Pass", "XYZ"].concat()));
}

#[test]
fn secret_printed_only_in_an_output_is_found_there() {
    let dir = assert_fs::TempDir::new().unwrap();
    let key = ["AKIA", "Z7QRT2XKPL4MW3VN"].concat();
    let nb = notebook(vec![code(
        "c",
        "print(cfg)\n",
        json!([{"output_type": "stream", "name": "stdout", "text": [format!("key id: {key}\n")]}]),
    )]);
    dir.child("out.ipynb").write_str(&nb).unwrap();
    let r = json_report(&nbguard(&["scan", "--format", "json"], dir.path()));
    assert_eq!(r["findings"][0]["rule"], "secret.aws.access-key-id");
    assert_eq!(r["findings"][0]["part"], "output");
    assert_eq!(r["findings"][0]["output"], 0);
}

#[test]
fn bare_values_in_outputs_and_url_passwords_are_credentials() {
    let dir = assert_fs::TempDir::new().unwrap();
    // Assembled at run time: a Mailgun key and a Discord bot token shown alone as a repr (the cell
    // that printed them names nothing), and a URL password that ends in something e-mail shaped.
    let mailgun = ["key-", "41591f308334da4b6e6f151fff359efc"].concat();
    let discord = [
        "MTA4NzM2NTE5ODIzMzQ1NjcwOA",
        ".GhXq3Z.",
        "Vf8kR2pLm9TnWc4YbJ6sHd1QeAx7Uo5Ig3Kz0N",
    ]
    .concat();
    let url = [
        "https://ci-bot:L1_rbbAsek7COgN!xD",
        "@nexus.acme-corp.io/simple",
    ]
    .concat();
    let repr = |v: &str, n: u32| json!([{"output_type": "execute_result", "execution_count": n, "metadata": {}, "data": {"text/plain": [format!("'{v}'")]}}]);
    let nb = notebook(vec![
        code("a", "settings\n", repr(&mailgun, 1)),
        code("b", "settings\n", repr(&discord, 2)),
        code("c", "index_url\n", repr(&url, 3)),
    ]);
    dir.child("reprs.ipynb").write_str(&nb).unwrap();
    let r = json_report(&nbguard(&["scan", "--format", "json"], dir.path()));
    let rules: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        [
            "secret.mailgun.api-key",
            "secret.discord.bot-token",
            "secret.generic.url-credentials"
        ],
        "{r}"
    );
}

#[test]
fn a_value_that_starts_its_line_is_shown_and_suppressed_on_that_line() {
    let dir = assert_fs::TempDir::new().unwrap();
    let key = ["key-", "41591f308334da4b6e6f151fff359efc"].concat();
    let old = ["key-", "0d7e3b9a2c5f4e1d8a6b3c0f9e2d5a7b"].concat();
    dir.child("keys.txt")
        .write_str(&format!("mailgun keys:\n{key}\n{old}  # nbguard: ignore\n"))
        .unwrap();
    let r = json_report(&nbguard(
        &["scan", "--format", "json", "--show-suppressed"],
        dir.path(),
    ));
    let f = &r["findings"];
    assert_eq!(f[0]["line"], 2, "{r}");
    assert!(f[0]["snippet"].as_str().unwrap().starts_with("key-"), "{r}");
    assert!(f[0]["suppressed"].is_null(), "{r}");
    assert_eq!(f[1]["line"], 3, "{r}");
    assert!(!f[1]["suppressed"].is_null(), "{r}");
}

#[test]
fn unicode_escapes_in_the_json_do_not_hide_a_secret() {
    let dir = assert_fs::TempDir::new().unwrap();
    let nb = notebook(vec![code("c", &seed_cell(), json!([]))]).replace("PassXYZ", "\\u0050assXYZ");
    dir.child("esc.ipynb").write_str(&nb).unwrap();
    let r = json_report(&nbguard(&["scan", "--format", "json"], dir.path()));
    assert_eq!(r["findings"][0]["rule"], "secret.generic.password", "{r}");
}

#[test]
fn clean_notebook_exits_zero() {
    let dir = assert_fs::TempDir::new().unwrap();
    let nb = notebook(vec![code(
        "c",
        "import os\npassword = os.environ['DB_PASSWORD']\n",
        json!([]),
    )]);
    dir.child("clean.ipynb").write_str(&nb).unwrap();
    let out = nbguard(&["scan"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn invalid_notebook_is_scanned_as_text_and_says_so() {
    let dir = assert_fs::TempDir::new().unwrap();
    dir.child("broken.ipynb")
        .write_str(&format!("{{\"cells\": [\n{}", seed_cell()))
        .unwrap();
    let out = nbguard(&["scan", "--format", "json"], dir.path());
    let r = json_report(&out);
    assert_eq!(r["findings"][0]["rule"], "secret.generic.password");
    assert_eq!(r["diagnostics"][0]["kind"], "invalid-notebook");
}

#[test]
fn binary_lfs_and_non_utf8_files_are_reported_and_large_ones_scanned() {
    let dir = assert_fs::TempDir::new().unwrap();
    dir.child("img.bin")
        .write_binary(b"\x89PNG\0\0\0binary")
        .unwrap();
    dir.child("model.ipynb")
        .write_str("version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n")
        .unwrap();
    let big = format!("{}{}\n", "a\n".repeat(2500), common_password());
    dir.child("big.txt").write_str(&big).unwrap();
    let mut latin1 = seed_cell().into_bytes();
    latin1.extend_from_slice(b"# caf\xe9\n");
    dir.child("latin1.py").write_binary(&latin1).unwrap();
    let out = nbguard(
        &["scan", "--format", "json", "--max-file-size", "4000"],
        dir.path(),
    );
    let r = json_report(&out);
    let kinds: Vec<(String, String)> = r["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["path"].as_str().unwrap().to_string(),
                d["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for expected in [
        ("img.bin", "binary"),
        ("model.ipynb", "lfs-pointer"),
        ("latin1.py", "not-utf8"),
    ] {
        assert!(
            kinds.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} not in {kinds:?}"
        );
    }
    assert!(
        !kinds.iter().any(|(p, _)| p == "big.txt"),
        "a file over the limit is scanned, not noted: {kinds:?}"
    );
    let found: Vec<(String, u64)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        found.iter().any(|(p, _)| p == "latin1.py"),
        "non-UTF-8 text is still scanned: {found:?}"
    );
    assert!(
        found.contains(&("big.txt".into(), 2501)),
        "a file over the limit is scanned in windows: {found:?}"
    );
}

fn common_password() -> String {
    ["pass", "word = \"", "Wind0wPass", "\""].concat()
}

#[test]
fn inline_markers_and_cell_tags_suppress_without_dropping() {
    let dir = assert_fs::TempDir::new().unwrap();
    let pw = ["Pass", "XYZ"].concat();
    let nb = notebook(vec![
        code(
            "a",
            &format!("password = \"{pw}1\"  # nbguard: ignore\n"),
            json!([]),
        ),
        json!({"cell_type": "code", "id": "b", "execution_count": 1, "metadata": {"tags": ["nbguard-ignore"]}, "source": [format!("password = \"{pw}2\"\n")], "outputs": []}),
        code(
            "c",
            &format!("password = \"{pw}3\"  # pragma: allowlist secret\n"),
            json!([]),
        ),
    ]);
    dir.child("s.ipynb").write_str(&nb).unwrap();
    let out = nbguard(
        &["scan", "--format", "json", "--show-suppressed"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let r = json_report(&out);
    let kinds: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["suppressed"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["inline", "cell-tag", "inline"]);
}

#[test]
fn fail_on_threshold_decides_the_exit_code() {
    let dir = assert_fs::TempDir::new().unwrap();
    dir.child("a.py").write_str(&seed_cell()).unwrap();
    assert_eq!(nbguard(&["scan"], dir.path()).status.code(), Some(1));
    assert_eq!(
        nbguard(&["scan", "--fail-on", "high>1"], dir.path())
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        nbguard(&["scan", "--fail-on", "critical>0 or high>0"], dir.path())
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        nbguard(&["scan", "--fail-on", "banana>1"], dir.path())
            .status
            .code(),
        Some(2)
    );
    dir.child(".nbguard.toml")
        .write_str("[fail]\non = \"critical>0\"\n")
        .unwrap();
    assert_eq!(
        nbguard(&["scan"], dir.path()).status.code(),
        Some(0),
        "config threshold applies"
    );
}

#[test]
fn baseline_silences_exactly_the_accepted_findings() {
    let dir = assert_fs::TempDir::new().unwrap();
    dir.child("a.py").write_str(&seed_cell()).unwrap();
    let out = nbguard(&["scan", "--write-baseline", "baseline.json"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let baseline = std::fs::read_to_string(dir.path().join("baseline.json")).unwrap();
    assert!(
        !baseline.contains(&["Pass", "XYZ"].concat()),
        "a baseline never holds a secret"
    );
    assert_eq!(
        nbguard(&["scan", "a.py", "--baseline", "baseline.json"], dir.path())
            .status
            .code(),
        Some(0)
    );
    dir.child("b.py")
        .write_str(&seed_cell().replace("XYZ", "QRS"))
        .unwrap();
    assert_eq!(
        nbguard(
            &["scan", "a.py", "b.py", "--baseline", "baseline.json"],
            dir.path()
        )
        .status
        .code(),
        Some(1)
    );
}

#[test]
fn gitignored_files_and_the_git_dir_are_not_walked() {
    let dir = assert_fs::TempDir::new().unwrap();
    dir.child(".git/config").write_str(&seed_cell()).unwrap();
    dir.child(".gitignore").write_str("secret.py\n").unwrap();
    dir.child("secret.py").write_str(&seed_cell()).unwrap();
    dir.child(".env").write_str(&seed_cell()).unwrap();
    let r = json_report(&nbguard(&["scan", "--format", "json"], dir.path()));
    let paths: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec![".env"]);
}

#[test]
fn sarif_output_validates_against_the_official_schema() {
    let dir = assert_fs::TempDir::new().unwrap();
    let nb = notebook(vec![code("db", &seed_cell(), json!([]))]);
    dir.child("my notebook.ipynb").write_str(&nb).unwrap();
    dir.child("b.py")
        .write_str(&format!("{}  # nbguard: ignore\n", seed_cell().trim_end()))
        .unwrap();
    let out = nbguard(&["scan", "--format", "sarif"], dir.path());
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let schema_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sarif/sarif-schema-2.1.0.json"
    );
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(schema_path)
            .expect("the SARIF schema is vendored in tests/fixtures"),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let nb_result = results
        .iter()
        .find(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                == "my%20notebook.ipynb"
        })
        .unwrap();
    assert_eq!(nb_result["properties"]["cell"], 0);
    assert!(nb_result["partialFingerprints"]["nbguard/v1"].is_string());
    assert!(results.iter().any(|r| r["suppressions"].is_array()));
}

#[test]
fn broken_pipe_is_not_an_error() {
    let dir = assert_fs::TempDir::new().unwrap();
    for i in 0..200 {
        dir.child(format!("f{i}.py"))
            .write_str(&seed_cell())
            .unwrap();
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_nbguard"))
        .args(["scan", "."])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A GitHub token with a valid checksum, assembled at run time.
fn github_token() -> String {
    nbguard::rules::validate::with_token_crc32(
        &["gh", "p_"].concat(),
        "Zq8vN2kLm4Tr7Hw1Yx5Bc3Df6Gj9Kp",
    )
}

#[test]
fn lockfiles_and_minified_code_get_only_format_proven_rules() {
    let dir = assert_fs::TempDir::new().unwrap();
    let pw = ["wrong", "-password"].concat();
    dir.child("web/package-lock.json")
        .write_str("{\n  \"packages\": {\n    \"node_modules/pg\": {\n      \"dependencies\": {\n        \"pgpass\": \"1.0.5\",\n        \"@inquirer/password\": \"^2.1.22\"\n      }\n    }\n  }\n}\n")
        .unwrap();
    let bundle = format!(
        "!function(){{var m={{INVALID_PASSWORD:\"{pw}\",MISSING_PASSWORD:\"missing-password\"}};o.params.push(\"access_token=\"+(r||z.ACCESS_TOKEN||\"\"));{}}}();\n",
        "var pad=0;".repeat(150)
    );
    dir.child("web/public/auth-worker.js")
        .write_str(&bundle)
        .unwrap();
    let out = nbguard(&["scan", ".", "--format", "json"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // A token whose format proves it still blocks inside a lockfile.
    dir.child("web/yarn.lock")
        .write_str(&format!(
            "\"@acme/ui@^1.0.0\":\n  resolved \"https://npm.acme.dev/ui.tgz?token={}\"\n",
            github_token()
        ))
        .unwrap();
    let out = nbguard(&["scan", ".", "--format", "json"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let r = json_report(&out);
    assert_eq!(
        r["findings"][0]["rule"],
        "secret.github.personal-access-token"
    );
    assert_eq!(r["findings"][0]["path"], "web/yarn.lock");
}

#[test]
fn a_token_after_an_escaped_newline_in_a_repr_is_found_at_its_raw_position() {
    let dir = assert_fs::TempDir::new().unwrap();
    let repr = format!("'## settings\\n{}\\nregion: eu'", github_token());
    let nb = notebook(vec![code(
        "s",
        "open('notes.md').read()",
        json!([{"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {"text/plain": [repr]}}]),
    )]);
    dir.child("a.ipynb").write_str(&nb).unwrap();
    let out = nbguard(&["scan", ".", "--format", "json"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let r = json_report(&out);
    assert_eq!(
        r["findings"][0]["rule"],
        "secret.github.personal-access-token"
    );
    // The raw position points at the token inside the JSON string, after the escape.
    assert!(r["findings"][0]["column"].as_u64().unwrap() > 1);
}

#[test]
fn references_to_secrets_in_deploy_scripts_are_not_findings() {
    let dir = assert_fs::TempDir::new().unwrap();
    dir.child("deploy.sh")
        .write_str("gcloud run deploy api \\\n  --set-secrets \"DB_PASSWORD=db-password-${PROJECT_ID}:1\" \\\n  --region europe-west1\nexport DB_PASSWORD=$(gcloud secrets versions access latest --secret=\"db-password-main\")\ndocker buildx build --secret id=HF_TOKEN,env=HF_TOKEN .\n")
        .unwrap();
    let out = nbguard(&["scan", ".", "--format", "json"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// An SSN assembled at run time from parts that pass the issued-range check.
fn ssn() -> String {
    ["5", "71", "-", "38", "-", "2", "614"].concat()
}

fn w2_output(city_state_zip: &str) -> Value {
    let repr = format!(
        "{{'social_security_number': '{}',\n 'employer': 'Quill Group\\n88 Marsh Crossing Suite 410\\n{city_state_zip}'}}",
        ssn()
    );
    json!([{"output_type": "execute_result", "execution_count": 1, "metadata": {},
            "data": {"text/plain": lines(&repr)}}])
}

fn severity_of(r: &Value, rule: &str) -> (String, String) {
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} finding in {r}"));
    (
        f["severity"].as_str().unwrap().to_string(),
        f["title"].as_str().unwrap().to_string(),
    )
}

#[test]
fn personal_data_of_generated_records_is_reported_without_blocking() {
    let dir = assert_fs::TempDir::new().unwrap();
    // A fake-data generator draws the ZIP code apart from the state: a Massachusetts ZIP in
    // Maryland. The same record with a Maryland ZIP is what a real form holds.
    let fake = notebook(vec![code(
        "w2",
        "entities\n",
        w2_output("Noraville\\nMD 02714-8831"),
    )]);
    dir.child("fake.ipynb").write_str(&fake).unwrap();
    let out = nbguard(&["scan", "--format", "json", "fake.ipynb"], dir.path());
    assert_eq!(out.status.code(), Some(0), "generated records do not block");
    let (severity, title) = severity_of(&json_report(&out), "pii.us-ssn");
    assert_eq!(severity, "medium");
    assert!(title.contains("look generated"), "{title}");

    let real = notebook(vec![code(
        "w2",
        "entities\n",
        w2_output("Rockville\\nMD 20850-1204"),
    )]);
    dir.child("real.ipynb").write_str(&real).unwrap();
    let out = nbguard(&["scan", "--format", "json", "real.ipynb"], dir.path());
    assert_eq!(out.status.code(), Some(1), "a consistent record blocks");
    assert_eq!(severity_of(&json_report(&out), "pii.us-ssn").0, "high");
}

#[test]
fn addresses_in_a_loaded_document_are_not_a_table_of_customers() {
    let dir = assert_fs::TempDir::new().unwrap();
    let authors: String = ["rhea", "tomas", "ines", "jun"]
        .iter()
        .map(|n| format!("{}\\nOrbit Labs\\n{n}@orbit-labs.io\\n", n.to_uppercase()))
        .collect();
    let shown = |prefix: &str| {
        json!([{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                "data": {"text/plain": [format!("{prefix}'Sparse Routing at Scale\\n{authors}Abstract\\nWe study routing.')")]}}])
    };
    let nb = notebook(vec![
        code(
            "doc",
            "docs[0]\n",
            shown("Document(metadata={'source': 'paper.pdf'}, page_content="),
        ),
        code("rows", "df\n", shown("Row(")),
    ]);
    dir.child("rag.ipynb").write_str(&nb).unwrap();
    let r = json_report(&nbguard(
        &["scan", "--format", "json", "rag.ipynb"],
        dir.path(),
    ));
    let emails: Vec<(u64, String)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "pii.email")
        .map(|f| {
            (
                f["cell"].as_u64().unwrap(),
                f["severity"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        emails,
        vec![(0, "medium".to_string()), (1, "high".to_string())],
        "the document's author list is judged as a document; the same lines as rows are a leak"
    );
}
