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
use hearth_app::AssistantSetup;
use hearth_assistant::calibrate::{self, Replay};
use hearth_assistant::{AskOptions, Retriever, RouterConfig, Tier};
use hearth_eval::load_questions;
use hearth_store::Index;

use super::index::run_with_bars;
use crate::cli::{RouterCommand, RouterFitArgs};
use crate::context::Context;

pub fn run(ctx: &Context, cmd: RouterCommand) -> Result<ExitCode> {
    match cmd {
        RouterCommand::Fit(args) => fit(ctx, &args),
        RouterCommand::Show => {
            let config = AssistantSetup::new(ctx).router_config()?;
            println!("# {}", ctx.data().router_fit().display());
            print!("{}", toml::to_string_pretty(&config)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn fit(ctx: &Context, args: &RouterFitArgs) -> Result<ExitCode> {
    let default = ctx.share().demo_fixtures()?.join("questions.jsonl");
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
        ctx.data().demo()
    } else {
        ctx.data().router_fit_corpus()
    };
    let embedder = ctx.embedder()?;
    eprintln!(
        "indexing {} into {}",
        corpus.display(),
        data_dir.root().display()
    );
    let session = ctx.index_session_in(&embedder, data_dir.clone());
    run_with_bars(&session, std::slice::from_ref(&corpus))?;
    let index = Index::open(&data_dir.index())?;
    let retriever = Retriever::new(&embedder, &index)?.with_options(ctx.config().search.clone());
    let mut assistant = AssistantSetup::new(ctx)
        .unfitted()
        .meter_into(None)
        .build(retriever)?;
    let tiers: Vec<Tier> = assistant.tiers();
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
    let out = args.out.clone().unwrap_or_else(|| ctx.data().router_fit());
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
