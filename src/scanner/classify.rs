//! What an item's bytes are before anything is matched: a Git LFS pointer (the content lives
//! elsewhere), a binary format (nothing to read as text), or text in one of the encodings that
//! real tools write (UTF-8 with or without a byte-order mark, UTF-16 in either byte order with a
//! mark, and the BOM-less ASCII-in-UTF-16 that Windows tools and PowerShell redirections leave),
//! and the decoding of that text into UTF-8, all at once or a chunk at a time.
//!
//! The verdicts are made to be hard to game: an LFS pointer is skipped only when it is exactly
//! what the LFS specification allows, and a file is binary by signature only when its head is not
//! clean text as well (prefixing `%PDF-` to a `.env` file does not hide it). What is left is text.

use std::borrow::Cow;

/// What the bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    LfsPointer,
    /// A binary format, named by its signature (or "NUL bytes").
    Binary(&'static str),
    Text(Encoding),
}

/// How a text is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Utf8,
    /// UTF-8 behind a byte-order mark (dropped before scanning, as editors hide it).
    Utf8Bom,
    Utf16Le {
        bom: bool,
    },
    Utf16Be {
        bom: bool,
    },
}

/// How much of the head is looked at.
pub(crate) const HEAD: usize = 8192;
/// LFS writes pointers well under this size and never reads a larger blob as one.
const LFS_MAX: usize = 1024;

/// Classifies content from its head (at least [`HEAD`] bytes, or all of it) and total size.
pub(crate) fn classify(head: &[u8], total: u64) -> Kind {
    let head = &head[..head.len().min(HEAD)];
    if total < LFS_MAX as u64 && head.len() as u64 == total && is_lfs_pointer(head) {
        return Kind::LfsPointer;
    }
    if let Some(enc) = bom(head) {
        return Kind::Text(enc);
    }
    if let Some(name) = signature(head) {
        if !is_clean_text(head) {
            return Kind::Binary(name);
        }
    }
    if let Some(enc) = bomless_utf16(head) {
        return Kind::Text(enc);
    }
    if memchr::memchr(0, head).is_some() && !is_text_with_stray_nuls(head) {
        return Kind::Binary("NUL bytes");
    }
    Kind::Text(Encoding::Utf8)
}

/// Text with a few NUL bytes dropped into it is still text: otherwise one NUL would hide a whole
/// `.env` file from every gate. Binaries without a known signature have NULs everywhere.
fn is_text_with_stray_nuls(head: &[u8]) -> bool {
    let nuls = memchr::memchr_iter(0, head).count();
    if nuls * 256 > head.len().max(256) {
        return false;
    }
    let rest: Vec<u8> = head.iter().copied().filter(|&b| b != 0).collect();
    is_clean_text(&rest)
}

/// A pointer file as the Git LFS specification defines it: `version` first, then keys in
/// ascending order (`ext-<digit>-<name>` extensions, `oid sha256:<64 hex>`, `size <digits>`),
/// one `key value` per LF-terminated line, nothing else.
pub(crate) fn is_lfs_pointer(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let Some(body) = text.strip_suffix('\n') else {
        return false;
    };
    let mut lines = body.split('\n');
    if lines.next() != Some("version https://git-lfs.github.com/spec/v1") {
        return false;
    }
    let rest: Vec<&str> = lines.collect();
    let [exts @ .., oid, size] = rest.as_slice() else {
        return false;
    };
    let ext_ok = |l: &&str| {
        let Some((key, value)) = l.split_once(' ') else {
            return false;
        };
        let Some(name) = key.strip_prefix("ext-") else {
            return false;
        };
        let mut parts = name.splitn(2, '-');
        let priority = parts.next().unwrap_or_default();
        let ext = parts.next().unwrap_or_default();
        priority.len() == 1
            && priority.bytes().all(|b| b.is_ascii_digit())
            && !ext.is_empty()
            && ext.bytes().all(|b| b.is_ascii_alphanumeric())
            && is_sha256(value)
    };
    exts.iter().all(ext_ok)
        && exts.windows(2).all(|w| w[0] < w[1])
        && oid.strip_prefix("oid ").is_some_and(is_sha256)
        && size.strip_prefix("size ").is_some_and(|n| {
            !n.is_empty() && n.len() <= 20 && n.bytes().all(|b| b.is_ascii_digit())
        })
}

fn is_sha256(value: &str) -> bool {
    value.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn bom(head: &[u8]) -> Option<Encoding> {
    if head.starts_with(b"\xef\xbb\xbf") {
        Some(Encoding::Utf8Bom)
    } else if head.starts_with(b"\xff\xfe") {
        Some(Encoding::Utf16Le { bom: true })
    } else if head.starts_with(b"\xfe\xff") {
        Some(Encoding::Utf16Be { bom: true })
    } else {
        None
    }
}

/// Magic numbers of formats that hold no scannable text (or hold it compressed).
const SIGNATURES: &[(usize, &[u8], &str)] = &[
    (0, b"%PDF-", "PDF"),
    (0, b"PK\x03\x04", "ZIP (docx, xlsx, jar, ...)"),
    (0, b"PK\x05\x06", "ZIP"),
    (0, b"\x1f\x8b", "gzip"),
    (0, b"BZh", "bzip2"),
    (0, b"\xfd7zXZ\x00", "xz"),
    (0, b"\x28\xb5\x2f\xfd", "zstd"),
    (0, b"7z\xbc\xaf\x27\x1c", "7-Zip"),
    (0, b"Rar!\x1a\x07", "RAR"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"GIF87a", "GIF"),
    (0, b"GIF89a", "GIF"),
    (8, b"WEBP", "WebP"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
    (0, b"\x00\x00\x01\x00", "ICO"),
    (4, b"ftyp", "MP4/QuickTime"),
    (0, b"OggS", "Ogg"),
    (0, b"fLaC", "FLAC"),
    (0, b"ID3", "MP3"),
    (0, b"\x7fELF", "ELF"),
    (0, b"\xfe\xed\xfa\xce", "Mach-O"),
    (0, b"\xfe\xed\xfa\xcf", "Mach-O"),
    (0, b"\xce\xfa\xed\xfe", "Mach-O"),
    (0, b"\xcf\xfa\xed\xfe", "Mach-O"),
    (0, b"\xca\xfe\xba\xbe", "Mach-O universal or Java class"),
    (0, b"MZ", "PE (Windows executable)"),
    (0, b"\x00asm", "WebAssembly"),
    (0, b"SQLite format 3\x00", "SQLite"),
    (0, b"PAR1", "Parquet"),
    (0, b"ARROW1", "Arrow"),
    (0, b"\x89HDF\r\n\x1a\n", "HDF5"),
    (0, b"\x93NUMPY", "NumPy array"),
    (
        0,
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "OLE (doc, xls, msi)",
    ),
];

/// The format whose signature the head starts with.
pub(crate) fn signature(head: &[u8]) -> Option<&'static str> {
    SIGNATURES
        .iter()
        .find(|(at, magic, _)| head.get(*at..at + magic.len()) == Some(magic))
        .map(|(_, _, name)| *name)
        .or_else(|| (head.starts_with(b"RIFF") && head.len() >= 12).then_some("RIFF (WAV, AVI)"))
}

/// UTF-8 (possibly cut mid-character at the end) without control characters other than the
/// whitespace and escapes that text files carry.
fn is_clean_text(head: &[u8]) -> bool {
    let valid = match std::str::from_utf8(head) {
        Ok(s) => s,
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    valid
        .bytes()
        .all(|b| b >= 0x20 || matches!(b, b'\t' | b'\n' | b'\r' | 0x0c | 0x1b))
}

/// ASCII text written as UTF-16 without a mark: every other byte NUL, the rest printable.
fn bomless_utf16(head: &[u8]) -> Option<Encoding> {
    let units = head.len() / 2;
    if units < 2 || memchr::memchr(0, head).is_none() {
        return None;
    }
    let texty = |lo: u8, hi: u8| hi == 0 && (lo.is_ascii_graphic() || b" \t\r\n".contains(&lo));
    let count = |lo_first: bool| {
        head.chunks_exact(2)
            .filter(|u| {
                let (lo, hi) = if lo_first { (u[0], u[1]) } else { (u[1], u[0]) };
                texty(lo, hi)
            })
            .count()
    };
    // Nine in ten: room for a few non-ASCII letters, none for a binary that happens to have NULs.
    if count(true) * 10 >= units * 9 {
        Some(Encoding::Utf16Le { bom: false })
    } else if count(false) * 10 >= units * 9 {
        Some(Encoding::Utf16Be { bom: false })
    } else {
        None
    }
}

/// The whole content decoded, and the offset of the first byte that was not valid in its
/// encoding (replaced by U+FFFD), if any.
pub(crate) fn decode(bytes: &[u8], enc: Encoding) -> (Cow<'_, str>, Option<usize>) {
    if enc == Encoding::Utf8 {
        return match std::str::from_utf8(bytes) {
            Ok(s) => (Cow::Borrowed(s), None),
            Err(e) => (String::from_utf8_lossy(bytes), Some(e.valid_up_to())),
        };
    }
    if enc == Encoding::Utf8Bom {
        let (text, bad) = decode(&bytes[3..], Encoding::Utf8);
        return (text, bad.map(|b| b + 3));
    }
    let mut d = Decoder::new(enc);
    let mut out = String::with_capacity(bytes.len() / 2);
    d.push(bytes, &mut out);
    d.finish(&mut out);
    (Cow::Owned(out), d.first_bad)
}

/// Decodes a stream chunk by chunk: a character cut by a chunk boundary is kept back until the
/// next chunk completes it.
#[derive(Debug)]
pub(crate) struct Decoder {
    enc: Encoding,
    pending: Vec<u8>,
    /// Bytes consumed so far (to skip the byte-order mark and to report offsets).
    consumed: usize,
    pub(crate) first_bad: Option<usize>,
}

impl Decoder {
    pub(crate) fn new(enc: Encoding) -> Self {
        Decoder {
            enc,
            pending: Vec::new(),
            consumed: 0,
            first_bad: None,
        }
    }

    fn bom_len(&self) -> usize {
        match self.enc {
            Encoding::Utf8
            | Encoding::Utf16Le { bom: false }
            | Encoding::Utf16Be { bom: false } => 0,
            Encoding::Utf8Bom => 3,
            Encoding::Utf16Le { bom: true } | Encoding::Utf16Be { bom: true } => 2,
        }
    }

    /// Appends the decoded text of `chunk` to `out`.
    pub(crate) fn push(&mut self, chunk: &[u8], out: &mut String) {
        let mut data = std::mem::take(&mut self.pending);
        data.extend_from_slice(chunk);
        let base = self.consumed - (data.len() - chunk.len());
        self.consumed += chunk.len();
        let skip = self.bom_len().saturating_sub(base).min(data.len());
        let body = &data[skip..];
        let at = base + skip;
        let kept = match self.enc {
            Encoding::Utf8 | Encoding::Utf8Bom => self.utf8(body, at, out),
            Encoding::Utf16Le { .. } => self.utf16(body, at, out, u16::from_le_bytes),
            Encoding::Utf16Be { .. } => self.utf16(body, at, out, u16::from_be_bytes),
        };
        self.pending = body[body.len() - kept..].to_vec();
    }

    /// Ends the stream: a cut character left over becomes U+FFFD.
    pub(crate) fn finish(&mut self, out: &mut String) {
        if !self.pending.is_empty() {
            self.bad(self.consumed - self.pending.len());
            out.push('\u{fffd}');
            self.pending.clear();
        }
    }

    fn bad(&mut self, at: usize) {
        self.first_bad.get_or_insert(at);
    }

    /// Decodes what it can; returns how many trailing bytes wait for the next chunk.
    fn utf8(&mut self, mut b: &[u8], mut at: usize, out: &mut String) -> usize {
        loop {
            match std::str::from_utf8(b) {
                Ok(s) => {
                    out.push_str(s);
                    return 0;
                }
                Err(e) => {
                    let ok = e.valid_up_to();
                    out.push_str(std::str::from_utf8(&b[..ok]).expect("checked valid prefix"));
                    let Some(n) = e.error_len() else {
                        return b.len() - ok;
                    };
                    self.bad(at + ok);
                    out.push('\u{fffd}');
                    b = &b[ok + n..];
                    at += ok + n;
                }
            }
        }
    }

    fn utf16(&mut self, b: &[u8], at: usize, out: &mut String, unit: fn([u8; 2]) -> u16) -> usize {
        let mut units: Vec<u16> = b.chunks_exact(2).map(|c| unit([c[0], c[1]])).collect();
        let mut kept = b.len() % 2;
        if units.last().is_some_and(|u| (0xd800..0xdc00).contains(u)) {
            units.pop();
            kept += 2;
        }
        let mut unit_at = 0;
        for ch in char::decode_utf16(units.iter().copied()) {
            match ch {
                Ok(c) => {
                    out.push(c);
                    unit_at += c.len_utf16();
                }
                Err(_) => {
                    self.bad(at + 2 * unit_at);
                    out.push('\u{fffd}');
                    unit_at += 1;
                }
            }
        }
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OID: &str = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393";

    fn pointer(extra: &str) -> String {
        format!("version https://git-lfs.github.com/spec/v1\n{extra}oid sha256:{OID}\nsize 12345\n")
    }

    fn kind(bytes: &[u8]) -> Kind {
        classify(bytes, bytes.len() as u64)
    }

    #[test]
    fn only_a_well_formed_lfs_pointer_is_one() {
        assert_eq!(kind(pointer("").as_bytes()), Kind::LfsPointer);
        let ext = format!("ext-0-foo sha256:{OID}\next-1-bar sha256:{OID}\n");
        assert_eq!(kind(pointer(&ext).as_bytes()), Kind::LfsPointer);
        let text = Kind::Text(Encoding::Utf8);
        // Anything more, less or out of order is text.
        assert_eq!(kind(format!("{}KEY = 1\n", pointer("")).as_bytes()), text);
        assert_eq!(kind(pointer("").replace('\n', "\r\n").as_bytes()), text);
        assert_eq!(kind(pointer("").trim_end().as_bytes()), text);
        assert_eq!(kind(pointer("note hello\n").as_bytes()), text);
        assert_eq!(
            kind(pointer("").replace("size 12345", "size 12x").as_bytes()),
            text
        );
        assert_eq!(kind(pointer("").replace(OID, &OID[1..]).as_bytes()), text);
        let swapped = format!("ext-1-bar sha256:{OID}\next-0-foo sha256:{OID}\n");
        assert_eq!(kind(pointer(&swapped).as_bytes()), text);
        let big = format!("{}{}", pointer(""), " ".repeat(2000));
        assert_eq!(kind(big.as_bytes()), text);
    }

    #[test]
    fn binary_formats_are_known_by_signature() {
        assert_eq!(
            kind(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"),
            Kind::Binary("PDF")
        );
        assert_eq!(kind(b"\x89PNG\r\n\x1a\nrest"), Kind::Binary("PNG"));
        assert_eq!(kind(b"\x1f\x8b\x08rest"), Kind::Binary("gzip"));
        let nul_heavy: Vec<u8> = (0..64u8).flat_map(|b| [b, 0, 0, 0]).collect();
        assert_eq!(kind(&nul_heavy), Kind::Binary("NUL bytes"));
    }

    #[test]
    fn a_stray_nul_does_not_hide_text() {
        let mut text = b"API_HOST=internal\n".repeat(40);
        text.insert(5, 0);
        assert_eq!(kind(&text), Kind::Text(Encoding::Utf8));
        assert_eq!(kind(b"plain\x00text"), Kind::Text(Encoding::Utf8));
    }

    #[test]
    fn a_signature_in_front_of_clean_text_does_not_make_it_binary() {
        let text = Kind::Text(Encoding::Utf8);
        assert_eq!(kind(b"%PDF-1.4\nAWS_SECRET=abc\n"), text);
        assert_eq!(kind(b"MZ is a postcode area\n"), text);
    }

    fn utf16(text: &str, le: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend(if le { [0xff, 0xfe] } else { [0xfe, 0xff] });
        }
        for u in text.encode_utf16() {
            out.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
        }
        out
    }

    #[test]
    fn utf16_is_text_with_or_without_a_mark() {
        let text = "key = \"value\"\r\nnext line é\r\n";
        for (le, bom) in [(true, true), (false, true), (true, false), (false, false)] {
            let bytes = utf16(text, le, bom);
            let Kind::Text(enc) = kind(&bytes) else {
                panic!("UTF-16 (le {le}, bom {bom}) taken for binary");
            };
            assert_eq!(decode(&bytes, enc), (Cow::Owned(text.to_string()), None));
        }
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_text() {
        let (text, bad) = decode(b"\xef\xbb\xbfa=1\n", Encoding::Utf8Bom);
        assert_eq!((text.as_ref(), bad), ("a=1\n", None));
    }

    #[test]
    fn chunked_decoding_matches_whole_decoding() {
        let text = "αβγ 😀 line\nnext\n".repeat(20);
        for enc in [
            Encoding::Utf16Le { bom: true },
            Encoding::Utf16Be { bom: false },
        ] {
            let mut bytes = utf16(&text, matches!(enc, Encoding::Utf16Le { .. }), false);
            if enc == (Encoding::Utf16Le { bom: true }) {
                bytes.splice(0..0, [0xff, 0xfe]);
            }
            for size in [1, 2, 3, 7, 64] {
                let mut d = Decoder::new(enc);
                let mut out = String::new();
                for chunk in bytes.chunks(size) {
                    d.push(chunk, &mut out);
                }
                d.finish(&mut out);
                assert_eq!(out, text, "chunks of {size}");
                assert_eq!(d.first_bad, None);
            }
        }
        let bytes = format!("\u{feff}{text}").into_bytes();
        let mut d = Decoder::new(Encoding::Utf8Bom);
        let mut out = String::new();
        for chunk in bytes.chunks(5) {
            d.push(chunk, &mut out);
        }
        d.finish(&mut out);
        assert_eq!(out, text);
    }

    #[test]
    fn invalid_bytes_are_replaced_and_located() {
        let mut d = Decoder::new(Encoding::Utf8);
        let mut out = String::new();
        d.push(b"ab\xffc", &mut out);
        d.push(b"\xe2\x82", &mut out);
        d.finish(&mut out);
        assert_eq!(out, "ab\u{fffd}c\u{fffd}");
        assert_eq!(d.first_bad, Some(2));
    }
}
