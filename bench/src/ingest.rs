//! `hearth bench ingest`: indexing figures on a seeded generated corpus. Each run
//! is a separate `hearth index` process (so peak RSS is per run), and the
//! re-runs are printed as a ratio of the first run, their baseline.

use anyhow::{Context as _, Result, bail};
use hearth_app::Hearth;
use hearth_testkit::corpus::{CorpusSpec, change, generate};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// `hearth bench ingest`.
#[derive(Debug, clap::Args)]
pub struct IngestBench {
    /// Generated mails (in mbox files of 1,000).
    #[arg(long, default_value_t = 10_000)]
    pub mails: usize,
    /// Generated Markdown notes.
    #[arg(long, default_value_t = 1_000)]
    pub docs: usize,
    /// Seed of the generated corpus.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Share of the corpus changed before the last run, in percent.
    #[arg(long, default_value_t = 1.0)]
    pub change_percent: f64,
    /// Work here instead of a temporary directory (kept afterwards).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Print the three run summaries as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `hearth bench ingest`.
pub fn run(hearth: &Hearth, args: &IngestBench) -> Result<()> {
    let spec = CorpusSpec {
        mails: args.mails,
        mails_per_mbox: 1_000,
        documents: args.docs,
        seed: args.seed,
    };
    let temp;
    let root = match &args.dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    // Install the model before timing anything (the runs load it themselves).
    hearth.models().ensure(hearth_embed::EMBEDDING_MODEL)?;
    bench_ingest(&root, spec, args.change_percent, args.json)
}

pub(crate) struct Run {
    label: String,
    pub(crate) wall_secs: f64,
    report: Value,
}

/// One `hearth index` process over `corpus` into `data`, timed.
pub(crate) fn index_run(label: &str, data: &Path, corpus: &Path) -> Result<Run> {
    let exe = std::env::current_exe().context("locating the hearth binary")?;
    let start = Instant::now();
    let out = Command::new(exe)
        .arg("--data-dir")
        .arg(data)
        .arg("index")
        .arg(corpus)
        .arg("--json")
        .output()?;
    let wall_secs = start.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!(
            "{label}: hearth index failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let report: Value = serde_json::from_slice(&out.stdout)?;
    Ok(Run {
        label: label.to_owned(),
        wall_secs,
        report,
    })
}

fn bench_ingest(root: &Path, spec: CorpusSpec, percent: f64, as_json: bool) -> Result<()> {
    let corpus = root.join("corpus");
    let data = root.join("data");
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_dir_all(&corpus);
    let t = Instant::now();
    let generated = generate(&corpus, spec)?;
    eprintln!(
        "generated {} mails in {} mbox files and {} notes ({:.1} MB, seed {}) in {:.1}s",
        spec.mails,
        generated.mbox_files.len(),
        generated.documents.len(),
        generated.bytes as f64 / 1e6,
        spec.seed,
        t.elapsed().as_secs_f64()
    );
    let mut runs = vec![index_run("first run", &data, &corpus)?];
    eprintln!("first run done in {:.1}s", runs[0].wall_secs);
    runs.push(index_run("unchanged re-run", &data, &corpus)?);
    let changed = change(&corpus, spec, percent, 1)?;
    runs.push(index_run(
        &format!("{percent}% changed ({changed} items)"),
        &data,
        &corpus,
    )?);
    if as_json {
        let all: Vec<_> = runs
            .iter()
            .map(|r| serde_json::json!({ "run": r.label, "wall_secs": r.wall_secs, "report": r.report }))
            .collect();
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    let f = |r: &Run, k: &str| r.report[k].as_f64().unwrap_or(0.0);
    println!(
        "\n{:<28} {:>9} {:>8} {:>7} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "run",
        "wall s",
        "vs first",
        "files",
        "docs",
        "embedded",
        "discover",
        "read",
        "embed",
        "write",
        "peak RSS"
    );
    let first_wall = runs[0].wall_secs.max(1e-9);
    for r in &runs {
        let read_files = f(r, "files") - f(r, "unchanged_files") - f(r, "deferred_files");
        println!(
            "{:<28} {:>9.2} {:>7.2}% {:>7} {:>8} {:>9} {:>8.2}s {:>8.2}s {:>8.2}s {:>8.2}s {:>7.0}MB",
            r.label,
            r.wall_secs,
            100.0 * r.wall_secs / first_wall,
            read_files,
            f(r, "new") + f(r, "changed"),
            f(r, "embedded"),
            f(r, "discover_secs"),
            f(r, "read_secs"),
            f(r, "embed_secs"),
            f(r, "write_secs"),
            f(r, "peak_rss_bytes") / 1e6
        );
    }
    let first = &runs[0];
    println!(
        "\nfirst run throughput: {:.0} documents/s read+chunk, {:.1} chunks/s embedded, {:.3} MB/s overall ({:.1} MB)",
        f(first, "documents") / f(first, "read_secs").max(1e-9),
        f(first, "embedded") / f(first, "embed_secs").max(1e-9),
        generated.bytes as f64 / 1e6 / first.wall_secs,
        generated.bytes as f64 / 1e6
    );
    println!(
        "unchanged re-run: {:.2}% of the first run (target ≤ 2%); {percent}%-changed re-run: {:.2}%",
        100.0 * runs[1].wall_secs / first_wall,
        100.0 * runs[2].wall_secs / first_wall
    );
    Ok(())
}
