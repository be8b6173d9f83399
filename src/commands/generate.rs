//! `hearth generate`: plain generation on one tier, streamed to stdout, with
//! time to first token, prefill and decode rates, KV-cache bytes and peak
//! memory (as JSON with `--json`).

use crate::cli::GenerateArgs;
use crate::context::Context;
use anyhow::{Context as _, Result};
use hearth_assistant::meter::peak_rss_bytes;
use hearth_assistant::{ChatMessage, Engine, GenerationParams, Generator, Tier};
use serde_json::json;
use std::io::{Read, Write};
use std::process::ExitCode;

pub fn run(ctx: &Context, args: &GenerateArgs) -> Result<ExitCode> {
    let tier: Tier = args.tier.parse()?;
    let prompt = match (&args.prompt, &args.prompt_file) {
        (Some(p), _) => p.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("reading the prompt from {}", path.display()))?,
        (None, None) => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the prompt from standard input")?;
            text
        }
    };
    anyhow::ensure!(!prompt.trim().is_empty(), "the prompt is empty");
    let mut config = ctx.config().generator.clone();
    if let Some(name) = &args.engine {
        config.engine = Engine::parse(name)
            .with_context(|| format!("--engine {name}: expected hearth or candle"))?;
    }
    let dir = ctx.models().ensure(tier.model_name())?;
    let mut generator = Generator::from_path(dir.join(tier.gguf_file())).with_config(config);
    let info = generator.load()?.clone();
    let params = GenerationParams {
        max_new_tokens: args.max_tokens,
        temperature: args.temperature,
        seed: args.seed,
        ..GenerationParams::default()
    };
    let stream = !args.json;
    let mut stdout = std::io::stdout().lock();
    let mut on_token = |piece: &str| {
        if stream {
            // A closed pipe ends the output, not the generation's bookkeeping.
            let _ = stdout.write_all(piece.as_bytes());
            let _ = stdout.flush();
        }
    };
    let generation = if args.raw {
        generator.complete(&prompt, &params, &mut on_token)?
    } else {
        let mut messages = Vec::new();
        if let Some(system) = &args.system {
            messages.push(ChatMessage::system(system.clone()));
        }
        messages.push(ChatMessage::user(prompt));
        generator.generate(&messages, &params, &mut on_token)?
    };
    drop(stdout);
    let peak_mb = peak_rss_bytes().map(|b| b as f64 / 1e6);
    if args.json {
        let value = json!({
            "text": generation.text,
            "tier": tier.to_string(),
            "engine": info.engine.as_str(),
            "model": info.name,
            "prompt_tokens": generation.prompt_tokens,
            "truncated_prompt_tokens": generation.truncated_tokens,
            "completion_tokens": generation.completion_tokens,
            "finish_reason": generation.finish_reason.as_str(),
            "ttft_ms": generation.time_to_first_token.as_secs_f64() * 1e3,
            "total_ms": generation.total_time.as_secs_f64() * 1e3,
            "prefill_tok_s": generation.prompt_tokens_per_second(),
            "decode_tok_s": generation.decode_tokens_per_second(),
            "kv_bytes": generation.kv_bytes,
            "load_ms": generator.load_time().map(|t| t.as_secs_f64() * 1e3),
            "peak_rss_mb": peak_mb,
        });
        println!("{}", serde_json::to_string_pretty(&value)?);
    } else {
        println!();
        let note = if generation.truncated_tokens > 0 {
            format!(
                ", {} prompt tokens cut to fit the window",
                generation.truncated_tokens
            )
        } else {
            String::new()
        };
        eprintln!(
            "({tier} on {}: {} prompt tokens, {} generated, {}; first token {:.0} ms, prefill {:.0} tok/s, decode {:.1} tok/s{note})",
            info.engine,
            generation.prompt_tokens,
            generation.completion_tokens,
            generation.finish_reason,
            generation.time_to_first_token.as_secs_f64() * 1e3,
            generation.prompt_tokens_per_second(),
            generation.decode_tokens_per_second(),
        );
    }
    Ok(ExitCode::SUCCESS)
}
