//! `nbguard audit` where clocks and ref counts mislead: provenance follows ancestry when every
//! commit shares one timestamp (as after a rebase or a scripted import), and the audit's work
//! and report stay flat when the same history gains ten times more refs.

mod common;

use std::collections::BTreeMap;
use std::process::Output;

use common::report::{group_of, occurrences};
use common::{
    aws_key_id_numbered, describe, github_token, CellOutput, Notebook, TestRepo, DEFAULT_WHO,
};
use serde_json::Value;

/// The one timestamp of every commit below.
const NOW: &str = "2024-05-01T12:00:00+00:00";

fn audit_json(repo: &TestRepo, args: &[&str]) -> (Value, Output) {
    let mut all = vec!["audit", "--no-config", "--no-progress", "--format", "json"];
    all.extend_from_slice(args);
    let out = repo.nbguard(&all);
    let code = out.status.code().expect("nbguard exits normally");
    assert!(
        code == 0 || code == 1,
        "the audit must not fail:\n{}",
        describe(&out)
    );
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("the report is not JSON ({e}):\n{}", describe(&out)));
    (report, out)
}

fn report_notebook(token_line: Option<&str>, revision: usize) -> String {
    let mut outputs = vec![CellOutput::result(&format!("{revision}"), None)];
    if let Some(t) = token_line {
        outputs.push(CellOutput::stream(&format!("connected\n{t}\n")));
    }
    Notebook::new()
        .markdown(&format!("# Report, revision {revision}"))
        .code_with("import os\nprint(os.environ['SERVICE_TOKEN'])\n", outputs)
        .code(&format!("summary = {revision} * 2\n"))
        .to_json()
}

#[test]
fn introducing_commits_follow_ancestry_when_every_commit_has_the_same_timestamp() {
    let repo = TestRepo::new();
    let token = github_token();
    let (key_a, key_b) = (aws_key_id_numbered(3), aws_key_id_numbered(4));
    let mut c: BTreeMap<&str, String> = BTreeMap::new();
    let commit = |name: &'static str, repo: &TestRepo, c: &mut BTreeMap<&str, String>| {
        c.insert(name, repo.commit_as(name, DEFAULT_WHO, NOW));
    };

    repo.write("report.ipynb", report_notebook(None, 0));
    commit("c01", &repo, &mut c);
    repo.write(
        "etl.ipynb",
        Notebook::new()
            .code(&format!("key = '{key_a}'\n"))
            .to_json(),
    );
    commit("c02", &repo, &mut c);
    // c03..c05 re-run the report without the token.
    for (i, name) in ["c03", "c04", "c05"].into_iter().enumerate() {
        repo.write("report.ipynb", report_notebook(None, i + 1));
        commit(name, &repo, &mut c);
    }
    // c06: the token is printed into an output; every later commit re-runs the notebook, so
    // every later version of the file is a new blob that still holds it.
    repo.write("report.ipynb", report_notebook(Some(&token), 6));
    commit("c06", &repo, &mut c);
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.write("jobs/load.py", format!("KEY = \"{key_b}\"\n"));
    commit("s01", &repo, &mut c);
    repo.write("jobs/load.py", format!("# loader\nKEY = \"{key_b}\"\n"));
    commit("s02", &repo, &mut c);
    repo.git(&["checkout", "-q", "main"]);
    for (i, name) in ["c07", "c08", "c09"].into_iter().enumerate() {
        repo.write("report.ipynb", report_notebook(Some(&token), 7 + i));
        commit(name, &repo, &mut c);
    }
    // The side branch comes in through a merge commit with the same timestamp.
    let mut merge = repo.git_command(&["merge", "-q", "--no-ff", "-m", "m01", "side"]);
    merge
        .env("GIT_AUTHOR_DATE", NOW)
        .env("GIT_COMMITTER_DATE", NOW);
    assert!(merge.status().expect("git runs").success());
    c.insert("m01", repo.rev_parse("HEAD"));
    // c10: the key of c02 copied into a script; c11 removes etl.ipynb, c12 brings the same
    // file back (same blob at the same path: still introduced by c02).
    repo.write("scripts/copy.py", format!("KEY = '{key_a}'\n"));
    commit("c10", &repo, &mut c);
    let etl = std::fs::read(repo.path().join("etl.ipynb")).expect("etl.ipynb is there");
    std::fs::remove_file(repo.path().join("etl.ipynb")).expect("removable");
    commit("c11", &repo, &mut c);
    repo.write("etl.ipynb", etl);
    repo.write("report.ipynb", report_notebook(Some(&token), 12));
    commit("c12", &repo, &mut c);

    let distinct_times = repo.git_stdout(&["log", "--all", "--format=%ct%n%at"]);
    let times: std::collections::BTreeSet<&str> = distinct_times.lines().collect();
    assert_eq!(times.len(), 1, "every commit shares one timestamp");

    let (report, _) = audit_json(&repo, &["--reveal"]);
    let want = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(p, n)| (p.to_string(), c[n].clone()))
            .collect()
    };
    let g = group_of(&report, "secret.github.personal-access-token", &token);
    assert_eq!(occurrences(g), want(&[("report.ipynb", "c06")]), "{g:#}");
    assert_eq!(g["introduced"]["id"], c["c06"].as_str());

    let g = group_of(&report, "secret.aws.access-key-id", &key_a);
    assert_eq!(
        occurrences(g),
        want(&[("etl.ipynb", "c02"), ("scripts/copy.py", "c10")]),
        "{g:#}"
    );
    assert_eq!(g["introduced"]["id"], c["c02"].as_str());

    let g = group_of(&report, "secret.aws.access-key-id", &key_b);
    assert_eq!(occurrences(g), want(&[("jobs/load.py", "s01")]), "{g:#}");
    assert_eq!(
        g["introduced"]["id"],
        c["s01"].as_str(),
        "not the merge m01"
    );
    assert_eq!(
        report["findings"].as_array().map(Vec::len),
        Some(3),
        "{report:#}"
    );
}

/// A small history with secrets spread over it, and `refs` extra pull-request refs pointing at
/// its commits in turn (as GitHub's `refs/pull/N/head` do).
fn history_with_pull_refs(refs: usize) -> TestRepo {
    let repo = TestRepo::new();
    let mut commits = Vec::new();
    for i in 0..12 {
        let mut nb = Notebook::new().markdown(&format!("# Step {i}"));
        if i >= 2 {
            nb = nb.code(&format!("key = '{}'\n", aws_key_id_numbered(i % 4)));
        }
        repo.write(&format!("nb/step{}.ipynb", i % 5), nb.to_json());
        commits.push(repo.commit_as(&format!("step {i}"), DEFAULT_WHO, NOW));
    }
    repo.git(&["tag", "v1", &commits[6]]);
    let mut stdin = String::new();
    for n in 0..refs {
        stdin.push_str(&format!(
            "create refs/pull/{n}/head {}\n",
            commits[2 + n % (commits.len() - 2)]
        ));
    }
    let mut cmd = repo.git_command(&["update-ref", "--stdin"]);
    cmd.stdin(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("git update-ref starts");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(stdin.as_bytes())
        .expect("refs written");
    assert!(child.wait().expect("git update-ref ends").success());
    repo
}

#[test]
fn audit_work_and_report_size_stay_flat_when_refs_grow_tenfold() {
    let small = history_with_pull_refs(150);
    let large = history_with_pull_refs(1500);
    let (a, out_a) = audit_json(&small, &[]);
    let (b, out_b) = audit_json(&large, &[]);
    assert_eq!(a["stats"]["tips"], 152, "main, v1 and 150 pull refs");
    assert_eq!(b["stats"]["tips"], 1502);
    // The same content: the same groups, introduced by the same commits.
    let key = |r: &Value| -> Vec<(String, String)> {
        r["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|g| {
                (
                    g["fingerprint"].as_str().expect("fp").to_owned(),
                    g["introduced"]["summary"]
                        .as_str()
                        .expect("summary")
                        .to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(key(&a), key(&b));
    assert!(!key(&a).is_empty());
    // Work that follows content does not move at all.
    for counter in [
        "commits",
        "trees_read",
        "blobs_read",
        "blobs_with_findings",
        "tip_trees",
    ] {
        assert_eq!(a["stats"][counter], b["stats"][counter], "{counter}");
    }
    let trees = |r: &Value| {
        r["stats"]["attribution_trees_read"]
            .as_u64()
            .expect("a count")
    };
    assert!(trees(&b) <= trees(&a) + 2, "{} vs {}", trees(&a), trees(&b));
    // Nor does the report: counts change by a digit, no list of names grows.
    let (sa, sb) = (out_a.stdout.len(), out_b.stdout.len());
    assert!(sb * 10 < sa * 11, "report grew from {sa} to {sb} bytes");
    let g = &b["findings"][0];
    assert!(
        g["present_at"].as_array().expect("names").len() <= 40,
        "{g:#}"
    );
    assert_eq!(g["refs"]["complete"], false);
    assert!(
        g["refs"]["summary"]
            .as_str()
            .expect("a summary")
            .contains("pull-request refs"),
        "{g:#}"
    );
    assert_eq!(b["refs"]["namespaces"]["refs/pull"], 1500);
    assert_eq!(b["refs"]["default_branch"], "refs/heads/main");
}

#[test]
fn all_refs_in_report_lists_every_ref_of_a_finding() {
    let repo = history_with_pull_refs(60);
    let (report, _) = audit_json(&repo, &["--all-refs-in-report"]);
    let key0 = aws_key_id_numbered(0);
    let g = group_of(&report, "secret.aws.access-key-id", &key0);
    let names = g["present_at"].as_array().expect("names");
    assert_eq!(
        names.len(),
        g["refs"]["total"].as_u64().expect("a total") as usize
    );
    assert_eq!(g["refs"]["complete"], true);
    assert!(names.len() > 40, "{g:#}");
    // Without the flag the same group is summarised.
    let (report, _) = audit_json(&repo, &[]);
    let g = group_of(&report, "secret.aws.access-key-id", &key0);
    assert!(g["present_at"].as_array().expect("names").len() <= 40);
    assert_eq!(g["refs"]["branches"]["names"][0], "refs/heads/main");
}
