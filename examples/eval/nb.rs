//! Notebook building blocks: cells, outputs, pandas-style tables and realistic filler, always as
//! `serde_json` values (never hand-typed JSON), assembled into nbformat 4.5 or nbformat 3 files.
//!
//! The builders know nothing about secrets; `cases` decides what goes where.

use serde_json::{json, Value};

use crate::gen::{self, Rng};

/// nbformat stores multi-line strings as lists of lines that keep their newlines.
pub fn lines(text: &str) -> Value {
    json!(text.split_inclusive('\n').collect::<Vec<_>>())
}

pub fn code(rng: &mut Rng, source: &str, outputs: Vec<Value>, metadata: Value) -> Value {
    json!({
        "cell_type": "code",
        "execution_count": rng.range(1, 60),
        "id": rng.string(gen::HEX, 8),
        "metadata": metadata,
        "outputs": outputs,
        "source": lines(source),
    })
}

pub fn markdown(rng: &mut Rng, source: &str) -> Value {
    json!({"cell_type": "markdown", "id": rng.string(gen::HEX, 8), "metadata": {}, "source": lines(source)})
}

pub fn stream(name: &str, text: &str) -> Value {
    json!({"output_type": "stream", "name": name, "text": lines(text)})
}

pub fn execute_result(rng: &mut Rng, data: Value) -> Value {
    json!({"output_type": "execute_result", "execution_count": rng.range(1, 60), "metadata": {}, "data": data})
}

pub fn display(data: Value) -> Value {
    json!({"output_type": "display_data", "metadata": {}, "data": data})
}

pub fn error(ename: &str, evalue: &str, traceback: Vec<String>) -> Value {
    json!({"output_type": "error", "ename": ename, "evalue": evalue, "traceback": traceback})
}

/// Bytes that look like a PNG file (real signature and IHDR, random body), base64-encoded the way
/// Jupyter stores them: one long line with a trailing newline.
pub fn png(rng: &mut Rng, size: usize) -> String {
    let mut bytes = vec![
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d,
    ];
    bytes.extend_from_slice(b"IHDR");
    bytes.extend(rng.bytes(size));
    format!("{}\n", gen::base64(&bytes))
}

/// A matplotlib figure output.
pub fn figure(rng: &mut Rng) -> Value {
    let size = rng.range(600, 1800);
    display(json!({
        "image/png": png(rng, size),
        "text/plain": ["<Figure size 640x480 with 1 Axes>"],
    }))
}

const PANDAS_STYLE: &str = "<style scoped>\n    .dataframe tbody tr th:only-of-type {\n        vertical-align: middle;\n    }\n\n    .dataframe tbody tr th {\n        vertical-align: top;\n    }\n\n    .dataframe thead th {\n        text-align: right;\n    }\n</style>\n";

pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A DataFrame as pandas renders it in HTML (index column, escaped cells).
pub fn df_html(columns: &[&str], rows: &[Vec<String>]) -> String {
    let mut h = format!("<div>\n{PANDAS_STYLE}<table border=\"1\" class=\"dataframe\">\n  <thead>\n    <tr style=\"text-align: right;\">\n      <th></th>\n");
    for c in columns {
        h.push_str(&format!("      <th>{}</th>\n", html_escape(c)));
    }
    h.push_str("    </tr>\n  </thead>\n  <tbody>\n");
    for (i, r) in rows.iter().enumerate() {
        h.push_str(&format!("    <tr>\n      <th>{i}</th>\n"));
        for v in r {
            h.push_str(&format!("      <td>{}</td>\n", html_escape(v)));
        }
        h.push_str("    </tr>\n");
    }
    h.push_str(&format!(
        "  </tbody>\n</table>\n<p>{} rows × {} columns</p>\n</div>",
        rows.len(),
        columns.len()
    ));
    h
}

/// The same DataFrame as its `text/plain` repr (right-aligned columns).
pub fn df_text(columns: &[&str], rows: &[Vec<String>]) -> String {
    let idx_w = rows.len().saturating_sub(1).to_string().len();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([c.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut t = " ".repeat(idx_w);
    for (c, w) in columns.iter().zip(&widths) {
        t.push_str(&format!("  {c:>w$}"));
    }
    t.push('\n');
    for (i, r) in rows.iter().enumerate() {
        t.push_str(&format!("{i:<idx_w$}"));
        for (v, w) in r.iter().zip(&widths) {
            t.push_str(&format!("  {v:>w$}"));
        }
        t.push('\n');
    }
    t.pop();
    t
}

/// A pandas `execute_result` with both the HTML and the text repr.
pub fn df_output(rng: &mut Rng, columns: &[&str], rows: &[Vec<String>]) -> Value {
    execute_result(
        rng,
        json!({
            "text/html": lines(&df_html(columns, rows)),
            "text/plain": lines(&df_text(columns, rows)),
        }),
    )
}

fn date(rng: &mut Rng) -> String {
    format!("2024-{:02}-{:02}", rng.range(1, 12), rng.range(1, 28))
}

/// Harmless numeric data as found in every analysis notebook.
fn numeric_rows(rng: &mut Rng, n: usize) -> Vec<Vec<String>> {
    (0..n)
        .map(|_| {
            vec![
                format!("{}", rng.range(10_000, 99_999)),
                date(rng),
                rng.pick(gen::CITIES).to_string(),
                format!("{}.{:02}", rng.range(1, 900), rng.range(0, 99)),
                format!("{}", rng.range(0, 1)),
            ]
        })
        .collect()
}

const NUMERIC_COLS: &[&str] = &[
    "customer_id",
    "signup_date",
    "city",
    "monthly_spend",
    "churned",
];

/// Ordinary cells that surround the planted one.
pub fn filler(rng: &mut Rng) -> Vec<Value> {
    let title = format!(
        "# {}\n\nThis notebook explores the {} dataset and trains a baseline model.\n",
        rng.pick(&[
            "Churn analysis",
            "Demand forecast",
            "Support ticket triage",
            "Fraud baseline"
        ]),
        rng.pick(&["customer", "orders", "sessions", "tickets"]),
    );
    let mut cells = vec![
        markdown(rng, &title),
        code(
            rng,
            "import os\nimport json\nimport numpy as np\nimport pandas as pd\nimport matplotlib.pyplot as plt\n\n%matplotlib inline",
            vec![],
            json!({}),
        ),
    ];
    let rows = numeric_rows(rng, 5);
    let head = df_output(rng, NUMERIC_COLS, &rows);
    cells.push(code(
        rng,
        "df = pd.read_parquet(\"data/customers.parquet\")\ndf.head()",
        vec![head],
        json!({}),
    ));
    let fig = figure(rng);
    cells.push(code(
        rng,
        "fig, ax = plt.subplots()\ndf.groupby(\"city\")[\"monthly_spend\"].mean().plot.bar(ax=ax)\nplt.show()",
        vec![fig],
        json!({}),
    ));
    let mut progress = String::new();
    for epoch in 1..=3 {
        progress.push_str(&format!(
            "Epoch {epoch}/3\n{n}/{n} [==============================] - {}s {}ms/step - loss: 0.{:04} - accuracy: 0.{:04}\n",
            rng.range(2, 30),
            rng.range(3, 90),
            rng.range(1000, 7000),
            rng.range(6000, 9900),
            n = rng.range(100, 2000)
        ));
    }
    cells.push(code(
        rng,
        "model.fit(X_train, y_train, epochs=3, validation_split=0.2)",
        vec![stream("stdout", &progress)],
        json!({}),
    ));
    cells.push(markdown(
        rng,
        "## Results\n\nThe baseline beats the majority class by a clear margin; see the confusion matrix below.\n",
    ));
    cells
}

/// An nbformat 4.5 notebook with `planted` inserted among filler cells (at a random position
/// after the title), and `meta` merged into the notebook metadata. Returns the file and the
/// planted cell's index.
pub fn notebook4(
    rng: &mut Rng,
    planted: Option<Value>,
    meta: Option<(&str, Value)>,
) -> (String, Option<usize>) {
    let mut cells = filler(rng);
    let at = planted.map(|cell| {
        let at = rng.range(1, cells.len());
        cells.insert(at, cell);
        at
    });
    let mut metadata = json!({
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py", "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python", "pygments_lexer": "ipython3", "version": "3.11.6"},
    });
    if let Some((key, value)) = meta {
        metadata[key] = value;
    }
    let nb = json!({"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5});
    (
        serde_json::to_string_pretty(&nb).expect("a JSON value always serialises"),
        at,
    )
}

/// A code cell in nbformat 3 (`input`, `prompt_number`, `pyout` outputs with short mime keys).
pub fn code3(source: &str, outputs: Vec<Value>, n: usize) -> Value {
    json!({"cell_type": "code", "collapsed": false, "input": lines(source), "language": "python", "metadata": {}, "outputs": outputs, "prompt_number": n})
}

pub fn pyout3(text: &str, n: usize) -> Value {
    json!({"output_type": "pyout", "metadata": {}, "prompt_number": n, "text": lines(text)})
}

/// An nbformat 3 notebook (one worksheet) with `planted` after a heading and an import cell.
pub fn notebook3(rng: &mut Rng, planted: Value) -> (String, usize) {
    let heading =
        json!({"cell_type": "heading", "level": 1, "metadata": {}, "source": ["Legacy analysis"]});
    let imports = code3("import pandas as pd\nimport numpy as np", vec![], 1);
    let rows = numeric_rows(rng, 3);
    let table = code3(
        "df.head(3)",
        vec![
            json!({"output_type": "pyout", "metadata": {}, "prompt_number": 2, "html": lines(&df_html(NUMERIC_COLS, &rows)), "text": lines(&df_text(NUMERIC_COLS, &rows))}),
        ],
        2,
    );
    let cells = vec![heading, imports, table, planted];
    let nb = json!({"metadata": {"name": "", "signature": format!("sha256:{}", rng.string(gen::HEX, 64))}, "nbformat": 3, "nbformat_minor": 0, "worksheets": [{"cells": cells, "metadata": {}}]});
    (
        serde_json::to_string_pretty(&nb).expect("a JSON value always serialises"),
        3,
    )
}
