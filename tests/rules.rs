//! Every rule's examples go through the whole notebook pipeline in every place a notebook can
//! hold text (code, markdown, stream, execute_result, HTML, traceback, cell and notebook metadata)
//! and must be found there with the right coordinates; negative examples must produce nothing.

use nbguard::commands::rules::check_rule;
use nbguard::config::resolve;
use nbguard::scanner::Scanner;

fn scanner() -> Scanner {
    Scanner::new(&resolve(&[]).expect("defaults resolve"), None)
        .expect("the built-in catalogue compiles")
}

#[test]
fn every_builtin_rule_compiles() {
    let s = scanner();
    let errors: Vec<String> = s
        .catalogue()
        .rules
        .iter()
        .filter_map(|r| r.compile_now().err())
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn every_rule_has_positive_and_negative_examples() {
    let s = scanner();
    let missing: Vec<&str> = s
        .catalogue()
        .rules
        .iter()
        .filter(|r| r.examples.is_empty() || r.negative_examples.is_empty())
        .map(|r| r.id.as_str())
        .collect();
    assert!(missing.is_empty(), "rules without examples: {missing:?}");
}

#[test]
fn every_rule_finds_its_examples_everywhere_and_nothing_in_its_negatives() {
    let s = scanner();
    let failures: Vec<String> = s
        .catalogue()
        .rules
        .iter()
        .flat_map(|r| check_rule(&s, r))
        .map(|f| {
            format!(
                "{} [{}] {:?}: {}",
                f.rule, f.placement, f.example, f.problem
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn rule_ids_are_stable_shaped() {
    let s = scanner();
    for r in &s.catalogue().rules {
        assert!(
            r.id.starts_with("secret.") || r.id.starts_with("pii."),
            "{}",
            r.id
        );
    }
}
