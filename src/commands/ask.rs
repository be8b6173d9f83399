//! `hearth ask QUESTION`: an answer with checked citations from the local
//! tiers; the attempts stream to stderr, the answer goes to stdout.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use hearth_app::{AssistantSetup, parse_tier};
use hearth_assistant::Retriever;
use hearth_store::Index;

use crate::cli::AskArgs;
use crate::context::Context;

pub fn run(ctx: &Context, args: &AskArgs) -> Result<ExitCode> {
    let (forced, force_cloud) = parse_tier(args.tier.as_deref())?;
    let index = Index::open(&ctx.data().index())?;
    let embedder = ctx.embedder()?;
    let retriever = Retriever::new(&embedder, &index)?.with_options(ctx.config().search.clone());
    let setup = AssistantSetup::new(ctx)
        .tier(forced)
        .cloud_only(force_cloud);
    let mut assistant = setup.build(retriever)?;
    let mut options = setup.ask_options(args.k, args.max_tokens);
    options.params.temperature = args.temperature;
    options.params.seed = args.seed;

    let quiet = args.json;
    let answer = assistant.ask(
        &args.question,
        &options,
        |tier, reason| {
            if !quiet {
                eprintln!("\n── {tier} ({reason})");
            }
        },
        |piece| {
            if !quiet {
                eprint!("{piece}");
                let _ = std::io::stderr().flush();
            }
        },
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(ExitCode::SUCCESS);
    }
    if !answer.attempts.is_empty() {
        eprintln!();
    }
    for attempt in &answer.attempts {
        eprintln!(
            "   {}: {} ({:.1} s, {} tokens)",
            attempt.tier,
            if attempt.accepted {
                format!("accepted — {}", attempt.review)
            } else {
                format!("rejected — {}", attempt.review)
            },
            attempt.latency_ms / 1e3,
            attempt.completion_tokens
        );
    }
    println!("\n{}", answer.text);
    match answer.tier.as_deref() {
        Some("cloud") => {
            if let Some(call) = answer.attempts.last().and_then(|a| a.cloud.as_ref()) {
                println!(
                    "\n(answered by the cloud model {} — sent {} bytes after redacting {} values{})",
                    call.model,
                    call.bytes_sent,
                    call.redactions.occurrences(),
                    if call.withheld_sources > 0 {
                        format!(", {} sources withheld by policy", call.withheld_sources)
                    } else {
                        String::new()
                    }
                );
            }
        }
        Some(tier) => println!("\n(answered on the {tier} tier, locally)"),
        None => {}
    }
    for note in &answer.notes {
        println!("note: {note}");
    }
    let cited = {
        let mut seen = std::collections::BTreeSet::new();
        answer
            .citations
            .iter()
            .filter(|c| seen.insert(c.source.number))
            .collect::<Vec<_>>()
    };
    if !cited.is_empty() {
        println!("\nCitations:");
        for c in cited {
            let at = c
                .source
                .locator
                .as_deref()
                .map(|l| format!(" ({l})"))
                .unwrap_or_default();
            println!(
                "  [{}] {}{at} — {} (support {:.0}%{})",
                c.source.number,
                c.source.uri,
                c.source.title,
                c.support * 100.0,
                if c.explicit {
                    ""
                } else {
                    ", attached by the checker"
                }
            );
        }
    } else if answer.tier.is_none() && !answer.sources.is_empty() {
        println!("\nClosest sources:");
        for s in answer.sources.iter().take(3) {
            println!("  [{}] {} — {}", s.number, s.uri, s.title);
        }
    }
    Ok(ExitCode::SUCCESS)
}
