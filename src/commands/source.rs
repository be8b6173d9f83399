//! `hearth source add|list|remove`.

use crate::cli::SourceCommand;
use crate::context::{Context, index_dir, ingest_db, lock_path};
use anyhow::Result;
use hearth_ingest::{IngestState, WriterLock};
use hearth_store::{Index, StoreError};
use std::process::ExitCode;

pub fn run(ctx: &Context, cmd: SourceCommand) -> Result<ExitCode> {
    match cmd {
        SourceCommand::Add { kind, path, name } => {
            let _lock = WriterLock::acquire(&lock_path(&ctx.data_dir))?;
            let state = IngestState::open(&ingest_db(&ctx.data_dir))?;
            let source = state.add_source(name.as_deref(), &kind, &path)?;
            println!(
                "added source `{}` ({}) at {}; run `hearth index` to read it",
                source.name,
                source.kind,
                source.path.display()
            );
        }
        SourceCommand::List { json } => {
            let state = IngestState::open(&ingest_db(&ctx.data_dir))?;
            let sources = state.sources()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&sources)?);
            } else if sources.is_empty() {
                println!("no sources — add one with `hearth source add auto PATH`");
            } else {
                for s in sources {
                    let missing = if s.path.exists() {
                        ""
                    } else {
                        "  (path missing)"
                    };
                    println!(
                        "{:<20} {:<10} {}{missing}",
                        s.name,
                        s.kind,
                        s.path.display()
                    );
                }
            }
        }
        SourceCommand::Remove { name } => {
            let _lock = WriterLock::acquire(&lock_path(&ctx.data_dir))?;
            let mut state = IngestState::open(&ingest_db(&ctx.data_dir))?;
            let source = state.source(&name)?.ok_or_else(|| {
                anyhow::anyhow!("no source named `{name}` (see `hearth source list`)")
            })?;
            let docs = state.exclusive_docs(&source)?;
            let deleted = match Index::open(&index_dir(&ctx.data_dir)) {
                Ok(mut index) => index.commit(Vec::new(), Vec::new(), &docs)?.deleted,
                Err(StoreError::NoIndex(_)) => 0,
                Err(e) => return Err(e.into()),
            };
            state.remove_source(&source)?;
            println!("removed source `{name}`; {deleted} document(s) deleted from the index");
        }
    }
    Ok(ExitCode::SUCCESS)
}
