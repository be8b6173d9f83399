//! `hearth search QUERY`: ranked chunks with their sources; `--json` for scripts.

use super::{date, snippet};
use crate::cli::SearchArgs;
use crate::context::Context;
use anyhow::Result;
use hearth_assistant::{Retriever, SearchOptions};
use hearth_store::{Index, SearchFilter, SearchHit, SearchMode};
use serde::Serialize;
use std::process::ExitCode;

/// One hit in `search --json`. Field names are a stable interface.
#[derive(Debug, Serialize)]
pub struct JsonHit<'a> {
    pub rank: usize,
    pub score: f32,
    pub doc_id: &'a str,
    pub chunk_id: &'a str,
    /// Source kind: mail, document, message, screenshot.
    pub source: &'a str,
    pub uri: &'a str,
    pub title: &'a str,
    /// Unix seconds, or null.
    pub timestamp: Option<i64>,
    /// Byte offset of the chunk in its document's text.
    pub offset: u64,
    pub end: u64,
    pub locator: Option<&'a str>,
    pub participants: &'a [String],
    /// Exact inner product with the query, when the vector list ranked this chunk.
    pub vector_score: Option<f32>,
    /// BM25 score, when the keyword list ranked this chunk.
    pub keyword_score: Option<f32>,
    pub text: &'a str,
}

impl<'a> From<&'a SearchHit> for JsonHit<'a> {
    fn from(h: &'a SearchHit) -> Self {
        Self {
            rank: h.rank,
            score: h.score,
            doc_id: &h.document.doc_id,
            chunk_id: &h.chunk.chunk_id,
            source: &h.document.kind,
            uri: &h.document.uri,
            title: &h.document.title,
            timestamp: h.document.timestamp,
            offset: h.chunk.byte_start,
            end: h.chunk.byte_end,
            locator: h.chunk.locator.as_deref(),
            participants: &h.document.participants,
            vector_score: h.vector_score,
            keyword_score: h.keyword_score,
            text: &h.chunk.text,
        }
    }
}

pub fn run(ctx: &Context, args: &SearchArgs) -> Result<ExitCode> {
    let index = Index::open(&ctx.index_dir())?;
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
    let mut options = ctx.search.clone();
    if let Some(mode) = &args.mode {
        options.mode = SearchMode::parse(mode)?;
    }
    if let Some(r) = args.rerank {
        anyhow::ensure!(r > 0, "--rerank must be at least 1");
        options.rerank = r;
    }
    const KINDS: [&str; 4] = ["mail", "document", "message", "screenshot"];
    if let Some(bad) = args.sources.iter().find(|k| !KINDS.contains(&k.as_str())) {
        anyhow::bail!("unknown --source `{bad}` (use {})", KINDS.join(", "));
    }
    options.filter = SearchFilter {
        kinds: args.sources.clone(),
        after: args.after.as_deref().map(day_start).transpose()?,
        before: args.before.as_deref().map(day_start).transpose()?,
        participant: args.participant.clone(),
        path_prefix: args
            .path_prefix
            .as_ref()
            .map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()))
            .map(|p| p.to_string_lossy().into_owned()),
    };
    Ok(options)
}

/// Unix time of 00:00 UTC on a `YYYY-MM-DD` day.
fn day_start(day: &str) -> Result<i64> {
    let date = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .map_err(|e| anyhow::anyhow!("date `{day}` is not YYYY-MM-DD: {e}"))?;
    Ok(date.and_time(chrono::NaiveTime::MIN).and_utc().timestamp())
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
