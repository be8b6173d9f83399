//! `hearth router fit | show`: calibrate the router on labelled questions.
//!
//! `fit` indexes the questions' corpus (incrementally, into
//! `<data-dir>/demo` for the bundled one, else `<data-dir>/router-fit`),
//! answers every question on every local tier, fits the thresholds by
//! replaying the cascade (see `hearth_assistant::calibrate`), prints the
//! calibration table and writes the thresholds as TOML.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, Result};
use hearth_assistant::calibrate::{self, Replay};
use hearth_assistant::{AskOptions, Assistant, Retriever, Router, RouterConfig, Tier};
use hearth_eval::load_questions;
use hearth_store::Index;

use super::ask::{generators, router_config, router_config_path};
use super::index::index_sources;
use crate::cli::{RouterCommand, RouterFitArgs};
use crate::context::{Context, index_dir};

pub fn run(ctx: &Context, cmd: RouterCommand) -> Result<ExitCode> {
    match cmd {
        RouterCommand::Fit(args) => fit(ctx, &args),
        RouterCommand::Show => {
            let config = router_config(&ctx.data_dir)?;
            println!("# {}", router_config_path(&ctx.data_dir).display());
            print!("{}", toml::to_string_pretty(&config)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn fit(ctx: &Context, args: &RouterFitArgs) -> Result<ExitCode> {
    let default = super::demo::default_fixtures().join("questions.jsonl");
    let path = args.questions.clone().unwrap_or(default.clone());
    let mut questions = load_questions(&path)
        .with_context(|| format!("reading labelled questions from {}", path.display()))?;
    if let Some(n) = args.limit {
        questions.truncate(n);
    }
    anyhow::ensure!(!questions.is_empty(), "no questions in {}", path.display());
    let corpus = path
        .parent()
        .context("the questions file has no directory")?
        .to_path_buf();
    let data_dir = if path == default {
        ctx.data_dir.join("demo")
    } else {
        ctx.data_dir.join("router-fit")
    };
    let embedder = ctx.embedder()?;
    eprintln!("indexing {} into {}", corpus.display(), data_dir.display());
    index_sources(
        &embedder,
        &data_dir,
        std::slice::from_ref(&corpus),
        hearth_ingest::COMMIT_CHUNKS,
        ctx.codec.as_ref(),
    )?;
    let index = Index::open(&index_dir(&data_dir))?;
    let retriever = Retriever::new(&embedder, &index)?.with_options(ctx.search.clone());
    let generators = generators(ctx, None)?;
    let tiers: Vec<Tier> = generators.keys().copied().collect();
    let mut assistant = Assistant::new(retriever, generators, Router::default());
    let options = AskOptions::default();
    let started = Instant::now();
    let mut observations = Vec::with_capacity(questions.len());
    for (i, q) in questions.iter().enumerate() {
        let obs = assistant.observe(&q.question, &q.answer, &options)?;
        let marks: Vec<String> = obs
            .tiers
            .iter()
            .map(|(t, o)| {
                format!(
                    "{t} {} lp {:.2} grounded {:.0}%",
                    if o.correct { "✓" } else { "✗" },
                    o.generation.mean_logprob,
                    o.check.grounded() * 100.0
                )
            })
            .collect();
        eprintln!("[{}/{}] {}", i + 1, questions.len(), marks.join(" | "));
        observations.push(obs);
    }
    let fitted = calibrate::fit(&tiers, &observations);
    let mut config = fitted.config.clone();
    config.provenance = format!(
        "hearth router fit on {} questions from {} ({}), {} configs replayed: utility {} (correct {} − wrong {}), {} declined",
        questions.len(),
        path.display(),
        chrono::Utc::now().format("%Y-%m-%d"),
        fitted.candidates,
        fitted.replay.utility(),
        fitted.replay.correct,
        fitted.replay.wrong,
        fitted.replay.declined
    );
    println!(
        "\nrouter calibration on {} questions ({:.0} s of generation)\n",
        questions.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "  {:<22} {:>8} {:>7} {:>6} {:>9} {:>8}  answered by",
        "policy", "correct", "wrong", "declined", "accuracy", "s/query"
    );
    for &tier in &tiers {
        print_row(
            &format!("always {tier}"),
            &calibrate::forced(tier, &observations),
        );
    }
    print_row("router (this fit)", &fitted.replay);
    for (name, config) in [
        ("router (committed fit)", RouterConfig::default()),
        ("router (unfitted)", RouterConfig::unfitted()),
    ] {
        print_row(name, &calibrate::replay(&config, &tiers, &observations));
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| router_config_path(&ctx.data_dir));
    write_config(&out, &config)?;
    println!(
        "\nwrote {}:\n{}",
        out.display(),
        toml::to_string_pretty(&config)?
    );
    Ok(ExitCode::SUCCESS)
}

fn print_row(name: &str, r: &Replay) {
    let by: Vec<String> = r
        .answered_by
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    println!(
        "  {name:<22} {:>8} {:>7} {:>6} {:>9.3} {:>8.1}  {}",
        r.correct,
        r.wrong,
        r.declined,
        r.accuracy(),
        r.mean_seconds,
        by.join(", ")
    );
}

fn write_config(path: &Path, config: &RouterConfig) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, toml::to_string_pretty(config)?)?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
