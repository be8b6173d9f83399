//! The assistant part of `hearth eval run`: every question answered by the
//! assistant as `hearth ask` would, under each configuration (`routed`: the
//! router chooses and escalates; or forced onto one tier), scored against
//! its gold answer and gold source, one Parquet row per question and
//! configuration; the calls are metered into the run's directory. Each
//! configuration starts with fresh generators and a reset peak-RSS mark, so
//! its memory figure is its own.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::answers::{
    ASSISTANT_FILE, AnswerResult, AnswerSummary, ROUTED, UNANSWERED, summarise_answers,
    write_answers,
};
use crate::checkpoint::Checkpoint;
use crate::metrics::token_f1;
use crate::results::RunInfo;
use crate::suite::{AssistantSuite, selection};
use anyhow::{Context as _, Result};
use hearth_app::{AssistantSetup, DataDir, parse_tier};
use hearth_assistant::Retriever;
use hearth_assistant::calibrate::answer_matches;
use hearth_assistant::meter::{peak_rss_bytes, reset_peak_rss};
use hearth_embed::Embedder;

use super::{Context, EvalRunArgs};

/// Answers the suite's questions (the first `--limit`, or a `--sample`) under every
/// configuration, writes `assistant.parquet` and returns its aggregates per
/// configuration. Rows already in the run's checkpoint are not asked again.
pub fn run(
    ctx: &Context,
    embedder: &Arc<Embedder>,
    suite: &AssistantSuite,
    args: &EvalRunArgs,
    info: &RunInfo,
    run_dir: &Path,
) -> Result<BTreeMap<String, AnswerSummary>> {
    let path = run_dir.join(ASSISTANT_FILE);
    if path.exists() {
        // Written whole by an earlier attempt of this run.
        return Ok(summarise_answers(&path, args.seed)?);
    }
    // Every configuration is checked before the first question is asked.
    let configs = args
        .configs
        .iter()
        .map(|c| {
            let tier = if c == ROUTED {
                (None, false)
            } else {
                parse_tier(Some(c)).with_context(|| {
                    format!(
                        "configuration `{c}`: `{ROUTED}` or a tier (micro, local, larger, cloud)"
                    )
                })?
            };
            Ok((c.as_str(), tier))
        })
        .collect::<Result<Vec<_>>>()?;
    let (index, _) = super::suite::index_corpus(ctx, embedder, &suite.name, &suite.corpus)?;
    let questions: Vec<_> = selection(suite.questions.len(), args.limit, args.sample, args.seed)
        .into_iter()
        .map(|i| &suite.questions[i])
        .collect();
    let mut rows: Checkpoint<AnswerResult> = Checkpoint::open(run_dir, "assistant")?;
    let done = rows.keys(|r| (r.config.clone(), r.query_id.clone()));
    let total = configs.len() * questions.len();
    let bar = super::answer_bar(total, done.len());
    if !done.is_empty() {
        eprintln!("{} of {total} answers already measured", done.len());
    }
    for (config, (forced, force_cloud)) in configs {
        let todo: Vec<_> = questions
            .iter()
            .filter(|q| !done.contains(&(config.to_owned(), q.id.clone())))
            .collect();
        if todo.is_empty() {
            continue;
        }
        // Fresh generators per configuration: its peak RSS is its own.
        reset_peak_rss();
        let retriever = Retriever::new(embedder, &index)?.with_options(ctx.config().search.clone());
        // Metered into the run, not into the user's own log.
        let setup = AssistantSetup::new(ctx)
            .tier(forced)
            .cloud_only(force_cloud)
            .meter_into(Some(DataDir::new(run_dir)));
        let mut assistant = setup.build(retriever)?;
        let options = setup.ask_options(None, args.max_tokens);
        for q in todo {
            bar.set_message(format!("{config} {}", q.id));
            let t = Instant::now();
            let answer = assistant.ask(&q.question, &options, |_, _| {}, |_| {})?;
            let latency_ms = t.elapsed().as_secs_f64() * 1e3;
            let answered = answer.tier.is_some();
            let attempts = &answer.attempts;
            let row = AnswerResult {
                query_id: q.id.clone(),
                config: config.to_owned(),
                tier: answer.tier.clone().unwrap_or_else(|| UNANSWERED.to_owned()),
                correct: answered && answer_matches(&q.answer, &answer.text),
                f1: if answered {
                    token_f1(&q.answer, &answer.text)
                } else {
                    0.0
                },
                cited_gold: answer
                    .citations
                    .iter()
                    .any(|c| c.supported && q.is_gold(&c.source.uri)),
                attempts: u32::try_from(answer.attempts.len()).unwrap_or(u32::MAX),
                escalated_to_cloud: answer.escalated_to_cloud,
                latency_ms,
                retrieval_ms: answer.retrieval_ms,
                generation_ms: attempts.iter().map(|a| a.latency_ms).sum(),
                prompt_tokens: attempts.iter().map(|a| a.prompt_tokens as u64).sum(),
                completion_tokens: attempts.iter().map(|a| a.completion_tokens as u64).sum(),
                cost_usd: attempts.iter().map(|a| a.cost_usd).sum(),
                peak_rss_bytes: peak_rss_bytes().unwrap_or(0),
            };
            let line = format!(
                "[{config}] {} {} on {} in {:.1} s",
                q.id,
                if row.correct { "right" } else { "wrong" },
                row.tier,
                latency_ms / 1e3
            );
            // Reported once it is on disk: a kill after this line loses nothing.
            rows.push(row)?;
            if bar.is_hidden() {
                eprintln!("{line}");
            } else {
                bar.println(line);
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    write_answers(run_dir, info, rows.rows())?;
    rows.finish()?;
    Ok(summarise_answers(&path, args.seed)?)
}

/// The assistant part as tables: one row per configuration, then the
/// tiers the routed configuration chose.
pub fn print(summary: &BTreeMap<String, AnswerSummary>) {
    let questions = summary.values().map(|s| s.questions).max().unwrap_or(0);
    println!("\nassistant — {questions} questions");
    println!(
        "{:<8} {:>9} {:>11} {:>5} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6} {:>8} {:>9} {:>8}",
        "config",
        "accuracy",
        "95% CI",
        "F1",
        "cited",
        "local",
        "cloud",
        "p50 s",
        "p95 s",
        "ret ms",
        "cost $",
        "$ per 1k",
        "peak MiB"
    );
    for (config, s) in summary {
        let ci = s
            .accuracy_ci95
            .map(|(lo, hi)| format!("{lo:.2}–{hi:.2}"))
            .unwrap_or_default();
        println!(
            "{config:<8} {:>9.2} {ci:>11} {:>5.2} {:>6.2} {:>5.0}% {:>5.0}% {:>6.1} {:>6.1} {:>6.0} {:>8.4} {:>9.4} {:>8.0}",
            s.accuracy,
            s.f1,
            s.citation_accuracy,
            s.local_share * 100.0,
            s.cloud_share * 100.0,
            s.p50_ms / 1e3,
            s.p95_ms / 1e3,
            s.retrieval_p50_ms,
            s.cost_usd,
            s.cost_per_1k_usd,
            s.peak_rss_bytes as f64 / f64::from(1 << 20)
        );
    }
    if let Some(s) = summary.get(ROUTED) {
        println!(
            "\nrouted: tier chosen\n{:<8} {:>8} {:>6} {:>9} {:>8} {:>8}",
            "tier", "requests", "share", "accuracy", "p50 s", "p95 s"
        );
        for (tier, t) in &s.by_tier {
            println!(
                "{tier:<8} {:>8} {:>5.0}% {:>9.2} {:>8.1} {:>8.1}",
                t.requests,
                t.share * 100.0,
                t.accuracy,
                t.p50_ms / 1e3,
                t.p95_ms / 1e3
            );
        }
    }
}
