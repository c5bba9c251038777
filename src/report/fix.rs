//! What `nbguard fix` did or would do, for people: per file, each value moved, masked or cleared
//! and each one left alone with the reason; the env file and `.gitignore` lines; what to do next.
//! A dry run shows a unified diff, with every secret masked in it.

use std::io::{self, Write};

use super::clean;
use crate::commands::fix::Outcome;
use crate::finding::{mask, Part};
use crate::fix::{Action, FilePlan, Ignored, Spot};

pub fn write_fix_text(w: &mut dyn Write, o: &Outcome, reveal: bool) -> io::Result<()> {
    for d in &o.diagnostics {
        writeln!(w, "note: {}: {}", clean(&d.path), clean(&d.message))?;
    }
    if o.personal.0 > 0 {
        writeln!(
            w,
            "note: {} personal-data finding(s) in {} file(s) are not changed by fix: replace the \
             data with synthetic values (`nbguard scan` lists them).",
            o.personal.0, o.personal.1
        )?;
    }
    if o.plans.is_empty() {
        writeln!(w, "nbguard fix: no credentials to fix.")?;
        return Ok(());
    }
    if o.dry_run {
        writeln!(
            w,
            "Dry run: nothing was changed. `nbguard fix` would do this:"
        )?;
        writeln!(w)?;
        for p in o.plans.iter().filter(|p| p.changed()) {
            write_diff(w, p, reveal)?;
        }
    }
    for p in &o.plans {
        write_plan(w, p, reveal)?;
    }
    for (path, why) in &o.refused {
        writeln!(w, "not written: {}: {}", clean(path), clean(why))?;
    }
    let verb = if o.dry_run { "would add" } else { "added" };
    if !o.env_added.is_empty() {
        const SHOWN: usize = 8;
        let names: Vec<&str> = o.env_added.iter().map(|(n, _)| n.as_str()).collect();
        let more = match names.len().saturating_sub(SHOWN) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        writeln!(
            w,
            "{}: {verb} {}{more} (owner-only file; load it into the environment the code runs in)",
            clean(&o.env_shown),
            names[..names.len().min(SHOWN)].join(", ")
        )?;
    }
    match &o.ignored {
        Some(Ignored::Added { line, .. }) => writeln!(
            w,
            ".gitignore: {verb} `{}` so that git ignores the env file",
            clean(line)
        )?,
        Some(Ignored::NoRepository) => writeln!(
            w,
            "warning: not in a git work tree; make sure {} is never committed",
            clean(&o.env_shown)
        )?,
        Some(Ignored::Already) | None => {}
    }
    if !o.dry_run && o.plans.iter().any(FilePlan::changed) {
        writeln!(w)?;
        writeln!(
            w,
            "Next: review the changes, then `git add` the fixed files."
        )?;
        writeln!(
            w,
            "A credential that was ever committed, pushed or shared is leaked: rotate it. To take it \
             out of history too, see `nbguard audit --write-replacements`."
        )?;
    }
    Ok(())
}

fn write_plan(w: &mut dyn Write, p: &FilePlan, reveal: bool) -> io::Result<()> {
    writeln!(w, "{}", clean(&p.path))?;
    for c in &p.changes {
        let (what, to) = match &c.action {
            Action::Moved { name } => ("moved  ", format!(" -> os.environ[\"{name}\"]")),
            Action::Masked => ("masked ", String::new()),
            Action::Cleared => ("cleared", " (the whole output)".to_string()),
        };
        writeln!(
            w,
            "  {what}  {}  {}{to}",
            place(&p.path, &c.spot),
            clean(&c.rule)
        )?;
    }
    for l in &p.left {
        let shown = if reveal {
            clean(&l.secret)
        } else {
            mask(&l.secret)
        };
        writeln!(
            w,
            "  left     {}  {}  {shown}: {}",
            place(&p.path, &l.spot),
            clean(&l.rule),
            clean(&l.reason)
        )?;
    }
    Ok(())
}

/// `path:line:col (cell 2, code, output 0)`.
fn place(path: &str, s: &Spot) -> String {
    let mut nb = Vec::new();
    if let Some(c) = s.cell {
        nb.push(format!("cell {c}"));
    }
    if let Some(t) = &s.cell_type {
        nb.push(clean(t));
    }
    match (s.part, s.output) {
        (Some(Part::Output), Some(k)) => nb.push(format!("output {k}")),
        (Some(p), _) => nb.push(p.as_str().to_string()),
        _ => {}
    }
    let at = format!("{}:{}:{}", clean(path), s.line, s.column);
    if nb.is_empty() {
        at
    } else {
        format!("{at} ({})", nb.join(", "))
    }
}

fn write_diff(w: &mut dyn Write, p: &FilePlan, reveal: bool) -> io::Result<()> {
    let diff = similar::TextDiff::from_lines(&p.original, &p.fixed);
    let mut text = diff
        .unified_diff()
        .context_radius(2)
        .header(&format!("a/{}", p.path), &format!("b/{}", p.path))
        .to_string();
    if !reveal {
        for s in &p.secrets {
            let json = crate::fix::json_form(s);
            text = text.replace(s.as_str(), &mask(s));
            if json != *s {
                text = text.replace(&json, &mask(s));
            }
        }
    }
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '?'
            } else {
                c
            }
        })
        .collect();
    w.write_all(cleaned.as_bytes())?;
    if !cleaned.ends_with('\n') {
        writeln!(w)?;
    }
    writeln!(w)
}
