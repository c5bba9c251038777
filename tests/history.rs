//! `source::history` against real repositories made by real `git` in temporary directories.

use std::path::PathBuf;
use std::process::Command;

use nbguard::finding::DiagnosticKind;
use nbguard::source::history::{
    Attribution, BlobEntry, BlobId, Inventory, Options, PathFilter, PathOrigin, ReadStats,
    RefSelection, RefSets, Repo,
};
use nbguard::source::Notice;

/// Seconds since the epoch of the first commit; each commit is a minute later.
const EPOCH: i64 = 1_700_000_000;

/// A repository in a temporary directory, driven by the `git` binary with no user or system
/// configuration and fixed names and dates.
struct TestRepo {
    dir: tempfile::TempDir,
    clock: i64,
}

impl TestRepo {
    fn new() -> TestRepo {
        let dir = tempfile::tempdir().expect("a temporary directory can be created");
        // Home sits beside the work tree, not in it, so that `git add -A` never sees it.
        std::fs::create_dir(dir.path().join("home")).expect("home can be created");
        std::fs::create_dir(dir.path().join("repo")).expect("the work tree can be created");
        let repo = TestRepo { dir, clock: EPOCH };
        repo.git(&["init", "-q", "-b", "main", "."]);
        // Keep objects loose so that tests can delete single objects.
        repo.git(&["config", "gc.auto", "0"]);
        repo
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    fn git(&self, args: &[&str]) -> String {
        let date = format!("@{} +0000", self.clock);
        let out = Command::new("git")
            .args(args)
            .current_dir(self.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "Ada Author")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Cy Committer")
            .env("GIT_COMMITTER_EMAIL", "cy@example.com")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .expect("git can be run");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("git prints UTF-8 here")
            .trim()
            .to_owned()
    }

    fn write(&self, path: &str, content: &str) {
        let full = self.path().join(path);
        std::fs::create_dir_all(full.parent().expect("a file has a parent"))
            .expect("directories can be created");
        std::fs::write(full, content).expect("files can be written");
    }

    fn remove(&self, path: &str) {
        self.git(&["rm", "-q", path]);
    }

    /// Stages everything and commits; returns the commit id.
    fn commit(&mut self, message: &str) -> String {
        self.clock += 60;
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    fn blob_id(&self, content: &str) -> BlobId {
        let file = self.home().join("blob");
        std::fs::write(&file, content).expect("files can be written");
        let hex = self.git(&["hash-object", file.to_str().expect("temp paths are UTF-8")]);
        hex.parse().expect("git prints a valid id")
    }

    /// Deletes a loose object, as a partial or damaged clone would lack it.
    fn delete_loose_object(&self, hex: &str) {
        let file: PathBuf = self
            .path()
            .join(".git/objects")
            .join(&hex[..2])
            .join(&hex[2..]);
        std::fs::remove_file(&file).expect("the object is loose");
    }

    fn open(&self) -> Repo {
        Repo::open(self.path()).expect("the test repository opens")
    }

    fn inventory(&self, options: &Options) -> Inventory {
        Inventory::build(&self.open(), options).expect("the inventory can be built")
    }
}

/// A notebook with one code cell per source, built as JSON rather than typed by hand.
fn notebook(cells: &[&str]) -> String {
    let cells: Vec<_> = cells
        .iter()
        .enumerate()
        .map(|(i, src)| {
            serde_json::json!({
                "cell_type": "code",
                "execution_count": i + 1,
                "metadata": {},
                "outputs": [],
                "source": [src],
            })
        })
        .collect();
    let nb = serde_json::json!({
        "cells": cells,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    });
    serde_json::to_string_pretty(&nb).expect("a JSON value serialises")
}

fn entry<'a>(inventory: &'a Inventory, id: &BlobId) -> &'a BlobEntry {
    inventory
        .blobs()
        .iter()
        .find(|b| &b.id == id)
        .unwrap_or_else(|| panic!("{id} is in the inventory"))
}

fn paths(entry: &BlobEntry) -> Vec<&str> {
    let mut p: Vec<&str> = entry.paths.iter().map(|p| p.as_ref()).collect();
    p.sort_unstable();
    p
}

/// An attribution with its ref set turned back into names, sorted.
struct Named {
    paths: Vec<PathOrigin>,
    present_at: Vec<String>,
}

fn attribute_many(repo: &TestRepo, inventory: &Inventory, ids: &[BlobId]) -> Vec<Named> {
    let mut sets = RefSets::default();
    let found = inventory
        .attribute(&repo.open(), ids, &mut sets)
        .expect("attribution works");
    found
        .blobs
        .into_iter()
        .map(|a: Attribution| Named {
            present_at: inventory
                .refs()
                .names(&a.present_at)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            paths: a.paths,
        })
        .collect()
}

fn attribute_one(repo: &TestRepo, inventory: &Inventory, id: &BlobId) -> Named {
    let mut all = attribute_many(repo, inventory, std::slice::from_ref(id));
    assert_eq!(all.len(), 1);
    all.remove(0)
}

fn introducer(attribution: &Named, path: &str) -> Option<String> {
    attribution
        .paths
        .iter()
        .find(|p| p.path == path)
        .unwrap_or_else(|| panic!("{path} is among the blob's paths"))
        .introduced_by
        .as_ref()
        .map(|c| c.id.clone())
}

fn all_blob_ids(inventory: &Inventory) -> Vec<BlobId> {
    inventory.blobs().iter().map(|b| b.id).collect()
}

#[test]
fn unique_blobs_are_listed_once_across_branches_tags_and_merges() {
    let mut r = TestRepo::new();
    r.write("a.ipynb", &notebook(&["x = 1"]));
    r.write("notes.txt", "hello");
    r.commit("one");
    r.git(&["tag", "-a", "v1", "-m", "first"]);
    r.git(&["checkout", "-q", "-b", "side"]);
    r.write("b.ipynb", &notebook(&["y = 2"]));
    r.commit("side adds b");
    r.git(&["checkout", "-q", "main"]);
    r.write("a.ipynb", &notebook(&["x = 1", "x += 1"]));
    r.commit("main edits a");
    r.git(&["merge", "-q", "--no-ff", "side", "-m", "merge side"]);

    let inventory = r.inventory(&Options::default());
    let mut expected = vec![
        r.blob_id(&notebook(&["x = 1"])),
        r.blob_id(&notebook(&["x = 1", "x += 1"])),
        r.blob_id(&notebook(&["y = 2"])),
        r.blob_id("hello"),
    ];
    expected.sort();
    let mut got = all_blob_ids(&inventory);
    got.sort();
    assert_eq!(got, expected);
    assert_eq!(inventory.stats().commits, 4);
    assert!(inventory.notices().is_empty(), "{:?}", inventory.notices());

    let notebooks = r.inventory(&Options {
        paths: PathFilter::notebooks_only(),
        ..Options::default()
    });
    assert_eq!(notebooks.blobs().len(), 3);
    assert_eq!(
        entry(&notebooks, &r.blob_id(&notebook(&["x = 1"]))).size,
        Some(notebook(&["x = 1"]).len() as u64)
    );
}

#[test]
fn removed_blob_keeps_its_introducing_commit_and_is_present_nowhere() {
    let mut r = TestRepo::new();
    r.write("keep.ipynb", &notebook(&["ok"]));
    r.commit("start");
    r.write("leak.ipynb", &notebook(&["key = 'leaked'"]));
    let introduced = r.commit("add leak");
    r.remove("leak.ipynb");
    r.commit("remove leak");

    let inventory = r.inventory(&Options::default());
    let leak = r.blob_id(&notebook(&["key = 'leaked'"]));
    assert_eq!(paths(entry(&inventory, &leak)), ["leak.ipynb"]);
    let a = attribute_one(&r, &inventory, &leak);
    assert_eq!(introducer(&a, "leak.ipynb"), Some(introduced.clone()));
    assert!(a.present_at.is_empty(), "{:?}", a.present_at);
    let info = a.paths[0].introduced_by.as_ref().expect("attributed");
    assert_eq!(info.author, "Ada Author");
    assert_eq!(info.email, "ada@example.com");
    assert_eq!(info.summary, "add leak");
    assert_eq!(info.time, EPOCH + 120);
}

#[test]
fn blob_still_at_head_is_present_at_main() {
    let mut r = TestRepo::new();
    r.write("nb.ipynb", &notebook(&["secret"]));
    let introduced = r.commit("add");
    r.write("other.ipynb", &notebook(&["other"]));
    r.commit("more");

    let inventory = r.inventory(&Options::default());
    let id = r.blob_id(&notebook(&["secret"]));
    let a = attribute_one(&r, &inventory, &id);
    assert_eq!(introducer(&a, "nb.ipynb"), Some(introduced));
    assert_eq!(a.present_at, ["refs/heads/main"]);
}

#[test]
fn blob_only_on_a_side_branch_is_attributed_there() {
    let mut r = TestRepo::new();
    r.write("nb.ipynb", &notebook(&["base"]));
    r.commit("base");
    r.git(&["checkout", "-q", "-b", "side"]);
    r.write("side.ipynb", &notebook(&["side only"]));
    let on_side = r.commit("side work");
    r.git(&["checkout", "-q", "main"]);
    r.write("nb.ipynb", &notebook(&["base", "main"]));
    r.commit("main work");

    let inventory = r.inventory(&Options::default());
    let id = r.blob_id(&notebook(&["side only"]));
    let a = attribute_one(&r, &inventory, &id);
    assert_eq!(introducer(&a, "side.ipynb"), Some(on_side));
    assert_eq!(a.present_at, ["refs/heads/side"]);

    let branches_main_only = r.inventory(&Options {
        refs: RefSelection::Globs(vec!["refs/heads/main".into()]),
        ..Options::default()
    });
    assert!(!all_blob_ids(&branches_main_only).contains(&id));
}

#[test]
fn merged_blob_is_attributed_to_the_branch_commit_not_the_merge() {
    let mut r = TestRepo::new();
    r.write("nb.ipynb", &notebook(&["base"]));
    r.commit("base");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("f.ipynb", &notebook(&["feature"]));
    let feature = r.commit("feature");
    r.git(&["checkout", "-q", "main"]);
    r.write("m.ipynb", &notebook(&["main"]));
    r.commit("main");
    r.clock += 60;
    r.git(&["merge", "-q", "--no-ff", "feature", "-m", "merge"]);
    let merge = r.git(&["rev-parse", "HEAD"]);

    let inventory = r.inventory(&Options::default());
    let feature_blob = r.blob_id(&notebook(&["feature"]));
    let a = attribute_one(&r, &inventory, &feature_blob);
    assert_eq!(introducer(&a, "f.ipynb"), Some(feature));
    let mut present = a.present_at.clone();
    present.sort();
    assert_eq!(present, ["refs/heads/feature", "refs/heads/main"]);

    // A merge that writes new content itself introduces it.
    r.git(&["checkout", "-q", "-b", "other", "HEAD~1"]);
    r.write("nb.ipynb", &notebook(&["base", "other"]));
    r.commit("other");
    r.git(&["checkout", "-q", "main"]);
    r.git(&["merge", "-q", "--no-commit", "-s", "ours", "other"]);
    let merged_content = notebook(&["base", "resolved"]);
    r.write("nb.ipynb", &merged_content);
    let resolving_merge = r.commit("merge other, resolved");
    assert_ne!(resolving_merge, merge);
    assert_eq!(
        r.git(&["rev-list", "--parents", "-n1", "HEAD"])
            .split(' ')
            .count(),
        3
    );

    let inventory = r.inventory(&Options::default());
    let a = attribute_one(&r, &inventory, &r.blob_id(&merged_content));
    assert_eq!(introducer(&a, "nb.ipynb"), Some(resolving_merge));
}

#[test]
fn blob_only_behind_tags_is_found_through_lightweight_and_annotated_tags() {
    let mut r = TestRepo::new();
    r.write("nb.ipynb", &notebook(&["base"]));
    r.commit("base");
    r.git(&["checkout", "-q", "-b", "tmp-a"]);
    r.write("a.ipynb", &notebook(&["annotated only"]));
    let annotated_commit = r.commit("for annotated tag");
    r.git(&["tag", "-a", "v-annotated", "-m", "annotated"]);
    r.git(&["checkout", "-q", "main"]);
    r.git(&["checkout", "-q", "-b", "tmp-l"]);
    r.write("l.ipynb", &notebook(&["lightweight only"]));
    let lightweight_commit = r.commit("for lightweight tag");
    r.git(&["tag", "v-light"]);
    r.git(&["checkout", "-q", "main"]);
    r.git(&["branch", "-q", "-D", "tmp-a", "tmp-l"]);

    let inventory = r.inventory(&Options::default());
    let annotated = r.blob_id(&notebook(&["annotated only"]));
    let lightweight = r.blob_id(&notebook(&["lightweight only"]));
    let found = attribute_many(&r, &inventory, &[annotated, lightweight]);
    assert_eq!(introducer(&found[0], "a.ipynb"), Some(annotated_commit));
    assert_eq!(found[0].present_at, ["refs/tags/v-annotated"]);
    assert_eq!(introducer(&found[1], "l.ipynb"), Some(lightweight_commit));
    assert_eq!(found[1].present_at, ["refs/tags/v-light"]);

    let branches = r.inventory(&Options {
        refs: RefSelection::Branches,
        ..Options::default()
    });
    assert!(!all_blob_ids(&branches).contains(&annotated));
    let tags = r.inventory(&Options {
        refs: RefSelection::Tags,
        ..Options::default()
    });
    assert!(all_blob_ids(&tags).contains(&annotated));
    assert!(all_blob_ids(&tags).contains(&lightweight));
}

#[test]
fn same_blob_at_two_paths_has_both_paths_and_an_introducer_for_each() {
    let mut r = TestRepo::new();
    let content = notebook(&["copied"]);
    r.write("one/nb.ipynb", &content);
    let first = r.commit("first copy");
    r.write("two/nb-copy.ipynb", &content);
    let second = r.commit("second copy");

    let inventory = r.inventory(&Options::default());
    let id = r.blob_id(&content);
    assert_eq!(
        paths(entry(&inventory, &id)),
        ["one/nb.ipynb", "two/nb-copy.ipynb"]
    );
    let a = attribute_one(&r, &inventory, &id);
    assert_eq!(introducer(&a, "one/nb.ipynb"), Some(first));
    assert_eq!(introducer(&a, "two/nb-copy.ipynb"), Some(second));
}

#[test]
fn renamed_directory_gives_its_blobs_the_new_paths_too() {
    let mut r = TestRepo::new();
    r.write("old/sub/deep.ipynb", &notebook(&["deep"]));
    r.write("old/top.ipynb", &notebook(&["top"]));
    r.write("readme.md", "r");
    r.commit("start");
    r.git(&["mv", "old", "new"]);
    let moved = r.commit("rename dir");
    // The same subtree object under a third name, in a later commit.
    r.git(&["mv", "new/sub", "again"]);
    r.commit("move sub");

    let inventory = r.inventory(&Options::default());
    let deep = r.blob_id(&notebook(&["deep"]));
    assert_eq!(
        paths(entry(&inventory, &deep)),
        [
            "again/deep.ipynb",
            "new/sub/deep.ipynb",
            "old/sub/deep.ipynb"
        ]
    );
    let top = r.blob_id(&notebook(&["top"]));
    assert_eq!(
        paths(entry(&inventory, &top)),
        ["new/top.ipynb", "old/top.ipynb"]
    );
    let a = attribute_one(&r, &inventory, &deep);
    assert_eq!(introducer(&a, "new/sub/deep.ipynb"), Some(moved));
}

#[test]
fn symlinks_and_submodules_are_not_file_content() {
    let mut r = TestRepo::new();
    r.write("real.ipynb", &notebook(&["real"]));
    std::os::unix::fs::symlink("real.ipynb", r.path().join("link.ipynb"))
        .expect("symlinks can be made");
    let head = r.commit("real and link");
    r.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{head},vendored"),
    ]);
    r.git(&["commit", "-q", "-m", "gitlink"]);

    let inventory = r.inventory(&Options::default());
    assert_eq!(inventory.blobs().len(), 1, "{:?}", inventory.blobs());
    assert_eq!(paths(&inventory.blobs()[0]), ["real.ipynb"]);
    assert!(inventory.notices().is_empty(), "{:?}", inventory.notices());
}

#[test]
fn missing_blob_is_a_notice_and_the_inventory_completes() {
    let mut r = TestRepo::new();
    r.write("gone.ipynb", &notebook(&["will vanish"]));
    r.write("kept.ipynb", &notebook(&["kept"]));
    r.commit("add");
    let gone = r.blob_id(&notebook(&["will vanish"]));
    r.delete_loose_object(&gone.to_hex());

    let inventory = r.inventory(&Options::default());
    assert_eq!(all_blob_ids(&inventory), [r.blob_id(&notebook(&["kept"]))]);
    let notices = inventory.notices();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0].kind, DiagnosticKind::MissingObject);
    assert_eq!(notices[0].path, "gone.ipynb");
    assert!(notices[0].message.contains(&gone.to_hex()));
}

#[test]
fn missing_tree_and_commit_are_notices_and_the_walk_goes_on() {
    let mut r = TestRepo::new();
    r.write("dir/a.ipynb", &notebook(&["a"]));
    r.commit("one");
    r.write("top.ipynb", &notebook(&["top"]));
    let two = r.commit("two");
    r.write("three.ipynb", &notebook(&["three"]));
    r.commit("three");
    r.git(&["checkout", "-q", "-b", "side", "HEAD~2"]);
    r.write("side.ipynb", &notebook(&["side"]));
    r.commit("side");

    let dir_tree = r.git(&["rev-parse", "main:dir"]);
    r.delete_loose_object(&dir_tree);
    r.delete_loose_object(&two);

    let inventory = r.inventory(&Options::default());
    let kinds: Vec<_> = inventory.notices().iter().map(|n| n.kind).collect();
    assert!(
        kinds.iter().all(|k| *k == DiagnosticKind::MissingObject),
        "{:?}",
        inventory.notices()
    );
    assert!(inventory.notices().iter().any(|n| n.path == "dir"));
    assert!(inventory.notices().iter().any(|n| n.message.contains(&two)));
    let ids = all_blob_ids(&inventory);
    assert!(ids.contains(&r.blob_id(&notebook(&["three"]))));
    assert!(ids.contains(&r.blob_id(&notebook(&["side"]))));
    assert!(!ids.contains(&r.blob_id(&notebook(&["a"]))));

    // Attribution copes with the holes too.
    let three = r.blob_id(&notebook(&["three"]));
    let a = attribute_one(&r, &inventory, &three);
    assert_eq!(a.present_at, ["refs/heads/main"]);
}

#[test]
fn since_leaves_out_older_commits() {
    let mut r = TestRepo::new();
    for i in 0..5 {
        r.write("nb.ipynb", &notebook(&[&format!("v = {i}")]));
        r.commit(&format!("v{i}"));
    }
    // Commit i has time EPOCH + 60 * (i + 1).
    let inventory = r.inventory(&Options {
        since: Some(EPOCH + 60 * 3),
        ..Options::default()
    });
    assert_eq!(inventory.stats().commits, 3);
    let mut got = all_blob_ids(&inventory);
    got.sort();
    let mut expected: Vec<_> = (2..5)
        .map(|i| r.blob_id(&notebook(&[&format!("v = {i}")])))
        .collect();
    expected.sort();
    assert_eq!(got, expected);
}

#[test]
fn ref_globs_and_size_limit_select_what_is_listed() {
    let mut r = TestRepo::new();
    r.write("nb.ipynb", &notebook(&["base"]));
    r.commit("base");
    r.git(&["checkout", "-q", "-b", "release/1.0"]);
    r.write("rel.ipynb", &notebook(&["release"]));
    r.commit("release");
    r.git(&["checkout", "-q", "main"]);
    r.git(&["checkout", "-q", "-b", "feature/x"]);
    r.write("feat.ipynb", &notebook(&["feature"]));
    r.write("big.ipynb", &notebook(&[&"z".repeat(5000)]));
    r.commit("feature");

    let release = r.inventory(&Options {
        refs: RefSelection::Globs(vec!["refs/heads/release/*".into()]),
        ..Options::default()
    });
    let ids = all_blob_ids(&release);
    assert!(ids.contains(&r.blob_id(&notebook(&["release"]))));
    assert!(!ids.contains(&r.blob_id(&notebook(&["feature"]))));
    assert_eq!(release.tips().len(), 1);
    assert_eq!(release.tips()[0].name, "refs/heads/release/1.0");

    let limited = r.inventory(&Options {
        max_blob_size: Some(1000),
        ..Options::default()
    });
    let big = r.blob_id(&notebook(&[&"z".repeat(5000)]));
    assert!(!all_blob_ids(&limited).contains(&big));
    let notice = &limited.notices()[0];
    assert_eq!(notice.kind, DiagnosticKind::TooLarge);
    assert_eq!(notice.path, "big.ipynb");

    let globbed = r.inventory(&Options {
        paths: PathFilter::globs(&["feat*.ipynb"]).expect("valid glob"),
        ..Options::default()
    });
    assert_eq!(all_blob_ids(&globbed), [r.blob_id(&notebook(&["feature"]))]);
}

#[test]
fn refs_to_trees_and_blobs_are_inventoried() {
    let mut r = TestRepo::new();
    r.write("dir/t.ipynb", &notebook(&["in tree"]));
    r.commit("base");
    let tree = r.git(&["rev-parse", "HEAD:dir"]);
    r.write("hidden.txt", "stashed away");
    let blob = r.git(&["hash-object", "-w", "hidden.txt"]);
    std::fs::remove_file(r.path().join("hidden.txt")).expect("file exists");
    r.git(&["tag", "tree-tag", &tree]);
    r.git(&["tag", "blob-tag", &blob]);
    r.git(&["rm", "-q", "-r", "dir"]);
    r.commit("drop dir");

    let inventory = r.inventory(&Options::default());
    let hidden: BlobId = blob.parse().expect("valid id");
    assert_eq!(paths(entry(&inventory, &hidden)), ["refs/tags/blob-tag"]);
    let in_tree = r.blob_id(&notebook(&["in tree"]));
    assert_eq!(
        paths(entry(&inventory, &in_tree)),
        ["dir/t.ipynb", "t.ipynb"]
    );
    let found = attribute_many(&r, &inventory, &[hidden, in_tree]);
    assert_eq!(found[0].present_at, ["refs/tags/blob-tag"]);
    assert_eq!(found[0].paths[0].introduced_by, None);
    assert_eq!(found[1].present_at, ["refs/tags/tree-tag"]);
    assert!(introducer(&found[1], "dir/t.ipynb").is_some());
    assert_eq!(introducer(&found[1], "t.ipynb"), None);
}

#[test]
fn stash_and_detached_head_are_part_of_all() {
    let mut r = TestRepo::new();
    r.write("nb.ipynb", &notebook(&["base"]));
    r.commit("base");
    r.write("nb.ipynb", &notebook(&["stashed"]));
    r.clock += 60;
    r.git(&["stash", "-q"]);
    r.git(&["checkout", "-q", "--detach"]);
    r.write("d.ipynb", &notebook(&["detached"]));
    r.commit("detached work");

    let inventory = r.inventory(&Options::default());
    let ids = all_blob_ids(&inventory);
    assert!(ids.contains(&r.blob_id(&notebook(&["stashed"]))));
    let detached = r.blob_id(&notebook(&["detached"]));
    assert!(ids.contains(&detached));
    let a = attribute_one(&r, &inventory, &detached);
    assert_eq!(a.present_at, ["HEAD"]);
}

#[test]
fn parallel_reading_yields_every_blob_with_its_content() {
    let mut r = TestRepo::new();
    for i in 0..150 {
        r.write(
            &format!("d{}/nb{i}.ipynb", i % 7),
            &notebook(&[&format!("cell {i}")]),
        );
        if i % 10 == 9 {
            r.commit(&format!("batch {i}"));
        }
    }
    r.git(&["gc", "-q"]);
    let repo = r.open();
    let inventory = Inventory::build(&repo, &Options::default()).expect("inventory");
    assert_eq!(inventory.blobs().len(), 150);
    let seen = std::sync::Mutex::new(Vec::new());
    let (notices, _) = inventory.read_blobs_parallel(&repo, |entry, content| {
        let expected = format!(
            "cell {}",
            &entry.paths[0]
                [entry.paths[0].find("nb").expect("named nb") + 2..entry.paths[0].len() - 6]
        );
        assert_eq!(content, notebook(&[&expected]).as_bytes());
        assert_eq!(Some(content.len() as u64), entry.size);
        seen.lock().expect("not poisoned").push(entry.id);
    });
    assert!(notices.is_empty(), "{notices:?}");
    let mut seen = seen.into_inner().expect("not poisoned");
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 150);
}

/// Pseudo-random 64-bit values (a linear congruential generator): content that does not compress
/// away, the same in every run.
fn pseudo_random(seed: u64) -> impl Iterator<Item = u64> {
    std::iter::successors(Some(seed), |x| {
        Some(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1))
    })
    .skip(1)
}

/// Many versions of one notebook, each a small edit of the last: after `gc` most are deltas of
/// one another, which is what a pack walk is for.
fn versions_of_one_notebook(r: &mut TestRepo, n: usize) -> Vec<String> {
    // Varied enough not to compress to nothing, so that blobs are most of the pack (as in a
    // real notebook history) rather than commits and trees.
    let cells: Vec<String> = pseudo_random(0x2545_f491_4f6c_dd1d)
        .take(400)
        .enumerate()
        .map(|(i, x)| format!("row_{i} = compute({:016x}, {:x})", x, x >> 21))
        .collect();
    let mut versions = Vec::new();
    for v in 0..n {
        let mut these = cells.clone();
        these[v * 37 % 400] = format!("edited_in_version = {v}");
        let refs: Vec<&str> = these.iter().map(String::as_str).collect();
        let content = notebook(&refs);
        r.write("analysis.ipynb", &content);
        r.commit(&format!("version {v}"));
        versions.push(content);
    }
    versions
}

/// Reads every blob, checking each is handed over once with the content git has for it.
fn read_all_checked(r: &TestRepo, inventory: &Inventory) -> (Vec<Notice>, ReadStats, usize) {
    let repo = r.open();
    let seen = std::sync::Mutex::new(Vec::new());
    let (notices, stats) = inventory.read_blobs_parallel(&repo, |entry, content| {
        let expected = r.git(&["cat-file", "blob", &entry.id.to_hex()]);
        assert_eq!(content, expected.as_bytes(), "content of {}", entry.id);
        seen.lock().expect("not poisoned").push(entry.id);
    });
    let seen = seen.into_inner().expect("not poisoned");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "a blob was handed over twice");
    (notices, stats, seen.len())
}

#[test]
fn a_packed_history_is_read_by_walking_the_pack_once() {
    let mut r = TestRepo::new();
    versions_of_one_notebook(&mut r, 40);
    r.git(&["gc", "-q", "--aggressive"]);
    let deltas = r.git(&["verify-pack", "-v", &pack_index(&r)]);
    assert!(
        deltas.lines().filter(|l| l.contains(" blob ")).count() > 30
            && deltas
                .lines()
                .any(|l| l.contains(" blob ") && l.split_whitespace().count() == 7),
        "the versions should be stored as deltas:\n{deltas}"
    );
    let inventory = r.inventory(&Options::default());
    assert_eq!(inventory.blobs().len(), 40);
    let (notices, stats, read) = read_all_checked(&r, &inventory);
    assert!(notices.is_empty(), "{notices:?}");
    assert_eq!(read, 40);
    assert_eq!(
        stats,
        ReadStats {
            packs_walked: 1,
            walked: 40,
            looked_up: 0
        }
    );

    // Commits made since the last gc are loose: looked up, and the pack is still walked.
    r.write("later.ipynb", &notebook(&["after = 'gc'"]));
    r.commit("after gc");
    let (notices, stats, read) = read_all_checked(&r, &r.inventory(&Options::default()));
    assert!(notices.is_empty(), "{notices:?}");
    assert_eq!(read, 41);
    assert_eq!(
        (stats.packs_walked, stats.walked, stats.looked_up),
        (1, 40, 1)
    );
}

#[test]
fn a_pack_the_audit_uses_little_of_is_not_walked() {
    let mut r = TestRepo::new();
    r.write("small.ipynb", &notebook(&["x = 1"]));
    r.commit("small");
    r.git(&["branch", "-q", "small"]);
    for i in 0..30 {
        let big: Vec<String> = (0..300).map(|j| format!("v{i}_{j} = {}", i * j)).collect();
        let refs: Vec<&str> = big.iter().map(String::as_str).collect();
        r.write(&format!("big{i}.ipynb"), &notebook(&refs));
    }
    r.commit("big ones");
    r.git(&["gc", "-q"]);
    let only_small = r.inventory(&Options {
        refs: RefSelection::Globs(vec!["refs/heads/small".into()]),
        ..Options::default()
    });
    let (notices, stats, read) = read_all_checked(&r, &only_small);
    assert!(notices.is_empty(), "{notices:?}");
    assert_eq!(read, 1);
    assert_eq!((stats.packs_walked, stats.looked_up), (0, 1));
}

#[test]
fn a_pack_with_a_very_large_object_is_read_by_lookups() {
    let mut r = TestRepo::new();
    versions_of_one_notebook(&mut r, 5);
    // 40 MB that do not compress away: over the size a pack walk keeps chains of.
    let big: String = pseudo_random(0x9e37_79b9_7f4a_7c15)
        .take(40 * 1024 * 1024 / 16)
        .map(|x| format!("{x:016x}"))
        .collect();
    r.write("data/large.txt", &big);
    r.commit("large data");
    r.git(&["gc", "-q"]);
    let (notices, stats, read) = read_all_checked(&r, &r.inventory(&Options::default()));
    assert!(notices.is_empty(), "{notices:?}");
    assert_eq!(read, 6);
    assert_eq!((stats.packs_walked, stats.looked_up), (0, 6));
}

#[test]
fn a_corrupt_pack_entry_is_reported_and_every_other_blob_still_read() {
    let mut r = TestRepo::new();
    let contents: Vec<String> = (0..20)
        .map(|i| {
            let cells: Vec<String> = (0..50)
                .map(|j| format!("unrelated_{i}_{j} = {}", (i + 3) * (j + 11)))
                .collect();
            let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
            notebook(&refs)
        })
        .collect();
    for (i, c) in contents.iter().enumerate() {
        r.write(&format!("nb{i}.ipynb"), c);
    }
    r.commit("twenty notebooks");
    r.git(&["gc", "-q"]);
    // Damage the middle of one undeltified blob's compressed data (deltas of it break too).
    let listing = r.git(&["verify-pack", "-v", &pack_index(&r)]);
    let fields: Vec<&str> = listing
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.len() == 5 && f[1] == "blob")
        .expect("an undeltified blob in the pack");
    let victim = fields[0].to_owned();
    let (size_in_pack, offset): (usize, usize) = (
        fields[3].parse().expect("a number"),
        fields[4].parse().expect("a number"),
    );
    let pack = PathBuf::from(pack_index(&r).replace(".idx", ".pack"));
    let mut bytes = std::fs::read(&pack).expect("the pack reads");
    for b in &mut bytes[offset + size_in_pack / 2..offset + size_in_pack / 2 + 8] {
        *b ^= 0x5a;
    }
    let mut perms = std::fs::metadata(&pack).expect("metadata").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&pack, perms).expect("the pack can be made writable");
    std::fs::write(&pack, bytes).expect("the pack is rewritten");

    let inventory = r.inventory(&Options::default());
    assert_eq!(inventory.blobs().len(), 20);
    let (notices, stats, read) = read_all_checked(&r, &inventory);
    assert_eq!(stats.packs_walked, 1);
    assert!(!notices.is_empty() && stats.looked_up >= notices.len());
    assert_eq!(
        read + notices.len(),
        20,
        "every intact blob is read: {notices:?}"
    );
    assert!(notices.iter().all(|n| n.kind == DiagnosticKind::Unreadable));
    assert!(
        notices.iter().any(|n| n.message.contains(&victim)),
        "{victim} is reported: {notices:?}"
    );
}

/// The path of the repository's only pack index.
fn pack_index(r: &TestRepo) -> String {
    let dir = r.path().join(".git/objects/pack");
    let idx: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("a pack directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "idx"))
        .collect();
    assert_eq!(idx.len(), 1, "one pack expected: {idx:?}");
    idx[0].to_string_lossy().into_owned()
}

#[test]
fn blob_missing_at_read_time_is_a_notice() {
    let mut r = TestRepo::new();
    r.write("a.ipynb", &notebook(&["a"]));
    r.write("b.ipynb", &notebook(&["b"]));
    r.commit("add");
    let repo = r.open();
    let inventory = Inventory::build(&repo, &Options::default()).expect("inventory");
    let a = r.blob_id(&notebook(&["a"]));
    r.delete_loose_object(&a.to_hex());
    let count = std::sync::atomic::AtomicUsize::new(0);
    let (notices, _) = inventory.read_blobs_parallel(&repo, |_, _| {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    assert_eq!(count.into_inner(), 1);
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].kind, DiagnosticKind::MissingObject);
    assert_eq!(notices[0].path, "a.ipynb");
}

#[test]
fn shallow_and_partial_clones_are_walked_as_far_as_they_go() {
    let mut r = TestRepo::new();
    for i in 0..4 {
        r.write("nb.ipynb", &notebook(&[&format!("v = {i}")]));
        r.commit(&format!("v{i}"));
    }
    r.git(&["config", "uploadpack.allowFilter", "true"]);
    let source = format!("file://{}", r.path().display());
    let shallow = r.dir.path().join("shallow");
    let partial = r.dir.path().join("partial");
    let shallow_arg = shallow.to_str().expect("temp paths are UTF-8");
    let partial_arg = partial.to_str().expect("temp paths are UTF-8");
    r.git(&[
        "clone",
        "-q",
        "--bare",
        "--depth",
        "2",
        &source,
        shallow_arg,
    ]);
    r.git(&[
        "clone",
        "-q",
        "--bare",
        "--filter=blob:none",
        "--no-checkout",
        &source,
        partial_arg,
    ]);

    let repo = Repo::open(&shallow).expect("the shallow clone opens");
    let inventory = Inventory::build(&repo, &Options::default()).expect("inventory");
    assert_eq!(inventory.stats().commits, 2);
    assert_eq!(inventory.blobs().len(), 2);
    assert!(inventory.notices().is_empty(), "{:?}", inventory.notices());

    // Without its blobs, a partial clone lists each one it lacks as missing and goes on.
    let repo = Repo::open(&partial).expect("the partial clone opens");
    let inventory = Inventory::build(&repo, &Options::default()).expect("inventory");
    assert_eq!(inventory.stats().commits, 4);
    let missing = inventory
        .notices()
        .iter()
        .filter(|n| n.kind == DiagnosticKind::MissingObject)
        .count();
    assert_eq!(
        missing + inventory.blobs().len(),
        4,
        "{:?}",
        inventory.notices()
    );
}
