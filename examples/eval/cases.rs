//! The labelled set: every credential family placed in the contexts where notebooks really hold
//! secrets (code in several styles, prose, shell magics, every kind of output, metadata,
//! nbformat 3, JSON escapes), personal data as customer tables, and the negatives of
//! `negatives.rs`. Each case is one notebook with one planted item or none.

use serde_json::{json, Value};

use crate::creds::{self, Cred};
use crate::gen::{self, Rng};
use crate::nb;
use crate::negatives;
use nbguard::finding::Part;

/// Where the planted item sits, as nbguard reports locations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc {
    pub cell: Option<usize>,
    pub part: Part,
    pub output: Option<usize>,
}

#[derive(Debug, Clone)]
pub enum Label {
    Positive {
        /// Substrings of acceptable rule ids.
        accept: Vec<&'static str>,
        /// Values a finding may report for the planted item.
        values: Vec<String>,
        at: Loc,
    },
    Negative {
        /// An informational finding is allowed (one author address in prose, as the product
        /// specification says); anything above info is still a false alarm.
        tolerate_info: bool,
    },
}

pub struct Case {
    pub id: usize,
    /// Credential family, PII kind, or negative category.
    pub family: String,
    pub context: &'static str,
    pub raw: String,
    pub label: Label,
}

/// Where a planted cell goes and where the finding must be.
pub struct Placed {
    pub cell: Option<Value>,
    pub meta: Option<(&'static str, Value)>,
    /// An nbformat 3 cell instead of a 4.5 one.
    pub v3: Option<Value>,
    pub part: Part,
    pub output: Option<usize>,
    /// Escape one character of the value as `\uXXXX` in the raw JSON.
    pub escape: Option<String>,
    /// Rules that also count in this placement (an `Authorization: Bearer` header may be found
    /// by the bearer rule instead of the provider's).
    pub also_accept: &'static [&'static str],
}

impl Placed {
    pub fn cell(cell: Value, part: Part, output: Option<usize>) -> Self {
        Placed {
            cell: Some(cell),
            meta: None,
            v3: None,
            part,
            output,
            escape: None,
            also_accept: &[],
        }
    }
}

pub const CONTEXTS: &[&str] = &[
    "code-assign",
    "code-call",
    "code-environ",
    "code-dict",
    "code-writefile",
    "magic-env",
    "shell-export",
    "markdown",
    "stream-print",
    "stream-log",
    "repr",
    "html",
    "traceback",
    "cell-metadata",
    "notebook-metadata",
    "nbformat3",
    "json-escape",
];

/// How many contexts each credential family is placed in.
const PER_FAMILY: usize = 12;
/// How many tables per PII kind and table context.
const PII_REPEAT: usize = 4;

pub fn build(seed: u64) -> Vec<Case> {
    let mut rng = Rng::new(seed);
    let mut cases = Vec::new();
    for (fi, fam) in creds::families().iter().enumerate() {
        for j in 0..PER_FAMILY {
            let ctx = CONTEXTS[(fi * 5 + j) % CONTEXTS.len()];
            let cred = (fam.make)(&mut rng);
            let placed = place(&mut rng, &cred, ctx);
            let also = placed.also_accept;
            let mut values = cred.values();
            if let Some((_, content)) = &cred.file {
                values.push(content.clone());
            }
            push(
                &mut rng,
                &mut cases,
                fam.name.to_string(),
                ctx,
                placed,
                |at| Label::Positive {
                    accept: [cred.accept, also].concat(),
                    values,
                    at,
                },
            );
        }
    }
    for kind in PII_KINDS {
        for ctx in PII_CONTEXTS {
            for _ in 0..PII_REPEAT {
                let (placed, values) = pii_case(&mut rng, kind.0, ctx);
                push(
                    &mut rng,
                    &mut cases,
                    format!("pii-{}", kind.0),
                    ctx,
                    placed,
                    |at| Label::Positive {
                        accept: kind.1.to_vec(),
                        values,
                        at,
                    },
                );
            }
        }
    }
    for neg in negatives::all() {
        for _ in 0..neg.repeat {
            let (ctx, placed) = (neg.make)(&mut rng);
            push(
                &mut rng,
                &mut cases,
                neg.category.to_string(),
                ctx,
                placed,
                |_| Label::Negative {
                    tolerate_info: neg.tolerate_info,
                },
            );
        }
    }
    cases
}

/// Assembles the notebook around a placement and records the case.
fn push(
    rng: &mut Rng,
    cases: &mut Vec<Case>,
    family: String,
    context: &'static str,
    placed: Placed,
    label: impl FnOnce(Loc) -> Label,
) {
    let (mut raw, cell) = match (&placed.v3, placed.cell.clone()) {
        (Some(v3), _) => {
            let (raw, at) = nb::notebook3(rng, v3.clone());
            (raw, Some(at))
        }
        (None, cell) => nb::notebook4(rng, cell, placed.meta.clone()),
    };
    if let Some(v) = &placed.escape {
        raw = escape_one_char(rng, &raw, v);
    }
    let at = Loc {
        cell,
        part: placed.part,
        output: placed.output,
    };
    cases.push(Case {
        id: cases.len(),
        family,
        context,
        raw,
        label: label(at),
    });
}

/// Rewrites one alphanumeric character of the value as a `\uXXXX` escape where the value sits in
/// the raw JSON: still the same string to any JSON reader.
fn escape_one_char(rng: &mut Rng, raw: &str, value: &str) -> String {
    let Some(at) = raw.find(value) else {
        return raw.to_string();
    };
    let positions: Vec<usize> = value
        .char_indices()
        .filter(|(_, c)| c.is_ascii_alphanumeric())
        .map(|(i, _)| i)
        .collect();
    if positions.is_empty() {
        return raw.to_string();
    }
    let i = at + positions[rng.below(positions.len())];
    let c = raw[i..]
        .chars()
        .next()
        .expect("the index points at a character");
    format!("{}\\u{:04X}{}", &raw[..i], c as u32, &raw[i + 1..])
}

fn lower(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// A Python repr of a string: single quotes, escaped newlines.
pub fn pyrepr(s: &str) -> String {
    format!(
        "'{}'",
        s.replace('\\', "\\\\")
            .replace('\'', "\\'")
            .replace('\n', "\\n")
    )
}

/// Name/value pairs of a credential (companions first).
fn pairs(c: &Cred) -> Vec<(String, String)> {
    let mut v = c.extra.clone();
    v.push((c.env.clone(), c.value.clone()));
    v
}

fn quote(rng: &mut Rng, v: &str, multiline: bool) -> String {
    if multiline {
        return format!("\"\"\"{v}\"\"\"");
    }
    match rng.below(4) {
        0 => format!("'{v}'"),
        1 => format!("r\"{v}\""),
        _ => format!("\"{v}\""),
    }
}

fn place(rng: &mut Rng, c: &Cred, ctx: &'static str) -> Placed {
    let src = |rng: &mut Rng, s: &str| {
        Placed::cell(nb::code(rng, s, vec![], json!({})), Part::Source, None)
    };
    match ctx {
        "code-assign" => {
            let s: Vec<String> = pairs(c)
                .iter()
                .map(|(k, v)| format!("{} = {}", lower(k), quote(rng, v, c.multiline)))
                .collect();
            src(
                rng,
                &format!("# credentials for {}\n{}\n", c.provider, s.join("\n")),
            )
        }
        "code-call" => src(rng, &format!("{}\nprint(\"connected\")", c.ctor)),
        "code-environ" => {
            let s: Vec<String> = pairs(c)
                .iter()
                .map(|(k, v)| format!("os.environ[\"{k}\"] = {}", quote(rng, v, c.multiline)))
                .collect();
            src(rng, &format!("import os\n{}\n", s.join("\n")))
        }
        "code-dict" => {
            let s: Vec<String> = pairs(c)
                .iter()
                .map(|(k, v)| format!("    \"{}\": {},", lower(k), quote(rng, v, c.multiline)))
                .collect();
            src(rng, &format!("settings = {{\n{}\n    \"timeout\": 30,\n    \"region\": \"eu-west-1\",\n}}\nclient = make_client(**settings)", s.join("\n")))
        }
        "code-writefile" => match &c.file {
            Some((path, content)) => src(rng, &format!("%%writefile {path}\n{content}")),
            None => {
                let s: Vec<String> = pairs(c)
                    .iter()
                    .map(|(k, v)| format!("  {}: {v}", lower(k)))
                    .collect();
                src(rng, &format!("%%writefile config.yaml\nservice:\n  name: churn-scorer\n{}\n  timeout: 30\n", s.join("\n")))
            }
        },
        "magic-env" if !c.multiline => {
            let s: Vec<String> = pairs(c)
                .iter()
                .map(|(k, v)| format!("%env {k}={v}"))
                .collect();
            src(rng, &s.join("\n"))
        }
        "shell-export" if !c.multiline => {
            let s: Vec<String> = pairs(c)
                .iter()
                .map(|(k, v)| match rng.below(2) {
                    0 => format!("!echo 'export {k}=\"{v}\"' >> ~/.bashrc"),
                    _ => format!("!export {k}={v} && python train.py --epochs 3"),
                })
                .collect();
            src(rng, &s.join("\n"))
        }
        "magic-env" | "shell-export" => {
            let (path, content) = c
                .file
                .clone()
                .unwrap_or(("key.pem".into(), c.value.clone()));
            src(
                rng,
                &format!(
                    "!mkdir -p ~/.ssh && cat > {path} <<'EOF'\n{}EOF\n!chmod 600 {path}",
                    content
                ),
            )
        }
        "markdown" => {
            let body = if c.multiline {
                format!(
                    "Paste the {} credentials below into the file:\n\n```\n{}```\n",
                    c.provider, c.value
                )
            } else {
                let p = pairs(c);
                match rng.below(3) {
                    0 => format!("## Setup\n\nUse the token `{}` for the shared {} account (ask Maria before rotating it).\n", p.last().expect("pairs end with the value").1, c.provider),
                    1 => p.iter().map(|(k, v)| format!("- **{k}**: `{v}`\n")).collect::<String>(),
                    _ => format!("The {} credentials for the demo are {}.\n", c.provider, p.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join(" / ")),
                }
            };
            Placed::cell(nb::markdown(rng, &body), Part::Source, None)
        }
        "stream-print" => {
            let (source, text) = match &c.file {
                Some((path, content)) if c.multiline || rng.chance(50) => {
                    (format!("!cat {path}"), content.clone())
                }
                _ => (
                    "!cat .env".to_string(),
                    format!(
                        "DEBUG=false\n{}\n",
                        pairs(c)
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join("\n")
                    ),
                ),
            };
            let outs = vec![nb::stream("stdout", &text)];
            Placed::cell(
                nb::code(rng, &source, outs, json!({})),
                Part::Output,
                Some(0),
            )
        }
        "stream-log" => {
            let mut bearer = false;
            let line = if c.multiline {
                format!("WARNING:root:loaded key material {}\n", pyrepr(&c.value))
            } else {
                match rng.below(2) {
                    0 => {
                        bearer = true;
                        format!("2024-05-03 10:12:44,513 DEBUG [client] request headers: {{'Authorization': 'Bearer {}', 'User-Agent': 'python-requests/2.31.0'}}\n", c.value)
                    }
                    _ => format!(
                        "INFO:{}:authenticating with {}\n",
                        lower(c.provider).replace(' ', "_"),
                        pairs(c)
                            .iter()
                            .map(|(k, v)| format!("{}={v}", lower(k)))
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                }
            };
            let outs = vec![
                nb::stream(
                    "stderr",
                    "2024-05-03 10:12:44,498 INFO [client] starting session\n",
                ),
                nb::stream("stderr", &line),
            ];
            let mut p = Placed::cell(
                nb::code(rng, "client.ping()", outs, json!({})),
                Part::Output,
                Some(1),
            );
            if bearer {
                p.also_accept = &["secret.generic.bearer-token"];
            }
            p
        }
        "repr" => {
            // A bare value only makes sense for formats that name themselves; a password alone
            // in a repr is not recognisable by anyone.
            let text = if (rng.chance(50) && !c.keyless) || c.multiline {
                pyrepr(&c.value)
            } else {
                let items: Vec<String> = pairs(c)
                    .iter()
                    .map(|(k, v)| format!("{}: {}", pyrepr(&lower(k)), pyrepr(v)))
                    .collect();
                format!("{{{}, 'timeout': 30}}", items.join(", "))
            };
            let out = nb::execute_result(rng, json!({"text/plain": nb::lines(&text)}));
            Placed::cell(
                nb::code(rng, "settings", vec![out], json!({})),
                Part::Output,
                Some(0),
            )
        }
        "html" => {
            let rows: Vec<Vec<String>> = pairs(c)
                .into_iter()
                .map(|(k, v)| vec![k, v, "env".to_string()])
                .collect();
            let out = if c.multiline || rng.chance(50) {
                let html = format!(
                    "<details><summary>Resolved settings</summary><pre>{}</pre></details>",
                    nb::html_escape(
                        &pairs(c)
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join("\n")
                    )
                );
                nb::display(
                    json!({"text/html": nb::lines(&html), "text/plain": ["<IPython.core.display.HTML object>"]}),
                )
            } else {
                nb::df_output(rng, &["name", "value", "source"], &rows)
            };
            Placed::cell(
                nb::code(rng, "show_settings()", vec![out], json!({})),
                Part::Output,
                Some(0),
            )
        }
        "traceback" => {
            let shown = if c.multiline {
                pyrepr(&c.value)
            } else {
                c.value.clone()
            };
            let (ename, evalue) = match rng.below(2) {
                0 => ("AuthenticationError", format!("Error code: 401 - {{'error': {{'message': 'Incorrect API key provided: {shown}. You can find your API key in your account settings.', 'type': 'invalid_request_error', 'code': 'invalid_api_key'}}}}")),
                _ => ("ValueError", format!("invalid credentials for {}: {}", c.provider, pyrepr(&c.value))),
            };
            let coloured = if rng.chance(50) {
                evalue.replace(&shown, &format!("\u{1b}[1;31m{shown}\u{1b}[0m"))
            } else {
                evalue.clone()
            };
            let tb = vec![
                "\u{1b}[0;31m---------------------------------------------------------------------------\u{1b}[0m".to_string(),
                format!("\u{1b}[0;31m{ename}\u{1b}[0m                       Traceback (most recent call last)"),
                "Cell \u{1b}[0;32mIn[7], line 2\u{1b}[0m\n\u{1b}[1;32m      1\u{1b}[0m resp \u{1b}[38;5;241m=\u{1b}[39m client\u{1b}[38;5;241m.\u{1b}[39mcreate(prompt)".to_string(),
                format!("\u{1b}[0;31m{ename}\u{1b}[0m: {coloured}"),
            ];
            let out = nb::error(ename, &evalue, tb);
            Placed::cell(
                nb::code(rng, "resp = client.create(prompt)", vec![out], json!({})),
                Part::Output,
                Some(0),
            )
        }
        "cell-metadata" => {
            let params: serde_json::Map<String, Value> = pairs(c)
                .into_iter()
                .map(|(k, v)| (lower(&k), json!(v)))
                .collect();
            let meta = json!({"tags": ["parameters"], "parameters": params, "ExecuteTime": {"end_time": "2024-05-03T10:12:44.513Z", "start_time": "2024-05-03T10:12:44.498Z"}});
            Placed::cell(
                nb::code(rng, "run_pipeline(**parameters)", vec![], meta),
                Part::Metadata,
                None,
            )
        }
        "notebook-metadata" => {
            let params: serde_json::Map<String, Value> = pairs(c)
                .into_iter()
                .map(|(k, v)| (lower(&k), json!(v)))
                .collect();
            let pm = json!({"default_parameters": {}, "duration": 41.2, "environment_variables": {}, "exception": null, "input_path": "train.ipynb", "output_path": "runs/train-2024-05-03.ipynb", "parameters": params, "start_time": "2024-05-03T10:12:03.000000", "version": "2.6.0"});
            Placed {
                cell: None,
                meta: Some(("papermill", pm)),
                v3: None,
                part: Part::Metadata,
                output: None,
                escape: None,
                also_accept: &[],
            }
        }
        "nbformat3" => {
            let n = rng.range(3, 40);
            // A bare repr of a value that does not name itself is unrecognisable: keyless
            // formats go in as code.
            if rng.chance(50) || c.keyless {
                let cell = nb::code3(&c.ctor, vec![], n);
                Placed {
                    cell: None,
                    meta: None,
                    v3: Some(cell),
                    part: Part::Source,
                    output: None,
                    escape: None,
                    also_accept: &[],
                }
            } else {
                let cell = nb::code3(&lower(&c.env), vec![nb::pyout3(&pyrepr(&c.value), n)], n);
                Placed {
                    cell: None,
                    meta: None,
                    v3: Some(cell),
                    part: Part::Output,
                    output: Some(0),
                    escape: None,
                    also_accept: &[],
                }
            }
        }
        "json-escape" => {
            let mut p = if rng.chance(50) {
                src(rng, &format!("{}\n", c.ctor))
            } else {
                src(
                    rng,
                    &format!("{} = \"{}\"\n", lower(&c.env), c.value.replace('\n', "\\n")),
                )
            };
            // Escape inside the longest single line of the value (PEM bodies are multi-line).
            let target = c
                .value
                .lines()
                .max_by_key(|l| l.len())
                .unwrap_or(&c.value)
                .to_string();
            p.escape = Some(target);
            p
        }
        other => panic!("unknown context {other}"),
    }
}

/// PII kinds and the rule ids that count as finding them.
pub const PII_KINDS: &[(&str, &[&str])] = &[
    ("card", &["pii.credit-card", "pii.card", "pii.payment"]),
    ("iban", &["pii.iban"]),
    ("ssn", &["pii.ssn", "pii.us-ssn"]),
    ("email", &["pii.email"]),
    ("phone", &["pii.phone"]),
];

pub const PII_CONTEXTS: &[&str] = &[
    "table-output",
    "html-only",
    "stream-csv",
    "code-dataframe",
    "markdown-table",
    "nbformat3-table",
];

fn pii_case(rng: &mut Rng, kind: &str, ctx: &'static str) -> (Placed, Vec<String>) {
    let n = rng.range(4, 8);
    let col = match kind {
        "card" => "card_number",
        "iban" => "iban",
        "ssn" => "ssn",
        "email" => "email",
        _ => "phone",
    };
    let columns = ["customer_id", "name", col, "city", "signup_date", "balance"];
    let mut values = Vec::new();
    let rows: Vec<Vec<String>> = (0..n)
        .map(|_| {
            let (f, l) = gen::person(rng);
            let v = match kind {
                "card" => {
                    let c = gen::card(rng);
                    if rng.chance(50) {
                        gen::group_card(&c, if rng.chance(50) { " " } else { "-" })
                    } else {
                        c
                    }
                }
                "iban" => {
                    let i = gen::iban(rng);
                    if rng.chance(50) {
                        gen::group_iban(&i)
                    } else {
                        i
                    }
                }
                "ssn" => gen::ssn(rng),
                "email" => gen::email_for(rng, &f, &l),
                _ => gen::phone(rng),
            };
            values.push(v.clone());
            vec![
                format!("C{:05}", rng.range(1, 99_999)),
                format!("{f} {l}"),
                v,
                rng.pick(gen::CITIES).to_string(),
                format!("2023-{:02}-{:02}", rng.range(1, 12), rng.range(1, 28)),
                format!("{}.{:02}", rng.range(0, 9000), rng.range(0, 99)),
            ]
        })
        .collect();
    let placed = match ctx {
        "table-output" => {
            let out = nb::df_output(rng, &columns, &rows);
            Placed::cell(
                nb::code(
                    rng,
                    "customers.sample(6, random_state=0)",
                    vec![out],
                    json!({}),
                ),
                Part::Output,
                Some(0),
            )
        }
        "html-only" => {
            let html = nb::df_html(&columns, &rows)
                .replace("class=\"dataframe\"", "class=\"dataframe\" id=\"T_8f3a2\"");
            let out = nb::display(
                json!({"text/html": nb::lines(&html), "text/plain": ["<pandas.io.formats.style.Styler at 0x7f3b2c1d9e50>"]}),
            );
            Placed::cell(
                nb::code(
                    rng,
                    "display(customers.head().style.highlight_max(subset=['balance']))",
                    vec![out],
                    json!({}),
                ),
                Part::Output,
                Some(0),
            )
        }
        "stream-csv" => {
            let mut text = columns.join(",");
            text.push('\n');
            for r in &rows {
                text.push_str(&r.join(","));
                text.push('\n');
            }
            let out = nb::stream("stdout", &text);
            Placed::cell(
                nb::code(
                    rng,
                    "!head -n 8 data/customers_export.csv",
                    vec![out],
                    json!({}),
                ),
                Part::Output,
                Some(0),
            )
        }
        "code-dataframe" => {
            let mut s = String::from("customers = pd.DataFrame([\n");
            for r in &rows {
                let fields: Vec<String> = columns
                    .iter()
                    .zip(r)
                    .map(|(c, v)| format!("\"{c}\": \"{v}\""))
                    .collect();
                s.push_str(&format!("    {{{}}},\n", fields.join(", ")));
            }
            s.push_str("])\n");
            Placed::cell(nb::code(rng, &s, vec![], json!({})), Part::Source, None)
        }
        "markdown-table" => {
            let mut s = format!(
                "### Escalated accounts\n\n| {} |\n|{}\n",
                columns.join(" | "),
                "---|".repeat(columns.len())
            );
            for r in &rows {
                s.push_str(&format!("| {} |\n", r.join(" | ")));
            }
            Placed::cell(nb::markdown(rng, &s), Part::Source, None)
        }
        _ => {
            let m = rng.range(3, 30);
            let out = json!({"output_type": "pyout", "metadata": {}, "prompt_number": m, "html": nb::lines(&nb::df_html(&columns, &rows)), "text": nb::lines(&nb::df_text(&columns, &rows))});
            let cell = nb::code3("customers.head(8)", vec![out], m);
            Placed {
                cell: None,
                meta: None,
                v3: Some(cell),
                part: Part::Output,
                output: Some(0),
                escape: None,
                also_accept: &[],
            }
        }
    };
    (placed, values)
}
