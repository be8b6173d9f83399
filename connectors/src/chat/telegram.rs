//! Telegram Desktop exports (`result.json`): a single chat (`name`, `id`,
//! `messages`) or a whole account (`chats.list[]`). Message text is a string
//! or a list of strings and entity objects (`{"type": "bold", "text": …}`);
//! times come from `date_unixtime`. Service messages (calls, joins) keep
//! their action as text.

use super::{ConversationMessage, windows};
use crate::document::Document;
use crate::error::ConnectorError;
use crate::text::read_bounded;
use serde_json::Value;
use std::path::Path;

/// Reads a Telegram Desktop JSON export into conversation windows.
#[derive(Debug, Default, Clone, Copy)]
pub struct TelegramReader;

impl TelegramReader {
    /// Whether `head` (the start of a `.json` file) reads as a Telegram export.
    pub fn sniff(head: &str) -> bool {
        head.contains("\"messages\"")
            && (head.contains("\"personal_chat\"")
                || head.contains("\"private_group\"")
                || head.contains("\"chats\"")
                || head.contains("\"date_unixtime\""))
    }

    /// The windows of the export in `path`.
    pub fn read(&self, path: &Path) -> Result<Vec<Document>, ConnectorError> {
        let (abs, bytes) = read_bounded(path)?;
        let malformed = |reason: String| ConnectorError::Malformed {
            what: "Telegram export",
            path: abs.clone(),
            item: None,
            reason,
        };
        let root: Value = serde_json::from_slice(&bytes).map_err(|e| malformed(e.to_string()))?;
        let chats: Vec<&Value> = match root.pointer("/chats/list").and_then(Value::as_array) {
            Some(list) => list.iter().collect(),
            None if root.get("messages").is_some() => vec![&root],
            None => return Err(malformed("neither `messages` nor `chats.list`".into())),
        };
        let mut messages = Vec::new();
        for chat in chats {
            let id = chat
                .get("id")
                .map(|v| v.to_string())
                .unwrap_or_else(|| "chat".into());
            let name = chat
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("Saved Messages")
                .to_owned();
            let list = chat
                .get("messages")
                .and_then(Value::as_array)
                .ok_or_else(|| malformed(format!("chat {name}: no `messages` list")))?;
            for m in list {
                let Some(timestamp) = m
                    .get("date_unixtime")
                    .and_then(|v| v.as_str().and_then(|s| s.parse().ok()).or(v.as_i64()))
                else {
                    continue;
                };
                let mut text = flatten(m.get("text"));
                if m.get("type").and_then(Value::as_str) == Some("service") {
                    let action = m.get("action").and_then(Value::as_str).unwrap_or("service");
                    text = format!("({}) {text}", action.replace('_', " "));
                }
                let media = m
                    .get("media_type")
                    .and_then(Value::as_str)
                    .or_else(|| m.get("photo").map(|_| "photo"));
                if let Some(kind) = media {
                    text = format!("<{}> {text}", kind.replace('_', " "));
                }
                let sender = m
                    .get("from")
                    .or_else(|| m.get("actor"))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                if text.trim().is_empty() {
                    continue;
                }
                messages.push(ConversationMessage {
                    chat: id.clone(),
                    chat_name: name.clone(),
                    sender,
                    timestamp,
                    text: text.trim().to_owned(),
                });
            }
        }
        Ok(windows(&abs, "telegram", messages))
    }
}

/// A message's text: a string, or a list of strings and `{"text": …}` entities.
fn flatten(text: Option<&Value>) -> String {
    match text {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .map(|p| match p {
                Value::String(s) => s.as_str(),
                other => other.get("text").and_then(Value::as_str).unwrap_or(""),
            })
            .collect(),
        _ => String::new(),
    }
}
