//! Aggregates scored cases into recall and precision (overall, per family, per context, per
//! negative category) and writes them as a text table or JSON. Only masked values are shown.

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::score::Scored;

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Row {
    pub name: String,
    pub cases: usize,
    pub recalled: usize,
    pub blocking: usize,
    pub false_alarms: usize,
    pub recall: f64,
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct NegRow {
    pub name: String,
    pub cases: usize,
    pub with_findings: usize,
    pub false_alarms: usize,
    pub tolerated_info: usize,
}

#[derive(Debug, serde::Serialize)]
pub struct Summary {
    pub cases: usize,
    pub positives: usize,
    pub recalled: usize,
    pub recall: f64,
    /// Positives found at critical or high severity (what blocks a commit by default).
    pub blocking_recalled: usize,
    pub blocking_recall: f64,
    /// Distinct (case, rule, value) false alarms, on positives' notebooks and on negatives.
    pub false_alarms: usize,
    pub false_alarms_blocking: usize,
    /// recalled / (recalled + false alarms).
    pub precision: f64,
    pub negatives: usize,
    pub negatives_with_findings: usize,
    pub tolerated_info: usize,
    pub misattributed: usize,
    pub per_family: Vec<Row>,
    pub per_context: Vec<Row>,
    pub per_negative: Vec<NegRow>,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

fn add(rows: &mut BTreeMap<String, Row>, key: &str, s: &Scored) {
    let r = rows.entry(key.to_string()).or_insert_with(|| Row {
        name: key.to_string(),
        ..Row::default()
    });
    r.cases += 1;
    r.recalled += usize::from(s.recalled);
    r.blocking += usize::from(s.blocking);
    r.false_alarms += s.false_alarms.len();
    r.recall = ratio(r.recalled, r.cases);
}

pub fn summarise(scored: &[Scored]) -> Summary {
    let mut fam = BTreeMap::new();
    let mut ctx = BTreeMap::new();
    let mut neg: BTreeMap<String, NegRow> = BTreeMap::new();
    for s in scored {
        if s.positive {
            add(&mut fam, &s.family, s);
            add(&mut ctx, s.context, s);
        } else {
            let r = neg.entry(s.family.clone()).or_insert_with(|| NegRow {
                name: s.family.clone(),
                ..NegRow::default()
            });
            r.cases += 1;
            r.with_findings += usize::from(!s.false_alarms.is_empty());
            r.false_alarms += s.false_alarms.len();
            r.tolerated_info += s.tolerated.len();
        }
    }
    let positives = scored.iter().filter(|s| s.positive).count();
    let recalled = scored.iter().filter(|s| s.recalled).count();
    let blocking_recalled = scored.iter().filter(|s| s.blocking).count();
    let false_alarms: usize = scored.iter().map(|s| s.false_alarms.len()).sum();
    Summary {
        cases: scored.len(),
        positives,
        recalled,
        recall: ratio(recalled, positives),
        blocking_recalled,
        blocking_recall: ratio(blocking_recalled, positives),
        false_alarms,
        false_alarms_blocking: scored
            .iter()
            .flat_map(|s| &s.false_alarms)
            .filter(|f| f.severity >= nbguard::finding::Severity::High)
            .count(),
        precision: ratio(recalled, recalled + false_alarms),
        negatives: scored.len() - positives,
        negatives_with_findings: scored
            .iter()
            .filter(|s| !s.positive && !s.false_alarms.is_empty())
            .count(),
        tolerated_info: scored.iter().map(|s| s.tolerated.len()).sum(),
        misattributed: scored.iter().map(|s| s.misattributed.len()).sum(),
        per_family: fam.into_values().collect(),
        per_context: ctx.into_values().collect(),
        per_negative: neg.into_values().collect(),
    }
}

fn write_rows(w: &mut dyn Write, title: &str, rows: &[Row]) -> io::Result<()> {
    writeln!(
        w,
        "\n{title:<34} {:>5} {:>8} {:>7} {:>9} {:>6}",
        "cases", "recalled", "recall", "blocking", "FP"
    )?;
    for r in rows {
        let flag = if r.recall < 1.0 { "  <" } else { "" };
        writeln!(
            w,
            "{:<34} {:>5} {:>8} {:>7.3} {:>9} {:>6}{flag}",
            r.name, r.cases, r.recalled, r.recall, r.blocking, r.false_alarms
        )?;
    }
    Ok(())
}

pub fn write_text(
    w: &mut dyn Write,
    sum: &Summary,
    scored: &[Scored],
    verbose: bool,
) -> io::Result<()> {
    writeln!(
        w,
        "nbguard evaluation: {} cases ({} positives, {} negatives)",
        sum.cases, sum.positives, sum.negatives
    )?;
    writeln!(
        w,
        "  recall            {:.4}  ({}/{})",
        sum.recall, sum.recalled, sum.positives
    )?;
    writeln!(
        w,
        "  blocking recall   {:.4}  ({}/{} at critical/high)",
        sum.blocking_recall, sum.blocking_recalled, sum.positives
    )?;
    writeln!(
        w,
        "  precision         {:.4}  ({} false alarms, {} of them critical/high)",
        sum.precision, sum.false_alarms, sum.false_alarms_blocking
    )?;
    writeln!(
        w,
        "  negatives hit     {}/{}  (tolerated: {} informational PII findings on lone addresses)",
        sum.negatives_with_findings, sum.negatives, sum.tolerated_info
    )?;
    writeln!(
        w,
        "  misattributed     {}  (planted value reported by another family's rule or elsewhere)",
        sum.misattributed
    )?;
    write_rows(w, "family", &sum.per_family)?;
    write_rows(w, "context", &sum.per_context)?;
    writeln!(
        w,
        "\n{:<34} {:>5} {:>8} {:>6} {:>6}",
        "negative category", "cases", "with FP", "FP", "info"
    )?;
    for r in &sum.per_negative {
        writeln!(
            w,
            "{:<34} {:>5} {:>8} {:>6} {:>6}",
            r.name, r.cases, r.with_findings, r.false_alarms, r.tolerated_info
        )?;
    }
    write_misses(w, scored, verbose)?;
    write_false_alarms(w, scored, verbose)
}

fn write_misses(w: &mut dyn Write, scored: &[Scored], verbose: bool) -> io::Result<()> {
    let misses: Vec<&Scored> = scored
        .iter()
        .filter(|s| s.positive && !s.recalled)
        .collect();
    writeln!(w, "\nmisses ({}):", misses.len())?;
    if verbose {
        for s in &misses {
            let found: Vec<String> = s
                .found
                .iter()
                .map(|f| format!("{} {} @ {}", f.rule, f.masked, f.location))
                .collect();
            writeln!(
                w,
                "  #{:<5} {:<32} {:<18} {:<22} found: {}",
                s.id,
                s.family,
                s.context,
                s.planted,
                if found.is_empty() {
                    "nothing".into()
                } else {
                    found.join("; ")
                }
            )?;
        }
        return Ok(());
    }
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for s in &misses {
        groups.entry(s.family.as_str()).or_default().push(s.context);
    }
    for (fam, ctxs) in groups {
        writeln!(w, "  {fam:<32} {}", ctxs.join(", "))?;
    }
    Ok(())
}

fn write_false_alarms(w: &mut dyn Write, scored: &[Scored], verbose: bool) -> io::Result<()> {
    let total: usize = scored.iter().map(|s| s.false_alarms.len()).sum();
    writeln!(w, "\nfalse alarms ({total}):")?;
    let mut groups: BTreeMap<(String, String, &str), (usize, String, String)> = BTreeMap::new();
    for s in scored {
        for f in &s.false_alarms {
            if verbose {
                writeln!(
                    w,
                    "  #{:<5} {:<26} {:<18} {:<40} {:<8} {:<22} @ {}",
                    s.id,
                    s.family,
                    s.context,
                    f.rule,
                    f.severity.as_str(),
                    f.masked,
                    f.location
                )?;
            }
            let kind = if s.positive {
                format!("(on positive) {}", s.family)
            } else {
                s.family.clone()
            };
            let e = groups.entry((f.rule.clone(), kind, s.context)).or_insert((
                0,
                f.masked.clone(),
                f.location.clone(),
            ));
            e.0 += 1;
        }
    }
    if !verbose {
        for ((rule, kind, ctx), (n, masked, loc)) in groups {
            writeln!(
                w,
                "  {n:>4} × {rule:<40} {kind:<34} {ctx:<18} e.g. {masked} @ {loc}"
            )?;
        }
    }
    Ok(())
}
