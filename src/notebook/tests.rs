use super::*;
use serde_json::json;

fn seg(doc: &Document, part: Part, cell: Option<usize>) -> Vec<&Segment> {
    doc.segments
        .iter()
        .filter(|s| s.origin.part == Some(part) && s.origin.cell == cell)
        .collect()
}

#[test]
fn v4_sources_outputs_and_metadata_become_segments() {
    let nb = json!({
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"papermill": {"parameters": {"token": "abc"}}},
        "cells": [
            {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": ["# Title\n", "text"]},
            {"cell_type": "code", "id": "c1", "metadata": {"tags": ["nbguard-ignore"]},
             "execution_count": 1, "source": "print(1)",
             "outputs": [
                {"output_type": "stream", "name": "stdout", "text": ["hello\n", "world\n"]},
                {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                 "data": {"text/plain": ["42"], "image/png": "iVBORw0KGgoAAAANSUhEUgAAAAE"}},
                {"output_type": "error", "ename": "KeyError", "evalue": "'x'",
                 "traceback": ["\u{1b}[0;31mKeyError\u{1b}[0m", "line two"]}
             ]}
        ]
    });
    let raw = serde_json::to_string_pretty(&nb).unwrap();
    let doc = parse(&raw).unwrap();
    assert_eq!(doc.nbformat, Some(4));
    let md = seg(&doc, Part::Source, Some(0));
    assert_eq!(md[0].body.text, "# Title\ntext");
    assert_eq!(md[0].origin.cell_id.as_deref(), Some("m1"));
    let outs = seg(&doc, Part::Output, Some(1));
    let texts: Vec<&str> = outs.iter().map(|s| s.body.text.as_str()).collect();
    assert!(texts.contains(&"hello\nworld\n"));
    assert!(texts.contains(&"42"));
    assert!(texts.contains(&"KeyError\nline two"));
    assert!(
        !texts.iter().any(|t| t.contains("iVBOR")),
        "images are not scanned"
    );
    assert!(outs.iter().all(|s| s.origin.ignored));
    let meta = seg(&doc, Part::Metadata, None);
    assert!(meta[0].body.text.contains("\"token\": \"abc\""));
}

#[test]
fn raw_offsets_point_at_the_stored_characters() {
    let nb = json!({"nbformat": 4, "nbformat_minor": 2, "metadata": {},
        "cells": [{"cell_type": "code", "metadata": {}, "outputs": [],
                   "source": ["x = 1\n", "key = \"q\\\"z\"\n"]}]});
    let raw = serde_json::to_string_pretty(&nb).unwrap();
    let doc = parse(&raw).unwrap();
    let s = &seg(&doc, Part::Source, Some(0))[0].body;
    let at = s.text.find("key").unwrap();
    assert_eq!(&raw[s.raw_offset(at)..s.raw_offset(at) + 3], "key");
    let z = s.text.find('z').unwrap();
    assert_eq!(&raw[s.raw_offset(z)..s.raw_offset(z) + 1], "z");
}

#[test]
fn v3_worksheets_are_read() {
    let nb = json!({"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""},
        "worksheets": [{"cells": [
            {"cell_type": "code", "input": ["a = 1\n"], "language": "python", "outputs": [
                {"output_type": "pyout", "text": ["out"], "png": "AAAA", "prompt_number": 1},
                {"output_type": "pyerr", "ename": "E", "evalue": "v", "traceback": ["tb"]}]},
            {"cell_type": "heading", "level": 1, "source": ["Head"]}]}]});
    let doc = parse(&nb.to_string()).unwrap();
    assert_eq!(doc.nbformat, Some(3));
    assert_eq!(seg(&doc, Part::Source, Some(0))[0].body.text, "a = 1\n");
    assert_eq!(seg(&doc, Part::Source, Some(1))[0].body.text, "Head");
    let outs: Vec<String> = seg(&doc, Part::Output, Some(0))
        .iter()
        .map(|s| s.body.text.clone())
        .collect();
    assert!(outs.contains(&"out".to_string()) && outs.contains(&"tb".to_string()));
    assert!(!outs.contains(&"AAAA".to_string()));
}

#[test]
fn not_a_notebook_is_an_error_not_a_panic() {
    assert!(matches!(parse("{\"a\": 1}"), Err(ParseError::NotNotebook)));
    assert!(matches!(
        parse("{\"cells\": ["),
        Err(ParseError::Json { .. })
    ));
}

#[test]
fn data_uri_payloads_are_blanked_in_place() {
    let mut t = String::from("<img src=\"data:image/png;base64,QUtJQUFBQUE=\"> AKIA");
    let len = t.len();
    blank_data_uris(&mut t);
    assert_eq!(t.len(), len);
    assert!(!t.contains("QUtJ"));
    assert!(t.ends_with("AKIA"));
}
