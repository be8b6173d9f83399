//! The options of `hearth eval run` and `hearth eval routing`, stored in
//! each run's `run.json` so `--resume` measures what the run was started
//! to measure.

use clap::Args;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `hearth eval routing`.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct EvalRoutingArgs {
    /// MMLU questions to sample.
    #[arg(long, default_value_t = 200)]
    pub mmlu: usize,
    /// GSM8K problems to sample.
    #[arg(long, default_value_t = 100)]
    pub gsm8k: usize,
    /// The weak and the strong tier, in that order.
    #[arg(long, value_delimiter = ',', default_value = "micro,local")]
    pub tiers: Vec<String>,
    /// Folder with mmlu.jsonl and gsm8k.jsonl [default: fetched into
    /// ~/.cache/hearth/eval-data by scripts/fetch-routing-data.sh].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Seed of the question sample and the bootstrap.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Continue a run that was stopped: RUN (an id or a folder), or the
    /// latest unfinished routing run. Its own options are used; only the
    /// questions it has not answered yet are asked.
    #[arg(long, value_name = "RUN", num_args = 0..=1, default_missing_value = LATEST)]
    #[serde(skip)]
    pub resume: Option<String>,
    /// The aggregates as JSON.
    #[arg(long)]
    #[serde(skip)]
    pub json: bool,
}

/// `--resume` without a run: the latest unfinished one.
pub const LATEST: &str = "latest";

/// `hearth eval run`.
#[derive(Debug, Clone, Args, Serialize, Deserialize)]
pub struct EvalRunArgs {
    /// A suite shipped with Hearth (`fixtures/eval/NAME`: demo, manpages).
    /// A suite directory holds a retrieval part — BEIR (`corpus.jsonl`,
    /// `queries.jsonl`, `qrels/test.tsv`) or a `suite.toml` with
    /// `corpus_dir` (a folder of real files) or `known_items` — and/or an
    /// assistant part (`suite.toml`: `corpus_dir` and `questions`).
    #[arg(
        long,
        conflicts_with = "suite_dir",
        required_unless_present_any = ["suite_dir", "resume"]
    )]
    pub suite: Option<String>,
    /// A suite directory: BEIR (`corpus.jsonl`, `queries.jsonl`,
    /// `qrels/test.tsv`) or a `suite.toml` naming a folder or known items.
    #[arg(long)]
    pub suite_dir: Option<PathBuf>,
    /// Search modes to compare, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "bm25,vector,hybrid")]
    pub modes: Vec<String>,
    /// Only the first N queries (and questions).
    #[arg(long, conflicts_with = "sample")]
    pub limit: Option<usize>,
    /// Only N queries (and questions) drawn at random with `--seed`.
    #[arg(long)]
    pub sample: Option<usize>,
    /// Run only this part of the suite: `retrieval` or `assistant`
    /// (default: every part the suite has).
    #[arg(long, value_parser = ["retrieval", "assistant"])]
    pub only: Option<String>,
    /// Most tokens per answer in the assistant part (default from the config, else 96).
    #[arg(long)]
    pub max_tokens: Option<usize>,
    /// Configurations of the assistant part, comma-separated: `routed` (the
    /// router chooses, escalating as `hearth ask` does) and any tier to
    /// force every request onto (`micro`, `local`, `larger`, `cloud`).
    #[arg(long, value_delimiter = ',', default_value = "routed")]
    pub configs: Vec<String>,
    /// Seed of `--sample` and of the bootstrap confidence intervals.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Continue a run that was stopped: RUN (an id or a folder), or the
    /// latest unfinished suite run. Its own options are used; only what it
    /// has not measured yet is run.
    #[arg(long, value_name = "RUN", num_args = 0..=1, default_missing_value = LATEST)]
    #[serde(skip)]
    pub resume: Option<String>,
    /// The run's aggregate metrics as JSON, keyed by mode and metric.
    #[arg(long)]
    #[serde(skip)]
    pub json: bool,
}
