//! Streams one reply from a local tier and prints its measurements.
//!
//! ```text
//! cargo run --release -p hearth-assistant --example generate -- micro "What is the capital of France?" [max_new_tokens] [temperature] [raw]
//! ```
//!
//! `raw` keeps the file's weight types (no Q8_0 conversion), for comparison.

// An example program: it prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use hearth_assistant::{
    AssistantError, ChatMessage, GenerationParams, Generator, GeneratorConfig, Tier,
};
use std::io::Write;

fn main() -> Result<(), AssistantError> {
    let mut args = std::env::args().skip(1);
    let tier: Tier = args.next().as_deref().unwrap_or("micro").parse()?;
    let question = args
        .next()
        .unwrap_or_else(|| "What is the capital of France?".to_owned());
    let max_new_tokens = args.next().and_then(|s| s.parse().ok()).unwrap_or(128);
    let temperature = args.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);

    let raw = args.next().as_deref() == Some("raw");
    let mut generator = Generator::for_tier(tier)?.with_config(GeneratorConfig {
        convert_slow_weights: !raw,
        ..GeneratorConfig::default()
    });
    let info = generator.load()?.clone();
    eprintln!(
        "{tier}: {} ({}, {:.0} MB, window {}) loaded in {:.2?}",
        info.name.as_deref().unwrap_or("?"),
        info.architecture,
        info.file_size as f64 / 1e6,
        info.context_window,
        generator.load_time().unwrap_or_default(),
    );
    let params = GenerationParams {
        max_new_tokens,
        temperature,
        top_p: 0.95,
        seed: 0,
    };
    let messages = [ChatMessage::user(question)];
    let mut stdout = std::io::stdout();
    let reply = generator.generate(&messages, &params, |piece| {
        let _ = write!(stdout, "{piece}");
        let _ = stdout.flush();
    })?;
    println!();
    eprintln!(
        "prompt {} tokens in {:.2?} ({:.1} tok/s); {} generated in {:.2?} ({:.1} tok/s after the first); finish {}; mean logprob {:.3}",
        reply.prompt_tokens,
        reply.time_to_first_token,
        reply.prompt_tokens_per_second(),
        reply.completion_tokens,
        reply.total_time,
        reply.decode_tokens_per_second(),
        reply.finish_reason,
        reply.mean_logprob,
    );
    Ok(())
}
