//! One module per subcommand; [`run`] dispatches.

mod ask;
mod bench;
mod compact;
mod demo;
mod eval;
mod generate;
mod index;
mod models;
mod router;
mod schedule;
mod search;
mod serve;
mod source;
mod stats;
mod status;
mod sync;
mod watch;

pub use sync::{DeviceCommand, SnapshotCommand};

use crate::cli::{Cli, Command};
use anyhow::Result;
use std::process::ExitCode;

pub fn run(cli: Cli) -> Result<ExitCode> {
    let ctx = crate::context::open(&cli)?;
    match cli.command {
        Command::Index(args) => index::run(&ctx, &args),
        Command::Source(cmd) => source::run(&ctx, cmd),
        Command::Search(args) => search::run(&ctx, &args),
        Command::Ask(args) => ask::run(&ctx, &args),
        Command::Generate(args) => generate::run(&ctx, &args),
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
