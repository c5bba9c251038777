//! A timing probe for `source::history`, run by hand:
//!
//! ```text
//! cargo run --release --example gen_history -- --out /tmp/h20k --commits 20000
//! cargo run --release --example history_probe -- /tmp/h20k [--notebooks-only] [--attribute 100]
//! /usr/bin/time -v target/release/examples/history_probe /tmp/h20k --skip-git   # peak RSS
//! history_probe /tmp/h5k --skip-git --attribute 20 --show   # blob, path, introducer, refs
//! ```
//!
//! Builds the inventory, reads every unique blob in parallel, and prints counts, bytes and
//! times next to `git cat-file --batch-all-objects --batch` on the same repository, timed in the
//! same run (the baseline the audit must stay within 1.5x of).

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use nbguard::source::history::{Inventory, Options, PathFilter, RefSets, Repo};

fn main() -> Result<()> {
    let mut repo_path = None;
    let mut notebooks_only = false;
    let mut skip_git = false;
    let mut attribute = 0;
    let mut show = false;
    let mut no_read = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--notebooks-only" => notebooks_only = true,
            "--skip-git" => skip_git = true,
            "--show" => show = true,
            "--no-read" => no_read = true,
            "--attribute" => {
                attribute = args
                    .next()
                    .context("--attribute needs a count")?
                    .parse()
                    .context("--attribute needs a number")?;
            }
            other => repo_path = Some(other.to_owned()),
        }
    }
    let Some(repo_path) = repo_path else {
        bail!("usage: history_probe REPO [--notebooks-only] [--skip-git]");
    };

    let started = Instant::now();
    let repo = Repo::open(&repo_path)?;
    let options = Options {
        paths: if notebooks_only {
            PathFilter::notebooks_only()
        } else {
            PathFilter::all()
        },
        ..Options::default()
    };
    let inventory = Inventory::build(&repo, &options)?;
    let inventoried = started.elapsed();
    let stats = inventory.stats();

    let (anon, file) = memory();
    println!(
        "memory after inventory: {:.0} MB anonymous, {:.0} MB file-backed (mapped packs)",
        anon as f64 / 1e6,
        file as f64 / 1e6
    );
    let peak_anon = AtomicU64::new(anon);
    let read_started = Instant::now();
    let bytes = AtomicU64::new(0);
    let count = AtomicU64::new(0);
    let notices = if no_read {
        Vec::new()
    } else {
        inventory
            .read_blobs_parallel(&repo, |_, content| {
                bytes.fetch_add(content.len() as u64, Ordering::Relaxed);
                if count.fetch_add(1, Ordering::Relaxed).is_multiple_of(500) {
                    peak_anon.fetch_max(memory().0, Ordering::Relaxed);
                }
            })
            .0
    };
    let read = read_started.elapsed();
    let total = started.elapsed();

    println!(
        "nbguard: {} tips, {} commits, {} trees read, {} unique blobs, {:.1} MB",
        inventory.tips().len(),
        stats.commits,
        stats.trees_read,
        count.load(Ordering::Relaxed),
        bytes.load(Ordering::Relaxed) as f64 / 1e6
    );
    println!(
        "nbguard: inventory {:.2} s + read {:.2} s = {:.2} s; {} notices ({} from reading)",
        inventoried.as_secs_f64(),
        read.as_secs_f64(),
        total.as_secs_f64(),
        inventory.notices().len(),
        notices.len()
    );
    // Every n-th blob, so that old and new, removed and present ones are all asked about.
    if let Some(step) = inventory.blobs().len().checked_div(attribute) {
        let step = step.max(1);
        let wanted: Vec<_> = inventory
            .blobs()
            .iter()
            .step_by(step)
            .take(attribute)
            .map(|b| b.id)
            .collect();
        let started = Instant::now();
        let mut sets = RefSets::default();
        let found = inventory.attribute(&repo, &wanted, &mut sets)?.blobs;
        let paths: usize = found.iter().map(|a| a.paths.len()).sum();
        if show {
            for a in &found {
                for p in &a.paths {
                    let by = p.introduced_by.as_ref().map_or("-", |c| c.id.as_str());
                    let refs = inventory.refs().names(&a.present_at).join(",");
                    println!("{}\t{}\t{by}\t{refs}", a.blob, p.path);
                }
            }
        }
        let introduced = found
            .iter()
            .flat_map(|a| &a.paths)
            .filter(|p| p.introduced_by.is_some())
            .count();
        let present = found.iter().filter(|a| !a.present_at.is_empty()).count();
        println!(
            "attribution: {} blobs, {paths} paths ({introduced} with an introducing commit), {present} still present somewhere, in {:.2} s",
            found.len(),
            started.elapsed().as_secs_f64()
        );
    }
    let (_, file) = memory();
    println!(
        "memory while reading: peak {:.0} MB anonymous (sampled), {:.0} MB file-backed at the end",
        peak_anon.load(Ordering::Relaxed) as f64 / 1e6,
        file as f64 / 1e6
    );
    if skip_git {
        return Ok(());
    }

    let git_started = Instant::now();
    let mut child = Command::new("git")
        .args([
            "-C",
            &repo_path,
            "cat-file",
            "--batch-all-objects",
            "--batch",
        ])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdout(Stdio::piped())
        .spawn()
        .context("running git cat-file")?;
    let mut stdout = child.stdout.take().context("git has a stdout")?;
    let mut buf = vec![0; 1 << 20];
    let mut git_bytes = 0u64;
    loop {
        let n = stdout.read(&mut buf)?;
        if n == 0 {
            break;
        }
        git_bytes += n as u64;
    }
    if !child.wait()?.success() {
        bail!("git cat-file failed");
    }
    let git = git_started.elapsed();
    println!(
        "git cat-file --batch-all-objects --batch: {:.1} MB (all objects) in {:.2} s",
        git_bytes as f64 / 1e6,
        git.as_secs_f64()
    );
    println!(
        "ratio nbguard / git: {:.2}",
        total.as_secs_f64() / git.as_secs_f64()
    );
    Ok(())
}

/// Current (anonymous, file-backed) resident bytes, from /proc on Linux; zeros elsewhere.
/// Mapped pack files count as file-backed: clean page cache the kernel can drop at will.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (field("RssAnon:"), field("RssFile:"))
}
