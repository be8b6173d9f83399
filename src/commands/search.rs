//! `hearth search QUERY`: ranked chunks with their sources; `--json` for scripts.

use super::{date, snippet};
use crate::cli::SearchArgs;
use crate::context::Context;
use anyhow::Result;
use hearth_assistant::Retriever;
use hearth_store::{Index, SearchHit};
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
            text: &h.chunk.text,
        }
    }
}

pub fn run(ctx: &Context, args: &SearchArgs) -> Result<ExitCode> {
    let index = Index::open(&ctx.index_dir())?;
    let embedder = ctx.embedder()?;
    let hits = Retriever::new(&embedder, &index)?.search(&args.query, args.k)?;
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
