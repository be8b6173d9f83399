//! `hearth watch`: an initial pass, then a pass over the affected sources after
//! each burst of file events, and a full rescan at a fixed interval.

use crate::cli::WatchArgs;
use crate::context::Context;
use anyhow::Result;
use hearth_ingest::{ChangeFeed, IngestState, parse_interval};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

pub fn run(ctx: &Context, args: &WatchArgs) -> Result<ExitCode> {
    let rescan = parse_interval(&args.rescan)?;
    let quiet = Duration::from_millis(args.debounce_ms);
    let embedder = ctx.embedder()?;
    let sources = IngestState::open(&ctx.data().ingest_db())?.sources()?;
    if sources.is_empty() {
        anyhow::bail!("no sources to watch: add one with `hearth source add auto PATH`");
    }
    let roots: Vec<PathBuf> = sources.iter().map(|s| s.path.clone()).collect();
    let feed = ChangeFeed::new(&roots)?;
    eprintln!(
        "watching {} source(s); full rescan every {}",
        roots.len(),
        args.rescan
    );
    let session = ctx.index_session(&embedder);
    let pass = |paths: &[PathBuf], why: &str| match super::index::run_with_bars(&session, paths) {
        Ok(r) => println!(
            "{why}: {} new, {} changed, {} deleted documents; {} chunks; {} failed ({:.1}s)",
            r.new,
            r.changed,
            r.deleted,
            r.chunks,
            r.failed.len(),
            r.total_secs
        ),
        // Another writer (the timer, a manual run) has the index: try next time.
        Err(e) if e.is_locked() => eprintln!("{why}: skipped, {e}"),
        Err(e) => eprintln!("{why}: {e}"),
    };
    pass(&[], "initial pass");
    let mut next_rescan = Instant::now() + rescan;
    loop {
        let changed = feed.wait(next_rescan.saturating_duration_since(Instant::now()), quiet);
        if changed.is_empty() {
            if Instant::now() >= next_rescan {
                pass(&[], "rescan");
                next_rescan = Instant::now() + rescan;
            }
            continue;
        }
        let affected: Vec<PathBuf> = roots
            .iter()
            .filter(|r| changed.iter().any(|p| p.starts_with(r)))
            .cloned()
            .collect();
        if !affected.is_empty() {
            pass(&affected, &format!("{} change(s)", changed.len()));
        }
    }
}
