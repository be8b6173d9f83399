//! `hearth source add|list|remove`.

use crate::cli::SourceCommand;
use crate::context::Context;
use anyhow::Result;
use hearth_ingest::IngestState;
use hearth_store::{Index, StoreError};
use std::process::ExitCode;

pub fn run(ctx: &Context, cmd: SourceCommand) -> Result<ExitCode> {
    match cmd {
        SourceCommand::Add { kind, path, name } => {
            let state = IngestState::open(&ctx.data().ingest_db())?;
            let source = state.add_source(name.as_deref(), &kind, &path)?;
            println!(
                "added source `{}` ({}) at {}; run `hearth index` to read it",
                source.name,
                source.kind,
                source.path.display()
            );
        }
        SourceCommand::List { json } => {
            let state = IngestState::open(&ctx.data().ingest_db())?;
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
            // The writer first: no indexing run may read the source meanwhile.
            let mut writer = match Index::open_writer(&ctx.data().index()) {
                Ok(writer) => Some(writer),
                Err(StoreError::NoIndex(_)) => None,
                Err(e) => return Err(e.into()),
            };
            let mut state = IngestState::open(&ctx.data().ingest_db())?;
            let source = state.source(&name)?.ok_or_else(|| {
                anyhow::anyhow!("no source named `{name}` (see `hearth source list`)")
            })?;
            let docs = state.exclusive_docs(&source)?;
            let deleted = match writer.as_mut() {
                Some(index) => index.commit(Vec::new(), Vec::new(), &docs)?.deleted,
                None => 0,
            };
            state.remove_source(&source)?;
            println!("removed source `{name}`; {deleted} document(s) deleted from the index");
        }
    }
    Ok(ExitCode::SUCCESS)
}
