//! `hearth demo`: installs the embedding model if needed, indexes the bundled demo
//! corpus into its own index (`<data-dir>/demo`), and shows what search finds for
//! the corpus's questions — a few in full, then the hit rate over all of them —
//! and then answers a few of them with the local tiers, with citations.

use super::index::{print_report, run_with_bars};
use super::search::print_hit;
use crate::cli::DemoArgs;
use crate::context::Context;
use anyhow::{Context as _, Result};
use hearth_app::{AssistantSetup, DataDir};
use hearth_assistant::{AskOptions, Retriever};
use hearth_eval::{RankSummary, load_questions};
use hearth_store::Index;
use std::process::ExitCode;

/// Questions shown with their hits.
const SHOWN: usize = 4;

pub fn run(ctx: &Context, args: &DemoArgs) -> Result<ExitCode> {
    let fixtures = match &args.fixtures {
        Some(f) => f.clone(),
        None => ctx.share().demo_fixtures()?,
    };
    let questions_path = fixtures.join("questions.jsonl");
    let questions = load_questions(&questions_path).with_context(|| {
        format!(
            "the demo corpus at {} has no questions.jsonl",
            fixtures.display()
        )
    })?;
    let embedder = ctx.embedder()?;
    let data_dir = ctx.data().demo();
    println!(
        "indexing {} into {}",
        fixtures.display(),
        data_dir.root().display()
    );
    let session = ctx.index_session_in(&embedder, data_dir.clone());
    let report = run_with_bars(&session, std::slice::from_ref(&fixtures))?;
    print_report(&report);
    let index = Index::open(&data_dir.index())?;
    let retriever = Retriever::new(&embedder, &index)?.with_options(ctx.config().search.clone());
    let mut ranks = Vec::with_capacity(questions.len());
    for (i, q) in questions.iter().enumerate() {
        let hits = retriever.search(&q.question, 5.max(args.k))?;
        let rank = q.gold_rank(hits.iter().map(|h| h.document.uri.as_str()));
        ranks.push(rank);
        if i < SHOWN {
            println!("\n? {}", q.question);
            println!("  (expected answer: {} — in {})", q.answer, q.gold_uri);
            for hit in hits.iter().take(args.k) {
                print_hit(hit);
            }
        }
    }
    let summary = RankSummary::from_ranks(&ranks, 5);
    println!(
        "\nall {} demo questions: gold document in the top 5 for {:.0}% (MRR {:.2})",
        summary.questions,
        summary.hit_rate * 100.0,
        summary.mrr
    );
    if args.answers > 0 {
        answer_questions(
            ctx,
            &data_dir,
            retriever,
            &questions[..args.answers.min(questions.len())],
        )?;
    }
    println!(
        "try: hearth --data-dir {} search \"your question\"   (or: ask \"your question\")",
        data_dir.root().display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Answers `questions` on the routed local tiers and shows whether the gold
/// document was cited.
fn answer_questions(
    ctx: &Context,
    data_dir: &DataDir,
    retriever: Retriever<'_>,
    questions: &[hearth_eval::Question],
) -> Result<()> {
    let mut assistant = AssistantSetup::new(ctx)
        .local_only()
        .without_task_classifier()
        .meter_into(Some(data_dir.clone()))
        .build(retriever)?;
    for q in questions {
        println!("\n? {}", q.question);
        let answer = assistant.ask(&q.question, &AskOptions::default(), |_, _| {}, |_| {})?;
        let gold_cited = answer
            .citations
            .iter()
            .any(|c| c.source.uri.ends_with(&q.gold_uri));
        println!("  {}", answer.text);
        let route: Vec<String> = answer
            .attempts
            .iter()
            .map(|a| {
                format!(
                    "{} {} in {:.1} s",
                    a.tier,
                    if a.accepted { "accepted" } else { "rejected" },
                    a.latency_ms / 1e3
                )
            })
            .collect();
        println!("  route: {}", route.join(" → "));
        let mut shown = std::collections::BTreeSet::new();
        for c in answer
            .citations
            .iter()
            .filter(|c| shown.insert(c.source.number))
        {
            println!(
                "  [{}] {} (support {:.0}%)",
                c.source.number,
                c.source.uri,
                c.support * 100.0
            );
        }
        println!(
            "  expected: {} — gold source {}",
            q.answer,
            if gold_cited { "cited" } else { "not cited" }
        );
    }
    Ok(())
}
