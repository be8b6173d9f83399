//! `hearth index PATH…`: index files and folders, with a progress bar on a terminal.

use crate::cli::IndexArgs;
use crate::context::{Context, embedding_spec};
use anyhow::Result;
use hearth_embed::Embedder;
use hearth_ingest::{IndexReport, Indexer, ProgressEvent};
use hearth_store::Index;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn run(ctx: &Context, args: &IndexArgs) -> Result<ExitCode> {
    let embedder = ctx.embedder()?;
    let report = index_paths(&embedder, &ctx.index_dir(), &args.paths)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(ExitCode::SUCCESS)
}

/// Indexes `paths` into the index at `index_dir`, showing progress on stderr.
pub fn index_paths(
    embedder: &Embedder,
    index_dir: &Path,
    paths: &[PathBuf],
) -> Result<IndexReport> {
    let mut index = Index::open_or_create(index_dir, &embedding_spec(embedder))?;
    let bar = ProgressBar::new(0);
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg:<12} [{bar:30}] {bytes}/{total_bytes} {elapsed}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message("reading");
    let mut embedded = 0usize;
    let report = Indexer::new(embedder)?.run(&mut index, paths, &mut |event| match event {
        ProgressEvent::Discovered { bytes, .. } => bar.set_length(bytes),
        ProgressEvent::FileRead { bytes, .. } => bar.inc(bytes),
        ProgressEvent::Embedded { chunks } => {
            embedded += chunks;
            bar.set_message(format!("{embedded} chunks"));
        }
        ProgressEvent::Committed { .. } => {}
    });
    bar.finish_and_clear();
    Ok(report?)
}

pub fn print_report(r: &IndexReport) {
    println!(
        "indexed {} files ({} unsupported skipped): {} documents — {} new, {} changed, {} unchanged; {} chunks in {} segment(s)",
        r.files,
        r.unsupported_files,
        r.documents,
        r.new,
        r.changed,
        r.unchanged,
        r.chunks,
        r.segments
    );
    println!(
        "time: {:.2}s total (read+chunk {:.2}s, embed {:.2}s, write {:.2}s)",
        r.total_secs, r.read_secs, r.embed_secs, r.write_secs
    );
    if !r.failed.is_empty() {
        println!(
            "{} item(s) failed and will be retried next run:",
            r.failed.len()
        );
        for f in &r.failed {
            println!("  {}: {}", f.path.display(), f.reason);
        }
    }
}
