//! `hearth status`: documents and chunks in the index, per source kind.

use crate::cli::StatusArgs;
use crate::context::Context;
use anyhow::Result;
use hearth_store::{Index, IndexStats, StoreError};
use serde_json::json;
use std::process::ExitCode;

pub fn run(ctx: &Context, args: &StatusArgs) -> Result<ExitCode> {
    let dir = ctx.index_dir();
    let stats: Option<IndexStats> = match Index::open(&dir) {
        Ok(index) => Some(index.stats()),
        Err(StoreError::NoIndex(_)) => None,
        Err(e) => return Err(e.into()),
    };
    if args.json {
        let value = match &stats {
            Some(s) => json!({
                "index_dir": dir,
                "documents": s.documents,
                "chunks": s.chunks,
                "by_kind": s.by_kind,
                "segments": s.segments,
                "model_id": s.model_id,
                "dimension": s.dimension,
                "manifest_version": s.manifest_version,
                "disk_bytes": s.disk_bytes,
            }),
            None => {
                json!({ "index_dir": dir, "documents": 0, "chunks": 0, "by_kind": {}, "segments": 0 })
            }
        };
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("index: {}", dir.display());
    let Some(s) = stats else {
        println!("empty — run `hearth index PATH` to add files");
        return Ok(ExitCode::SUCCESS);
    };
    println!(
        "{} documents, {} chunks in {} segment(s), {:.1} MB on disk",
        s.documents,
        s.chunks,
        s.segments,
        s.disk_bytes as f64 / 1e6
    );
    println!(
        "embedding model: {} ({}-d), manifest version {}",
        s.model_id, s.dimension, s.manifest_version
    );
    for (kind, k) in &s.by_kind {
        println!(
            "  {kind:<11} {:>6} documents {:>7} chunks",
            k.documents, k.chunks
        );
    }
    Ok(ExitCode::SUCCESS)
}
