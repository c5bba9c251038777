//! What nbguard says, checked with the built binary: diagnostics that quote no content, the
//! wording for JSON that is not a notebook, `--reveal` keeping every row, fix texts that fit the
//! part of the notebook, and what the README promises about HTML and SVG outputs.

mod common;

use common::{aws_key_id, describe, CellOutput, Notebook, TestRepo};
use serde_json::{json, Value};

fn scan_json(repo: &TestRepo) -> Value {
    let out = repo.nbguard(&["scan", "--no-config", "--format", "json", "."]);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&out)))
}

fn password() -> String {
    ["Xk29", "vQ7pLm4R"].concat()
}

#[test]
fn a_parser_error_is_reported_by_position_and_kind_without_the_content() {
    let repo = TestRepo::new();
    let pw = password();
    let pass = ["pass", "word"].concat();
    // `cells` is a string: the JSON parser's own message quotes it.
    let text =
        serde_json::to_string(&json!({"cells": format!("{pass} = \"{pw}\""), "nbformat": 4}))
            .expect("serialises");
    repo.write("bad.ipynb", text);
    repo.write(
        "cut.ipynb",
        format!("{{\"cells\": [{{\"source\": \"{pass} = '{pw}'"),
    );
    for format in ["text", "json", "sarif"] {
        let out = repo.nbguard(&["scan", "--no-config", "--format", format, "."]);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains(&pw), "{format}: {all}");
        assert!(
            all.contains("not a notebook (a value of the wrong type at line 1, column"),
            "{format}: {all}"
        );
        assert!(
            all.contains("not valid JSON (ends too early at line 1, column"),
            "{format}: {all}"
        );
    }
}

#[test]
fn valid_json_without_cells_is_called_valid_json_but_not_a_notebook() {
    let repo = TestRepo::new();
    repo.write("data.ipynb", r#"{"rows": [1, 2, 3]}"#);
    let out = repo.nbguard(&["scan", "--no-config", "."]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("valid JSON, but not a notebook (no `cells`)"),
        "{text}"
    );
    assert!(!text.contains("not valid JSON"), "{text}");
}

#[test]
fn reveal_keeps_the_line_row() {
    let repo = TestRepo::new();
    let key = aws_key_id();
    repo.write("a.py", format!("key = \"{key}\"\n"));
    let out = repo.nbguard(&["scan", "--no-config", "--reveal", "."]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("what:    AWS access key ID: {key}")),
        "{text}"
    );
    assert!(
        text.contains("    line:    key = \"AKIA…[20 chars]\""),
        "{text}"
    );
}

#[test]
fn fix_texts_fit_the_part_that_holds_the_value() {
    let repo = TestRepo::new();
    let mail = ["jane.roe", "@", "acme-mail.io"].concat();
    let nb = Notebook::new()
        .markdown(&format!("Questions: write to {mail}\n"))
        .code_with(
            "print(owner)\n",
            vec![CellOutput::stream(&format!("owner: {mail}\n"))],
        )
        .code(&format!("owner = \"{mail}\"\n"))
        .code(&format!("key = \"{}\"\n", aws_key_id()));
    repo.write("n.ipynb", nb.to_json());
    let report = scan_json(&repo);
    let fix = |cell: u64, part: &str| -> String {
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .find(|f| f["cell"] == cell && f["part"] == part)
            .unwrap_or_else(|| panic!("no finding in cell {cell} {part}: {report:#}"))["fix"]
            .as_str()
            .expect("fix is text")
            .to_string()
    };
    let markdown = fix(0, "source");
    assert!(markdown.contains("markdown cell"), "{markdown}");
    assert!(!markdown.to_lowercase().contains("output"), "{markdown}");
    let output = fix(1, "output");
    assert!(output.to_lowercase().contains("output"), "{output}");
    let code = fix(2, "source");
    assert!(
        code.contains("cell's code") && !code.contains("output"),
        "{code}"
    );
    let key = fix(3, "source");
    assert!(!key.contains("Clear this cell's output"), "{key}");
}

#[test]
fn numeric_and_named_references_in_html_are_decoded() {
    let repo = TestRepo::new();
    let key = aws_key_id();
    // `&#65;` is `A`, `&#x4b;` is `K`: the raw file never holds the key as written.
    let html = format!(
        "<td>&#65;&#x4b;{}</td><td>{}&commat;acme-mail.io</td>",
        &key[2..],
        "jane.roe"
    );
    let nb = Notebook::new().code_with("df\n", vec![CellOutput::result("df", Some(&html))]);
    let raw = nb.to_json();
    assert!(!raw.contains(&key));
    repo.write("n.ipynb", raw);
    let report = scan_json(&repo);
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["rule"].as_str().expect("rule"))
        .collect();
    assert!(rules.contains(&"secret.aws.access-key-id"), "{report:#}");
    assert!(rules.contains(&"pii.email"), "{report:#}");
}

#[test]
fn svg_outputs_are_scanned_as_text() {
    let repo = TestRepo::new();
    let key = aws_key_id();
    let svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\"><text>key {key}</text></svg>");
    let mut nb = Notebook::new().code("plot()\n").to_value();
    nb["cells"][0]["outputs"] = json!([{
        "output_type": "display_data", "metadata": {},
        "data": {"image/svg+xml": common::lines(&svg), "text/plain": ["<Figure>"]}
    }]);
    repo.write(
        "plot.ipynb",
        serde_json::to_string_pretty(&nb).expect("serialises"),
    );
    let report = scan_json(&repo);
    let f = &report["findings"][0];
    assert_eq!(f["rule"], "secret.aws.access-key-id", "{report:#}");
    assert_eq!(f["output_kind"], "image/svg+xml", "{report:#}");
}
