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
        // Points are sorted by decoded offset: start at the first one past `from` (a text with
        // thousands of entities or colour codes calls this once per span).
        let first = old.points.partition_point(|&(d, _)| (d as usize) <= from);
        for &(d, _) in old.points[first..]
            .iter()
            .take_while(|(d, _)| (*d as usize) < to)
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

/// The character reference at the start of `s` (`&amp;`, `&#65;`, `&#x41;`) and its length.
/// Numeric references and the named ones in common use (ASCII punctuation, Latin-1, typography)
/// are decoded: a key written `&#65;KIA…` in an HTML output is still a key.
fn html_entity(s: &str) -> Option<(char, usize)> {
    if let Some(rest) = s.strip_prefix("&#") {
        let (radix, digits) = match rest.strip_prefix(['x', 'X']) {
            Some(hex) => (16, hex),
            None => (10, rest),
        };
        let n = digits
            .bytes()
            .take_while(|b| b.is_ascii_digit() || (radix == 16 && b.is_ascii_hexdigit()))
            .count();
        if n == 0 || n > 8 {
            return None;
        }
        let value = u32::from_str_radix(&digits[..n], radix).ok()?;
        let mut len = s.len() - digits.len() + n;
        if s[len..].starts_with(';') {
            len += 1;
        }
        let c = char::from_u32(value)
            .filter(|c| *c != '\0')
            .unwrap_or('\u{fffd}');
        return Some((c, len));
    }
    let name_len = s[1..]
        .bytes()
        .take(MAX_NAME + 1)
        .take_while(u8::is_ascii_alphanumeric)
        .count();
    if name_len == 0 || name_len > MAX_NAME || s.as_bytes().get(1 + name_len) != Some(&b';') {
        return None;
    }
    let name = &s[1..1 + name_len];
    NAMED
        .binary_search_by(|(n, _)| n.cmp(&name))
        .ok()
        .map(|i| (NAMED[i].1, name_len + 2))
}

const MAX_NAME: usize = 16;

/// Named character references, sorted by name for binary search.
const NAMED: &[(&str, char)] = &[
    ("AElig", '\u{c6}'),
    ("AMP", '&'),
    ("Aacute", '\u{c1}'),
    ("Acirc", '\u{c2}'),
    ("Agrave", '\u{c0}'),
    ("Aring", '\u{c5}'),
    ("Atilde", '\u{c3}'),
    ("Auml", '\u{c4}'),
    ("COPY", '\u{a9}'),
    ("Ccedil", '\u{c7}'),
    ("Dagger", '\u{2021}'),
    ("Delta", '\u{394}'),
    ("DiacriticalGrave", '`'),
    ("ETH", '\u{d0}'),
    ("Eacute", '\u{c9}'),
    ("Ecirc", '\u{ca}'),
    ("Egrave", '\u{c8}'),
    ("Euml", '\u{cb}'),
    ("GT", '>'),
    ("Hat", '^'),
    ("Iacute", '\u{cd}'),
    ("Icirc", '\u{ce}'),
    ("Igrave", '\u{cc}'),
    ("Iuml", '\u{cf}'),
    ("LT", '<'),
    ("NewLine", '\u{a}'),
    ("Ntilde", '\u{d1}'),
    ("OElig", '\u{152}'),
    ("Oacute", '\u{d3}'),
    ("Ocirc", '\u{d4}'),
    ("Ograve", '\u{d2}'),
    ("Omega", '\u{3a9}'),
    ("Oslash", '\u{d8}'),
    ("Otilde", '\u{d5}'),
    ("Ouml", '\u{d6}'),
    ("Prime", '\u{2033}'),
    ("QUOT", '"'),
    ("REG", '\u{ae}'),
    ("Scaron", '\u{160}'),
    ("Sigma", '\u{3a3}'),
    ("THORN", '\u{de}'),
    ("Tab", '\u{9}'),
    ("Uacute", '\u{da}'),
    ("Ucirc", '\u{db}'),
    ("Ugrave", '\u{d9}'),
    ("UnderBar", '_'),
    ("Uuml", '\u{dc}'),
    ("VerticalLine", '|'),
    ("Yacute", '\u{dd}'),
    ("Yuml", '\u{178}'),
    ("aacute", '\u{e1}'),
    ("acirc", '\u{e2}'),
    ("acute", '\u{b4}'),
    ("aelig", '\u{e6}'),
    ("agrave", '\u{e0}'),
    ("alpha", '\u{3b1}'),
    ("amp", '&'),
    ("apos", '\''),
    ("aring", '\u{e5}'),
    ("ast", '*'),
    ("asymp", '\u{2248}'),
    ("atilde", '\u{e3}'),
    ("auml", '\u{e4}'),
    ("bdquo", '\u{201e}'),
    ("beta", '\u{3b2}'),
    ("brvbar", '\u{a6}'),
    ("bsol", '\\'),
    ("bull", '\u{2022}'),
    ("ccedil", '\u{e7}'),
    ("cedil", '\u{b8}'),
    ("cent", '\u{a2}'),
    ("check", '\u{2713}'),
    ("circ", '\u{2c6}'),
    ("colon", ':'),
    ("comma", ','),
    ("commat", '@'),
    ("copy", '\u{a9}'),
    ("cross", '\u{2717}'),
    ("curren", '\u{a4}'),
    ("dagger", '\u{2020}'),
    ("darr", '\u{2193}'),
    ("dash", '\u{2010}'),
    ("deg", '\u{b0}'),
    ("delta", '\u{3b4}'),
    ("divide", '\u{f7}'),
    ("dollar", '$'),
    ("eacute", '\u{e9}'),
    ("ecirc", '\u{ea}'),
    ("egrave", '\u{e8}'),
    ("emsp", '\u{2003}'),
    ("ensp", '\u{2002}'),
    ("epsilon", '\u{3b5}'),
    ("equals", '='),
    ("eth", '\u{f0}'),
    ("euml", '\u{eb}'),
    ("euro", '\u{20ac}'),
    ("excl", '!'),
    ("fnof", '\u{192}'),
    ("frac12", '\u{bd}'),
    ("frac14", '\u{bc}'),
    ("frac34", '\u{be}'),
    ("frasl", '\u{2044}'),
    ("gamma", '\u{3b3}'),
    ("ge", '\u{2265}'),
    ("grave", '`'),
    ("gt", '>'),
    ("harr", '\u{2194}'),
    ("hellip", '\u{2026}'),
    ("hyphen", '\u{2010}'),
    ("iacute", '\u{ed}'),
    ("icirc", '\u{ee}'),
    ("iexcl", '\u{a1}'),
    ("igrave", '\u{ec}'),
    ("infin", '\u{221e}'),
    ("iquest", '\u{bf}'),
    ("iuml", '\u{ef}'),
    ("lambda", '\u{3bb}'),
    ("laquo", '\u{ab}'),
    ("larr", '\u{2190}'),
    ("lbrace", '{'),
    ("lbrack", '['),
    ("lcub", '{'),
    ("ldquo", '\u{201c}'),
    ("le", '\u{2264}'),
    ("lowbar", '_'),
    ("lpar", '('),
    ("lrm", '\u{200e}'),
    ("lsaquo", '\u{2039}'),
    ("lsqb", '['),
    ("lsquo", '\u{2018}'),
    ("lt", '<'),
    ("macr", '\u{af}'),
    ("mdash", '\u{2014}'),
    ("micro", '\u{b5}'),
    ("midast", '*'),
    ("middot", '\u{b7}'),
    ("minus", '\u{2212}'),
    ("mu", '\u{3bc}'),
    ("nbsp", '\u{a0}'),
    ("ndash", '\u{2013}'),
    ("ne", '\u{2260}'),
    ("not", '\u{ac}'),
    ("ntilde", '\u{f1}'),
    ("num", '#'),
    ("oacute", '\u{f3}'),
    ("ocirc", '\u{f4}'),
    ("oelig", '\u{153}'),
    ("ograve", '\u{f2}'),
    ("oline", '\u{203e}'),
    ("omega", '\u{3c9}'),
    ("ordf", '\u{aa}'),
    ("ordm", '\u{ba}'),
    ("oslash", '\u{f8}'),
    ("otilde", '\u{f5}'),
    ("ouml", '\u{f6}'),
    ("para", '\u{b6}'),
    ("percnt", '%'),
    ("period", '.'),
    ("permil", '\u{2030}'),
    ("pi", '\u{3c0}'),
    ("plus", '+'),
    ("plusmn", '\u{b1}'),
    ("pound", '\u{a3}'),
    ("prime", '\u{2032}'),
    ("prod", '\u{220f}'),
    ("quest", '?'),
    ("quot", '"'),
    ("radic", '\u{221a}'),
    ("raquo", '\u{bb}'),
    ("rarr", '\u{2192}'),
    ("rbrace", '}'),
    ("rbrack", ']'),
    ("rcub", '}'),
    ("rdquo", '\u{201d}'),
    ("reg", '\u{ae}'),
    ("rlm", '\u{200f}'),
    ("rpar", ')'),
    ("rsaquo", '\u{203a}'),
    ("rsqb", ']'),
    ("rsquo", '\u{2019}'),
    ("sbquo", '\u{201a}'),
    ("scaron", '\u{161}'),
    ("sect", '\u{a7}'),
    ("semi", ';'),
    ("shy", '\u{ad}'),
    ("sigma", '\u{3c3}'),
    ("sol", '/'),
    ("star", '\u{2606}'),
    ("starf", '\u{2605}'),
    ("sum", '\u{2211}'),
    ("sup1", '\u{b9}'),
    ("sup2", '\u{b2}'),
    ("sup3", '\u{b3}'),
    ("szlig", '\u{df}'),
    ("theta", '\u{3b8}'),
    ("thinsp", '\u{2009}'),
    ("thorn", '\u{fe}'),
    ("tilde", '\u{2dc}'),
    ("times", '\u{d7}'),
    ("trade", '\u{2122}'),
    ("uacute", '\u{fa}'),
    ("uarr", '\u{2191}'),
    ("ucirc", '\u{fb}'),
    ("ugrave", '\u{f9}'),
    ("uml", '\u{a8}'),
    ("uuml", '\u{fc}'),
    ("verbar", '|'),
    ("vert", '|'),
    ("yacute", '\u{fd}'),
    ("yen", '\u{a5}'),
    ("yuml", '\u{ff}'),
    ("zwj", '\u{200d}'),
    ("zwnj", '\u{200c}'),
];

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
    fn numeric_and_named_references_are_decoded_with_exact_offsets() {
        let raw = r#""&#65;KIA&#x5a;&#x7A;1&lt;&eacute;&commat;&bogus;&#;x""#;
        let mut m = MappedText::default();
        m.push_json_string(raw, 0);
        m.decode_html_entities();
        assert_eq!(m.text, "AKIAZz1<é@&bogus;&#;x");
        let one = m.text.find('1').unwrap();
        assert_eq!(&raw[m.raw_offset(one)..m.raw_offset(one) + 1], "1");
        let x = m.text.rfind('x').unwrap();
        assert_eq!(&raw[m.raw_offset(x)..m.raw_offset(x) + 1], "x");
        assert!(super::NAMED.windows(2).all(|w| w[0].0 < w[1].0));
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
