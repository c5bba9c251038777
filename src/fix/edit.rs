//! Byte-range edits of the raw file. A decoded range of a segment is mapped back to the raw bytes
//! that hold it (through the notebook decoder's offset map) and accepted only when those bytes
//! decode to exactly that text; the replacement is written as JSON string content. Everything
//! outside the edited ranges stays byte for byte as it was.

use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

use crate::notebook::MappedText;

/// Replace `raw[start..end]` with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Edit {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// Applies non-overlapping edits. Returns `None` when two of them overlap.
pub(crate) fn apply(raw: &str, edits: &[Edit]) -> Option<String> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.start, e.end));
    let mut out = String::with_capacity(raw.len());
    let mut at = 0;
    for e in sorted {
        if e.start < at || e.end < e.start || e.end > raw.len() {
            return None;
        }
        out.push_str(&raw[at..e.start]);
        out.push_str(&e.text);
        at = e.end;
    }
    out.push_str(&raw[at..]);
    Some(out)
}

/// `s` as the content of a JSON string (no quotes).
pub(crate) fn json_content(s: &str) -> String {
    let quoted = serde_json::to_string(s).expect("a string always serialises");
    quoted[1..quoted.len() - 1].to_string()
}

/// What a piece of JSON string content decodes to; `None` if it is not string content.
fn decode_content(raw: &str) -> Option<String> {
    serde_json::from_str(&format!("\"{raw}\"")).ok()
}

/// The raw range holding decoded `body.text[start..end]`, if it decodes to exactly that text.
/// `json` says whether the raw bytes are JSON string content (a notebook) or the text itself.
pub(crate) fn raw_span(
    raw: &str,
    body: &MappedText,
    start: usize,
    end: usize,
    json: bool,
) -> Option<(usize, usize)> {
    let want = body.text.get(start..end)?;
    if want.is_empty() {
        return None;
    }
    let rs = body.raw_offset(start);
    let last = body.text[..end].chars().next_back()?;
    let rl = body.raw_offset(end - last.len_utf8());
    // The raw form of the last character: itself, or an escape of 2, 6 or 12 bytes.
    let re = [last.len_utf8(), 2, 6, 12].into_iter().find_map(|n| {
        let piece = raw.get(rl..rl + n)?;
        let ok = if json {
            decode_content(piece).is_some_and(|d| d.chars().eq(std::iter::once(last)))
        } else {
            piece.chars().eq(std::iter::once(last))
        };
        ok.then_some(rl + n)
    })?;
    let got = raw.get(rs..re)?;
    let same = if json {
        decode_content(got).as_deref() == Some(want)
    } else {
        got == want
    };
    same.then_some((rs, re))
}

/// Where each cell's outputs sit in the raw notebook: for cell `i` (numbered as the notebook
/// decoder numbers them), the raw range of the `outputs` array and of each output in it.
#[derive(Debug, Default)]
pub(crate) struct OutputSpans {
    pub cells: BTreeMap<usize, (std::ops::Range<usize>, Vec<std::ops::Range<usize>>)>,
}

#[derive(Deserialize)]
struct Top<'a> {
    #[serde(borrow, default)]
    cells: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    worksheets: Option<Vec<BTreeMap<String, &'a RawValue>>>,
}

impl OutputSpans {
    pub(crate) fn read(raw: &str) -> Self {
        let mut out = OutputSpans::default();
        let Ok(top) = serde_json::from_str::<Top>(raw) else {
            return out;
        };
        let cells: Vec<&RawValue> = match (top.cells, top.worksheets) {
            (Some(c), _) => c,
            (None, Some(ws)) => ws
                .iter()
                .filter_map(|w| w.get("cells"))
                .filter_map(|c| serde_json::from_str::<Vec<&RawValue>>(c.get()).ok())
                .flatten()
                .collect(),
            _ => Vec::new(),
        };
        let at = |v: &RawValue| v.get().as_ptr() as usize - raw.as_ptr() as usize;
        for (i, cell) in cells.iter().enumerate() {
            let Ok(obj) = serde_json::from_str::<BTreeMap<String, &RawValue>>(cell.get()) else {
                continue;
            };
            let Some(arr) = obj.get("outputs") else {
                continue;
            };
            let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(arr.get()) else {
                continue;
            };
            let a = at(arr);
            let spans = items.iter().map(|o| at(o)..at(o) + o.get().len()).collect();
            out.cells.insert(i, (a..a + arr.get().len(), spans));
        }
        out
    }

    /// Edits that remove the outputs `drop` (indices) of cell `cell`, keeping the separators and
    /// indentation of those that stay; an array left empty becomes `[]`.
    pub(crate) fn removal(&self, cell: usize, drop: &[usize]) -> Option<Vec<Edit>> {
        let (array, items) = self.cells.get(&cell)?;
        let removed = |k: usize| drop.contains(&k);
        if (0..items.len()).all(removed) {
            return Some(vec![Edit {
                start: array.start,
                end: array.end,
                text: "[]".into(),
            }]);
        }
        let mut edits = Vec::new();
        let mut k = 0;
        while k < items.len() {
            if !removed(k) {
                k += 1;
                continue;
            }
            let first = k;
            while k < items.len() && removed(k) {
                k += 1;
            }
            let (start, end) = if k < items.len() {
                // Up to the next kept output: the separator after the run goes with it.
                (items[first].start, items[k].start)
            } else {
                // A run at the end: from the end of the last kept output before it.
                (items[first - 1].end, items[k - 1].end)
            };
            edits.push(Edit {
                start,
                end,
                text: String::new(),
            });
        }
        Some(edits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_in_order_and_overlaps_are_refused() {
        let e = |s, e, t: &str| Edit {
            start: s,
            end: e,
            text: t.into(),
        };
        assert_eq!(
            apply("abcdef", &[e(4, 5, "X"), e(0, 1, "")]).unwrap(),
            "bcdXf"
        );
        assert!(apply("abcdef", &[e(0, 3, ""), e(2, 4, "")]).is_none());
    }

    #[test]
    fn spans_round_trip_through_escapes() {
        let raw = r#"["a = \"s\u0065cret\"\n"]"#;
        let mut body = MappedText::default();
        body.push_json_string(&raw[1..raw.len() - 1], 1);
        let s = body.text.find("\"secret\"").unwrap();
        let (rs, re) = raw_span(raw, &body, s, s + 8, true).unwrap();
        assert_eq!(&raw[rs..re], r#"\"s\u0065cret\""#);
    }

    #[test]
    fn outputs_are_removed_with_their_separators() {
        let raw = "{\"cells\": [{\"outputs\": [\n  {\"a\": 1},\n  {\"b\": 2},\n  {\"c\": 3}\n ]}]}";
        let spans = OutputSpans::read(raw);
        let cut = |drop: &[usize]| apply(raw, &spans.removal(0, drop).unwrap()).unwrap();
        assert!(serde_json::from_str::<serde_json::Value>(&cut(&[0])).is_ok());
        assert_eq!(
            cut(&[2]),
            "{\"cells\": [{\"outputs\": [\n  {\"a\": 1},\n  {\"b\": 2}\n ]}]}"
        );
        assert_eq!(
            cut(&[1]),
            "{\"cells\": [{\"outputs\": [\n  {\"a\": 1},\n  {\"c\": 3}\n ]}]}"
        );
        assert_eq!(cut(&[0, 1, 2]), "{\"cells\": [{\"outputs\": []}]}");
    }
}
