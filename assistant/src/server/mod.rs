//! `hearth serve`: search and an OpenAI-compatible chat endpoint on localhost
//! for other programs.
//!
//! | route | what |
//! |---|---|
//! | `GET /v1/models` | the models: `hearth` (retrieval, routed), `hearth-<tier>` (retrieval on one tier), and the bare tiers `micro`, `local`, `larger` |
//! | `POST /v1/chat/completions` | OpenAI chat completions, streamed or not |
//! | `POST /v1/embeddings` | the index's embedding model |
//! | `POST /v1/search` | ranked chunks, as `hearth search --json` |
//!
//! `hearth` models answer the last user message from the index with checked
//! citations (returned in a `hearth` field beside `choices`); since a cascade
//! may reject a draft, their reply is streamed once it is accepted. Bare tiers
//! are a plain model server: the messages go to the model as they are, and
//! tokens stream as they are generated.

pub mod api;
mod engine;

pub use engine::{ChatEvent, EngineConfig, EngineHandle, EngineInfo, spawn};

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::answer::AskOptions;
use crate::generate::{FinishReason, GenerationParams, Tier};
use api::{ChatRequest, EmbeddingsRequest, JsonHit, SearchBody, error_body};
use hearth_store::SearchMode;

/// The default model: retrieval with routing.
pub const DEFAULT_MODEL: &str = "hearth";

/// The HTTP routes over an engine.
pub fn router(engine: EngineHandle) -> Router {
    Router::new()
        .route("/v1/models", get(models))
        .route("/v1/chat/completions", post(chat))
        .route("/v1/embeddings", post(embeddings))
        .route("/v1/search", post(search))
        .with_state(engine)
}

/// Serves `engine` on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, engine: EngineHandle) -> std::io::Result<()> {
    axum::serve(listener, router(engine)).await
}

/// Serves `engine` on `addr` from a runtime of its own until the process
/// ends (for callers that are not async); `on_bound` is told the address
/// bound — the port picked when `addr` asked for port 0.
pub fn run_blocking(
    addr: SocketAddr,
    engine: EngineHandle,
    on_bound: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("hearth-http")
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let (listener, local) = bind(addr).await?;
        on_bound(local);
        serve(listener, engine).await
    })
}

/// Binds `addr` (port 0 picks a free one) and returns the listener with the
/// address it got.
pub async fn bind(addr: SocketAddr) -> std::io::Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let kind = if status.is_server_error() {
        "server_error"
    } else {
        "invalid_request_error"
    };
    (status, Json(error_body(&message.into(), kind))).into_response()
}

/// Where a model id sends a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Retrieval; the tier forced, or routed (`None`).
    Answer(Option<Tier>, bool),
    /// A bare local model.
    Plain(Tier),
}

fn model_ids(info: &EngineInfo) -> Vec<String> {
    let mut ids = vec![DEFAULT_MODEL.to_owned()];
    ids.extend(info.tiers.iter().map(|t| format!("hearth-{t}")));
    if info.cloud.is_some() {
        ids.push("hearth-cloud".into());
    }
    ids.extend(info.tiers.iter().map(|t| t.to_string()));
    ids
}

fn target(info: &EngineInfo, model: Option<&str>) -> Option<Target> {
    let model = model.unwrap_or(DEFAULT_MODEL);
    if model == DEFAULT_MODEL {
        return Some(Target::Answer(None, false));
    }
    if model == "hearth-cloud" {
        return info.cloud.is_some().then_some(Target::Answer(None, true));
    }
    let (rag, name) = match model.strip_prefix("hearth-") {
        Some(name) => (true, name),
        None => (false, model),
    };
    let tier: Tier = name.parse().ok()?;
    info.tiers.contains(&tier).then_some(if rag {
        Target::Answer(Some(tier), false)
    } else {
        Target::Plain(tier)
    })
}

async fn models(State(engine): State<EngineHandle>) -> Json<Value> {
    let data: Vec<Value> = model_ids(engine.info())
        .into_iter()
        .map(|id| json!({"id": id, "object": "model", "created": 0, "owned_by": "hearth"}))
        .collect();
    Json(json!({"object": "list", "data": data}))
}

async fn chat(State(engine): State<EngineHandle>, body: Bytes) -> Response {
    let request: ChatRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad request body: {e}")),
    };
    let info = engine.info().clone();
    let Some(target) = target(&info, request.model.as_deref()) else {
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "model `{}` does not exist here; available: {}",
                request.model.as_deref().unwrap_or(""),
                model_ids(&info).join(", ")
            ),
        );
    };
    let model = request
        .model
        .clone()
        .unwrap_or_else(|| DEFAULT_MODEL.to_owned());
    let mut params = GenerationParams {
        max_new_tokens: request.max_tokens.unwrap_or(info.ask.params.max_new_tokens),
        temperature: request.temperature.unwrap_or(0.0).max(0.0),
        top_p: request.top_p.unwrap_or(1.0).clamp(f32::MIN_POSITIVE, 1.0),
        seed: request.seed.unwrap_or(0),
    };
    params.max_new_tokens = params.max_new_tokens.clamp(1, 4096);
    let events = match target {
        Target::Answer(tier, force_cloud) => {
            let question = match request.question() {
                Ok(q) => q,
                Err(e) => return error(StatusCode::BAD_REQUEST, e),
            };
            let options = AskOptions {
                tier,
                force_cloud,
                params,
                ..info.ask.clone()
            };
            engine.ask(question, options)
        }
        Target::Plain(tier) => {
            let messages = match request.chat_messages() {
                Ok(m) if !m.is_empty() => m,
                Ok(_) => return error(StatusCode::BAD_REQUEST, "messages is empty"),
                Err(e) => return error(StatusCode::BAD_REQUEST, e),
            };
            engine.chat(tier, messages, params)
        }
    };
    let id = format!("chatcmpl-{:x}", chrono::Utc::now().timestamp_micros());
    let created = chrono::Utc::now().timestamp();
    let completion = Completion { id, created, model };
    if request.stream {
        let usage = request.stream_options.unwrap_or_default().include_usage;
        stream_response(completion, events, usage)
    } else {
        whole_response(completion, events).await
    }
}

/// Identity of one completion, repeated in every chunk.
struct Completion {
    id: String,
    created: i64,
    model: String,
}

impl Completion {
    fn chunk(&self, delta: Value, finish: Option<&str>) -> Value {
        json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        })
    }
}

/// The usage, finish reason and Hearth extras of a finished event.
fn summary(event: &ChatEvent) -> (Value, &'static str, Option<Value>) {
    match event {
        ChatEvent::Generated(g) => (
            usage(g.prompt_tokens, g.completion_tokens),
            match g.finish_reason {
                FinishReason::Stop => "stop",
                FinishReason::Length | FinishReason::Context => "length",
            },
            None,
        ),
        ChatEvent::Answered(answer) => {
            let (p, c) = answer.attempts.iter().fold((0, 0), |(p, c), a| {
                (p + a.prompt_tokens, c + a.completion_tokens)
            });
            let extra = json!({
                "tier": answer.tier, "citations": answer.citations, "sources": answer.sources,
                "attempts": answer.attempts, "notes": answer.notes,
                "escalated_to_cloud": answer.escalated_to_cloud, "request_id": answer.request_id,
                "task": answer.task,
            });
            (usage(p, c), "stop", Some(extra))
        }
        _ => (Value::Null, "stop", None),
    }
}

fn usage(prompt: usize, completion: usize) -> Value {
    json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion})
}

async fn whole_response(
    completion: Completion,
    mut events: mpsc::UnboundedReceiver<ChatEvent>,
) -> Response {
    let mut text = String::new();
    while let Some(event) = events.recv().await {
        match event {
            ChatEvent::Token(piece) => text.push_str(&piece),
            ChatEvent::Failed(e) => return error(StatusCode::SERVICE_UNAVAILABLE, e),
            done => {
                let (usage, finish, extra) = summary(&done);
                let mut body = json!({
                    "id": completion.id, "object": "chat.completion", "created": completion.created,
                    "model": completion.model,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                 "finish_reason": finish}],
                    "usage": usage,
                });
                if let Some(extra) = extra {
                    body["hearth"] = extra;
                }
                return Json(body).into_response();
            }
        }
    }
    error(StatusCode::SERVICE_UNAVAILABLE, "the engine stopped")
}

fn stream_response(
    completion: Completion,
    events: mpsc::UnboundedReceiver<ChatEvent>,
    include_usage: bool,
) -> Response {
    let sse = |v: &Value| Bytes::from(format!("data: {v}\n\n"));
    let first = sse(&completion.chunk(json!({"role": "assistant", "content": ""}), None));
    let state = (Some(first), events, completion, false);
    let stream = futures_util::stream::unfold(
        state,
        move |(pending, mut events, c, done)| async move {
            if let Some(bytes) = pending {
                return Some((Ok::<_, Infallible>(bytes), (None, events, c, done)));
            }
            if done {
                return None;
            }
            let bytes = match events.recv().await {
                Some(ChatEvent::Token(piece)) => sse(&c.chunk(json!({"content": piece}), None)),
                Some(ChatEvent::Failed(e)) => {
                    let mut out = sse(&json!({"error": {"message": e, "type": "server_error"}}));
                    out = [out, Bytes::from_static(b"data: [DONE]\n\n")]
                        .concat()
                        .into();
                    return Some((Ok(out), (None, events, c, true)));
                }
                Some(done_event) => {
                    let (usage, finish, extra) = summary(&done_event);
                    let mut last = c.chunk(json!({}), Some(finish));
                    if let Some(extra) = extra {
                        last["hearth"] = extra;
                    }
                    let mut out = vec![sse(&last)];
                    if include_usage {
                        out.push(sse(&json!({
                            "id": c.id, "object": "chat.completion.chunk", "created": c.created,
                            "model": c.model, "choices": [], "usage": usage,
                        })));
                    }
                    out.push(Bytes::from_static(b"data: [DONE]\n\n"));
                    return Some((Ok(out.concat().into()), (None, events, c, true)));
                }
                None => {
                    let out = sse(
                        &json!({"error": {"message": "the engine stopped", "type": "server_error"}}),
                    );
                    return Some((Ok(out), (None, events, c, true)));
                }
            };
            Some((Ok(bytes), (None, events, c, false)))
        },
    );
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| error(StatusCode::INTERNAL_SERVER_ERROR, "response"))
}

async fn embeddings(State(engine): State<EngineHandle>, body: Bytes) -> Response {
    let request: EmbeddingsRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad request body: {e}")),
    };
    let texts = match request.texts() {
        Ok(t) if !t.is_empty() => t,
        Ok(_) => return error(StatusCode::BAD_REQUEST, "input is empty"),
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let model = engine.info().embedding_model.clone();
    if let Some(asked) = request.model.as_deref()
        && asked != model
        && asked != DEFAULT_MODEL
    {
        return error(
            StatusCode::NOT_FOUND,
            format!("embedding model `{asked}` does not exist here; use `{model}`"),
        );
    }
    match engine.embed(texts).await {
        Ok((vectors, tokens)) => {
            let data: Vec<Value> = vectors
                .into_iter()
                .enumerate()
                .map(|(i, v)| json!({"object": "embedding", "index": i, "embedding": v}))
                .collect();
            Json(json!({
                "object": "list", "data": data, "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }))
            .into_response()
        }
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e),
    }
}

async fn search(State(engine): State<EngineHandle>, body: Bytes) -> Response {
    let request: SearchBody = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad request body: {e}")),
    };
    if request.query.trim().is_empty() || request.k == 0 || request.k > 1000 {
        return error(
            StatusCode::BAD_REQUEST,
            "query must not be empty and k must be 1–1000",
        );
    }
    let mut options = engine.info().search.clone();
    if let Some(mode) = &request.mode {
        match SearchMode::parse(mode) {
            Ok(m) => options.mode = m,
            Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
        }
    }
    options.filter = match api::search_filter(
        &request.sources,
        request.after.as_deref(),
        request.before.as_deref(),
        request.from.as_deref(),
        request.path.as_deref(),
    ) {
        Ok(f) => f,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    match engine
        .search(request.query.clone(), request.k, options)
        .await
    {
        Ok(hits) => {
            let hits: Vec<JsonHit<'_>> = hits.iter().map(JsonHit::from).collect();
            Json(json!({"query": request.query, "hits": hits})).into_response()
        }
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_ids_map_to_targets() {
        let info = EngineInfo {
            tiers: vec![Tier::Micro, Tier::Local],
            cloud: None,
            embedding_model: "m".into(),
            search: Default::default(),
            ask: Default::default(),
        };
        assert_eq!(
            model_ids(&info),
            ["hearth", "hearth-micro", "hearth-local", "micro", "local"]
        );
        assert_eq!(target(&info, None), Some(Target::Answer(None, false)));
        assert_eq!(
            target(&info, Some("hearth-local")),
            Some(Target::Answer(Some(Tier::Local), false))
        );
        assert_eq!(
            target(&info, Some("micro")),
            Some(Target::Plain(Tier::Micro))
        );
        assert_eq!(target(&info, Some("larger")), None);
        assert_eq!(target(&info, Some("hearth-cloud")), None);
        assert_eq!(target(&info, Some("gpt-4o")), None);
    }
}
