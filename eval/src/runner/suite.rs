//! `hearth eval run`: a suite's corpus indexed through the real pipeline
//! (into its own data directory under `<data-dir>/eval/suites/`, kept and
//! updated incrementally between runs); its retrieval part searched in every
//! mode (one Parquet row per query and mode) and its assistant part answered
//! ([`super::assistant`]); the aggregates from polars. Rows are
//! checkpointed as they are measured, so `--resume` continues a killed run.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::checkpoint::Checkpoint;
use crate::metrics::{mrr_at, ndcg_at, recall_at};
use crate::results::{
    QueryResult, RETRIEVAL_FILE, RetrievalSummary, RunInfo, summarise_retrieval, write_retrieval,
};
use crate::suite::{AssistantSuite, Corpus, CorpusDoc, RetrievalSuite};
use anyhow::{Context as _, Result};
use hearth_assistant::Retriever;
use hearth_embed::Embedder;
use hearth_store::{Index, SearchMode};

use super::runs::{ROUTING_SUITE, finish_run, new_run, resume_options};
use super::{Context, EvalRunArgs};

/// Hits retrieved per query (recall@100 needs 100 documents; chunks of one
/// document collapse to its best rank).
const DEPTH: usize = 200;

/// `hearth eval run`: runs (or resumes) the suite `cli` names.
pub fn run_suite(ctx: &Context, cli: &EvalRunArgs) -> Result<()> {
    // A resumed run measures what it was started to measure.
    let (args, resumed) = resume_options(
        ctx,
        cli.resume.as_deref(),
        cli,
        |i| i.suite != ROUTING_SUITE,
        |cli, stored| stored.json = cli.json,
    )?;
    let args = &args;
    let dir = match (&args.suite, &args.suite_dir) {
        (_, Some(dir)) => dir.clone(),
        (Some(name), None) => ctx.share().find(&format!("fixtures/eval/{name}"))?,
        (None, None) => anyhow::bail!("name a suite with --suite or --suite-dir"),
    };
    let wants = |part: &str| args.only.as_deref().is_none_or(|o| o == part);
    let retrieval = if wants("retrieval") && RetrievalSuite::present(&dir) {
        let suite = RetrievalSuite::load(&dir)
            .with_context(|| format!("loading the retrieval suite in {}", dir.display()))?;
        Some(suite.select(args.limit, args.sample, args.seed))
    } else {
        None
    };
    let assistant = if wants("assistant") {
        AssistantSuite::load(&dir)
            .with_context(|| format!("loading the assistant suite in {}", dir.display()))?
    } else {
        None
    };
    if retrieval.is_none() && assistant.is_none() {
        anyhow::bail!(
            "{} has no {} part (see `hearth eval run --help` for the layouts)",
            dir.display(),
            args.only.as_deref().unwrap_or("retrieval or assistant")
        );
    }
    let embedder = ctx.embedder()?;
    let name = retrieval
        .as_ref()
        .map(|s| s.name.clone())
        .or_else(|| assistant.as_ref().map(|s| s.name.clone()))
        .unwrap_or_default();
    let (run_dir, mut info) = match resumed {
        Some(run) => run,
        None => new_run(
            ctx,
            &name,
            embedder.model_id(),
            args.seed,
            serde_json::to_value(args)?,
        )?,
    };
    let run_id = info.run_id.clone();
    let mut json = serde_json::json!({"run": run_id, "suite": info.suite, "results": run_dir});
    if !args.json {
        println!(
            "suite {}, embedding model {}, run {}",
            info.suite, info.embedding_model, info.run_id
        );
    }
    if let Some(suite) = &retrieval {
        let summary = run_retrieval(ctx, &embedder, suite, args, &info, &run_dir)?;
        json["queries"] = suite.queries.len().into();
        for (mode, s) in &summary {
            json[mode] = serde_json::to_value(s)?;
        }
        if !args.json {
            print_retrieval(suite.queries.len(), &summary);
        }
    }
    if let Some(suite) = &assistant {
        let summary = super::assistant::run(ctx, &embedder, suite, args, &info, &run_dir)?;
        json["assistant"] = serde_json::to_value(&summary)?;
        if !args.json {
            super::assistant::print(&summary);
        }
    }
    finish_run(&run_dir, &mut info)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!("rows: {}", run_dir.display());
    }
    Ok(())
}

/// Indexes `corpus` (incrementally) into its own data directory under
/// `<data-dir>/eval/suites/` and opens the index. Returns the corpus root
/// as indexed (materialised documents are written there first).
pub(crate) fn index_corpus(
    ctx: &Context,
    embedder: &Arc<Embedder>,
    name: &str,
    corpus: &Corpus,
) -> Result<(Index, PathBuf)> {
    let work = ctx.data().eval_suite(&format!("{name}-{}", corpus.key()));
    let root = match corpus {
        Corpus::Folder(root) => root.clone(),
        Corpus::Documents(docs) => materialise(&work.root().join("docs"), docs)?,
    };
    eprintln!("indexing {} into {}", root.display(), work.root().display());
    let session = ctx.index_session_in(embedder, work.clone());
    let report = (ctx.index)(&session, std::slice::from_ref(&root))?;
    for failure in &report.failed {
        eprintln!(
            "warning: not indexed: {} {}: {}",
            failure.path.display(),
            failure.position,
            failure.reason
        );
    }
    Ok((Index::open(&work.index())?, root))
}

/// Every query in every mode; the rows to `retrieval.parquet`, aggregated.
fn run_retrieval(
    ctx: &Context,
    embedder: &Arc<Embedder>,
    suite: &RetrievalSuite,
    args: &EvalRunArgs,
    info: &RunInfo,
    run_dir: &Path,
) -> Result<BTreeMap<String, RetrievalSummary>> {
    let modes = args
        .modes
        .iter()
        .map(|m| SearchMode::parse(m).map(|mode| (m.clone(), mode)))
        .collect::<Result<Vec<_>, _>>()?;
    let path = run_dir.join(RETRIEVAL_FILE);
    if path.exists() {
        // Written whole by an earlier attempt of this run.
        return Ok(summarise_retrieval(&path, args.seed)?);
    }
    let (index, root) = index_corpus(ctx, embedder, &suite.name, &suite.corpus)?;
    let prefix = format!("file://{}/", root.display());
    let corpus_id = |uri: &str| -> Option<String> {
        let rel = uri.strip_prefix(&prefix)?;
        match &suite.corpus {
            Corpus::Folder(_) => Some(rel.to_owned()),
            Corpus::Documents(docs) => {
                let n: usize = rel.strip_suffix(".txt")?.parse().ok()?;
                docs.get(n).map(|d| d.id.clone())
            }
        }
    };
    let mut rows: Checkpoint<QueryResult> = Checkpoint::open(run_dir, "retrieval")?;
    let done = rows.keys(|r| (r.mode.clone(), r.query_id.clone()));
    for (name, mode) in &modes {
        let mut options = ctx.config().search.clone();
        options.mode = *mode;
        let retriever = Retriever::new(embedder, &index)?.with_options(options);
        for query in &suite.queries {
            if done.contains(&(name.clone(), query.id.clone())) {
                continue;
            }
            let t = Instant::now();
            let hits = retriever.search(&query.text, DEPTH)?;
            let latency_ms = t.elapsed().as_secs_f64() * 1e3;
            let mut seen = HashSet::new();
            let ranked: Vec<String> = hits
                .iter()
                .filter_map(|h| corpus_id(&h.document.uri))
                .filter(|id| seen.insert(id.clone()))
                .collect();
            let ranked: Vec<&str> = ranked.iter().map(String::as_str).collect();
            let judged = suite.qrels.get(&query.id).cloned().unwrap_or_default();
            rows.push(QueryResult {
                query_id: query.id.clone(),
                mode: name.clone(),
                ndcg_at_10: ndcg_at(&ranked, &judged, 10),
                recall_at_10: recall_at(&ranked, &judged, 10),
                recall_at_100: recall_at(&ranked, &judged, 100),
                mrr_at_10: mrr_at(&ranked, &judged, 10),
                first_relevant: ranked
                    .iter()
                    .position(|id| judged.contains_key(*id))
                    .and_then(|p| u32::try_from(p + 1).ok()),
                latency_ms,
            })?;
        }
    }
    write_retrieval(run_dir, info, rows.rows())?;
    rows.finish()?;
    Ok(summarise_retrieval(&path, args.seed)?)
}

/// Writes each document as `<n>.txt` (title, blank line, text) under `dir`,
/// leaving files whose content is unchanged untouched so the indexer skips
/// them; returns `dir` canonicalised.
fn materialise(dir: &Path, docs: &[CorpusDoc]) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (n, doc) in docs.iter().enumerate() {
        let path = dir.join(format!("{n:06}.txt"));
        let text = if doc.title.is_empty() {
            doc.text.clone()
        } else {
            format!("{}\n\n{}", doc.title, doc.text)
        };
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(dir.canonicalize()?)
}

fn print_retrieval(queries: usize, summary: &BTreeMap<String, RetrievalSummary>) {
    println!("\nretrieval — {queries} queries");
    println!(
        "{:<8} {:>8} {:>15} {:>9} {:>10} {:>7} {:>7} {:>7}",
        "mode", "nDCG@10", "95% CI", "recall@10", "recall@100", "MRR@10", "p50 ms", "p95 ms"
    );
    for (mode, s) in summary {
        let ci = s
            .ndcg_ci
            .map(|(lo, hi)| format!("{lo:.3}–{hi:.3}"))
            .unwrap_or_default();
        println!(
            "{mode:<8} {:>8.3} {ci:>15} {:>9.3} {:>10.3} {:>7.3} {:>7.1} {:>7.1}",
            s.ndcg_at_10, s.recall_at_10, s.recall_at_100, s.mrr_at_10, s.p50_ms, s.p95_ms
        );
    }
}
