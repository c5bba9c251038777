//! Content shaped to slip past the gates (issue 9): a file that only starts like a Git LFS
//! pointer, a file over the size limit, UTF-16 text, a key wrapped in terminal colour codes, a
//! notebook that no longer parses, text behind a binary signature. Each is driven the way a
//! careless or clever pusher would: a real `git push` into a bare repository whose pre-receive
//! hook was installed by `nbguard hook install --server`, or a real `git commit` through the
//! installed pre-commit hook. What must still pass (well-formed LFS pointers, images, PDFs, clean
//! pushes) is pushed the same way.

mod common;

use std::process::Output;

use common::{Notebook, Server, TestRepo};
use serde_json::Value;

/// A client whose first clean commit is on `server`'s `main`.
fn seeded(server: &Server) -> TestRepo {
    let client = TestRepo::new();
    client.write("README.md", "# data pipeline\n");
    client.commit_all("start");
    let out = client.push(&[server.url(), "main"]);
    assert!(out.status.success(), "seeding: {}", common::describe(&out));
    client
}

/// Commits everything and pushes it; returns the push and the server's `main` before it.
fn push_all(server: &Server, client: &TestRepo, msg: &str) -> (Output, Option<String>) {
    let before = server.ref_id("refs/heads/main");
    client.commit_all(msg);
    (client.push(&[server.url(), "main"]), before)
}

/// The push was declined, `main` did not move, and no secret was shown whole.
fn assert_rejected(server: &Server, pushed: &(Output, Option<String>), secrets: &[&str]) -> String {
    let (out, before) = pushed;
    let err = common::stderr(out);
    assert!(
        !out.status.success() && err.contains("pre-receive hook declined"),
        "the push should be rejected: {}",
        common::describe(out)
    );
    assert_eq!(
        &server.ref_id("refs/heads/main"),
        before,
        "main moved: {err}"
    );
    for s in secrets {
        assert!(!err.contains(s), "a secret is shown in full: {err}");
    }
    err
}

fn assert_names(text: &str, wanted: &[&str]) {
    for w in wanted {
        assert!(text.contains(w), "`{w}` is not named in:\n{text}");
    }
}

/// `nbguard scan --format json` of the client's work tree with extra arguments.
fn scan_json(repo: &TestRepo, args: &[&str]) -> Value {
    let mut all = vec!["scan", "--no-config", "--format", "json"];
    all.extend_from_slice(args);
    all.push(".");
    let out = repo.nbguard(&all);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", common::describe(&out)))
}

/// `(path, line, column)` of every finding of a JSON report, sorted.
fn places(report: &Value) -> Vec<(String, u64, u64)> {
    let mut out: Vec<_> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().expect("path").to_string(),
                f["line"].as_u64().expect("line"),
                f["column"].as_u64().expect("column"),
            )
        })
        .collect();
    out.sort();
    out
}

fn diagnostic_kinds(report: &Value) -> Vec<(String, String)> {
    report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            (
                d["path"].as_str().expect("path").to_string(),
                d["kind"].as_str().expect("kind").to_string(),
            )
        })
        .collect()
}

/// A key with a colour change in the middle, as a terminal log renders a highlighted key.
fn coloured(key: &str) -> String {
    format!("\x1b[1;32m{}\x1b[0m\x1b[32m{}\x1b[0m", &key[..8], &key[8..])
}

/// Text encoded as UTF-16 (little or big endian), with or without a byte-order mark.
fn utf16(text: &str, little: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let units = bom.then_some(0xfeff).into_iter().chain(text.encode_utf16());
    for u in units {
        out.extend(if little {
            u.to_le_bytes()
        } else {
            u.to_be_bytes()
        });
    }
    out
}

const LFS_OID: &str = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393";

fn lfs_pointer() -> String {
    format!("version https://git-lfs.github.com/spec/v1\noid sha256:{LFS_OID}\nsize 734003200\n")
}

/// A PNG's first bytes: signature, then an IHDR chunk with its NULs.
fn png() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x10".to_vec();
    b.extend((0..200u8).map(|i| i.wrapping_mul(37)));
    b
}

/// A PDF as writers make them: the binary-marker comment, then a compressed-looking stream.
fn pdf() -> Vec<u8> {
    let mut b =
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length 64 /Filter /FlateDecode >>\nstream\n"
            .to_vec();
    b.extend((1..64u8).map(|i| i.wrapping_mul(91) | 0x80));
    b.extend_from_slice(b"\nendstream\nendobj\n");
    b
}

mod lfs {
    use super::*;

    #[test]
    fn file_that_only_starts_like_an_lfs_pointer_is_rejected() {
        let server = Server::new();
        let client = seeded(&server);
        let key = common::aws_key_id();
        client.write(
            "model.bin",
            format!("{}\nAWS_ACCESS_KEY_ID = \"{key}\"\n", lfs_pointer()),
        );
        let pushed = push_all(&server, &client, "add the model");
        let err = assert_rejected(&server, &pushed, &[&key]);
        assert_names(&err, &["model.bin:5:", "secret.aws.access-key-id"]);
    }

    #[test]
    fn pointer_with_a_key_after_its_size_line_is_rejected_in_a_commit() {
        let repo = TestRepo::new();
        repo.write("README.md", "data\n");
        repo.commit_all("start");
        repo.install_hook(&[]);
        let key = common::aws_key_id();
        repo.write("weights.bin", format!("{}key {key}\n", lfs_pointer()));
        repo.git(&["add", "weights.bin"]);
        let err = repo.commit_blocked(&["commit", "-m", "weights"]);
        assert_names(&err, &["weights.bin:4:", "secret.aws.access-key-id"]);
    }

    #[test]
    fn well_formed_pointers_images_pdfs_and_clean_files_are_accepted() {
        let server = Server::new();
        let client = seeded(&server);
        client.write("model.bin", lfs_pointer());
        let ext = format!("ext-0-gzip sha256:{LFS_OID}\n");
        client.write(
            "data.parquet",
            lfs_pointer().replacen("\noid", &format!("\n{ext}oid"), 1),
        );
        client.write("plot.png", png());
        client.write("paper.pdf", pdf());
        client.write("notes.md", "Nothing secret here.\n");
        let head = {
            let (out, _) = push_all(&server, &client, "model, data, plot and paper");
            common::assert_pushed(&out);
            client.rev_parse("HEAD")
        };
        assert_eq!(server.ref_id("refs/heads/main"), Some(head));
        let report = scan_json(&client, &[]);
        let kinds = diagnostic_kinds(&report);
        for expected in [
            ("model.bin", "lfs-pointer"),
            ("data.parquet", "lfs-pointer"),
            ("plot.png", "binary"),
            ("paper.pdf", "binary"),
        ] {
            assert!(
                kinds.contains(&(expected.0.into(), expected.1.into())),
                "{expected:?} not in {kinds:?}"
            );
        }
        assert!(places(&report).is_empty(), "{report:#}");
    }
}

mod size {
    use super::*;

    const FILL: &str = "2026-11-30,store-0042,basket,19.99\n";

    /// A CSV of about 9 MB with a distinct key crossing each offset in `across`, and one on its
    /// last line; returns the text and each key's 1-based (line, column).
    fn csv(across: &[usize]) -> (String, Vec<(String, usize, usize)>) {
        let mut text = String::from("date,store,kind,amount\n");
        let mut keys = Vec::new();
        let mut place = |text: &mut String, key: String| {
            let line = text.matches('\n').count() + 1;
            let column = text.len() - text.rfind('\n').map_or(0, |p| p + 1) + 1;
            text.push_str(&key);
            keys.push((key, line, column));
        };
        for (n, &at) in across.iter().enumerate() {
            while text.len() + FILL.len() < at - 10 {
                text.push_str(FILL);
            }
            let pad = at - 10 - text.len();
            text.push_str(&"x".repeat(pad.saturating_sub(1)));
            text.push(',');
            place(&mut text, common::aws_key_id_numbered(n));
            text.push('\n');
        }
        while text.len() < 9 << 20 {
            text.push_str(FILL);
        }
        text.push_str("total,");
        place(&mut text, common::aws_key_id_numbered(31));
        text.push('\n');
        (text, keys)
    }

    /// Offsets around where windows of 4 MiB (overlapping by 64 KiB, read 256 KiB at a time)
    /// end and begin.
    fn boundaries() -> Vec<usize> {
        let w = 4 << 20;
        let mut at = vec![
            w - (128 << 10),
            w - (64 << 10),
            w,
            w + 8192,
            2 * w - (64 << 10),
        ];
        at.extend([2 * w, 2 * w + 8192]);
        at
    }

    #[test]
    fn keys_across_window_boundaries_and_on_the_last_line_are_found_once_each() {
        let repo = TestRepo::new();
        let (text, keys) = csv(&boundaries());
        repo.write("sales.csv", &text);
        let report = scan_json(&repo, &["--max-file-size", "1000000"]);
        let want: Vec<(String, u64, u64)> = keys
            .iter()
            .map(|(_, l, c)| ("sales.csv".to_string(), *l as u64, *c as u64))
            .collect();
        assert_eq!(places(&report), want, "every key once, at its place");
        assert!(diagnostic_kinds(&report).is_empty(), "{report:#}");
    }

    #[test]
    fn csv_over_the_size_limit_with_a_key_on_its_last_line_is_rejected() {
        let server = Server::new();
        server.write_config("[scan]\nmax_file_size = 1000000\n");
        let client = seeded(&server);
        let (text, keys) = csv(&boundaries());
        client.write("exports/sales.csv", &text);
        let pushed = push_all(&server, &client, "monthly export");
        let secrets: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
        let err = assert_rejected(&server, &pushed, &secrets);
        for (_, line, column) in &keys {
            assert_names(&err, &[&format!("exports/sales.csv:{line}:{column}")]);
        }
        assert!(!err.contains("not scanned"), "{err}");
    }

    #[test]
    fn staged_file_over_the_size_limit_is_blocked_but_an_old_key_is_not_new() {
        let repo = TestRepo::new();
        repo.write(".nbguard.toml", "[scan]\nmax_file_size = 1000000\n");
        let (text, keys) = csv(&[3 << 20]);
        repo.write("sales.csv", &text);
        repo.commit_all_unchecked("export from before nbguard");
        repo.install_hook(&[]);
        // Appending rows with a new key: only the new key is reported.
        let fresh = common::aws_key_id_numbered(7);
        repo.write("sales.csv", format!("{text}{FILL}refund,{fresh}\n"));
        repo.git(&["add", "sales.csv"]);
        let err = repo.commit_blocked(&["commit", "-m", "more rows"]);
        let new_line = keys.last().expect("a last key").1 + 2;
        assert_names(&err, &[&format!("sales.csv:{new_line}:8"), "1 finding"]);
        // Appending clean rows only passes: the keys already there are not new.
        repo.write("sales.csv", format!("{text}{FILL}"));
        repo.git(&["add", "sales.csv"]);
        repo.commit_passes(&["commit", "-m", "clean rows"]);
    }

    #[test]
    fn audit_scans_a_blob_over_the_size_limit() {
        let repo = TestRepo::new();
        let (text, keys) = csv(&[5 << 20]);
        repo.write("sales.csv", &text);
        repo.commit_all_unchecked("export");
        let config = repo.scratch("cfg").join("nbguard.toml");
        std::fs::write(&config, "[scan]\nmax_file_size = 1000000\n").expect("config");
        let config = config.to_str().expect("UTF-8 path").to_string();
        let out = repo.nbguard(&["audit", "--no-config", "--config", &config]);
        let text = String::from_utf8_lossy(&out.stdout);
        for (_, line, _) in &keys {
            assert_names(&text, &[&format!("sales.csv:{line}")]);
        }
        assert_eq!(out.status.code(), Some(1), "{}", common::describe(&out));
    }
}

mod encodings {
    use super::*;

    #[test]
    fn utf16_and_utf8_bom_files_with_keys_are_rejected_at_their_lines() {
        let server = Server::new();
        let client = seeded(&server);
        let key = |n| common::aws_key_id_numbered(n);
        let reg = format!(
            "Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\Software\\Sync]\r\n\"AccessKey\"=\"{}\"\r\n",
            key(1)
        );
        client.write("sync.reg", utf16(&reg, true, true));
        let csv = format!("user,key\nsvc,{}\n", key(2));
        client.write("keys.csv", utf16(&csv, false, true));
        let log = format!("started\r\nexport AWS_ACCESS_KEY_ID={}\r\n", key(3));
        client.write("ps.log", utf16(&log, true, false));
        client.write("app.env", format!("\u{feff}AWS_ACCESS_KEY_ID={}\n", key(4)));
        let pushed = push_all(&server, &client, "settings from the Windows box");
        let (k1, k2, k3, k4) = (key(1), key(2), key(3), key(4));
        let err = assert_rejected(&server, &pushed, &[&k1, &k2, &k3, &k4]);
        assert_names(
            &err,
            &[
                "sync.reg:4:14",
                "keys.csv:2:5",
                "ps.log:2:26",
                "app.env:1:19",
            ],
        );
        assert!(!err.contains("binary"), "UTF-16 is text: {err}");
    }

    #[test]
    fn bomless_utf16_file_is_blocked_in_a_commit() {
        let repo = TestRepo::new();
        repo.write("README.md", "data\n");
        repo.commit_all("start");
        repo.install_hook(&[]);
        let text = format!("line one\nsecret: {}\n", common::aws_key_id());
        repo.write("out.txt", utf16(&text, false, false));
        repo.git(&["add", "out.txt"]);
        let err = repo.commit_blocked(&["commit", "-m", "output"]);
        assert_names(&err, &["out.txt:2:9", "secret.aws.access-key-id"]);
    }
}

mod terminal {
    use super::*;

    #[test]
    fn key_broken_up_by_colour_codes_in_a_log_is_rejected_at_its_raw_column() {
        let server = Server::new();
        let client = seeded(&server);
        let key = common::aws_key_id();
        let log = format!(
            "\x1b[1mdeploy\x1b[0m starting\n\x1b]0;deploy\x07step 1 ok\nusing key {}\n",
            coloured(&key)
        );
        client.write("deploy.log", &log);
        let pushed = push_all(&server, &client, "deploy log");
        let err = assert_rejected(&server, &pushed, &[&key]);
        // Columns count the raw line: the key starts after `using key ` and one escape.
        assert_names(&err, &["deploy.log:3:18", "secret.aws.access-key-id"]);
    }

    #[test]
    fn key_broken_up_by_escapes_in_a_notebook_source_and_output_is_blocked() {
        let repo = TestRepo::new();
        repo.write("nb.ipynb", Notebook::new().code("x = 1").to_json());
        repo.commit_all("start");
        repo.install_hook(&[]);
        let (source_key, output_key) = (common::aws_key_id_numbered(1), common::aws_key_id());
        let nb = Notebook::new().code("x = 1").code_with(
            &format!("key = \"{}\"", coloured(&source_key)),
            vec![common::CellOutput::stream(&format!(
                "loaded {}\n",
                coloured(&output_key)
            ))],
        );
        repo.write("nb.ipynb", nb.to_json());
        repo.git(&["add", "nb.ipynb"]);
        let err = repo.commit_blocked(&["commit", "-m", "keys"]);
        assert_names(&err, &["source · line 1", "output 0 (stream)"]);
        assert!(
            !err.contains(&source_key) && !err.contains(&output_key),
            "{err}"
        );
    }
}

mod broken_notebooks {
    use super::*;

    fn password_cell() -> Notebook {
        Notebook::new().code("import psycopg2").code(&format!(
            "{}\nconn = connect(password=password)",
            common::password_line()
        ))
    }

    #[test]
    fn conflict_marked_notebook_with_a_password_is_rejected() {
        let server = Server::new();
        let client = seeded(&server);
        let clean = Notebook::new().code("import psycopg2").to_json();
        let ours = password_cell().to_json();
        // What a merge leaves in the file when both sides changed the notebook.
        let marked = format!("<<<<<<< HEAD\n{ours}\n=======\n{clean}\n>>>>>>> feature\n");
        client.write("db.ipynb", &marked);
        let pushed = push_all(&server, &client, "merge feature");
        let err = assert_rejected(&server, &pushed, &["PassXYZ"]);
        assert_names(&err, &["db.ipynb:", "secret.generic.password"]);
    }

    #[test]
    fn truncated_notebook_with_a_password_is_blocked_as_a_valid_one_would_be() {
        let repo = TestRepo::new();
        repo.write("README.md", "data\n");
        repo.commit_all("start");
        repo.install_hook(&[]);
        let whole = password_cell().code("print('done')").to_json();
        let cut = &whole[..whole.find("print(").expect("the last cell")];
        repo.write("db.ipynb", cut);
        repo.git(&["add", "db.ipynb"]);
        let err = repo.commit_blocked(&["commit", "-m", "save"]);
        assert_names(&err, &["secret.generic.password", "not valid JSON"]);
        // The valid notebook reports the same secret (same fingerprint).
        let valid = TestRepo::new();
        valid.write("db.ipynb", password_cell().to_json());
        let fingerprints = |r: &Value| -> Vec<String> {
            r["findings"]
                .as_array()
                .expect("findings")
                .iter()
                .map(|f| f["fingerprint"].as_str().expect("fp").to_string())
                .collect()
        };
        assert_eq!(
            fingerprints(&scan_json(&repo, &[])),
            fingerprints(&scan_json(&valid, &[]))
        );
    }
}

mod binary {
    use super::*;

    #[test]
    fn text_behind_a_binary_signature_is_scanned() {
        let server = Server::new();
        let client = seeded(&server);
        let key = common::aws_key_id();
        client.write("report.pdf", format!("%PDF-1.4\nAWS_ACCESS_KEY_ID={key}\n"));
        let pushed = push_all(&server, &client, "report");
        let err = assert_rejected(&server, &pushed, &[&key]);
        assert_names(&err, &["report.pdf:2:19"]);
    }

    #[test]
    fn binary_formats_are_noted_by_name() {
        let repo = TestRepo::new();
        repo.write("paper.pdf", pdf());
        repo.write("plot.png", png());
        repo.write("archive.gz", b"\x1f\x8b\x08\x00\x00\x00\x00\x00");
        let report = scan_json(&repo, &[]);
        let messages: Vec<&str> = report["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .filter_map(|d| d["message"].as_str())
            .collect();
        for name in ["(PDF)", "(PNG)", "(gzip)"] {
            assert!(
                messages.iter().any(|m| m.contains(name)),
                "{name} in {messages:?}"
            );
        }
    }
}
