//! The cloud tier: an OpenAI-compatible chat endpoint, reached only when the
//! local tiers cannot answer, and only with personal data stripped.
//!
//! - [`CloudConfig`]: base URL, model, API key (from the environment), timeouts,
//!   retries and whether to stream.
//! - [`CloudClient`]: the HTTP client (reqwest + rustls), with backoff on 429 /
//!   5xx and streamed replies.
//! - [`CloudPolicy`]: per source, whether its text may be sent (`never`,
//!   `redacted`, `allowed`).
//! - [`CloudPrompt`]: the prompt as it leaves the machine — sources the policy
//!   withholds dropped, the rest and the question passed through the
//!   [`Redactor`], citations renumbered back on return.
//!
//! Nothing here decides *when* to call the cloud: that is the router's job.

mod client;
mod escalation;
mod policy;
mod sse;

pub use client::CloudClient;
pub use escalation::{CloudCall, CloudTier, Escalation, participant_names};
pub use policy::{CloudPolicy, Exposure, PathRule};
pub use sse::SseDecoder;

use std::time::Duration;

use serde::Serialize;

use crate::generate::ChatMessage;
use crate::redact::Redactor;
use hearth_store::SearchHit;

/// The environment variable read for the API key when the config names none.
pub const DEFAULT_KEY_ENV: &str = "HEARTH_CLOUD_API_KEY";

/// How to reach the cloud endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudConfig {
    /// Base URL up to and including `/v1` (`https://api.openai.com/v1`).
    pub base_url: String,
    /// Model name sent in each request's `model` field.
    pub model: String,
    /// Bearer token; `None` sends no `Authorization` header (a local server).
    pub api_key: Option<String>,
    /// Whole request, from connect to the last byte.
    pub timeout: Duration,
    /// Longest wait to establish the connection.
    pub connect_timeout: Duration,
    /// Longest silence while reading the response.
    pub read_timeout: Duration,
    /// Retries after the first try (429, 5xx, timeouts, refused connections).
    pub max_retries: u32,
    /// First backoff; doubles with each retry.
    pub backoff: Duration,
    /// Cap on any one wait, `Retry-After` included.
    pub max_backoff: Duration,
    /// Ask for a streamed reply (server-sent events).
    pub stream: bool,
}

impl CloudConfig {
    /// Defaults for an endpoint: 120 s per request, 10 s to connect, 60 s of
    /// silence, 3 retries from 0.5 s doubling to at most 20 s, streaming.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            max_retries: 3,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
            stream: true,
        }
    }
}

/// A cloud call that failed.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    /// The HTTP client or its runtime could not be built.
    #[error("cloud client setup: {0}")]
    Setup(String),
    /// The endpoint answered with a non-success HTTP status.
    #[error("cloud endpoint answered HTTP {status}: {body}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The start of the response body (at most 400 characters).
        body: String,
    },
    /// The request or the response timed out.
    #[error("cloud request timed out: {0}")]
    Timeout(String),
    /// The request could not be sent or the response not read (with the error chain).
    #[error("cloud request failed: {0}")]
    Transport(String),
    /// The endpoint's response body or stream events could not be understood.
    #[error("cloud endpoint sent something unexpected: {0}")]
    Protocol(String),
    /// Every try failed; the error of the last one.
    #[error("cloud call failed after {attempts} attempts; last: {last}")]
    GaveUp {
        /// Tries made, the first included.
        attempts: u32,
        /// The last try's error.
        last: Box<CloudError>,
    },
}

/// A cloud reply with its measurements.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CloudReply {
    /// The reply as the endpoint sent it (placeholders not yet rehydrated).
    pub text: String,
    /// The model that answered, as the endpoint names it.
    pub model: String,
    /// Prompt tokens, as the endpoint reports them (estimated when it reports none).
    pub prompt_tokens: u32,
    /// Reply tokens, as the endpoint reports them (estimated when it reports none).
    pub completion_tokens: u32,
    /// The endpoint reported no usage; the counts are estimates.
    pub usage_estimated: bool,
    /// Why the endpoint stopped (`stop`, `length`, …; empty when not given).
    pub finish_reason: String,
    /// From the first try's start to the first streamed token.
    pub time_to_first_token: Duration,
    /// From the first try's start to the end of the reply, retries included.
    pub total_time: Duration,
    /// Request bytes sent over all tries.
    pub bytes_sent: u64,
    /// Tries made (1 when the first succeeded).
    pub attempts: u32,
}

/// The system prompt of the cloud tier.
const CLOUD_SYSTEM_PROMPT: &str = "You answer questions about the user's own mail, documents and messages. Use only the numbered sources. Personal details were replaced by placeholders such as <PERSON_1> or <EMAIL_2>; copy a placeholder exactly when your answer needs that detail. Answer in one or two short sentences, quote names, dates and amounts exactly as the sources give them, and cite each source you use like [1]. If the sources do not contain the answer, reply: I don't know.";

/// The prompt for one escalation, as it will leave the machine.
#[derive(Debug, Clone)]
pub struct CloudPrompt {
    /// The messages to send: the system prompt, then the sources and the redacted question.
    pub messages: Vec<ChatMessage>,
    /// Positions (0-based, into the retrieved hits) of the sources shown, in
    /// the prompt's numbering order: `[1]` is `hits[shown[0]]`.
    pub shown: Vec<usize>,
    /// Sources the policy kept back.
    pub withheld: usize,
}

impl CloudPrompt {
    /// The prompt for `question` over `hits`: sources whose policy is
    /// `never` are left out, `redacted` ones (and the question, always) go
    /// through `redactor`, `allowed` ones are sent as written.
    pub fn build(
        question: &str,
        hits: &[SearchHit],
        policy: &CloudPolicy,
        redactor: &mut Redactor,
        source_chars: usize,
    ) -> Self {
        let mut user = String::from("Sources:\n");
        let mut shown = Vec::new();
        let mut withheld = 0;
        for (i, hit) in hits.iter().enumerate() {
            let exposure = policy.exposure(&hit.document);
            if exposure == Exposure::Never {
                withheld += 1;
                continue;
            }
            shown.push(i);
            let entry = crate::answer::source_entry(hit, source_chars);
            let entry = match exposure {
                Exposure::Allowed => entry,
                _ => redactor.redact(&entry),
            };
            user.push_str(&format!("[{}] {entry}\n\n", shown.len()));
        }
        user.push_str(&format!("Question: {}", redactor.redact(question)));
        Self {
            messages: vec![
                ChatMessage::system(CLOUD_SYSTEM_PROMPT),
                ChatMessage::user(user),
            ],
            shown,
            withheld,
        }
    }

    /// The hits shown, in prompt order.
    pub fn shown_hits(&self, hits: &[SearchHit]) -> Vec<SearchHit> {
        self.shown
            .iter()
            .filter_map(|&i| hits.get(i).cloned())
            .collect()
    }

    /// `text` with the prompt's citation numbers (`[2]`, `[1, 3]`) turned back
    /// into the retrieval's numbering; numbers the prompt never showed stay.
    pub fn renumber(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find('[') {
            out.push_str(&rest[..open]);
            let after = &rest[open..];
            let mapped = after.find(']').and_then(|close| {
                let inner = &after[1..close];
                let numbers: Option<Vec<usize>> = inner
                    .split(',')
                    .map(|p| p.trim().parse::<usize>().ok())
                    .collect();
                let numbers = numbers.filter(|n| !n.is_empty() && inner.len() <= 24)?;
                let mapped: Vec<String> = numbers
                    .iter()
                    .map(|&n| {
                        n.checked_sub(1)
                            .and_then(|i| self.shown.get(i))
                            .map_or(n, |&hit| hit + 1)
                            .to_string()
                    })
                    .collect();
                Some((close, format!("[{}]", mapped.join(", "))))
            });
            match mapped {
                Some((close, marker)) => {
                    out.push_str(&marker);
                    rest = &after[close + 1..];
                }
                None => {
                    out.push('[');
                    rest = &after[1..];
                }
            }
        }
        out.push_str(rest);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renumbering_maps_prompt_numbers_back() {
        let prompt = CloudPrompt {
            messages: Vec::new(),
            shown: vec![0, 2, 3],
            withheld: 1,
        };
        assert_eq!(
            prompt.renumber("A [1]. B [2][3]. C [2, 3]. D [9]. [x] [ok]"),
            "A [1]. B [3][4]. C [3, 4]. D [9]. [x] [ok]"
        );
        assert_eq!(prompt.renumber("no markers ["), "no markers [");
    }
}
