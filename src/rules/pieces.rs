//! Long texts met again in another version (a data file, a lockfile, a script, a long output) are
//! scanned a changed piece at a time: the text is cut into pieces of lines at content-defined
//! places (so that an inserted line moves no later cut), each piece is named by a hash of its
//! lines together with [`REACH`] lines on either side, and only pieces whose name was never seen
//! clean are scanned, inside a region that again reaches [`REACH`] lines beyond them.
//!
//! Why that is exact: whether a match starts or lies in a piece depends on the piece's own lines
//! and at most [`REACH`] lines around it (the longest context window of any rule is 30 lines,
//! values sit within a line or two of their names). A piece whose name was seen with no match
//! anywhere in it has none now either. Texts with a PEM block, whose base64 body can run for a
//! hundred lines, are always scanned whole (see [`can_cut`]); the first version of any text is
//! scanned whole too (all its pieces are new, and their regions merge).
//!
//! The bound is an assumption about the rules, not something a regex guarantees (`\s*` may
//! cross any number of blank lines), so only the history audit uses pieces; the gates, where the
//! pusher chooses the content, scan whole texts.

use std::hash::{BuildHasher, Hasher};

use super::Match;

/// Lines on each side of a piece that decide whether it is unchanged, and that a region scans
/// beyond its changed pieces.
pub(crate) const REACH: usize = 40;
/// Texts shorter than this are scanned whole.
pub(crate) const CUT_FROM: usize = 32 * 1024;
/// A piece ends after a line whose hash has these low bits set (16 lines on average), or at
/// [`MAX_LINES`] lines or [`MAX_BYTES`] bytes.
const CUT_MASK: u64 = 0xF;
const MAX_LINES: usize = 64;
const MAX_BYTES: usize = 64 * 1024;

/// Whether a text may be scanned in pieces at all.
pub(crate) fn can_cut(text: &str) -> bool {
    text.len() >= CUT_FROM && memchr::memmem::find(text.as_bytes(), b"-----BEGIN").is_none()
}

/// One piece: its lines, its bytes, and its name (two independent keyed hashes).
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    pub lines: std::ops::Range<usize>,
    pub bytes: std::ops::Range<usize>,
    pub key: (u64, u64),
}

/// The text cut into pieces, with the byte start of every line.
pub(crate) struct Cut {
    pub pieces: Vec<Piece>,
    line_starts: Vec<usize>,
    len: usize,
}

impl Cut {
    /// Cuts `text`; `seeds` key the line hashes and the names (`tag` separates ways of scanning
    /// the same text).
    pub(crate) fn new<S: BuildHasher>(text: &str, seeds: &(S, S), tag: u64) -> Cut {
        let b = text.as_bytes();
        let mut line_starts = vec![0];
        line_starts.extend(memchr::memchr_iter(b'\n', b).map(|i| i + 1));
        if line_starts.last() == Some(&b.len()) && !b.is_empty() {
            line_starts.pop();
        }
        let n = line_starts.len();
        let end_of = |j: usize| line_starts.get(j + 1).copied().unwrap_or(b.len());
        let hashes: Vec<u64> = (0..n)
            .map(|j| {
                let mut h = seeds.0.build_hasher();
                h.write(&b[line_starts[j]..end_of(j)]);
                h.finish()
            })
            .collect();
        let mut bounds = Vec::new();
        let mut first = 0;
        for (j, hash) in hashes.iter().enumerate() {
            let lines = j + 1 - first;
            let bytes = end_of(j) - line_starts[first];
            if hash & CUT_MASK == CUT_MASK || lines >= MAX_LINES || bytes >= MAX_BYTES {
                bounds.push(first..j + 1);
                first = j + 1;
            }
        }
        if first < n {
            bounds.push(first..n);
        }
        let pieces = bounds
            .into_iter()
            .map(|lines| {
                let lo = lines.start.saturating_sub(REACH);
                let hi = (lines.end + REACH).min(n);
                let name = |seed: &S| {
                    let mut h = seed.build_hasher();
                    h.write_u64(tag);
                    // Where the reach is cut short by the start or the end of the text matters
                    // to anchors.
                    h.write_u8(u8::from(lo == 0) | u8::from(hi == n) << 1);
                    h.write_usize(end_of(hi - 1) - line_starts[lo]);
                    for x in &hashes[lo..hi] {
                        h.write_u64(*x);
                    }
                    h.finish()
                };
                Piece {
                    bytes: line_starts[lines.start]..end_of(lines.end - 1),
                    lines,
                    key: (name(&seeds.0), name(&seeds.1)),
                }
            })
            .collect();
        Cut {
            pieces,
            line_starts,
            len: b.len(),
        }
    }

    /// Byte ranges to scan so that every piece marked in `dirty` is covered with [`REACH`] lines
    /// on each side; overlapping regions are merged.
    pub(crate) fn regions(&self, dirty: &[bool]) -> Vec<std::ops::Range<usize>> {
        let n = self.line_starts.len();
        let byte = |line: usize| self.line_starts.get(line).copied().unwrap_or(self.len);
        let mut out: Vec<std::ops::Range<usize>> = Vec::new();
        for (p, _) in self.pieces.iter().zip(dirty).filter(|(_, d)| **d) {
            let lo = byte(p.lines.start.saturating_sub(REACH));
            let hi = byte((p.lines.end + REACH).min(n));
            match out.last_mut() {
                Some(last) if lo <= last.end => last.end = last.end.max(hi),
                _ => out.push(lo..hi),
            }
        }
        out
    }

    /// The piece that holds byte `at`.
    pub(crate) fn piece_at(&self, at: usize) -> usize {
        self.pieces
            .partition_point(|p| p.bytes.end <= at)
            .min(self.pieces.len().saturating_sub(1))
    }
}

/// Scans the dirty pieces of `cut` with `scan` (which sees a region as if it were the whole
/// text) and returns the matches that start in a dirty piece, at their offsets in `text`, and
/// which dirty pieces no match touched.
pub(crate) fn scan_dirty(
    text: &str,
    cut: &Cut,
    dirty: &[bool],
    scan: &mut dyn FnMut(&str, &mut Vec<Match>),
) -> (Vec<Match>, Vec<usize>) {
    let mut kept = Vec::new();
    let mut touched = vec![false; cut.pieces.len()];
    let mut found = Vec::new();
    for region in cut.regions(dirty) {
        found.clear();
        scan(&text[region.clone()], &mut found);
        for m in found.drain(..) {
            let m = Match {
                start: m.start + region.start,
                end: m.end + region.start,
                secret_start: m.secret_start + region.start,
                secret_end: m.secret_end + region.start,
                ..m
            };
            let first = cut.piece_at(m.start);
            let last = cut.piece_at(m.end.saturating_sub(1).max(m.start));
            for t in &mut touched[first..=last] {
                *t = true;
            }
            if dirty[first] {
                kept.push(m);
            }
        }
    }
    let clean = (0..cut.pieces.len())
        .filter(|&i| dirty[i] && !touched[i])
        .collect();
    (kept, clean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::RandomState;

    fn seeds() -> (RandomState, RandomState) {
        (RandomState::new(), RandomState::new())
    }

    fn lines(n: usize) -> String {
        (0..n)
            .map(|i| format!("row {i}: metric={} label=orbit-{}\n", i * 7 % 13, i % 5))
            .collect()
    }

    #[test]
    fn an_edit_renames_only_the_pieces_within_reach() {
        let s = seeds();
        let before = lines(2000);
        let after = before.replacen("row 1000: ", "row 1000 (edited): ", 1);
        let (a, b) = (Cut::new(&before, &s, 0), Cut::new(&after, &s, 0));
        // The edited line may add or drop one cut; every other cut stays where it was.
        assert!(a.pieces.len().abs_diff(b.pieces.len()) <= 1);
        let known: std::collections::HashSet<_> = a.pieces.iter().map(|p| p.key).collect();
        let renamed = b.pieces.iter().filter(|p| !known.contains(&p.key)).count();
        assert!(renamed >= 1, "the edited piece is renamed");
        // The edit is seen by the pieces within REACH lines of it, and by no other.
        assert!(renamed <= 2 * REACH + 1, "{renamed} pieces renamed");
        assert!(
            renamed < a.pieces.len() / 4,
            "{renamed} of {}",
            a.pieces.len()
        );
    }

    #[test]
    fn regions_cover_dirty_pieces_with_their_reach_and_matches_outside_them_are_dropped() {
        let s = seeds();
        let text = lines(1500);
        let cut = Cut::new(&text, &s, 0);
        let mut dirty = vec![false; cut.pieces.len()];
        let mid = cut.pieces.len() / 2;
        dirty[mid] = true;
        let regions = cut.regions(&dirty);
        assert_eq!(regions.len(), 1);
        let r = &regions[0];
        assert!(r.start < cut.pieces[mid].bytes.start && r.end > cut.pieces[mid].bytes.end);
        // A scanner that matches every "row N:" label: only those starting in the dirty piece
        // are kept, and every other dirty piece with no match is reported clean.
        let mut scan = |t: &str, out: &mut Vec<Match>| {
            for (i, _) in t.match_indices("row ") {
                out.push(Match {
                    rule: 0,
                    start: i,
                    end: i + 4,
                    secret_start: i,
                    secret_end: i + 4,
                });
            }
        };
        let (kept, clean) = scan_dirty(&text, &cut, &dirty, &mut scan);
        let p = &cut.pieces[mid];
        assert_eq!(kept.len(), p.lines.len());
        assert!(kept.iter().all(|m| p.bytes.contains(&m.start)));
        assert!(kept.iter().all(|m| &text[m.start..m.end] == "row "));
        assert!(clean.is_empty(), "the dirty piece had matches");
    }

    #[test]
    fn pem_blocks_and_short_texts_are_scanned_whole() {
        assert!(!can_cut("x = 1\n"));
        let long = lines(3000);
        assert!(can_cut(&long));
        let with_pem = format!("{long}-----BEGIN PRIVATE KEY-----\n");
        assert!(!can_cut(&with_pem));
    }
}
