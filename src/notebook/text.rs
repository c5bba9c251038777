//! Decoded text with a map back to the raw file: every segment the scanner sees is built here,
//! whether it is a JSON string from a notebook (escapes resolved, ANSI colour codes removed) or a
//! plain file taken as it is.

/// Decoded text plus sync points `(decoded offset, raw offset)`: between two points, decoded and
/// raw bytes advance together, so any decoded offset maps to an exact raw offset.
#[derive(Debug, Clone, Default)]
pub struct MappedText {
    pub text: String,
    points: Vec<(u32, u32)>,
}

impl MappedText {
    /// Text that is its own raw form, starting at `raw_offset` in the file.
    pub fn verbatim(text: String, raw_offset: usize) -> Self {
        MappedText {
            text,
            points: vec![(0, raw_offset as u32)],
        }
    }

    /// The raw byte offset of decoded byte offset `pos`.
    pub fn raw_offset(&self, pos: usize) -> usize {
        let pos = pos as u32;
        let i = self.points.partition_point(|&(d, _)| d <= pos);
        match i {
            0 => self.points.first().map_or(pos, |p| p.1) as usize,
            _ => {
                let (d, r) = self.points[i - 1];
                (r + (pos - d)) as usize
            }
        }
    }

    fn sync(&mut self, raw: usize) {
        let d = self.text.len() as u32;
        let r = raw as u32;
        if let Some(last) = self.points.last_mut() {
            if last.0 == d {
                last.1 = r;
                return;
            }
            if r.wrapping_sub(last.1) == d - last.0 {
                return;
            }
        }
        self.points.push((d, r));
    }

    /// Appends the decoded content of one JSON string token. `token` is the raw token including
    /// its quotes and `raw_offset` is where it starts in the file.
    pub fn push_json_string(&mut self, token: &str, raw_offset: usize) {
        let bytes = token.as_bytes();
        let (start, end) = if bytes.len() >= 2 && bytes[0] == b'"' && bytes[bytes.len() - 1] == b'"'
        {
            (1, bytes.len() - 1)
        } else {
            (0, bytes.len())
        };
        self.decode_string_body(&token[start..end], raw_offset + start);
    }

    fn decode_string_body(&mut self, body: &str, raw_base: usize) {
        self.sync(raw_base);
        let b = body.as_bytes();
        let mut run_start = 0;
        let mut from = 0;
        while let Some(p) = memchr::memchr(b'\\', &b[from..]) {
            let i = from + p;
            self.text.push_str(&body[run_start..i]);
            let (ch, len) = decode_escape(b, i);
            match ch {
                Some(c) => self.text.push(c),
                None => self.text.push_str(&body[i..i + len]),
            }
            from = i + len;
            run_start = from;
            self.sync(raw_base + from);
        }
        self.text.push_str(&body[run_start..]);
    }

    /// Appends raw JSON text (an object or array) with every string in it decoded in place and
    /// everything else kept as written.
    pub fn push_json_text(&mut self, raw: &str, raw_offset: usize) {
        self.push_json_text_from(raw, raw_offset, false);
    }

    /// Like [`Self::push_json_text`] for a piece of JSON cut out of a larger text, which may begin
    /// inside a string (`in_string`; never right after its backslash).
    pub fn push_json_text_from(&mut self, raw: &str, raw_offset: usize, in_string: bool) {
        let b = raw.as_bytes();
        let mut i = 0;
        if in_string {
            i = self.string_token(raw, raw_offset, 0);
        }
        while i < b.len() {
            let next = memchr::memchr(b'"', &b[i..]).map_or(b.len(), |p| i + p);
            self.sync(raw_offset + i);
            self.text.push_str(&raw[i..next]);
            if next >= b.len() {
                break;
            }
            self.text.push('"');
            i = self.string_token(raw, raw_offset, next + 1);
        }
    }

    /// Decodes the string whose body starts at `raw[body]`, and its closing quote when it has
    /// one; returns where it ends.
    fn string_token(&mut self, raw: &str, raw_offset: usize, body: usize) -> usize {
        let (end, closed) = string_end(raw.as_bytes(), body);
        let body_end = if closed { end - 1 } else { end.min(raw.len()) };
        self.decode_string_body(&raw[body..body_end], raw_offset + body);
        if closed {
            self.sync(raw_offset + end - 1);
            self.text.push('"');
        }
        end
    }

    /// Replaces HTML character references (`&amp;`, `&quot;`, `&#39;`, ...) by the characters they
    /// stand for, keeping the map exact: HTML outputs (pandas tables) escape what they display.
    pub fn decode_html_entities(&mut self) {
        if !self.text.contains('&') {
            return;
        }
        let mut spans = Vec::new();
        let b = self.text.as_bytes();
        let mut i = 0;
        while let Some(p) = memchr::memchr(b'&', &b[i..]) {
            let at = i + p;
            match html_entity(&self.text[at..]) {
                Some((ch, len)) => {
                    spans.push((at, at + len, Some(ch)));
                    i = at + len;
                }
                None => i = at + 1,
            }
        }
        self.replace_spans(&spans);
    }

    /// Removes terminal escape sequences (colours, cursor moves, titles) so that what a terminal
    /// would show is what gets matched; the map still points every kept byte at its raw place.
    /// Used for every text, plain files and notebook strings alike.
    pub fn strip_terminal_escapes(&mut self) {
        let spans = super::terminal::escape_spans(&self.text);
        self.replace_spans(&spans);
    }

    /// Rebuilds the text with each `(start, end, replacement)` span (sorted, disjoint, in decoded
    /// offsets) replaced by nothing or by one character; a replacement maps to the raw offset of its span's start.
    fn replace_spans(&mut self, spans: &[(usize, usize, Option<char>)]) {
        if spans.is_empty() {
            return;
        }
        let old = std::mem::take(self);
        let mut run = 0;
        for &(start, end, ch) in spans {
            self.push_mapped_run(&old, run, start);
            if let Some(ch) = ch {
                self.sync(old.raw_offset(start));
                self.text.push(ch);
            }
            run = end;
        }
        self.push_mapped_run(&old, run, old.text.len());
    }

    /// Copies `old.text[from..to]`, re-syncing wherever the old map had a sync point.
    fn push_mapped_run(&mut self, old: &MappedText, from: usize, to: usize) {
        let mut cur = from;
        for &(d, _) in old
            .points
            .iter()
            .filter(|(d, _)| (*d as usize) > from && (*d as usize) < to)
        {
            self.sync(old.raw_offset(cur));
            self.text.push_str(&old.text[cur..d as usize]);
            cur = d as usize;
        }
        self.sync(old.raw_offset(cur));
        self.text.push_str(&old.text[cur..to]);
    }

    /// Appends a separator (a newline between list elements that lack one) that has no raw form.
    pub fn push_synthetic(&mut self, s: &str, raw_offset: usize) {
        self.sync(raw_offset);
        self.text.push_str(s);
    }
}

fn html_entity(s: &str) -> Option<(char, usize)> {
    const NAMED: &[(&str, char)] = &[
        ("&amp;", '&'),
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&quot;", '"'),
        ("&apos;", '\''),
        ("&nbsp;", ' '),
        ("&#39;", '\''),
        ("&#x27;", '\''),
        ("&#34;", '"'),
        ("&#x2F;", '/'),
        ("&#47;", '/'),
        ("&#61;", '='),
        ("&#x3D;", '='),
    ];
    NAMED
        .iter()
        .find(|(n, _)| s.starts_with(n))
        .map(|(n, c)| (*c, n.len()))
}

/// Where the string whose body starts at `body` ends: one past its closing quote, or the end of
/// the text (`false`) when it is not closed.
fn string_end(b: &[u8], body: usize) -> (usize, bool) {
    let mut i = body;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return (i + 1, true),
            _ => i += 1,
        }
    }
    (b.len(), false)
}

/// Decodes the escape at `b[i]` (a backslash). Returns the character (None when malformed) and
/// the number of raw bytes consumed.
fn decode_escape(b: &[u8], i: usize) -> (Option<char>, usize) {
    let Some(&c) = b.get(i + 1) else {
        return (None, 1);
    };
    let simple = match c {
        b'"' => Some('"'),
        b'\\' => Some('\\'),
        b'/' => Some('/'),
        b'b' => Some('\u{8}'),
        b'f' => Some('\u{c}'),
        b'n' => Some('\n'),
        b'r' => Some('\r'),
        b't' => Some('\t'),
        b'u' => None,
        // Keeps the cut on a character boundary: the character is copied as it is.
        c if c >= 0x80 => return (None, 1),
        _ => return (None, 2),
    };
    if let Some(ch) = simple {
        return (Some(ch), 2);
    }
    let Some(hi) = hex4(b, i + 2) else {
        return (None, 2);
    };
    if (0xD800..0xDC00).contains(&hi) && b.get(i + 6) == Some(&b'\\') && b.get(i + 7) == Some(&b'u')
    {
        if let Some(lo) = hex4(b, i + 8) {
            if (0xDC00..0xE000).contains(&lo) {
                let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return (char::from_u32(cp), 12);
            }
        }
    }
    (Some(char::from_u32(hi).unwrap_or('\u{fffd}')), 6)
}

fn hex4(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    let s = std::str::from_utf8(s).ok()?;
    u32::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_decoded_and_offsets_stay_exact() {
        let raw = r#""a\"b\u0041KIA""#;
        let mut m = MappedText::default();
        m.push_json_string(raw, 10);
        assert_eq!(m.text, "a\"bAKIA");
        // 'A' of AKIA is decoded offset 3; raw: quote at 10, a=11, \"=12..13, b=14, \u0041=15..20
        assert_eq!(m.raw_offset(3), 15);
        assert_eq!(m.raw_offset(4), 21);
        assert_eq!(m.raw_offset(0), 11);
    }

    #[test]
    fn ansi_sequences_are_removed() {
        let raw = r#""\u001b[0;31mKeyError\u001b[0m: 'x'""#;
        let mut m = MappedText::default();
        m.push_json_string(raw, 0);
        m.strip_terminal_escapes();
        assert_eq!(m.text, "KeyError: 'x'");
        assert_eq!(&raw[m.raw_offset(0)..m.raw_offset(0) + 8], "KeyError");
        let colon = m.text.find(':').unwrap();
        assert_eq!(&raw[m.raw_offset(colon)..m.raw_offset(colon) + 1], ":");
    }

    #[test]
    fn html_entities_are_decoded_with_exact_offsets() {
        let raw = r#""a&amp;sig=\u0041B&quot;""#;
        let mut m = MappedText::default();
        m.push_json_string(raw, 0);
        m.decode_html_entities();
        assert_eq!(m.text, "a&sig=AB\"");
        let s = m.text.find("sig").unwrap();
        assert_eq!(&raw[m.raw_offset(s)..m.raw_offset(s) + 3], "sig");
        let b = m.text.find('B').unwrap();
        assert_eq!(&raw[m.raw_offset(b)..m.raw_offset(b) + 1], "B");
    }

    #[test]
    fn surrogate_pairs_decode_to_one_char() {
        let mut m = MappedText::default();
        m.push_json_string(r#""\ud83d\ude00x""#, 0);
        assert_eq!(m.text, "😀x");
        assert_eq!(m.raw_offset("😀".len()), 13);
    }

    #[test]
    fn json_text_keeps_structure_and_decodes_strings() {
        let raw = r#"{"k": "v\u0041", "n": 1}"#;
        let mut m = MappedText::default();
        m.push_json_text(raw, 100);
        assert_eq!(m.text, r#"{"k": "vA", "n": 1}"#);
        let n = m.text.find("\"n\"").unwrap();
        assert_eq!(m.raw_offset(n), 100 + raw.find("\"n\"").unwrap());
    }
}
