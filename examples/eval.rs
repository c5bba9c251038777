//! `cargo run --release --example eval [-- --json] [--verbose] [--rules DIR] [--dump DIR]`: generates a labelled set of
//! notebooks (credentials of every provider family in every notebook context, personal data
//! tables, and hard negatives), scans each with the library, and reports recall and precision.
//!
//! The set is generated in memory from a fixed seed, so every run sees the same notebooks. The
//! exit code is always 0: this is a report; `tests/eval.rs` holds the floors.

#[path = "eval/cases.rs"]
mod cases;
#[path = "eval/creds.rs"]
mod creds;
#[path = "eval/gen.rs"]
mod gen;
#[path = "eval/nb.rs"]
mod nb;
#[path = "eval/negatives.rs"]
mod negatives;
#[path = "eval/report.rs"]
mod report;
#[path = "eval/run.rs"]
mod run;
#[path = "eval/score.rs"]
mod score;

use std::io::Write;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let verbose = args.iter().any(|a| a == "--verbose" || a == "-v");
    let started = std::time::Instant::now();
    // `--rules DIR` adds (or replaces) rules from a directory of rule files.
    let rules = args
        .iter()
        .position(|a| a == "--rules")
        .and_then(|i| args.get(i + 1))
        .map(std::path::PathBuf::from);
    // `--dump DIR` writes every case's notebook, to open or rescan one by hand.
    if let Some(dir) = args
        .iter()
        .position(|a| a == "--dump")
        .and_then(|i| args.get(i + 1))
    {
        std::fs::create_dir_all(dir)?;
        for case in cases::build(run::SEED) {
            std::fs::write(format!("{dir}/case-{:04}.ipynb", case.id), &case.raw)?;
        }
    }
    let scored = match run::evaluate(run::SEED, rules.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("eval: {e}");
            return Ok(());
        }
    };
    let summary = report::summarise(&scored);
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    if json {
        let misses: Vec<&score::Scored> = scored
            .iter()
            .filter(|s| s.positive && !s.recalled)
            .collect();
        let alarms: Vec<&score::Scored> = scored
            .iter()
            .filter(|s| !s.false_alarms.is_empty())
            .collect();
        let out = serde_json::json!({"summary": summary, "misses": misses, "false_alarms": alarms});
        serde_json::to_writer_pretty(&mut w, &out).map_err(std::io::Error::other)?;
        writeln!(w)?;
    } else {
        report::write_text(&mut w, &summary, &scored, verbose)?;
        writeln!(w, "\n({:.1}s)", started.elapsed().as_secs_f64())?;
    }
    Ok(())
}
