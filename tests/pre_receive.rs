//! `nbguard pre-receive` proven with real pushes: a bare repository with the hook installed by
//! `nbguard hook install --server`, real clients, real `git push`. Every rejection also checks
//! that the server's refs did not move, that the pushed objects are not in the server's
//! repository afterwards, and that git's `remote:` lines never carry the whole secret.

mod common;

use std::process::Output;

use common::{CellOutput, Notebook, Server, TestRepo};

/// A client with one clean commit, already pushed to `server`'s `main`.
fn seeded(server: &Server) -> TestRepo {
    let client = TestRepo::new();
    client.write("README.md", "# analysis\n");
    client.write(
        "analysis.ipynb",
        Notebook::new().code("import pandas as pd").to_json(),
    );
    client.commit_all("start the analysis");
    let out = client.push(&[server.url(), "main"]);
    assert!(out.status.success(), "seeding: {}", common::describe(&out));
    client
}

/// A notebook whose only secret is an AWS key id printed by a cell (its source is clean).
fn notebook_leaking_in_output() -> String {
    Notebook::new()
        .code("import boto3")
        .code_with(
            "print(session.get_credentials().access_key)",
            vec![CellOutput::stream(&format!("{}\n", common::aws_key_id()))],
        )
        .to_json()
}

/// Every object the client has that the server must not: `rev-list --objects <tips> --not
/// <server's refs as the client last saw them>`, or all of the tips' objects when `not` is empty.
fn objects_of(client: &TestRepo, tips: &[&str], not: &[&str]) -> Vec<String> {
    let mut args = vec!["rev-list", "--objects"];
    args.extend_from_slice(tips);
    if !not.is_empty() {
        args.push("--not");
        args.extend_from_slice(not);
    }
    client
        .git_stdout(&args)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

/// A push that must be refused: refs unchanged, objects absent, the secret masked. Returns the
/// push's stderr for further checks.
fn assert_rejected(
    server: &Server,
    out: &Output,
    refs_before: &[(&str, Option<String>)],
    objects: &[String],
    secret: &str,
) -> String {
    let err = common::stderr(out);
    assert!(
        !out.status.success(),
        "the push should be rejected: {}",
        common::describe(out)
    );
    assert!(err.contains("pre-receive hook declined"), "{err}");
    for (name, before) in refs_before {
        assert_eq!(&server.ref_id(name), before, "{name} moved: {err}");
    }
    assert!(
        !objects.is_empty(),
        "a rejection test names the pushed objects"
    );
    for id in objects {
        assert!(!server.has_object(id), "{id} of a rejected push is stored");
    }
    assert!(!err.contains(secret), "the secret is shown in full: {err}");
    err
}

/// A hook that runs before nbguard's (nbguard chains it when installed) and records how the push
/// arrived in the quarantine: `packs=<n> loose=<n>`.
fn install_quarantine_observer(server: &Server) -> std::path::PathBuf {
    let log = server.repo.scratch("observer").join("arrival");
    let hook = server.repo.path().join("hooks/pre-receive");
    let script = format!(
        "#!/bin/sh\ncat >/dev/null\nq=\"$GIT_QUARANTINE_PATH\"\n\
         packs=$(find \"$q\" -name '*.pack' | wc -l)\n\
         loose=$(find \"$q\" -path '*/[0-9a-f][0-9a-f]/*' -type f | wc -l)\n\
         echo \"packs=$packs loose=$loose\" >'{}'\n",
        log.display()
    );
    std::fs::create_dir_all(hook.parent().expect("hooks dir")).expect("mkdir hooks");
    std::fs::write(&hook, script).expect("writing the observer hook");
    common::make_executable(&hook);
    log
}

fn arrival(log: &std::path::Path) -> (usize, usize) {
    let text = std::fs::read_to_string(log).expect("the observer ran");
    let num = |key: &str| -> usize {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {text:?}"))
    };
    (num("packs="), num("loose="))
}

#[test]
fn clean_first_push_lands() {
    let server = Server::new();
    let client = TestRepo::new();
    client.write(
        "analysis.ipynb",
        Notebook::new()
            .code_with("print(1 + 1)", vec![CellOutput::stream("2\n")])
            .to_json(),
    );
    let head = client.commit_all("first");
    let err = common::assert_pushed(&client.push(&[server.url(), "main"]));
    assert_eq!(server.ref_id("refs/heads/main"), Some(head.clone()));
    assert!(server.has_object(&head));
    assert!(
        err.contains("0 findings") && !err.contains("blocking"),
        "{err}"
    );
}

#[test]
fn secret_added_then_removed_within_one_push_is_rejected() {
    let server = Server::new();
    let client = seeded(&server);
    let base = client.rev_parse("HEAD");
    let leaky = Notebook::new()
        .code("import pandas as pd")
        .code(&common::password_line());
    client.write("analysis.ipynb", leaky.to_json());
    let added = client.commit_all("connect to the warehouse");
    client.write(
        "analysis.ipynb",
        Notebook::new().code("import pandas as pd").to_json(),
    );
    client.commit_all("remove the password again");
    let objects = objects_of(&client, &["HEAD"], &[&base]);
    let out = client.push(&[server.url(), "main"]);
    let err = assert_rejected(
        &server,
        &out,
        &[("refs/heads/main", Some(base))],
        &objects,
        "PassXYZ",
    );
    assert!(err.contains(&added[..10]), "names the adding commit: {err}");
    assert!(err.contains("connect to the warehouse"), "{err}");
}

#[test]
fn secret_only_in_an_output_is_rejected_when_the_push_arrives_as_a_pack() {
    let server = Server::without_hook();
    let client = seeded(&server);
    let observed = install_quarantine_observer(&server);
    server.install_hook();
    assert!(server
        .repo
        .path()
        .join("hooks/pre-receive.pre-nbguard")
        .is_file());
    server.repo.git(&["config", "receive.unpackLimit", "1"]);
    let base = client.rev_parse("HEAD");
    client.write("analysis.ipynb", notebook_leaking_in_output());
    client.commit_all("check the credentials");
    let objects = objects_of(&client, &["HEAD"], &[&base]);
    let out = client.push(&[server.url(), "main"]);
    let err = assert_rejected(
        &server,
        &out,
        &[("refs/heads/main", Some(base))],
        &objects,
        &common::aws_key_id(),
    );
    assert_eq!(arrival(&observed).0, 1, "the push arrived as a pack");
    assert!(err.contains("secret.aws.access-key-id"), "{err}");
    assert!(err.contains("output 0 (stream)"), "{err}");
}

#[test]
fn secret_only_in_an_output_is_rejected_when_the_push_arrives_as_loose_objects() {
    let server = Server::without_hook();
    let client = seeded(&server);
    let observed = install_quarantine_observer(&server);
    server.install_hook();
    let base = client.rev_parse("HEAD");
    client.write("analysis.ipynb", notebook_leaking_in_output());
    client.commit_all("check the credentials");
    let objects = objects_of(&client, &["HEAD"], &[&base]);
    let out = client.push(&[server.url(), "main"]);
    let err = assert_rejected(
        &server,
        &out,
        &[("refs/heads/main", Some(base))],
        &objects,
        &common::aws_key_id(),
    );
    let (packs, loose) = arrival(&observed);
    assert_eq!((packs, loose), (0, objects.len()), "loose objects arrived");
    assert!(err.contains("secret.aws.access-key-id"), "{err}");
}

#[test]
fn new_branch_at_an_existing_commit_passes_even_with_an_old_secret_in_its_history() {
    let server = Server::without_hook();
    let client = seeded(&server);
    client.write("config.py", format!("{}\n", common::password_line()));
    client.commit_all("accepted before the hook existed");
    client.write("config.py", "password = os.environ['DB_PASSWORD']\n");
    let head = client.commit_all("read it from the environment");
    common::assert_pushed(&client.push(&[server.url(), "main"]));
    server.install_hook();
    let err = common::assert_pushed(&client.push(&[server.url(), "main:refs/heads/copy"]));
    assert_eq!(server.ref_id("refs/heads/copy"), Some(head));
    assert!(!err.contains("PassXYZ"), "{err}");
}

#[test]
fn branch_deletion_passes() {
    let server = Server::new();
    let client = seeded(&server);
    client.git(&["checkout", "--quiet", "-b", "topic"]);
    client.write("notes.md", "ideas\n");
    client.commit_all("ideas");
    common::assert_pushed(&client.push(&[server.url(), "topic"]));
    assert!(server.ref_id("refs/heads/topic").is_some());
    common::assert_pushed(&client.push(&[server.url(), "--delete", "topic"]));
    assert_eq!(server.ref_id("refs/heads/topic"), None);
}

#[test]
fn annotated_tag_bringing_a_leaky_commit_is_rejected() {
    let server = Server::new();
    let client = seeded(&server);
    let base = client.rev_parse("HEAD");
    client.git(&["checkout", "--quiet", "--detach"]);
    client.write(
        "deploy.py",
        format!("TOKEN = '{}'\n", common::github_token()),
    );
    client.commit_all("release script");
    client.git(&["tag", "-a", "v1.0", "-m", "release 1.0"]);
    let tag = client.rev_parse("refs/tags/v1.0");
    let objects = objects_of(&client, &["refs/tags/v1.0"], &[&base]);
    assert!(objects.contains(&tag), "rev-list lists the tag object too");
    let out = client.push(&[server.url(), "refs/tags/v1.0"]);
    let err = assert_rejected(
        &server,
        &out,
        &[("refs/tags/v1.0", None), ("refs/heads/main", Some(base))],
        &objects,
        &common::github_token(),
    );
    assert!(err.contains("refs/tags/v1.0"), "{err}");
    assert!(err.contains("deploy.py"), "{err}");
}

#[test]
fn one_leaky_ref_rejects_the_whole_push_and_neither_ref_moves() {
    let server = Server::new();
    let client = seeded(&server);
    let base = client.rev_parse("HEAD");
    client.git(&["checkout", "--quiet", "-b", "clean"]);
    client.write("plot.py", "plt.show()\n");
    client.commit_all("plot");
    client.git(&["checkout", "--quiet", "-b", "leaky", "main"]);
    client.write("db.py", format!("{}\n", common::password_line()));
    client.commit_all("db access");
    let objects = objects_of(&client, &["clean", "leaky"], &[&base]);
    let out = client.push(&[server.url(), "clean", "leaky"]);
    assert_rejected(
        &server,
        &out,
        &[
            ("refs/heads/clean", None),
            ("refs/heads/leaky", None),
            ("refs/heads/main", Some(base)),
        ],
        &objects,
        "PassXYZ",
    );
}

#[test]
fn rename_with_a_new_secret_is_rejected() {
    let server = Server::new();
    let client = seeded(&server);
    let base = client.rev_parse("HEAD");
    client.git(&["mv", "analysis.ipynb", "churn.ipynb"]);
    client.write(
        "churn.ipynb",
        Notebook::new()
            .code("import pandas as pd")
            .code(&format!(
                "aws_secret_access_key = '{}'",
                common::aws_secret_key()
            ))
            .to_json(),
    );
    client.commit_all("rename and connect");
    let objects = objects_of(&client, &["HEAD"], &[&base]);
    let out = client.push(&[server.url(), "main"]);
    let err = assert_rejected(
        &server,
        &out,
        &[("refs/heads/main", Some(base))],
        &objects,
        &common::aws_secret_key(),
    );
    assert!(err.contains("churn.ipynb"), "{err}");
}

#[test]
fn old_secret_already_on_the_server_does_not_block_unrelated_pushes() {
    let server = Server::without_hook();
    let client = TestRepo::new();
    let leaky = Notebook::new()
        .code(&common::password_line())
        .code("df = load()");
    client.write("analysis.ipynb", leaky.clone().to_json());
    client.commit_all("pushed before the hook was installed");
    common::assert_pushed(&client.push(&[server.url(), "main"]));
    server.install_hook();
    client.write("README.md", "# notes\n");
    client.commit_all("unrelated file");
    client.write(
        "analysis.ipynb",
        leaky
            .code_with("df.head()", vec![CellOutput::stream("   a  b\n0  1  2\n")])
            .to_json(),
    );
    let head = client.commit_all("another cell in the same notebook");
    let err = common::assert_pushed(&client.push(&[server.url(), "main"]));
    assert_eq!(server.ref_id("refs/heads/main"), Some(head));
    assert!(!err.contains("PassXYZ"), "{err}");
}

#[test]
fn force_push_bringing_a_leak_is_rejected() {
    let server = Server::new();
    let client = seeded(&server);
    let base = client.rev_parse("HEAD");
    client.git(&["checkout", "--quiet", "--orphan", "rewrite"]);
    // Nothing of the old history stays, so every object of the new one is new to the server.
    client.git(&["rm", "-r", "--quiet", "--cached", "."]);
    std::fs::remove_file(client.path().join("README.md")).expect("removing the old file");
    client.write("analysis.ipynb", notebook_leaking_in_output());
    client.commit_all("start over");
    let objects = objects_of(&client, &["HEAD"], &[&base]);
    let out = client.push(&["--force", server.url(), "HEAD:main"]);
    assert_rejected(
        &server,
        &out,
        &[("refs/heads/main", Some(base))],
        &objects,
        &common::aws_key_id(),
    );
}

#[test]
fn six_concurrent_pushes_from_separate_clones_land_only_when_clean() {
    let server = Server::new();
    let base = seeded(&server).rev_parse("HEAD");
    let results: Vec<(usize, Output, Vec<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let (server, base) = (&server, &base);
                s.spawn(move || {
                    let client = TestRepo::clone_of(server.url());
                    let branch = format!("b{i}");
                    client.git(&["checkout", "--quiet", "-b", &branch]);
                    let source = if i % 2 == 1 {
                        common::password_line()
                    } else {
                        format!("x = {i}")
                    };
                    client.write(
                        &format!("n{i}.ipynb"),
                        Notebook::new().code(&source).to_json(),
                    );
                    client.commit_all(&format!("work {i}"));
                    let objects = objects_of(&client, &["HEAD"], &[base]);
                    (i, client.push(&[server.url(), &branch]), objects)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a push thread panicked"))
            .collect()
    });
    for (i, out, objects) in &results {
        let name = format!("refs/heads/b{i}");
        if i % 2 == 1 {
            assert_rejected(&server, out, &[(&name, None)], objects, "PassXYZ");
        } else {
            common::assert_pushed(out);
            assert!(server.ref_id(&name).is_some());
        }
    }
}

#[test]
fn rejected_objects_are_not_in_the_repository_afterwards() {
    let server = Server::new();
    let client = seeded(&server);
    let base = client.rev_parse("HEAD");
    client.write("keys/id_rsa", common::pem_private_key());
    client.write("plots/a.txt", "chart\n");
    client.commit_all("add deploy key");
    let objects = objects_of(&client, &["HEAD"], &[&base]);
    assert!(objects.len() >= 5, "commit, trees and blobs: {objects:?}");
    let out = client.push(&[server.url(), "main"]);
    assert_rejected(
        &server,
        &out,
        &[("refs/heads/main", Some(base))],
        &objects,
        &common::pem_private_key(),
    );
    let quarantines = std::fs::read_dir(server.repo.path().join("objects"))
        .expect("objects dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("tmp_objdir"))
        .count();
    assert_eq!(quarantines, 0, "git removed the quarantine");
    let fsck = server.repo.git(&["fsck", "--no-dangling"]);
    assert!(fsck.status.success());
}

#[test]
fn rejection_names_ref_commit_author_file_cell_part_line_rule_and_how_to_fix() {
    let server = Server::new();
    let client = seeded(&server);
    let base = client.rev_parse("HEAD");
    let nb = Notebook::new()
        .markdown("# Churn")
        .code("import pandas as pd")
        .code(&format!(
            "df = pd.read_csv(path)\n{}",
            common::password_line()
        ));
    client.write("analysis.ipynb", nb.to_json());
    let commit = client.commit_all("load the customer table");
    let objects = objects_of(&client, &["HEAD"], &[&base]);
    let out = client.push(&[server.url(), "main"]);
    let err = assert_rejected(
        &server,
        &out,
        &[("refs/heads/main", Some(base))],
        &objects,
        "PassXYZ",
    );
    let remote: Vec<&str> = err.lines().filter(|l| l.starts_with("remote:")).collect();
    let text = remote.join("\n");
    for want in [
        "on refs/heads/main",
        &commit[..10],
        "Ada Tester <ada@example.com>",
        "load the customer table",
        "analysis.ipynb:",
        "cell 2 (code",
        "source",
        "line 2",
        "secret.generic.password",
        "P…[7 chars]",
        "git rebase -i",
        "git commit --amend",
        "Rotate",
    ] {
        assert!(text.contains(want), "remote output lacks {want:?}:\n{text}");
    }
    assert!(
        !text.contains("nbguard.allow="),
        "no bypass offered when it is off"
    );
}

/// The fingerprints the server offers for `-o nbguard.allow=<fingerprint>`.
fn offered_fingerprints(err: &str) -> Vec<String> {
    err.lines()
        .filter_map(|l| l.split("nbguard.allow=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .filter(|fp| fp.len() >= 16 && fp.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string)
        .collect()
}

#[test]
fn push_option_with_the_fingerprint_lets_a_reviewed_finding_through_and_is_logged() {
    let server = Server::new();
    server
        .repo
        .git(&["config", "receive.advertisePushOptions", "true"]);
    server.write_config("[hook]\nallow_push_option = true\n");
    let client = seeded(&server);
    let base = client.rev_parse("HEAD");
    client.write("fixture.py", format!("{}\n", common::password_line()));
    let head = client.commit_all("test fixture");
    let objects = objects_of(&client, &["HEAD"], &[&base]);
    let out = client.push(&[server.url(), "main"]);
    let err = assert_rejected(
        &server,
        &out,
        &[("refs/heads/main", Some(base.clone()))],
        &objects,
        "PassXYZ",
    );
    let fingerprints = offered_fingerprints(&err);
    assert_eq!(fingerprints.len(), 1, "{err}");
    let fp = &fingerprints[0];
    let log = server.repo.path().join("nbguard-allowed.log");
    assert!(!log.exists(), "nothing is logged for a rejection");

    let wrong = format!("nbguard.allow={}", "0".repeat(fp.len()));
    let out = client.push(&["-o", &wrong, server.url(), "main"]);
    assert_rejected(
        &server,
        &out,
        &[("refs/heads/main", Some(base))],
        &objects,
        "PassXYZ",
    );

    let allow = format!("nbguard.allow={fp}");
    let err = common::assert_pushed(&client.push(&["-o", &allow, server.url(), "main"]));
    assert_eq!(server.ref_id("refs/heads/main"), Some(head));
    assert!(err.contains("allowed by push option"), "{err}");
    let logged = std::fs::read_to_string(&log).expect("the bypass is logged");
    assert_eq!(logged.lines().count(), 1, "{logged}");
    assert!(
        logged.contains(fp.as_str()) && logged.contains("secret.generic.password"),
        "{logged}"
    );
    assert!(
        logged.contains("fixture.py") && !logged.contains("PassXYZ"),
        "{logged}"
    );
}

#[test]
fn push_option_does_nothing_unless_the_server_allows_it() {
    // Find the fingerprint on a server that offers the bypass...
    let offering = Server::new();
    offering.write_config("[hook]\nallow_push_option = true\n");
    let client = seeded(&offering);
    client.write("fixture.py", format!("{}\n", common::password_line()));
    client.commit_all("test fixture");
    let err = common::stderr(&client.push(&[offering.url(), "main"]));
    let fp = offered_fingerprints(&err)
        .pop()
        .unwrap_or_else(|| panic!("no fingerprint offered: {err}"));

    // ...then use it on one that advertises push options but does not allow the bypass.
    let server = Server::new();
    server
        .repo
        .git(&["config", "receive.advertisePushOptions", "true"]);
    client.git(&["checkout", "--quiet", "HEAD~1"]);
    common::assert_pushed(&client.push(&[server.url(), "HEAD:refs/heads/main"]));
    let base = client.rev_parse("HEAD");
    let objects = objects_of(&client, &["main"], &[&base]);
    let allow = format!("nbguard.allow={fp}");
    let out = client.push(&["-o", &allow, server.url(), "main"]);
    let err = assert_rejected(
        &server,
        &out,
        &[("refs/heads/main", Some(base))],
        &objects,
        "PassXYZ",
    );
    assert!(!err.contains("allowed by push option"), "{err}");
    assert!(!server.repo.path().join("nbguard-allowed.log").exists());
}

#[test]
fn unparsable_server_config_rejects_the_push_with_a_clear_message() {
    let server = Server::new();
    let client = seeded(&server);
    let base = client.rev_parse("HEAD");
    server.write_config("[hook\non_error = \"open\"\n");
    client.write("plot.py", "plt.show()\n");
    client.commit_all("clean change");
    let objects = objects_of(&client, &["HEAD"], &[&base]);
    let out = client.push(&[server.url(), "main"]);
    let err = assert_rejected(
        &server,
        &out,
        &[("refs/heads/main", Some(base))],
        &objects,
        "PassXYZ",
    );
    assert!(err.contains("nbguard: error"), "{err}");
    assert!(err.contains("nbguard.toml"), "names the file: {err}");
}

/// A server whose history lost an object (a tree of the commit `main` points at), as a
/// damaged disk or a careless `rm` would leave it; and a client holding that commit.
fn damaged_server() -> (Server, TestRepo) {
    let server = Server::without_hook();
    let client = seeded(&server);
    let tree = client.rev_parse("HEAD^{tree}");
    let loose = server
        .repo
        .path()
        .join("objects")
        .join(&tree[..2])
        .join(&tree[2..]);
    std::fs::remove_file(&loose).expect("a small push arrives as loose objects");
    assert!(!server.has_object(&tree));
    server.install_hook();
    (server, client)
}

#[test]
fn missing_object_in_a_damaged_server_rejects_the_push_when_failing_closed() {
    let (server, client) = damaged_server();
    let base = client.rev_parse("HEAD");
    client.write("db.py", format!("{}\n", common::password_line()));
    client.commit_all("db access");
    let objects = objects_of(&client, &["HEAD"], &[&base]);
    let out = client.push(&[server.url(), "main"]);
    let err = assert_rejected(
        &server,
        &out,
        &[("refs/heads/main", Some(base))],
        &objects,
        "PassXYZ",
    );
    assert!(err.contains("could not check this change"), "{err}");
    assert!(err.contains("missing"), "{err}");
}

#[test]
fn missing_object_in_a_damaged_server_lets_the_push_through_with_a_warning_when_open() {
    let (server, client) = damaged_server();
    server.write_config("[hook]\non_error = \"open\"\n");
    client.write("plot.py", "plt.show()\n");
    let head = client.commit_all("clean change");
    let err = common::assert_pushed(&client.push(&[server.url(), "main"]));
    assert_eq!(server.ref_id("refs/heads/main"), Some(head));
    assert!(err.contains("warning"), "{err}");
    assert!(err.contains("hook.on_error = \"open\""), "{err}");
}

#[test]
fn hostile_server_config_never_runs_its_programs() {
    let server = Server::new();
    let marker = server.repo.scratch("hostile").join("ran");
    let evil = server.repo.scratch("hostile").join("evil.sh");
    std::fs::write(
        &evil,
        format!("#!/bin/sh\necho \"$0 $*\" >>'{}'\ncat\n", marker.display()),
    )
    .expect("writing the hostile program");
    common::make_executable(&evil);
    let evil = evil.to_str().expect("utf-8");
    let settings = [
        ("core.fsmonitor", evil.to_string()),
        ("core.pager", evil.to_string()),
        ("core.editor", evil.to_string()),
        ("core.askPass", evil.to_string()),
        ("core.sshCommand", evil.to_string()),
        ("credential.helper", format!("!{evil}")),
        ("diff.external", evil.to_string()),
        ("diff.evil.textconv", evil.to_string()),
        ("filter.evil.clean", evil.to_string()),
        ("filter.evil.smudge", evil.to_string()),
        ("gpg.program", evil.to_string()),
    ];
    for (key, value) in &settings {
        server.repo.git(&["config", key, value]);
    }
    std::fs::create_dir_all(server.repo.path().join("info")).expect("info dir");
    std::fs::write(
        server.repo.path().join("info/attributes"),
        "* filter=evil diff=evil\n",
    )
    .expect("writing info/attributes");

    // The same configuration does run the program when git itself uses it.
    let witness = TestRepo::new();
    for (key, value) in &settings {
        witness.git(&["config", key, value]);
    }
    witness.write(".gitattributes", "* filter=evil diff=evil\n");
    witness.write("a.txt", "a\n");
    witness.commit_all("witness");
    assert!(marker.exists(), "the hostile program works");
    std::fs::remove_file(&marker).expect("resetting the marker");

    let client = TestRepo::new();
    client.write(".gitattributes", "*.ipynb filter=evil diff=evil\n");
    client.write(
        "analysis.ipynb",
        Notebook::new().code("import pandas").to_json(),
    );
    client.commit_all("clean");
    common::assert_pushed(&client.push(&[server.url(), "main"]));
    client.write("db.py", format!("{}\n", common::password_line()));
    client.commit_all("leaky");
    let out = client.push(&[server.url(), "main"]);
    assert!(!out.status.success(), "{}", common::describe(&out));
    assert!(
        !marker.exists(),
        "a program from the server's config ran: {}",
        std::fs::read_to_string(&marker).unwrap_or_default()
    );
}

#[test]
fn sha256_server_refuses_the_hook_install_and_fails_closed_with_a_clear_message() {
    let server = Server {
        repo: TestRepo::init(&["--bare", "--object-format=sha256"]),
    };
    let install = server.repo.nbguard(&[
        "hook",
        "install",
        "--server",
        "--repo",
        server.url(),
        "--command",
        env!("CARGO_BIN_EXE_nbguard"),
    ]);
    assert_eq!(
        install.status.code(),
        Some(2),
        "{}",
        common::describe(&install)
    );
    assert!(common::stderr(&install).contains("sha256"));

    // A hook put there by hand (the shipped hooks/pre-receive) fails closed, and says why.
    let hook = server.repo.path().join("hooks/pre-receive");
    let script = nbguard::hooks::script(
        nbguard::hooks::Kind::PreReceive,
        env!("CARGO_BIN_EXE_nbguard"),
    );
    std::fs::write(&hook, script).expect("writing the hook");
    common::make_executable(&hook);
    let client = TestRepo::init(&["--object-format=sha256"]);
    client.write("db.py", format!("{}\n", common::password_line()));
    client.commit_all("leaky");
    let objects = objects_of(&client, &["HEAD"], &[]);
    assert_eq!(objects[0].len(), 64);
    let out = client.push(&[server.url(), "main"]);
    let err = assert_rejected(
        &server,
        &out,
        &[("refs/heads/main", None)],
        &objects,
        "PassXYZ",
    );
    assert!(err.contains("SHA-256"), "{err}");
    assert!(err.contains("hook.on_error = \"closed\""), "{err}");

    server.write_config("[hook]\non_error = \"open\"\n");
    let err = common::assert_pushed(&client.push(&[server.url(), "main"]));
    assert!(err.contains("warning") && err.contains("SHA-256"), "{err}");
}

// ---- Issue 9: what a push carries besides file content, and inline markers on the server ----

/// Pushes the client's `main` (one commit past `base`, which the server has) and asserts that
/// the push is refused without showing `secret`; returns the push's stderr.
fn push_of_main_rejected(server: &Server, client: &TestRepo, base: String, secret: &str) -> String {
    let objects = objects_of(client, &["HEAD"], &[&base]);
    let out = client.push(&[server.url(), "main"]);
    assert_rejected(
        server,
        &out,
        &[("refs/heads/main", Some(base))],
        &objects,
        secret,
    )
}

#[test]
fn key_in_a_commit_message_is_rejected_and_located_as_the_message() {
    let server = Server::new();
    let client = seeded(&server);
    let base = client.rev_parse("HEAD");
    client.write("notes.md", "clean notes\n");
    let key = common::aws_key_id();
    client.commit_all(&format!("add notes\n\ndeploy with {key} for now"));
    let err = push_of_main_rejected(&server, &client, base, &key);
    assert!(err.contains("commit message of"), "{err}");
    assert!(err.contains("secret.aws.access-key-id"), "{err}");
}

#[test]
fn key_in_an_annotated_tag_message_is_rejected_even_on_an_old_commit() {
    let server = Server::new();
    let client = seeded(&server);
    let key = common::aws_key_id();
    client.git(&["tag", "-a", "v1", "-m", &format!("release\n\nkey {key}")]);
    let tag = client.rev_parse("refs/tags/v1");
    let out = client.push(&[server.url(), "refs/tags/v1"]);
    let err = assert_rejected(&server, &out, &[("refs/tags/v1", None)], &[tag], &key);
    assert!(err.contains("tag v1"), "{err}");

    // A clean annotated tag still lands.
    client.git(&["tag", "-a", "v2", "-m", "release two"]);
    common::assert_pushed(&client.push(&[server.url(), "refs/tags/v2"]));
}

#[test]
fn key_in_an_added_file_name_is_rejected() {
    let server = Server::new();
    let client = seeded(&server);
    let base = client.rev_parse("HEAD");
    let token = common::github_token();
    client.write(&format!("backup-{token}.txt"), "nothing here\n");
    client.commit_all("add backup");
    let err = push_of_main_rejected(&server, &client, base, &token);
    assert!(err.contains("file names added by"), "{err}");
}

fn push_with_marked_secret(server: &Server) -> (TestRepo, String, Output) {
    let client = seeded(server);
    let base = client.rev_parse("HEAD");
    client.write(
        "settings.py",
        format!("{}  # nbguard: ignore\n", common::password_line()),
    );
    client.commit_all("settings");
    let out = client.push(&[server.url(), "main"]);
    (client, base, out)
}

#[test]
fn inline_marker_on_the_server_is_honoured_but_listed_and_logged_by_default() {
    let server = Server::new();
    let (client, _, out) = push_with_marked_secret(&server);
    let err = common::assert_pushed(&out);
    assert_eq!(
        server.ref_id("refs/heads/main"),
        Some(client.rev_parse("HEAD"))
    );
    assert!(err.contains("inline marker"), "{err}");
    assert!(
        err.contains("settings.py:1") && err.contains("secret.generic.password"),
        "{err}"
    );
    assert!(!err.contains("PassXYZ"), "{err}");
    let log = std::fs::read_to_string(server.repo.path().join("nbguard-allowed.log"))
        .expect("the let-through finding is logged");
    let head = client.rev_parse("HEAD");
    assert_eq!(log.lines().count(), 1, "{log}");
    for part in [
        "how=inline-marker",
        "ref=refs/heads/main",
        &format!("commit={head}"),
        "rule=secret.generic.password",
        "path=settings.py:1",
        "fingerprint=",
        "time=",
        "pusher=",
    ] {
        assert!(log.contains(part), "{part} missing: {log}");
    }
    assert!(!log.contains("PassXYZ"), "{log}");
}

#[test]
fn inline_marker_on_the_server_is_not_honoured_when_configured_to_ignore() {
    let server = Server::new();
    server.write_config("[hook]\ninline_suppressions = \"ignore\"\n");
    let (client, base, out) = push_with_marked_secret(&server);
    let objects = objects_of(&client, &["HEAD"], &[&base]);
    assert_rejected(
        &server,
        &out,
        &[("refs/heads/main", Some(base))],
        &objects,
        "PassXYZ",
    );
    assert!(!server.repo.path().join("nbguard-allowed.log").exists());
}

#[test]
fn a_mistyped_inline_policy_rejects_the_push() {
    let server = Server::new();
    let client = seeded(&server);
    server.write_config("[hook]\ninline_suppressions = \"logg\"\n");
    client.write("notes.md", "clean\n");
    client.commit_all("clean change");
    let out = client.push(&[server.url(), "main"]);
    assert!(!out.status.success(), "{}", common::describe(&out));
    assert!(common::stderr(&out).contains("inline_suppressions"));
}

#[test]
fn key_in_a_symbolic_link_target_is_rejected() {
    let server = Server::new();
    let client = seeded(&server);
    let base = client.rev_parse("HEAD");
    let token = common::github_token();
    std::os::unix::fs::symlink(
        format!("/srv/keys/{token}"),
        client.path().join("current-key"),
    )
    .expect("symlink");
    client.commit_all("link the key");
    let err = push_of_main_rejected(&server, &client, base, &token);
    assert!(err.contains("file names added by"), "{err}");
}
