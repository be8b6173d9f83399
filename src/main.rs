//! `hearth`: the command-line front end over Hearth's libraries. It parses
//! arguments, resolves paths and config, and prints; the work happens in the
//! `hearth-*` crates.

// The binary is the tool that prints: stdout for results, stderr for progress.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod cli;
mod commands;
mod context;
mod progress;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    init_logging(cli.verbose);
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Hearth's own crates, whose log lines are for the user; dependencies'
/// (html5ever's parser notes, candle's, hyper's) show only as errors unless
/// asked for with `-vv` or HEARTH_LOG.
const OWN_CRATES: [&str; 10] = [
    "hearth",
    "hearth_app",
    "hearth_assistant",
    "hearth_bench",
    "hearth_connectors",
    "hearth_embed",
    "hearth_eval",
    "hearth_ingest",
    "hearth_store",
    "hearth_sync",
];

/// The default filter for `-v` given `verbose` times.
fn default_filter(verbose: u8) -> String {
    let own = match verbose {
        0 => "warn",
        1 => "info",
        _ => return "debug".to_owned(),
    };
    let mut filter = String::from("error");
    for krate in OWN_CRATES {
        filter.push_str(&format!(",{krate}={own}"));
    }
    filter
}

fn init_logging(verbose: u8) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HEARTH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter(verbose)));
    // Colour escapes only on a terminal: a redirected log stays plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| progress::LogWriter)
        .with_ansi(ansi)
        .with_target(false)
        .init();
}
