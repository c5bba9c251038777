//! `.ipynb` files (nbformat 4.x and 3) turned into decoded text segments — cell sources, textual
//! outputs, tracebacks, metadata, text attachments — each with a map back to the raw file and to
//! notebook coordinates (cell, part, output, line in part). Plain files become one segment.
//!
//! Binary payloads (images, audio, video, PDF, `data:` URIs) are left out on purpose: they are half
//! the bytes of real notebooks and only ever produce chance matches. Anything that does not parse
//! as a notebook is returned as text with its JSON strings decoded (see [`Document::json_text`])
//! and a diagnostic, never dropped. Terminal escape sequences are removed from every segment.

mod terminal;
mod text;

pub use text::MappedText;

use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

use crate::finding::Part;

/// Where a segment sits in its notebook.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub cell: Option<usize>,
    pub cell_id: Option<String>,
    pub cell_type: Option<String>,
    pub part: Option<Part>,
    pub output: Option<usize>,
    pub output_kind: Option<String>,
    /// The cell is tagged `nbguard-ignore`.
    pub ignored: bool,
}

/// One stretch of decoded text.
#[derive(Debug, Clone)]
pub struct Segment {
    pub origin: Origin,
    pub body: MappedText,
}

/// A file as the scanner sees it.
#[derive(Debug, Clone)]
pub struct Document {
    /// `Some(major)` for a notebook, `None` for plain text.
    pub nbformat: Option<u32>,
    pub segments: Vec<Segment>,
    /// The raw byte range of every cell that was decoded into segments, by cell index (see
    /// [`parse_with`]), and whether it is an nbformat 3 cell.
    pub cells: Vec<(usize, std::ops::Range<usize>, bool)>,
}

impl Document {
    /// A plain-text file: one segment, mapped one to one (terminal escapes removed).
    pub fn plain(text: String) -> Self {
        let mut body = MappedText::verbatim(text, 0);
        body.strip_terminal_escapes();
        Document::single(body)
    }

    /// A `.ipynb` that does not parse (a truncated save, merge-conflict markers): the text as it
    /// is, with every JSON string decoded in place, so that a source line reads as in the
    /// notebook (`password = "…"`, not `password = \"…\"`).
    pub fn json_text(text: &str) -> Self {
        Document::json_text_from(text, false)
    }

    /// [`Document::json_text`] for a window cut out of a larger file, which may begin inside a
    /// JSON string.
    pub fn json_text_from(text: &str, in_string: bool) -> Self {
        let mut body = MappedText::default();
        body.push_json_text_from(text, 0, in_string);
        body.strip_terminal_escapes();
        blank_data_uris(&mut body.text);
        Document::single(body)
    }

    fn single(body: MappedText) -> Self {
        Document {
            nbformat: None,
            cells: Vec::new(),
            segments: vec![Segment {
                origin: Origin::default(),
                body,
            }],
        }
    }
}

/// Why a `.ipynb` was not read as a notebook. Only a position and a kind: the JSON parser's own
/// messages quote the content they stumbled on, which may be the very secret being looked for.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error(
        "not valid JSON ({what} at line {line}, column {column}); scanned as text with its JSON \
         strings decoded"
    )]
    Json {
        what: &'static str,
        line: usize,
        column: usize,
    },
    #[error(
        "valid JSON, but not a notebook (a value of the wrong type at line {line}, column \
         {column}); scanned as text with its JSON strings decoded"
    )]
    WrongType { line: usize, column: usize },
    #[error("valid JSON, but not a notebook (no `cells`); scanned as text with its JSON strings decoded")]
    NotNotebook,
}

impl From<serde_json::Error> for ParseError {
    fn from(e: serde_json::Error) -> Self {
        use serde_json::error::Category;
        let (line, column) = (e.line(), e.column());
        match e.classify() {
            Category::Data => ParseError::WrongType { line, column },
            Category::Eof => ParseError::Json {
                what: "ends too early",
                line,
                column,
            },
            Category::Syntax | Category::Io => ParseError::Json {
                what: "syntax error",
                line,
                column,
            },
        }
    }
}

type Object<'a> = BTreeMap<String, &'a RawValue>;

#[derive(Deserialize)]
struct RawNotebook<'a> {
    #[serde(borrow, default)]
    cells: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    worksheets: Option<Vec<Object<'a>>>,
    #[serde(borrow, default)]
    metadata: Option<&'a RawValue>,
    #[serde(default)]
    nbformat: Option<u32>,
}

/// Parses notebook JSON into segments.
pub fn parse(raw: &str) -> Result<Document, ParseError> {
    parse_with(raw, &mut |_, _| true)
}

/// [`parse`], decoding only the cells for which `decode(raw cell JSON, nbformat 3)` says yes: a
/// scan that has already seen a cell byte for byte and found nothing in it need not decode it
/// again. The cells that were decoded are listed in [`Document::cells`].
pub fn parse_with(
    raw: &str,
    decode: &mut dyn FnMut(&str, bool) -> bool,
) -> Result<Document, ParseError> {
    let nb: RawNotebook = serde_json::from_str(raw)?;
    let mut b = Builder {
        raw,
        segments: Vec::new(),
        cells: Vec::new(),
        decode,
    };
    let nbformat;
    if let Some(cells) = &nb.cells {
        nbformat = nb.nbformat.unwrap_or(4);
        b.cells(cells.iter().copied(), false);
    } else if let Some(sheets) = &nb.worksheets {
        nbformat = nb.nbformat.unwrap_or(3);
        let mut all = Vec::new();
        for ws in sheets {
            if let Some(cells) = ws.get("cells") {
                if let Ok(list) = serde_json::from_str::<Vec<&RawValue>>(cells.get()) {
                    all.extend(list);
                }
            }
        }
        b.cells(all.into_iter(), true);
    } else {
        return Err(ParseError::NotNotebook);
    }
    if let Some(meta) = nb.metadata {
        b.json_segment(
            Origin {
                part: Some(Part::Metadata),
                ..Origin::default()
            },
            meta,
        );
    }
    for seg in &mut b.segments {
        seg.body.strip_terminal_escapes();
        blank_data_uris(&mut seg.body.text);
    }
    Ok(Document {
        nbformat: Some(nbformat),
        segments: b.segments,
        cells: b.cells,
    })
}

struct Builder<'a, 'd> {
    raw: &'a str,
    segments: Vec<Segment>,
    cells: Vec<(usize, std::ops::Range<usize>, bool)>,
    decode: &'d mut dyn FnMut(&str, bool) -> bool,
}

impl<'a> Builder<'a, '_> {
    fn offset(&self, v: &RawValue) -> usize {
        v.get().as_ptr() as usize - self.raw.as_ptr() as usize
    }

    fn cells(&mut self, cells: impl Iterator<Item = &'a RawValue>, v3: bool) {
        for (index, cell) in cells.enumerate() {
            if !(self.decode)(cell.get(), v3) {
                continue;
            }
            let Ok(obj) = serde_json::from_str::<Object>(cell.get()) else {
                continue;
            };
            let start = self.offset(cell);
            self.cells
                .push((index, start..start + cell.get().len(), v3));
            self.cell(index, &obj, v3);
        }
    }

    fn cell(&mut self, index: usize, cell: &Object<'a>, v3: bool) {
        let cell_type = cell.get("cell_type").and_then(|v| as_str(v));
        let base = Origin {
            cell: Some(index),
            cell_id: cell.get("id").and_then(|v| as_str(v)),
            cell_type: cell_type.clone(),
            ignored: cell.get("metadata").is_some_and(|m| has_ignore_tag(m)),
            ..Origin::default()
        };
        let source_key = if v3 && cell_type.as_deref() == Some("code") {
            "input"
        } else {
            "source"
        };
        if let Some(src) = cell.get(source_key).or_else(|| cell.get("source")) {
            self.text_segment(
                Origin {
                    part: Some(Part::Source),
                    ..base.clone()
                },
                src,
            );
        }
        if let Some(outputs) = cell.get("outputs") {
            if let Ok(list) = serde_json::from_str::<Vec<Object>>(outputs.get()) {
                for (i, out) in list.iter().enumerate() {
                    self.output(&base, i, out);
                }
            }
        }
        if let Some(att) = cell.get("attachments") {
            self.attachments(&base, att);
        }
        if let Some(meta) = cell.get("metadata") {
            if meta.get().len() > 2 {
                self.json_segment(
                    Origin {
                        part: Some(Part::Metadata),
                        ..base
                    },
                    meta,
                );
            }
        }
    }

    fn output(&mut self, cell: &Origin, index: usize, out: &Object<'a>) {
        let kind = out
            .get("output_type")
            .and_then(|v| as_str(v))
            .unwrap_or_default();
        let origin = |k: &str| Origin {
            part: Some(Part::Output),
            output: Some(index),
            output_kind: Some(k.to_string()),
            ..cell.clone()
        };
        match kind.as_str() {
            "stream" => {
                if let Some(t) = out.get("text") {
                    self.text_segment(origin("stream"), t);
                }
            }
            "error" | "pyerr" => {
                for key in ["ename", "evalue"] {
                    if let Some(v) = out.get(key) {
                        self.text_segment(origin(key), v);
                    }
                }
                if let Some(tb) = out.get("traceback") {
                    self.text_segment(origin("traceback"), tb);
                }
            }
            _ => {
                // nbformat 4 keeps mime bundles under `data`; nbformat 3 puts short mime keys
                // (`text`, `html`, `png`, ...) straight into the output.
                if let Some(data) = out.get("data") {
                    if let Ok(bundle) = serde_json::from_str::<Object>(data.get()) {
                        for (mime, v) in &bundle {
                            self.mime(&origin(mime), mime, v);
                        }
                    }
                } else {
                    for (key, v) in out {
                        if let Some(mime) = v3_mime(key) {
                            self.mime(&origin(mime), mime, v);
                        }
                    }
                }
            }
        }
        if let Some(meta) = out.get("metadata") {
            if meta.get().len() > 2 {
                self.json_segment(origin("metadata"), meta);
            }
        }
    }

    fn mime(&mut self, origin: &Origin, mime: &str, v: &'a RawValue) {
        if !is_textual_mime(mime) {
            return;
        }
        let s = v.get().trim_start();
        if s.starts_with('"') || s.starts_with('[') {
            let before = self.segments.len();
            self.text_segment(origin.clone(), v);
            if (mime.contains("html") || mime.contains("xml")) && self.segments.len() > before {
                if let Some(seg) = self.segments.last_mut() {
                    seg.body.decode_html_entities();
                }
            }
        } else {
            self.json_segment(origin.clone(), v);
        }
    }

    fn attachments(&mut self, cell: &Origin, att: &'a RawValue) {
        use base64::Engine;
        let Ok(files) = serde_json::from_str::<BTreeMap<String, Object>>(att.get()) else {
            return;
        };
        for (name, bundle) in &files {
            for (mime, v) in bundle {
                if !mime.starts_with("text/") {
                    continue;
                }
                let Some(encoded) = as_str(v) else { continue };
                let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(encoded.trim())
                else {
                    continue;
                };
                let origin = Origin {
                    part: Some(Part::Attachment),
                    output_kind: Some(format!("{name} ({mime})")),
                    ..cell.clone()
                };
                // Decoded base64 has no per-character raw position: everything maps to the
                // start of the attachment's value.
                let mut body = MappedText::default();
                let at = self.offset(v);
                for line in String::from_utf8_lossy(&bytes).split_inclusive('\n') {
                    body.push_synthetic(line, at);
                }
                self.segments.push(Segment { origin, body });
            }
        }
    }

    /// A string, or a list of strings (joined as they are: nbformat keeps the newlines inside).
    fn text_segment(&mut self, origin: Origin, v: &'a RawValue) {
        let mut body = MappedText::default();
        let s = v.get();
        if s.starts_with('"') {
            body.push_json_string(s, self.offset(v));
        } else if s.starts_with('[') {
            let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(s) else {
                return;
            };
            let lines_join = origin.output_kind.as_deref() == Some("traceback");
            for (i, item) in items.iter().enumerate() {
                if i > 0 && lines_join && !body.text.ends_with('\n') {
                    body.push_synthetic("\n", self.offset(item));
                }
                if item.get().starts_with('"') {
                    body.push_json_string(item.get(), self.offset(item));
                }
            }
        } else {
            return;
        }
        if !body.text.is_empty() {
            self.segments.push(Segment { origin, body });
        }
    }

    fn json_segment(&mut self, origin: Origin, v: &'a RawValue) {
        let mut body = MappedText::default();
        body.push_json_text(v.get(), self.offset(v));
        self.segments.push(Segment { origin, body });
    }
}

fn as_str(v: &RawValue) -> Option<String> {
    serde_json::from_str::<String>(v.get()).ok()
}

fn has_ignore_tag(meta: &RawValue) -> bool {
    #[derive(Deserialize)]
    struct Tags {
        #[serde(default)]
        tags: Vec<String>,
    }
    serde_json::from_str::<Tags>(meta.get())
        .map(|t| t.tags.iter().any(|t| t == "nbguard-ignore"))
        .unwrap_or(false)
}

fn v3_mime(key: &str) -> Option<&'static str> {
    Some(match key {
        "text" => "text/plain",
        "html" => "text/html",
        "latex" => "text/latex",
        "markdown" => "text/markdown",
        "json" => "application/json",
        "javascript" => "application/javascript",
        "svg" => "image/svg+xml",
        _ => return None,
    })
}

/// Text worth scanning; everything else in a mime bundle is a binary payload or a picture.
fn is_textual_mime(mime: &str) -> bool {
    let m = mime.to_ascii_lowercase();
    // SVG is text, and can carry text (labels, titles, embedded scripts).
    if m == "image/svg+xml" {
        return true;
    }
    if m.starts_with("image/")
        || m.starts_with("audio/")
        || m.starts_with("video/")
        || m.starts_with("font/")
        || m == "application/pdf"
        || m == "application/octet-stream"
        || m.ends_with("+zip")
    {
        return false;
    }
    m.starts_with("text/")
        || m.ends_with("json")
        || m.ends_with("javascript")
        || m.ends_with("+xml")
        || m.ends_with("/xml")
        || m.ends_with("/x-python")
}

/// Overwrites the payload of `data:...;base64,` URIs with spaces: same length, so every offset
/// stays exact, and no chance match can come out of image bytes.
pub(crate) fn blank_data_uris(text: &mut String) {
    const MARK: &str = ";base64,";
    if !text.contains(MARK) {
        return;
    }
    let mut bytes = std::mem::take(text).into_bytes();
    let mut from = 0;
    while let Some(p) = memchr::memmem::find(&bytes[from..], MARK.as_bytes()) {
        let mark = from + p;
        let head = &bytes[mark.saturating_sub(80)..mark];
        let is_data_uri = memchr::memmem::rfind(head, b"data:").is_some();
        let mut end = mark + MARK.len();
        if is_data_uri {
            while end < bytes.len()
                && (bytes[end].is_ascii_alphanumeric() || matches!(bytes[end], b'+' | b'/' | b'='))
            {
                bytes[end] = b' ';
                end += 1;
            }
        }
        from = end;
    }
    *text = String::from_utf8(bytes).expect("only ASCII bytes were replaced by ASCII spaces");
}

#[cfg(test)]
mod tests;
