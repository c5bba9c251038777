//! A minimal pack writer for the generator's blobs: full blobs and `OFS_DELTA` entries against
//! the previous version of the same file, with the deltas the generator already knows (it made
//! the edits, so it needs no delta search). Batches are hashed and compressed on all cores, then
//! written in order. `finish` writes the `.pack` and its version-2 `.idx` into `objects/pack/`.
//!
//! Why not `git fast-import` for blobs too: it deltas a blob only against the blob written just
//! before it and compresses on one core, which takes minutes for 20k commits of notebooks.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use rayon::prelude::*;

/// A piece of a new blob: a range of its base, or new bytes.
#[derive(Debug, Clone)]
pub enum Seg {
    Copy { start: usize, len: usize },
    Insert(Vec<u8>),
}

/// Builds the new content from its base and segments.
pub fn apply(base: &[u8], segs: &[Seg]) -> Vec<u8> {
    let mut out = Vec::with_capacity(base.len() + 256);
    for seg in segs {
        match seg {
            Seg::Copy { start, len } => out.extend_from_slice(&base[*start..start + len]),
            Seg::Insert(bytes) => out.extend_from_slice(bytes),
        }
    }
    out
}

/// git's delta format: base size, result size, then copy and insert instructions.
fn encode_delta(base_len: usize, result_len: usize, segs: &[Seg]) -> Vec<u8> {
    fn varint(out: &mut Vec<u8>, mut n: usize) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let mut out = Vec::new();
    varint(&mut out, base_len);
    varint(&mut out, result_len);
    for seg in segs {
        match seg {
            Seg::Copy { start, len } => {
                // Chunks below 64 KiB avoid the "size 0 means 0x10000" special case.
                let (mut start, mut left) = (*start, *len);
                while left > 0 {
                    let n = left.min(0xffff);
                    let mut op = 0x80u8;
                    let mut args = Vec::with_capacity(6);
                    for i in 0..4 {
                        let b = ((start >> (8 * i)) & 0xff) as u8;
                        if b != 0 {
                            op |= 1 << i;
                            args.push(b);
                        }
                    }
                    for i in 0..2 {
                        let b = ((n >> (8 * i)) & 0xff) as u8;
                        if b != 0 {
                            op |= 0x10 << i;
                            args.push(b);
                        }
                    }
                    out.push(op);
                    out.extend_from_slice(&args);
                    start += n;
                    left -= n;
                }
            }
            Seg::Insert(bytes) => {
                for chunk in bytes.chunks(127) {
                    out.push(chunk.len() as u8);
                    out.extend_from_slice(chunk);
                }
            }
        }
    }
    out
}

struct Pending {
    content: Arc<Vec<u8>>,
    /// Base blob index and the delta bytes.
    delta: Option<(usize, Vec<u8>)>,
}

/// Blob index → its id and where its data sits in the pack.
pub struct PackWriter {
    dir: PathBuf,
    tmp: PathBuf,
    out: BufWriter<File>,
    offset: u64,
    pending: Vec<Pending>,
    /// Per blob index: id and offset (of the first copy, for duplicates).
    ids: Vec<gix::ObjectId>,
    offsets: Vec<u64>,
    by_id: HashMap<gix::ObjectId, u64>,
    entries: Vec<(gix::ObjectId, u32, u64)>,
}

const BATCH: usize = 512;

impl PackWriter {
    pub fn new(git_dir: &Path) -> Result<PackWriter> {
        let dir = git_dir.join("objects/pack");
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join("tmp_gen_history.pack");
        // Read back at the end for the checksum, so opened for reading too.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        // The object count is patched in by `finish`.
        out.write_all(b"PACK\0\0\0\x02\0\0\0\0")?;
        Ok(PackWriter {
            dir,
            tmp,
            out,
            offset: 12,
            pending: Vec::new(),
            ids: Vec::new(),
            offsets: Vec::new(),
            by_id: HashMap::new(),
            entries: Vec::new(),
        })
    }

    /// Queues a blob; returns its index.
    pub fn add(
        &mut self,
        content: Arc<Vec<u8>>,
        base: Option<(usize, &[u8], &[Seg])>,
    ) -> Result<usize> {
        let delta =
            base.map(|(index, base, segs)| (index, encode_delta(base.len(), content.len(), segs)));
        self.pending.push(Pending { content, delta });
        let index = self.ids.len() + self.pending.len() - 1;
        if self.pending.len() >= BATCH {
            self.flush()?;
        }
        Ok(index)
    }

    fn flush(&mut self) -> Result<()> {
        let done: Vec<(gix::ObjectId, Vec<u8>)> = self
            .pending
            .par_iter()
            .map(|p| {
                let mut hasher = gix::hash::hasher(gix::hash::Kind::Sha1);
                hasher.update(format!("blob {}\0", p.content.len()).as_bytes());
                hasher.update(&p.content);
                let id = hasher
                    .try_finalize()
                    .expect("SHA-1 of generated data does not collide");
                let data = p
                    .delta
                    .as_ref()
                    .map_or(p.content.as_slice(), |d| d.1.as_slice());
                (id, compress(data))
            })
            .collect();
        for (p, (id, compressed)) in std::mem::take(&mut self.pending).into_iter().zip(done) {
            self.ids.push(id);
            if let Some(&at) = self.by_id.get(&id) {
                self.offsets.push(at);
                continue;
            }
            let start = self.offset;
            let mut head = Vec::with_capacity(24);
            let (kind, size) = match &p.delta {
                Some((_, d)) => (6u8, d.len()),
                None => (3u8, p.content.len()),
            };
            let mut n = size >> 4;
            let mut byte = (kind << 4) | (size & 0x0f) as u8;
            while n > 0 {
                head.push(byte | 0x80);
                byte = (n & 0x7f) as u8;
                n >>= 7;
            }
            head.push(byte);
            if let Some((base, _)) = &p.delta {
                let mut rel = start - self.offsets[*base];
                let mut ofs = vec![(rel & 0x7f) as u8];
                rel >>= 7;
                while rel > 0 {
                    rel -= 1;
                    ofs.push(0x80 | (rel & 0x7f) as u8);
                    rel >>= 7;
                }
                ofs.reverse();
                head.extend_from_slice(&ofs);
            }
            let mut crc = crc32fast::Hasher::new();
            crc.update(&head);
            crc.update(&compressed);
            self.out.write_all(&head)?;
            self.out.write_all(&compressed)?;
            self.offset += (head.len() + compressed.len()) as u64;
            self.by_id.insert(id, start);
            self.offsets.push(start);
            self.entries.push((id, crc.finalize(), start));
        }
        Ok(())
    }

    /// Writes the trailer and the index; returns the pack's path and every blob's id.
    pub fn finish(mut self) -> Result<(PathBuf, Vec<gix::ObjectId>)> {
        self.flush()?;
        self.out.flush()?;
        let mut file = self.out.into_inner().context("flushing the pack")?;
        file.seek(SeekFrom::Start(8))?;
        file.write_all(&(self.entries.len() as u32).to_be_bytes())?;
        file.seek(SeekFrom::Start(0))?;
        let mut hasher = gix::hash::hasher(gix::hash::Kind::Sha1);
        let mut buf = vec![0; 1 << 20];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let checksum = hasher
            .try_finalize()
            .expect("no collision in a pack checksum");
        file.seek(SeekFrom::End(0))?;
        file.write_all(checksum.as_bytes())?;
        drop(file);

        // git finds packs through their index, so the index goes last: once it exists, the
        // pack is complete.
        let name = format!("pack-{checksum}");
        let pack = self.dir.join(format!("{name}.pack"));
        std::fs::rename(&self.tmp, &pack)?;
        write_index(&self.dir, &name, self.entries, checksum)?;
        Ok((pack, self.ids))
    }
}

fn compress(data: &[u8]) -> Vec<u8> {
    let mut w = gix::zlib::stream::deflate::Write::new(
        Vec::with_capacity(data.len() / 3 + 64),
        gix::zlib::Compression::BEST_SPEED,
    );
    w.write_all(data).expect("writing to a Vec cannot fail");
    w.flush().expect("finishing into a Vec cannot fail");
    w.into_inner()
}

/// Pack index version 2: fan-out, sorted ids, CRCs, offsets, checksums.
fn write_index(
    dir: &Path,
    name: &str,
    mut entries: Vec<(gix::ObjectId, u32, u64)>,
    pack_checksum: gix::ObjectId,
) -> Result<PathBuf> {
    entries.sort_unstable_by_key(|e| e.0);
    let mut out = Vec::with_capacity(8 + 1024 + entries.len() * 28 + 40);
    out.extend_from_slice(b"\xfftOc\0\0\0\x02");
    let mut fanout = [0u32; 256];
    for (id, _, _) in &entries {
        fanout[id.as_bytes()[0] as usize] += 1;
    }
    let mut total = 0;
    for count in fanout {
        total += count;
        out.extend_from_slice(&total.to_be_bytes());
    }
    for (id, _, _) in &entries {
        out.extend_from_slice(id.as_bytes());
    }
    for (_, crc, _) in &entries {
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut large = Vec::new();
    for (_, _, offset) in &entries {
        if *offset < 0x8000_0000 {
            out.extend_from_slice(&(*offset as u32).to_be_bytes());
        } else {
            out.extend_from_slice(&(0x8000_0000 | large.len() as u32).to_be_bytes());
            large.push(*offset);
        }
    }
    for offset in large {
        out.extend_from_slice(&offset.to_be_bytes());
    }
    out.extend_from_slice(pack_checksum.as_bytes());
    let mut hasher = gix::hash::hasher(gix::hash::Kind::Sha1);
    hasher.update(&out);
    let checksum = hasher
        .try_finalize()
        .expect("no collision in an index checksum");
    out.extend_from_slice(checksum.as_bytes());
    let path = dir.join(format!("{name}.idx"));
    std::fs::write(&path, out)?;
    Ok(path)
}
