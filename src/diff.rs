//! Which lines of a new document are new: cells are aligned with the old version (by cell id,
//! else by a sequence diff of cell contents with `similar`), each aligned segment is line-diffed
//! with `similar`, and a line that exists anywhere in the old version is never new. So moving a
//! cell, re-executing a notebook with the same output, or re-serialising its JSON adds nothing.
//!
//! What counts as a finding on a new line is decided by the scanner.

use similar::{Algorithm, ChangeTag, DiffOp, TextDiff};
use std::collections::{HashMap, HashSet};

use crate::notebook::{Document, Origin};

/// For each segment of the new document, which of its lines (0-based) are new.
#[derive(Debug, Clone)]
pub struct NewLines {
    per_segment: Vec<Vec<bool>>,
}

impl NewLines {
    pub fn is_new(&self, segment: usize, line: usize) -> bool {
        self.per_segment
            .get(segment)
            .and_then(|s| s.get(line))
            .copied()
            .unwrap_or(false)
    }

    /// Whether any line in `first..=last` of the segment is new.
    pub fn any_new(&self, segment: usize, first: usize, last: usize) -> bool {
        (first..=last).any(|l| self.is_new(segment, l))
    }

    /// Whether the segment has any new line at all (a segment without one cannot hold a finding
    /// worth reporting, so it need not be scanned).
    pub fn any_in_segment(&self, segment: usize) -> bool {
        self.per_segment
            .get(segment)
            .is_some_and(|s| s.iter().any(|&b| b))
    }

    pub fn is_empty(&self) -> bool {
        self.per_segment.iter().all(|s| !s.iter().any(|&b| b))
    }
}

fn norm(line: &str) -> &str {
    line.trim()
}

/// Segments above this size are compared by line membership only: a full line diff of a
/// multi-megabyte output would cost more than it could tell.
const LCS_LIMIT: usize = 1 << 20;

pub fn new_lines(old: &Document, new: &Document) -> NewLines {
    let old_lines: HashSet<&str> = old
        .segments
        .iter()
        .flat_map(|s| s.body.text.lines().map(norm))
        .collect();
    let pairs = align(old, new);
    let per_segment = new
        .segments
        .iter()
        .enumerate()
        .map(|(i, seg)| {
            let lines: Vec<&str> = seg.body.text.lines().collect();
            let mut fresh: Vec<bool> = lines
                .iter()
                .map(|l| !norm(l).is_empty() && !old_lines.contains(norm(l)))
                .collect();
            if let Some(&j) = pairs.get(&i) {
                let before = &old.segments[j].body.text;
                if fresh.iter().any(|&b| b) && before.len() + seg.body.text.len() < LCS_LIMIT {
                    mark_inserted(before, &seg.body.text, &mut fresh);
                }
            }
            fresh
        })
        .collect();
    NewLines { per_segment }
}

/// Keeps only the lines the line diff calls inserted.
fn mark_inserted(old: &str, new: &str, fresh: &mut [bool]) {
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .diff_lines(old, new);
    for change in diff.iter_all_changes() {
        if change.tag() == ChangeTag::Equal {
            if let Some(n) = change.new_index() {
                if let Some(f) = fresh.get_mut(n) {
                    *f = false;
                }
            }
        }
    }
}

/// Identity of a segment within its cell.
fn slot(o: &Origin) -> (Option<crate::finding::Part>, Option<usize>, Option<String>) {
    (o.part, o.output, o.output_kind.clone())
}

/// Maps new segment index → old segment index for segments of aligned cells.
fn align(old: &Document, new: &Document) -> HashMap<usize, usize> {
    let cell_map = align_cells(old, new);
    let mut old_index: HashMap<(Option<usize>, _), usize> = HashMap::new();
    for (j, s) in old.segments.iter().enumerate() {
        old_index
            .entry((s.origin.cell, slot(&s.origin)))
            .or_insert(j);
    }
    let mut out = HashMap::new();
    for (i, s) in new.segments.iter().enumerate() {
        let old_cell = match s.origin.cell {
            Some(c) => match cell_map.get(&c) {
                Some(&oc) => Some(oc),
                None => continue,
            },
            None => None,
        };
        if let Some(&j) = old_index.get(&(old_cell, slot(&s.origin))) {
            out.insert(i, j);
        }
    }
    out
}

/// Maps new cell index → old cell index.
fn align_cells(old: &Document, new: &Document) -> HashMap<usize, usize> {
    let ids = |d: &Document| -> Vec<(usize, Option<String>, u64)> {
        let mut cells: Vec<(usize, Option<String>, u64)> = Vec::new();
        for s in &d.segments {
            let Some(c) = s.origin.cell else { continue };
            if cells.last().map(|x| x.0) != Some(c) {
                cells.push((c, s.origin.cell_id.clone(), 0));
            }
            if s.origin.part == Some(crate::finding::Part::Source) {
                cells.last_mut().expect("pushed above").2 = hash(&s.body.text);
            }
        }
        cells
    };
    let (o, n) = (ids(old), ids(new));
    let mut map = HashMap::new();
    let by_id: HashMap<&str, usize> = o
        .iter()
        .filter_map(|(c, id, _)| id.as_deref().map(|i| (i, *c)))
        .collect();
    if !by_id.is_empty() && n.iter().all(|(_, id, _)| id.is_some()) {
        for (c, id, _) in &n {
            if let Some(&oc) = id.as_deref().and_then(|i| by_id.get(i)) {
                map.insert(*c, oc);
            }
        }
        return map;
    }
    let ok: Vec<u64> = o.iter().map(|x| x.2).collect();
    let nk: Vec<u64> = n.iter().map(|x| x.2).collect();
    for op in similar::capture_diff_slices(Algorithm::Patience, &ok, &nk) {
        match op {
            DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => {
                for k in 0..len {
                    map.insert(n[new_index + k].0, o[old_index + k].0);
                }
            }
            // An edited cell is compared with what stood in its place.
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                for k in 0..old_len.min(new_len) {
                    map.insert(n[new_index + k].0, o[old_index + k].0);
                }
            }
            _ => {}
        }
    }
    map
}

fn hash(s: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lines_absent_from_the_old_text_are_new() {
        let old = Document::plain("a\nb\nc\n".into());
        let new = Document::plain("a\nc\nb\nd\n".into());
        let n = new_lines(&old, &new);
        assert!(!n.is_new(0, 0) && !n.is_new(0, 1) && !n.is_new(0, 2));
        assert!(n.is_new(0, 3));
    }
}
