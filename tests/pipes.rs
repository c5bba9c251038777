//! A closed pipe ends every subcommand quietly: `nbguard rules list --json | head -1` or
//! `nbguard hook status | head -1` must neither panic nor print `error: Broken pipe`, and the exit
//! code stays the one the work calls for (1 when findings block). The pipes here are closed before
//! nbguard starts, so every write it makes fails.

mod common;

use common::{leaky_repo, Notebook};
use std::process::{Command, Output, Stdio};

/// Which of the standard streams to close before the command runs.
#[derive(Clone, Copy, Debug)]
enum Closed {
    Stdout,
    Stderr,
    Both,
}

/// A pipe whose reading end is already closed: every write into it fails with EPIPE.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    writer.into()
}

/// Runs `cmd` with the chosen streams closed and `stdin` fed in; returns the exit code and what
/// reached the streams that stayed open.
fn run_closed(mut cmd: Command, closed: Closed, stdin: &[u8]) -> (Option<i32>, String) {
    use std::io::Write;
    let (out, err) = match closed {
        Closed::Stdout => (closed_pipe(), Stdio::piped()),
        Closed::Stderr => (Stdio::piped(), closed_pipe()),
        Closed::Both => (closed_pipe(), closed_pipe()),
    };
    cmd.stdin(Stdio::piped()).stdout(out).stderr(err);
    let mut child = cmd.spawn().expect("nbguard starts");
    let mut input = child.stdin.take().expect("stdin is piped");
    // The command may exit without reading its input.
    let _ = input.write_all(stdin);
    drop(input);
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("nbguard ends");
    let text = [
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr),
    ]
    .concat();
    (status.code(), text)
}

fn assert_quiet(what: &str, (code, text): (Option<i32>, String), expected: i32) {
    assert!(!text.contains("panicked"), "{what}: {text}");
    assert!(!text.contains("Broken pipe"), "{what}: {text}");
    assert_eq!(code, Some(expected), "{what}: {text}");
}

#[test]
fn every_subcommand_ends_quietly_on_a_closed_pipe() {
    let repo = leaky_repo();
    let base = repo.rev_parse("HEAD");
    repo.write(
        "second.ipynb",
        Notebook::new()
            .code(&format!("k = \"{}\"\n", common::aws_key_id_numbered(3)))
            .to_json(),
    );
    let head = repo.commit_all("second");
    let range = format!("{base}..{head}");
    let push_line = format!("refs/heads/main {head} refs/heads/main {base}\n");
    let cases: Vec<(&str, Vec<&str>, &[u8], i32)> = vec![
        ("scan", vec!["scan", "."], b"", 1),
        ("scan json", vec!["scan", "--format", "json", "."], b"", 1),
        ("scan sarif", vec!["scan", "--format", "sarif", "."], b"", 1),
        (
            "scan clean",
            vec!["scan", "--fail-on", "never", "."],
            b"",
            0,
        ),
        ("rules list", vec!["rules", "list"], b"", 0),
        ("rules list --json", vec!["rules", "list", "--json"], b"", 0),
        ("diff", vec!["diff", &range], b"", 1),
        (
            "pre-push",
            vec!["pre-push", "origin", "url"],
            push_line.as_bytes(),
            1,
        ),
        ("audit", vec!["audit", "--no-progress"], b"", 1),
        (
            "audit json",
            vec!["audit", "--no-progress", "--format", "json"],
            b"",
            1,
        ),
        ("hook status", vec!["hook", "status"], b"", 0),
        (
            "bad config",
            vec!["scan", "--fail-on", "high>", "."],
            b"",
            2,
        ),
        ("--version", vec!["--version"], b"", 0),
    ];
    for closed in [Closed::Stdout, Closed::Stderr, Closed::Both] {
        for (what, args, stdin, expected) in &cases {
            let out = run_closed(repo.nbguard_command(args), closed, stdin);
            assert_quiet(&format!("{what} ({closed:?} closed)"), out, *expected);
        }
    }
}

#[test]
fn hooks_end_quietly_on_a_closed_pipe() {
    let repo = leaky_repo();
    repo.write(
        "new.ipynb",
        Notebook::new()
            .code(&format!("k = \"{}\"\n", common::aws_key_id_numbered(5)))
            .to_json(),
    );
    repo.git(&["add", "-A"]);
    for closed in [Closed::Stdout, Closed::Stderr, Closed::Both] {
        let out = run_closed(repo.nbguard_command(&["pre-commit"]), closed, b"");
        assert_quiet(&format!("pre-commit ({closed:?} closed)"), out, 1);
        for action in [&["hook", "install"][..], &["hook", "uninstall"][..]] {
            let out = run_closed(repo.nbguard_command(action), closed, b"");
            assert_quiet(&format!("{action:?} ({closed:?} closed)"), out, 0);
        }
    }
    // The server side: a commit whose objects are in the repository and that no ref reaches
    // yet, as in a push.
    let base = repo.rev_parse("HEAD");
    let pushed = repo.commit_all("pushed");
    repo.git(&["reset", "--quiet", "--hard", &base]);
    let line = format!("{base} {pushed} refs/heads/main\n");
    for closed in [Closed::Stdout, Closed::Stderr, Closed::Both] {
        let cmd = repo.nbguard_command(&["pre-receive"]);
        let out = run_closed(cmd, closed, line.as_bytes());
        assert_quiet(&format!("pre-receive ({closed:?} closed)"), out, 1);
    }
}
