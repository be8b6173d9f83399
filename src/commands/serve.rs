//! `hearth serve`: the index and the tiers over HTTP on localhost — an
//! OpenAI-compatible chat endpoint with retrieval and routing, embeddings and
//! search (see [`hearth_assistant::server`] for the routes).

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use hearth_app::AssistantSetup;
use hearth_assistant::server;

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
    let setup = AssistantSetup::new(ctx);
    let generators = match &args.tiers {
        None => None,
        Some(names) => {
            let mut all = std::collections::BTreeMap::new();
            for name in names {
                all.extend(setup_for(ctx, name)?.generators()?);
            }
            Some(all)
        }
    };
    let config = setup.engine_config(
        embedder,
        generators,
        setup.ask_options(args.k, args.max_tokens),
    )?;
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

/// The setup of one tier named by `--tiers`.
fn setup_for<'h>(ctx: &'h Context, name: &str) -> Result<AssistantSetup<'h>> {
    Ok(AssistantSetup::new(ctx).tier(Some(name.parse()?)))
}
