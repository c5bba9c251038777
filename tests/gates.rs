//! Issue 9 on the client side: nothing unread is ever reported as clean (partial clones, missing
//! objects, unreadable paths), metadata is scanned by `diff`, hooks land where git runs them, and
//! the advice fits the gate. Real repositories, real `git`, the built binary.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use common::TestRepo;

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An upstream with a clean `main` and a `feature` branch whose one commit adds an AWS key.
fn upstream_with_leaky_feature() -> TestRepo {
    let up = TestRepo::new();
    up.write("README.md", "# project\n");
    up.commit_all("start");
    up.git(&["checkout", "--quiet", "-b", "feature"]);
    up.write("deploy.py", format!("KEY = \"{}\"\n", common::aws_key_id()));
    up.commit_all("deploy script");
    up.git(&["checkout", "--quiet", "main"]);
    up.git(&["config", "uploadpack.allowFilter", "true"]);
    up.git(&["config", "uploadpack.allowAnySHA1InWant", "true"]);
    up
}

#[test]
fn diff_in_a_blobless_partial_clone_fails_closed_and_the_advice_works() {
    let up = upstream_with_leaky_feature();
    let client = TestRepo::new();
    let dest = client.scratch("partial").join("clone");
    let url = format!("file://{}", up.path().display());
    client.git_in(
        dest.parent().expect("scratch dir"),
        &[
            "clone",
            "--quiet",
            "--filter=blob:none",
            "--no-checkout",
            &url,
            dest.to_str().expect("temp paths are UTF-8"),
        ],
    );
    let diff = |dir: &Path| {
        let mut cmd = client.nbguard_command(&["diff", "origin/main..origin/feature"]);
        cmd.current_dir(dir);
        cmd.output().expect("nbguard runs")
    };
    let out = diff(&dest);
    let err = common::stderr(&out);
    assert_eq!(code(&out), Some(2), "{}", common::describe(&out));
    assert!(err.contains("not scanned"), "{err}");
    assert!(err.contains("partial clone"), "{err}");
    assert!(!err.contains(&common::aws_key_id()), "{err}");

    // What the message advises brings the blobs, and then the key is found.
    client.git_in(&dest, &["log", "-p", "origin/main..origin/feature"]);
    let out = diff(&dest);
    assert_eq!(code(&out), Some(1), "{}", common::describe(&out));
    assert!(stdout(&out).contains("secret.aws.access-key-id"));
}

#[test]
fn diff_over_a_missing_object_in_an_ordinary_repository_exits_two() {
    let repo = TestRepo::new();
    repo.write("README.md", "# project\n");
    let base = repo.commit_all("start");
    repo.write("deploy.py", format!("KEY = \"{}\"\n", common::aws_key_id()));
    repo.commit_all("deploy script");
    let blob = repo.rev_parse("HEAD:deploy.py");
    repo.delete_loose_object(&blob);
    let out = repo.nbguard(&["diff", &format!("{base}..HEAD")]);
    let err = common::stderr(&out);
    assert_eq!(code(&out), Some(2), "{}", common::describe(&out));
    assert!(err.contains(&blob) && err.contains("not scanned"), "{err}");
    assert!(!err.contains("hook.on_error"), "diff is not a hook: {err}");
}

#[test]
fn pre_push_over_a_missing_object_blocks_with_the_reason() {
    let server = TestRepo::bare();
    let repo = TestRepo::new();
    repo.write("README.md", "# project\n");
    repo.commit_all("start");
    let url = server.path().to_str().expect("temp paths are UTF-8");
    repo.git(&["remote", "add", "origin", url]);
    repo.install_hook(&["--hook", "pre-push"]);
    repo.write("deploy.py", format!("KEY = \"{}\"\n", common::aws_key_id()));
    repo.commit_all("deploy script");
    repo.delete_loose_object(&repo.rev_parse("HEAD:deploy.py"));
    let out = repo.git_may_fail(&["push", "origin", "main"]);
    let err = common::stderr(&out);
    assert!(!out.status.success(), "{}", common::describe(&out));
    assert!(err.contains("nbguard: pre-push could not check"), "{err}");
    assert!(err.contains("not scanned"), "{err}");
}

#[test]
fn diff_scans_commit_messages_and_says_where() {
    let repo = TestRepo::new();
    repo.write("README.md", "# project\n");
    let base = repo.commit_all("start");
    repo.write("notes.md", "clean\n");
    let key = common::aws_key_id();
    let leak = repo.commit_all(&format!("notes\n\nused {key} to test"));
    let out = repo.nbguard(&["diff", &format!("{base}..HEAD"), "--format", "json"]);
    assert_eq!(code(&out), Some(1), "{}", common::describe(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let f = &report["findings"][0];
    assert_eq!(f["origin"], "commit-message", "{report:#}");
    assert_eq!(f["path"], format!("commit message of {}", &leak[..10]));
    assert_eq!(f["line"], 3);
    assert_eq!(f["commit"]["id"], leak.as_str());
    assert!(!stdout(&out).contains(&key));

    let out = repo.nbguard(&["diff", &format!("{base}..HEAD"), "--format", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).expect("SARIF");
    let loc = &sarif["runs"][0]["results"][0]["locations"][0];
    assert_eq!(
        loc["logicalLocations"][0]["kind"], "commit-message",
        "{loc:#}"
    );
}

#[test]
fn pre_push_and_diff_advise_rewriting_the_commits() {
    let server = TestRepo::bare();
    let repo = TestRepo::new();
    repo.write("README.md", "# project\n");
    let base = repo.commit_all("start");
    let url = server.path().to_str().expect("temp paths are UTF-8");
    repo.git(&["remote", "add", "origin", url]);
    repo.install_hook(&["--hook", "pre-push"]);
    repo.write("deploy.py", format!("KEY = \"{}\"\n", common::aws_key_id()));
    repo.commit_all_unchecked("deploy script");
    let out = repo.git_may_fail(&["push", "origin", "main"]);
    let err = common::stderr(&out);
    assert!(!out.status.success(), "{}", common::describe(&out));
    assert!(err.contains("Rewrite those"), "{err}");
    assert!(!err.contains("Then `git add`"), "{err}");

    let out = repo.nbguard(&["diff", &format!("{base}..HEAD")]);
    assert_eq!(code(&out), Some(1));
    let all = format!("{}{}", stdout(&out), common::stderr(&out));
    assert!(all.contains("Rewrite those"), "{all}");

    let out = repo.nbguard(&["diff", "no-such-ref..HEAD"]);
    assert_eq!(code(&out), Some(2));
    assert!(!common::stderr(&out).contains("hook.on_error"));
}

/// Runs the built nbguard as an unprivileged user when the tests run as root, for whom no
/// permission bit makes a file unreadable.
fn nbguard_unprivileged(repo: &TestRepo, args: &[&str]) -> Output {
    let euid = std::process::Command::new("id")
        .arg("-u")
        .output()
        .expect("id runs");
    let root = String::from_utf8_lossy(&euid.stdout).trim() == "0";
    let mut cmd = if root {
        let mut c = repo.command("setpriv");
        c.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            env!("CARGO_BIN_EXE_nbguard"),
        ]);
        c
    } else {
        repo.command(env!("CARGO_BIN_EXE_nbguard"))
    };
    cmd.args(args).output().expect("nbguard runs")
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[test]
fn unreadable_file_or_directory_makes_scan_exit_two_naming_it() {
    let repo = TestRepo::new();
    // The unprivileged user must reach the repository through the temp dirs.
    for dir in [repo.path().parent().expect("temp dir"), repo.path()] {
        chmod(dir, 0o755);
    }
    repo.write("ok.py", "print('hello')\n");
    let locked = repo.write("locked.py", format!("KEY = \"{}\"\n", common::aws_key_id()));
    chmod(&locked, 0o000);
    let out = nbguard_unprivileged(&repo, &["scan", "--no-config", "locked.py"]);
    let err = common::stderr(&out);
    assert_eq!(code(&out), Some(2), "{}", common::describe(&out));
    assert!(err.contains("locked.py"), "{err}");
    chmod(&locked, 0o644);

    repo.write(
        "private/creds.py",
        format!("KEY = \"{}\"\n", common::aws_key_id()),
    );
    chmod(&repo.path().join("private"), 0o000);
    let out = nbguard_unprivileged(&repo, &["scan", "--no-config", "."]);
    let err = common::stderr(&out);
    chmod(&repo.path().join("private"), 0o755);
    assert_eq!(code(&out), Some(2), "{}", common::describe(&out));
    assert!(err.contains("private"), "{err}");
    assert!(err.contains("not scanned"), "{err}");
}

#[test]
fn hook_install_honours_hooks_path_from_the_global_config_git_reads() {
    let repo = TestRepo::new();
    let global = repo.scratch("config").join("gitconfig");
    let hooks = repo.scratch("global-hooks");
    std::fs::write(
        &global,
        format!("[core]\n\thooksPath = {}\n", hooks.display()),
    )
    .expect("writing the global config");
    let repo = repo.with_env("GIT_CONFIG_GLOBAL", &global);
    let out = repo.install_hook(&[]);
    assert!(
        stdout(&out).contains(&hooks.display().to_string()),
        "{}",
        common::describe(&out)
    );
    assert!(hooks.join("pre-commit").is_file());
    assert!(!repo.path().join(".git/hooks/pre-commit").exists());
    let status = stdout(&repo.nbguard(&["hook", "status"]));
    assert!(
        status.contains(&hooks.join("pre-commit").display().to_string()),
        "{status}"
    );
    repo.write("db.py", format!("{}\n", common::password_line()));
    repo.git(&["add", "db.py"]);
    let err = repo.commit_blocked(&["commit", "-m", "db"]);
    assert!(err.contains("secret.generic.password"), "{err}");
}

#[test]
fn a_tracked_hooks_directory_gets_a_hook_that_runs_nbguard_from_path() {
    let repo = TestRepo::new();
    repo.git(&["config", "core.hooksPath", ".githooks"]);
    repo.write(".githooks/README", "shared hooks\n");
    repo.commit_all("shared hooks");
    // `nbguard` on PATH, as every user of the shared hooks must have it.
    let bin = repo.scratch("bin");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_nbguard"), bin.join("nbguard"))
        .expect("symlink");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let repo = repo.with_env("PATH", path);
    let out = repo.nbguard(&["hook", "install"]);
    assert!(out.status.success(), "{}", common::describe(&out));
    assert!(
        stdout(&out).contains("from PATH"),
        "{}",
        common::describe(&out)
    );
    let script = std::fs::read_to_string(repo.path().join(".githooks/pre-commit")).expect("hook");
    assert!(script.contains("exec nbguard pre-commit"), "{script}");
    assert!(!script.contains(env!("CARGO_BIN_EXE_nbguard")), "{script}");
    repo.write("db.py", format!("{}\n", common::password_line()));
    repo.git(&["add", "db.py"]);
    let err = repo.commit_blocked(&["commit", "-m", "db"]);
    assert!(err.contains("secret.generic.password"), "{err}");
}

#[test]
fn trailers_naming_people_in_commit_messages_are_not_personal_data_findings() {
    let repo = TestRepo::new();
    repo.write("README.md", "# project\n");
    let base = repo.commit_all("start");
    repo.write("notes.md", "clean\n");
    // Assembled here so that this file itself holds no address for the repository's own scan.
    let domain = ["corp-mail", ".net"].concat();
    repo.commit_all(&format!(
        "notes\n\nCo-authored-by: Grace Analyst <grace.analyst@{domain}>\n\
         Signed-off-by: Ada Tester <ada.tester@{domain}>"
    ));
    let out = repo.nbguard(&["diff", &format!("{base}..HEAD"), "--format", "json"]);
    assert_eq!(code(&out), Some(0), "{}", common::describe(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["findings"], serde_json::json!([]), "{report:#}");
    assert_eq!(
        report["summary"]["files_scanned"], 1,
        "messages are not files"
    );
}

#[test]
fn audit_finds_keys_in_commit_and_tag_messages_and_says_which_refs_reach_them() {
    let repo = TestRepo::new();
    repo.write("README.md", "# project\n");
    repo.commit_all("start");
    repo.write("notes.md", "clean\n");
    let key = common::aws_key_id();
    let leak = repo.commit_all(&format!("notes\n\ndeployed with {key}"));
    let token = common::github_token();
    repo.git(&[
        "tag",
        "-a",
        "v1",
        "-m",
        &format!("release\n\nci token {token}"),
    ]);
    repo.git(&["checkout", "--quiet", "-b", "side", "HEAD~1"]);
    repo.write("side.md", "clean\n");
    repo.commit_all("side work");
    let out = repo.nbguard(&["audit", "--format", "json"]);
    assert_eq!(code(&out), Some(1), "{}", common::describe(&out));
    let text = stdout(&out);
    assert!(
        !text.contains(&key) && !text.contains(&token),
        "a secret is printed"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let groups = report["findings"].as_array().expect("findings");
    let of = |origin: &str| {
        groups
            .iter()
            .find(|g| g["occurrences"][0]["origin"] == origin)
            .unwrap_or_else(|| panic!("no {origin} finding: {report:#}"))
    };
    let message = of("commit-message");
    assert_eq!(
        message["occurrences"][0]["path"],
        format!("commit message of {}", &leak[..10])
    );
    assert_eq!(message["introduced"]["id"], leak.as_str());
    let reached = message["present_at"].to_string();
    assert!(
        reached.contains("refs/heads/main") && reached.contains("refs/tags/v1"),
        "{reached}"
    );
    assert!(
        !reached.contains("refs/heads/side"),
        "side does not reach the commit: {reached}"
    );
    let tag = of("tag-message");
    assert_eq!(tag["occurrences"][0]["path"], "tag v1");
}

#[test]
fn a_stray_nul_byte_does_not_hide_a_dotenv_file_from_a_commit() {
    let repo = TestRepo::new();
    repo.install_hook(&[]);
    let mut content = b"# deploy settings\n\0".to_vec();
    content.extend_from_slice(format!("AWS_ACCESS_KEY_ID={}\n", common::aws_key_id()).as_bytes());
    repo.write(".env", content);
    repo.git(&["add", "-f", ".env"]);
    let err = repo.commit_blocked(&["commit", "-m", "settings"]);
    assert!(err.contains("secret.aws.access-key-id"), "{err}");
}
