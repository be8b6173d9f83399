//! [`CloudClient`]: one OpenAI-compatible `/v1/chat/completions` endpoint over
//! HTTPS (reqwest + rustls), with timeouts, retries with backoff on 429 and
//! 5xx, and streamed replies.
//!
//! The client is synchronous to its caller (the assistant runs on plain
//! threads): each call is spawned onto the client's own one-worker tokio
//! runtime and its tokens come back over a channel, so it works the same from
//! a CLI thread or from inside `hearth serve`'s blocking pool.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use serde_json::{Value, json};

use super::sse::SseDecoder;
use super::{CloudConfig, CloudError, CloudReply};
use crate::generate::{ChatMessage, GenerationParams};

/// A client of one cloud endpoint.
pub struct CloudClient {
    config: CloudConfig,
    http: reqwest::Client,
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for CloudClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudClient")
            .field("base_url", &self.config.base_url)
            .field("model", &self.config.model)
            .finish_non_exhaustive()
    }
}

impl Drop for CloudClient {
    fn drop(&mut self) {
        // Never block (or panic) when dropped inside another runtime.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// What the network task tells the calling thread.
enum Event {
    Token(String),
    Done(Result<CloudReply, CloudError>),
}

impl CloudClient {
    /// A client for `config` (no request is made yet).
    pub fn new(config: CloudConfig) -> Result<Self, CloudError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .user_agent(concat!("hearth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CloudError::Setup(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("hearth-cloud")
            .enable_all()
            .build()
            .map_err(|e| CloudError::Setup(e.to_string()))?;
        Ok(Self {
            config,
            http,
            runtime: Some(runtime),
        })
    }

    /// The configuration the client was built with.
    pub fn config(&self) -> &CloudConfig {
        &self.config
    }

    /// Sends `messages` (already redacted: this client sends what it is
    /// given) and returns the reply, streaming its text to `on_token`.
    /// Retries 429, 5xx, timeouts and refused connections with exponential
    /// backoff (honouring `Retry-After`), but never after a token has been
    /// streamed.
    pub fn chat(
        &self,
        messages: &[ChatMessage],
        params: &GenerationParams,
        mut on_token: impl FnMut(&str),
    ) -> Result<CloudReply, CloudError> {
        let body = request_body(&self.config, messages, params);
        let runtime = self
            .runtime
            .as_ref()
            .ok_or_else(|| CloudError::Setup("runtime shut down".into()))?;
        let (tx, rx) = mpsc::channel();
        let task = Call {
            config: self.config.clone(),
            http: self.http.clone(),
            body: Arc::new(body),
            tx: tx.clone(),
        };
        runtime.spawn(async move {
            let result = task.run().await;
            let _ = task.tx.send(Event::Done(result));
        });
        drop(tx);
        for event in rx {
            match event {
                Event::Token(piece) => on_token(&piece),
                Event::Done(result) => return result,
            }
        }
        Err(CloudError::Protocol(
            "the request task ended without a result".into(),
        ))
    }
}

/// The JSON body of a chat completion request.
pub(crate) fn request_body(
    config: &CloudConfig,
    messages: &[ChatMessage],
    params: &GenerationParams,
) -> Vec<u8> {
    let messages: Vec<Value> = messages
        .iter()
        .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
        .collect();
    let mut body = json!({
        "model": config.model,
        "messages": messages,
        "max_tokens": params.max_new_tokens,
        "temperature": params.temperature,
        "stream": config.stream,
    });
    if params.temperature > 0.0 && params.top_p < 1.0 {
        body["top_p"] = json!(params.top_p);
    }
    if config.stream {
        body["stream_options"] = json!({"include_usage": true});
    }
    serde_json::to_vec(&body).unwrap_or_default()
}

/// One request with its retries, run on the client's runtime.
struct Call {
    config: CloudConfig,
    http: reqwest::Client,
    body: Arc<Vec<u8>>,
    tx: mpsc::Sender<Event>,
}

/// How one try ended.
enum TryError {
    /// Worth another try (429, 5xx, timeout, connection refused), after at
    /// least this long.
    Retry(CloudError, Option<Duration>),
    Fatal(CloudError),
}

impl Call {
    async fn run(&self) -> Result<CloudReply, CloudError> {
        let started = Instant::now();
        let mut bytes_sent = 0u64;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            bytes_sent += self.body.len() as u64;
            let mut streamed = false;
            match self.once(started, &mut streamed).await {
                Ok(mut reply) => {
                    reply.bytes_sent = bytes_sent;
                    reply.attempts = attempt;
                    return Ok(reply);
                }
                Err(TryError::Retry(err, after))
                    if !streamed && attempt <= self.config.max_retries =>
                {
                    let backoff = self
                        .config
                        .backoff
                        .saturating_mul(1 << (attempt - 1).min(10));
                    let wait = after.unwrap_or(backoff).min(self.config.max_backoff);
                    tracing::warn!(
                        "cloud call attempt {attempt} failed ({err}); retrying in {:.1} s",
                        wait.as_secs_f64()
                    );
                    tokio::time::sleep(wait).await;
                }
                Err(TryError::Retry(err, _) | TryError::Fatal(err)) => {
                    return Err(if attempt > 1 {
                        CloudError::GaveUp {
                            attempts: attempt,
                            last: Box::new(err),
                        }
                    } else {
                        err
                    });
                }
            }
        }
    }

    async fn once(&self, started: Instant, streamed: &mut bool) -> Result<CloudReply, TryError> {
        let url = format!(
            "{}/chat/completions",
            self.config.base_url.trim_end_matches('/')
        );
        let mut request = self
            .http
            .post(&url)
            .header(CONTENT_TYPE, "application/json")
            .timeout(self.config.timeout)
            .body(self.body.as_ref().clone());
        if let Some(key) = &self.config.api_key {
            request = request.header(AUTHORIZATION, format!("Bearer {key}"));
        }
        let mut response = request.send().await.map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            let after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = response.text().await.unwrap_or_default();
            let err = CloudError::Status {
                status: status.as_u16(),
                body: body.chars().take(400).collect(),
            };
            return Err(if retryable(status) {
                TryError::Retry(err, after)
            } else {
                TryError::Fatal(err)
            });
        }
        let mut reply = CloudReply {
            model: self.config.model.clone(),
            ..CloudReply::default()
        };
        let mut first_token: Option<Duration> = None;
        let is_stream = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if is_stream {
            let mut sse = SseDecoder::default();
            let mut done = false;
            while !done {
                let events = match response.chunk().await.map_err(transport)? {
                    Some(bytes) => sse.push(&bytes),
                    None => {
                        done = true;
                        sse.finish()
                    }
                };
                for data in events {
                    if data.trim() == "[DONE]" {
                        done = true;
                        break;
                    }
                    let chunk: Value = serde_json::from_str(&data).map_err(|e| {
                        TryError::Fatal(CloudError::Protocol(format!("bad stream event: {e}")))
                    })?;
                    if let Some(piece) = chunk["choices"][0]["delta"]["content"].as_str()
                        && !piece.is_empty()
                    {
                        first_token.get_or_insert_with(|| started.elapsed());
                        *streamed = true;
                        reply.text.push_str(piece);
                        let _ = self.tx.send(Event::Token(piece.to_owned()));
                    }
                    if let Some(reason) = chunk["choices"][0]["finish_reason"].as_str() {
                        reply.finish_reason = reason.to_owned();
                    }
                    read_usage(&chunk, &mut reply);
                }
            }
        } else {
            let bytes = response.bytes().await.map_err(transport)?;
            let body: Value = serde_json::from_slice(&bytes).map_err(|e| {
                TryError::Fatal(CloudError::Protocol(format!("bad response body: {e}")))
            })?;
            let text = body["choices"][0]["message"]["content"]
                .as_str()
                .ok_or_else(|| {
                    TryError::Fatal(CloudError::Protocol(
                        "response has no choices[0].message.content".into(),
                    ))
                })?;
            first_token = Some(started.elapsed());
            reply.text = text.to_owned();
            let _ = self.tx.send(Event::Token(reply.text.clone()));
            reply.finish_reason = body["choices"][0]["finish_reason"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            read_usage(&body, &mut reply);
        }
        reply.time_to_first_token = first_token.unwrap_or_else(|| started.elapsed());
        reply.total_time = started.elapsed();
        if reply.prompt_tokens == 0 && reply.completion_tokens == 0 {
            // The endpoint reported no usage: estimate (≈ 4 bytes a token).
            reply.usage_estimated = true;
            reply.prompt_tokens = (self.body.len() / 4) as u32;
            reply.completion_tokens = reply.text.len().div_ceil(4) as u32;
        }
        Ok(reply)
    }
}

fn read_usage(body: &Value, reply: &mut CloudReply) {
    let usage = &body["usage"];
    let get = |k: &str| usage[k].as_u64().and_then(|n| u32::try_from(n).ok());
    if let Some(n) = get("prompt_tokens") {
        reply.prompt_tokens = n;
    }
    if let Some(n) = get("completion_tokens") {
        reply.completion_tokens = n;
    }
    if let Some(model) = body["model"].as_str().filter(|m| !m.is_empty()) {
        reply.model = model.to_owned();
    }
}

fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

fn transport(e: reqwest::Error) -> TryError {
    let retry = e.is_timeout() || e.is_connect() || e.is_request() || e.is_body();
    let err = if e.is_timeout() {
        CloudError::Timeout(e.to_string())
    } else {
        CloudError::Transport(error_chain(&e))
    };
    if retry {
        TryError::Retry(err, None)
    } else {
        TryError::Fatal(err)
    }
}

/// An error with its sources ("error sending request: connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
