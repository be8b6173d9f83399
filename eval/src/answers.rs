//! Assistant results as data: one Parquet row per question answered (tier
//! chosen, correctness, citation correctness, latency, tokens, cost), and
//! the aggregates from polars — the routing split, accuracy with a bootstrap
//! interval, latency percentiles and cost per 1,000 requests.
//!
//! ```no_run
//! use hearth_eval::answers::{summarise_answers, ASSISTANT_FILE};
//! let run = std::path::Path::new("/home/me/.local/share/hearth/eval/runs/20261202-0812-demo");
//! let s = summarise_answers(&run.join(ASSISTANT_FILE), 42)?;
//! println!("accuracy {:.2}, {} served locally", s.accuracy, s.local_share);
//! # Ok::<(), hearth_eval::EvalError>(())
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use serde::Serialize;

use crate::EvalError;
use crate::metrics::bootstrap_ci;
use crate::results::RunInfo;

/// The assistant rows of a run.
pub const ASSISTANT_FILE: &str = "assistant.parquet";

/// The tier name of a question no tier answered.
pub const UNANSWERED: &str = "none";

/// One question's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnswerResult {
    pub query_id: String,
    /// The tier whose answer was accepted, or [`UNANSWERED`].
    pub tier: String,
    /// The gold answer is contained in the reply (normalised).
    pub correct: bool,
    /// Token F1 of the reply against the gold answer.
    pub f1: f64,
    /// A supported citation names the gold document.
    pub cited_gold: bool,
    /// Generation calls made (a cascade makes several).
    pub attempts: u32,
    pub escalated_to_cloud: bool,
    pub latency_ms: f64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_usd: f64,
}

/// One tier's share of the answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TierSummary {
    pub requests: u64,
    /// Share of all requests this tier answered.
    pub share: f64,
    pub accuracy: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
}

/// The assistant part of a run, aggregated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnswerSummary {
    pub questions: u64,
    pub accuracy: f64,
    /// 95% bootstrap confidence interval of the accuracy.
    pub accuracy_ci95: Option<(f64, f64)>,
    pub f1: f64,
    pub citation_accuracy: f64,
    /// Share of requests answered on a local tier.
    pub local_share: f64,
    /// Share of requests that reached the cloud.
    pub cloud_share: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub cost_usd: f64,
    pub cost_per_1k_usd: f64,
    pub tokens: u64,
    /// Per tier chosen (including [`UNANSWERED`]).
    pub by_tier: BTreeMap<String, TierSummary>,
}

use crate::polars_error as pl;

/// Writes the rows to `assistant.parquet` in `dir` (through a temporary
/// file renamed into place), with the run's context on every row.
pub fn write_answers(dir: &Path, info: &RunInfo, rows: &[AnswerResult]) -> Result<(), EvalError> {
    let df = df!(
        "query_id" => rows.iter().map(|r| r.query_id.clone()).collect::<Vec<_>>(),
        "tier" => rows.iter().map(|r| r.tier.clone()).collect::<Vec<_>>(),
        "correct" => rows.iter().map(|r| r.correct).collect::<Vec<_>>(),
        "f1" => rows.iter().map(|r| r.f1).collect::<Vec<_>>(),
        "cited_gold" => rows.iter().map(|r| r.cited_gold).collect::<Vec<_>>(),
        "attempts" => rows.iter().map(|r| r.attempts).collect::<Vec<_>>(),
        "escalated_to_cloud" => rows.iter().map(|r| r.escalated_to_cloud).collect::<Vec<_>>(),
        "latency_ms" => rows.iter().map(|r| r.latency_ms).collect::<Vec<_>>(),
        "prompt_tokens" => rows.iter().map(|r| r.prompt_tokens).collect::<Vec<_>>(),
        "completion_tokens" => rows.iter().map(|r| r.completion_tokens).collect::<Vec<_>>(),
        "cost_usd" => rows.iter().map(|r| r.cost_usd).collect::<Vec<_>>(),
    )
    .map_err(pl)?;
    crate::results::write_parquet(
        dir,
        ASSISTANT_FILE,
        &mut crate::results::with_run_context(info, df)?,
    )
}

/// The aggregates of an `assistant.parquet` file (polars, lazily).
pub fn summarise_answers(path: &Path, seed: u64) -> Result<AnswerSummary, EvalError> {
    let scan = crate::results::scan(path)?;
    let quantile = |c: &str, at: f64| {
        col(c)
            .quantile(lit(at), QuantileMethod::Linear)
            .alias(format!("p{}", (at * 100.0).round()))
    };
    let local = col("tier")
        .neq(lit(UNANSWERED))
        .and(col("tier").neq(lit("cloud")));
    let overall = scan
        .clone()
        .select([
            len().cast(DataType::Float64).alias("questions"),
            col("correct")
                .cast(DataType::Float64)
                .mean()
                .alias("accuracy"),
            col("f1").mean(),
            col("cited_gold")
                .cast(DataType::Float64)
                .mean()
                .alias("citation_accuracy"),
            local.cast(DataType::Float64).mean().alias("local_share"),
            col("escalated_to_cloud")
                .cast(DataType::Float64)
                .mean()
                .alias("cloud_share"),
            quantile("latency_ms", 0.5),
            quantile("latency_ms", 0.95),
            quantile("latency_ms", 0.99),
            col("cost_usd").sum(),
            (col("prompt_tokens") + col("completion_tokens"))
                .sum()
                .cast(DataType::Float64)
                .alias("tokens"),
        ])
        .collect()
        .map_err(pl)?;
    let get = |df: &DataFrame, name: &str, row: usize| -> Result<f64, EvalError> {
        let c = df
            .column(name)
            .map_err(pl)?
            .cast(&DataType::Float64)
            .map_err(pl)?;
        Ok(c.f64().map_err(pl)?.get(row).unwrap_or(f64::NAN))
    };
    let correct: Vec<f64> = {
        let df = scan
            .clone()
            .select([col("correct").cast(DataType::Float64)])
            .collect()
            .map_err(pl)?;
        let c = df.column("correct").map_err(pl)?.f64().map_err(pl)?.clone();
        c.into_no_null_iter().collect()
    };
    let by_tier = scan
        .group_by([col("tier")])
        .agg([
            len().cast(DataType::Float64).alias("requests"),
            col("correct")
                .cast(DataType::Float64)
                .mean()
                .alias("accuracy"),
            quantile("latency_ms", 0.5),
            quantile("latency_ms", 0.95),
        ])
        .sort(["tier"], SortMultipleOptions::default())
        .collect()
        .map_err(pl)?;
    let questions = get(&overall, "questions", 0)?;
    let tiers = by_tier
        .column("tier")
        .map_err(pl)?
        .str()
        .map_err(pl)?
        .clone();
    let mut tier_map = BTreeMap::new();
    for i in 0..by_tier.height() {
        let requests = get(&by_tier, "requests", i)?;
        tier_map.insert(
            tiers.get(i).unwrap_or_default().to_owned(),
            TierSummary {
                requests: requests as u64,
                share: requests / questions.max(1.0),
                accuracy: get(&by_tier, "accuracy", i)?,
                p50_ms: get(&by_tier, "p50", i)?,
                p95_ms: get(&by_tier, "p95", i)?,
            },
        );
    }
    let cost = get(&overall, "cost_usd", 0)?;
    Ok(AnswerSummary {
        questions: questions as u64,
        accuracy: get(&overall, "accuracy", 0)?,
        accuracy_ci95: bootstrap_ci(&correct, 0.95, 2000, seed),
        f1: get(&overall, "f1", 0)?,
        citation_accuracy: get(&overall, "citation_accuracy", 0)?,
        local_share: get(&overall, "local_share", 0)?,
        cloud_share: get(&overall, "cloud_share", 0)?,
        p50_ms: get(&overall, "p50", 0)?,
        p95_ms: get(&overall, "p95", 0)?,
        p99_ms: get(&overall, "p99", 0)?,
        cost_usd: cost,
        cost_per_1k_usd: 1000.0 * cost / questions.max(1.0),
        tokens: get(&overall, "tokens", 0)? as u64,
        by_tier: tier_map,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(q: usize, tier: &str, correct: bool, ms: f64, cost: f64) -> AnswerResult {
        AnswerResult {
            query_id: format!("q{q}"),
            tier: tier.into(),
            correct,
            f1: if correct { 1.0 } else { 0.0 },
            cited_gold: correct,
            attempts: 1,
            escalated_to_cloud: tier == "cloud",
            latency_ms: ms,
            prompt_tokens: 100,
            completion_tokens: 10,
            cost_usd: cost,
        }
    }

    #[test]
    fn routing_split_accuracy_and_cost() {
        let dir = tempfile::tempdir().unwrap();
        let info = crate::results::test_info("r");
        let rows = vec![
            row(0, "local", true, 100.0, 0.0),
            row(1, "local", false, 300.0, 0.0),
            row(2, "cloud", true, 900.0, 0.002),
            row(3, UNANSWERED, false, 500.0, 0.0),
        ];
        write_answers(dir.path(), &info, &rows).unwrap();
        let s = summarise_answers(&dir.path().join(ASSISTANT_FILE), 1).unwrap();
        assert_eq!(s.questions, 4);
        assert_eq!(s.accuracy, 0.5);
        assert_eq!(s.local_share, 0.5);
        assert_eq!(s.cloud_share, 0.25);
        assert!((s.cost_usd - 0.002).abs() < 1e-12);
        assert!((s.cost_per_1k_usd - 0.5).abs() < 1e-9);
        assert_eq!(s.tokens, 440);
        assert_eq!(s.by_tier["local"].requests, 2);
        assert_eq!(s.by_tier["local"].share, 0.5);
        assert_eq!(s.by_tier["local"].p50_ms, 200.0);
        assert_eq!(s.by_tier["cloud"].accuracy, 1.0);
        assert_eq!(s.by_tier[UNANSWERED].requests, 1);
        assert!(s.p95_ms > 500.0 && s.p95_ms <= 900.0);
    }
}
