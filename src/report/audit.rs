//! The history audit's report: findings grouped by secret (one fingerprint, every place it ever
//! appeared), each with the commit that introduced it and the refs that still contain it. Written
//! as text, JSON, SARIF (one result per occurrence) or one self-contained HTML page.

use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

use super::{clean, json::wire, Options};
use crate::finding::{Diagnostic, Finding, Severity, Suppression};
use crate::source::CommitInfo;

/// One secret and everywhere history has it.
#[derive(Debug, Clone)]
pub struct Group {
    pub fingerprint: String,
    pub rule: String,
    pub title: String,
    pub severity: Severity,
    /// Every occurrence; each finding's `commit` is the commit that introduced that occurrence.
    pub occurrences: Vec<Finding>,
    /// Refs whose tip still contains it; empty when removed everywhere (still in history).
    pub present_at: Vec<String>,
    pub suppressed: Option<Suppression>,
}

impl Group {
    /// The earliest introducing commit over all occurrences.
    pub fn introduced(&self) -> Option<&CommitInfo> {
        self.occurrences
            .iter()
            .filter_map(|f| f.commit.as_ref())
            .min_by_key(|c| (c.time, c.id.clone()))
    }

    fn paths(&self) -> Vec<&str> {
        let mut p: Vec<&str> = self.occurrences.iter().map(|f| f.path.as_str()).collect();
        p.sort_unstable();
        p.dedup();
        p
    }
}

/// What an audit produced.
#[derive(Debug, Default)]
pub struct AuditReport {
    pub groups: Vec<Group>,
    pub diagnostics: Vec<Diagnostic>,
    pub commits: usize,
    pub blobs: usize,
    pub bytes: u64,
    pub refs: usize,
    pub blocked: bool,
    pub threshold: String,
}

impl AuditReport {
    /// Groups findings by fingerprint; occurrences sorted by introduction time then path, one
    /// set per path: from the commit that first brought the secret there, not from each later
    /// version of the file that still holds it.
    pub fn group(findings: Vec<Finding>, present: impl Fn(&Finding) -> Vec<String>) -> Vec<Group> {
        let mut by: BTreeMap<String, Group> = BTreeMap::new();
        for f in findings {
            let refs = present(&f);
            let g = by.entry(f.fingerprint.clone()).or_insert_with(|| Group {
                fingerprint: f.fingerprint.clone(),
                rule: f.rule.clone(),
                title: f.title.clone(),
                severity: f.severity,
                occurrences: Vec::new(),
                present_at: Vec::new(),
                suppressed: f.suppressed.clone(),
            });
            g.severity = g.severity.max(f.severity);
            if f.suppressed.is_none() {
                g.suppressed = None;
            }
            for r in refs {
                if !g.present_at.contains(&r) {
                    g.present_at.push(r);
                }
            }
            g.occurrences.push(f);
        }
        let mut groups: Vec<Group> = by.into_values().collect();
        for g in &mut groups {
            g.present_at.sort();
            g.occurrences.sort_by(|a, b| {
                let ka = (a.commit.as_ref().map(|c| (c.time, &c.id)), &a.path, a.line);
                let kb = (b.commit.as_ref().map(|c| (c.time, &c.id)), &b.path, b.line);
                ka.cmp(&kb)
            });
            // A later version of a file that still holds the secret (another cell edited) did
            // not introduce it: per path, keep only what the first commit there brought.
            let mut first_at: HashMap<&str, Option<&str>> = HashMap::new();
            let keep: Vec<bool> = g
                .occurrences
                .iter()
                .map(|f| {
                    let commit = f.commit.as_ref().map(|c| c.id.as_str());
                    *first_at.entry(f.path.as_str()).or_insert(commit) == commit
                })
                .collect();
            let mut keep = keep.into_iter();
            g.occurrences.retain(|_| keep.next().unwrap_or(true));
        }
        groups.sort_by(|a, b| {
            (
                std::cmp::Reverse(a.severity),
                a.introduced().map(|c| c.time),
                &a.rule,
            )
                .cmp(&(
                    std::cmp::Reverse(b.severity),
                    b.introduced().map(|c| c.time),
                    &b.rule,
                ))
        });
        groups
    }

    pub fn active(&self) -> impl Iterator<Item = &Group> {
        self.groups.iter().filter(|g| g.suppressed.is_none())
    }

    /// One finding per group (the earliest occurrence), for thresholds and baselines.
    pub fn representatives(&self) -> Vec<Finding> {
        self.groups
            .iter()
            .filter_map(|g| {
                let mut f = g.occurrences.first()?.clone();
                f.severity = g.severity;
                f.suppressed = g.suppressed.clone();
                Some(f)
            })
            .collect()
    }
}

fn date(t: i64) -> String {
    // Civil date from Unix seconds (UTC), without a date crate.
    let days = t.div_euclid(86_400);
    let (z, secs) = (days + 719_468, t.rem_euclid(86_400));
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60
    )
}

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
        } else {
            writeln!(
                w,
                "    present at:  {}",
                g.present_at
                    .iter()
                    .map(|s| clean(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        for f in &g.occurrences {
            let place = super::text::notebook_place(f)
                .map(|p| format!(" ({p})"))
                .unwrap_or_default();
            let commit = f
                .commit
                .as_ref()
                .map(|c| format!(" @ {}", c.short_id()))
                .unwrap_or_default();
            writeln!(
                w,
                "    at:          {}:{}:{}{place}{commit}",
                clean(&f.path),
                f.line,
                f.column
            )?;
        }
        if let Some(s) = &g.suppressed {
            writeln!(w, "    allowed:     {s:?}")?;
        }
        writeln!(w)?;
    }
    super::text::write_diagnostics(w, &r.diagnostics)?;
    let active = r.active().count();
    let still = r.active().filter(|g| !g.present_at.is_empty()).count();
    writeln!(
        w,
        "nbguard audit: {active} secret{} in history ({still} still present at a ref) across {} refs, {} commits, {} unique blobs ({:.1} MB){}",
        if active == 1 { "" } else { "s" },
        r.refs,
        r.commits,
        r.blobs,
        r.bytes as f64 / 1_048_576.0,
        if r.blocked { format!("; blocking (threshold: {})", r.threshold) } else { String::new() }
    )
}

#[derive(Serialize)]
struct WireGroup<'a> {
    fingerprint: &'a str,
    rule: &'a str,
    title: &'a str,
    severity: Severity,
    secret: String,
    introduced: Option<&'a CommitInfo>,
    present_at: &'a [String],
    still_present: bool,
    suppressed: Option<&'a Suppression>,
    occurrences: Vec<super::json::WireFinding<'a>>,
}

pub fn write_audit_json(w: &mut dyn Write, r: &AuditReport, o: &Options) -> io::Result<()> {
    let groups: Vec<WireGroup> = r
        .groups
        .iter()
        .filter(|g| o.show_suppressed || g.suppressed.is_none())
        .map(|g| WireGroup {
            fingerprint: &g.fingerprint,
            rule: &g.rule,
            title: &g.title,
            severity: g.severity,
            secret: if o.reveal {
                g.occurrences[0].secret.clone()
            } else {
                g.occurrences[0].masked_secret()
            },
            introduced: g.introduced(),
            present_at: &g.present_at,
            still_present: !g.present_at.is_empty(),
            suppressed: g.suppressed.as_ref(),
            occurrences: g.occurrences.iter().map(|f| wire(f, o.reveal)).collect(),
        })
        .collect();
    let doc = serde_json::json!({
        "version": 1,
        "tool": {"name": "nbguard", "version": env!("CARGO_PKG_VERSION")},
        "findings": groups,
        "diagnostics": r.diagnostics,
        "summary": {
            "refs": r.refs, "commits": r.commits, "blobs": r.blobs, "bytes": r.bytes,
            "findings": r.groups.len(), "active": r.active().count(),
            "still_present": r.active().filter(|g| !g.present_at.is_empty()).count(),
            "blocked": r.blocked, "threshold": r.threshold,
        },
    });
    serde_json::to_writer_pretty(&mut *w, &doc)?;
    writeln!(w)
}

/// SARIF: one result per occurrence, so that code-scanning tools can point at each.
pub fn write_audit_sarif(w: &mut dyn Write, r: &AuditReport, o: &Options) -> io::Result<()> {
    let flat = super::Report {
        findings: r
            .groups
            .iter()
            .flat_map(|g| g.occurrences.iter().cloned())
            .collect(),
        diagnostics: r.diagnostics.clone(),
        files_scanned: r.blobs,
        bytes_scanned: r.bytes,
        blocked: r.blocked,
        threshold: r.threshold.clone(),
    };
    super::write_sarif(w, &flat, o)
}

fn esc(s: &str) -> String {
    clean(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One self-contained page (no external assets) for a security lead: summary, a timeline of when
/// leaks entered history, counts by rule, author and path, and every finding with its commit and
/// whether it is still present.
pub fn write_audit_html(w: &mut dyn Write, r: &AuditReport, o: &Options) -> io::Result<()> {
    let groups: Vec<&Group> = r
        .groups
        .iter()
        .filter(|g| o.show_suppressed || g.suppressed.is_none())
        .collect();
    let mut by_month: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_author: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_path: BTreeMap<&str, usize> = BTreeMap::new();
    for g in &groups {
        if let Some(c) = g.introduced() {
            *by_month.entry(date(c.time)[..7].to_string()).or_default() += 1;
            *by_author
                .entry(format!("{} <{}>", c.author, c.email))
                .or_default() += 1;
        }
        *by_rule.entry(&g.rule).or_default() += 1;
        for p in g.paths() {
            *by_path.entry(p).or_default() += 1;
        }
    }
    let max = by_month.values().copied().max().unwrap_or(1).max(1);
    writeln!(w, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>nbguard audit</title><style>")?;
    writeln!(w, "body{{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222}}h1{{margin-bottom:0}}table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}}th{{background:#f4f4f4}}.bar{{background:#c0392b;height:12px;display:inline-block}}.critical{{color:#fff;background:#8e1b10}}.high{{color:#fff;background:#c0392b}}.medium{{background:#f1c40f}}.low,.info{{background:#d6eaf8}}.sev{{padding:1px 6px;border-radius:3px;font-size:12px}}.gone{{color:#777}}code{{font-size:12px}}.cols{{display:flex;gap:2em;flex-wrap:wrap}}")?;
    writeln!(w, "</style></head><body>")?;
    let active = groups.iter().filter(|g| g.suppressed.is_none()).count();
    let still = groups
        .iter()
        .filter(|g| g.suppressed.is_none() && !g.present_at.is_empty())
        .count();
    writeln!(w, "<h1>nbguard history audit</h1><p>{active} secrets found in history; {still} still present at a ref, {} removed everywhere but still in history (rotate them all). Scanned {} refs, {} commits, {} unique blobs ({:.1} MB).</p>", active - still, r.refs, r.commits, r.blobs, r.bytes as f64 / 1_048_576.0)?;
    writeln!(
        w,
        "<h2>When leaks entered history</h2><table><tr><th>month</th><th>new secrets</th></tr>"
    )?;
    for (m, n) in &by_month {
        writeln!(
            w,
            "<tr><td>{m}</td><td><span class=\"bar\" style=\"width:{}px\"></span> {n}</td></tr>",
            4 + n * 300 / max
        )?;
    }
    writeln!(w, "</table><div class=\"cols\">")?;
    for (title, rows) in [
        (
            "By rule",
            by_rule
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect::<Vec<_>>(),
        ),
        (
            "By author",
            by_author.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        ),
        (
            "By path",
            by_path.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        ),
    ] {
        let mut rows = rows;
        rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        writeln!(w, "<div><h2>{title}</h2><table>")?;
        for (k, v) in rows.iter().take(50) {
            writeln!(w, "<tr><td>{}</td><td>{v}</td></tr>", esc(k))?;
        }
        writeln!(w, "</table></div>")?;
    }
    writeln!(w, "</div><h2>Findings</h2><table><tr><th>severity</th><th>rule</th><th>secret</th><th>introduced</th><th>where</th><th>still present at</th></tr>")?;
    for g in &groups {
        let first = &g.occurrences[0];
        let shown = if o.reveal {
            first.secret.clone()
        } else {
            first.masked_secret()
        };
        let intro = g
            .introduced()
            .map(|c| {
                format!(
                    "<code>{}</code> {}<br>{} &lt;{}&gt;<br>{}",
                    esc(c.short_id()),
                    date(c.time),
                    esc(&c.author),
                    esc(&c.email),
                    esc(&c.summary)
                )
            })
            .unwrap_or_default();
        let places: Vec<String> = g
            .occurrences
            .iter()
            .map(|f| {
                let nb = super::text::notebook_place(f)
                    .map(|p| format!(" ({})", esc(&p)))
                    .unwrap_or_default();
                format!("{}:{}{nb}", esc(&f.path), f.line)
            })
            .collect();
        let present = if g.present_at.is_empty() {
            "<span class=\"gone\">removed (still in history)</span>".to_string()
        } else {
            g.present_at
                .iter()
                .map(|s| esc(s))
                .collect::<Vec<_>>()
                .join("<br>")
        };
        writeln!(
            w,
            "<tr><td><span class=\"sev {}\">{}</span></td><td>{}<br><small>{}</small></td><td><code>{}</code><br><small>{}</small></td><td>{intro}</td><td>{}</td><td>{present}</td></tr>",
            g.severity.as_str(),
            g.severity.as_str(),
            esc(&g.rule),
            esc(&g.title),
            esc(&shown),
            esc(&g.fingerprint),
            places.join("<br>")
        )?;
    }
    writeln!(w, "</table>")?;
    if !r.diagnostics.is_empty() {
        writeln!(w, "<h2>Diagnostics</h2><ul>")?;
        for d in &r.diagnostics {
            writeln!(
                w,
                "<li>{}: {} ({})</li>",
                esc(&d.path),
                esc(&d.message),
                d.kind.as_str()
            )?;
        }
        writeln!(w, "</ul>")?;
    }
    writeln!(
        w,
        "<p><small>nbguard {}</small></p></body></html>",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::date;

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(date(0), "1970-01-01 00:00");
        assert_eq!(date(1_704_164_645), "2024-01-02 03:04");
    }
}
