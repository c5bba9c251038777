//! The audit as one self-contained HTML page for a security lead: counts by kind and severity
//! first, what to rotate first, then every finding with filters (severity, kind, rule, author,
//! path) and what to do about it, then diagnostics grouped by kind. Inline CSS and JS only, no
//! network. Long ref lists, paths and snippets wrap or fold so that nothing is wider than the
//! window.
//!
//! The page is drawn from a [`Page`], which both a single audit and a merge of many build.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use super::{action, date, diagnostics_by_kind, AuditReport, Kind};
use crate::finding::{Diagnostic, Severity};
use crate::report::{clean, notebook_place, Options};
use crate::source::CommitInfo;

/// What the page shows, whatever it was built from.
pub(crate) struct Page {
    pub title: String,
    /// One sentence on what was scanned.
    pub scope: String,
    pub rows: Vec<Row>,
    pub diagnostics: Vec<Diagnostic>,
}

/// One secret (one fingerprint).
pub(crate) struct Row {
    pub severity: Severity,
    pub kind: Kind,
    pub rule: String,
    pub title: String,
    pub secret: String,
    pub fingerprint: String,
    pub introduced: Option<CommitInfo>,
    /// "main, 3 tags and 2,276 pull-request refs", or "no ref".
    pub refs: String,
    pub still_present: bool,
    /// Repositories holding it (merged reports only).
    pub repos: Vec<String>,
    pub places: Vec<Place>,
    /// Authors of the introducing commits, "Name <email>".
    pub authors: BTreeSet<String>,
    pub action: String,
}

pub(crate) struct Place {
    pub repo: Option<String>,
    pub path: String,
    pub line: usize,
    pub notebook: Option<String>,
    pub commit: Option<String>,
}

impl Row {
    fn paths(&self) -> BTreeSet<&str> {
        self.places.iter().map(|p| p.path.as_str()).collect()
    }
}

/// Refs named in full before a summary takes over.
const NAMED_REFS: usize = 5;
/// Places listed before the rest fold away.
const PLACES_SHOWN: usize = 4;
/// Rows in "rotate first".
const ROTATE_FIRST: usize = 10;
/// Diagnostics listed per kind.
const DIAGNOSTICS_SHOWN: usize = 200;

pub fn write_audit_html(w: &mut dyn Write, r: &AuditReport, o: &Options) -> io::Result<()> {
    let rows = r
        .groups
        .iter()
        .filter(|g| o.show_suppressed || g.suppressed.is_none())
        .map(|g| {
            let first = &g.occurrences[0];
            let few = g.present_at.len() <= NAMED_REFS;
            let refs = if (o.all_refs || few) && !g.present_at.is_empty() {
                r.ref_table.names(&g.present_at).join(", ")
            } else {
                r.ref_table.summarise(&g.present_at, 0).text
            };
            Row {
                severity: g.severity,
                kind: g.kind(),
                rule: g.rule.clone(),
                title: g.title.clone(),
                secret: if o.reveal {
                    first.secret.clone()
                } else {
                    first.masked_secret()
                },
                fingerprint: g.fingerprint.clone(),
                introduced: g.introduced().cloned(),
                refs,
                still_present: !g.present_at.is_empty(),
                repos: Vec::new(),
                places: g
                    .occurrences
                    .iter()
                    .map(|f| Place {
                        repo: None,
                        path: f.path.clone(),
                        line: f.line,
                        notebook: notebook_place(f),
                        commit: f.commit.as_ref().map(|c| c.short_id().to_owned()),
                    })
                    .collect(),
                authors: g
                    .occurrences
                    .iter()
                    .filter_map(|f| f.commit.as_ref())
                    .map(|c| format!("{} <{}>", c.author, c.email))
                    .collect(),
                action: action(g.kind(), &g.rule, !g.present_at.is_empty()),
            }
        })
        .collect();
    let page = Page {
        title: "nbguard history audit".to_owned(),
        scope: format!(
            "Scanned {} refs, {} commits, {} unique blobs ({:.1} MB){}.",
            crate::source::history::thousands(r.refs),
            r.commits,
            r.blobs,
            r.bytes as f64 / 1_048_576.0,
            if r.repository.is_empty() {
                String::new()
            } else {
                format!(" of {}", r.repository)
            }
        ),
        rows,
        diagnostics: r.diagnostics.clone(),
    };
    write_page(w, &page)
}

fn esc(s: &str) -> String {
    clean(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "*{box-sizing:border-box}body{font:14px/1.45 system-ui,sans-serif;margin:1.5em;color:#222;max-width:100%}\
h1{margin:0 0 .2em}h2{margin-top:1.6em}table{border-collapse:collapse;margin:.6em 0}\
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere;word-break:break-word}\
th{background:#f4f4f4}#findings{width:100%;table-layout:fixed}\
#findings col.sev{width:7em}#findings col.rule{width:16%}#findings col.secret{width:14%}#findings col.intro{width:16%}#findings col.where{width:24%}\
.sev{padding:1px 6px;border-radius:3px;font-size:12px;white-space:nowrap}.critical{color:#fff;background:#8e1b10}.high{color:#fff;background:#c0392b}\
.medium{background:#f1c40f}.low,.info{background:#d6eaf8}.gone{color:#777}code{font-size:12px;overflow-wrap:anywhere;word-break:break-all}\
.do{font-size:12px;color:#444;margin-top:4px}.cards td{text-align:right}.cards td:first-child{text-align:left}\
.filters{display:flex;flex-wrap:wrap;gap:.6em;align-items:center;margin:.6em 0}.filters select,.filters input{max-width:22em}\
.bar{background:#c0392b;height:12px;display:inline-block}.cols{display:flex;gap:2em;flex-wrap:wrap}.cols>div{min-width:0;max-width:100%}\
details>summary{cursor:pointer}li{overflow-wrap:anywhere}small{color:#555}";

const SCRIPT: &str = r#"(function(){
var f=document.getElementById('filters');if(!f)return;
var rows=[].slice.call(document.querySelectorAll('#findings tbody tr'));
function apply(){var s=f.severity.value,k=f.kind.value,r=f.rule.value,a=f.author.value,p=f.path.value.toLowerCase(),n=0;
rows.forEach(function(t){var ok=(!s||t.dataset.severity===s)&&(!k||t.dataset.kind===k)&&(!r||t.dataset.rule===r)
&&(!a||t.dataset.authors.split('\n').indexOf(a)>=0)&&(!p||t.dataset.paths.toLowerCase().indexOf(p)>=0);
t.style.display=ok?'':'none';if(ok)n++;});document.getElementById('shown').textContent=n+' of '+rows.length+' shown';}
['severity','kind','rule','author'].forEach(function(x){f[x].addEventListener('change',apply);});
f.path.addEventListener('input',apply);apply();})();"#;

pub(crate) fn write_page(w: &mut dyn Write, page: &Page) -> io::Result<()> {
    writeln!(w, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{}</title><style>{STYLE}</style></head><body>", esc(&page.title))?;
    writeln!(
        w,
        "<h1>{}</h1><p>{}</p>",
        esc(&page.title),
        esc(&page.scope)
    )?;
    write_counts(w, page)?;
    write_rotate_first(w, page)?;
    write_findings(w, page)?;
    write_breakdowns(w, page)?;
    write_diagnostics(w, &page.diagnostics)?;
    writeln!(
        w,
        "<p><small>nbguard {}</small></p><script>{SCRIPT}</script></body></html>",
        env!("CARGO_PKG_VERSION")
    )
}

/// The headline and a kind × severity table of active findings.
fn write_counts(w: &mut dyn Write, page: &Page) -> io::Result<()> {
    let mut by: BTreeMap<Kind, BTreeMap<Severity, usize>> = BTreeMap::new();
    for row in &page.rows {
        *by.entry(row.kind)
            .or_default()
            .entry(row.severity)
            .or_default() += 1;
    }
    let n = |k: Kind| by.get(&k).map(|m| m.values().sum()).unwrap_or(0usize);
    let creds = page.rows.iter().filter(|r| r.kind == Kind::Credential);
    let still = creds.clone().filter(|r| r.still_present).count();
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    writeln!(
        w,
        "<p id=\"headline\"><strong>{} to rotate</strong> ({still} still present at a ref, {} only in history), {}, {}.</p>",
        count(n(Kind::Credential), "credential", "credentials"),
        n(Kind::Credential) - still,
        count(n(Kind::PersonalData), "personal-data finding", "personal-data findings"),
        count(n(Kind::Informational), "informational finding", "informational findings"),
    )?;
    write!(w, "<table class=\"cards\" id=\"counts\"><tr><th>kind</th>")?;
    for s in Severity::ALL {
        write!(w, "<th><span class=\"sev {0}\">{0}</span></th>", s.as_str())?;
    }
    writeln!(w, "<th>total</th></tr>")?;
    for kind in Kind::ALL {
        write!(w, "<tr><td>{}</td>", kind.plural())?;
        for s in Severity::ALL {
            let c = by.get(&kind).and_then(|m| m.get(&s)).copied().unwrap_or(0);
            write!(w, "<td>{c}</td>")?;
        }
        writeln!(w, "<td><strong>{}</strong></td></tr>", n(kind))?;
    }
    writeln!(w, "</table>")
}

/// Credentials in order of urgency: most severe, still reachable, oldest first.
fn write_rotate_first(w: &mut dyn Write, page: &Page) -> io::Result<()> {
    let mut creds: Vec<&Row> = page
        .rows
        .iter()
        .filter(|r| r.kind == Kind::Credential)
        .collect();
    if creds.is_empty() {
        return writeln!(w, "<h2>Rotate first</h2><p>No credentials found.</p>");
    }
    creds.sort_by_key(|r| {
        (
            std::cmp::Reverse(r.severity),
            !r.still_present,
            r.introduced.as_ref().map(|c| c.time),
        )
    });
    writeln!(w, "<h2>Rotate first</h2><ol id=\"rotate\">")?;
    for r in creds.iter().take(ROTATE_FIRST) {
        let intro = r
            .introduced
            .as_ref()
            .map(|c| format!(", in history since {}", &date(c.time)[..10]))
            .unwrap_or_default();
        let repos = if r.repos.is_empty() {
            String::new()
        } else {
            format!(" in {}", esc(&r.repos.join(", ")))
        };
        writeln!(
            w,
            "<li><span class=\"sev {s}\">{s}</span> {} <code>{}</code>{repos}: at {}{intro}.</li>",
            esc(&r.title),
            esc(&r.secret),
            esc(&r.refs),
            s = r.severity.as_str(),
        )?;
    }
    if creds.len() > ROTATE_FIRST {
        writeln!(
            w,
            "<li class=\"gone\">… and {} more below.</li>",
            creds.len() - ROTATE_FIRST
        )?;
    }
    writeln!(w, "</ol>")
}

fn options(values: impl IntoIterator<Item = String>) -> String {
    values
        .into_iter()
        .map(|v| format!("<option value=\"{0}\">{0}</option>", esc(&v)))
        .collect()
}

fn write_findings(w: &mut dyn Write, page: &Page) -> io::Result<()> {
    let rules: BTreeSet<String> = page.rows.iter().map(|r| r.rule.clone()).collect();
    let authors: BTreeSet<String> = page.rows.iter().flat_map(|r| r.authors.clone()).collect();
    let severities = Severity::ALL
        .iter()
        .filter(|s| page.rows.iter().any(|r| r.severity == **s))
        .map(|s| s.as_str().to_owned());
    let kinds = Kind::ALL
        .iter()
        .filter(|k| page.rows.iter().any(|r| r.kind == **k))
        .map(|k| k.as_str().to_owned());
    writeln!(
        w,
        "<h2>Findings</h2><form class=\"filters\" id=\"filters\" onsubmit=\"return false\">"
    )?;
    writeln!(w, "<label>severity <select name=\"severity\"><option value=\"\">all</option>{}</select></label>", options(severities))?;
    writeln!(
        w,
        "<label>kind <select name=\"kind\"><option value=\"\">all</option>{}</select></label>",
        options(kinds)
    )?;
    writeln!(
        w,
        "<label>rule <select name=\"rule\"><option value=\"\">all</option>{}</select></label>",
        options(rules)
    )?;
    writeln!(
        w,
        "<label>author <select name=\"author\"><option value=\"\">all</option>{}</select></label>",
        options(authors)
    )?;
    writeln!(w, "<label>path <input name=\"path\" type=\"search\" placeholder=\"part of a path\"></label><span id=\"shown\"></span></form>")?;
    writeln!(w, "<table id=\"findings\"><colgroup><col class=\"sev\"><col class=\"rule\"><col class=\"secret\"><col class=\"intro\"><col class=\"where\"><col></colgroup>")?;
    writeln!(w, "<thead><tr><th>severity</th><th>rule</th><th>secret</th><th>introduced</th><th>where</th><th>still present at · what to do</th></tr></thead><tbody>")?;
    for r in &page.rows {
        write_row(w, r)?;
    }
    writeln!(w, "</tbody></table>")
}

fn write_row(w: &mut dyn Write, r: &Row) -> io::Result<()> {
    let intro = r
        .introduced
        .as_ref()
        .map(|c| {
            format!(
                "<code>{}</code> {}<br>{} &lt;{}&gt;<br><small>{}</small>",
                esc(c.short_id()),
                date(c.time),
                esc(&c.author),
                esc(&c.email),
                esc(&c.summary)
            )
        })
        .unwrap_or_default();
    let place = |p: &Place| {
        let repo = p
            .repo
            .as_ref()
            .map(|r| format!("<strong>{}</strong>: ", esc(r)))
            .unwrap_or_default();
        let at = if p.path.is_empty() {
            "commit message".to_owned()
        } else {
            format!("{}:{}", esc(&p.path), p.line)
        };
        let nb = p
            .notebook
            .as_ref()
            .map(|n| format!(" ({})", esc(n)))
            .unwrap_or_default();
        let commit = p
            .commit
            .as_ref()
            .map(|c| format!(" <small>@ {}</small>", esc(c)))
            .unwrap_or_default();
        format!("<div>{repo}{at}{nb}{commit}</div>")
    };
    let mut places: String = r.places.iter().take(PLACES_SHOWN).map(place).collect();
    if r.places.len() > PLACES_SHOWN {
        let rest: String = r.places.iter().skip(PLACES_SHOWN).map(place).collect();
        places.push_str(&format!(
            "<details><summary>{} more places</summary>{rest}</details>",
            r.places.len() - PLACES_SHOWN
        ));
    }
    let present = if r.still_present {
        esc(&r.refs)
    } else {
        "<span class=\"gone\">removed (still in history)</span>".to_owned()
    };
    let repos = if r.repos.is_empty() {
        String::new()
    } else {
        format!(
            "<div>in {}: {}</div>",
            r.repos.len(),
            esc(&r.repos.join(", "))
        )
    };
    let authors: Vec<&str> = r.authors.iter().map(String::as_str).collect();
    let paths: Vec<&str> = r.paths().into_iter().collect();
    writeln!(
        w,
        "<tr data-severity=\"{s}\" data-kind=\"{k}\" data-rule=\"{rule}\" data-authors=\"{a}\" data-paths=\"{p}\"><td><span class=\"sev {s}\">{s}</span></td><td>{rule}<br><small>{title}</small></td><td><code>{secret}</code><br><small>{fp}</small></td><td>{intro}</td><td>{places}</td><td>{repos}{present}<div class=\"do\">{action}</div></td></tr>",
        s = r.severity.as_str(),
        k = r.kind.as_str(),
        rule = esc(&r.rule),
        // One per line; escaped one by one, as cleaning would turn a newline into `?`.
        a = authors.iter().map(|a| esc(a)).collect::<Vec<_>>().join("&#10;"),
        p = paths.iter().map(|p| esc(p)).collect::<Vec<_>>().join("&#10;"),
        title = esc(&r.title),
        secret = esc(&r.secret),
        fp = esc(&r.fingerprint),
        action = esc(&r.action),
    )
}

/// When leaks entered history, and the rules, authors and paths with the most.
fn write_breakdowns(w: &mut dyn Write, page: &Page) -> io::Result<()> {
    let mut by_month: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_author: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_path: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &page.rows {
        if let Some(c) = &r.introduced {
            *by_month.entry(date(c.time)[..7].to_string()).or_default() += 1;
        }
        *by_rule.entry(&r.rule).or_default() += 1;
        for a in &r.authors {
            *by_author.entry(a).or_default() += 1;
        }
        for p in r.paths() {
            *by_path.entry(p).or_default() += 1;
        }
    }
    let max = by_month.values().copied().max().unwrap_or(1).max(1);
    writeln!(
        w,
        "<h2>When leaks entered history</h2><table><tr><th>month</th><th>new findings</th></tr>"
    )?;
    for (m, n) in &by_month {
        writeln!(
            w,
            "<tr><td>{m}</td><td><span class=\"bar\" style=\"width:{}px\"></span> {n}</td></tr>",
            4 + n * 300 / max
        )?;
    }
    writeln!(w, "</table><div class=\"cols\">")?;
    for (title, map) in [
        ("By rule", &by_rule),
        ("By author", &by_author),
        ("By path", &by_path),
    ] {
        let mut rows: Vec<(&&str, &usize)> = map.iter().collect();
        rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        writeln!(w, "<div><h2>{title}</h2><table>")?;
        for (k, v) in rows.iter().take(30) {
            writeln!(w, "<tr><td>{}</td><td>{v}</td></tr>", esc(k))?;
        }
        writeln!(w, "</table></div>")?;
    }
    writeln!(w, "</div>")
}

/// By kind with counts; what means history was not fully read comes first and open, routine
/// notes ("binary file") come folded.
fn write_diagnostics(w: &mut dyn Write, diags: &[Diagnostic]) -> io::Result<()> {
    if diags.is_empty() {
        return Ok(());
    }
    writeln!(w, "<h2>Diagnostics</h2>")?;
    for (kind, list) in diagnostics_by_kind(diags) {
        let open = matches!(
            kind,
            crate::finding::DiagnosticKind::MissingObject
                | crate::finding::DiagnosticKind::Unreadable
                | crate::finding::DiagnosticKind::Timeout
        );
        writeln!(
            w,
            "<details class=\"diag\" data-kind=\"{k}\"{}><summary><strong>{k}</strong>: {n}</summary><ul>",
            if open { " open" } else { "" },
            k = kind.as_str(),
            n = list.len()
        )?;
        for d in list.iter().take(DIAGNOSTICS_SHOWN) {
            writeln!(w, "<li>{}: {}</li>", esc(&d.path), esc(&d.message))?;
        }
        if list.len() > DIAGNOSTICS_SHOWN {
            writeln!(
                w,
                "<li>… and {} more (see the JSON report)</li>",
                list.len() - DIAGNOSTICS_SHOWN
            )?;
        }
        writeln!(w, "</ul></details>")?;
    }
    Ok(())
}
