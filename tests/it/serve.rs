//! `hearth serve` over real HTTP: the OpenAI-compatible routes on the demo
//! index, escalation to a second `hearth serve` standing in for the cloud
//! (real HTTP, real model), and the leak suite — every byte that reaches the
//! "cloud" endpoint is recorded and searched for the corpus's personal data.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::http::{Recorder, Serve, Upstream};
use common::{DEMO, hearth, ok};
use serde_json::{Value, json};

const QUESTION: &str = "When does the Oakline kitchen remodel quote expire?";

fn demo_index() -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    ok(hearth(data.path(), &["index", DEMO]));
    data
}

/// A config whose `[cloud]` table points at `url`, serving `model`.
fn cloud_config(dir: &Path, url: &str, model: &str) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[cloud]\nbase_url = \"{url}\"\nmodel = \"{model}\"\ntimeout_s = 300\nmax_retries = 0\n"
        ),
    )
    .unwrap();
    path
}

fn chat(model: &str, question: &str, max_tokens: usize) -> Value {
    json!({
        "model": model,
        "messages": [{"role": "user", "content": question}],
        "max_tokens": max_tokens,
    })
}

/// The personal data planted in the demo corpus: participants' names and
/// addresses as the connectors read them, every e-mail address in the text,
/// and the street addresses.
struct Planted {
    names: BTreeSet<String>,
    emails: BTreeSet<String>,
    streets: BTreeSet<String>,
}

impl Planted {
    fn of_demo_corpus() -> Self {
        let found = hearth_connectors::discover(&[PathBuf::from(DEMO)]).expect("demo corpus");
        let mut planted = Planted {
            names: BTreeSet::new(),
            emails: BTreeSet::new(),
            streets: BTreeSet::new(),
        };
        for file in &found.files {
            for document in hearth_connectors::read_source(file) {
                let document = document.expect("demo documents read");
                for p in &document.participants {
                    planted.names.extend(p.name.clone().filter(|n| n.len() > 2));
                    planted.emails.extend(
                        p.address
                            .clone()
                            .filter(|a| a.contains('@'))
                            .map(|a| a.to_lowercase()),
                    );
                }
                let words: Vec<&str> = document.text.split_whitespace().collect();
                for (i, word) in words.iter().enumerate() {
                    let word = word.trim_matches(|c: char| "<>()[],;:\"'".contains(c));
                    if let Some(at) = word.find('@')
                        && word[at + 1..].contains('.')
                        && at > 0
                    {
                        planted
                            .emails
                            .insert(word.trim_end_matches('.').to_lowercase());
                    }
                    // "2417 SE Juniper St": a house number, maybe a direction,
                    // a capitalised name and a street suffix.
                    if word.len() >= 2 && word.chars().all(|c| c.is_ascii_digit()) {
                        let rest = &words[i + 1..words.len().min(i + 4)];
                        let suffix = |w: &str| {
                            [
                                "St", "Street", "Ave", "Avenue", "Blvd", "Road", "Rd", "Lane",
                            ]
                            .contains(&w.trim_end_matches([',', '.']))
                        };
                        if let Some(end) = rest.iter().position(|w| suffix(w))
                            && end >= 1
                        {
                            let street = words[i..=i + 1 + end].join(" ");
                            planted
                                .streets
                                .insert(street.trim_end_matches([',', '.']).to_owned());
                        }
                    }
                }
            }
        }
        for expected in ["Elena Marsh", "Tomás Reyes", "Greta Müller"] {
            assert!(planted.names.contains(expected), "{expected} not planted");
        }
        assert!(planted.emails.contains("elena.marsh@example.com"));
        assert!(
            planted.streets.contains("2417 SE Juniper St"),
            "{:?}",
            planted.streets
        );
        planted
    }

    /// Panics naming the first planted value found in `body` (a request
    /// body as sent): in the raw bytes or in the decoded message texts.
    fn assert_absent(&self, label: &str, body: &str) {
        let request: Value = serde_json::from_str(body).expect("request body is JSON");
        let mut text = String::new();
        for m in request["messages"].as_array().expect("messages") {
            text.push_str(m["content"].as_str().unwrap_or(""));
            text.push('\n');
        }
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let lower = format!("{flat}\n{body}").to_lowercase();
        for email in &self.emails {
            assert!(!lower.contains(email.as_str()), "{label}: {email} was sent");
        }
        for name in &self.names {
            assert!(!flat.contains(name.as_str()), "{label}: {name} was sent");
        }
        for street in &self.streets {
            assert!(
                !flat.contains(street.as_str()),
                "{label}: {street} was sent"
            );
        }
        // Phone numbers (the corpus uses 555-01xx) in any punctuation.
        let digits: String = flat.chars().filter(char::is_ascii_digit).collect();
        let phone = digits
            .match_indices("55501")
            .find(|(at, _)| digits[at + 5..].len() >= 2);
        assert!(
            phone.is_none(),
            "{label}: a 555-01xx phone number was sent:\n{flat}"
        );
    }
}

/// The demo questions and a few that name people or ask for contact data,
/// each forced to the cloud (a recording stub), checked at the HTTP layer.
#[test]
fn leak_suite_no_planted_pii_reaches_the_cloud_endpoint() {
    let planted = Planted::of_demo_corpus();
    let data = demo_index();
    let recorder = Recorder::start(Upstream::Stub);
    let config = cloud_config(data.path(), &recorder.url, "stub-model");
    let server = Serve::start(data.path(), Some(&config), &["--tiers", "micro"]);

    let mut questions: Vec<String> =
        std::fs::read_to_string(Path::new(DEMO).join("questions.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["question"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
    assert_eq!(questions.len(), 30);
    questions.extend(
        [
            "What is Greta Müller's e-mail address?",
            "What did Tomás Reyes say about picking up Lucy?",
            "What is the dentist's phone number?",
            "Which street do Elena Marsh and Tomás live on?",
            "Write to elena.marsh@example.com about the deposit",
        ]
        .map(str::to_owned),
    );
    let mut rehydrated = 0;
    for question in &questions {
        let (status, reply) =
            server.post("/v1/chat/completions", &chat("hearth-cloud", question, 32));
        assert_eq!(status, 200, "{question}: {reply:#}");
        let extra = &reply["hearth"];
        assert_eq!(extra["escalated_to_cloud"], true, "{question}: {reply:#}");
        let attempt = &extra["attempts"][0];
        assert_eq!(attempt["tier"], "cloud", "{question}: {reply:#}");
        // The stub echoed a placeholder; the device puts the real value back
        // (whether the citation check then accepts the reply is its business).
        let text = attempt["text"].as_str().unwrap();
        assert!(!text.contains("<PERSON_"), "{question}: {text}");
        if planted.names.iter().any(|n| text.contains(n.as_str())) {
            rehydrated += 1;
        }
        let call = &attempt["cloud"];
        assert!(call["bytes_sent"].as_u64().unwrap() > 200, "{call}");
    }
    assert!(rehydrated >= 10, "only {rehydrated} answers named a person");

    let bodies = recorder.bodies();
    assert_eq!(bodies.len(), questions.len());
    for (i, body) in bodies.iter().enumerate() {
        planted.assert_absent(&format!("request {i}"), body);
        assert!(
            body.contains("<PERSON_") || body.contains("<EMAIL_"),
            "nothing redacted: {body}"
        );
    }

    // The audit log holds exactly what was sent, per cloud call.
    let records = hearth_assistant::meter::MeterLog::new(data.path())
        .read_all()
        .unwrap();
    let cloud: Vec<_> = records.iter().filter(|r| r.tier == "cloud").collect();
    assert_eq!(cloud.len(), questions.len());
    let sent: BTreeSet<&str> = bodies.iter().map(String::as_str).collect();
    for record in cloud {
        assert!(
            sent.contains(record.payload.as_str()),
            "payload differs from what was sent"
        );
        assert!(record.redactions > 0 && record.bytes_sent as usize == record.payload.len());
        assert!(
            ["answered", "unsupported"].contains(&record.outcome.as_str()),
            "{}",
            record.outcome
        );
    }
}

/// The routes on the demo index, with a second `hearth serve` running the
/// local tier's model as the cloud endpoint, behind a recorder.
#[test]
fn serve_answers_searches_embeds_and_escalates_to_a_second_serve() {
    let data = demo_index();
    let cloud_data = tempfile::tempdir().unwrap();
    let cloud = Serve::start(cloud_data.path(), None, &["--tiers", "local"]);
    let recorder = Recorder::start(Upstream::Forward(cloud.addr.clone()));
    let config = cloud_config(data.path(), &recorder.url, "local");
    let server = Serve::start(data.path(), Some(&config), &["--tiers", "micro"]);

    let (status, models) = server.get("/v1/models");
    assert_eq!(status, 200);
    let ids: Vec<&str> = models["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["hearth", "hearth-micro", "hearth-cloud", "micro"]);
    let (_, cloud_models) = cloud.get("/v1/models");
    assert_eq!(cloud_models["data"][0]["id"], "hearth");

    // Forced to the cloud: real HTTP to the second server, real model.
    let (status, reply) = server.post("/v1/chat/completions", &chat("hearth-cloud", QUESTION, 48));
    assert_eq!(status, 200, "{reply:#}");
    let extra = &reply["hearth"];
    assert_eq!(extra["escalated_to_cloud"], true, "{reply:#}");
    let attempt = &extra["attempts"][0];
    assert_eq!(attempt["tier"], "cloud", "{reply:#}");
    assert_eq!(attempt["cloud"]["model"], "local", "{reply:#}");
    assert!(attempt["completion_tokens"].as_u64().unwrap() > 0);
    let text = reply["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(text.contains("December 4, 2025"), "{reply:#}");
    assert_eq!(recorder.bodies().len(), 1);
    Planted::of_demo_corpus().assert_absent("forced", &recorder.bodies()[0]);

    // Routed: nothing in the corpus answers this, so no local reply is
    // accepted and the router escalates on its own.
    let (status, reply) = server.post(
        "/v1/chat/completions",
        &chat(
            "hearth",
            "What is the name of the family's pet tortoise?",
            32,
        ),
    );
    assert_eq!(status, 200, "{reply:#}");
    let attempts = reply["hearth"]["attempts"].as_array().unwrap();
    assert_eq!(attempts.last().unwrap()["tier"], "cloud", "{reply:#}");
    assert_eq!(reply["hearth"]["escalated_to_cloud"], true);
    assert_eq!(recorder.bodies().len(), 2);

    // Streamed, on the micro tier: a role chunk, content, the finish chunk
    // with the citations, usage, then [DONE].
    let mut body = chat("hearth-micro", QUESTION, 48);
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let (status, events) = server.post_stream("/v1/chat/completions", &body);
    assert_eq!(status, 200, "{events:?}");
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let finish = chunks
        .iter()
        .find(|c| !c["choices"][0]["finish_reason"].is_null())
        .expect("finish chunk");
    // Forced onto micro: it answered; whether its reply was kept depends on
    // what the 135M model wrote, so only a rejection must say why.
    assert_eq!(
        finish["hearth"]["attempts"][0]["tier"], "micro",
        "{finish:#}"
    );
    let tier = &finish["hearth"]["tier"];
    assert!(
        *tier == "micro" || (tier.is_null() && !finish["hearth"]["notes"][0].is_null()),
        "{finish:#}"
    );
    let usage = &chunks.last().unwrap()["usage"];
    assert!(usage["prompt_tokens"].as_u64().unwrap() > 100, "{usage}");

    // Embeddings and search.
    let (status, embedded) = server.post(
        "/v1/embeddings",
        &json!({"input": ["hello", "tile delivery"]}),
    );
    assert_eq!(status, 200, "{embedded}");
    assert_eq!(embedded["data"].as_array().unwrap().len(), 2);
    assert_eq!(
        embedded["data"][1]["embedding"].as_array().unwrap().len(),
        384
    );
    let (status, hits) = server.post(
        "/v1/search",
        &json!({"query": "zellige tile delivery delay", "k": 3}),
    );
    assert_eq!(status, 200, "{hits}");
    assert!(
        hits["hits"][0]["uri"]
            .as_str()
            .unwrap()
            .contains("inbox.mbox"),
        "{hits:#}"
    );

    // Bad requests get OpenAI-style errors.
    let (status, err) = server.post("/v1/chat/completions", &chat("gpt-9", QUESTION, 8));
    assert_eq!(status, 404);
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("hearth-micro")
    );

    // A document indexed while the server runs is searchable without a restart.
    let notes = tempfile::tempdir().unwrap();
    std::fs::write(
        notes.path().join("harbour.md"),
        "# Harbour kayak rental\n\nThe kayak rental at Kelpie Harbour opens at 7:15 on Saturdays.\n",
    )
    .unwrap();
    ok(hearth(
        data.path(),
        &["index", notes.path().to_str().unwrap()],
    ));
    let (_, hits) = server.post(
        "/v1/search",
        &json!({"query": "Kelpie Harbour kayak rental", "k": 1}),
    );
    assert!(
        hits["hits"][0]["uri"]
            .as_str()
            .unwrap()
            .ends_with("harbour.md"),
        "{hits:#}"
    );
}
