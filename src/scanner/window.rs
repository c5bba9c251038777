//! Content over `scan.max_file_size`, scanned in bounded, overlapping windows instead of being
//! skipped: a large CSV, log or notebook is read a chunk at a time, decoded (whatever its
//! encoding), cut into windows of [`WINDOW`] bytes of text that overlap by at least [`OVERLAP`]
//! bytes, and each window goes through the same matching as a small file. Memory stays bounded
//! by the window size whatever the file size.
//!
//! No finding is lost or doubled at a window boundary: each window *owns* the matches that
//! start before the next window's start, and the overlap is longer than any secret the rules
//! match, so a match a window owns is always whole in it. The next window starts at a line start
//! when the overlap has one, so that line anchors and word boundaries see what a whole-file scan
//! would see. A notebook this large is not parsed as one: it is scanned as text with its JSON
//! strings decoded, the decoder knowing whether a window begins inside a string.
//!
//! Line numbers are the file's: each window knows how many lines (and, for a window that starts
//! mid-line, how many characters) come before it.

use std::io::Read;
use std::ops::Range;

use super::classify::{self, Decoder, Kind, HEAD};
use super::{is_notebook, Outcome, Scanner, View};
use crate::finding::{Diagnostic, DiagnosticKind, Finding};
use crate::notebook::Document;
use crate::source::Provenance;

/// Bytes of decoded text per window (the last may be shorter, any may be longer by one read).
pub(crate) const WINDOW: usize = 4 << 20;
/// The least overlap between neighbouring windows: longer than any secret a rule matches
/// (PEM private keys, the longest, stay under 8 KiB).
pub(crate) const OVERLAP: usize = 64 << 10;
/// Bytes asked of the reader at a time.
const READ: usize = 256 << 10;

/// Where a window starts in the whole text: lines before it and characters since the last one.
#[derive(Debug, Default, Clone, Copy)]
struct Position {
    line: usize,
    column: usize,
}

impl Position {
    fn advance(&mut self, text: &str) {
        let chars = |s: &str| s.bytes().filter(|&b| (b as i8) >= -0x40).count();
        match memchr::memrchr(b'\n', text.as_bytes()) {
            Some(last) => {
                self.line += memchr::memchr_iter(b'\n', text.as_bytes()).count();
                self.column = chars(&text[last + 1..]);
            }
            None => self.column += chars(text),
        }
    }
}

/// Whether a cut of JSON text ends inside a string (cuts never fall right after a backslash).
#[derive(Debug, Default, Clone, Copy)]
struct JsonState {
    in_string: bool,
}

impl JsonState {
    fn advance(&mut self, text: &str) {
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if self.in_string {
                match memchr::memchr2(b'"', b'\\', &b[i..]) {
                    Some(p) if b[i + p] == b'\\' => i += p + 2,
                    Some(p) => {
                        self.in_string = false;
                        i += p + 1;
                    }
                    None => break,
                }
            } else {
                match memchr::memchr(b'"', &b[i..]) {
                    Some(p) => {
                        self.in_string = true;
                        i += p + 1;
                    }
                    None => break,
                }
            }
        }
    }
}

impl Scanner {
    /// Scans content of any size from a reader, a window at a time (see the module
    /// documentation). Reading errors end the scan with a diagnostic; what was read is reported.
    pub fn scan_stream(
        &self,
        path: &str,
        reader: &mut dyn Read,
        provenance: &Provenance,
    ) -> Outcome {
        let mut out = Outcome::default();
        let diag = |kind, message: String| Diagnostic {
            path: path.to_string(),
            kind,
            message,
            commit: super::commit_id(provenance),
        };
        // 1. The head decides what the content is.
        let mut head = Vec::with_capacity(HEAD);
        let mut eof = match fill(reader, &mut head, HEAD) {
            Ok(eof) => eof,
            Err(e) => {
                out.diagnostics.push(diag(
                    DiagnosticKind::Unreadable,
                    format!("cannot read: {e}"),
                ));
                return out;
            }
        };
        let encoding = match classify::classify(&head, u64::MAX) {
            Kind::Text(enc) => enc,
            Kind::Binary(what) => {
                out.diagnostics.push(diag(
                    DiagnosticKind::Binary,
                    format!("binary file ({what}); not scanned"),
                ));
                return out;
            }
            Kind::LfsPointer => {
                unreachable!("a stream of unknown size is never taken for a pointer")
            }
        };
        let mut decoder = Decoder::new(encoding);
        let mut text = String::with_capacity(WINDOW + READ);
        decoder.push(&head, &mut text);
        drop(head);

        // 2. Window after window: fill, scan what this window owns, keep the overlap.
        let json = is_notebook(path);
        let mut at = Position::default();
        let mut state = JsonState::default();
        let mut chunk = vec![0; READ];
        let mut read_bytes = 0u64;
        loop {
            while !eof && text.len() < WINDOW {
                match reader.read(&mut chunk) {
                    Ok(0) => eof = true,
                    Ok(n) => {
                        read_bytes += n as u64;
                        decoder.push(&chunk[..n], &mut text);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        out.diagnostics.push(diag(
                            DiagnosticKind::Unreadable,
                            format!(
                                "reading failed after {} bytes ({e}); the rest is not scanned",
                                read_bytes + HEAD as u64
                            ),
                        ));
                        eof = true;
                    }
                }
            }
            if eof {
                decoder.finish(&mut text);
            }
            let next = if eof { text.len() } else { next_start(&text) };
            let in_string = json.then_some(state.in_string);
            out.findings
                .extend(self.scan_window(path, provenance, &text, 0..next, at, in_string));
            if eof {
                break;
            }
            at.advance(&text[..next]);
            if json {
                state.advance(&text[..next]);
            }
            text.drain(..next);
        }
        if let (Some(bad), classify::Encoding::Utf8 | classify::Encoding::Utf8Bom) =
            (decoder.first_bad, encoding)
        {
            out.diagnostics.push(diag(
                DiagnosticKind::NotUtf8,
                format!(
                    "not valid UTF-8 (first bad byte at offset {bad}); scanned with invalid bytes replaced"
                ),
            ));
        }
        out
    }

    /// Content held in memory but over the size limit: windows over it, and a secret that the
    /// old version already had is not new (no line diff: that would need both whole).
    pub(super) fn scan_large(&self, item: &View) -> Outcome {
        let mut out = self.scan_stream(item.path, &mut &item.new[..], item.provenance);
        if let (Some(old), false) = (item.old, out.findings.is_empty()) {
            let before = if old.len() as u64 > self.max_file_size {
                self.scan_stream(item.path, &mut &old[..], item.provenance)
            } else {
                self.scan(&View {
                    new: old,
                    old: None,
                    ..*item
                })
            };
            let before: std::collections::HashSet<String> =
                before.findings.into_iter().map(|f| f.fingerprint).collect();
            out.findings.retain(|f| !before.contains(&f.fingerprint));
        }
        out
    }

    /// One window's findings, placed in the whole file.
    fn scan_window(
        &self,
        path: &str,
        provenance: &Provenance,
        text: &str,
        own: Range<usize>,
        at: Position,
        json: Option<bool>,
    ) -> Vec<Finding> {
        let doc = match json {
            Some(in_string) => Document::json_text_from(text, in_string),
            None => Document::plain(text.to_owned()),
        };
        let view = View {
            path,
            new: &[],
            old: None,
            provenance,
        };
        let mut found = self.scan_document(&view, text, &doc, None, Some(&own));
        for f in &mut found {
            if f.line == 1 {
                f.column += at.column;
            }
            f.line += at.line;
            f.end_line += at.line;
        }
        found
    }
}

/// Reads until `buf` holds `want` bytes or the reader ends; returns whether it ended.
fn fill(reader: &mut dyn Read, buf: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
    let mut chunk = [0u8; 4096];
    while buf.len() < want {
        let n = match reader.read(&mut chunk[..(want - buf.len()).min(4096)]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok(true);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(false)
}

/// Where the next window starts: the last line start that leaves at least [`OVERLAP`] bytes to
/// both windows, or, in a line longer than that, a character boundary that does not follow a
/// backslash (a JSON escape is never cut after its backslash).
fn next_start(text: &str) -> usize {
    let len = text.len();
    let (lo, hi) = (len.saturating_sub(2 * OVERLAP), len - OVERLAP);
    if let Some(p) = memchr::memrchr(b'\n', &text.as_bytes()[lo..hi]) {
        return lo + p + 1;
    }
    let mut n = hi;
    while !text.is_char_boundary(n) {
        n -= 1;
    }
    while n > lo + 1 && text.as_bytes()[n - 1] == b'\\' {
        n -= 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanner() -> Scanner {
        let mut settings = crate::config::resolve(&[]).expect("defaults resolve");
        settings.max_file_size = 1000;
        Scanner::new(&settings, None).expect("the built-in catalogue compiles")
    }

    fn places(out: &Outcome) -> Vec<(String, usize, usize)> {
        out.findings
            .iter()
            .map(|f| (f.rule.clone(), f.line, f.column))
            .collect()
    }

    #[test]
    fn a_large_one_line_notebook_is_decoded_across_a_window_that_starts_in_a_string() {
        // The second window begins 64 KiB before the end of the first fill: inside one long
        // JSON string, just before a key written with a `\u` escape (as some tools write it).
        // The second window owns the key; read as JSON structure there, it would not match.
        let first_fill = HEAD + 16 * READ;
        let cut = first_fill - OVERLAP;
        let prefix = r#"{"cells": [{"cell_type": "code", "source": ""#;
        let pad = "y".repeat(cut - prefix.len() + 100);
        let escaped = r"\u0041KIAZ7QRT2XKPL4MW3VN";
        let body = format!(r"{pad}\n\nkey: {escaped}\n");
        let nb = format!(r#"{prefix}{body}"}}], "z": "{}"}}"#, "z".repeat(WINDOW));
        let found = scanner().scan_stream("big.ipynb", &mut nb.as_bytes(), &Provenance::WorkTree);
        let column = nb.find(escaped).expect("planted") + 1;
        assert_eq!(
            places(&found),
            [("secret.aws.access-key-id".to_string(), 1, column)]
        );
    }

    #[test]
    fn utf16_streams_keep_line_numbers_across_windows() {
        let line = "svc,2026-12-01,ok\n";
        let mut text = line.repeat((WINDOW + OVERLAP) / line.len());
        let key = ["AK", "IA", "Z7QRT2XKPL4MW3VN"].concat();
        text.push_str(&format!("key,{key}\n"));
        let bytes: Vec<u8> = std::iter::once(0xfeff_u16)
            .chain(text.encode_utf16())
            .flat_map(u16::to_be_bytes)
            .collect();
        let found = scanner().scan_stream("keys.csv", &mut &bytes[..], &Provenance::WorkTree);
        let line_no = text.matches('\n').count();
        assert_eq!(
            places(&found),
            [("secret.aws.access-key-id".to_string(), line_no, 5)]
        );
    }

    #[test]
    fn positions_count_lines_and_characters() {
        let mut p = Position::default();
        p.advance("ab\ncdé");
        assert_eq!((p.line, p.column), (1, 3));
        p.advance("xy");
        assert_eq!((p.line, p.column), (1, 5));
        p.advance("\n");
        assert_eq!((p.line, p.column), (2, 0));
    }

    #[test]
    fn json_state_follows_strings_and_escapes() {
        let mut s = JsonState::default();
        s.advance(r#"{"a": "b\"c"#);
        assert!(s.in_string);
        s.advance(r#"d", "e\\"#);
        assert!(s.in_string);
        s.advance(r#"", 1"#);
        assert!(!s.in_string);
    }

    #[test]
    fn windows_start_at_a_line_when_they_can() {
        let text = format!(
            "{}\n{}",
            "a".repeat(WINDOW - OVERLAP - 10),
            "b".repeat(OVERLAP + 9)
        );
        let n = next_start(&text);
        assert_eq!(&text[n - 1..n + 1], "\nb");
        let long = format!("{}\\\\x{}", "a".repeat(WINDOW), "c".repeat(OVERLAP - 2));
        let n = next_start(&long);
        assert_ne!(long.as_bytes()[n - 1], b'\\');
        assert!(long.len() - n >= OVERLAP);
    }
}
