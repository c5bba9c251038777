//! SARIF 2.1.0, as code-scanning dashboards read it: one run, the rules that fired in
//! `tool.driver.rules`, notebook coordinates in `properties`, a stable `partialFingerprints`
//! entry (our location-free fingerprint) and suppressions recorded rather than dropped.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{self, Write};

use super::{shown_secret, Options, Report};
use crate::finding::{Finding, Severity, Suppression};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

/// Percent-encodes what may not stand in a URI reference, keeping `/`.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn result(f: &Finding, rule_index: usize, reveal: bool) -> Value {
    let nb = f.notebook.as_ref();
    let mut where_ = String::new();
    if let Some(n) = nb {
        if let Some(c) = n.cell {
            where_ = format!(
                " (cell {c}, {}, line {})",
                n.part.map_or("metadata", |p| p.as_str()),
                n.line
            );
        } else {
            where_ = format!(
                " (notebook {}, line {})",
                n.part.map_or("metadata", |p| p.as_str()),
                n.line
            );
        }
    }
    // A commit or tag message is no file: SARIF's logical locations name such things.
    let mut location = if f.origin.is_file() {
        json!({"physicalLocation": {"artifactLocation": {"uri": uri(&f.path)}}})
    } else {
        json!({"logicalLocations": [{"fullyQualifiedName": f.path, "kind": f.origin}]})
    };
    if f.line > 0 && f.origin.is_file() {
        location["physicalLocation"]["region"] = json!({
            "startLine": f.line, "startColumn": f.column.max(1), "endLine": f.end_line.max(f.line)
        });
    }
    let mut props = json!({
        "severity": f.severity.as_str(),
        "secret": shown_secret(f, reveal),
        "fingerprint": f.fingerprint,
    });
    if let Some(n) = nb {
        props["cell"] = json!(n.cell);
        props["cell_id"] = json!(n.cell_id);
        props["cell_type"] = json!(n.cell_type);
        props["part"] = json!(n.part.map(|p| p.as_str()));
        props["output"] = json!(n.output);
        props["output_kind"] = json!(n.output_kind);
        props["cell_line"] = json!(n.line);
    }
    if let Some(c) = &f.commit {
        props["commit"] = json!(c);
    }
    if !f.origin.is_file() {
        props["origin"] = json!(f.origin);
        props["line"] = json!(f.line);
    }
    let mut r = json!({
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": {"text": format!("{}: {}{}", f.title, shown_secret(f, reveal), where_)},
        "locations": [location],
        "partialFingerprints": {"nbguard/v1": f.fingerprint},
        "properties": props,
    });
    if let Some(s) = &f.suppressed {
        let (kind, why) = match s {
            Suppression::Inline { marker } => ("inSource", format!("inline marker `{marker}`")),
            Suppression::CellTag => ("inSource", "cell tagged nbguard-ignore".to_string()),
            Suppression::Allowlist { reason } => ("external", reason.clone()),
            Suppression::Baseline => ("external", "listed in the baseline".to_string()),
            Suppression::PushOption => ("external", "allowed by a push option".to_string()),
        };
        r["suppressions"] = json!([{"kind": kind, "justification": why}]);
    }
    r
}

pub fn write_sarif(w: &mut dyn Write, r: &Report, o: &Options) -> io::Result<()> {
    let mut rules: BTreeMap<&str, &Finding> = BTreeMap::new();
    for f in &r.findings {
        rules.entry(f.rule.as_str()).or_insert(f);
    }
    let index: BTreeMap<&str, usize> = rules.keys().enumerate().map(|(i, k)| (*k, i)).collect();
    let driver_rules: Vec<Value> = rules
        .values()
        .map(|f| {
            json!({
                "id": f.rule,
                "name": f.rule.replace(['.', '-'], "_"),
                "shortDescription": {"text": f.title},
                "help": {"text": f.fix},
                "defaultConfiguration": {"level": level(f.severity)},
                "properties": {
                    "security-severity": security_severity(f.severity),
                    "tags": ["security", if f.rule.starts_with("pii.") { "privacy" } else { "secret" }],
                },
            })
        })
        .collect();
    let results: Vec<Value> = r
        .findings
        .iter()
        // Suppressed results stay in SARIF, marked, as the format intends.
        .map(|f| result(f, index[f.rule.as_str()], o.reveal))
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "nbguard",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/nbguard/nbguard",
                "rules": driver_rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
            "properties": {
                "diagnostics": r.diagnostics,
                "blocked": r.blocked,
                "threshold": r.threshold,
            },
        }],
    });
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    writeln!(w)
}
