//! The text report for people: one block per finding with where it is (file line and notebook
//! cell, part and line), what it is, the masked secret and how to fix it; then diagnostics and a
//! summary. Colour only when asked (a terminal without `NO_COLOR`).

use std::io::{self, Write};

use super::{clean, shown_secret, Options, Report};
use crate::finding::{Finding, Severity};

struct Paint(bool);

impl Paint {
    fn sev(&self, s: Severity) -> String {
        let label = s.as_str().to_uppercase();
        if !self.0 {
            return label;
        }
        let code = match s {
            Severity::Critical => "1;31",
            Severity::High => "31",
            Severity::Medium => "33",
            Severity::Low => "36",
            Severity::Info => "2",
        };
        format!("\x1b[{code}m{label}\x1b[0m")
    }
    fn bold(&self, s: &str) -> String {
        if self.0 {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn dim(&self, s: &str) -> String {
        if self.0 {
            format!("\x1b[2m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// Where a finding is, in notebook terms: `cell 3 (code, id ab12) · output 0 (stream) · line 2`.
pub fn notebook_place(f: &Finding) -> Option<String> {
    let n = f.notebook.as_ref()?;
    let mut parts = Vec::new();
    match n.cell {
        Some(c) => {
            let mut what = Vec::new();
            if let Some(t) = &n.cell_type {
                what.push(clean(t));
            }
            if let Some(id) = &n.cell_id {
                what.push(format!("id {}", clean(id)));
            }
            parts.push(if what.is_empty() {
                format!("cell {c}")
            } else {
                format!("cell {c} ({})", what.join(", "))
            });
        }
        None => parts.push("notebook".to_string()),
    }
    match (n.part, n.output) {
        (Some(crate::finding::Part::Output), Some(o)) => parts.push(match &n.output_kind {
            Some(k) => format!("output {o} ({})", clean(k)),
            None => format!("output {o}"),
        }),
        (Some(p), _) => parts.push(p.as_str().to_string()),
        _ => {}
    }
    parts.push(format!("line {}", n.line));
    Some(parts.join(" · "))
}

pub fn write_text(w: &mut dyn Write, r: &Report, o: &Options) -> io::Result<()> {
    let p = Paint(o.color);
    let shown: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| o.show_suppressed || f.is_active())
        .collect();
    if let Some(h) = &o.heading {
        if !shown.is_empty() {
            writeln!(w, "{h}")?;
            writeln!(w)?;
        }
    }
    for f in &shown {
        let place = if f.line > 0 {
            format!("{}:{}:{}", clean(&f.path), f.line, f.column)
        } else {
            clean(&f.path)
        };
        writeln!(
            w,
            "{}  {}  {}",
            p.sev(f.severity),
            p.bold(&place),
            p.dim(&f.rule)
        )?;
        if let Some(nb) = notebook_place(f) {
            writeln!(w, "    where:   {nb}")?;
        }
        if let Some(c) = &f.commit {
            let reference = c
                .reference
                .as_deref()
                .map(|r| format!(" on {}", clean(r)))
                .unwrap_or_default();
            writeln!(
                w,
                "    commit:  {} {} <{}>{reference}: {}",
                c.short_id(),
                clean(&c.author),
                clean(&c.email),
                clean(&c.summary)
            )?;
        }
        writeln!(w, "    what:    {}: {}", f.title, shown_secret(f, o.reveal))?;
        if !f.snippet.is_empty() {
            writeln!(w, "    line:    {}", f.snippet)?;
        }
        if let Some(s) = &f.suppressed {
            writeln!(w, "    allowed: {}", suppression_text(s))?;
        } else {
            writeln!(w, "    fix:     {}", f.fix)?;
        }
        writeln!(w)?;
    }
    write_diagnostics(w, &r.diagnostics)?;
    if !r.diagnostics.is_empty() {
        writeln!(w)?;
    }
    let active = r.active().count();
    let suppressed = r.findings.len() - active;
    let by: Vec<String> = Severity::ALL
        .iter()
        .filter(|s| r.count(**s) > 0)
        .map(|s| format!("{} {}", r.count(*s), s))
        .collect();
    let mut line = format!(
        "nbguard: {} finding{}",
        active,
        if active == 1 { "" } else { "s" }
    );
    if !by.is_empty() {
        line.push_str(&format!(" ({})", by.join(", ")));
    }
    line.push_str(&format!(
        " in {} file{} scanned",
        r.files_scanned,
        if r.files_scanned == 1 { "" } else { "s" }
    ));
    if suppressed > 0 {
        line.push_str(&format!("; {suppressed} suppressed"));
    }
    if r.blocked {
        line.push_str(&format!("; blocking (threshold: {})", r.threshold));
    }
    writeln!(w, "{line}")?;
    if r.blocked {
        for a in &o.advice {
            writeln!(w, "{a}")?;
        }
    }
    Ok(())
}

/// One `note:` line per diagnostic. `commit` holds a commit id or, for what scanning a blob of
/// history found, `blob <id>`; either is shortened.
pub(crate) fn write_diagnostics(
    w: &mut dyn Write,
    diagnostics: &[crate::finding::Diagnostic],
) -> io::Result<()> {
    let short = |id: &str| id[..id.len().min(10)].to_owned();
    for d in diagnostics {
        let at = d
            .commit
            .as_deref()
            .map(|c| match c.strip_prefix("blob ") {
                Some(blob) => format!(" @ blob {}", short(blob)),
                None => format!(" @ {}", short(c)),
            })
            .unwrap_or_default();
        writeln!(
            w,
            "note: {}{at}: {} ({})",
            clean(&d.path),
            d.message,
            d.kind.as_str()
        )?;
    }
    Ok(())
}

fn suppression_text(s: &crate::finding::Suppression) -> String {
    use crate::finding::Suppression::*;
    match s {
        Inline { marker } => format!("inline `{marker}`"),
        CellTag => "cell tagged nbguard-ignore".into(),
        Allowlist { reason } => format!("allowlist ({reason})"),
        Baseline => "in the baseline".into(),
        PushOption => "allowed by push option".into(),
    }
}
