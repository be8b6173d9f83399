//! The runner behind `hearth eval run` and `hearth eval routing`: a suite's
//! corpus indexed through the real pipeline ([`hearth_app::IndexSession`]),
//! its parts measured row by row into a run folder under
//! `<data-dir>/eval/runs/` (checkpointed, so `--resume` continues a killed
//! run), and the aggregates printed.
//!
//! Like `hearth-bench`, the runner is tooling over the libraries: it prints
//! progress and tables and returns `anyhow` errors; the rest of this crate
//! (suites, metrics, results, report, stats) is a library.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod assistant;
mod routing;
mod runs;
mod suite;

pub use args::{EvalRoutingArgs, EvalRunArgs, LATEST};
pub use routing::run as run_routing;
pub use runs::{ROUTING_SUITE, run_dir};
pub use suite::run_suite;

use hearth_app::{AppError, Hearth, IndexSession};
use hearth_ingest::IndexReport;
use indicatif::{ProgressBar, ProgressStyle};
use std::ops::Deref;
use std::path::PathBuf;

/// How the runner indexes a suite's corpus (the binary passes its progress
/// bars; a plain `session.run(paths, None)` does as well).
pub type IndexFn<'a> = &'a dyn Fn(&IndexSession, &[PathBuf]) -> Result<IndexReport, AppError>;

/// What the runner works in: Hearth, and how to index.
pub struct EvalContext<'a> {
    /// The application facade (config, data directory, models).
    pub hearth: &'a Hearth,
    /// Indexes a corpus.
    pub index: IndexFn<'a>,
}

impl Deref for EvalContext<'_> {
    type Target = Hearth;

    fn deref(&self) -> &Hearth {
        self.hearth
    }
}

pub(crate) type Context<'a> = EvalContext<'a>;

/// A bar over `total` answers of an eval run, `done` of them measured by an
/// earlier attempt; hidden when stderr is not a terminal (the caller then
/// prints a line per answer).
pub(crate) fn answer_bar(total: usize, done: usize) -> ProgressBar {
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressBar::new(total as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("answering {bar:30} {pos}/{len} {msg} ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_position(done as u64);
    bar
}
