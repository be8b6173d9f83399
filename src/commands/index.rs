//! `hearth index [PATH…]`: bring the index up to date, with a progress bar on a
//! terminal and a summary (or `--json` run summary) at the end.

use crate::cli::IndexArgs;
use crate::context::{Context, embedding_spec, index_dir, ingest_db, lock_path};
use anyhow::{Result, bail};
use hearth_embed::Embedder;
use hearth_ingest::{IndexReport, Indexer, IngestState, ProgressEvent, Source, WriterLock};
use hearth_store::codec::CodecSpec;
use hearth_store::{CompactionPolicy, Index};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

pub fn run(ctx: &Context, args: &IndexArgs) -> Result<ExitCode> {
    let embedder = ctx.embedder()?;
    let report = index_sources(
        &embedder,
        &ctx.data_dir,
        &args.paths,
        args.commit_chunks,
        ctx.codec.as_ref(),
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(ExitCode::SUCCESS)
}

/// Indexes the sources for `paths` (adding new paths as sources), or every
/// source when `paths` is empty, into the index under `data_dir`; switches the
/// index to `codec` when given, and compacts afterwards when the default
/// [`CompactionPolicy`] says the index has too many segments or dead rows.
pub fn index_sources(
    embedder: &Arc<Embedder>,
    data_dir: &Path,
    paths: &[PathBuf],
    commit_chunks: usize,
    codec: Option<&CodecSpec>,
) -> Result<IndexReport> {
    let _lock = WriterLock::acquire(&lock_path(data_dir))?;
    let mut state = IngestState::open(&ingest_db(data_dir))?;
    let sources = resolve_sources(&state, paths)?;
    let mut index = Index::open_or_create(&index_dir(data_dir), &embedding_spec(embedder))?;
    if let Some(codec) = codec {
        index.set_codec(codec)?;
    }
    let run_id = state.begin_run()?;
    let bars = Arc::new(StageBars::new());
    let indexer = Indexer::new(Arc::clone(embedder))?.with_commit_chunks(commit_chunks);
    let progress = {
        let bars = Arc::clone(&bars);
        Arc::new(move |event: ProgressEvent<'_>| bars.update(&event))
    };
    let result = indexer.run(&mut index, &mut state, &sources, progress);
    bars.finish();
    match &result {
        Ok(report) => state.finish_run(run_id, "ok", &serde_json::to_string(report)?)?,
        Err(err) => state.finish_run(run_id, &format!("failed: {err}"), "{}")?,
    }
    let report = result?;
    if let Some(c) = index.maybe_compact(&CompactionPolicy::default())? {
        tracing::info!(
            "compacted {} segments into {} ({} → {} rows)",
            c.segments_before,
            c.segments_after,
            c.rows_before,
            c.rows_after
        );
    }
    Ok(report)
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

/// One progress bar per stage (read: bytes, embed: chunks, write: segments),
/// drawn only on a terminal.
struct StageBars {
    _multi: MultiProgress,
    read: ProgressBar,
    embed: ProgressBar,
    write: ProgressBar,
}

impl StageBars {
    fn new() -> Self {
        let multi = MultiProgress::new();
        if !std::io::stderr().is_terminal() {
            multi.set_draw_target(ProgressDrawTarget::hidden());
        }
        let style = |template: &str| {
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ")
        };
        let read = multi.add(ProgressBar::new(0));
        read.set_style(style("read   [{bar:30}] {bytes}/{total_bytes} {msg}"));
        let embed = multi.add(ProgressBar::new(0));
        embed.set_style(style("embed  [{bar:30}] {pos}/{len} chunks {per_sec}"));
        crate::progress::capture(&multi);
        let write = multi.add(ProgressBar::new_spinner());
        write.set_style(style("write  {spinner} {pos} segments {msg}"));
        Self {
            _multi: multi,
            read,
            embed,
            write,
        }
    }

    fn update(&self, event: &ProgressEvent<'_>) {
        match *event {
            ProgressEvent::Discovered { bytes, .. } => self.read.inc_length(bytes),
            ProgressEvent::FileRead { bytes, .. } => self.read.inc(bytes),
            ProgressEvent::Queued { chunks } => self.embed.inc_length(chunks as u64),
            ProgressEvent::Embedded { chunks } => self.embed.inc(chunks as u64),
            ProgressEvent::Committed { documents, .. } => {
                self.write.inc(1);
                self.write.set_message(format!("(+{documents} documents)"));
            }
        }
    }

    fn finish(&self) {
        for bar in [&self.read, &self.embed, &self.write] {
            bar.finish_and_clear();
        }
        crate::progress::release();
    }
}

pub fn print_report(r: &IndexReport) {
    println!(
        "{} source(s), {} files: {} unchanged, {} deleted, {} waiting to retry, {} unsupported",
        r.sources,
        r.files,
        r.unchanged_files,
        r.deleted_files,
        r.deferred_files,
        r.unsupported_files
    );
    println!("  stage     busy s   result");
    println!("  discover {:>7.2}   {} files", r.discover_secs, r.files);
    println!(
        "  read     {:>7.2}   {} documents: {} new, {} changed, {} moved, {} unchanged",
        r.read_secs, r.documents, r.new, r.changed, r.relocated, r.unchanged
    );
    let rate = if r.embed_secs > 0.0 {
        format!(" ({:.1}/s)", r.embedded as f64 / r.embed_secs)
    } else {
        String::new()
    };
    println!(
        "  embed    {:>7.2}   {} chunks{rate}",
        r.embed_secs, r.embedded
    );
    println!(
        "  write    {:>7.2}   {} chunks in {} segment(s), {} documents deleted",
        r.write_secs, r.chunks, r.segments, r.deleted
    );
    let rss = r
        .peak_rss_bytes
        .map(|b| format!(", peak RSS {:.0} MB", b as f64 / 1e6))
        .unwrap_or_default();
    println!("  total    {:>7.2}{rss}", r.total_secs);
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
