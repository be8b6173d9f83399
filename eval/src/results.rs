//! Eval results as data: one Parquet row per (run, query, configuration),
//! with the run's context (machine, model, git revision, seed) on every
//! row, and the aggregates computed from those files with polars.
//!
//! A run lives in its own directory: `run.json` (the [`RunInfo`]) and
//! `retrieval.parquet` (the [`QueryResult`] rows).
//!
//! ```no_run
//! use hearth_eval::results::{summarise_retrieval, RETRIEVAL_FILE};
//! let run = std::path::Path::new("/home/me/.local/share/hearth/eval/runs/20261202-0812-demo");
//! for (mode, s) in summarise_retrieval(&run.join(RETRIEVAL_FILE), 42)? {
//!     println!("{mode}: nDCG@10 {:.3}", s.ndcg_at_10);
//! }
//! # Ok::<(), hearth_eval::EvalError>(())
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::EvalError;
use crate::metrics::bootstrap_ci;

/// The retrieval rows of a run.
pub const RETRIEVAL_FILE: &str = "retrieval.parquet";
/// The run's context.
pub const RUN_FILE: &str = "run.json";

/// What a run measured and on what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Run id and folder name: the start time (UTC) and the suite name.
    pub run_id: String,
    /// Name of the suite the run measured.
    pub suite: String,
    /// RFC 3339, UTC.
    pub started: String,
    /// `git describe --always --dirty` of the checkout, or `unknown`.
    pub git_revision: String,
    /// CPU model and core count.
    pub machine: String,
    /// Id of the embedding model used; empty for a run that embeds nothing (routing).
    pub embedding_model: String,
    /// Hearth's crate version that made the run.
    pub hearth_version: String,
    /// Seed for the run's randomness (sampling, bootstrap intervals).
    pub seed: u64,
    /// The options the run was started with (as the command line parsed
    /// them), so that resuming it measures the same thing.
    #[serde(default)]
    pub options: serde_json::Value,
    /// RFC 3339, UTC, once every row is written; `None` while the run is
    /// under way or after it was killed (it can be resumed).
    #[serde(default)]
    pub finished: Option<String>,
}

/// One query's result under one configuration (search mode).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryResult {
    /// Id of the query.
    pub query_id: String,
    /// Search mode the query ran under (`vector`, `bm25`, `hybrid`, ...).
    pub mode: String,
    /// nDCG@10 against the graded relevance judgements.
    pub ndcg_at_10: f64,
    /// Share of the relevant documents in the top 10.
    pub recall_at_10: f64,
    /// Share of the relevant documents in the top 100.
    pub recall_at_100: f64,
    /// Reciprocal rank of the first relevant document in the top 10, else 0.
    pub mrr_at_10: f64,
    /// Rank of the first relevant document (1-based), if retrieved.
    pub first_relevant: Option<u32>,
    /// Time the search took, in milliseconds.
    pub latency_ms: f64,
}

/// Aggregates of one configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetrievalSummary {
    /// Queries aggregated.
    pub queries: u64,
    /// Mean nDCG@10.
    #[serde(rename = "ndcg@10")]
    pub ndcg_at_10: f64,
    /// 95% bootstrap confidence interval of the mean nDCG@10.
    #[serde(rename = "ndcg@10_ci95")]
    pub ndcg_ci: Option<(f64, f64)>,
    /// Mean recall@10.
    #[serde(rename = "recall@10")]
    pub recall_at_10: f64,
    /// Mean recall@100.
    #[serde(rename = "recall@100")]
    pub recall_at_100: f64,
    /// Mean MRR@10.
    #[serde(rename = "mrr@10")]
    pub mrr_at_10: f64,
    /// Median search latency, in milliseconds.
    pub p50_ms: f64,
    /// 95th-percentile search latency, in milliseconds.
    pub p95_ms: f64,
    /// 99th-percentile search latency, in milliseconds.
    pub p99_ms: f64,
}

use crate::polars_error as pl;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> EvalError + '_ {
    move |source| EvalError::Io {
        path: path.into(),
        source,
    }
}

/// Writes the rows to `retrieval.parquet` in `dir`, through a temporary
/// file renamed into place (a killed run leaves no half-written file).
pub fn write_retrieval(dir: &Path, info: &RunInfo, rows: &[QueryResult]) -> Result<(), EvalError> {
    let df = df!(
        "query_id" => rows.iter().map(|r| r.query_id.clone()).collect::<Vec<_>>(),
        "mode" => rows.iter().map(|r| r.mode.clone()).collect::<Vec<_>>(),
        "ndcg_at_10" => rows.iter().map(|r| r.ndcg_at_10).collect::<Vec<_>>(),
        "recall_at_10" => rows.iter().map(|r| r.recall_at_10).collect::<Vec<_>>(),
        "recall_at_100" => rows.iter().map(|r| r.recall_at_100).collect::<Vec<_>>(),
        "mrr_at_10" => rows.iter().map(|r| r.mrr_at_10).collect::<Vec<_>>(),
        "first_relevant" => rows.iter().map(|r| r.first_relevant).collect::<Vec<_>>(),
        "latency_ms" => rows.iter().map(|r| r.latency_ms).collect::<Vec<_>>(),
    )
    .map_err(pl)?;
    write_parquet(dir, RETRIEVAL_FILE, &mut with_run_context(info, df)?)
}

/// `df` with the run's context (run id, suite, git revision, machine,
/// embedding model, seed) as its first columns, the same on every row.
pub(crate) fn with_run_context(info: &RunInfo, df: DataFrame) -> Result<DataFrame, EvalError> {
    let n = df.height();
    let repeat = |v: &str| vec![v.to_owned(); n];
    let context = df!(
        "run_id" => repeat(&info.run_id),
        "suite" => repeat(&info.suite),
        "git_revision" => repeat(&info.git_revision),
        "machine" => repeat(&info.machine),
        "embedding_model" => repeat(&info.embedding_model),
        "seed" => vec![info.seed; n],
    )
    .map_err(pl)?;
    context.hstack(df.columns()).map_err(pl)
}

/// A run's context for tests.
#[cfg(test)]
pub(crate) fn test_info(run_id: &str) -> RunInfo {
    RunInfo {
        run_id: run_id.into(),
        suite: "s".into(),
        started: "2026-12-02T00:00:00Z".into(),
        git_revision: "g".into(),
        machine: "m".into(),
        embedding_model: "e".into(),
        hearth_version: "0".into(),
        seed: 1,
        options: serde_json::Value::Null,
        finished: None,
    }
}

/// Writes the run's `run.json` in `dir` (through a temporary file).
pub fn write_run_info(dir: &Path, info: &RunInfo) -> Result<(), EvalError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let json = serde_json::to_vec_pretty(info)
        .map_err(|e| EvalError::Analytics(format!("run info: {e}")))?;
    let run = dir.join(RUN_FILE);
    let tmp = dir.join(format!("{RUN_FILE}.tmp"));
    std::fs::write(&tmp, json).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &run).map_err(io(&run))
}

/// Writes `df` to `dir/name` through a temporary file renamed into place.
pub(crate) fn write_parquet(dir: &Path, name: &str, df: &mut DataFrame) -> Result<(), EvalError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    let file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    ParquetWriter::new(file).finish(df).map_err(pl)?;
    std::fs::rename(&tmp, &path).map_err(io(&path))
}

/// A lazy scan of a Parquet file.
pub(crate) fn scan(path: &Path) -> Result<LazyFrame, EvalError> {
    LazyFrame::scan_parquet(
        PlRefPath::try_from_path(path).map_err(pl)?,
        ScanArgsParquet::default(),
    )
    .map_err(pl)
}

/// Reads a run's `run.json`.
pub fn read_run_info(dir: &Path) -> Result<RunInfo, EvalError> {
    let path = dir.join(RUN_FILE);
    let bytes = std::fs::read(&path).map_err(io(&path))?;
    serde_json::from_slice(&bytes).map_err(|e| EvalError::Parse {
        path,
        line: 0,
        reason: e.to_string(),
    })
}

/// Per configuration: mean metrics, latency percentiles (polars, lazily
/// over the Parquet file) and a seeded bootstrap interval of nDCG@10.
pub fn summarise_retrieval(
    path: &Path,
    seed: u64,
) -> Result<BTreeMap<String, RetrievalSummary>, EvalError> {
    let scan = scan(path)?;
    let q = |c: &str, at: f64| {
        col(c)
            .quantile(lit(at), QuantileMethod::Linear)
            .alias(format!("{c}_{}", (at * 100.0).round()))
    };
    let agg = scan
        .clone()
        .group_by([col("mode")])
        .agg([
            len().alias("queries"),
            col("ndcg_at_10").mean(),
            col("recall_at_10").mean(),
            col("recall_at_100").mean(),
            col("mrr_at_10").mean(),
            q("latency_ms", 0.5),
            q("latency_ms", 0.95),
            q("latency_ms", 0.99),
            col("ndcg_at_10").alias("ndcg_values"),
        ])
        .sort(["mode"], SortMultipleOptions::default())
        .collect()
        .map_err(pl)?;
    let rows = agg.height();
    let f = |name: &str| -> Result<Vec<f64>, EvalError> {
        let c = agg
            .column(name)
            .map_err(pl)?
            .cast(&DataType::Float64)
            .map_err(pl)?;
        let c = c.f64().map_err(pl)?;
        Ok((0..rows).map(|i| c.get(i).unwrap_or(f64::NAN)).collect())
    };
    let mode = agg.column("mode").map_err(pl)?.str().map_err(pl)?;
    let modes: Vec<String> = (0..rows)
        .map(|i| mode.get(i).unwrap_or_default().to_owned())
        .collect();
    let queries = f("queries")?;
    let (ndcg, r10, r100, mrr) = (
        f("ndcg_at_10")?,
        f("recall_at_10")?,
        f("recall_at_100")?,
        f("mrr_at_10")?,
    );
    let (p50, p95, p99) = (
        f("latency_ms_50")?,
        f("latency_ms_95")?,
        f("latency_ms_99")?,
    );
    let values = agg
        .column("ndcg_values")
        .map_err(pl)?
        .list()
        .map_err(pl)?
        .clone();
    let mut out = BTreeMap::new();
    for (i, mode) in modes.into_iter().enumerate() {
        let sample: Vec<f64> = values
            .get_as_series(i)
            .and_then(|s| s.f64().ok().map(|c| c.into_no_null_iter().collect()))
            .unwrap_or_default();
        out.insert(
            mode,
            RetrievalSummary {
                queries: queries[i] as u64,
                ndcg_at_10: ndcg[i],
                ndcg_ci: bootstrap_ci(&sample, 0.95, 2000, seed),
                recall_at_10: r10[i],
                recall_at_100: r100[i],
                mrr_at_10: mrr[i],
                p50_ms: p50[i],
                p95_ms: p95[i],
                p99_ms: p99[i],
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(mode: &str, q: usize, ndcg: f64, ms: f64) -> QueryResult {
        QueryResult {
            query_id: format!("q{q}"),
            mode: mode.into(),
            ndcg_at_10: ndcg,
            recall_at_10: ndcg,
            recall_at_100: 1.0,
            mrr_at_10: ndcg,
            first_relevant: (ndcg > 0.0).then_some(1),
            latency_ms: ms,
        }
    }

    #[test]
    fn rows_round_trip_through_parquet_into_summaries() {
        let dir = tempfile::tempdir().unwrap();
        let info = test_info("r1");
        let mut rows = Vec::new();
        for q in 0..20 {
            rows.push(row("bm25", q, if q % 2 == 0 { 1.0 } else { 0.0 }, q as f64));
            rows.push(row("vector", q, 1.0, 10.0));
        }
        write_retrieval(dir.path(), &info, &rows).unwrap();
        write_run_info(dir.path(), &info).unwrap();
        assert_eq!(read_run_info(dir.path()).unwrap(), info);
        let s = summarise_retrieval(&dir.path().join(RETRIEVAL_FILE), 1).unwrap();
        assert_eq!(s.keys().collect::<Vec<_>>(), ["bm25", "vector"]);
        let bm25 = &s["bm25"];
        assert_eq!(bm25.queries, 20);
        assert!((bm25.ndcg_at_10 - 0.5).abs() < 1e-12);
        let (lo, hi) = bm25.ndcg_ci.unwrap();
        assert!(lo < 0.5 && hi > 0.5, "{lo} {hi}");
        assert!((bm25.p50_ms - 9.5).abs() < 1e-9, "{}", bm25.p50_ms);
        assert_eq!(s["vector"].ndcg_ci, Some((1.0, 1.0)));
        assert_eq!(s["vector"].p95_ms, 10.0);
    }
}
