//! The client-side gate as users meet it: `nbguard hook install` puts the real hook in place, a
//! real `git commit` (or `git push`) runs it with the environment git gives hooks, and the built
//! binary decides. Every blocked change is checked to have left the branch, the history, the index
//! and the work tree untouched; every allowed one to have landed.

mod common;

use common::{CellOutput, Notebook, TestRepo};
use serde_json::{json, Value};

/// The stderr of a blocked commit names the finding the way the text report does.
fn assert_names(stderr: &str, wanted: &[&str]) {
    for w in wanted {
        assert!(stderr.contains(w), "stderr lacks `{w}`:\n{stderr}");
    }
}

fn assert_never_shows(stderr: &str, secret: &str) {
    assert!(
        !stderr.contains(secret),
        "the full secret leaked to stderr:\n{stderr}"
    );
}

/// A notebook with an analysis cell and room for more.
fn analysis() -> Notebook {
    Notebook::new().markdown("# Churn analysis\n").code_with(
        "import pandas as pd\ndf = pd.read_csv('churn.csv')\ndf.head()",
        vec![CellOutput::result("   id  churned\n0   1  False", None)],
    )
}

fn leaky_cell() -> String {
    format!(
        "import boto3\naws_key = \"{}\"\ns3 = boto3.client('s3')",
        common::aws_key_id()
    )
}

mod notebooks {
    use super::*;

    #[test]
    fn new_cell_with_a_secret_is_blocked_and_located_in_the_cell() {
        let repo = TestRepo::new();
        repo.write("analysis.ipynb", analysis().to_json());
        repo.commit_all("analysis");
        repo.install_hook(&[]);
        repo.write("analysis.ipynb", analysis().code(&leaky_cell()).to_json());
        repo.git(&["add", "analysis.ipynb"]);
        let stderr = repo.commit_blocked(&["commit", "-m", "load from s3"]);
        assert_names(
            &stderr,
            &[
                "analysis.ipynb:",
                "secret.aws.access-key-id",
                "cell 2 (code, id cell-0002) · source · line 2",
                "AKIA…[20 chars]",
                "rotate",
            ],
        );
        assert_never_shows(&stderr, &common::aws_key_id());
    }

    #[test]
    fn secret_only_in_a_stream_output_is_blocked_as_output() {
        let repo = TestRepo::new();
        repo.install_hook(&[]);
        let printed = format!("token: {}\n", common::github_token());
        let nb = analysis().code_with(
            "print('token:', os.environ['GH_TOKEN'])",
            vec![CellOutput::stream(&printed)],
        );
        repo.write("report.ipynb", nb.to_json());
        repo.git(&["add", "report.ipynb"]);
        let stderr = repo.commit_blocked(&["commit", "-m", "report"]);
        assert_names(
            &stderr,
            &[
                "report.ipynb:",
                "cell 2",
                "output 0 (stream)",
                "Clear this cell's output",
            ],
        );
        assert_never_shows(&stderr, &common::github_token());
    }

    #[test]
    fn secret_written_with_json_unicode_escapes_is_blocked() {
        let repo = TestRepo::new();
        repo.install_hook(&[]);
        let key = common::aws_key_id();
        let raw = common::json_unicode_escape(&analysis().code(&leaky_cell()).to_json(), &key);
        assert!(!raw.contains(&key) && raw.contains("\\u0041\\u004b"));
        repo.write("escaped.ipynb", &raw);
        repo.git(&["add", "escaped.ipynb"]);
        let stderr = repo.commit_blocked(&["commit", "-m", "escaped"]);
        assert_names(
            &stderr,
            &[
                "escaped.ipynb:",
                "secret.aws.access-key-id",
                "cell 2",
                "line 2",
            ],
        );
    }

    #[test]
    fn reexecuted_reindented_notebook_with_a_moved_cell_commits_with_nothing_new() {
        let repo = TestRepo::new();
        let old = analysis()
            .code(&leaky_cell())
            .code_with("df.describe()", vec![CellOutput::stream("count 100\n")]);
        repo.write("old-secret.ipynb", old.to_json_indent(1));
        repo.commit_all_unchecked("a secret that predates nbguard");
        repo.install_hook(&[]);
        // Run again from the top: new counts, new (harmless) outputs, saved by a tool that
        // indents by 4, with the last cell moved to the top.
        let new = analysis()
            .code(&leaky_cell())
            .code_with(
                "df.describe()",
                vec![CellOutput::stream("count 120\nmean 0.37\n")],
            )
            .reexecuted(7)
            .move_cell(3, 0);
        let json = new.to_json_indent(4);
        assert!(json.contains("\"execution_count\": 9") && json.starts_with("{\n    \""));
        repo.write("old-secret.ipynb", json);
        repo.git(&["add", "old-secret.ipynb"]);
        let stderr = repo.commit_passes(&["commit", "-m", "rerun"]);
        assert_names(&stderr, &["nbguard: 0 findings"]);
    }

    #[test]
    fn clean_edit_commits_and_a_new_secret_beside_an_old_one_is_the_only_one_reported() {
        let repo = TestRepo::new();
        repo.write("nb.ipynb", analysis().code(&leaky_cell()).to_json());
        repo.commit_all_unchecked("old secret");
        repo.install_hook(&[]);

        let edited = analysis()
            .code(&leaky_cell())
            .markdown("Churn is highest in the first month.");
        repo.write("nb.ipynb", edited.to_json());
        repo.git(&["add", "nb.ipynb"]);
        repo.commit_passes(&["commit", "-m", "clean edit"]);

        let token = common::github_token();
        let cell = format!("{}\ngh = \"{token}\"", leaky_cell());
        let leaky = analysis()
            .code(&cell)
            .markdown("Churn is highest in the first month.");
        repo.write("nb.ipynb", leaky.to_json());
        repo.git(&["add", "nb.ipynb"]);
        let stderr = repo.commit_blocked(&["commit", "-m", "add github"]);
        assert_names(
            &stderr,
            &[
                "secret.github",
                "cell 2 (code, id cell-0002) · source · line 4",
                "1 finding",
            ],
        );
        assert!(
            !stderr.contains("secret.aws.access-key-id"),
            "the old key is not new:\n{stderr}"
        );
        assert_never_shows(&stderr, &token);
    }

    #[test]
    fn inline_ignore_and_the_ignore_cell_tag_let_the_commit_through() {
        let repo = TestRepo::new();
        repo.install_hook(&[]);
        let nb = analysis()
            .code(&format!(
                "aws_key = \"{}\"  # nbguard: ignore",
                common::aws_key_id()
            ))
            .code(&format!("gh = \"{}\"", common::github_token()))
            .cell_metadata("tags", json!(["nbguard-ignore"]));
        repo.write("fixtures.ipynb", nb.to_json());
        repo.git(&["add", "fixtures.ipynb"]);
        let stderr = repo.commit_passes(&["commit", "-m", "documented fixtures"]);
        assert_names(&stderr, &["nbguard: 0 findings", "2 suppressed"]);
    }
}

mod index_variants {
    use super::*;

    #[test]
    fn commit_all_with_a_modified_tracked_notebook_is_blocked() {
        let repo = TestRepo::new();
        repo.write("nb.ipynb", analysis().to_json());
        repo.commit_all("first");
        repo.install_hook(&[]);
        repo.write("nb.ipynb", analysis().code(&leaky_cell()).to_json());
        // Nothing is staged: only `-a` (a temporary index.lock) brings the change in.
        assert_eq!(repo.git_stdout(&["diff", "--cached", "--name-only"]), "");
        let stderr = repo.commit_blocked(&["commit", "-a", "-m", "all"]);
        assert_names(
            &stderr,
            &["nb.ipynb:", "secret.aws.access-key-id", "cell 2"],
        );
    }

    #[test]
    fn commit_of_a_path_is_blocked_whatever_else_is_staged() {
        let repo = TestRepo::new();
        repo.write("nb.ipynb", analysis().to_json());
        repo.commit_all("first");
        repo.install_hook(&[]);
        repo.write("notes.txt", "nothing to see\n");
        repo.git(&["add", "notes.txt"]);
        repo.write("nb.ipynb", analysis().code(&leaky_cell()).to_json());
        let stderr = repo.commit_blocked(&["commit", "-m", "only nb", "nb.ipynb"]);
        assert_names(&stderr, &["nb.ipynb:", "secret.aws.access-key-id"]);
        assert!(!stderr.contains("notes.txt"), "{stderr}");
    }

    #[test]
    fn commit_of_a_clean_path_passes_while_a_leaky_file_stays_staged() {
        let repo = TestRepo::new();
        repo.write("notes.txt", "v1\n");
        repo.commit_all("first");
        repo.install_hook(&[]);
        repo.write("leak.py", format!("KEY = \"{}\"\n", common::aws_key_id()));
        repo.git(&["add", "leak.py"]);
        repo.write("notes.txt", "v2\n");
        repo.commit_passes(&["commit", "-m", "notes only", "notes.txt"]);
        assert_eq!(
            repo.git_stdout(&["show", "--name-only", "--format="]),
            "notes.txt"
        );
        assert_eq!(
            repo.git_stdout(&["diff", "--cached", "--name-only"]),
            "leak.py"
        );
    }

    #[test]
    fn plain_python_file_with_a_secret_is_blocked() {
        let repo = TestRepo::new();
        repo.install_hook(&[]);
        repo.write(
            "etl/config.py",
            format!("DB = 'x'\n{}\n", common::password_line()),
        );
        repo.git(&["add", "."]);
        let stderr = repo.commit_blocked(&["commit", "-m", "config"]);
        assert_names(&stderr, &["etl/config.py:2:", "secret.generic.password"]);
        assert!(
            !stderr.contains("where:"),
            "no cell for a plain file:\n{stderr}"
        );
    }

    #[test]
    fn first_commit_on_an_unborn_branch_is_blocked() {
        let repo = TestRepo::new();
        repo.install_hook(&[]);
        repo.write("nb.ipynb", analysis().code(&leaky_cell()).to_json());
        repo.git(&["add", "nb.ipynb"]);
        let stderr = repo.commit_blocked(&["commit", "-m", "initial"]);
        assert_names(&stderr, &["nb.ipynb:", "secret.aws.access-key-id"]);
        assert_eq!(repo.state().head, None, "HEAD is still unborn");
    }

    #[test]
    fn deleting_a_file_with_a_secret_commits() {
        let repo = TestRepo::new();
        repo.write("leak.py", format!("KEY = \"{}\"\n", common::aws_key_id()));
        repo.commit_all_unchecked("leak");
        repo.install_hook(&[]);
        repo.git(&["rm", "--quiet", "leak.py"]);
        repo.commit_passes(&["commit", "-m", "remove the key"]);
    }

    #[test]
    fn renaming_a_file_with_a_secret_commits() {
        let repo = TestRepo::new();
        repo.write("leak.py", format!("KEY = \"{}\"\n", common::aws_key_id()));
        repo.write("nb.ipynb", analysis().code(&leaky_cell()).to_json());
        repo.commit_all_unchecked("leaks");
        repo.install_hook(&[]);
        repo.git(&["mv", "leak.py", "old_config.py"]);
        std::fs::create_dir(repo.path().join("archive")).expect("mkdir");
        repo.git(&["mv", "nb.ipynb", "archive/nb-2023.ipynb"]);
        let stderr = repo.commit_passes(&["commit", "-m", "move"]);
        assert_names(&stderr, &["nbguard: 0 findings"]);
    }
}

mod installation {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn relative_core_hooks_path_install_blocks() {
        let repo = TestRepo::new();
        repo.git(&["config", "core.hooksPath", ".githooks"]);
        repo.install_hook(&[]);
        assert!(repo.path().join(".githooks/pre-commit").is_file());
        assert!(!repo.path().join(".git/hooks/pre-commit").exists());
        repo.write("leak.py", format!("KEY = \"{}\"\n", common::aws_key_id()));
        repo.git(&["add", "leak.py"]);
        let stderr = repo.commit_blocked(&["commit", "-m", "leak"]);
        assert_names(&stderr, &["leak.py:1:", "secret.aws.access-key-id"]);
    }

    #[test]
    fn commit_in_a_linked_worktree_is_blocked() {
        let repo = TestRepo::new();
        repo.write("nb.ipynb", analysis().to_json());
        repo.commit_all("first");
        let wt = repo.scratch("worktrees").join("feature");
        let wt_str = wt.to_str().expect("temp paths are UTF-8");
        repo.git(&["worktree", "add", "--quiet", "-b", "feature", wt_str]);
        repo.install_hook_in(&wt, &[]);
        std::fs::write(
            wt.join("nb.ipynb"),
            analysis().code(&leaky_cell()).to_json(),
        )
        .expect("write");
        repo.git_in(&wt, &["add", "nb.ipynb"]);
        let main_before = repo.state();
        let stderr = repo.commit_blocked_in(&wt, &["commit", "-m", "leak"]);
        assert_names(
            &stderr,
            &["nb.ipynb:", "secret.aws.access-key-id", "cell 2"],
        );
        assert_eq!(repo.state(), main_before, "the main checkout is untouched");
        // A clean commit in the worktree goes through the same hook.
        std::fs::write(wt.join("nb.ipynb"), analysis().markdown("done").to_json()).expect("write");
        repo.git_in(&wt, &["add", "nb.ipynb"]);
        repo.commit_passes_in(&wt, &["commit", "-m", "clean"]);
    }

    #[test]
    fn existing_hook_keeps_running_and_uninstall_restores_it_byte_for_byte() {
        let repo = TestRepo::new();
        repo.commit_all("first");
        let marker = repo.scratch("marker").join("ran");
        let hook = repo.path().join(".git/hooks/pre-commit");
        let original = format!(
            "#!/bin/sh\n# the team's formatter check\necho ran >> '{}'\n",
            marker.display()
        );
        std::fs::create_dir_all(hook.parent().expect("hooks dir")).expect("mkdir");
        std::fs::write(&hook, &original).expect("write the existing hook");
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        let runs = || {
            std::fs::read_to_string(&marker)
                .unwrap_or_default()
                .lines()
                .count()
        };

        let out = repo.install_hook(&[]);
        assert!(String::from_utf8_lossy(&out.stdout).contains("runs first"));
        repo.write("a.txt", "clean\n");
        repo.git(&["add", "a.txt"]);
        repo.commit_passes(&["commit", "-m", "clean"]);
        assert_eq!(runs(), 1, "the existing hook ran");
        repo.write("leak.py", format!("KEY = \"{}\"\n", common::aws_key_id()));
        repo.git(&["add", "leak.py"]);
        let stderr = repo.commit_blocked(&["commit", "-m", "leak"]);
        assert_names(&stderr, &["secret.aws.access-key-id"]);
        assert_eq!(runs(), 2, "the existing hook ran before nbguard blocked");

        let out = repo.nbguard(&["hook", "uninstall"]);
        assert!(out.status.success(), "{}", common::describe(&out));
        assert_eq!(std::fs::read(&hook).expect("restored"), original.as_bytes());
        let mode = std::fs::metadata(&hook).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert!(!repo
            .path()
            .join(".git/hooks/pre-commit.pre-nbguard")
            .exists());
        let stderr = repo.commit_passes(&["commit", "-m", "leak, unguarded"]);
        assert!(
            !stderr.contains("nbguard"),
            "nbguard no longer runs:\n{stderr}"
        );
        assert_eq!(runs(), 3);
    }
}

mod config {
    use super::*;

    #[test]
    fn invalid_config_blocks_the_commit_with_a_clear_message() {
        let repo = TestRepo::new();
        repo.write(".nbguard.toml", "[hook]\non_error = \"open\"\n[rules\n");
        repo.commit_all_unchecked("config");
        repo.install_hook(&[]);
        repo.write("a.txt", "harmless\n");
        repo.git(&["add", "a.txt"]);
        let stderr = repo.commit_blocked(&["commit", "-m", "clean but unchecked"]);
        // The file that says "open" cannot be read, so its policy cannot apply: closed.
        assert_names(&stderr, &["nbguard", ".nbguard.toml", "blocked"]);
    }

    #[test]
    fn invalid_setting_in_a_valid_file_blocks_the_commit_naming_it() {
        let repo = TestRepo::new();
        repo.write(".nbguard.toml", "[hook]\non_error = \"sometimes\"\n");
        repo.commit_all_unchecked("config");
        repo.install_hook(&[]);
        repo.write("a.txt", "harmless\n");
        repo.git(&["add", "a.txt"]);
        let stderr = repo.commit_blocked(&["commit", "-m", "clean but unchecked"]);
        assert_names(&stderr, &["hook.on_error", "sometimes", "blocked"]);
    }
}

mod push_and_ranges {
    use super::*;

    fn with_remote() -> (TestRepo, TestRepo) {
        let server = TestRepo::bare();
        let repo = TestRepo::new();
        repo.write("nb.ipynb", analysis().to_json());
        repo.commit_all("first");
        let url = server.path().to_str().expect("temp paths are UTF-8");
        repo.git(&["remote", "add", "origin", url]);
        repo.install_hook(&["--hook", "pre-push"]);
        (server, repo)
    }

    fn remote_main(server: &TestRepo) -> Option<String> {
        let out = server.git_may_fail(&["rev-parse", "--verify", "--quiet", "refs/heads/main"]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    fn push(repo: &TestRepo) -> std::process::Output {
        repo.git_may_fail(&["push", "origin", "main"])
    }

    fn commit_unchecked(repo: &TestRepo, nb: &Notebook, msg: &str) -> String {
        repo.write("nb.ipynb", nb.to_json());
        repo.commit_all_unchecked(msg)
    }

    #[test]
    fn clean_push_goes_through() {
        let (server, repo) = with_remote();
        let out = push(&repo);
        assert!(out.status.success(), "{}", common::describe(&out));
        commit_unchecked(&repo, &analysis().markdown("More."), "more");
        let out = push(&repo);
        assert!(out.status.success(), "{}", common::describe(&out));
        assert_eq!(remote_main(&server), Some(repo.rev_parse("HEAD")));
    }

    #[test]
    fn push_of_a_commit_adding_a_secret_is_blocked() {
        let (server, repo) = with_remote();
        assert!(push(&repo).status.success());
        let before = remote_main(&server);
        let leak = commit_unchecked(&repo, &analysis().code(&leaky_cell()), "use s3");
        let out = push(&repo);
        assert!(!out.status.success(), "{}", common::describe(&out));
        assert_eq!(remote_main(&server), before, "the remote did not move");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_names(
            &stderr,
            &[
                "nb.ipynb:",
                "secret.aws.access-key-id",
                &leak[..10],
                "use s3",
                "cell 2",
            ],
        );
        assert_never_shows(&stderr, &common::aws_key_id());
    }

    #[test]
    fn push_of_a_secret_added_then_removed_is_still_blocked() {
        let (server, repo) = with_remote();
        let leak = commit_unchecked(&repo, &analysis().code(&leaky_cell()), "use s3");
        commit_unchecked(&repo, &analysis(), "oops, remove the key");
        let out = push(&repo);
        assert!(!out.status.success(), "{}", common::describe(&out));
        assert_eq!(remote_main(&server), None, "nothing reached the remote");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_names(&stderr, &["secret.aws.access-key-id", &leak[..10]]);
    }

    fn json(out: &std::process::Output) -> Value {
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", common::describe(out)))
    }

    #[test]
    fn diff_of_a_range_exits_one_only_when_a_commit_in_it_leaks() {
        let repo = TestRepo::new();
        repo.write("nb.ipynb", analysis().to_json());
        let base = repo.commit_all("base");
        repo.write("nb.ipynb", analysis().code(&leaky_cell()).to_json());
        let leak = repo.commit_all("Load churn data from S3");
        repo.write("README.md", "docs\n");
        repo.commit_all("docs");

        let out = repo.nbguard(&["diff", &format!("{base}..HEAD")]);
        assert_eq!(out.status.code(), Some(1), "{}", common::describe(&out));
        let out = repo.nbguard(&["diff", &format!("{leak}..HEAD")]);
        assert_eq!(out.status.code(), Some(0), "{}", common::describe(&out));
        let out = repo.nbguard(&["diff", &format!("{base}..{base}")]);
        assert_eq!(out.status.code(), Some(0), "{}", common::describe(&out));

        let out = repo.nbguard(&["diff", &format!("{base}..HEAD"), "--format", "json"]);
        assert_eq!(out.status.code(), Some(1), "{}", common::describe(&out));
        let report = json(&out);
        let findings = report["findings"].as_array().expect("findings");
        assert_eq!(findings.len(), 1, "{report:#}");
        let f = &findings[0];
        assert_eq!(f["rule"], "secret.aws.access-key-id");
        assert_eq!(f["path"], "nb.ipynb");
        assert_eq!(f["cell"], 2);
        assert_eq!(f["commit"]["id"], leak.as_str());
        assert_eq!(f["commit"]["author"], "Ada Tester");
        assert_eq!(f["commit"]["email"], "ada@example.com");
        assert_eq!(f["commit"]["summary"], "Load churn data from S3");
        assert_eq!(report["summary"]["blocked"], true);
    }
}
