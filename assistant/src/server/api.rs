//! The wire format of `hearth serve`: OpenAI-compatible requests and
//! responses, Hearth's search hits, and OpenAI-style errors.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::generate::{ChatMessage, Role};
use hearth_store::{SearchFilter, SearchHit};

/// A search hit as `hearth search --json` and `/v1/search` print it.
#[derive(Debug, Serialize)]
pub struct JsonHit<'a> {
    /// Position in the result list, from 1.
    pub rank: usize,
    /// The score the ranking used: inner product, BM25 or fused reciprocal rank.
    pub score: f32,
    /// Id of the document the chunk belongs to.
    pub doc_id: &'a str,
    /// Content-addressed id of the chunk.
    pub chunk_id: &'a str,
    /// Source kind.
    pub source: &'a str,
    /// The document's `file://` URI (with `#item` inside a container file).
    pub uri: &'a str,
    /// The document's display title.
    pub title: &'a str,
    /// The document's date, in Unix seconds (`None` when undated).
    pub timestamp: Option<i64>,
    /// Byte range of the chunk in the document text.
    pub offset: u64,
    /// End of the chunk's byte range (exclusive).
    pub end: u64,
    /// Where in the document: page, heading path or message range, when known.
    pub locator: Option<&'a str>,
    /// The document's participants, as `Name <address>` strings.
    pub participants: &'a [String],
    /// Exact inner product with the query, when the vector list ranked the chunk.
    pub vector_score: Option<f32>,
    /// BM25 score, when the keyword list ranked the chunk.
    pub keyword_score: Option<f32>,
    /// The chunk's text.
    pub text: &'a str,
}

impl<'a> From<&'a SearchHit> for JsonHit<'a> {
    fn from(h: &'a SearchHit) -> Self {
        Self {
            rank: h.rank,
            score: h.score,
            doc_id: &h.document.doc_id,
            chunk_id: &h.chunk.chunk_id,
            source: &h.document.kind,
            uri: &h.document.uri,
            title: &h.document.title,
            timestamp: h.document.timestamp,
            offset: h.chunk.byte_start,
            end: h.chunk.byte_end,
            locator: h.chunk.locator.as_deref(),
            participants: &h.document.participants,
            vector_score: h.vector_score,
            keyword_score: h.keyword_score,
            text: &h.chunk.text,
        }
    }
}

/// The source kinds a filter may name.
pub const SOURCE_KINDS: [&str; 4] = ["mail", "document", "message", "screenshot"];

/// A search filter from its user-facing form: source kinds, `YYYY-MM-DD`
/// dates (after: from that day on; before: up to that day), a participant
/// substring and a path prefix.
pub fn search_filter(
    kinds: &[String],
    after: Option<&str>,
    before: Option<&str>,
    participant: Option<&str>,
    path_prefix: Option<&str>,
) -> Result<SearchFilter, String> {
    if let Some(bad) = kinds.iter().find(|k| !SOURCE_KINDS.contains(&k.as_str())) {
        return Err(format!(
            "unknown source `{bad}` (use {})",
            SOURCE_KINDS.join(", ")
        ));
    }
    Ok(SearchFilter {
        kinds: kinds.to_vec(),
        after: after.map(day_start).transpose()?,
        before: before.map(day_start).transpose()?,
        participant: participant.map(str::to_owned),
        path_prefix: path_prefix.map(str::to_owned),
    })
}

/// Unix time of a `YYYY-MM-DD` day's start (UTC).
pub fn day_start(day: &str) -> Result<i64, String> {
    let date = chrono::NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d")
        .map_err(|e| format!("date `{day}` is not YYYY-MM-DD: {e}"))?;
    Ok(date.and_time(chrono::NaiveTime::MIN).and_utc().timestamp())
}

/// `POST /v1/search`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchBody {
    /// The query text; must not be empty.
    pub query: String,
    /// Hits to return, 1–1000 (default 10).
    #[serde(default = "default_k")]
    pub k: usize,
    /// `hybrid`, `vector` or `bm25` (default: the server's).
    pub mode: Option<String>,
    /// Source kinds to keep (see [`SOURCE_KINDS`]); empty keeps all.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Keep documents dated on or after this `YYYY-MM-DD` day (UTC).
    pub after: Option<String>,
    /// Keep documents dated before this `YYYY-MM-DD` day (UTC).
    pub before: Option<String>,
    /// Participant substring (`--from`).
    pub from: Option<String>,
    /// Keep documents read from a file under this path prefix.
    pub path: Option<String>,
}

fn default_k() -> usize {
    10
}

/// One message of a chat request; `content` may be a string or a list of
/// `{type: "text", text}` parts.
#[derive(Debug, Deserialize)]
pub struct WireMessage {
    /// `system` (or `developer`), `user` or `assistant`.
    pub role: String,
    /// The message text: a string, a list of text parts, or null (empty).
    #[serde(default)]
    pub content: Value,
}

/// `POST /v1/chat/completions` (the fields Hearth uses; others are ignored).
#[derive(Debug, Deserialize)]
pub struct ChatRequest {
    /// `hearth` (default), `hearth-<tier>`, `hearth-cloud`, or a bare tier name.
    #[serde(default)]
    pub model: Option<String>,
    /// The conversation; retrieval models answer its last user message.
    pub messages: Vec<WireMessage>,
    /// Most tokens to generate (default: the server's; capped at 4096).
    #[serde(default, alias = "max_completion_tokens")]
    pub max_tokens: Option<usize>,
    /// Sampling temperature (default 0: greedy).
    #[serde(default)]
    pub temperature: Option<f32>,
    /// Nucleus sampling probability mass, in (0, 1] (default 1: off).
    #[serde(default)]
    pub top_p: Option<f32>,
    /// Seed of the sampler (default 0).
    #[serde(default)]
    pub seed: Option<u64>,
    /// Stream the reply as server-sent events.
    #[serde(default)]
    pub stream: bool,
    /// Streaming options (OpenAI's `stream_options`).
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
}

/// `stream_options` of a chat request.
#[derive(Debug, Default, Deserialize)]
pub struct StreamOptions {
    /// Send a final chunk with the token usage before `[DONE]`.
    #[serde(default)]
    pub include_usage: bool,
}

impl ChatRequest {
    /// The messages as the generators take them.
    pub fn chat_messages(&self) -> Result<Vec<ChatMessage>, String> {
        self.messages
            .iter()
            .map(|m| {
                let role = match m.role.as_str() {
                    "system" | "developer" => Role::System,
                    "user" => Role::User,
                    "assistant" => Role::Assistant,
                    other => return Err(format!("unsupported message role `{other}`")),
                };
                Ok(ChatMessage::new(role, content_text(&m.content)?))
            })
            .collect()
    }

    /// The question of a retrieval request: the last user message.
    pub fn question(&self) -> Result<String, String> {
        let last = self
            .messages
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .ok_or("the request has no user message")?;
        let text = content_text(&last.content)?;
        if text.trim().is_empty() {
            return Err("the last user message is empty".into());
        }
        Ok(text)
    }
}

fn content_text(content: &Value) -> Result<String, String> {
    match content {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Ok(String::new()),
        Value::Array(parts) => Ok(parts
            .iter()
            .filter(|p| p["type"] == "text")
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n")),
        _ => Err("message content must be a string or a list of text parts".into()),
    }
}

/// `POST /v1/embeddings`.
#[derive(Debug, Deserialize)]
pub struct EmbeddingsRequest {
    /// A string or a list of strings to embed.
    pub input: Value,
    /// The embedding model's id or `hearth`; any other is refused.
    #[serde(default)]
    pub model: Option<String>,
}

impl EmbeddingsRequest {
    /// The texts to embed (a string or a list of strings).
    pub fn texts(&self) -> Result<Vec<String>, String> {
        match &self.input {
            Value::String(s) => Ok(vec![s.clone()]),
            Value::Array(items) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| "input must be a string or a list of strings".to_owned())
                })
                .collect(),
            _ => Err("input must be a string or a list of strings".into()),
        }
    }
}

/// An OpenAI-style error body.
pub fn error_body(message: &str, kind: &str) -> Value {
    json!({"error": {"message": message, "type": kind, "code": null}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_as_openai_clients_send_them() {
        let req: ChatRequest = serde_json::from_str(
            r#"{"model":"hearth","messages":[{"role":"system","content":"s"},
            {"role":"user","content":[{"type":"text","text":"When"},{"type":"text","text":"is it?"}]}],
            "max_completion_tokens":20,"stream":true,"stream_options":{"include_usage":true},"n":1}"#,
        )
        .unwrap();
        assert_eq!(req.question().unwrap(), "When\nis it?");
        assert_eq!(req.max_tokens, Some(20));
        assert_eq!(req.chat_messages().unwrap().len(), 2);
        let bad: ChatRequest =
            serde_json::from_str(r#"{"messages":[{"role":"tool","content":"x"}]}"#).unwrap();
        assert!(bad.chat_messages().is_err() && bad.question().is_err());
        let e: EmbeddingsRequest = serde_json::from_str(r#"{"input":["a","b"]}"#).unwrap();
        assert_eq!(e.texts().unwrap(), ["a", "b"]);
        let e: EmbeddingsRequest = serde_json::from_str(r#"{"input":[1]}"#).unwrap();
        assert!(e.texts().is_err());
    }

    #[test]
    fn filters_check_kinds_and_dates() {
        let f = search_filter(
            &["mail".into()],
            Some("2026-01-02"),
            None,
            Some("alice"),
            None,
        )
        .unwrap();
        assert_eq!(f.after, Some(1_767_312_000));
        assert!(search_filter(&["fax".into()], None, None, None, None).is_err());
        assert!(search_filter(&[], Some("02/01/2026"), None, None, None).is_err());
    }
}
