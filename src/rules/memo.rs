//! A memo of match results by segment text, for scans that see the same text again and again:
//! the history audit reads every version of every notebook, and between two versions almost every
//! cell source and output is unchanged. Matching is a pure function of the text, so a repeated
//! segment costs a hash instead of a scan.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};

use super::{pieces, Match};
use crate::filekind::Context;

/// Segments shorter than this are cheaper to scan than to hash and look up.
const MIN_LEN: usize = 256;
/// Past this many entries the memo starts over, which bounds its memory.
const MAX_ENTRIES: usize = 1 << 20;
/// The same for clean cells (32 bytes each) and clean pieces (16 bytes each).
const MAX_CELLS: usize = 1 << 20;
const MAX_PIECES: usize = 1 << 20;

/// A poisoned lock only means another thread panicked mid-insert; the content is still a valid
/// cache.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Two independent 64-bit hashes of a text, its length, and how it is scanned.
type Key = (u64, u64, usize, Context);
type Table = HashMap<Key, Arc<Vec<Match>>>;

/// A notebook cell's raw JSON, as two independent 64-bit hashes, its length, and whether it is
/// an nbformat 3 cell (decoded differently).
type CellKey = (u64, u64, usize, bool);

/// Shared between scanning threads; lock contention is negligible next to a scan.
#[derive(Default)]
pub struct Memo {
    map: Mutex<Table>,
    /// Cells whose every segment was scanned and had no match at all: the same bytes in another
    /// version of the notebook need not even be decoded.
    clean_cells: Mutex<HashSet<CellKey>>,
    /// Pieces of long texts (see `pieces`) scanned with no match in them, by name.
    clean_pieces: Mutex<HashSet<(u64, u64)>>,
    /// Whether long texts are scanned a changed piece at a time.
    pieces: bool,
    /// Keyed at random per process, so that no content can be made to collide with another on
    /// purpose, and fast enough to name every line of gigabytes of history (SipHash was a tenth
    /// of the audit's time); two independent keys give 128 bits.
    seeds: (ahash::RandomState, ahash::RandomState),
}

impl Memo {
    /// A memo that also scans long texts met again only where they changed.
    pub fn with_pieces() -> Self {
        Memo {
            pieces: true,
            ..Memo::default()
        }
    }

    /// The key: two independent 64-bit hashes and the length, so that a collision would need
    /// two simultaneous 64-bit collisions between texts of equal length.
    fn key(&self, text: &str, ctx: Context) -> Key {
        let mut a = self.seeds.0.build_hasher();
        let mut b = self.seeds.1.build_hasher();
        a.write(text.as_bytes());
        b.write(text.as_bytes());
        (a.finish(), b.finish(), text.len(), ctx)
    }

    /// Matches of `text`, from the memo or computed by `scan` and remembered.
    pub fn get_or_scan(
        &self,
        text: &str,
        ctx: Context,
        out: &mut Vec<Match>,
        mut scan: impl FnMut(&str, &mut Vec<Match>),
    ) {
        if text.len() < MIN_LEN {
            scan(text, out);
            return;
        }
        let key = self.key(text, ctx);
        if let Some(hit) = self.lock().get(&key).cloned() {
            out.extend(hit.iter().cloned());
            return;
        }
        let before = out.len();
        if self.pieces && pieces::can_cut(text) {
            self.scan_changed_pieces(text, ctx, out, scan);
        } else {
            scan(text, out);
        }
        let found = Arc::new(out[before..].to_vec());
        let mut map = self.lock();
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, found);
    }

    /// Scans only the pieces of `text` that were never seen clean (with the lines around them),
    /// and remembers the pieces that are clean now.
    fn scan_changed_pieces(
        &self,
        text: &str,
        ctx: Context,
        out: &mut Vec<Match>,
        mut scan: impl FnMut(&str, &mut Vec<Match>),
    ) {
        let tag = {
            let mut h = std::hash::DefaultHasher::new();
            std::hash::Hash::hash(&ctx, &mut h);
            h.finish()
        };
        let cut = pieces::Cut::new(text, &self.seeds, tag);
        let dirty: Vec<bool> = {
            let clean = lock(&self.clean_pieces);
            cut.pieces.iter().map(|p| !clean.contains(&p.key)).collect()
        };
        if !dirty.contains(&true) {
            return;
        }
        let (found, clean) = pieces::scan_dirty(text, &cut, &dirty, &mut scan);
        out.extend(found);
        let mut set = lock(&self.clean_pieces);
        if set.len() + clean.len() > MAX_PIECES {
            set.clear();
        }
        set.extend(clean.into_iter().map(|i| cut.pieces[i].key));
    }

    fn cell_key(&self, raw_cell: &str, v3: bool) -> CellKey {
        let (a, b, len, _) = self.key(raw_cell, Context::default());
        (a, b, len, v3)
    }

    /// Whether this exact cell (raw JSON) was scanned before and had no match. Small cells are
    /// not remembered: decoding them costs less than the lookup.
    pub fn cell_is_clean(&self, raw_cell: &str, v3: bool) -> bool {
        raw_cell.len() >= MIN_LEN && {
            let key = self.cell_key(raw_cell, v3);
            lock(&self.clean_cells).contains(&key)
        }
    }

    /// Remembers a cell that was decoded, scanned whole and had no match.
    pub fn mark_clean(&self, raw_cell: &str, v3: bool) {
        if raw_cell.len() < MIN_LEN {
            return;
        }
        let key = self.cell_key(raw_cell, v3);
        let mut set = lock(&self.clean_cells);
        if set.len() >= MAX_CELLS {
            set.clear();
        }
        set.insert(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // A poisoned memo only means another thread panicked mid-insert; its content is still a
        // valid cache.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}
