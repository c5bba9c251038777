//! Configuration mistakes are errors, never a silent all-clear: rule references that name no
//! rule, unknown `[pii]` kinds, thresholds that cannot fire, bad custom rules, all exit 2 with a
//! message that names the mistake, and the nearest real ids. Run with the built binary in real
//! repositories, as a user (and a CI job) would.

mod common;

use common::{aws_key_id, describe, leaky_repo, stderr, Notebook, TestRepo};

fn scan_with_config(repo: &TestRepo, toml: &str) -> std::process::Output {
    repo.write(".nbguard.toml", toml);
    repo.nbguard(&["scan", "."])
}

fn assert_config_error(out: &std::process::Output, needles: &[&str]) {
    assert_eq!(out.status.code(), Some(2), "{}", describe(out));
    let err = stderr(out);
    for n in needles {
        assert!(err.contains(n), "missing {n:?} in:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_typo_in_rules_only_is_an_error_with_the_nearest_id() {
    let repo = leaky_repo();
    let out = scan_with_config(&repo, "[rules]\nonly = [\"secret.aws.acess-key-id\"]\n");
    assert_config_error(
        &out,
        &[
            "[rules] only",
            ".nbguard.toml",
            "`secret.aws.acess-key-id` matches no rule",
            "did you mean `secret.aws.access-key-id`?",
        ],
    );
}

#[test]
fn unknown_ids_in_disable_and_severity_keys_are_errors() {
    let repo = leaky_repo();
    let out = scan_with_config(&repo, "[rules]\ndisable = [\"pii.phones\"]\n");
    assert_config_error(&out, &["[rules] disable", "did you mean `pii.phone`?"]);
    let out = scan_with_config(&repo, "[rules.severity]\n\"secret.aws\" = \"low\"\n");
    assert_config_error(&out, &["[rules] severity", "did you mean `secret.aws.*`?"]);
    // A glob that names real rules is fine.
    let out = scan_with_config(&repo, "[rules]\ndisable = [\"pii.*\"]\n");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
}

#[test]
fn an_unknown_pii_kind_is_an_error() {
    let repo = leaky_repo();
    let out = scan_with_config(&repo, "[pii]\nemial = false\n");
    assert_config_error(
        &out,
        &["[pii]", "`emial` is not a kind of personal data", "`email`"],
    );
}

#[test]
fn a_fail_on_glob_that_matches_no_rule_fails_instead_of_passing_the_gate() {
    let repo = leaky_repo();
    repo.write(".nbguard.toml", "");
    let out = repo.nbguard(&["scan", "--fail-on", "secret.aws>0", "."]);
    assert_config_error(
        &out,
        &[
            "--fail-on",
            "`secret.aws` matches no rule",
            "`secret.aws.*`",
        ],
    );
    // The CI variable is the same flag.
    let out = repo
        .nbguard_command(&["scan", "."])
        .env("NBGUARD_FAIL_ON", "secret.aws>0")
        .output()
        .expect("nbguard runs");
    assert_config_error(&out, &["`secret.aws` matches no rule"]);
    let out = scan_with_config(&repo, "[fail]\non = \"secret.asw.*>0\"\n");
    assert_config_error(&out, &["[fail] on", "did you mean `secret.aws.*`?"]);
    // Spelled right, the gate works.
    let out = repo.nbguard(&["scan", "--fail-on", "secret.aws.*>0", "."]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
}

#[test]
fn a_threshold_on_switched_off_rules_is_an_error() {
    let repo = leaky_repo();
    let out = scan_with_config(
        &repo,
        "[rules]\ndisable = [\"secret.aws.*\"]\n[fail]\non = \"secret.aws.*>0\"\n",
    );
    assert_config_error(&out, &["names only rules that are switched off"]);
}

#[test]
fn threshold_parse_errors_point_at_the_bad_token() {
    let repo = leaky_repo();
    let out = repo.nbguard(&["scan", "--fail-on", "high>0 or", "."]);
    assert_config_error(&out, &["nothing after `or` (column 8)"]);
    let out = repo.nbguard(&["scan", "--fail-on", "high>0 or hihg>1", "."]);
    assert_config_error(&out, &["`hihg` (column 11)", "expected a severity"]);
    let out = repo.nbguard(&["scan", "--fail-on", "high>lots", "."]);
    assert_config_error(&out, &["`lots` (column 6): not a whole number"]);
}

#[test]
fn fail_on_never_reports_without_blocking_from_the_flag_and_from_config() {
    let repo = leaky_repo();
    repo.write(".nbguard.toml", "");
    let out = repo.nbguard(&["scan", "--fail-on", "never", "."]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("secret.aws.access-key-id"), "{text}");
    let out = scan_with_config(&repo, "[fail]\non = \"never\"\n");
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    // The same in a hook: the commit goes through, the finding is shown.
    repo.write(".nbguard.toml", "[fail]\non = \"never\"\n");
    repo.write(
        "more.ipynb",
        Notebook::new()
            .code(&format!("k2 = \"{}\"\n", aws_key_id()))
            .to_json(),
    );
    repo.git(&["add", "-A"]);
    let out = repo.nbguard(&["pre-commit"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(stderr(&out).contains("secret.aws.access-key-id"));
}

/// A custom rule whose regex does not compile.
const BAD_REGEX_RULE: &str = r#"
[[rules.custom]]
id = "secret.acme.token"
title = "ACME token"
severity = "high"
keywords = ["acme_"]
regex = '''acme_([A-Za-z0-9]{32}'''
"#;

#[test]
fn a_custom_rule_with_a_bad_regex_fails_at_load_whatever_is_scanned() {
    // Nothing in this repository contains the rule's keyword: the rule is still checked.
    let repo = leaky_repo();
    let out = scan_with_config(&repo, BAD_REGEX_RULE);
    assert_config_error(&out, &["rule secret.acme.token", "invalid match regex"]);
    // In a hook too: exit 2 with a message, never a panic in the middle of `git commit`.
    repo.install_hook(&[]);
    repo.write("notes.md", "acme_ token docs\n");
    repo.git(&["add", "-A"]);
    let out = repo.git_may_fail(&["commit", "-m", "notes"]);
    assert!(!out.status.success(), "{}", describe(&out));
    let err = stderr(&out);
    assert!(err.contains("secret.acme.token"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn custom_rule_mistakes_are_named() {
    let repo = leaky_repo();
    let rule = |extra: &str| {
        format!(
            "[[rules.custom]]\nid = \"secret.acme.token\"\ntitle = \"ACME token\"\nseverity = \"high\"\nregex = '''acme_([A-Za-z0-9]{{32}})'''\n{extra}"
        )
    };
    let out = scan_with_config(&repo, &rule("secret_group = \"tok\"\n"));
    assert_config_error(&out, &["secret.acme.token", "no capture group named tok"]);
    let out = scan_with_config(&repo, &rule("validator = \"luhnn\"\n"));
    assert_config_error(&out, &["secret.acme.token", "unknown validator `luhnn`"]);
    let out = scan_with_config(&repo, &rule("examples = [\"acme_short\"]\n"));
    assert_config_error(&out, &["secret.acme.token", "example 1 is not found"]);
    let out = scan_with_config(&repo, &rule("colour = \"red\"\n"));
    assert_config_error(&out, &["unknown field `colour`"]);
    let near = "[[rules.custom]]\nid = \"secret.aws.acess-key-id\"\ntitle = \"t\"\nseverity = \"high\"\nregex = '''AKIA[A-Z0-9]{16}'''\n";
    let out = scan_with_config(&repo, near);
    assert_config_error(&out, &["did you mean `secret.aws.access-key-id`?"]);
}

#[test]
fn unknown_keys_and_values_are_errors() {
    let repo = leaky_repo();
    let out = scan_with_config(&repo, "[rules]\ndisabled = [\"pii.phone\"]\n");
    assert_config_error(&out, &["unknown field `disabled`"]);
    let out = scan_with_config(&repo, "[output]\nformat = \"xml\"\n");
    assert_config_error(&out, &["output.format", "`xml`"]);
}

#[test]
fn a_config_error_prints_its_cause_once() {
    let repo = leaky_repo();
    let out = repo.nbguard(&["scan", "--config", "/nonexistent/nbguard.toml", "."]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let err = stderr(&out);
    let cause = "No such file or directory";
    assert_eq!(err.matches(cause).count(), 1, "{err}");
    let out = scan_with_config(&repo, "[rules\n");
    let err = stderr(&out);
    assert_eq!(err.matches("TOML parse error").count(), 1, "{err}");
}

#[test]
fn rules_check_takes_a_config_and_runs_custom_examples_through_notebooks() {
    let repo = leaky_repo();
    // The example token is assembled at run time, so that this file passes nbguard's own scan.
    let token = ["acme_", "Zq8Rt2Lm4Nx6Vb9K", "c3Hd7Jf5Gs1Wp0Ya"].concat();
    let good = format!(
        r#"
[[rules.custom]]
id = "secret.acme.internal-token"
title = "ACME internal token"
severity = "high"
keywords = ["acme_"]
regex = '''\b(acme_[A-Za-z0-9]{{32}})\b'''
examples = ["token = '{token}'"]
negative_examples = ["token = os.environ['ACME_TOKEN']"]
"#
    );
    let path = repo.scratch("cfg").join("custom.toml");
    std::fs::write(&path, &good).expect("writing the config");
    let cfg = path.to_str().expect("temp paths are UTF-8");
    let out = repo.nbguard(&["rules", "check", "--config", cfg]);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("(1 custom)") && text.contains(" 0 failures"),
        "{text}"
    );
    // A rule that finds its example in a plain file but not in every part of a notebook (it
    // only matches at the very start of a text, and an output has a line before it) passes the
    // check at load and fails the whole-pipeline check.
    let fragile = good.replace(
        r#"regex = '''\b(acme_[A-Za-z0-9]{32})\b'''"#,
        &[r#"regex = '''^tok"#, r#"en = '(acme_[A-Za-z0-9]{32})''''"#].concat(),
    );
    assert_ne!(fragile, good);
    std::fs::write(&path, fragile).expect("writing the config");
    let out = repo.nbguard(&["rules", "check", "--config", cfg]);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FAIL secret.acme.internal-token"), "{text}");
    assert!(
        !text.contains(&token[5..]),
        "examples are shown masked: {text}"
    );
}
