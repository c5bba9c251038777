//! Guards the accuracy measured by `cargo run --release --example eval`: the same generated set,
//! scanned by the library, must keep recall and precision above the floors below, and the
//! negatives must stay clean. Also checks that the generator makes well-formed, deterministic
//! cases and that the scorer counts what it should.
//!
//! Floors are the measured values minus a small margin; raise them when the rules improve.

#[path = "../examples/eval/cases.rs"]
mod cases;
#[path = "../examples/eval/creds.rs"]
mod creds;
#[path = "../examples/eval/gen.rs"]
mod gen;
#[path = "../examples/eval/nb.rs"]
mod nb;
#[path = "../examples/eval/negatives.rs"]
mod negatives;
#[allow(dead_code)]
#[path = "../examples/eval/report.rs"]
mod report;
#[path = "../examples/eval/run.rs"]
mod run;
#[path = "../examples/eval/score.rs"]
mod score;

use nbguard::rules::validate;

/// Measured on this branch's catalogue (see `benches/eval.md`), minus a margin.
const RECALL_FLOOR: f64 = 0.985;
const BLOCKING_RECALL_FLOOR: f64 = 0.97;
const PRECISION_FLOOR: f64 = 0.995;

#[test]
fn accuracy_stays_above_the_floors() {
    let scored = run::evaluate(run::SEED, None).expect("the default scanner builds");
    let s = report::summarise(&scored);
    assert!(
        s.positives >= 900 && s.negatives >= 300,
        "set too small: {} / {}",
        s.positives,
        s.negatives
    );
    assert!(
        s.recall >= RECALL_FLOOR,
        "recall {:.4} fell below {RECALL_FLOOR}",
        s.recall
    );
    assert!(
        s.blocking_recall >= BLOCKING_RECALL_FLOOR,
        "blocking recall {:.4} fell below {BLOCKING_RECALL_FLOOR}",
        s.blocking_recall
    );
    assert!(
        s.precision >= PRECISION_FLOOR,
        "precision {:.4} fell below {PRECISION_FLOOR}",
        s.precision
    );
    assert!(
        // The product's bar: no finding at all on a negative.
        s.negatives_with_findings == 0,
        "{} negatives have findings; run `cargo run --release --example eval -- --verbose`",
        s.negatives_with_findings
    );
}

#[test]
fn generation_is_deterministic() {
    let a = cases::build(run::SEED);
    let b = cases::build(run::SEED);
    assert_eq!(a.len(), b.len());
    assert!(a.iter().zip(&b).all(|(x, y)| x.raw == y.raw));
}

#[test]
fn every_case_is_a_notebook_and_every_family_is_placed_in_several_contexts() {
    let all = cases::build(run::SEED);
    let mut contexts: std::collections::BTreeMap<&str, std::collections::BTreeSet<&str>> =
        Default::default();
    for c in &all {
        let v: serde_json::Value = serde_json::from_str(&c.raw).expect("cases are valid JSON");
        assert!(
            v.get("cells").is_some() || v.get("worksheets").is_some(),
            "case {} is not a notebook",
            c.id
        );
        if matches!(c.label, cases::Label::Positive { .. }) {
            contexts
                .entry(c.family.as_str())
                .or_default()
                .insert(c.context);
        }
    }
    for (family, ctx) in contexts {
        assert!(
            ctx.len() >= 5,
            "{family} appears in only {} contexts",
            ctx.len()
        );
    }
}

#[test]
fn generated_values_pass_their_format_checks() {
    let mut rng = gen::Rng::new(7);
    for _ in 0..200 {
        assert!(validate::luhn(&gen::card(&mut rng)));
        assert!(validate::iban(&gen::iban(&mut rng)));
        assert!(validate::us_ssn(&gen::ssn(&mut rng)));
    }
    for fam in creds::families()
        .iter()
        .filter(|f| matches!(f.name, "github" | "npm"))
    {
        for _ in 0..20 {
            let c = (fam.make)(&mut rng);
            assert!(
                validate::token_crc32(&c.value),
                "{} has a bad checksum",
                fam.name
            );
        }
    }
}

#[test]
fn the_scorer_counts_a_finding_on_a_negative_as_a_false_alarm() {
    let scanner = score::scanner(None).expect("the default scanner builds");
    let positive = cases::build(run::SEED)
        .into_iter()
        .find(|c| c.family == "openai-project")
        .expect("the set has OpenAI project keys");
    let findings = score::scan(&scanner, &positive);
    assert!(score::score(&positive, &findings).recalled);
    let as_negative = cases::Case {
        label: cases::Label::Negative {
            tolerate_info: false,
        },
        ..positive
    };
    assert!(!score::score(&as_negative, &findings)
        .false_alarms
        .is_empty());
}
