//! `hearth generate` as a user runs it, on the real micro model: the reply
//! and its measurements as JSON, both engines answering, `--raw` continuing
//! text without the chat template, and bad options named. (The engines are
//! held against each other token by token in hearth-assistant's tests, on the
//! same weight types; here candle converts Q4_1 to Q8_0 as it does by default.)

use crate::common;

use common::{hearth, json};

fn generate(args: &[&str]) -> serde_json::Value {
    let data = tempfile::tempdir().unwrap();
    let mut argv = vec!["generate", "--tier", "micro", "--json"];
    argv.extend_from_slice(args);
    json(hearth(data.path(), &argv))
}

#[test]
fn generate_reports_the_reply_and_its_measurements() {
    let out = generate(&[
        "--max-tokens",
        "24",
        "--system",
        SYSTEM,
        "What is the capital of France?",
    ]);
    let text = out["text"].as_str().unwrap_or_default();
    assert!(text.contains("Paris"), "{out:#}");
    assert_eq!(out["engine"], "hearth", "{out:#}");
    for key in ["prompt_tokens", "completion_tokens", "kv_bytes"] {
        assert!(out[key].as_u64().unwrap_or(0) > 0, "{key}: {out:#}");
    }
    for key in ["ttft_ms", "prefill_tok_s", "decode_tok_s", "peak_rss_mb"] {
        assert!(out[key].as_f64().unwrap_or(0.0) > 0.0, "{key}: {out:#}");
    }
    // f32 keys and values: 30 layers × 3 KV heads × 64 values × 2 × 4 bytes
    // per position, for every position but the last sampled token.
    let positions =
        out["prompt_tokens"].as_u64().unwrap() + out["completion_tokens"].as_u64().unwrap() - 1;
    assert_eq!(
        out["kv_bytes"].as_u64().unwrap(),
        positions * 30 * 3 * 64 * 2 * 4,
        "{out:#}"
    );
}

const SYSTEM: &str = "You are a helpful assistant. Answer in one short sentence.";

#[test]
fn both_engines_answer_and_raw_skips_the_template() {
    let prompt = "What is the capital of France?";
    let own = generate(&["--max-tokens", "24", "--system", SYSTEM, prompt]);
    let reference = generate(&[
        "--max-tokens",
        "24",
        "--engine",
        "candle",
        "--system",
        SYSTEM,
        prompt,
    ]);
    assert_eq!(reference["engine"], "candle");
    for out in [&own, &reference] {
        assert!(
            out["text"].as_str().unwrap_or_default().contains("Paris"),
            "{out:#}"
        );
    }
    let raw = generate(&["--max-tokens", "8", "--raw", prompt]);
    assert!(
        raw["prompt_tokens"].as_u64() < own["prompt_tokens"].as_u64(),
        "the raw prompt has no template around it: {raw:#} vs {own:#}"
    );
}

#[test]
fn an_unknown_engine_is_named() {
    let data = tempfile::tempdir().unwrap();
    let out = hearth(data.path(), &["generate", "--engine", "fast", "hello"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--engine fast: expected hearth or candle"),
        "{err}"
    );
}
