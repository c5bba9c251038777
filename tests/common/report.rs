//! Reading audit reports (`--format json`) in tests: a secret's group, and where it occurred.

use serde_json::Value;

/// The group of `secret` found by `rule`, by its fingerprint; panics with the report otherwise.
pub fn group_of<'a>(report: &'a Value, rule: &str, secret: &str) -> &'a Value {
    let fp = nbguard::finding::fingerprint(rule, secret);
    report["findings"]
        .as_array()
        .expect("findings is an array")
        .iter()
        .find(|g| g["fingerprint"] == fp.as_str())
        .unwrap_or_else(|| panic!("no group for {rule}:\n{report:#}"))
}

/// The (path, commit) of each occurrence of a group, in report order.
pub fn occurrences(g: &Value) -> Vec<(String, String)> {
    places(g).into_iter().map(|(p, c, _)| (p, c)).collect()
}

/// The (path, commit, cell) of each occurrence of a group, in report order.
pub fn places(g: &Value) -> Vec<(String, String, Option<u64>)> {
    g["occurrences"]
        .as_array()
        .expect("occurrences is an array")
        .iter()
        .map(|o| {
            (
                o["path"].as_str().expect("a path").to_owned(),
                o["commit"]["id"].as_str().expect("a commit id").to_owned(),
                o["cell"].as_u64(),
            )
        })
        .collect()
}
