//! Terminal escape sequences (ECMA-48 / VT100) as they appear in logs, captured command output
//! and notebook tracebacks: which byte ranges of a text a terminal would not print. Finding the
//! ranges is all this module does; [`super::MappedText`] removes them and keeps the raw map.
//!
//! Control sequences (CSI: colours, cursor moves) and two-byte escapes (`ESC 7`, `ESC ( B`) are
//! removed whole: they carry only numbers and flags. String sequences (OSC window titles and
//! hyperlinks, DCS, APC, PM, SOS) carry data a terminal keeps (a hyperlink's URL can hold a
//! token), so only their introducer and terminator go, each replaced by a space, and the payload is
//! scanned. A sequence that is not terminated where the grammar says it must be is not a
//! sequence: only its `ESC` is removed, so that a stray escape can never hide what follows it.

const ESC: u8 = 0x1b;
const BEL: u8 = 0x07;
/// CSI parameters longer than this are not a real sequence (terminals cap them far lower).
const MAX_CSI: usize = 64;
/// The payload of a string sequence must end within this many bytes (and on the same line).
const MAX_STRING: usize = 8192;

/// `(start, end, replacement)` for every escape sequence in `text`, sorted and disjoint.
pub(crate) fn escape_spans(text: &str) -> Vec<(usize, usize, Option<char>)> {
    let b = text.as_bytes();
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(p) = memchr::memchr(ESC, &b[from..]) {
        let at = from + p;
        from = match b.get(at + 1) {
            Some(b'[') => csi(b, at, &mut spans),
            Some(b']' | b'P' | b'X' | b'^' | b'_') => string(b, at, &mut spans),
            Some(&c) if (0x20..=0x2f).contains(&c) => nf_escape(b, at, &mut spans),
            Some(&c) if (0x30..=0x7e).contains(&c) => {
                spans.push((at, at + 2, None));
                at + 2
            }
            _ => {
                spans.push((at, at + 1, None));
                at + 1
            }
        };
    }
    spans
}

/// `ESC [` parameters (0x30–0x3f), intermediates (0x20–0x2f), one final byte (0x40–0x7e).
fn csi(b: &[u8], at: usize, spans: &mut Vec<(usize, usize, Option<char>)>) -> usize {
    let mut i = at + 2;
    while i < b.len() && i - at <= MAX_CSI && (0x20..=0x3f).contains(&b[i]) {
        i += 1;
    }
    if i < b.len() && i - at <= MAX_CSI && (0x40..=0x7e).contains(&b[i]) {
        spans.push((at, i + 1, None));
        return i + 1;
    }
    spans.push((at, at + 1, None));
    at + 1
}

/// `ESC` intermediates (0x20–0x2f) then a final byte (0x30–0x7e): character-set selection.
fn nf_escape(b: &[u8], at: usize, spans: &mut Vec<(usize, usize, Option<char>)>) -> usize {
    let mut i = at + 1;
    while i < b.len() && i - at <= 4 && (0x20..=0x2f).contains(&b[i]) {
        i += 1;
    }
    if i < b.len() && (0x30..=0x7e).contains(&b[i]) {
        spans.push((at, i + 1, None));
        return i + 1;
    }
    spans.push((at, at + 1, None));
    at + 1
}

/// `ESC ]` (and the other string introducers) … `BEL` or `ESC \`: the payload stays.
fn string(b: &[u8], at: usize, spans: &mut Vec<(usize, usize, Option<char>)>) -> usize {
    let body = at + 2;
    let limit = b.len().min(body + MAX_STRING);
    let mut i = body;
    while i < limit {
        match b[i] {
            BEL => {
                spans.push((at, body, Some(' ')));
                spans.push((i, i + 1, Some(' ')));
                return i + 1;
            }
            ESC if b.get(i + 1) == Some(&b'\\') => {
                spans.push((at, body, Some(' ')));
                spans.push((i, i + 2, Some(' ')));
                return i + 2;
            }
            ESC | b'\n' => break,
            _ => i += 1,
        }
    }
    spans.push((at, at + 1, None));
    at + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(text: &str) -> String {
        let mut out = String::new();
        let mut run = 0;
        for (s, e, r) in escape_spans(text) {
            out.push_str(&text[run..s]);
            out.extend(r);
            run = e;
        }
        out.push_str(&text[run..]);
        out
    }

    #[test]
    fn colours_and_cursor_moves_are_removed() {
        assert_eq!(
            strip("\x1b[32mgreen\x1b[0m \x1b[1;31;40mx\x1b[K"),
            "green x"
        );
        assert_eq!(strip("a\x1b[?25lb\x1b[2Jc"), "abc");
    }

    #[test]
    fn two_byte_and_charset_escapes_are_removed() {
        assert_eq!(strip("a\x1b7b\x1b8c\x1b(Bd\x1b=e"), "abcde");
    }

    #[test]
    fn string_sequences_keep_their_payload_apart() {
        assert_eq!(strip("\x1b]0;title\x07text"), " 0;title text");
        assert_eq!(
            strip("\x1b]8;;https://h/x\x1b\\link\x1b]8;;\x1b\\"),
            " 8;;https://h/x link 8;; "
        );
    }

    #[test]
    fn a_stray_escape_hides_nothing() {
        assert_eq!(strip("\x1b]0;never ends\nsecret"), "]0;never ends\nsecret");
        assert_eq!(strip("\x1b[123456789"), "[123456789");
        assert_eq!(strip("end\x1b"), "end");
    }
}
