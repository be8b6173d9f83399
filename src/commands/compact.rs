//! `hearth compact`: merge the index's segments and drop dead rows, through the
//! index's writer, so no indexing run is committing at the same time.

use crate::cli::CompactArgs;
use crate::context::Context;
use anyhow::Result;
use hearth_store::{CompactionPolicy, Index};
use std::process::ExitCode;

pub fn run(ctx: &Context, args: &CompactArgs) -> Result<ExitCode> {
    let mut index = Index::open_writer(&ctx.data().index())?;
    let summary = index.compact(&CompactionPolicy::default())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "compacted {} segments into {}: {} → {} chunk rows, {} tombstones dropped, {:.1} → {:.1} MB",
            summary.segments_before,
            summary.segments_after,
            summary.rows_before,
            summary.rows_after,
            summary.tombstones_dropped,
            summary.bytes_before as f64 / 1e6,
            summary.bytes_after as f64 / 1e6,
        );
    }
    Ok(ExitCode::SUCCESS)
}
