//! Generates a synthetic, notebook-heavy git history for benchmarks and tests.
//!
//! ```text
//! cargo run --release --example gen_history -- --out /tmp/h20k --commits 20000 \
//!     [--branches 4] [--tags 20] [--pull-refs 0] [--seed 1] [--corpus ../shared/corpus/notebooks]
//! ```
//!
//! Real notebooks from the corpus (only read, never modified) are added, edited (a line
//! inserted into a cell), re-executed (new execution counts), moved, deleted, on a main line
//! and on side branches that fork, merge back with `--no-ff` style merge commits, and sometimes
//! stay unmerged. Annotated and lightweight tags mark main-line commits. A few plain files
//! (README, scripts) keep it from being notebooks only. `--pull-refs N` adds `refs/pull/<n>/head`
//! refs as a GitHub mirror has them: each names a commit of the history (side-branch work
//! first, then main-line commits), so thousands of refs come with no new content.
//!
//! Blobs go straight into a pack written here (`pack.rs`), each edit stored as a delta against the
//! file's previous version, as `git gc` would store it. Trees and commits are then written by
//! one `git fast-import` process that refers to those blobs by id. Tens of thousands of commits
//! take seconds, not the minutes a `git` process per commit (or fast-import for the blobs)
//! would. The result is a bare repository. The same seed gives the same repository.

mod pack;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;

use pack::{apply, PackWriter, Seg};

#[derive(Parser)]
#[command(about = "Generate a synthetic notebook-heavy git history")]
struct Args {
    /// Where to create the (bare) repository; must not exist or be empty.
    #[arg(long)]
    out: PathBuf,
    /// Number of commits, merges included.
    #[arg(long)]
    commits: usize,
    /// Side branches alive at any time.
    #[arg(long, default_value_t = 4)]
    branches: usize,
    /// Annotated tags (as many lightweight ones again are added, rounded down).
    #[arg(long, default_value_t = 20)]
    tags: usize,
    /// `refs/pull/<n>/head` refs pointing at commits of the history (no new content).
    #[arg(long, default_value_t = 0)]
    pull_refs: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Directory of real notebooks to draw from (read only).
    #[arg(long, default_value = "../shared/corpus/notebooks")]
    corpus: PathBuf,
    /// Write the fast-import stream to this file instead of running `git fast-import`
    /// (for debugging the generator).
    #[arg(long, hide = true)]
    stream_to: Option<PathBuf>,
}

/// splitmix64: tiny, deterministic, good enough for choosing things.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

#[derive(Clone)]
struct File {
    /// Index of the blob in the pack writer.
    blob: usize,
    content: Arc<Vec<u8>>,
    /// Length of the delta chain behind this blob; git keeps chains at most 50 long.
    depth: u8,
}

const MAX_DEPTH: u8 = 50;

/// A commit to be written once all blobs have ids.
struct PlannedCommit {
    reference: String,
    mark: u64,
    parents: Vec<u64>,
    author: usize,
    time: i64,
    message: String,
    changes: Vec<(String, Option<usize>)>,
}

#[derive(Clone)]
struct Branch {
    name: String,
    head: Option<u64>,
    files: BTreeMap<String, File>,
    /// Paths changed since the fork (or last merge); on merge, these win over main's version.
    touched: BTreeSet<String>,
    commits: usize,
}

const AUTHORS: [(&str, &str); 5] = [
    ("Ada Lovelace", "ada@example.com"),
    ("Grace Hopper", "grace@example.com"),
    ("Alan Turing", "alan@example.com"),
    ("Katherine Johnson", "kj@example.com"),
    ("Edsger Dijkstra", "ewd@example.com"),
];

const TOP_DIRS: [&str; 4] = ["notebooks", "experiments", "course", "analysis"];

struct Generator {
    rng: Rng,
    pack: PackWriter,
    commits: Vec<PlannedCommit>,
    corpus: Vec<PathBuf>,
    next_mark: u64,
    time: i64,
    serial: u64,
    blob_bytes: u64,
    blobs: u64,
}

impl Generator {
    fn mark(&mut self) -> u64 {
        self.next_mark += 1;
        self.next_mark
    }

    fn blob(&mut self, content: Vec<u8>) -> Result<File> {
        self.blob_bytes += content.len() as u64;
        self.blobs += 1;
        let content = Arc::new(content);
        let blob = self.pack.add(content.clone(), None)?;
        Ok(File {
            blob,
            content,
            depth: 0,
        })
    }

    /// A new version of `base` made of `segs`, stored as a delta unless the chain is too long.
    fn edited(&mut self, base: &File, segs: Vec<Seg>) -> Result<File> {
        let content = apply(&base.content, &segs);
        if base.depth >= MAX_DEPTH {
            return self.blob(content);
        }
        self.blob_bytes += content.len() as u64;
        self.blobs += 1;
        let content = Arc::new(content);
        let blob = self
            .pack
            .add(content.clone(), Some((base.blob, &base.content, &segs)))?;
        Ok(File {
            blob,
            content,
            depth: base.depth + 1,
        })
    }

    fn corpus_notebook(&mut self) -> Result<(String, Vec<u8>)> {
        let path = &self.corpus[self.rng.below(self.corpus.len())];
        let content = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "nb".to_owned());
        let parent = path
            .parent()
            .and_then(|p| p.file_name())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.serial += 1;
        let top = TOP_DIRS[self.rng.below(TOP_DIRS.len())];
        Ok((
            format!("{top}/{parent}/{stem}-{}.ipynb", self.serial),
            content,
        ))
    }

    /// One ordinary commit on `branch`: a few changes of random kinds.
    fn change(&mut self, branch: &mut Branch) -> Result<Vec<(String, Option<File>)>> {
        let mut changes: Vec<(String, Option<File>)> = Vec::new();
        let n = 1 + usize::from(self.rng.chance(25)) + usize::from(self.rng.chance(10));
        for _ in 0..n {
            // One change per path and commit, so that every blob written is used.
            let live: Vec<String> = branch
                .files
                .keys()
                .filter(|p| p.ends_with(".ipynb") && !changes.iter().any(|(c, _)| c == *p))
                .cloned()
                .collect();
            let roll = self.rng.below(100);
            if live.len() < 8 || roll < 12 {
                let (path, content) = self.corpus_notebook()?;
                changes.push((path, Some(self.blob(content)?)));
            } else if roll < 55 {
                let path = live[self.rng.below(live.len())].clone();
                let base = branch.files[&path].clone();
                let segs = edit_cell(&base.content, &mut self.rng, self.serial);
                self.serial += 1;
                changes.push((path, Some(self.edited(&base, segs)?)));
            } else if roll < 88 {
                let path = live[self.rng.below(live.len())].clone();
                let base = branch.files[&path].clone();
                let segs = reexecute(&base.content, &mut self.rng);
                changes.push((path, Some(self.edited(&base, segs)?)));
            } else if roll < 93 {
                let path = live[self.rng.below(live.len())].clone();
                changes.push((path, None));
            } else if roll < 96 {
                // A move: same content under a new name, so the blob keeps its id.
                let path = live[self.rng.below(live.len())].clone();
                let file = branch.files[&path].clone();
                self.serial += 1;
                let moved = path.replacen(".ipynb", &format!("-moved{}.ipynb", self.serial), 1);
                changes.push((path, None));
                changes.push((moved, Some(file)));
            } else {
                self.serial += 1;
                let (path, text) = if self.rng.chance(50) {
                    // Plain files are small: stored whole.
                    (
                        "README.md".to_owned(),
                        format!("# Project\n\nRevision {}.\n", self.serial),
                    )
                } else {
                    (
                        format!("scripts/task_{}.py", self.rng.below(20)),
                        format!("def run():\n    return {}\n", self.serial),
                    )
                };
                changes.push((path, Some(self.blob(text.into_bytes())?)));
            }
        }
        for (path, file) in &changes {
            match file {
                Some(f) => branch.files.insert(path.clone(), f.clone()),
                None => branch.files.remove(path),
            };
            branch.touched.insert(path.clone());
        }
        Ok(changes)
    }

    fn commit(
        &mut self,
        reference: &str,
        parents: &[u64],
        message: &str,
        changes: &[(String, Option<File>)],
    ) -> u64 {
        let mark = self.mark();
        self.time += 60 + self.rng.below(3600) as i64;
        let author = self.rng.below(AUTHORS.len());
        self.commits.push(PlannedCommit {
            reference: reference.to_owned(),
            mark,
            parents: parents.to_vec(),
            author,
            time: self.time,
            message: message.to_owned(),
            changes: changes
                .iter()
                .map(|(p, f)| (p.clone(), f.as_ref().map(|f| f.blob)))
                .collect(),
        });
        mark
    }
}

/// The fast-import stream for the planned commits, refs and tags; blobs by id.
fn write_stream(
    out: &mut dyn Write,
    commits: &[PlannedCommit],
    ids: &[gix::ObjectId],
    kept: &[(String, u64)],
    tags: &[(u64, bool)],
    tag_time: i64,
) -> Result<()> {
    for c in commits {
        let (name, email) = AUTHORS[c.author];
        write!(
            out,
            "commit {}\nmark :{}\nauthor {name} <{email}> {t} +0000\ncommitter {name} <{email}> {t} +0000\ndata {}\n{}\n",
            c.reference,
            c.mark,
            c.message.len() + 1,
            c.message,
            t = c.time,
        )?;
        if let Some(first) = c.parents.first() {
            writeln!(out, "from :{first}")?;
        }
        for merged in c.parents.iter().skip(1) {
            writeln!(out, "merge :{merged}")?;
        }
        for (path, blob) in &c.changes {
            match blob {
                Some(b) => writeln!(out, "M 100644 {} {}", ids[*b], quote(path))?,
                None => writeln!(out, "D {}", quote(path))?,
            }
        }
        writeln!(out)?;
    }
    for (name, mark) in kept {
        write!(out, "reset {name}\nfrom :{mark}\n\n")?;
    }
    for (i, (mark, annotated)) in tags.iter().enumerate() {
        if *annotated {
            let msg = format!("Release {i}");
            write!(
                out,
                "tag v{i}\nfrom :{mark}\ntagger Release Bot <release@example.com> {tag_time} +0000\ndata {}\n{msg}\n\n",
                msg.len() + 1
            )?;
        } else {
            write!(out, "reset refs/tags/light-{i}\nfrom :{mark}\n\n")?;
        }
    }
    writeln!(out, "done")?;
    Ok(())
}

/// fast-import paths need quoting only for unusual characters; the corpus has spaces at most.
fn quote(path: &str) -> String {
    if path.contains(['"', '\n', '\\']) || path.starts_with(' ') {
        format!("{:?}", path)
    } else {
        path.to_owned()
    }
}

/// Inserts a new first line into one cell's source.
fn edit_cell(content: &[u8], rng: &mut Rng, serial: u64) -> Vec<Seg> {
    let needle = b"\"source\": [";
    let hits: Vec<usize> = memchr::memmem::find_iter(content, needle).collect();
    if hits.is_empty() {
        return reexecute(content, rng);
    }
    let at = hits[rng.below(hits.len())] + needle.len();
    let empty = content[at..]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b']');
    let line = format!(
        "\"# revision {serial}: tweak parameter {}\\n\"{}",
        rng.below(1000),
        if empty { "" } else { "," }
    );
    vec![
        Seg::Copy { start: 0, len: at },
        Seg::Insert(line.into_bytes()),
        Seg::Copy {
            start: at,
            len: content.len() - at,
        },
    ]
}

/// Renumbers every execution count, as running the notebook again would.
fn reexecute(content: &[u8], rng: &mut Rng) -> Vec<Seg> {
    let needle = b"\"execution_count\": ";
    let first = 1 + rng.below(50);
    let mut segs = Vec::new();
    let mut done = 0;
    for (counter, i) in (first..).zip(memchr::memmem::find_iter(content, needle)) {
        let value = i + needle.len();
        let value_len = content[value..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        segs.push(Seg::Copy {
            start: done,
            len: value - done,
        });
        segs.push(Seg::Insert(counter.to_string().into_bytes()));
        done = value + value_len;
    }
    if segs.is_empty() {
        // No code cells: touch the metadata instead so that the content still changes.
        let meta = b"\"metadata\": {";
        if let Some(i) = memchr::memmem::find(content, meta) {
            let at = i + meta.len();
            segs.push(Seg::Copy { start: 0, len: at });
            segs.push(Seg::Insert(
                format!("\"run\": {},", rng.next() % 100_000).into_bytes(),
            ));
            done = at;
        }
    }
    segs.push(Seg::Copy {
        start: done,
        len: content.len() - done,
    });
    segs
}

fn list_corpus(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("listing {}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "ipynb") {
                found.push(path);
            }
        }
    }
    found.sort();
    if found.is_empty() {
        bail!("no notebooks under {}", dir.display());
    }
    Ok(found)
}

fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null");
    cmd
}

fn main() -> Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    if args.out.exists() && std::fs::read_dir(&args.out)?.next().is_some() {
        bail!("{} exists and is not empty", args.out.display());
    }
    std::fs::create_dir_all(&args.out)?;
    let status = git(&args.out)
        .args(["init", "-q", "--bare", "-b", "main", "."])
        .status()?;
    if !status.success() {
        bail!("git init failed");
    }
    let corpus = list_corpus(&args.corpus)?;

    // 1. Plan the history, writing blobs to the pack as they are made.
    let mut g = Generator {
        rng: Rng(args.seed),
        pack: PackWriter::new(&args.out)?,
        commits: Vec::new(),
        corpus,
        next_mark: 0,
        time: 1_600_000_000,
        serial: 0,
        blob_bytes: 0,
        blobs: 0,
    };
    let (mut kept, tags) = generate(&mut g, &args)?;
    kept.extend(pull_refs(&g.commits, args.pull_refs));
    let Generator {
        pack,
        commits,
        time,
        blobs,
        blob_bytes,
        ..
    } = g;
    let (pack_path, ids) = pack.finish()?;
    let blobs_done = started.elapsed();

    // 2. Trees, commits, refs and tags through fast-import.
    let mut stream: Box<dyn Write> = match &args.stream_to {
        Some(file) => Box::new(BufWriter::new(std::fs::File::create(file)?)),
        None => Box::new(std::io::sink()),
    };
    let mut child = None;
    if args.stream_to.is_none() {
        let mut c = git(&args.out)
            .args(["fast-import", "--quiet", "--done"])
            .stdin(Stdio::piped())
            .spawn()
            .context("starting git fast-import")?;
        let stdin = c.stdin.take().context("fast-import has a stdin")?;
        stream = Box::new(BufWriter::with_capacity(1 << 20, stdin));
        child = Some(c);
    }
    write_stream(&mut *stream, &commits, &ids, &kept, &tags, time)?;
    stream.flush()?;
    drop(stream);
    if let Some(mut child) = child {
        if !child.wait()?.success() {
            bail!("git fast-import failed");
        }
        // Side-branch commits went to a scratch ref; the branches worth keeping were reset.
        let status = git(&args.out)
            .args(["update-ref", "-d", SCRATCH])
            .status()?;
        if !status.success() {
            bail!("removing the scratch ref failed");
        }
    }
    let pack_size = std::fs::metadata(&pack_path)?.len();
    println!(
        "{}: {} commits, {} blobs ({:.1} MB, packed {:.1} MB in {:.1} s), {} branch and pull refs, {} tags, in {:.1} s",
        args.out.display(),
        commits.len(),
        blobs,
        blob_bytes as f64 / 1e6,
        pack_size as f64 / 1e6,
        blobs_done.as_secs_f64(),
        kept.len() + 1,
        tags.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

const SCRATCH: &str = "refs/heads/gen-scratch";

/// `n` pull-request refs over the planned commits: side-branch commits first (what pull
/// requests mostly are), then main-line ones, cycling when there are more refs than commits.
fn pull_refs(commits: &[PlannedCommit], n: usize) -> Vec<(String, u64)> {
    let mut marks: Vec<u64> = commits
        .iter()
        .filter(|c| c.reference == SCRATCH)
        .map(|c| c.mark)
        .collect();
    marks.extend(
        commits
            .iter()
            .filter(|c| c.reference != SCRATCH)
            .map(|c| c.mark),
    );
    if marks.is_empty() {
        return Vec::new();
    }
    (0..n)
        .map(|i| {
            // Spread over history rather than the first n commits.
            let at = (i * 7919) % marks.len();
            (format!("refs/pull/{}/head", i + 1), marks[at])
        })
        .collect()
}

/// Branches to keep (name, commit mark) and tags to make (commit mark, annotated?).
type Refs = (Vec<(String, u64)>, Vec<(u64, bool)>);

/// Plans the commits (writing their blobs); returns the refs to make.
fn generate(g: &mut Generator, args: &Args) -> Result<Refs> {
    let mut main = Branch {
        name: "refs/heads/main".to_owned(),
        head: None,
        files: BTreeMap::new(),
        touched: BTreeSet::new(),
        commits: 0,
    };
    let mut sides: Vec<Branch> = Vec::new();
    let mut kept = Vec::new();
    let mut main_marks = Vec::new();
    let mut branch_serial = 0;
    let mut made = 0;

    while made < args.commits {
        // Keep the wanted number of side branches alive, forking from main.
        if sides.len() < args.branches && main.head.is_some() && g.rng.chance(10) {
            branch_serial += 1;
            sides.push(Branch {
                name: format!("refs/heads/feature/{branch_serial}"),
                head: main.head,
                files: main.files.clone(),
                touched: BTreeSet::new(),
                commits: 0,
            });
        }
        let on_side = !sides.is_empty() && g.rng.chance(40);
        if on_side {
            let i = g.rng.below(sides.len());
            let ready_to_merge = sides[i].commits >= 3 && g.rng.chance(15);
            if ready_to_merge && made + 1 < args.commits {
                let side = sides.swap_remove(i);
                merge(g, &mut main, &side)?;
                main_marks.push(main.head.expect("a merge commit was just written"));
                made += 1;
                // Most merged branches are deleted; some linger as refs.
                if g.rng.chance(20) {
                    kept.push((
                        side.name.clone(),
                        side.head.expect("merged sides have commits"),
                    ));
                }
                continue;
            }
            let mut side = sides.swap_remove(i);
            let changes = g.change(&mut side)?;
            let msg = format!("{}: work item {made}", short(&side.name));
            let parents: Vec<u64> = side.head.into_iter().collect();
            side.head = Some(g.commit(SCRATCH, &parents, &msg, &changes));
            side.commits += 1;
            sides.push(side);
        } else {
            let changes = g.change(&mut main)?;
            main.touched.clear();
            let parents: Vec<u64> = main.head.into_iter().collect();
            let msg = format!("Update notebooks ({made})");
            main.head = Some(g.commit(&main.name, &parents, &msg, &changes));
            main_marks.push(main.head.expect("just written"));
        }
        made += 1;
    }
    // Unmerged side branches stay: history only they hold.
    for side in &sides {
        if let Some(head) = side.head {
            if side.commits > 0 {
                kept.push((side.name.clone(), head));
            }
        }
    }
    let mut tags = Vec::new();
    let total_tags = args.tags + args.tags / 2;
    for i in 0..total_tags {
        if main_marks.is_empty() {
            break;
        }
        let at = main_marks[(i + 1) * main_marks.len() / (total_tags + 1)];
        tags.push((at, i < args.tags));
    }
    Ok((kept, tags))
}

fn short(name: &str) -> &str {
    name.trim_start_matches("refs/heads/")
}

/// A merge commit on main: main's tree with the side's changes on top (theirs wins).
fn merge(g: &mut Generator, main: &mut Branch, side: &Branch) -> Result<()> {
    let mut changes = Vec::new();
    for path in &side.touched {
        let theirs = side.files.get(path);
        let ours = main.files.get(path);
        let same = match (theirs, ours) {
            (Some(t), Some(o)) => t.blob == o.blob,
            (None, None) => true,
            _ => false,
        };
        if !same {
            changes.push((path.clone(), theirs.cloned()));
        }
    }
    for (path, file) in &changes {
        match file {
            Some(f) => main.files.insert(path.clone(), f.clone()),
            None => main.files.remove(path),
        };
    }
    let parents: Vec<u64> = main.head.into_iter().chain(side.head).collect();
    let msg = format!("Merge branch '{}'", short(&side.name));
    main.head = Some(g.commit(&main.name.clone(), &parents, &msg, &changes));
    Ok(())
}
