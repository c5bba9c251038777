//! A memo of match results by segment text, for scans that see the same text again and again:
//! the history audit reads every version of every notebook, and between two versions almost every
//! cell source and output is unchanged. Matching is a pure function of the text, so a repeated
//! segment costs a hash instead of a scan.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};

use super::Match;
use crate::filekind::Context;

/// Segments shorter than this are cheaper to scan than to hash and look up.
const MIN_LEN: usize = 256;
/// Past this many entries the memo starts over, which bounds its memory.
const MAX_ENTRIES: usize = 1 << 20;

/// Two independent 64-bit hashes of a text, its length, and how it is scanned.
type Key = (u64, u64, usize, Context);
type Table = HashMap<Key, Arc<Vec<Match>>>;

/// Shared between scanning threads; lock contention is negligible next to a scan.
#[derive(Default)]
pub struct Memo {
    map: Mutex<Table>,
    seeds: (
        std::collections::hash_map::RandomState,
        std::collections::hash_map::RandomState,
    ),
}

impl Memo {
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
        scan: impl FnOnce(&str, &mut Vec<Match>),
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
        scan(text, out);
        let found = Arc::new(out[before..].to_vec());
        let mut map = self.lock();
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, found);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // A poisoned memo only means another thread panicked mid-insert; its content is still a
        // valid cache.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}
