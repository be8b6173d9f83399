//! `hearth stats`: polars analytics over the index's segments, as a table or JSON.

use crate::cli::StatsArgs;
use crate::context::Context;
use anyhow::Result;
use hearth_eval::stats::{LENGTH_BUCKET, analyse};
use std::process::ExitCode;

pub fn run(ctx: &Context, args: &StatsArgs) -> Result<ExitCode> {
    let a = analyse(&ctx.data().index())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&a)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("documents per source per month");
    for r in &a.by_source_month {
        println!("  {:<11} {:<8} {:>7}", r.kind, r.month, r.documents);
    }
    let l = &a.chunk_lengths;
    println!(
        "chunk length (characters): {} chunks, mean {:.0}, p50 {:.0}, p90 {:.0}, p99 {:.0}, max {}",
        l.chunks, l.mean, l.p50, l.p90, l.p99, l.max
    );
    let widest = l.histogram.iter().map(|h| h.1).max().unwrap_or(1).max(1);
    for (start, n) in &l.histogram {
        let bar = "█".repeat(((n * 40).div_ceil(widest)) as usize);
        println!(
            "  {:>5}–{:<5} {:>7} {bar}",
            start,
            start + u64::from(LENGTH_BUCKET) - 1,
            n
        );
    }
    println!("size on disk");
    for c in &a.size_on_disk {
        println!("  {:<20} {:>10.2} MB", c.name, c.bytes as f64 / 1e6);
    }
    println!(
        "  {:<20} {:>10.2} MB (resident vector codes)",
        "in memory",
        a.codes_in_memory_bytes as f64 / 1e6
    );
    Ok(ExitCode::SUCCESS)
}
