//! `hearth index [PATH…]`: bring the index up to date, with a progress bar on a
//! terminal and a summary (or `--json` run summary) at the end.

use crate::cli::IndexArgs;
use crate::context::{Context, embedding_spec, index_dir, ingest_db, lock_path};
use anyhow::{Result, bail};
use hearth_embed::Embedder;
use hearth_ingest::{IndexReport, Indexer, IngestState, ProgressEvent, Source, WriterLock};
use hearth_store::Index;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn run(ctx: &Context, args: &IndexArgs) -> Result<ExitCode> {
    let embedder = ctx.embedder()?;
    let report = index_sources(&embedder, &ctx.data_dir, &args.paths, args.commit_chunks)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(ExitCode::SUCCESS)
}

/// Indexes the sources for `paths` (adding new paths as sources), or every
/// source when `paths` is empty, into the index under `data_dir`.
pub fn index_sources(
    embedder: &Embedder,
    data_dir: &Path,
    paths: &[PathBuf],
    commit_chunks: usize,
) -> Result<IndexReport> {
    let _lock = WriterLock::acquire(&lock_path(data_dir))?;
    let mut state = IngestState::open(&ingest_db(data_dir))?;
    let sources = resolve_sources(&state, paths)?;
    let mut index = Index::open_or_create(&index_dir(data_dir), &embedding_spec(embedder))?;
    let run_id = state.begin_run()?;
    let bar = progress_bar();
    let mut embedded = 0usize;
    let indexer = Indexer::new(embedder)?.with_commit_chunks(commit_chunks);
    let result = indexer.run(&mut index, &mut state, &sources, &mut |event| match event {
        ProgressEvent::Discovered { bytes, .. } => bar.inc_length(bytes),
        ProgressEvent::FileRead { bytes, .. } => bar.inc(bytes),
        ProgressEvent::Embedded { chunks } => {
            embedded += chunks;
            bar.set_message(format!("{embedded} chunks embedded"));
        }
        ProgressEvent::Committed { .. } => {}
    });
    bar.finish_and_clear();
    match &result {
        Ok(report) => state.finish_run(run_id, "ok", &serde_json::to_string(report)?)?,
        Err(err) => state.finish_run(run_id, &format!("failed: {err}"), "{}")?,
    }
    Ok(result?)
}

fn resolve_sources(state: &IngestState, paths: &[PathBuf]) -> Result<Vec<Source>> {
    if paths.is_empty() {
        let sources = state.sources()?;
        if sources.is_empty() {
            bail!(
                "no sources configured: run `hearth source add auto PATH` or `hearth index PATH`"
            );
        }
        return Ok(sources);
    }
    let known = state.sources()?;
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let canonical =
            std::fs::canonicalize(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        match known.iter().find(|s| s.path == canonical) {
            Some(source) => out.push(source.clone()),
            None => out.push(state.add_source(None, "auto", &canonical)?),
        }
    }
    Ok(out)
}

fn progress_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} reading [{bar:30}] {bytes}/{total_bytes}  {msg}  {elapsed}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

pub fn print_report(r: &IndexReport) {
    println!(
        "{} source(s), {} files ({} unchanged, {} deleted, {} waiting to retry, {} unsupported)",
        r.sources,
        r.files,
        r.unchanged_files,
        r.deleted_files,
        r.deferred_files,
        r.unsupported_files
    );
    println!(
        "documents: {} new, {} changed, {} unchanged, {} deleted; {} chunks written in {} segment(s)",
        r.new, r.changed, r.unchanged, r.deleted, r.chunks, r.segments
    );
    let rss = r
        .peak_rss_bytes
        .map(|b| format!(", peak RSS {:.0} MB", b as f64 / 1e6))
        .unwrap_or_default();
    println!(
        "time: {:.2}s total (discover {:.2}s, read+chunk {:.2}s, embed {:.2}s, write {:.2}s){rss}",
        r.total_secs, r.discover_secs, r.read_secs, r.embed_secs, r.write_secs
    );
    for name in &r.missing_sources {
        println!("source `{name}`: path is missing; its documents are kept");
    }
    if !r.failed.is_empty() {
        println!("{} item(s) failed and will be retried:", r.failed.len());
        for f in &r.failed {
            println!("  {} [{}]: {}", f.path.display(), f.position, f.reason);
        }
    }
}
