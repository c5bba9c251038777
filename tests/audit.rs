//! `nbguard audit` as a user runs it: the built binary over real histories made by the real
//! `git`, with leaks planted at known commits, branches and tags. Every expectation is exact:
//! which secrets, which commits introduced them, which refs still hold them, and nothing else.

mod common;

use std::collections::BTreeSet;
use std::process::Output;

use common::report::{group_of, occurrences, places};
use common::{
    aws_key_id_numbered, describe, github_token, password_line, pem_private_key, CellOutput,
    Notebook, TestRepo, Who, DEFAULT_WHO,
};
use serde_json::Value;

const GRACE: Who = Who {
    name: "Grace Hopper",
    email: "grace@example.com",
};

/// One planted secret and everything the audit must say about it.
#[derive(Debug, Clone)]
struct Leak {
    rule: &'static str,
    secret: String,
    /// Every (path, introducing commit) the secret was committed at, earliest first.
    occurrences: Vec<(&'static str, String)>,
    /// Exactly the refs whose tip still holds it.
    present_at: Vec<&'static str>,
}

impl Leak {
    fn fingerprint(&self) -> String {
        nbguard::finding::fingerprint(self.rule, &self.secret)
    }

    fn introduced(&self) -> &str {
        &self.occurrences[0].1
    }
}

/// The planted history: main with a secret added then removed (A), one added and kept in a
/// notebook and later copied into a script (B), a private key in a plain file (F), a key printed
/// only in a cell's stream output (E); a side branch `feature` with a password (C); a deleted
/// branch whose only trace is the annotated tag `v0.9` (D). Clean commits in between edit
/// notebooks with code that looks like credentials but is not.
struct History {
    repo: TestRepo,
    /// The commits in creation order, by name.
    c: std::collections::BTreeMap<&'static str, String>,
    a: Leak,
    b: Leak,
    c_: Leak,
    d: Leak,
    e: Leak,
    f: Leak,
}

impl History {
    fn leaks(&self) -> Vec<&Leak> {
        vec![&self.a, &self.b, &self.c_, &self.d, &self.e, &self.f]
    }

    fn commit(&self, name: &str) -> &str {
        &self.c[name]
    }
}

fn date(day: &str) -> String {
    format!("{day}T10:00:00+00:00")
}

fn clean_notebook(extra: &str) -> String {
    Notebook::new()
        .markdown("# Churn analysis\nLoads the extract and plots churn by month.")
        .code_with(
            "import os\nimport pandas as pd\ndf = pd.read_csv('churn.csv')\ndf.head()",
            vec![CellOutput::result(
                "   month  churn\n0  2023-01   0.12\n1  2023-02   0.10",
                None,
            )],
        )
        .code(&format!(
            "password = os.environ['DB_PASSWORD']\ntoken = os.getenv('API_TOKEN')\n{extra}"
        ))
        .to_json()
}

fn planted_history() -> History {
    let repo = TestRepo::new();
    let mut c = std::collections::BTreeMap::new();
    let (a_key, d_key, e_key) = (
        aws_key_id_numbered(0),
        aws_key_id_numbered(1),
        aws_key_id_numbered(2),
    );
    let token = github_token();

    // c1: clean start.
    repo.write("README.md", "# Churn\n\nNotebooks for the churn model.\n");
    repo.write("analysis.ipynb", clean_notebook("print(df.shape)"));
    c.insert(
        "c1",
        repo.commit_as("Start the churn project", DEFAULT_WHO, &date("2024-01-01")),
    );

    // feature: a password, on this branch only.
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write(
        "notebooks/feature.ipynb",
        Notebook::new()
            .code(&format!("user = 'etl'\n{}\n", password_line()))
            .to_json(),
    );
    c.insert(
        "f1",
        repo.commit_as(
            "Try the new feature store",
            DEFAULT_WHO,
            &date("2024-01-02"),
        ),
    );

    // release: a key, then the branch is deleted and only the annotated tag keeps it.
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["checkout", "-q", "-b", "release"]);
    repo.write(
        "config.ipynb",
        Notebook::new()
            .code(&format!("aws_access_key_id = '{d_key}'\n"))
            .to_json(),
    );
    c.insert(
        "r1",
        repo.commit_as("Release configuration", DEFAULT_WHO, &date("2024-01-03")),
    );
    repo.git(&["tag", "-a", "v0.9", "-m", "Release 0.9"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["branch", "-q", "-D", "release"]);

    // c2/c3: a key added by Grace, then removed.
    repo.write(
        "etl.ipynb",
        Notebook::new()
            .markdown("## Extract")
            .code(&format!(
                "import boto3\naws_access_key_id = '{a_key}'\ns3 = boto3.client('s3')\n"
            ))
            .to_json(),
    );
    c.insert(
        "c2",
        repo.commit_as("Load the warehouse extract", GRACE, &date("2024-02-01")),
    );
    repo.write(
        "etl.ipynb",
        Notebook::new()
            .markdown("## Extract")
            .code("import boto3\ns3 = boto3.client('s3')\n")
            .to_json(),
    );
    c.insert(
        "c3",
        repo.commit_as("Read AWS keys from the profile", GRACE, &date("2024-02-02")),
    );

    // c4: a token that stays.
    repo.write(
        "train.ipynb",
        Notebook::new()
            .code(&format!("import requests\ntoken = '{token}'\n"))
            .to_json(),
    );
    c.insert(
        "c4",
        repo.commit_as(
            "Train from the model registry",
            DEFAULT_WHO,
            &date("2024-03-01"),
        ),
    );

    // c5: a private key in a plain file, and a clean notebook edit.
    repo.write("deploy/id_rsa", pem_private_key());
    repo.write("analysis.ipynb", clean_notebook("print(df.describe())"));
    c.insert(
        "c5",
        repo.commit_as("Add the deploy key", DEFAULT_WHO, &date("2024-03-02")),
    );

    // c6: a key printed in a stream output only (the source reads it from the environment).
    repo.write(
        "report.ipynb",
        Notebook::new()
            .markdown("# Weekly report")
            .code_with(
                "import os\nprint(len(df))\nprint(os.environ['AWS_ACCESS_KEY_ID'])\n",
                vec![
                    CellOutput::result("42", None),
                    CellOutput::stream(&format!("1204\n{e_key}\n")),
                ],
            )
            .to_json(),
    );
    c.insert(
        "c6",
        repo.commit_as("Weekly report", DEFAULT_WHO, &date("2024-03-03")),
    );

    // c7: the same token again, in a script.
    repo.write(
        "scripts/train_job.py",
        format!("import requests\n\nTOKEN = \"{token}\"\n"),
    );
    c.insert(
        "c7",
        repo.commit_as("Schedule training", DEFAULT_WHO, &date("2024-03-04")),
    );

    // c8: clean edits only (the token's notebook gains a cell, the token stays as it was).
    repo.write("analysis.ipynb", clean_notebook("df.plot()"));
    repo.write(
        "train.ipynb",
        Notebook::new()
            .code(&format!("import requests\ntoken = '{token}'\n"))
            .code("model = requests.get('https://models.example.com/churn').json()\n")
            .to_json(),
    );
    repo.write("README.md", "# Churn\n\nRun `make train`.\n");
    c.insert(
        "c8",
        repo.commit_as("Plot churn", DEFAULT_WHO, &date("2024-03-05")),
    );

    let leak =
        |rule, secret: &String, occ: Vec<(&'static str, &str)>, refs: &[&'static str]| Leak {
            rule,
            secret: secret.clone(),
            occurrences: occ
                .into_iter()
                .map(|(p, name)| (p, c[name].clone()))
                .collect(),
            present_at: refs.to_vec(),
        };
    let main = "refs/heads/main";
    History {
        a: leak(
            "secret.aws.access-key-id",
            &a_key,
            vec![("etl.ipynb", "c2")],
            &[],
        ),
        b: leak(
            "secret.github.personal-access-token",
            &token,
            vec![("train.ipynb", "c4"), ("scripts/train_job.py", "c7")],
            &[main],
        ),
        c_: leak(
            "secret.generic.password",
            &["Pass", "XYZ"].concat(),
            vec![("notebooks/feature.ipynb", "f1")],
            &["refs/heads/feature"],
        ),
        d: leak(
            "secret.aws.access-key-id",
            &d_key,
            vec![("config.ipynb", "r1")],
            &["refs/tags/v0.9"],
        ),
        e: leak(
            "secret.aws.access-key-id",
            &e_key,
            vec![("report.ipynb", "c6")],
            &[main],
        ),
        f: leak(
            "secret.key.pkcs8-private-key",
            &pem_private_key().trim_end().to_owned(),
            vec![("deploy/id_rsa", "c5")],
            &[main],
        ),
        c,
        repo,
    }
}

/// Runs `nbguard audit --no-config` with `args` in the repository.
fn audit(repo: &TestRepo, args: &[&str]) -> Output {
    let mut all = vec!["audit", "--no-config"];
    all.extend_from_slice(args);
    repo.nbguard(&all)
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("the report is not JSON ({e}):\n{}", describe(out)))
}

/// `nbguard audit --format json --reveal` plus `args`; the report and the exit code.
fn audit_json(repo: &TestRepo, args: &[&str]) -> (Value, i32) {
    let mut all = vec!["--format", "json", "--reveal"];
    all.extend_from_slice(args);
    let out = audit(repo, &all);
    let code = out.status.code().expect("nbguard exits normally");
    assert!(
        code == 0 || code == 1,
        "the audit must not fail:\n{}",
        describe(&out)
    );
    (json(&out), code)
}

fn groups(report: &Value) -> &Vec<Value> {
    report["findings"]
        .as_array()
        .expect("`findings` is an array")
}

fn group<'a>(report: &'a Value, leak: &Leak) -> &'a Value {
    let fp = leak.fingerprint();
    groups(report)
        .iter()
        .find(|g| g["fingerprint"] == fp.as_str())
        .unwrap_or_else(|| {
            panic!(
                "no group for {} planted at {:?}:\n{report:#}",
                leak.rule, leak.occurrences
            )
        })
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|s| s.as_str().expect("a string").to_owned())
        .collect()
}

/// Asserts that the report holds exactly these leaks, each complete and correct.
fn assert_exactly(report: &Value, leaks: &[&Leak]) {
    let got: BTreeSet<String> = groups(report)
        .iter()
        .map(|g| g["fingerprint"].as_str().expect("a fingerprint").to_owned())
        .collect();
    let want: BTreeSet<String> = leaks.iter().map(|l| l.fingerprint()).collect();
    assert_eq!(
        got, want,
        "the findings are exactly the planted ones:\n{report:#}"
    );
    for leak in leaks {
        let g = group(report, leak);
        assert_eq!(g["rule"], leak.rule);
        assert_eq!(g["secret"], leak.secret.as_str(), "revealed secret");
        let want: Vec<(String, String)> = leak
            .occurrences
            .iter()
            .map(|(p, c)| (p.to_string(), c.clone()))
            .collect();
        assert_eq!(occurrences(g), want, "occurrences of {}", leak.rule);
        assert_eq!(g["introduced"]["id"], leak.introduced(), "{g:#}");
        assert_eq!(strings(&g["present_at"]), leak.present_at, "{g:#}");
        assert_eq!(g["still_present"], !leak.present_at.is_empty());
    }
    assert_eq!(report["summary"]["findings"], leaks.len());
}

/// The 1-based line of `path` at `commit` that holds `needle`.
fn line_of(repo: &TestRepo, commit: &str, path: &str, needle: &str) -> usize {
    let text = repo.git_stdout(&["show", &format!("{commit}:{path}")]);
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} is in {path} at {commit}"))
        + 1
}

/// Full secrets a report must never show unless asked to; the PEM key by its body lines.
fn secret_texts(h: &History) -> Vec<String> {
    let mut out: Vec<String> = h
        .leaks()
        .iter()
        .filter(|l| !l.secret.contains('\n'))
        .map(|l| l.secret.clone())
        .collect();
    out.extend(
        h.f.secret
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .map(str::to_owned),
    );
    out
}

fn assert_no_secret(h: &History, text: &str, what: &str) {
    for s in secret_texts(h) {
        assert!(!text.contains(&s), "{what} shows the full secret {s}");
    }
}

#[test]
fn every_planted_leak_is_found_with_its_commits_and_refs_and_nothing_else() {
    let h = planted_history();
    let (report, code) = audit_json(&h.repo, &[]);
    assert_exactly(&report, &h.leaks());
    assert_eq!(code, 1, "high findings block by default");
    assert_eq!(report["summary"]["commits"], 10);
    assert_eq!(report["summary"]["refs"], 3);
    assert_eq!(report["summary"]["blobs"], 14);
    assert_eq!(report["summary"]["active"], 6);
    assert_eq!(report["summary"]["still_present"], 5);
    assert_eq!(report["diagnostics"], serde_json::json!([]));
}

#[test]
fn secret_added_then_removed_is_reported_with_its_adding_commit_and_no_ref() {
    let h = planted_history();
    let (report, _) = audit_json(&h.repo, &[]);
    let g = group(&report, &h.a);
    let intro = &g["introduced"];
    assert_eq!(intro["id"], h.commit("c2"));
    assert_eq!(intro["author"], "Grace Hopper");
    assert_eq!(intro["email"], "grace@example.com");
    assert_eq!(intro["summary"], "Load the warehouse extract");
    assert_eq!(intro["time"], 1_706_781_600, "2024-02-01T10:00:00Z");
    assert_eq!(g["present_at"], serde_json::json!([]));
    assert_eq!(g["still_present"], false);
    assert_eq!(g["suppressed"], Value::Null, "removed is still reported");

    let text = audit(&h.repo, &[]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&format!(
            "introduced:  {} 2024-02-01 10:00 Grace Hopper <grace@example.com>: Load the warehouse extract",
            &h.commit("c2")[..10]
        )),
        "{text}"
    );
    assert!(
        text.contains("present at:  no ref (removed everywhere"),
        "{text}"
    );
}

#[test]
fn secret_still_at_head_is_present_at_main() {
    let h = planted_history();
    let (report, _) = audit_json(&h.repo, &[]);
    for leak in [&h.b, &h.e, &h.f] {
        let g = group(&report, leak);
        assert_eq!(strings(&g["present_at"]), ["refs/heads/main"], "{g:#}");
        assert_eq!(g["still_present"], true);
    }
}

#[test]
fn secret_only_on_a_side_branch_is_present_at_that_branch_only() {
    let h = planted_history();
    let (report, _) = audit_json(&h.repo, &[]);
    let g = group(&report, &h.c_);
    assert_eq!(strings(&g["present_at"]), ["refs/heads/feature"]);
    assert_eq!(g["introduced"]["id"], h.commit("f1"));
    assert_eq!(g["occurrences"][0]["cell"], 0);
    assert_eq!(g["occurrences"][0]["cell_line"], 2);
}

#[test]
fn secret_only_behind_an_annotated_tag_of_a_deleted_branch_is_found_at_the_tag() {
    let h = planted_history();
    assert!(h
        .repo
        .git_stdout(&["branch", "--list"])
        .lines()
        .all(|b| !b.contains("release")));
    assert_eq!(h.repo.git_stdout(&["cat-file", "-t", "v0.9"]), "tag");
    let (report, _) = audit_json(&h.repo, &[]);
    let g = group(&report, &h.d);
    assert_eq!(strings(&g["present_at"]), ["refs/tags/v0.9"]);
    assert_eq!(g["introduced"]["id"], h.commit("r1"));
    assert_eq!(g["introduced"]["summary"], "Release configuration");
}

#[test]
fn secret_only_in_a_stream_output_is_found_there_with_cell_coordinates() {
    let h = planted_history();
    let (report, _) = audit_json(&h.repo, &[]);
    let g = group(&report, &h.e);
    let o = &g["occurrences"][0];
    assert_eq!(o["path"], "report.ipynb");
    assert_eq!(o["part"], "output");
    assert_eq!(o["cell"], 1);
    assert_eq!(o["cell_id"], "cell-0001");
    assert_eq!(o["cell_type"], "code");
    assert_eq!(o["output"], 1, "the stream is the cell's second output");
    assert_eq!(o["output_kind"], "stream");
    let line = line_of(&h.repo, h.commit("c6"), "report.ipynb", &h.e.secret);
    assert_eq!(o["line"], line, "the line in the file as committed");
    assert_eq!(o["commit"]["id"], h.commit("c6"));
}

/// The key is on the stream's second line, after a line the AWS rule's leading delimiter
/// reaches back into.
#[test]
fn secret_on_the_second_line_of_an_output_has_that_cell_line_and_snippet() {
    let h = planted_history();
    let (report, _) = audit_json(&h.repo, &[]);
    let o = &group(&report, &h.e)["occurrences"][0];
    assert_eq!(o["cell_line"], 2, "{o:#}");
    assert_eq!(
        o["snippet"],
        nbguard::finding::mask(&h.e.secret).as_str(),
        "the snippet is the key's line (masked: snippets never carry a secret)"
    );
}

#[test]
fn same_secret_in_two_files_and_commits_is_one_group_with_every_occurrence() {
    let h = planted_history();
    let (report, _) = audit_json(&h.repo, &[]);
    let same: Vec<&Value> = groups(&report)
        .iter()
        .filter(|g| g["rule"] == h.b.rule)
        .collect();
    assert_eq!(same.len(), 1, "one group for the token");
    let g = same[0];
    assert_eq!(
        occurrences(g),
        [
            ("train.ipynb".to_owned(), h.commit("c4").to_owned()),
            ("scripts/train_job.py".to_owned(), h.commit("c7").to_owned()),
        ]
    );
    assert_eq!(
        g["introduced"]["id"],
        h.commit("c4"),
        "the earliest occurrence"
    );
    assert_eq!(g["occurrences"][0]["part"], "source");
    assert_eq!(g["occurrences"][1]["cell"], Value::Null, "a plain file");
    assert_eq!(g["occurrences"][1]["line"], 3);
}

#[test]
fn missing_blob_is_a_diagnostic_and_the_threshold_decides_the_exit_status() {
    let h = planted_history();
    // A clean notebook version that no tip holds any more.
    let blob = h
        .repo
        .rev_parse(&format!("{}:analysis.ipynb", h.commit("c5")));
    h.repo.delete_loose_object(&blob);
    let (report, code) = audit_json(&h.repo, &[]);
    assert_eq!(code, 1, "high findings still block");
    assert_exactly(&report, &h.leaks());
    let diags = report["diagnostics"].as_array().expect("an array");
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0]["kind"], "missing-object");
    assert_eq!(diags[0]["path"], "analysis.ipynb");
    assert!(
        diags[0]["message"]
            .as_str()
            .expect("a message")
            .contains(&blob),
        "{diags:#?}"
    );
    assert_eq!(
        report["summary"]["blobs"], 13,
        "the missing blob is not counted"
    );

    // Six findings: the threshold alone decides; the missing blob neither blocks nor fails.
    let (_, code) = audit_json(&h.repo, &["--fail-on", "total>5"]);
    assert_eq!(code, 1);
    let (_, code) = audit_json(&h.repo, &["--fail-on", "total>6"]);
    assert_eq!(
        code, 0,
        "nothing over this threshold; a missing blob is not a failure"
    );
    let text = audit(&h.repo, &["--fail-on", "total>6"]);
    assert_eq!(text.status.code(), Some(0), "{}", describe(&text));
    assert!(String::from_utf8_lossy(&text.stdout).contains("(missing-object)"));
}

#[test]
fn bare_clone_is_audited_like_its_origin() {
    let h = planted_history();
    let bare = h.repo.scratch("server").join("churn.git");
    let bare_arg = bare.to_str().expect("temp paths are UTF-8");
    let origin = h.repo.path().to_str().expect("temp paths are UTF-8");
    h.repo
        .git(&["clone", "--quiet", "--bare", "--no-local", origin, bare_arg]);
    let (report, code) = audit_json(&h.repo, &["--repo", bare_arg]);
    assert_eq!(code, 1);
    assert_exactly(&report, &h.leaks());
    assert_eq!(report["summary"]["commits"], 10);
}

#[test]
fn refs_branches_leaves_out_history_reachable_only_from_tags() {
    let h = planted_history();
    let (report, _) = audit_json(&h.repo, &["--refs", "branches"]);
    assert_exactly(&report, &[&h.a, &h.b, &h.c_, &h.e, &h.f]);
    assert_eq!(report["summary"]["refs"], 2);
    assert_eq!(report["summary"]["commits"], 9);

    let (report, _) = audit_json(&h.repo, &["--refs", "tags"]);
    assert_exactly(&report, &[&h.d]);
    assert_eq!(report["summary"]["commits"], 2);
}

#[test]
fn ref_glob_limits_the_audit_to_matching_refs() {
    let h = planted_history();
    let (report, _) = audit_json(&h.repo, &["--refs", "refs/heads/feat*"]);
    assert_exactly(&report, &[&h.c_]);
    assert_eq!(report["summary"]["refs"], 1);
    assert_eq!(report["summary"]["commits"], 2);

    let (report, _) = audit_json(&h.repo, &["--refs", "refs/heads/feature", "refs/tags/*"]);
    assert_exactly(&report, &[&h.c_, &h.d]);
}

#[test]
fn since_leaves_out_commits_before_the_date() {
    let h = planted_history();
    let (report, _) = audit_json(&h.repo, &["--since", "2024-02-15"]);
    assert_exactly(&report, &[&h.b, &h.e, &h.f]);
    assert_eq!(report["summary"]["commits"], 5, "c4..c8");

    let (report, _) = audit_json(&h.repo, &["--since", "2024-02-01T10:00:00"]);
    assert_exactly(&report, &[&h.a, &h.b, &h.e, &h.f]);
}

#[test]
fn notebooks_only_leaves_out_plain_files() {
    let h = planted_history();
    let (report, _) = audit_json(&h.repo, &["--notebooks-only"]);
    let mut b = h.b.clone();
    b.occurrences.truncate(1);
    assert_exactly(&report, &[&h.a, &b, &h.c_, &h.d, &h.e]);
    assert_eq!(report["summary"]["blobs"], 10);
}

#[test]
fn html_report_is_one_self_contained_page_with_every_introducing_commit_and_no_secret() {
    let h = planted_history();
    let page = h.repo.scratch("out").join("audit.html");
    let page_arg = page.to_str().expect("temp paths are UTF-8");
    let out = audit(&h.repo, &["--format", "html", "--output", page_arg]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(out.stdout.is_empty(), "the page goes to the file only");
    let html = std::fs::read_to_string(&page).expect("the page was written");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<html").count(), 1);
    assert_eq!(html.matches("</html>").count(), 1);
    assert!(html.trim_end().ends_with("</html>"));
    for external in [
        "src=", "href=", "<link", "@import", "url(", "http://", "https://",
    ] {
        assert!(
            !html.contains(external),
            "the page loads nothing: {external}"
        );
    }
    // Its one script (the filters) is inline.
    assert_eq!(
        html.matches("<script").count(),
        html.matches("<script>").count()
    );
    for leak in h.leaks() {
        let short = &leak.introduced()[..10];
        assert!(html.contains(short), "{} introduced by {short}", leak.rule);
    }
    assert!(html.contains("Grace Hopper &lt;grace@example.com&gt;"));
    assert!(html.contains("removed (still in history)"));
    assert!(html.contains("refs/tags/v0.9"));
    assert_no_secret(&h, &html, "the HTML page");
}

#[test]
fn json_report_has_the_documented_shape_and_masks_secrets() {
    let h = planted_history();
    let out = audit(&h.repo, &["--format", "json"]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_no_secret(&h, &text, "the JSON report");
    let report = json(&out);
    let keys = |v: &Value| -> BTreeSet<String> {
        v.as_object().expect("an object").keys().cloned().collect()
    };
    let set = |k: &[&str]| -> BTreeSet<String> { k.iter().map(|s| s.to_string()).collect() };
    assert_eq!(
        keys(&report),
        set(&[
            "version",
            "tool",
            "repository",
            "findings",
            "diagnostics",
            "refs",
            "stats",
            "summary"
        ])
    );
    assert_eq!(report["version"], 1);
    assert_eq!(report["tool"]["name"], "nbguard");
    assert_eq!(
        keys(&report["summary"]),
        set(&[
            "refs",
            "commits",
            "blobs",
            "bytes",
            "findings",
            "active",
            "still_present",
            "by_kind",
            "blocked",
            "threshold"
        ])
    );
    assert_eq!(report["summary"]["blocked"], true);
    assert_eq!(report["summary"]["threshold"], "critical>0 or high>0");
    for g in groups(&report) {
        assert_eq!(
            keys(g),
            set(&[
                "fingerprint",
                "rule",
                "title",
                "severity",
                "secret",
                "introduced",
                "kind",
                "present_at",
                "still_present",
                "refs",
                "action",
                "suppressed",
                "occurrences"
            ])
        );
        assert_eq!(
            keys(&g["introduced"]),
            set(&["id", "author", "email", "time", "summary"])
        );
        for o in g["occurrences"].as_array().expect("an array") {
            for k in [
                "rule",
                "severity",
                "path",
                "line",
                "column",
                "cell",
                "part",
                "cell_line",
                "secret",
                "fingerprint",
                "snippet",
                "suppressed",
                "commit",
            ] {
                assert!(o.get(k).is_some(), "occurrence field {k}: {o:#}");
            }
            assert_eq!(o["fingerprint"], g["fingerprint"]);
        }
    }
    let a = group(&report, &h.a);
    assert_eq!(a["secret"], "AKIA…[20 chars]");
    assert_eq!(a["severity"], "high");
}

#[test]
fn sarif_report_validates_against_the_schema_with_one_result_per_occurrence() {
    let h = planted_history();
    let out = audit(&h.repo, &["--format", "sarif"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert_no_secret(&h, &String::from_utf8_lossy(&out.stdout), "the SARIF log");
    let sarif = json(&out);
    let schema_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sarif/sarif-schema-2.1.0.json"
    );
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(schema_path)
            .expect("the SARIF schema is vendored in tests/fixtures"),
    )
    .expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let mut got: Vec<(String, String, String)> = results
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().expect("a rule id").to_owned(),
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .expect("a uri")
                    .to_owned(),
                r["properties"]["commit"]["id"]
                    .as_str()
                    .expect("a commit")
                    .to_owned(),
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, String, String)> = h
        .leaks()
        .iter()
        .flat_map(|l| {
            l.occurrences
                .iter()
                .map(|(p, c)| (l.rule.to_owned(), p.to_string(), c.clone()))
        })
        .collect();
    want.sort();
    assert_eq!(got, want);
}

/// Writes the audit's baseline into the scratch area and returns its path.
fn write_baseline(h: &History) -> std::path::PathBuf {
    let file = h.repo.scratch("baseline").join("audit-baseline.json");
    let out = audit(
        &h.repo,
        &[
            "--write-baseline",
            file.to_str().expect("temp paths are UTF-8"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    file
}

#[test]
fn written_baseline_lists_every_finding_and_never_a_secret() {
    let h = planted_history();
    let file = write_baseline(&h);
    let text = std::fs::read_to_string(&file).expect("the baseline was written");
    assert_no_secret(&h, &text, "the baseline");
    let baseline: Value = serde_json::from_str(&text).expect("the baseline is JSON");
    let entries = baseline["entries"].as_array().expect("entries");
    let fingerprints: BTreeSet<&str> = entries
        .iter()
        .map(|e| e["fingerprint"].as_str().expect("a fingerprint"))
        .collect();
    let want: Vec<String> = h.leaks().iter().map(|l| l.fingerprint()).collect();
    assert_eq!(
        fingerprints,
        want.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );
    assert_eq!(entries.len(), 7, "one entry per (secret, path)");
}

#[test]
fn audit_with_its_own_baseline_reports_nothing_active() {
    let h = planted_history();
    let file = write_baseline(&h);
    let file = file.to_str().expect("temp paths are UTF-8");
    let (report, code) = audit_json(&h.repo, &["--baseline", file]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(groups(&report).len(), 0);
    assert_eq!(report["summary"]["active"], 0);
    assert_eq!(report["summary"]["findings"], 6);

    let (report, _) = audit_json(&h.repo, &["--baseline", file, "--show-suppressed"]);
    assert_eq!(groups(&report).len(), 6);
    for g in groups(&report) {
        assert_eq!(g["suppressed"]["kind"], "baseline", "{g:#}");
    }
}

#[test]
fn audit_baseline_silences_scan_of_the_work_tree_for_those_findings_only() {
    let h = planted_history();
    let file = write_baseline(&h);
    let file = file.to_str().expect("temp paths are UTF-8");
    let scan = |args: &[&str]| {
        let mut all = vec!["scan", "--no-config", "--format", "json"];
        all.extend_from_slice(args);
        let out = h.repo.nbguard(&all);
        (json(&out), out.status.code())
    };
    let active = |r: &Value| -> BTreeSet<String> {
        r["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["suppressed"].is_null())
            .map(|f| f["fingerprint"].as_str().expect("a fingerprint").to_owned())
            .collect()
    };
    let (before, code) = scan(&["."]);
    assert_eq!(code, Some(1));
    let at_head: BTreeSet<String> = [&h.b, &h.e, &h.f].iter().map(|l| l.fingerprint()).collect();
    assert_eq!(active(&before), at_head, "{before:#}");

    let (after, code) = scan(&["--baseline", file, "."]);
    assert_eq!(code, Some(0), "{after:#}");
    assert_eq!(active(&after), BTreeSet::new());
    assert_eq!(
        after["summary"]["suppressed"],
        before["summary"]["findings"]
    );

    let new_key = aws_key_id_numbered(3);
    h.repo.write(
        "fresh.ipynb",
        Notebook::new()
            .code(&format!("aws_access_key_id = '{new_key}'\n"))
            .to_json(),
    );
    let (fresh, code) = scan(&["--baseline", file, "."]);
    assert_eq!(code, Some(1), "a new secret still blocks");
    assert_eq!(
        active(&fresh),
        BTreeSet::from([nbguard::finding::fingerprint(
            "secret.aws.access-key-id",
            &new_key
        )])
    );
}

#[test]
fn audit_baseline_lets_pre_commit_pass_an_accepted_secret_and_still_blocks_a_new_one() {
    let h = planted_history();
    let repo = &h.repo;
    let baseline = repo.path().join(".nbguard-baseline.json");
    let out = audit(
        repo,
        &[
            "--write-baseline",
            baseline.to_str().expect("temp paths are UTF-8"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    repo.write(".nbguard.toml", "baseline = \".nbguard-baseline.json\"\n");
    let install = repo.nbguard(&[
        "hook",
        "install",
        "--command",
        env!("CARGO_BIN_EXE_nbguard"),
    ]);
    assert!(install.status.success(), "{}", describe(&install));

    // An accepted secret (the removed key A and the token B) in a new notebook goes through.
    repo.write(
        "notebooks/copy.ipynb",
        Notebook::new()
            .code(&format!(
                "aws_access_key_id = '{}'\ntoken = '{}'\n",
                h.a.secret, h.b.secret
            ))
            .to_json(),
    );
    repo.git(&["add", "-A"]);
    let ok = repo.git_may_fail(&["commit", "-q", "-m", "Reuse the old credentials"]);
    assert!(
        ok.status.success(),
        "accepted secrets pass: {}",
        describe(&ok)
    );
    let head = repo.rev_parse("HEAD");
    assert_eq!(
        repo.git_stdout(&["log", "-1", "--format=%s"]),
        "Reuse the old credentials"
    );

    // A new secret next to an accepted one is blocked, and only it is reported.
    let new_key = aws_key_id_numbered(4);
    repo.write(
        "notebooks/new.ipynb",
        Notebook::new()
            .code(&format!("aws_access_key_id = '{new_key}'\n"))
            .to_json(),
    );
    repo.write(
        "notebooks/copy.ipynb",
        Notebook::new()
            .code(&format!("token = '{}'\nprint(token)\n", h.b.secret))
            .to_json(),
    );
    repo.git(&["add", "-A"]);
    let blocked = repo.git_may_fail(&["commit", "-q", "-m", "Add a new key"]);
    assert!(!blocked.status.success(), "a new secret is blocked");
    assert_eq!(repo.rev_parse("HEAD"), head, "nothing was committed");
    let stderr = String::from_utf8_lossy(&blocked.stderr);
    assert!(stderr.contains("notebooks/new.ipynb"), "{stderr}");
    assert!(!stderr.contains("notebooks/copy.ipynb"), "{stderr}");
    assert!(!stderr.contains(&new_key), "masked: {stderr}");
}

#[test]
fn progress_line_is_not_written_when_stderr_is_not_a_terminal() {
    let h = planted_history();
    for format in ["text", "json"] {
        let out = audit(&h.repo, &["--format", format]);
        assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
        assert!(!out.stderr.contains(&b'\r'), "{}", describe(&out));
        assert!(out.stderr.is_empty(), "{}", describe(&out));
    }
}

#[test]
fn invalid_notebook_in_history_is_a_diagnostic_naming_its_blob() {
    let repo = TestRepo::new();
    repo.write("broken.ipynb", "{\"cells\": [");
    repo.commit_all("Half a notebook");
    let blob = repo.rev_parse("HEAD:broken.ipynb");
    let out = audit(&repo, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!(
            "note: broken.ipynb @ blob {}: not valid JSON",
            &blob[..10]
        )),
        "{text}"
    );
    let (report, _) = audit_json(&repo, &[]);
    assert_eq!(report["diagnostics"][0]["kind"], "invalid-notebook");
    assert_eq!(report["diagnostics"][0]["commit"], format!("blob {blob}"));
}

/// Runs `nbguard audit --no-config <args>` with a pseudo-terminal as its standard streams
/// (util-linux `script`), returning what the terminal received; `None` without `script`.
fn audit_on_a_terminal(repo: &TestRepo, args: &[&str]) -> Option<Vec<u8>> {
    if !common::has_program("script") {
        eprintln!("skipped: util-linux `script` is not installed");
        return None;
    }
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let mut line = vec![
        quote(env!("CARGO_BIN_EXE_nbguard")),
        "audit".into(),
        "--no-config".into(),
    ];
    line.extend(args.iter().map(|a| quote(a)));
    let out = std::process::Command::new("script")
        .args(["-qec", &line.join(" "), "/dev/null"])
        .current_dir(repo.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", repo.scratch("home"))
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .output()
        .expect("script runs");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    Some(out.stdout)
}

#[test]
fn progress_line_is_written_only_to_a_terminal_and_cleared_at_the_end() {
    let h = planted_history();
    let report = h.repo.scratch("out").join("r.json");
    let report = report.to_str().expect("temp paths are UTF-8");
    let Some(tty) = audit_on_a_terminal(&h.repo, &["--format", "json", "-o", report]) else {
        return;
    };
    assert!(
        tty.starts_with(b"\r\x1b[2K"),
        "{:?}",
        String::from_utf8_lossy(&tty)
    );
    assert!(
        tty.ends_with(b"\r\x1b[2K"),
        "the line is cleared at the end"
    );
    let quiet = audit_on_a_terminal(
        &h.repo,
        &["--no-progress", "--format", "json", "-o", report],
    )
    .expect("script was there a moment ago");
    assert!(quiet.is_empty(), "{:?}", String::from_utf8_lossy(&quiet));
}

#[test]
fn secret_merged_from_a_branch_is_introduced_by_the_branch_commit_not_the_merge() {
    let repo = TestRepo::new();
    repo.write("analysis.ipynb", clean_notebook("print(1)"));
    repo.commit_as("Start", DEFAULT_WHO, &date("2024-01-01"));
    repo.git(&["checkout", "-q", "-b", "topic"]);
    let key = aws_key_id_numbered(5);
    repo.write(
        "s3.ipynb",
        Notebook::new()
            .code(&format!("aws_access_key_id = '{key}'\n"))
            .to_json(),
    );
    let added = repo.commit_as("Read from S3", GRACE, &date("2024-01-02"));
    repo.git(&["checkout", "-q", "main"]);
    repo.write("analysis.ipynb", clean_notebook("print(2)"));
    repo.commit_as("Meanwhile on main", DEFAULT_WHO, &date("2024-01-03"));
    let mut merge = repo.git_command(&["merge", "-q", "--no-ff", "-m", "Merge topic", "topic"]);
    merge.env("GIT_COMMITTER_DATE", date("2024-01-04"));
    assert!(merge.status().expect("git merge runs").success());
    let merged = repo.rev_parse("HEAD");
    assert_ne!(merged, added);

    let leak = Leak {
        rule: "secret.aws.access-key-id",
        secret: key,
        occurrences: vec![("s3.ipynb", added)],
        present_at: vec!["refs/heads/main", "refs/heads/topic"],
    };
    let (report, code) = audit_json(&repo, &[]);
    assert_eq!(code, 1);
    assert_exactly(&report, &[&leak]);
    assert_eq!(
        report["findings"][0]["introduced"]["author"],
        "Grace Hopper"
    );
    assert_eq!(report["summary"]["commits"], 4);
}

/// The audit decodes a notebook cell only once per distinct content: a cell seen clean is not
/// decoded again. A cell that held a finding is never taken for clean, so the same cell in
/// another notebook is decoded and reported there too.
#[test]
fn cells_seen_before_are_still_reported_at_every_path_and_commit() {
    let repo = TestRepo::new();
    let key = aws_key_id_numbered(7);
    let printing = |n: usize| {
        (
            format!("print(load_settings({n}))"),
            vec![CellOutput::stream(&format!("settings: key id {key}\n"))],
        )
    };
    let (src0, out0) = printing(0);
    let (src1, out1) = printing(1);
    // Long enough cells to be remembered (short ones are cheaper to decode than to look up).
    let filler = "# ".to_string() + &"loads the monthly extract and cleans it; ".repeat(12);
    let first = Notebook::new()
        .code(&filler)
        .code_with(&src0, out0.clone())
        .code_with(&src1, out1.clone())
        .to_json();
    repo.write("report.ipynb", first);
    let c1 = repo.commit_all("report with two cells printing the settings");
    // Another notebook holds the same clean first cell and, at the same place (same id and
    // execution count, so the same bytes), the second printing cell.
    let second = Notebook::new()
        .code(&filler)
        .code("settings = None")
        .code_with(&src1, out1)
        .to_json();
    repo.write("copy.ipynb", second);
    let c2 = repo.commit_all("copy of the second cell");
    let (report, code) = audit_json(&repo, &[]);
    assert_eq!(code, 1);
    let g = group_of(&report, "secret.aws.access-key-id", &key);
    let got: Vec<_> = places(g)
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        got,
        vec![
            ("copy.ipynb".to_string(), c2, Some(2)),
            ("report.ipynb".to_string(), c1.clone(), Some(1)),
            ("report.ipynb".to_string(), c1, Some(2)),
        ]
    );
}

/// A long text met again in later commits is scanned only where it changed (the audit's pieces):
/// a key added far down in the second version and a key kept from the first are both reported,
/// with their introducing commits and their lines, and an edit elsewhere adds nothing.
#[test]
fn long_file_edited_across_commits_reports_each_key_once_at_its_line() {
    let repo = TestRepo::new();
    let row = |i: usize| {
        format!(
            "{i:05},2024-03-{:02},orbit-run,{},ok\n",
            i % 28 + 1,
            i * 37 % 1000
        )
    };
    let rows = |edit: &dyn Fn(usize) -> Option<String>| -> String {
        (0..3000)
            .map(|i| edit(i).unwrap_or_else(|| row(i)))
            .collect()
    };
    let (old_key, new_key) = (aws_key_id_numbered(3), aws_key_id_numbered(11));
    let v1 = rows(&|i| (i == 100).then(|| format!("00100,aws key id {old_key}\n")));
    assert!(v1.len() > 64 * 1024, "long enough to be cut into pieces");
    repo.write("runs/log.csv", &v1);
    let c1 = repo.commit_all("run log");
    let v2 = rows(&|i| match i {
        100 => Some(format!("00100,aws key id {old_key}\n")),
        2000 => Some(format!("02000,aws key id {new_key}\n")),
        _ => None,
    });
    repo.write("runs/log.csv", &v2);
    let c2 = repo.commit_all("more runs");
    let v3 = v2.replacen("00500,", "00500 (rerun),", 1);
    repo.write("runs/log.csv", &v3);
    repo.commit_all("rerun 500");
    let (report, code) = audit_json(&repo, &[]);
    assert_eq!(code, 1);
    let found = |key: &str| {
        let g = group_of(&report, "secret.aws.access-key-id", key);
        let o = &g["occurrences"][0];
        (
            o["commit"]["id"].as_str().expect("a commit").to_owned(),
            o["line"].as_u64().expect("a line"),
        )
    };
    assert_eq!(found(&old_key), (c1, 101));
    assert_eq!(found(&new_key), (c2, 2001));
    assert_eq!(groups(&report).len(), 2, "{report:#}");
}
