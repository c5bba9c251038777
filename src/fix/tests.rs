use super::*;
use crate::finding::{Finding, Severity};
use std::path::PathBuf;

fn finding(rule: &str, secret: &str) -> Finding {
    Finding {
        rule: rule.into(),
        title: String::new(),
        severity: Severity::High,
        path: String::new(),
        line: 1,
        column: 1,
        end_line: 1,
        notebook: None,
        secret: secret.into(),
        fingerprint: String::new(),
        snippet: String::new(),
        fix: String::new(),
        suppressed: None,
        commit: None,
        origin: Default::default(),
    }
}

fn env() -> EnvFile {
    EnvFile::load(&PathBuf::from("/nonexistent/nbguard-test/.env"))
        .expect("a missing file is empty")
}

fn secret() -> String {
    ["Zq8", "-Tr0ub4dor-", "x9"].concat()
}

#[test]
fn python_file_literal_becomes_an_environment_lookup_with_an_import() {
    let src = format!(
        "\"\"\"Loader.\"\"\"\nimport sys\n\npassword = '{}'  # db\n",
        secret()
    );
    let mut env = env();
    let p = plan(
        "load.py",
        &src,
        &[finding("secret.generic.password", &secret())],
        &mut env,
    );
    assert_eq!(
        p.fixed,
        "\"\"\"Loader.\"\"\"\nimport os\nimport sys\n\npassword = os.environ['PASSWORD']  # db\n"
    );
    assert_eq!(env.added, vec![("PASSWORD".to_string(), secret())]);
    assert!(p.left.is_empty());
}

#[test]
fn notebook_source_output_and_metadata_are_each_handled_their_way() {
    let s = secret();
    let nb = serde_json::json!({
        "cells": [
            {"cell_type": "code", "id": "a", "execution_count": 1, "metadata": {"note": format!("k={s}")},
             "source": ["x = 1\n", format!("api_token = \"{s}\"\n"), "print(api_token)"],
             "outputs": [
                {"output_type": "stream", "name": "stdout", "text": [format!("{s}\n")]},
                {"output_type": "stream", "name": "stdout", "text": ["kept\n"]}
             ]},
            {"cell_type": "markdown", "id": "b", "metadata": {}, "source": [format!("token: {s}")]}
        ],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5
    });
    let raw = serde_json::to_string_pretty(&nb).unwrap() + "\n";
    let mut env = env();
    let p = plan(
        "n.ipynb",
        &raw,
        &[finding("secret.generic.token", &s)],
        &mut env,
    );
    let after: serde_json::Value = serde_json::from_str(&p.fixed).unwrap();
    let cell = &after["cells"][0];
    assert_eq!(
        cell["source"],
        serde_json::json!([
            "import os\n",
            "x = 1\n",
            "api_token = os.environ[\"API_TOKEN\"]\n",
            "print(api_token)"
        ])
    );
    assert_eq!(cell["outputs"][0]["text"][0], format!("{MASK}\n"));
    assert_eq!(cell["outputs"][1]["text"][0], "kept\n");
    assert_eq!(cell["metadata"]["note"], format!("k={MASK}"));
    assert_eq!(after["cells"][1], nb["cells"][1], "markdown is left alone");
    assert_eq!(p.left.len(), 1);
    assert!(p.left[0].reason.contains("markdown"));
    // Everything but the edited lines is unchanged, and one line was added.
    let before: Vec<&str> = raw.lines().collect();
    let now: Vec<&str> = p.fixed.lines().collect();
    assert_eq!(now.len(), before.len() + 1);
    assert_eq!(before.iter().filter(|l| !now.contains(l)).count(), 3);
}

#[test]
fn an_output_that_cannot_be_masked_exactly_is_removed() {
    let s = secret();
    // The value split by an HTML entity cannot be masked without touching the markup.
    let html = format!("<td>{}&#45;{}</td>", &s[..3], &s[4..]);
    let nb = serde_json::json!({
        "cells": [{"cell_type": "code", "metadata": {}, "execution_count": 1, "source": ["df"],
            "outputs": [
                {"output_type": "stream", "name": "stdout", "text": ["fine\n"]},
                {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                 "data": {"text/html": [html.replace("&#45;", "&amp;")], "text/plain": ["frame"]}}]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 4
    });
    let raw = serde_json::to_string_pretty(&nb).unwrap();
    let odd = format!("{}&{}", &s[..3], &s[4..]);
    let mut env = env();
    let p = plan(
        "n.ipynb",
        &raw,
        &[finding("secret.generic.token", &odd)],
        &mut env,
    );
    let after: serde_json::Value = serde_json::from_str(&p.fixed).unwrap();
    assert_eq!(after["cells"][0]["outputs"].as_array().unwrap().len(), 1);
    assert_eq!(after["cells"][0]["outputs"][0]["text"][0], "fine\n");
    assert!(matches!(p.changes[0].action, Action::Cleared));
}

#[test]
fn a_second_plan_over_the_result_changes_nothing() {
    let src = format!("token = \"{}\"\n", secret());
    let mut env = env();
    let p = plan(
        "a.py",
        &src,
        &[finding("secret.generic.token", &secret())],
        &mut env,
    );
    let again = plan("a.py", &p.fixed, &[], &mut env);
    assert!(!again.changed());
}
