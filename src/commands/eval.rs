//! `hearth eval run`: a retrieval suite indexed through the real pipeline
//! (into its own data directory under `<data-dir>/eval/suites/`, kept and
//! updated incrementally between runs), every query searched in every mode,
//! one Parquet row per (query, mode), and the aggregates from polars.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, Result};
use hearth_assistant::Retriever;
use hearth_eval::metrics::{mrr_at, ndcg_at, recall_at};
use hearth_eval::results::{
    QueryResult, RETRIEVAL_FILE, RetrievalSummary, RunInfo, summarise_retrieval, write_retrieval,
};
use hearth_eval::suite::{Corpus, CorpusDoc, RetrievalSuite};
use hearth_store::{Index, SearchMode};

use super::index::index_sources;
use crate::cli::{EvalCommand, EvalRunArgs};
use crate::context::{Context, index_dir};

/// Hits retrieved per query (recall@100 needs 100 documents; chunks of one
/// document collapse to its best rank).
const DEPTH: usize = 200;

pub fn run(ctx: &Context, cmd: EvalCommand) -> Result<ExitCode> {
    match cmd {
        EvalCommand::Run(args) => run_suite(ctx, &args),
    }
}

fn run_suite(ctx: &Context, args: &EvalRunArgs) -> Result<ExitCode> {
    let dir = match (&args.suite, &args.suite_dir) {
        (_, Some(dir)) => dir.clone(),
        (Some(name), None) => super::checkout_path(&format!("fixtures/eval/{name}")),
        (None, None) => anyhow::bail!("name a suite with --suite or --suite-dir"),
    };
    let mut suite = RetrievalSuite::load(&dir)
        .with_context(|| format!("loading the suite in {}", dir.display()))?;
    if let Some(n) = args.limit {
        suite = suite.limit(n);
    }
    let modes = args
        .modes
        .iter()
        .map(|m| SearchMode::parse(m).map(|mode| (m.clone(), mode)))
        .collect::<Result<Vec<_>, _>>()?;
    let embedder = ctx.embedder()?;

    // Index the corpus into the suite's own data directory.
    let work =
        ctx.data_dir
            .join("eval/suites")
            .join(format!("{}-{}", suite.name, suite.corpus_key()));
    let (root, ids) = match &suite.corpus {
        Corpus::Folder(root) => (root.clone(), None),
        Corpus::Documents(docs) => (materialise(&work.join("docs"), docs)?, Some(docs)),
    };
    eprintln!("indexing {} into {}", root.display(), work.display());
    let report = index_sources(
        &embedder,
        &work,
        std::slice::from_ref(&root),
        hearth_ingest::COMMIT_CHUNKS,
        ctx.codec.as_ref(),
    )?;
    for failure in &report.failed {
        eprintln!(
            "warning: not indexed: {} {}: {}",
            failure.path.display(),
            failure.position,
            failure.reason
        );
    }
    let index = Index::open(&index_dir(&work))?;
    let prefix = format!("file://{}/", root.display());
    let corpus_id = |uri: &str| -> Option<String> {
        let rel = uri.strip_prefix(&prefix)?;
        match ids {
            None => Some(rel.to_owned()),
            Some(docs) => {
                let n: usize = rel.strip_suffix(".txt")?.parse().ok()?;
                docs.get(n).map(|d| d.id.clone())
            }
        }
    };

    let started = chrono::Utc::now();
    let run_id = format!("{}-{}", started.format("%Y%m%d-%H%M%S"), suite.name);
    let info = RunInfo {
        run_id: run_id.clone(),
        suite: suite.name.clone(),
        started: started.to_rfc3339(),
        git_revision: git_revision(),
        machine: machine(),
        embedding_model: embedder.model_id().to_owned(),
        hearth_version: env!("CARGO_PKG_VERSION").to_owned(),
        seed: args.seed,
    };
    let mut rows = Vec::with_capacity(suite.queries.len() * modes.len());
    for (name, mode) in &modes {
        let mut options = ctx.search.clone();
        options.mode = *mode;
        let retriever = Retriever::new(&embedder, &index)?.with_options(options);
        for query in &suite.queries {
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
            });
        }
    }
    let run_dir = ctx.data_dir.join("eval/runs").join(&run_id);
    write_retrieval(&run_dir, &info, &rows)?;
    let summary = summarise_retrieval(&run_dir.join(RETRIEVAL_FILE), args.seed)?;

    if args.json {
        let mut json = serde_json::json!({
            "run": run_id, "suite": suite.name, "queries": suite.queries.len(),
            "results": run_dir.join(RETRIEVAL_FILE),
        });
        for (mode, s) in &summary {
            json[mode] = serde_json::to_value(s)?;
        }
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print_table(&info, suite.queries.len(), &summary, &run_dir);
    }
    Ok(ExitCode::SUCCESS)
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

fn print_table(
    info: &RunInfo,
    queries: usize,
    summary: &std::collections::BTreeMap<String, RetrievalSummary>,
    run_dir: &Path,
) {
    println!(
        "suite {} — {queries} queries, embedding model {}, run {}",
        info.suite, info.embedding_model, info.run_id
    );
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
    println!("rows: {}", run_dir.join(RETRIEVAL_FILE).display());
}

/// `git describe --always --dirty` of the source checkout, or `unknown`.
fn git_revision() -> String {
    std::process::Command::new("git")
        .args([
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "describe",
            "--always",
            "--dirty",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// CPU model and logical cores.
fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    format!("{model}, {cores} cores")
}
