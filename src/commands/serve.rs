//! `nbguard serve`: a long-lived checker for the IPython extension (python/nbguard), so that a
//! notebook cell costs a pipe round trip and a scan, not a process start and a catalogue load.
//!
//! The protocol is one JSON object per line each way. A request names the notebook (for
//! `scan.exclude` and allowlisted paths) and carries a notebook holding the cells to check:
//! `{"id": 1, "path": "analysis.ipynb", "notebook": {"cells": [...], ...}}`. The reply has the
//! same `id`, the active findings in the JSON report's finding shape (secrets masked, always),
//! the diagnostics, and whether the configured threshold would block them:
//! `{"id": 1, "findings": [...], "diagnostics": [...], "blocked": true}`. A request that cannot be
//! read gets `{"id": ..., "error": "..."}` and the server goes on; end of input ends it.
//! Configuration is resolved once, by `main.rs`, exactly as for `nbguard scan` in the directory the
//! server starts in. How a warning looks is the extension's business.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::io::{self, BufRead, Write};

use crate::finding::Diagnostic;
use crate::report::wire_finding;
use crate::scanner::{Scanner, View};
use crate::source::Provenance;
use crate::threshold::Threshold;

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(default)]
    id: serde_json::Value,
    path: String,
    #[serde(borrow)]
    notebook: &'a RawValue,
}

#[derive(Serialize)]
struct Reply<'a> {
    id: &'a serde_json::Value,
    findings: Vec<crate::report::WireFinding<'a>>,
    diagnostics: &'a [Diagnostic],
    blocked: bool,
}

#[derive(Serialize)]
struct Failure<'a> {
    id: &'a serde_json::Value,
    error: String,
}

/// Answers requests from `input` on `output` until end of input. Only I/O on the two streams
/// ends it early: a bad request is answered with an error and the next one is read.
pub fn run(
    scanner: &Scanner,
    threshold: &Threshold,
    input: &mut dyn BufRead,
    output: &mut dyn Write,
) -> io::Result<()> {
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line.trim().is_empty() {
            continue;
        }
        answer(scanner, threshold, line.trim_end(), output)?;
        output.flush()?;
    }
}

fn answer(
    scanner: &Scanner,
    threshold: &Threshold,
    line: &str,
    output: &mut dyn Write,
) -> io::Result<()> {
    let request: Request = match serde_json::from_str(line) {
        Ok(r) => r,
        Err(e) => {
            let id = request_id(line);
            let error = format!("not a request ({{\"id\", \"path\", \"notebook\"}}): {e}");
            serde_json::to_writer(&mut *output, &Failure { id: &id, error })?;
            return writeln!(output);
        }
    };
    let provenance = Provenance::WorkTree;
    let outcome = if scanner.wants(&request.path) {
        scanner.scan(&View {
            path: &request.path,
            new: request.notebook.get().as_bytes(),
            old: None,
            provenance: &provenance,
        })
    } else {
        Default::default()
    };
    let reply = Reply {
        id: &request.id,
        findings: outcome
            .findings
            .iter()
            .filter(|f| f.is_active())
            .map(|f| wire_finding(f, false))
            .collect(),
        diagnostics: &outcome.diagnostics,
        blocked: threshold.blocks(&outcome.findings),
    };
    serde_json::to_writer(&mut *output, &reply)?;
    writeln!(output)
}

/// The `id` of a request that failed to parse as a whole, so the client can still pair the error
/// with what it asked.
fn request_id(line: &str) -> serde_json::Value {
    #[derive(Deserialize)]
    struct JustId {
        #[serde(default)]
        id: serde_json::Value,
    }
    serde_json::from_str::<JustId>(line)
        .map(|j| j.id)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    fn serve(input: &str) -> Vec<serde_json::Value> {
        let settings = config::resolve(&[]).expect("defaults resolve");
        let scanner = Scanner::new(&settings, None).expect("built-in rules compile");
        let mut out = Vec::new();
        run(&scanner, &settings.fail_on, &mut input.as_bytes(), &mut out).expect("in-memory I/O");
        String::from_utf8(out)
            .expect("replies are UTF-8")
            .lines()
            .map(|l| serde_json::from_str(l).expect("each reply is one JSON line"))
            .collect()
    }

    fn request(id: u32, source: &str, printed: &str) -> String {
        let notebook = serde_json::json!({
            "nbformat": 4, "nbformat_minor": 5, "metadata": {},
            "cells": [{
                "cell_type": "code", "id": "c", "metadata": {}, "execution_count": 1,
                "source": source,
                "outputs": [{"output_type": "stream", "name": "stdout", "text": printed}],
            }],
        });
        serde_json::json!({"id": id, "path": "analysis.ipynb", "notebook": notebook}).to_string()
    }

    #[test]
    fn printed_key_is_reported_masked_in_the_output_part() {
        let key = ["AKIA", "Q3EGRIT7", "ZK5MXA2B"].concat();
        let replies = serve(&format!("{}\n", request(3, "print(k)", &key)));
        let r = &replies[0];
        assert_eq!(r["id"], 3);
        assert_eq!(r["blocked"], true);
        assert_eq!(r["findings"][0]["rule"], "secret.aws.access-key-id");
        assert_eq!(r["findings"][0]["part"], "output");
        assert!(!r.to_string().contains(&key), "{r}");
    }

    #[test]
    fn clean_cell_gets_an_empty_reply_and_bad_lines_an_error_without_ending_the_server() {
        let input = format!(
            "{}\n{{\"id\": 8, \"path\": 1}}\nnot json\n\n{}\n",
            request(1, "x = 1", "1\n"),
            request(2, "y = 2", "")
        );
        let replies = serve(&input);
        assert_eq!(replies.len(), 4, "{replies:?}");
        assert_eq!(replies[0]["findings"].as_array().map(Vec::len), Some(0));
        assert_eq!(replies[0]["blocked"], false);
        assert_eq!(replies[1]["id"], 8);
        assert!(replies[1]["error"].is_string());
        assert!(replies[2]["id"].is_null() && replies[2]["error"].is_string());
        assert_eq!(replies[3]["id"], 2);
    }
}
