//! `hearth ask QUESTION`: an answer with checked citations from the local
//! tiers; the attempts stream to stderr, the answer goes to stdout.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use hearth_assistant::cloud::{CloudClient, CloudTier};
use hearth_assistant::meter::MeterLog;
use hearth_assistant::task::TaskClassifier;
use hearth_assistant::{AskOptions, Assistant, Generator, Retriever, Router, RouterConfig, Tier};
use hearth_embed::Embedder;
use hearth_store::Index;

use crate::cli::AskArgs;
use crate::context::Context;

/// The router's fitted thresholds inside the data directory.
pub fn router_config_path(data_dir: &Path) -> PathBuf {
    data_dir.join("router.toml")
}

/// The fitted router config, or the defaults when no fit has run.
pub fn router_config(data_dir: &Path) -> Result<RouterConfig> {
    let path = router_config_path(data_dir);
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).with_context(|| format!("parsing {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RouterConfig::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The local tiers that may answer, each with its (not yet loaded) generator.
/// The configured tiers (default micro + local) are installed when missing;
/// the larger tier joins by default only when it is already installed.
pub fn generators(ctx: &Context, forced: Option<Tier>) -> Result<BTreeMap<Tier, Generator>> {
    let wanted: Vec<Tier> = match (forced, &ctx.assistant.tiers) {
        (Some(t), _) => vec![t],
        (None, Some(names)) => names
            .iter()
            .map(|n| n.parse())
            .collect::<Result<_, _>>()
            .context("[assistant] tiers")?,
        (None, None) => {
            let larger = ctx.catalog.get(Tier::Larger.model_name())?;
            let mut tiers = vec![Tier::Micro, Tier::Local];
            if ctx.registry.locate(larger).is_ok() {
                tiers.push(Tier::Larger);
            }
            tiers
        }
    };
    let mut out = BTreeMap::new();
    for tier in wanted {
        let dir = ctx.ensure_model(tier.model_name())?;
        out.insert(tier, Generator::from_path(dir.join(tier.gguf_file())));
    }
    Ok(out)
}

/// The task-type classifier the router uses, trained on the committed
/// examples the first time and cached in the data directory. Without it the
/// router still works (on retrieval signals alone), so a failure is a warning.
pub fn task_classifier(ctx: &Context, embedder: &Embedder) -> Option<TaskClassifier> {
    let cache = ctx.data_dir.join("task_classifier.json");
    match TaskClassifier::load_or_train(embedder, &cache) {
        Ok(classifier) => Some(classifier),
        Err(e) => {
            tracing::warn!("routing without the task classifier: {e}");
            None
        }
    }
}

/// A tier named on the command line: a local one, or `cloud`.
pub fn parse_tier(name: Option<&str>) -> Result<(Option<Tier>, bool)> {
    match name.map(str::trim) {
        None => Ok((None, false)),
        Some(n) if n.eq_ignore_ascii_case("cloud") => Ok((None, true)),
        Some(n) => Ok((Some(n.parse()?), false)),
    }
}

/// The assistant over `retriever` as the config sets it up: the local tiers
/// (just `forced`, or none when the cloud is forced), the fitted router, the
/// cloud tier when one is configured, and metering into the data directory.
pub fn assistant<'a>(
    ctx: &Context,
    retriever: Retriever<'a>,
    forced: Option<Tier>,
    force_cloud: bool,
) -> Result<Assistant<'a>> {
    let generators = if force_cloud {
        BTreeMap::new()
    } else {
        generators(ctx, forced)?
    };
    let tiers: Vec<Tier> = generators.keys().copied().collect();
    let cloud = ctx.cloud()?;
    if force_cloud && cloud.is_none() {
        anyhow::bail!(
            "--tier cloud needs a cloud endpoint: set base_url and model in the [cloud] table of the config (or HEARTH_CLOUD_BASE_URL and HEARTH_CLOUD_MODEL)"
        );
    }
    let routable = cloud
        .as_ref()
        .is_some_and(|(_, policy)| !policy.forbids_everything());
    let router = Router::new(router_config(&ctx.data_dir)?, &tiers, routable);
    let mut assistant = Assistant::new(retriever, generators, router)
        .with_metering(MeterLog::new(&ctx.data_dir), ctx.prices.clone());
    if let Some((config, policy)) = cloud {
        assistant = assistant.with_cloud(CloudTier::new(CloudClient::new(config)?, policy));
    }
    if let Some(task) = task_classifier(ctx, assistant.retriever().embedder()) {
        assistant = assistant.with_task_classifier(task);
    }
    Ok(assistant)
}

/// Request defaults: sources shown and reply length from the command line,
/// else the config, else the built-in defaults.
pub fn ask_options(ctx: &Context, sources: Option<usize>, max_tokens: Option<usize>) -> AskOptions {
    let mut options = AskOptions::default();
    if let Some(k) = sources.or(ctx.assistant.sources) {
        options.sources = k;
    }
    if let Some(n) = max_tokens.or(ctx.assistant.max_tokens) {
        options.params.max_new_tokens = n;
    }
    options
}

pub fn run(ctx: &Context, args: &AskArgs) -> Result<ExitCode> {
    let (forced, force_cloud) = parse_tier(args.tier.as_deref())?;
    let index = Index::open(&ctx.index_dir())?;
    let embedder = ctx.embedder()?;
    let retriever = Retriever::new(&embedder, &index)?.with_options(ctx.search.clone());
    let mut assistant = assistant(ctx, retriever, forced, force_cloud)?;
    let mut options = ask_options(ctx, args.k, args.max_tokens);
    options.tier = forced;
    options.force_cloud = force_cloud;
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
