//! Assistant results as data: one Parquet row per question and
//! configuration (routed, or forced onto one tier: tier chosen, correctness,
//! citation correctness, latency per stage, tokens, cost, peak memory), and
//! the aggregates per configuration from polars — the routing split,
//! accuracy with a bootstrap interval, latency percentiles, cost per 1,000
//! requests and peak RSS.
//!
//! ```no_run
//! use hearth_eval::answers::{summarise_answers, ASSISTANT_FILE};
//! let run = std::path::Path::new("/home/me/.local/share/hearth/eval/runs/20261202-0812-demo");
//! for (config, s) in summarise_answers(&run.join(ASSISTANT_FILE), 42)? {
//!     println!("{config}: accuracy {:.2}, {:.0}% served locally", s.accuracy, s.local_share * 100.0);
//! }
//! # Ok::<(), hearth_eval::EvalError>(())
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::EvalError;
use crate::metrics::bootstrap_ci;
use crate::results::RunInfo;

/// The assistant rows of a run.
pub const ASSISTANT_FILE: &str = "assistant.parquet";

/// The tier name of a question no tier answered.
pub const UNANSWERED: &str = "none";

/// The configuration that lets the router choose the tier.
pub const ROUTED: &str = "routed";

/// One question's answer under one configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerResult {
    /// Id of the question answered.
    pub query_id: String,
    /// [`ROUTED`], or the tier every request was forced onto.
    pub config: String,
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
    /// Some generation call of the request went to the cloud tier.
    pub escalated_to_cloud: bool,
    /// The whole request.
    pub latency_ms: f64,
    /// Stage: classifying the question and searching the index.
    pub retrieval_ms: f64,
    /// Stage: every generation call (local or cloud) together.
    pub generation_ms: f64,
    /// Prompt tokens over all generation calls.
    pub prompt_tokens: u64,
    /// Completion tokens over all generation calls.
    pub completion_tokens: u64,
    /// Priced cost of all generation calls, in US dollars.
    pub cost_usd: f64,
    /// The process's peak resident set size since its configuration began.
    pub peak_rss_bytes: u64,
}

/// One tier's share of the answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TierSummary {
    /// Requests this tier answered.
    pub requests: u64,
    /// Share of all requests this tier answered.
    pub share: f64,
    /// Share of this tier's answers that were correct.
    pub accuracy: f64,
    /// Median request latency, in milliseconds.
    pub p50_ms: f64,
    /// 95th-percentile request latency, in milliseconds.
    pub p95_ms: f64,
    /// 99th-percentile request latency, in milliseconds.
    pub p99_ms: f64,
}

/// The assistant part of a run under one configuration, aggregated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnswerSummary {
    /// Questions answered under this configuration.
    pub questions: u64,
    /// Share of answers containing the gold answer.
    pub accuracy: f64,
    /// 95% bootstrap confidence interval of the accuracy.
    pub accuracy_ci95: Option<(f64, f64)>,
    /// Mean token F1 of the replies against the gold answers.
    pub f1: f64,
    /// Share of answers whose supported citations name the gold document.
    pub citation_accuracy: f64,
    /// Share of requests answered on a local tier.
    pub local_share: f64,
    /// Share of requests that reached the cloud.
    pub cloud_share: f64,
    /// Median end-to-end request latency, in milliseconds.
    pub p50_ms: f64,
    /// 95th-percentile end-to-end request latency, in milliseconds.
    pub p95_ms: f64,
    /// 99th-percentile end-to-end request latency, in milliseconds.
    pub p99_ms: f64,
    /// Latency of the retrieval stage.
    pub retrieval_p50_ms: f64,
    /// 95th-percentile latency of the retrieval stage, in milliseconds.
    pub retrieval_p95_ms: f64,
    /// Latency of the generation stage.
    pub generation_p50_ms: f64,
    /// 95th-percentile latency of the generation stage, in milliseconds.
    pub generation_p95_ms: f64,
    /// Total cost of all requests, in US dollars.
    pub cost_usd: f64,
    /// Cost per 1,000 requests, in US dollars.
    pub cost_per_1k_usd: f64,
    /// Prompt plus completion tokens over all requests.
    pub tokens: u64,
    /// Highest resident set size while this configuration ran.
    pub peak_rss_bytes: u64,
    /// Per tier chosen (including [`UNANSWERED`]).
    pub by_tier: BTreeMap<String, TierSummary>,
}

use crate::polars_error as pl;

/// Writes the rows to `assistant.parquet` in `dir` (through a temporary
/// file renamed into place), with the run's context on every row.
pub fn write_answers(dir: &Path, info: &RunInfo, rows: &[AnswerResult]) -> Result<(), EvalError> {
    let df = df!(
        "query_id" => rows.iter().map(|r| r.query_id.clone()).collect::<Vec<_>>(),
        "config" => rows.iter().map(|r| r.config.clone()).collect::<Vec<_>>(),
        "tier" => rows.iter().map(|r| r.tier.clone()).collect::<Vec<_>>(),
        "correct" => rows.iter().map(|r| r.correct).collect::<Vec<_>>(),
        "f1" => rows.iter().map(|r| r.f1).collect::<Vec<_>>(),
        "cited_gold" => rows.iter().map(|r| r.cited_gold).collect::<Vec<_>>(),
        "attempts" => rows.iter().map(|r| r.attempts).collect::<Vec<_>>(),
        "escalated_to_cloud" => rows.iter().map(|r| r.escalated_to_cloud).collect::<Vec<_>>(),
        "latency_ms" => rows.iter().map(|r| r.latency_ms).collect::<Vec<_>>(),
        "retrieval_ms" => rows.iter().map(|r| r.retrieval_ms).collect::<Vec<_>>(),
        "generation_ms" => rows.iter().map(|r| r.generation_ms).collect::<Vec<_>>(),
        "prompt_tokens" => rows.iter().map(|r| r.prompt_tokens).collect::<Vec<_>>(),
        "completion_tokens" => rows.iter().map(|r| r.completion_tokens).collect::<Vec<_>>(),
        "cost_usd" => rows.iter().map(|r| r.cost_usd).collect::<Vec<_>>(),
        "peak_rss_bytes" => rows.iter().map(|r| r.peak_rss_bytes).collect::<Vec<_>>(),
    )
    .map_err(pl)?;
    crate::results::write_parquet(
        dir,
        ASSISTANT_FILE,
        &mut crate::results::with_run_context(info, df)?,
    )
}

/// The aggregates of an `assistant.parquet` file per configuration
/// (polars, lazily).
pub fn summarise_answers(
    path: &Path,
    seed: u64,
) -> Result<BTreeMap<String, AnswerSummary>, EvalError> {
    let scan = crate::results::scan(path)?;
    let configs = scan
        .clone()
        .select([col("config").unique().sort(SortOptions::default())])
        .collect()
        .map_err(pl)?;
    let configs: Vec<String> = configs
        .column("config")
        .map_err(pl)?
        .str()
        .map_err(pl)?
        .iter()
        .flatten()
        .map(str::to_owned)
        .collect();
    configs
        .into_iter()
        .map(|c| {
            let rows = scan.clone().filter(col("config").eq(lit(c.clone())));
            Ok((c, summarise_config(rows, seed)?))
        })
        .collect()
}

/// The aggregates of one configuration's rows.
fn summarise_config(scan: LazyFrame, seed: u64) -> Result<AnswerSummary, EvalError> {
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
            quantile("retrieval_ms", 0.5).alias("retrieval_p50"),
            quantile("retrieval_ms", 0.95).alias("retrieval_p95"),
            quantile("generation_ms", 0.5).alias("generation_p50"),
            quantile("generation_ms", 0.95).alias("generation_p95"),
            col("peak_rss_bytes").max().cast(DataType::Float64),
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
            quantile("latency_ms", 0.99),
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
                p99_ms: get(&by_tier, "p99", i)?,
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
        retrieval_p50_ms: get(&overall, "retrieval_p50", 0)?,
        retrieval_p95_ms: get(&overall, "retrieval_p95", 0)?,
        generation_p50_ms: get(&overall, "generation_p50", 0)?,
        generation_p95_ms: get(&overall, "generation_p95", 0)?,
        cost_usd: cost,
        cost_per_1k_usd: 1000.0 * cost / questions.max(1.0),
        tokens: get(&overall, "tokens", 0)? as u64,
        peak_rss_bytes: get(&overall, "peak_rss_bytes", 0)? as u64,
        by_tier: tier_map,
    })
}

/// A routed answer for tests: question `q` on `tier`.
#[cfg(test)]
pub(crate) fn test_row(q: usize, tier: &str, correct: bool, ms: f64, cost: f64) -> AnswerResult {
    AnswerResult {
        query_id: format!("q{q}"),
        config: ROUTED.into(),
        tier: tier.into(),
        correct,
        f1: if correct { 1.0 } else { 0.0 },
        cited_gold: correct,
        attempts: 1,
        escalated_to_cloud: tier == "cloud",
        latency_ms: ms,
        retrieval_ms: 20.0,
        generation_ms: ms - 20.0,
        prompt_tokens: 100,
        completion_tokens: 10,
        cost_usd: cost,
        peak_rss_bytes: (q as u64 + 1) << 20,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::test_row as row;

    #[test]
    fn routing_split_accuracy_and_cost() {
        let dir = tempfile::tempdir().unwrap();
        let info = crate::results::test_info("r");
        let mut rows = vec![
            row(0, "local", true, 100.0, 0.0),
            row(1, "local", false, 300.0, 0.0),
            row(2, "cloud", true, 900.0, 0.002),
            row(3, UNANSWERED, false, 500.0, 0.0),
        ];
        // The same questions forced onto micro: a configuration of its own.
        rows.extend((0..4).map(|q| AnswerResult {
            config: "micro".into(),
            ..row(q + 10, "micro", q == 0, 50.0, 0.0)
        }));
        write_answers(dir.path(), &info, &rows).unwrap();
        let all = summarise_answers(&dir.path().join(ASSISTANT_FILE), 1).unwrap();
        assert_eq!(all.keys().collect::<Vec<_>>(), ["micro", ROUTED]);
        let micro = &all["micro"];
        assert_eq!((micro.questions, micro.accuracy), (4, 0.25));
        assert_eq!(micro.local_share, 1.0);
        assert_eq!(micro.peak_rss_bytes, 14 << 20);
        let s = &all[ROUTED];
        assert_eq!(s.peak_rss_bytes, 4 << 20);
        assert_eq!(s.retrieval_p50_ms, 20.0);
        assert_eq!(s.generation_p50_ms, 380.0);
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
