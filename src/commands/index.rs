//! `hearth index [PATH…]`: bring the index up to date, with a progress bar on a
//! terminal and a summary (or `--json` run summary) at the end.

use crate::cli::IndexArgs;
use crate::context::Context;
use anyhow::Result;
use hearth_app::{AppError, IndexSession};
use hearth_ingest::{IndexReport, ProgressEvent};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

pub fn run(ctx: &Context, args: &IndexArgs) -> Result<ExitCode> {
    let embedder = ctx.embedder()?;
    let session = ctx
        .index_session(&embedder)
        .with_commit_chunks(args.commit_chunks);
    let report = run_with_bars(&session, &args.paths)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `session` over `paths` with a progress bar per stage on a terminal.
pub fn run_with_bars(session: &IndexSession, paths: &[PathBuf]) -> Result<IndexReport, AppError> {
    let bars = Arc::new(StageBars::new());
    let progress = {
        let bars = Arc::clone(&bars);
        Arc::new(move |event: ProgressEvent<'_>| bars.update(&event))
    };
    let result = session.run(paths, Some(progress));
    bars.finish();
    result
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
        // One line per distinct reason: three screenshots without OCR are one
        // problem with one fix, not three.
        let mut by_reason: Vec<(&str, Vec<&hearth_ingest::ItemFailure>)> = Vec::new();
        for f in &r.failed {
            match by_reason.iter_mut().find(|(reason, _)| *reason == f.reason) {
                Some((_, items)) => items.push(f),
                None => by_reason.push((&f.reason, vec![f])),
            }
        }
        for (reason, items) in by_reason {
            match items.as_slice() {
                [f] => println!("  {} [{}]: {reason}", f.path.display(), f.position),
                many => {
                    let names: Vec<String> = many
                        .iter()
                        .map(|f| {
                            f.path.file_name().map_or_else(
                                || f.path.display().to_string(),
                                |n| n.to_string_lossy().into_owned(),
                            )
                        })
                        .collect();
                    println!("  {} items ({}): {reason}", many.len(), names.join(", "));
                }
            }
        }
    }
}
