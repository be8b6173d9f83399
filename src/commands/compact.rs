//! `hearth compact`: merge the index's segments and drop dead rows, under the
//! writer lock so no indexing run is committing at the same time.

use crate::cli::CompactArgs;
use crate::context::{Context, lock_path};
use anyhow::Result;
use hearth_ingest::WriterLock;
use hearth_store::{CompactionPolicy, Index};
use std::process::ExitCode;

pub fn run(ctx: &Context, args: &CompactArgs) -> Result<ExitCode> {
    let _lock = WriterLock::acquire(&lock_path(&ctx.data_dir))?;
    let mut index = Index::open(&ctx.index_dir())?;
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
