//! `hearth ask` end to end on the demo corpus with the real local models:
//! routing, the cascade, citations checked against the gold source, and one
//! metering record per generation call.

use crate::common;

use common::{DEMO, hearth, json, ok};
use serde_json::Value;

const QUESTION: &str = "When does the Oakline kitchen remodel quote expire?";
const GOLD_URI: &str = "mail/inbox.mbox#20251104.1532.q2025-118.oakline@example.com";

fn demo_index() -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    ok(hearth(data.path(), &["index", DEMO]));
    data
}

fn cites_gold(answer: &Value) -> bool {
    answer["citations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["source"]["uri"].as_str().unwrap().ends_with(GOLD_URI))
}

#[test]
fn ask_answers_with_a_checked_citation_and_meters_every_call() {
    let data = demo_index();
    let answer = json(hearth(data.path(), &["ask", QUESTION, "--json"]));
    let text = answer["text"].as_str().unwrap();
    assert!(text.contains("December 4, 2025"), "answer: {answer:#}");
    assert!(
        cites_gold(&answer),
        "no citation of the gold mail: {answer:#}"
    );
    for c in answer["citations"].as_array().unwrap() {
        assert_eq!(c["supported"], true);
    }
    let attempts = answer["attempts"].as_array().unwrap();
    assert!(!attempts.is_empty());
    // The last attempt is the accepted one; any before it were escalated.
    let last = attempts.last().unwrap();
    assert_eq!(last["accepted"], true, "{answer:#}");
    assert_eq!(answer["tier"], last["tier"]);
    for a in &attempts[..attempts.len() - 1] {
        assert_eq!(a["accepted"], false);
    }
    assert_eq!(answer["escalated_to_cloud"], false);
    // The router knew what kind of request it was.
    assert_eq!(answer["task"]["task"], "lookup", "{answer:#}");

    // One metering record per attempt, in a Parquet file under the data dir.
    let log = hearth_assistant::meter::MeterLog::new(data.path());
    let records = log.read_all().unwrap();
    assert_eq!(records.len(), attempts.len(), "{records:#?}");
    for (r, a) in records.iter().zip(attempts) {
        assert_eq!(r.request_id, answer["request_id"].as_str().unwrap());
        assert_eq!(r.tier, a["tier"].as_str().unwrap());
        assert!(r.prompt_tokens > 100 && r.completion_tokens > 0, "{r:?}");
        assert!(r.latency_ms >= r.ttft_ms && r.ttft_ms > 0.0, "{r:?}");
        assert!(r.peak_rss_bytes > 100 << 20, "{r:?}");
        assert_eq!(r.cost_usd, 0.0);
        assert_eq!(r.bytes_sent, 0);
    }
    assert_eq!(records.last().unwrap().outcome, "answered");
}

#[test]
fn a_forced_tier_answers_alone_and_unanswerable_questions_say_so() {
    let data = demo_index();
    let answer = json(hearth(
        data.path(),
        &["ask", QUESTION, "--json", "--tier", "local"],
    ));
    assert_eq!(answer["tier"], "local", "{answer:#}");
    assert_eq!(answer["attempts"].as_array().unwrap().len(), 1);
    assert!(cites_gold(&answer), "{answer:#}");

    // Nothing in the demo corpus says this: no tier may pass off an answer.
    let answer = json(hearth(
        data.path(),
        &[
            "ask",
            "What is the name of the family's pet tortoise?",
            "--json",
            "--tier",
            "local",
        ],
    ));
    assert_eq!(
        answer["text"],
        hearth_assistant::NO_SUPPORTED_ANSWER,
        "{answer:#}"
    );
    assert!(answer["tier"].is_null());

    // Routed, with no cloud configured: the answer says it was not escalated.
    let answer = json(hearth(
        data.path(),
        &[
            "ask",
            "What is the name of the family's pet tortoise?",
            "--json",
        ],
    ));
    let notes = answer["notes"].to_string();
    assert!(
        notes.contains("not escalated") && notes.contains("no cloud endpoint is configured"),
        "{answer:#}"
    );
    assert_eq!(answer["escalated_to_cloud"], false);
}

#[test]
fn router_fit_writes_thresholds_that_ask_then_uses() {
    let data = tempfile::tempdir().unwrap();
    // Two labelled questions keep this quick; the committed fit used all 30.
    let out = ok(hearth(data.path(), &["router", "fit", "--limit", "2"]));
    assert!(out.contains("always local"), "{out}");
    assert!(out.contains("router (this fit)"), "{out}");
    let written = std::fs::read_to_string(data.path().join("router.toml")).unwrap();
    let config: hearth_assistant::RouterConfig = toml::from_str(&written).unwrap();
    assert!(
        config.provenance.contains("on 2 questions"),
        "{}",
        config.provenance
    );
    let shown = ok(hearth(data.path(), &["router", "show"]));
    assert!(shown.contains(&config.provenance), "{shown}");
}

#[test]
fn small_talk_gets_a_short_reply_without_sources() {
    let data = demo_index();
    let answer = json(hearth(
        data.path(),
        &["ask", "Hello! How are you doing?", "--json"],
    ));
    assert_eq!(answer["task"]["task"], "chitchat", "{answer:#}");
    assert!(answer["task"]["confidence"].as_f64().unwrap() >= 0.6);
    // The router's starting tier: with the committed fit, not micro.
    assert_eq!(answer["tier"], "local", "{answer:#}");
    assert_eq!(answer["attempts"].as_array().unwrap().len(), 1);
    assert!(answer["sources"].as_array().unwrap().is_empty());
    assert!(answer["citations"].as_array().unwrap().is_empty());
    assert!(!answer["text"].as_str().unwrap().is_empty());
    assert!(answer["notes"].to_string().contains("small talk"));
    // The classifier was trained once and cached in the data directory.
    assert!(data.path().join("task_classifier.json").is_file());
}
