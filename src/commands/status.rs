//! `hearth status`: documents and chunks per source kind, sources, failures
//! waiting to be retried, and the last run.

use super::{date, format_time};
use crate::cli::StatusArgs;
use crate::context::Context;
use anyhow::Result;
use hearth_ingest::IngestState;
use hearth_store::{Index, IndexStats, StoreError};
use serde_json::json;
use std::process::ExitCode;

pub fn run(ctx: &Context, args: &StatusArgs) -> Result<ExitCode> {
    let dir = ctx.data().index();
    let stats: Option<IndexStats> = match Index::open(&dir) {
        Ok(index) => Some(index.stats()),
        Err(StoreError::NoIndex(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let db = ctx.data().ingest_db();
    let (sources, failures, last_run) = if db.exists() {
        let state = IngestState::open(&db)?;
        (state.sources()?, state.failures()?, state.last_run()?)
    } else {
        (Vec::new(), Vec::new(), None)
    };
    if args.json {
        let mut value = match &stats {
            Some(s) => json!({
                "documents": s.documents,
                "chunks": s.chunks,
                "by_kind": s.by_kind,
                "segments": s.segments,
                "model_id": s.model_id,
                "dimension": s.dimension,
                "codec": s.codec,
                "dead_rows": s.dead_rows,
                "manifest_version": s.manifest_version,
                "disk_bytes": s.disk_bytes,
            }),
            None => json!({ "documents": 0, "chunks": 0, "by_kind": {}, "segments": 0 }),
        };
        value["index_dir"] = json!(dir);
        value["sources"] = json!(sources);
        value["failures"] = json!(failures);
        value["last_run"] = json!(last_run);
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("index: {}", dir.display());
    match &stats {
        None => println!("empty — run `hearth index PATH` to add files"),
        Some(s) => {
            println!(
                "{} documents, {} chunks in {} segment(s), {:.1} MB on disk",
                s.documents,
                s.chunks,
                s.segments,
                s.disk_bytes as f64 / 1e6
            );
            println!(
                "embedding model: {} ({}-d), vector codec {}, manifest version {}",
                s.model_id, s.dimension, s.codec, s.manifest_version
            );
            if s.dead_rows > 0 {
                println!(
                    "{} superseded or deleted chunk rows await compaction (`hearth compact`)",
                    s.dead_rows
                );
            }
            for (kind, k) in &s.by_kind {
                println!(
                    "  {kind:<11} {:>6} documents {:>7} chunks",
                    k.documents, k.chunks
                );
            }
        }
    }
    if !sources.is_empty() {
        println!("sources:");
        for s in &sources {
            println!("  {:<20} {:<10} {}", s.name, s.kind, s.path.display());
        }
    }
    if let Some(run) = &last_run {
        let outcome = run
            .outcome
            .as_deref()
            .unwrap_or("interrupted (the next run finishes it)");
        println!("last run: {} — {outcome}", date(Some(run.started_at)));
    }
    if !failures.is_empty() {
        println!("{} failure(s), retried on later runs:", failures.len());
        for f in &failures {
            let retry = match f.next_attempt_at {
                Some(t) if t > chrono::Utc::now().timestamp() => {
                    format!("retry after {}", format_time(Some(t), "%Y-%m-%d %H:%M UTC"))
                }
                _ => "retry on next run".to_owned(),
            };
            println!(
                "  [{}] {} ({}): {} — attempt {}, {retry}",
                f.source, f.path, f.position, f.reason, f.attempts
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
