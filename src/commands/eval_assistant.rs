//! The assistant part of `hearth eval run`: every question answered by the
//! assistant as `hearth ask` would (routed, with the configured tiers and
//! cloud), scored against its gold answer and gold source, one Parquet row
//! per question; the calls are metered into the run's directory.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use hearth_assistant::Retriever;
use hearth_assistant::calibrate::answer_matches;
use hearth_assistant::meter::MeterLog;
use hearth_embed::Embedder;
use hearth_eval::answers::{
    ASSISTANT_FILE, AnswerResult, AnswerSummary, UNANSWERED, summarise_answers, write_answers,
};
use hearth_eval::metrics::token_f1;
use hearth_eval::results::RunInfo;
use hearth_eval::suite::AssistantSuite;
use indicatif::{ProgressBar, ProgressStyle};

use super::ask::{ask_options, assistant};
use crate::cli::EvalRunArgs;
use crate::context::Context;

/// Answers the suite's questions (the first `--limit`), writes
/// `assistant.parquet` and returns its aggregates.
pub fn run(
    ctx: &Context,
    embedder: &Arc<Embedder>,
    suite: &AssistantSuite,
    args: &EvalRunArgs,
    info: &RunInfo,
    run_dir: &Path,
) -> Result<AnswerSummary> {
    let (index, _) = super::eval::index_corpus(ctx, embedder, &suite.name, &suite.corpus)?;
    let retriever = Retriever::new(embedder, &index)?.with_options(ctx.search.clone());
    // Metered into the run, not into the user's own log.
    let mut assistant = assistant(ctx, retriever, None, false)?
        .with_metering(MeterLog::new(run_dir), ctx.prices.clone());
    let options = ask_options(ctx, None, args.max_tokens);
    let questions = &suite.questions[..args.limit.unwrap_or(usize::MAX).min(suite.questions.len())];
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(questions.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("answering {bar:30} {pos}/{len} {msg} ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut rows = Vec::with_capacity(questions.len());
    for q in questions {
        bar.set_message(q.id.clone());
        let t = Instant::now();
        let answer = assistant.ask(&q.question, &options, |_, _| {}, |_| {})?;
        let latency_ms = t.elapsed().as_secs_f64() * 1e3;
        let answered = answer.tier.is_some();
        let (prompt, completion) = answer.attempts.iter().fold((0u64, 0u64), |(p, c), a| {
            (p + a.prompt_tokens as u64, c + a.completion_tokens as u64)
        });
        let cost = answer
            .attempts
            .iter()
            .map(|a| {
                ctx.prices.cost(
                    &a.tier,
                    u32::try_from(a.prompt_tokens).unwrap_or(u32::MAX),
                    u32::try_from(a.completion_tokens).unwrap_or(u32::MAX),
                    a.latency_ms / 1e3,
                )
            })
            .sum();
        let row = AnswerResult {
            query_id: q.id.clone(),
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
            prompt_tokens: prompt,
            completion_tokens: completion,
            cost_usd: cost,
        };
        let line = format!(
            "{} {} on {} in {:.1} s",
            q.id,
            if row.correct { "right" } else { "wrong" },
            row.tier,
            latency_ms / 1e3
        );
        if bar.is_hidden() {
            eprintln!("{line}");
        } else {
            bar.println(line);
        }
        rows.push(row);
        bar.inc(1);
    }
    bar.finish_and_clear();
    write_answers(run_dir, info, &rows)?;
    Ok(summarise_answers(&run_dir.join(ASSISTANT_FILE), args.seed)?)
}

/// The assistant part as a table: overall, then per tier chosen.
pub fn print(s: &AnswerSummary) {
    let ci = s
        .accuracy_ci95
        .map(|(lo, hi)| format!(" (95% CI {lo:.2}–{hi:.2})"))
        .unwrap_or_default();
    println!(
        "\nassistant — {} questions: accuracy {:.2}{ci}, token F1 {:.2}, gold cited {:.2}",
        s.questions, s.accuracy, s.f1, s.citation_accuracy
    );
    println!(
        "served locally {:.0}%, reached the cloud {:.0}%; latency p50 {:.1} s, p95 {:.1} s, p99 {:.1} s; cost ${:.4} (${:.4} per 1k requests), {} tokens",
        s.local_share * 100.0,
        s.cloud_share * 100.0,
        s.p50_ms / 1e3,
        s.p95_ms / 1e3,
        s.p99_ms / 1e3,
        s.cost_usd,
        s.cost_per_1k_usd,
        s.tokens
    );
    println!(
        "{:<8} {:>8} {:>6} {:>9} {:>8} {:>8}",
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
