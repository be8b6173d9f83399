//! One module per subcommand; [`run`] dispatches.

mod ask;
mod bench;
mod bench_baseline;
mod bench_connectors;
mod bench_embed;
mod bench_generate;
mod bench_search;
mod bench_sync;
mod compact;
mod demo;
mod eval;
mod eval_assistant;
mod eval_routing;
mod eval_runs;
mod index;
mod models;
mod roofline;
mod router;
mod schedule;
mod search;
mod serve;
mod source;
mod stats;
mod status;
mod sync;
mod watch;

pub use bench_connectors::ConnectorsBench;
pub use bench_generate::GenerateBench;
pub use bench_search::SearchBench;
pub use bench_sync::SyncBench;
pub use sync::{DeviceCommand, SnapshotCommand};

use crate::cli::{Cli, Command};
use crate::context::Context;
use anyhow::Result;
use std::process::ExitCode;

pub fn run(cli: Cli) -> Result<ExitCode> {
    let ctx = Context::new(&cli)?;
    match cli.command {
        Command::Index(args) => index::run(&ctx, &args),
        Command::Source(cmd) => source::run(&ctx, cmd),
        Command::Search(args) => search::run(&ctx, &args),
        Command::Ask(args) => ask::run(&ctx, &args),
        Command::Serve(args) => serve::run(&ctx, &args),
        Command::Router(cmd) => router::run(&ctx, cmd),
        Command::Status(args) => status::run(&ctx, &args),
        Command::Compact(args) => compact::run(&ctx, &args),
        Command::Stats(args) => stats::run(&ctx, &args),
        Command::Models(cmd) => models::run(&ctx, cmd),
        Command::Demo(args) => demo::run(&ctx, &args),
        Command::Bench(cmd) => bench::run(&ctx, cmd),
        Command::Eval(cmd) => eval::run(&ctx, cmd),
        Command::Watch(args) => watch::run(&ctx, &args),
        Command::Schedule(cmd) => schedule::run(&ctx, cmd),
        Command::Device(cmd) => sync::run_device(&ctx, cmd),
        Command::Snapshot(cmd) => sync::run_snapshot(&ctx, cmd),
    }
}

/// `rel` under the current directory when it exists there, else in the source
/// checkout the binary was built from (fixtures, scripts).
pub(crate) fn checkout_path(rel: &str) -> std::path::PathBuf {
    let here = std::path::PathBuf::from(rel);
    if here.exists() {
        here
    } else {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
    }
}

/// `2026-01-14` for a Unix timestamp.
pub(crate) fn date(ts: Option<i64>) -> String {
    format_time(ts, "%Y-%m-%d")
}

/// A Unix timestamp (UTC) in a chrono format; empty when there is none.
pub(crate) fn format_time(ts: Option<i64>, format: &str) -> String {
    ts.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|d| d.format(format).to_string())
        .unwrap_or_default()
}

/// The first `max` characters of `text` on one line.
pub(crate) fn snippet(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max).collect();
        format!("{cut}…")
    }
}
