//! `nbguard rules list` and `nbguard rules check`: the catalogue as people see it, and every
//! rule's examples run through the whole pipeline in every place a notebook can hold text.

use serde_json::{json, Value};
use std::io::{self, Write};

use crate::finding::Part;
use crate::rules::Rule;
use crate::scanner::Scanner;
use crate::source::Item;

pub fn write_list(w: &mut dyn Write, scanner: &Scanner, as_json: bool) -> io::Result<()> {
    let rules = &scanner.catalogue().rules;
    if as_json {
        let list: Vec<Value> = rules
            .iter()
            .map(|r| json!({"id": r.id, "title": r.title, "severity": r.severity, "description": r.description, "keywords": r.keywords, "validator": r.validator.map(|v| format!("{v:?}"))}))
            .collect();
        serde_json::to_writer_pretty(&mut *w, &list)?;
        return writeln!(w);
    }
    let width = rules.iter().map(|r| r.id.len()).max().unwrap_or(10);
    for r in rules {
        writeln!(
            w,
            "{:<width$}  {:<8}  {}",
            r.id,
            r.severity.as_str(),
            r.title
        )?;
    }
    writeln!(w, "{} rules", rules.len())
}

/// A place in a notebook where an example is put, and where the finding must then be.
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    pub name: &'static str,
    pub cell: Option<usize>,
    pub part: Part,
    pub output: Option<usize>,
}

pub const PLACEMENTS: &[Placement] = &[
    Placement {
        name: "code cell",
        cell: Some(1),
        part: Part::Source,
        output: None,
    },
    Placement {
        name: "markdown cell",
        cell: Some(2),
        part: Part::Source,
        output: None,
    },
    Placement {
        name: "stream output",
        cell: Some(3),
        part: Part::Output,
        output: Some(1),
    },
    Placement {
        name: "execute_result",
        cell: Some(4),
        part: Part::Output,
        output: Some(0),
    },
    Placement {
        name: "html output",
        cell: Some(4),
        part: Part::Output,
        output: Some(1),
    },
    Placement {
        name: "traceback",
        cell: Some(5),
        part: Part::Output,
        output: Some(0),
    },
    Placement {
        name: "cell metadata",
        cell: Some(6),
        part: Part::Metadata,
        output: None,
    },
    Placement {
        name: "notebook metadata",
        cell: None,
        part: Part::Metadata,
        output: None,
    },
];

fn lines(text: &str) -> Value {
    json!(text.split_inclusive('\n').collect::<Vec<_>>())
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A notebook with `text` at `place` and innocuous content everywhere else.
pub fn notebook_with(text: &str, place: &Placement) -> String {
    let filler_code = json!({"cell_type": "code", "id": "c0", "execution_count": 1, "metadata": {}, "source": lines("import pandas as pd\ndf = pd.read_csv('data.csv')\n"), "outputs": [{"output_type": "display_data", "metadata": {}, "data": {"image/png": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "text/plain": ["<Figure size 640x480>"]}}]});
    let mut cells = vec![filler_code];
    let code = |id: &str, src: &str, outputs: Value, meta: Value| json!({"cell_type": "code", "id": id, "execution_count": 2, "metadata": meta, "source": lines(src), "outputs": outputs});
    let at = |n: &str| place.name == n;
    let t = |n: &str| {
        if at(n) {
            text.to_string()
        } else {
            String::new()
        }
    };
    cells.push(code(
        "c1",
        if at("code cell") { text } else { "x = 1\n" },
        json!([]),
        json!({}),
    ));
    cells.push(json!({"cell_type": "markdown", "id": "m2", "metadata": {}, "source": if at("markdown cell") { json!(text) } else { json!("## Results") }}));
    cells.push(code("c3", "print(result)\n", json!([
        {"output_type": "stream", "name": "stderr", "text": ["warming up\n"]},
        {"output_type": "stream", "name": "stdout", "text": lines(&format!("step 1\n{}\n", t("stream output")))}
    ]), json!({})));
    cells.push(code("c4", "result\n", json!([
        {"output_type": "execute_result", "execution_count": 4, "metadata": {}, "data": {"text/plain": lines(&t("execute_result"))}},
        {"output_type": "display_data", "metadata": {}, "data": {"text/html": lines(&format!("<div><pre>\n{}\n</pre></div>", html_escape(&t("html output"))))}}
    ]), json!({})));
    let tb = format!(
        "\u{1b}[0;31mValueError\u{1b}[0m: bad config {}",
        t("traceback")
    );
    cells.push(code("c5", "connect()\n", json!([
        {"output_type": "error", "ename": "ValueError", "evalue": "bad config", "traceback": ["\u{1b}[0;31m----------------------------------------------------------------\u{1b}[0m", tb]}
    ]), json!({})));
    let cell_meta = if at("cell metadata") {
        json!({"tags": ["parameters"], "note": text})
    } else {
        json!({"tags": ["parameters"]})
    };
    cells.push(code("c6", "run()\n", json!([]), cell_meta));
    let mut nb_meta = json!({"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}});
    if at("notebook metadata") {
        nb_meta["papermill"] = json!({"parameters": {"connection": text}});
    }
    serde_json::to_string_pretty(
        &json!({"nbformat": 4, "nbformat_minor": 5, "metadata": nb_meta, "cells": cells}),
    )
    .expect("a notebook value always serialises")
}

/// What went wrong with one example in one placement.
#[derive(Debug)]
pub struct Failure {
    pub rule: String,
    pub example: String,
    pub placement: &'static str,
    pub problem: String,
}

fn scan_text(scanner: &Scanner, path: &str, text: String) -> Vec<crate::finding::Finding> {
    let item = Item::worktree(path, text.into_bytes());
    scanner.scan_item(&item).findings
}

/// Runs one rule's examples and negative examples everywhere; returns what failed.
pub fn check_rule(scanner: &Scanner, rule: &Rule) -> Vec<Failure> {
    let mut failures = Vec::new();
    let fail = |ex: &str, placement: &'static str, problem: String| Failure {
        rule: rule.id.clone(),
        example: ex.to_string(),
        placement,
        problem,
    };
    for ex in &rule.examples {
        let plain = scan_text(scanner, "example.py", ex.clone());
        if !plain.iter().any(|f| f.rule == rule.id) {
            failures.push(fail(
                ex,
                "plain text file",
                format!(
                    "not found (found: {:?})",
                    plain.iter().map(|f| &f.rule).collect::<Vec<_>>()
                ),
            ));
            continue;
        }
        for place in PLACEMENTS {
            let nb = notebook_with(ex, place);
            let found = scan_text(scanner, "example.ipynb", nb.clone());
            let Some(f) = found.iter().find(|f| f.rule == rule.id) else {
                failures.push(fail(
                    ex,
                    place.name,
                    format!(
                        "not found (found: {:?})",
                        found.iter().map(|f| &f.rule).collect::<Vec<_>>()
                    ),
                ));
                continue;
            };
            let loc = f.notebook.as_ref();
            let (cell, part, output) = (
                loc.and_then(|l| l.cell),
                loc.and_then(|l| l.part),
                loc.and_then(|l| l.output),
            );
            if cell != place.cell
                || part != Some(place.part)
                || (place.output.is_some() && output != place.output)
            {
                failures.push(fail(
                    ex,
                    place.name,
                    format!("found at cell {cell:?} {part:?} output {output:?}"),
                ));
                continue;
            }
            if let Some(problem) = raw_position_problem(&nb, f) {
                failures.push(fail(ex, place.name, problem));
            }
        }
    }
    for ex in &rule.negative_examples {
        let mut found = scan_text(scanner, "example.py", ex.clone());
        for place in PLACEMENTS {
            found.extend(scan_text(
                scanner,
                "example.ipynb",
                notebook_with(ex, place),
            ));
        }
        if let Some(f) = found.first() {
            failures.push(fail(
                ex,
                "negative example",
                format!("reported by {} ({})", f.rule, f.masked_secret()),
            ));
        }
    }
    failures
}

/// The raw line and column of a finding must point at the secret as stored (JSON-escaped).
fn raw_position_problem(raw: &str, f: &crate::finding::Finding) -> Option<String> {
    let line = raw.lines().nth(f.line.checked_sub(1)?)?;
    let at: String = line.chars().skip(f.column.saturating_sub(1)).collect();
    let encoded = serde_json::to_string(&f.secret).expect("strings serialise");
    let encoded = &encoded[1..encoded.len() - 1];
    let head: String = encoded.chars().take(4).collect();
    (!at.starts_with(&head)).then(|| {
        format!(
            "raw position {}:{} does not point at the secret",
            f.line, f.column
        )
    })
}
