//! `hearth search QUERY`: ranked chunks with their sources; `--json` for
//! scripts (the same hits as `hearth serve`'s `/v1/search`).

use super::{date, snippet};
use crate::cli::SearchArgs;
use crate::context::Context;
use anyhow::Result;
use hearth_assistant::server::api::{JsonHit, search_filter};
use hearth_assistant::{Retriever, SearchOptions};
use hearth_store::{Index, SearchHit, SearchMode};
use std::process::ExitCode;

pub fn run(ctx: &Context, args: &SearchArgs) -> Result<ExitCode> {
    let index = Index::open(&ctx.data().index())?;
    let embedder = ctx.embedder()?;
    let options = search_options(ctx, args)?;
    let hits = Retriever::new(&embedder, &index)?
        .with_options(options)
        .search(&args.query, args.k)?;
    if args.json {
        let json: Vec<JsonHit<'_>> = hits.iter().map(JsonHit::from).collect();
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else if hits.is_empty() {
        println!(
            "no results (the index holds {} documents)",
            index.stats().documents
        );
    } else {
        for hit in &hits {
            print_hit(hit);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The config's search settings overridden by the command line.
fn search_options(ctx: &Context, args: &SearchArgs) -> Result<SearchOptions> {
    let mut options = ctx.config().search.clone();
    if let Some(mode) = &args.mode {
        options.mode = SearchMode::parse(mode)?;
    }
    if let Some(r) = args.rerank {
        anyhow::ensure!(r > 0, "--rerank must be at least 1");
        options.rerank = r;
    }
    let path_prefix = args
        .path_prefix
        .as_ref()
        .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()))
        .map(|p| p.to_string_lossy().into_owned());
    options.filter = search_filter(
        &args.sources,
        args.after.as_deref(),
        args.before.as_deref(),
        args.participant.as_deref(),
        path_prefix.as_deref(),
    )
    .map_err(|e| anyhow::anyhow!(e))?;
    Ok(options)
}

/// Human-readable hit: rank, score, source, where exactly, and a snippet.
pub fn print_hit(h: &SearchHit) {
    let d = &h.document;
    let who = d
        .participants
        .first()
        .map(|p| format!(" — {p}"))
        .unwrap_or_default();
    println!(
        "{:>2}. {:.3}  [{}] {}{}  {}",
        h.rank,
        h.score,
        d.kind,
        d.title,
        who,
        date(d.timestamp)
    );
    let place = h
        .chunk
        .locator
        .as_deref()
        .map(|l| format!(", {l}"))
        .unwrap_or_default();
    println!(
        "    {}  (bytes {}..{}{place})",
        d.uri, h.chunk.byte_start, h.chunk.byte_end
    );
    println!("    {}", snippet(&h.chunk.text, 160));
}
