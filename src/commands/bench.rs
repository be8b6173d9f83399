//! `hearth bench …`: dispatches to `hearth-bench`, where every benchmark
//! lives.

use crate::cli::BenchCommand;
use crate::context::Context;
use anyhow::Result;
use std::process::ExitCode;

pub fn run(ctx: &Context, cmd: BenchCommand) -> Result<ExitCode> {
    match cmd {
        BenchCommand::Ingest(args) => hearth_bench::ingest::run(ctx, &args)?,
        BenchCommand::Embed(args) => hearth_bench::embed::run(ctx, args)?,
        BenchCommand::Search(args) => hearth_bench::search::run(&args)?,
        BenchCommand::Connectors(args) => hearth_bench::connectors::run(&args)?,
        BenchCommand::Sync(args) => hearth_bench::sync::run(ctx, &args)?,
        BenchCommand::Generate(args) => hearth_bench::generate::run(ctx, &args)?,
    }
    Ok(ExitCode::SUCCESS)
}
