//! The audit as text: one block per secret, then diagnostics by kind, then a headline that
//! counts credentials, personal data and informational findings apart.

use std::io::{self, Write};

use super::{counts, date, AuditReport, Kind};
use crate::report::{clean, Options};

/// Ref names listed in a block before the summary takes over.
const LISTED_REFS: usize = 5;

pub fn write_audit_text(w: &mut dyn Write, r: &AuditReport, o: &Options) -> io::Result<()> {
    for g in r
        .groups
        .iter()
        .filter(|g| o.show_suppressed || g.suppressed.is_none())
    {
        let first = &g.occurrences[0];
        let shown = if o.reveal {
            clean(&first.secret)
        } else {
            first.masked_secret()
        };
        writeln!(
            w,
            "{}  {}  {}: {}",
            g.severity.as_str().to_uppercase(),
            g.rule,
            g.title,
            shown
        )?;
        writeln!(w, "    fingerprint: {}", g.fingerprint)?;
        if let Some(c) = g.introduced() {
            writeln!(
                w,
                "    introduced:  {} {} {} <{}>: {}",
                c.short_id(),
                date(c.time),
                clean(&c.author),
                clean(&c.email),
                clean(&c.summary)
            )?;
        }
        if g.present_at.is_empty() {
            writeln!(
                w,
                "    present at:  no ref (removed everywhere, but still in history: rotate it)"
            )?;
        } else if o.all_refs || g.present_at.len() <= LISTED_REFS {
            let names: Vec<String> = r
                .ref_table
                .names(&g.present_at)
                .into_iter()
                .map(clean)
                .collect();
            writeln!(w, "    present at:  {}", names.join(", "))?;
        } else {
            let s = r.ref_table.summarise(&g.present_at, 0);
            writeln!(w, "    present at:  {} ({} refs)", clean(&s.text), s.total)?;
        }
        for f in &g.occurrences {
            let place = crate::report::notebook_place(f)
                .map(|p| format!(" ({p})"))
                .unwrap_or_default();
            let commit = f
                .commit
                .as_ref()
                .map(|c| format!(" @ {}", c.short_id()))
                .unwrap_or_default();
            let at = if f.path.is_empty() {
                "commit message".to_owned()
            } else {
                format!("{}:{}:{}", clean(&f.path), f.line, f.column)
            };
            writeln!(w, "    at:          {at}{place}{commit}")?;
        }
        if g.suppressed.is_none() {
            writeln!(
                w,
                "    do:          {}",
                super::action(g.kind(), &g.rule, !g.present_at.is_empty())
            )?;
        }
        if let Some(s) = &g.suppressed {
            writeln!(w, "    allowed:     {s:?}")?;
        }
        writeln!(w)?;
    }
    write_diagnostics(w, r)?;
    let groups: Vec<_> = r.groups.iter().collect();
    let by_kind = counts(&groups);
    let mut parts = Vec::new();
    for kind in Kind::ALL {
        let Some(sev) = by_kind.get(&kind) else {
            continue;
        };
        let n: usize = sev.values().sum();
        let detail: Vec<String> = sev
            .iter()
            .map(|(s, c)| format!("{c} {}", s.0.as_str()))
            .collect();
        parts.push(format!("{n} {} ({})", kind.plural(), detail.join(", ")));
    }
    let headline = if parts.is_empty() {
        "nothing found in history".to_owned()
    } else {
        format!("{} in history", parts.join(", "))
    };
    let still = r.active().filter(|g| !g.present_at.is_empty()).count();
    writeln!(
        w,
        "nbguard audit: {headline} ({still} still present at a ref) across {} refs, {} commits, {} unique blobs ({:.1} MB){}",
        r.refs,
        r.commits,
        r.blobs,
        r.bytes as f64 / 1_048_576.0,
        if r.blocked { format!("; blocking (threshold: {})", r.threshold) } else { String::new() }
    )
}

/// Diagnostics grouped by kind, the ones that mean history was not fully read first; long
/// kinds (thousands of binary files) show a few examples and a count.
fn write_diagnostics(w: &mut dyn Write, r: &AuditReport) -> io::Result<()> {
    const SHOWN: usize = 5;
    for (kind, list) in super::diagnostics_by_kind(&r.diagnostics) {
        if list.len() > SHOWN {
            writeln!(w, "{} ({}, {SHOWN} shown):", kind.as_str(), list.len())?;
        }
        let shown: Vec<_> = list.iter().take(SHOWN).map(|d| (*d).clone()).collect();
        crate::report::text::write_diagnostics(w, &shown)?;
    }
    if !r.diagnostics.is_empty() {
        writeln!(w)?;
    }
    Ok(())
}
