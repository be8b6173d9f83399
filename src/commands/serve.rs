//! `hearth serve`: the index and the tiers over HTTP on localhost — an
//! OpenAI-compatible chat endpoint with retrieval and routing, embeddings and
//! search (see [`hearth_assistant::server`] for the routes).

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use hearth_assistant::cloud::{CloudClient, CloudTier};
use hearth_assistant::meter::MeterLog;
use hearth_assistant::server::{self, EngineConfig};

use super::ask::{ask_options, generators, router_config, task_classifier};
use crate::cli::ServeArgs;
use crate::context::Context;

pub fn run(ctx: &Context, args: &ServeArgs) -> Result<ExitCode> {
    let host: IpAddr = args
        .host
        .parse()
        .with_context(|| format!("--host {}: not an IP address", args.host))?;
    if !host.is_loopback() {
        eprintln!(
            "warning: serving on {host}, reachable from other machines — the index holds personal data and the server has no authentication"
        );
    }
    let embedder = ctx.embedder()?;
    let generators = match &args.tiers {
        None => generators(ctx, None)?,
        Some(names) => {
            let mut all = std::collections::BTreeMap::new();
            for name in names {
                all.extend(generators(ctx, Some(name.parse()?))?);
            }
            all
        }
    };
    let cloud = match ctx.cloud()? {
        Some((config, policy)) => Some(CloudTier::new(CloudClient::new(config)?, policy)),
        None => None,
    };
    let task = task_classifier(ctx, &embedder);
    let config = EngineConfig {
        index_dir: ctx.index_dir(),
        embedder,
        generators,
        router: router_config(&ctx.data_dir)?,
        cloud,
        meter: Some((MeterLog::new(&ctx.data_dir), ctx.prices.clone())),
        search: ctx.search.clone(),
        ask: ask_options(ctx, args.k, args.max_tokens),
        task,
    };
    let tiers: Vec<String> = config.generators.keys().map(|t| t.to_string()).collect();
    let cloud_model = config
        .cloud
        .as_ref()
        .map(|c| c.client().config().model.clone());
    let engine = server::spawn(config).context("starting the engine thread")?;
    server::run_blocking(SocketAddr::new(host, args.port), engine, |addr| {
        eprintln!(
            "hearth serve: tiers {}{}; models load on first use",
            tiers.join(", "),
            cloud_model
                .map(|m| format!(", cloud model {m}"))
                .unwrap_or_else(|| ", no cloud".into())
        );
        // The last line is the address, for scripts that start the server
        // on port 0 and wait for it.
        eprintln!("listening on http://{addr}");
    })
    .with_context(|| format!("serving on {host}:{}", args.port))?;
    Ok(ExitCode::SUCCESS)
}
