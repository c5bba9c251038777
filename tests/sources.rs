//! The git sources against real repositories made by the real `git` binary: staged changes,
//! commit ranges and pushes, quarantined objects, and hook installation.

mod common;

use std::path::Path;

use common::TestRepo;
use nbguard::finding::DiagnosticKind;
use nbguard::source::{repo, staged, Item, Provenance};

/// When set, a test runs as the child of a git hook: it reads the repository the hook runs in and
/// writes what it saw to the file named by [`CHILD_OUT`].
const CHILD_ENV: &str = "NBGUARD_TEST_CHILD";
const CHILD_OUT: &str = "NBGUARD_TEST_CHILD_OUT";

fn read_staged_at(dir: &Path) -> staged::Staged {
    let repo = repo::open_path(dir).expect("the test repo opens");
    staged::read_staged(&repo, &staged::Limits::default()).expect("staged changes are readable")
}

/// The paths of the file items (commit messages and added names are checked on their own).
fn paths(items: &[Item]) -> Vec<&str> {
    items
        .iter()
        .filter(|i| i.origin.is_file())
        .map(|i| i.path.as_str())
        .collect()
}

fn item<'a>(items: &'a [Item], path: &str) -> &'a Item {
    items
        .iter()
        .find(|i| i.path == path)
        .unwrap_or_else(|| panic!("no item at {path} in {:?}", paths(items)))
}

/// One line per item: `path old|new`, sorted, so hook children can report through a file.
fn summary(items: &[Item]) -> String {
    let mut lines: Vec<String> = items
        .iter()
        .filter(|i| i.origin.is_file())
        .map(|i| {
            let old = if i.old.is_some() { "old" } else { "new" };
            format!(
                "{} {old} {}",
                i.path,
                String::from_utf8_lossy(&i.new).trim()
            )
        })
        .collect();
    lines.sort();
    lines.join("\n")
}

/// Installs a pre-commit hook that re-runs this test binary as a child running `test`, with the
/// environment git gives hooks, and returns the file the child will write to.
fn hook_runs_child(repo: &TestRepo, hooks_dir: &Path, test: &str) -> std::path::PathBuf {
    let out = repo.scratch("child").join(format!("{test}.out"));
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let script = format!(
        "#!/bin/sh\nexec '{}' {test} --exact --nocapture --test-threads=1 >/dev/null\n",
        exe.display()
    );
    let hook = hooks_dir.join("pre-commit");
    std::fs::create_dir_all(hooks_dir).expect("hooks dir");
    std::fs::write(&hook, script).expect("writing the hook");
    common::make_executable(&hook);
    out
}

/// The child's side of [`hook_runs_child`]: true when this process is the child.
fn run_as_child() -> bool {
    let (Some(_), Some(out)) = (std::env::var_os(CHILD_ENV), std::env::var_os(CHILD_OUT)) else {
        return false;
    };
    let repo = repo::open(Path::new(".")).expect("the hook's repository opens");
    let staged = staged::read_staged(&repo, &staged::Limits::default()).expect("staged reads");
    std::fs::write(out, summary(&staged.items)).expect("writing the child's report");
    true
}

fn commit_with_child(repo: &TestRepo, dir: &Path, out: &Path, args: &[&str]) -> String {
    let mut cmd = repo.git_command_in(dir, args);
    cmd.env(CHILD_ENV, "1").env(CHILD_OUT, out);
    let result = cmd.output().expect("git runs");
    assert!(result.status.success(), "{}", common::describe(&result));
    std::fs::read_to_string(out).expect("the hook child wrote its report")
}

mod staged_changes {
    use super::*;

    #[test]
    fn added_file_on_unborn_head_is_all_new() {
        let repo = TestRepo::new();
        repo.write("nb.ipynb", common::Notebook::new().code("x = 1").to_json());
        repo.git(&["add", "nb.ipynb"]);
        let staged = read_staged_at(repo.path());
        let it = item(&staged.items, "nb.ipynb");
        assert!(it.old.is_none());
        assert_eq!(it.provenance, Provenance::Staged);
        assert_eq!(
            it.blob.as_deref(),
            Some(repo.rev_parse(":nb.ipynb").as_str())
        );
        assert!(staged.notices.is_empty(), "{:?}", staged.notices);
    }

    #[test]
    fn modified_file_has_heads_content_as_old() {
        let repo = TestRepo::new();
        repo.write("a.txt", "one\n");
        repo.write("same.txt", "same\n");
        repo.commit_all("first");
        repo.write("a.txt", format!("one\n{}\n", common::password_line()));
        repo.git(&["add", "a.txt"]);
        let staged = read_staged_at(repo.path());
        assert_eq!(paths(&staged.items), ["a.txt"]);
        assert_eq!(staged.items[0].old.as_deref(), Some(&b"one\n"[..]));
    }

    #[test]
    fn unstaged_changes_are_not_read() {
        let repo = TestRepo::new();
        repo.write("a.txt", "one\n");
        repo.commit_all("first");
        repo.write("a.txt", "changed but not added\n");
        assert!(read_staged_at(repo.path()).items.is_empty());
    }

    #[test]
    fn deleted_file_gives_nothing_to_scan() {
        let repo = TestRepo::new();
        repo.write("a.txt", "one\n");
        repo.commit_all("first");
        repo.git(&["rm", "--quiet", "a.txt"]);
        let staged = read_staged_at(repo.path());
        assert!(staged.items.is_empty() && staged.notices.is_empty());
    }

    #[test]
    fn intent_to_add_is_skipped() {
        let repo = TestRepo::new();
        repo.write("later.txt", common::password_line());
        repo.git(&["add", "-N", "later.txt"]);
        let staged = read_staged_at(repo.path());
        assert!(staged.items.is_empty() && staged.notices.is_empty());
    }

    #[test]
    fn submodule_is_reported_not_scanned() {
        let sub = TestRepo::new();
        sub.write("inner.txt", "inner\n");
        sub.commit_all("inner");
        let repo = TestRepo::new();
        let url = sub.path().to_str().expect("temp paths are UTF-8");
        repo.git(&["submodule", "--quiet", "add", url, "vendor/sub"]);
        let staged = read_staged_at(repo.path());
        assert_eq!(paths(&staged.items), [".gitmodules"]);
        let notice = &staged.notices[0];
        assert_eq!(
            (notice.path.as_str(), notice.kind),
            ("vendor/sub", DiagnosticKind::Skipped)
        );
    }

    #[test]
    fn symlink_named_like_a_notebook_is_skipped() {
        let repo = TestRepo::new();
        repo.write("real.txt", "target\n");
        std::os::unix::fs::symlink("real.txt", repo.path().join("x.ipynb")).expect("symlink");
        repo.git(&["add", "x.ipynb", "real.txt"]);
        let staged = read_staged_at(repo.path());
        assert_eq!(paths(&staged.items), ["real.txt"]);
        assert_eq!(staged.notices.len(), 1);
        assert_eq!(staged.notices[0].path, "x.ipynb");
        assert_eq!(staged.notices[0].kind, DiagnosticKind::Skipped);
    }

    #[test]
    fn blob_over_the_limit_is_left_unread_for_a_windowed_scan() {
        let repo = TestRepo::new();
        repo.write("big.txt", "x".repeat(100));
        repo.write("small.txt", "x");
        repo.git(&["add", "."]);
        let git = repo::open_path(repo.path()).expect("opens");
        let staged = staged::read_staged(&git, &staged::Limits { max_bytes: 10 }).expect("reads");
        assert_eq!(paths(&staged.items), ["big.txt", "small.txt"]);
        let big = item(&staged.items, "big.txt");
        assert_eq!((big.new.len(), big.large), (0, Some(100)));
        assert!(big.blob.is_some(), "the caller reads it by id");
        assert!(staged.notices.is_empty(), "{:?}", staged.notices);
    }

    #[test]
    fn renamed_and_edited_file_keeps_its_old_content() {
        let repo = TestRepo::new();
        repo.write("a/nb.ipynb", "line one\n");
        repo.commit_all("first");
        std::fs::create_dir(repo.path().join("b")).expect("mkdir");
        repo.git(&["mv", "a/nb.ipynb", "b/nb.ipynb"]);
        repo.write("b/nb.ipynb", "line one\nline two\n");
        repo.git(&["add", "b/nb.ipynb"]);
        let staged = read_staged_at(repo.path());
        let it = item(&staged.items, "b/nb.ipynb");
        assert_eq!(it.old.as_deref(), Some(&b"line one\n"[..]));
    }

    #[test]
    fn unmerged_path_scans_the_incoming_side() {
        let repo = TestRepo::new();
        repo.write("c.txt", "base\n");
        repo.commit_all("base");
        repo.git(&["checkout", "--quiet", "-b", "other"]);
        repo.write("c.txt", "theirs\n");
        repo.commit_all("theirs");
        repo.git(&["checkout", "--quiet", "main"]);
        repo.write("c.txt", "ours\n");
        repo.commit_all("ours");
        assert!(!repo
            .git_may_fail(&["merge", "--quiet", "other"])
            .status
            .success());
        let staged = read_staged_at(repo.path());
        assert_eq!(summary(&staged.items), "c.txt old theirs");
        assert_eq!(staged.notices[0].kind, DiagnosticKind::Other);
    }

    #[test]
    fn linked_worktree_reads_its_own_index() {
        let repo = TestRepo::new();
        repo.write("a.txt", "one\n");
        repo.commit_all("first");
        let wt = repo.scratch("wt-parent").join("wt");
        let wt_str = wt.to_str().expect("temp paths are UTF-8");
        repo.git(&["worktree", "add", "--quiet", "-b", "feature", wt_str]);
        std::fs::write(wt.join("b.txt"), "in worktree\n").expect("write");
        repo.git_in(&wt, &["add", "b.txt"]);
        assert_eq!(summary(&read_staged_at(&wt).items), "b.txt new in worktree");
        assert!(read_staged_at(repo.path()).items.is_empty());
    }

    #[test]
    fn sparse_index_directories_are_compared_with_head() {
        let repo = TestRepo::new();
        repo.write("in/a.txt", "in\n");
        repo.write("out/b.txt", "v1\n");
        repo.commit_all("first");
        repo.write("out/b.txt", "v2\n");
        repo.commit_all("second");
        repo.git(&["sparse-checkout", "set", "--cone", "--sparse-index", "in"]);
        let listed = repo.git_stdout(&["ls-files", "--sparse"]);
        assert!(listed.lines().any(|l| l == "out/"), "not sparse: {listed}");
        assert!(read_staged_at(repo.path()).items.is_empty());
        // The index keeps `out/` at the second commit's tree while HEAD moves back.
        repo.git(&["reset", "--quiet", "--soft", "HEAD~1"]);
        repo.write("in/a.txt", "in, edited\n");
        repo.git(&["add", "in/a.txt"]);
        let staged = read_staged_at(repo.path());
        assert_eq!(
            summary(&staged.items),
            "in/a.txt old in, edited\nout/b.txt old v2"
        );
    }

    #[test]
    fn hook_sees_the_index_git_commit_prepares() {
        if run_as_child() {
            return;
        }
        let repo = TestRepo::new();
        repo.write("a.txt", "a1\n");
        repo.write("b.txt", "b1\n");
        repo.commit_all("first");
        let out = hook_runs_child(
            &repo,
            &repo.path().join(".git/hooks"),
            "staged_changes::hook_sees_the_index_git_commit_prepares",
        );
        repo.write("a.txt", "a2\n");
        repo.write("b.txt", "b2\n");
        repo.git(&["add", "a.txt"]);
        // Plain commit: the real index (GIT_INDEX_FILE is relative here).
        let seen = commit_with_child(&repo, repo.path(), &out, &["commit", "-qm", "a"]);
        assert_eq!(seen, "a.txt old a2");
        // `commit -a`: a locked copy of the index with b.txt added.
        repo.write("a.txt", "a3\n");
        let seen = commit_with_child(&repo, repo.path(), &out, &["commit", "-qam", "ab"]);
        assert_eq!(seen, "a.txt old a3\nb.txt old b2");
        // `commit <path>`: a temporary index holding HEAD plus that path only.
        repo.write("a.txt", "a4\n");
        repo.write("b.txt", "b4\n");
        repo.git(&["add", "b.txt"]);
        let seen = commit_with_child(&repo, repo.path(), &out, &["commit", "-qm", "a", "a.txt"]);
        assert_eq!(seen, "a.txt old a4");
    }

    #[test]
    fn hook_in_linked_worktree_sees_that_worktrees_index() {
        if run_as_child() {
            return;
        }
        let repo = TestRepo::new();
        repo.write("a.txt", "a1\n");
        repo.commit_all("first");
        let wt = repo.scratch("wt-parent").join("wt");
        let wt_str = wt.to_str().expect("temp paths are UTF-8");
        repo.git(&["worktree", "add", "--quiet", "-b", "feature", wt_str]);
        let out = hook_runs_child(
            &repo,
            &repo.path().join(".git/hooks"),
            "staged_changes::hook_in_linked_worktree_sees_that_worktrees_index",
        );
        std::fs::write(wt.join("a.txt"), "a-wt\n").expect("write");
        let seen = commit_with_child(&repo, &wt, &out, &["commit", "-qam", "wt"]);
        assert_eq!(seen, "a.txt old a-wt");
    }
}

mod commit_ranges {
    use super::*;
    use nbguard::source::commits::{self, Limits, Pushed, RefUpdate};

    fn open(repo: &TestRepo) -> gix::Repository {
        repo::open_path(repo.path()).expect("the test repo opens")
    }

    fn range(repo: &TestRepo, spec: &str) -> Pushed {
        files_only(
            commits::read_range(&open(repo), spec, &Limits::default()).expect("the range reads"),
        )
    }

    /// The file items; commit messages and file names are checked on their own below.
    fn files_only(mut pushed: Pushed) -> Pushed {
        pushed.items.retain(|i| i.origin.is_file());
        pushed
    }

    fn oid(hex: &str) -> gix::ObjectId {
        gix::ObjectId::from_hex(hex.as_bytes()).expect("git prints valid ids")
    }

    /// `path@commit-summary old|new content` per item, in the order emitted.
    fn lines(pushed: &Pushed) -> Vec<String> {
        pushed
            .items
            .iter()
            .map(|i| {
                let summary = match &i.provenance {
                    Provenance::Commit(c) => c.summary.clone(),
                    other => format!("{other:?}"),
                };
                let old = match &i.old {
                    Some(o) => String::from_utf8_lossy(o).trim().to_string(),
                    None => "-".into(),
                };
                let new = String::from_utf8_lossy(&i.new).trim().to_string();
                format!("{}@{summary} {old} -> {new}", i.path)
            })
            .collect()
    }

    /// Commits on a branch that is then deleted, so they exist but no ref reaches them: what a
    /// server sees during pre-receive.
    fn unreferenced_commits(repo: &TestRepo, branch: &str, files: &[(&str, &str)]) -> String {
        repo.git(&["checkout", "--quiet", "-b", branch]);
        for (path, content) in files {
            repo.write(path, content);
            repo.commit_all(&format!("{branch}: {path}"));
        }
        let tip = repo.rev_parse("HEAD");
        repo.git(&["checkout", "--quiet", "main"]);
        repo.git(&["branch", "--quiet", "-D", branch]);
        tip
    }

    fn base_repo() -> TestRepo {
        let repo = TestRepo::new();
        repo.write("a.txt", "a1\n");
        repo.commit_all("c1");
        repo
    }

    fn update(old: Option<&str>, new: Option<&str>, name: &str) -> RefUpdate {
        RefUpdate {
            old: old.map(oid),
            new: new.map(oid),
            name: name.into(),
        }
    }

    fn push(repo: &TestRepo, updates: &[RefUpdate]) -> Pushed {
        files_only(push_all(repo, updates))
    }

    fn push_all(repo: &TestRepo, updates: &[RefUpdate]) -> Pushed {
        commits::read_push(&open(repo), updates, &Limits::default()).expect("the push reads")
    }

    #[test]
    fn messages_of_new_commits_and_tags_and_added_names_are_items_of_their_own() {
        use nbguard::finding::Origin;
        let repo = base_repo();
        let tip = unreferenced_commits(&repo, "rel", &[("r.txt", "r1\n")]);
        repo.git(&["tag", "-a", "-m", "release notes", "v1", &tip]);
        let tag = repo.rev_parse("refs/tags/v1");
        repo.git(&["tag", "-d", "v1"]);
        let pushed = push_all(&repo, &[update(None, Some(&tag), "refs/tags/v1")]);
        let meta: Vec<(Origin, String, String)> = pushed
            .items
            .iter()
            .filter(|i| !i.origin.is_file())
            .map(|i| {
                let text = String::from_utf8_lossy(&i.new).trim().to_string();
                (i.origin, i.path.clone(), text)
            })
            .collect();
        assert_eq!(
            meta,
            [
                (
                    Origin::TagMessage,
                    "tag v1".to_string(),
                    "release notes".to_string()
                ),
                (
                    Origin::CommitMessage,
                    format!("commit message of {}", &tip[..10]),
                    "rel: r.txt".to_string()
                ),
                (
                    Origin::FileNames,
                    format!("file names added by {}", &tip[..10]),
                    "r.txt".to_string()
                ),
            ]
        );
    }

    #[test]
    fn linear_history_is_read_oldest_first_with_parent_content() {
        let repo = base_repo();
        let c1 = repo.rev_parse("HEAD");
        repo.write("a.txt", "a2\n");
        repo.write("b.txt", "b1\n");
        repo.commit_all("c2");
        repo.write("b.txt", "b2\n");
        repo.commit_all("c3");
        let pushed = range(&repo, &format!("{c1}..main"));
        assert_eq!(
            lines(&pushed),
            ["a.txt@c2 a1 -> a2", "b.txt@c2 - -> b1", "b.txt@c3 b1 -> b2"]
        );
        let Provenance::Commit(info) = &pushed.items[2].provenance else {
            panic!("commit provenance expected");
        };
        assert_eq!(info.id, repo.rev_parse("HEAD"));
        assert_eq!(
            (info.author.as_str(), info.email.as_str()),
            ("Ada Tester", "ada@example.com")
        );
        assert_eq!(info.time, 1_704_164_645);
        assert_eq!(info.reference, None);
    }

    #[test]
    fn symmetric_range_reads_only_the_head_side() {
        let repo = base_repo();
        repo.git(&["checkout", "--quiet", "-b", "side"]);
        repo.write("s.txt", "side\n");
        repo.commit_all("side");
        repo.git(&["checkout", "--quiet", "main"]);
        repo.write("m.txt", "main\n");
        repo.commit_all("main");
        assert_eq!(
            lines(&range(&repo, "side...main")),
            ["m.txt@main - -> main"]
        );
    }

    #[test]
    fn unknown_revision_is_an_error_naming_the_spec() {
        let repo = base_repo();
        let err = commits::read_range(&open(&repo), "nope..HEAD", &Limits::default())
            .expect_err("nope does not exist");
        assert!(err.to_string().contains("nope..HEAD"), "{err}");
    }

    #[test]
    fn single_revision_reads_its_whole_history() {
        let repo = base_repo();
        repo.write("b.txt", "b1\n");
        repo.commit_all("c2");
        assert_eq!(
            lines(&range(&repo, "HEAD")),
            ["a.txt@c1 - -> a1", "b.txt@c2 - -> b1"]
        );
        assert_eq!(lines(&range(&repo, "HEAD^!")), ["b.txt@c2 - -> b1"]);
    }

    #[test]
    fn merge_commit_brings_only_its_own_resolution() {
        let repo = base_repo();
        let base = repo.rev_parse("HEAD");
        repo.git(&["checkout", "--quiet", "-b", "side"]);
        repo.write("a.txt", "a-side\n");
        repo.write("s.txt", "side only\n");
        repo.commit_all("side");
        repo.git(&["checkout", "--quiet", "main"]);
        repo.write("a.txt", "a-main\n");
        repo.commit_all("main");
        repo.git_may_fail(&["merge", "--quiet", "side"]);
        repo.write("a.txt", "resolved\n");
        repo.commit_all("merge");
        let pushed = range(&repo, &format!("{base}..main"));
        assert_eq!(
            lines(&pushed),
            [
                "a.txt@main a1 -> a-main",
                "a.txt@side a1 -> a-side",
                "s.txt@side - -> side only",
                "a.txt@merge a-main -> resolved"
            ]
        );
    }

    #[test]
    fn clean_merge_brings_nothing() {
        let repo = base_repo();
        let base = repo.rev_parse("HEAD");
        repo.git(&["checkout", "--quiet", "-b", "side"]);
        repo.write("s.txt", "side\n");
        repo.commit_all("side");
        repo.git(&["checkout", "--quiet", "main"]);
        repo.write("m.txt", "main\n");
        repo.commit_all("main");
        repo.git(&["merge", "--quiet", "--no-edit", "side"]);
        let summaries: Vec<String> = lines(&range(&repo, &format!("{base}..main")));
        assert!(
            summaries.iter().all(|l| !l.contains("@Merge")),
            "{summaries:?}"
        );
        assert_eq!(summaries.len(), 2);
    }

    #[test]
    fn blob_carried_by_many_commits_is_emitted_once() {
        let repo = base_repo();
        let base = repo.rev_parse("HEAD");
        let secret = common::password_line();
        repo.write("x.txt", &secret);
        repo.commit_all("add");
        repo.write("copy/x.txt", &secret);
        repo.commit_all("copy");
        repo.write("x.txt", "clean\n");
        repo.commit_all("clean");
        repo.write("x.txt", &secret);
        repo.commit_all("revert");
        let pushed = range(&repo, &format!("{base}..main"));
        assert_eq!(
            lines(&pushed),
            [
                format!("x.txt@add - -> {secret}"),
                "x.txt@clean ".to_string() + &secret + " -> clean"
            ]
        );
    }

    #[test]
    fn pushed_commits_are_those_no_ref_reaches() {
        let repo = base_repo();
        let tip = unreferenced_commits(&repo, "topic", &[("t.txt", "t1\n"), ("u.txt", "u1\n")]);
        let pushed = push(&repo, &[update(None, Some(&tip), "refs/heads/topic")]);
        assert_eq!(
            lines(&pushed),
            ["t.txt@topic: t.txt - -> t1", "u.txt@topic: u.txt - -> u1"]
        );
        let Provenance::Commit(info) = &pushed.items[0].provenance else {
            panic!("commit provenance expected");
        };
        assert_eq!(info.reference.as_deref(), Some("refs/heads/topic"));
    }

    #[test]
    fn annotated_tag_is_peeled_to_its_commit() {
        let repo = base_repo();
        let tip = unreferenced_commits(&repo, "rel", &[("r.txt", "r1\n")]);
        repo.git(&["tag", "-a", "-m", "release", "v1", &tip]);
        let tag = repo.rev_parse("refs/tags/v1");
        assert_ne!(tag, tip);
        repo.git(&["tag", "-d", "v1"]);
        let pushed = push(&repo, &[update(None, Some(&tag), "refs/tags/v1")]);
        assert_eq!(lines(&pushed), ["r.txt@rel: r.txt - -> r1"]);
    }

    #[test]
    fn new_branch_at_an_existing_commit_scans_nothing() {
        let repo = base_repo();
        let head = repo.rev_parse("HEAD");
        let pushed = push(&repo, &[update(None, Some(&head), "refs/heads/copy")]);
        assert!(pushed.items.is_empty() && pushed.notices.is_empty());
    }

    #[test]
    fn deletion_scans_nothing() {
        let repo = base_repo();
        let head = repo.rev_parse("HEAD");
        let pushed = push(&repo, &[update(Some(&head), None, "refs/heads/main")]);
        assert!(pushed.items.is_empty() && pushed.notices.is_empty());
    }

    #[test]
    fn later_update_does_not_rescan_an_earlier_ones_commits() {
        let repo = base_repo();
        let tip = unreferenced_commits(&repo, "two", &[("t.txt", "t1\n")]);
        let pushed = push(
            &repo,
            &[
                update(None, Some(&tip), "refs/heads/one"),
                update(None, Some(&tip), "refs/heads/two"),
            ],
        );
        assert_eq!(lines(&pushed), ["t.txt@two: t.txt - -> t1"]);
    }

    #[test]
    fn ref_to_a_blob_or_tree_is_scanned_directly() {
        let repo = base_repo();
        let blob = repo.write("loose.txt", "loose\n");
        let blob_id = repo.git_stdout(&["hash-object", "-w", blob.to_str().expect("utf-8")]);
        let tree_id = repo.rev_parse("HEAD^{tree}");
        let pushed = push(
            &repo,
            &[
                update(None, Some(&blob_id), "refs/blobs/one"),
                update(None, Some(&tree_id), "refs/trees/one"),
            ],
        );
        let paths: Vec<&str> = pushed.items.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, ["refs/blobs/one", "refs/trees/one:a.txt"]);
    }

    #[test]
    fn missing_pushed_object_is_a_notice() {
        let repo = base_repo();
        let absent = "1234567890123456789012345678901234567890";
        let pushed = push(&repo, &[update(None, Some(absent), "refs/heads/x")]);
        assert!(pushed.items.is_empty());
        assert_eq!(pushed.notices[0].kind, DiagnosticKind::MissingObject);
    }

    #[test]
    fn pre_push_hides_what_the_remote_already_has() {
        let repo = base_repo();
        let c1 = repo.rev_parse("HEAD");
        repo.git(&["update-ref", "refs/remotes/origin/main", &c1]);
        repo.write("b.txt", "b1\n");
        let c2 = repo.commit_all("c2");
        let updates = [update(Some(&c1), Some(&c2), "refs/heads/main")];
        let pushed = files_only(
            commits::read_pre_push(&open(&repo), &updates, Some("origin"), &Limits::default())
                .expect("reads"),
        );
        assert_eq!(lines(&pushed), ["b.txt@c2 - -> b1"]);
        // A new branch whose remote id is zero: only the remote-tracking refs hide.
        let updates = [update(None, Some(&c2), "refs/heads/feature")];
        let pushed = files_only(
            commits::read_pre_push(&open(&repo), &updates, Some("origin"), &Limits::default())
                .expect("reads"),
        );
        assert_eq!(lines(&pushed), ["b.txt@c2 - -> b1"]);
    }

    #[test]
    fn new_commits_are_parents_first() {
        let repo = base_repo();
        let c1 = repo.rev_parse("HEAD");
        let c2 = repo.commit_all("c2");
        let c3 = repo.commit_all("c3");
        let found = commits::new_commits(&open(&repo), &[oid(&c3)], &[oid(&c1)]).expect("walks");
        assert_eq!(found, [oid(&c2), oid(&c3)]);
    }
}

mod hook_install {
    use super::*;
    use nbguard::hooks::{self, Installed, Kind, Removed, State};
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    /// A stand-in for the nbguard binary: logs its arguments and stdin, fails when told to.
    struct Stub {
        path: PathBuf,
        log: PathBuf,
    }

    impl Stub {
        fn new(repo: &TestRepo) -> Self {
            let dir = repo.scratch("stub");
            let log = dir.join("log");
            let path = dir.join("fake-nbguard");
            let script = format!(
                "#!/bin/sh\n{{ echo \"nbguard $*\"; cat; }} >>'{}'\n[ ! -e '{}.fail' ]\n",
                log.display(),
                log.display()
            );
            std::fs::write(&path, script).expect("writing the stub");
            common::make_executable(&path);
            Stub { path, log }
        }

        fn command(&self) -> &str {
            self.path.to_str().expect("temp paths are UTF-8")
        }

        fn log(&self) -> String {
            std::fs::read_to_string(&self.log).unwrap_or_default()
        }

        fn fail(&self, yes: bool) {
            let flag = PathBuf::from(format!("{}.fail", self.log.display()));
            if yes {
                std::fs::write(flag, "").expect("flag");
            } else {
                let _ = std::fs::remove_file(flag);
            }
        }
    }

    /// An existing, foreign hook that logs to `log` and exits with `status`.
    fn foreign_hook(path: &Path, log: &Path, status: i32) -> Vec<u8> {
        let script = format!(
            "#!/bin/sh\n# someone else's hook\n{{ echo \"previous $*\"; cat; }} >>'{}'\nexit {status}\n",
            log.display()
        );
        std::fs::create_dir_all(path.parent().expect("hooks dir")).expect("mkdir");
        std::fs::write(path, &script).expect("writing a foreign hook");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o750)).expect("chmod");
        script.into_bytes()
    }

    fn try_commit(repo: &TestRepo, dir: &Path, msg: &str) -> bool {
        std::fs::write(dir.join(format!("{msg}.txt")), msg).expect("write");
        repo.git_in(dir, &["add", "."]);
        repo.git_command_in(dir, &["commit", "-qm", msg])
            .output()
            .expect("git runs")
            .status
            .success()
    }

    #[test]
    fn installed_pre_commit_hook_runs_on_git_commit() {
        let repo = TestRepo::new();
        let stub = Stub::new(&repo);
        let got = hooks::install(repo.path(), Kind::PreCommit, stub.command()).expect("installs");
        assert_eq!(got, Installed::New);
        let hook = repo.path().join(".git/hooks/pre-commit");
        let mode = std::fs::metadata(&hook)
            .expect("hook exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert!(try_commit(&repo, repo.path(), "one"));
        assert_eq!(stub.log(), "nbguard pre-commit\n");
        stub.fail(true);
        assert!(
            !try_commit(&repo, repo.path(), "two"),
            "a failing scan blocks the commit"
        );
    }

    #[test]
    fn relative_hooks_path_is_relative_to_the_worktree_root() {
        let repo = TestRepo::new();
        repo.git(&["config", "core.hooksPath", ".githooks"]);
        let stub = Stub::new(&repo);
        let sub = repo.path().join("deep/er");
        std::fs::create_dir_all(&sub).expect("mkdir");
        hooks::install(&sub, Kind::PreCommit, stub.command()).expect("installs");
        assert!(repo.path().join(".githooks/pre-commit").is_file());
        assert!(!repo.path().join(".git/hooks/pre-commit").exists());
        assert!(try_commit(&repo, &sub, "from-subdir"));
        assert_eq!(stub.log(), "nbguard pre-commit\n");
    }

    #[test]
    fn absolute_hooks_path_is_used_as_is() {
        let repo = TestRepo::new();
        let dir = repo.scratch("shared-hooks");
        repo.git(&["config", "core.hooksPath", dir.to_str().expect("utf-8")]);
        let stub = Stub::new(&repo);
        hooks::install(repo.path(), Kind::PreCommit, stub.command()).expect("installs");
        assert!(dir.join("pre-commit").is_file());
        assert!(try_commit(&repo, repo.path(), "one"));
        assert_eq!(stub.log(), "nbguard pre-commit\n");
    }

    #[test]
    fn linked_worktree_installs_into_the_common_hooks() {
        let repo = TestRepo::new();
        repo.commit_all("first");
        let wt = repo.scratch("wt-parent").join("wt");
        repo.git(&["worktree", "add", "--quiet", wt.to_str().expect("utf-8")]);
        let stub = Stub::new(&repo);
        hooks::install(&wt, Kind::PreCommit, stub.command()).expect("installs");
        assert!(repo.path().join(".git/hooks/pre-commit").is_file());
        assert!(try_commit(&repo, &wt, "in-worktree"));
        assert!(try_commit(&repo, repo.path(), "in-main"));
        assert_eq!(stub.log(), "nbguard pre-commit\nnbguard pre-commit\n");
    }

    #[test]
    fn existing_hook_is_chained_and_runs_first() {
        let repo = TestRepo::new();
        let stub = Stub::new(&repo);
        let hook = repo.path().join(".git/hooks/pre-commit");
        foreign_hook(&hook, &stub.log, 0);
        let got = hooks::install(repo.path(), Kind::PreCommit, stub.command()).expect("installs");
        let previous = repo.path().join(".git/hooks/pre-commit.pre-nbguard");
        assert_eq!(
            got,
            Installed::Chained {
                previous: previous.clone()
            }
        );
        assert!(try_commit(&repo, repo.path(), "one"));
        assert_eq!(stub.log(), "previous \nnbguard pre-commit\n");
        foreign_hook(&previous, &stub.log, 1);
        assert!(
            !try_commit(&repo, repo.path(), "two"),
            "a failing earlier hook blocks"
        );
        assert_eq!(stub.log(), "previous \nnbguard pre-commit\nprevious \n");
    }

    #[test]
    fn installing_twice_changes_nothing() {
        let repo = TestRepo::new();
        let stub = Stub::new(&repo);
        let hook = repo.path().join(".git/hooks/pre-commit");
        foreign_hook(&hook, &stub.log, 0);
        hooks::install(repo.path(), Kind::PreCommit, stub.command()).expect("installs");
        let first = std::fs::read(&hook).expect("read");
        let again = hooks::install(repo.path(), Kind::PreCommit, stub.command()).expect("again");
        assert_eq!(again, Installed::Unchanged);
        assert_eq!(std::fs::read(&hook).expect("read"), first);
        let updated = hooks::install(repo.path(), Kind::PreCommit, "nbguard").expect("update");
        assert_eq!(updated, Installed::Updated);
        assert!(repo
            .path()
            .join(".git/hooks/pre-commit.pre-nbguard")
            .is_file());
    }

    #[test]
    fn uninstall_restores_the_previous_hook_exactly() {
        let repo = TestRepo::new();
        let stub = Stub::new(&repo);
        let hook = repo.path().join(".git/hooks/pre-commit");
        let original = foreign_hook(&hook, &stub.log, 0);
        hooks::install(repo.path(), Kind::PreCommit, stub.command()).expect("installs");
        assert_eq!(
            hooks::uninstall(repo.path(), Kind::PreCommit).expect("uninstalls"),
            Removed::Restored
        );
        assert_eq!(std::fs::read(&hook).expect("read"), original);
        let mode = std::fs::metadata(&hook).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o750);
        assert!(!repo
            .path()
            .join(".git/hooks/pre-commit.pre-nbguard")
            .exists());
        assert_eq!(
            hooks::uninstall(repo.path(), Kind::PreCommit).expect("again"),
            Removed::NotInstalled
        );
        assert_eq!(std::fs::read(&hook).expect("read"), original);
    }

    #[test]
    fn uninstall_without_a_previous_hook_removes_ours() {
        let repo = TestRepo::new();
        hooks::install(repo.path(), Kind::PrePush, "nbguard").expect("installs");
        assert_eq!(
            hooks::uninstall(repo.path(), Kind::PrePush).expect("uninstalls"),
            Removed::Removed
        );
        assert!(!repo.path().join(".git/hooks/pre-push").exists());
    }

    #[test]
    fn status_reports_each_hook() {
        let repo = TestRepo::new();
        let stub = Stub::new(&repo);
        foreign_hook(&repo.path().join(".git/hooks/pre-push"), &stub.log, 0);
        hooks::install(repo.path(), Kind::PreCommit, "nbguard").expect("installs");
        let status = hooks::status(repo.path()).expect("status");
        let states: Vec<(Kind, State)> = status.iter().map(|s| (s.kind, s.state.clone())).collect();
        assert_eq!(
            states,
            [
                (Kind::PreCommit, State::Installed { chained: false }),
                (Kind::PrePush, State::Foreign),
                (Kind::PreReceive, State::Missing),
            ]
        );
        hooks::install(repo.path(), Kind::PrePush, "nbguard").expect("installs");
        let status = hooks::status(repo.path()).expect("status");
        assert_eq!(status[1].state, State::Installed { chained: true });
    }

    #[test]
    fn pre_push_hooks_both_get_the_same_stdin_and_arguments() {
        let server = TestRepo::bare();
        let repo = TestRepo::new();
        repo.commit_all("first");
        let url = server.path().to_str().expect("utf-8");
        repo.git(&["remote", "add", "origin", url]);
        let stub = Stub::new(&repo);
        let previous_log = repo.scratch("prev").join("log");
        foreign_hook(&repo.path().join(".git/hooks/pre-push"), &previous_log, 0);
        hooks::install(repo.path(), Kind::PrePush, stub.command()).expect("installs");
        repo.git(&["push", "--quiet", "origin", "main"]);
        let head = repo.rev_parse("HEAD");
        let zero = "0".repeat(40);
        let line = format!("refs/heads/main {head} refs/heads/main {zero}\n");
        assert_eq!(stub.log(), format!("nbguard pre-push origin {url}\n{line}"));
        let previous = std::fs::read_to_string(previous_log).expect("previous ran");
        assert_eq!(previous, format!("previous origin {url}\n{line}"));
    }

    #[test]
    fn bare_server_runs_the_pre_receive_hook_with_the_pushed_refs() {
        let server = TestRepo::bare();
        let stub = Stub::new(&server);
        let got =
            hooks::install(server.path(), Kind::PreReceive, stub.command()).expect("installs");
        assert_eq!(got, Installed::New);
        assert!(server.path().join("hooks/pre-receive").is_file());
        let repo = TestRepo::new();
        let head = repo.commit_all("first");
        repo.git(&[
            "push",
            "--quiet",
            server.path().to_str().expect("utf-8"),
            "main",
        ]);
        let zero = "0".repeat(40);
        assert_eq!(
            stub.log(),
            format!("nbguard pre-receive\n{zero} {head} refs/heads/main\n")
        );
        stub.fail(true);
        repo.commit_all("second");
        let pushed = repo.git_may_fail(&[
            "push",
            "--quiet",
            server.path().to_str().expect("utf-8"),
            "main",
        ]);
        assert!(!pushed.status.success(), "a failing scan rejects the push");
    }
}

mod quarantined_push {
    use super::*;
    use nbguard::source::commits::{self, Limits};
    use nbguard::source::quarantine::{self, ObjectDirs};

    const PUSH_OUT: &str = "NBGUARD_TEST_PUSH_OUT";

    /// Every file under `dir`, relative, sorted: to show nothing was written there.
    fn listing(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_owned()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("readable dir") {
                let p = e.expect("dir entry").path();
                if p.is_dir() {
                    stack.push(p.clone());
                }
                out.push(
                    p.strip_prefix(dir)
                        .expect("below dir")
                        .display()
                        .to_string(),
                );
            }
        }
        out.sort();
        out
    }

    #[test]
    fn pushed_objects_in_a_quarantine_are_visible() {
        // The client's objects stand in for the quarantine; the server has none of them.
        let client = TestRepo::new();
        client.write("nb.txt", common::password_line());
        let head = client.commit_all("secret");
        let server = TestRepo::bare();
        let incoming = client.path().join(".git/objects");
        let before = listing(&incoming);
        let dirs = ObjectDirs {
            primary: incoming.clone(),
            alternates: vec![server.path().join("objects")],
        };
        let updates =
            commits::parse_ref_updates(&format!("{} {head} refs/heads/main", "0".repeat(40)))
                .expect("valid");

        let plain = quarantine::open_with(server.path(), None).expect("opens");
        let pushed = commits::read_push(plain.repo(), &updates, &Limits::default()).expect("reads");
        assert!(
            pushed.items.is_empty(),
            "without the quarantine the push is invisible"
        );
        assert_eq!(pushed.notices[0].kind, DiagnosticKind::MissingObject);

        let q = quarantine::open_with(server.path(), Some(&dirs)).expect("opens");
        let pushed = commits::read_push(q.repo(), &updates, &Limits::default()).expect("reads");
        assert_eq!(paths(&pushed.items), ["nb.txt"]);
        assert_eq!(
            listing(&incoming),
            before,
            "nothing is written into the quarantine"
        );
    }

    /// The child side of the real push below: runs as the server's pre-receive hook.
    fn run_as_pre_receive() -> bool {
        let Some(out) = std::env::var_os(PUSH_OUT) else {
            return false;
        };
        let mut stdin = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut stdin).expect("stdin");
        let q = quarantine::open(Path::new(".")).expect("the quarantined repo opens");
        let updates = commits::parse_ref_updates(&stdin).expect("git's input parses");
        let pushed = commits::read_push(q.repo(), &updates, &Limits::default()).expect("reads");
        let quarantined = std::env::var_os("GIT_QUARANTINE_PATH").is_some();
        let report = format!("quarantined={quarantined}\n{}", summary(&pushed.items));
        std::fs::write(out, report).expect("writing the report");
        true
    }

    #[test]
    fn real_push_is_read_from_the_quarantine() {
        if run_as_pre_receive() {
            return;
        }
        let server = TestRepo::bare();
        let exe = std::env::current_exe().expect("the test binary knows its path");
        let hook = server.path().join("hooks/pre-receive");
        let script = format!(
            "#!/bin/sh\nexec '{}' quarantined_push::real_push_is_read_from_the_quarantine --exact --nocapture --test-threads=1 >/dev/null\n",
            exe.display()
        );
        std::fs::create_dir_all(hook.parent().expect("hooks dir")).expect("mkdir");
        std::fs::write(&hook, script).expect("hook");
        common::make_executable(&hook);
        let out = server.scratch("report").join("out");
        let client = TestRepo::new();
        client.write("a.txt", "first\n");
        client.commit_all("one");
        client.write("a.txt", "first\nsecond\n");
        client.commit_all("two");
        let url = server.path().to_str().expect("utf-8");
        let mut push = client.git_command(&["push", "--quiet", url, "main"]);
        push.env(PUSH_OUT, &out);
        let result = push.output().expect("git push runs");
        assert!(result.status.success(), "{}", common::describe(&result));
        let report = std::fs::read_to_string(&out).expect("the hook wrote a report");
        assert_eq!(
            report,
            "quarantined=true\na.txt new first\na.txt old first\nsecond"
        );
    }
}

mod incomplete_history {
    use super::*;
    use nbguard::source::commits::{self, Limits};

    fn origin() -> TestRepo {
        let repo = TestRepo::new();
        repo.write("a.txt", "a1\n");
        repo.commit_all("c1");
        repo.write("a.txt", "a2\n");
        repo.commit_all("c2");
        repo.write("b.txt", "b1\n");
        repo.commit_all("c3");
        repo
    }

    fn clone(origin: &TestRepo, args: &[&str]) -> std::path::PathBuf {
        let dest = origin
            .scratch("clones")
            .join(args.join("_").replace(['-', '='], ""));
        let url = format!("file://{}", origin.path().display());
        let mut all = vec!["clone", "--quiet"];
        all.extend_from_slice(args);
        all.extend([url.as_str(), dest.to_str().expect("utf-8")]);
        origin.git(&all);
        dest
    }

    #[test]
    fn shallow_boundary_is_a_notice_and_its_tree_counts_as_new() {
        let origin = origin();
        let dest = clone(&origin, &["--depth=1"]);
        let repo = repo::open_path(&dest).expect("opens");
        let pushed = commits::read_range(&repo, "HEAD", &Limits::default()).expect("reads");
        assert_eq!(paths(&pushed.items), ["a.txt", "b.txt"]);
        assert!(pushed.items.iter().all(|i| i.old.is_none()));
        assert_eq!(pushed.notices.len(), 1, "{:?}", pushed.notices);
        // Scanned, all of it: the boundary's tree is new content, not unread content.
        assert_eq!(pushed.notices[0].kind, DiagnosticKind::ScannedWhole);
    }

    #[test]
    fn blobless_clone_reports_missing_blobs() {
        let origin = origin();
        origin.git(&["config", "uploadpack.allowFilter", "true"]);
        let dest = clone(&origin, &["--filter=blob:none", "--no-checkout"]);
        let repo = repo::open_path(&dest).expect("opens");
        let pushed = commits::read_range(&repo, "HEAD", &Limits::default()).expect("reads");
        assert!(
            paths(&pushed.items).is_empty(),
            "{:?}",
            paths(&pushed.items)
        );
        let kinds: Vec<DiagnosticKind> = pushed.notices.iter().map(|n| n.kind).collect();
        assert_eq!(kinds, [DiagnosticKind::MissingObject; 3]);
    }
}

mod harness {
    use super::*;
    use common::{CellOutput, Notebook};

    #[test]
    fn notebook_builder_writes_nbformat_4_5() {
        let nb = Notebook::new()
            .code_with(
                "import os\nprint(os.environ)",
                vec![
                    CellOutput::stream("hello\n"),
                    CellOutput::result("42", Some("<b>42</b>")),
                    CellOutput::png(b"\x89PNG"),
                    CellOutput::error("KeyError", "'x'", &["frame 1"]),
                ],
            )
            .markdown("# Title")
            .raw("raw text")
            .cell_metadata("tags", serde_json::json!(["keep"]));
        let v: serde_json::Value = serde_json::from_str(&nb.to_json()).expect("valid JSON");
        assert_eq!(
            (v["nbformat"].as_u64(), v["nbformat_minor"].as_u64()),
            (Some(4), Some(5))
        );
        let cells = v["cells"].as_array().expect("cells");
        assert_eq!(cells.len(), 3);
        assert_eq!(
            cells[0]["source"],
            serde_json::json!(["import os\n", "print(os.environ)"])
        );
        assert_eq!(
            cells[0]["outputs"][3]["traceback"][0],
            "\u{1b}[0;31mframe 1\u{1b}[0m"
        );
        assert_eq!(cells[0]["outputs"][2]["data"]["image/png"], "iVBORw==");
        assert!(cells.iter().all(|c| c["id"].is_string()));
        assert_eq!(cells[2]["metadata"]["tags"][0], "keep");
    }

    #[test]
    fn notebook_builder_writes_nbformat_3() {
        let nb = Notebook::new()
            .code_with("x = 1", vec![CellOutput::result("1", None)])
            .nbformat3();
        let v = nb.to_value();
        assert_eq!(v["nbformat"], 3);
        let cell = &v["worksheets"][0]["cells"][0];
        assert_eq!(cell["input"], serde_json::json!(["x = 1"]));
        assert_eq!(cell["outputs"][0]["output_type"], "pyout");
    }

    #[test]
    fn synthetic_secrets_have_the_right_shapes() {
        assert!(common::aws_key_id().starts_with("AKIA") && common::aws_key_id().len() == 20);
        assert!(nbguard::rules::validate::token_crc32(
            &common::github_token()
        ));
        assert_eq!(common::aws_secret_key().len(), 40);
        assert!(common::pem_private_key().starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert_eq!(common::password_line(), "password = \"PassXYZ\"");
    }
}
