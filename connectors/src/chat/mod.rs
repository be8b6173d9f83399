//! Chat exports — WhatsApp `.txt`, Telegram Desktop `result.json`, Android
//! "SMS Backup & Restore" XML and the macOS iMessage `chat.db` — read into
//! one [`ConversationMessage`] list each, then grouped into conversation windows
//! (per chat, per day, at most [`WINDOW_MESSAGES`] messages): one document
//! per window, its participants the chat's members, every line carrying its
//! own time and sender, and each message a span (`Sender, 2026-02-09 07:41`).

mod imessage;
mod sms;
mod telegram;
mod whatsapp;

pub use imessage::{IMessageReader, attributed_text};
pub use sms::SmsBackupReader;
pub use telegram::TelegramReader;
pub use whatsapp::WhatsAppReader;

use crate::document::{
    Document, Origin, Participant, ParticipantRole, SourceKind, Span, SpanLabel, file_uri,
};
use chrono::{DateTime, NaiveDate};
use std::collections::BTreeMap;
use std::path::Path;

/// The sender name of messages the device's owner sent (SMS, iMessage). It
/// is not a participant: the owner is in every chat, and "Me" is no name.
pub const OWNER: &str = "Me";

/// Most messages in one conversation window.
pub const WINDOW_MESSAGES: usize = 50;

/// One message of a chat export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationMessage {
    /// The conversation: a phone number, chat id or name.
    pub chat: String,
    /// The conversation's display name.
    pub chat_name: String,
    /// Who wrote it (`None` for system lines).
    pub sender: Option<String>,
    /// Seconds since the Unix epoch. Exports that give local times without a
    /// zone (WhatsApp) are read as UTC, so days and times show as written.
    pub timestamp: i64,
    /// The message text.
    pub text: String,
}

/// Groups `messages` into windows and makes each a [`Document`]; `source`
/// names the export (`whatsapp`, `telegram`, `sms`, `imessage`).
pub(crate) fn windows(
    path: &Path,
    source: &str,
    messages: Vec<ConversationMessage>,
) -> Vec<Document> {
    let uri = file_uri(path);
    let mut by_chat: BTreeMap<String, Vec<ConversationMessage>> = BTreeMap::new();
    for m in messages {
        by_chat.entry(m.chat.clone()).or_default().push(m);
    }
    let mut docs = Vec::new();
    for (chat, mut msgs) in by_chat {
        msgs.sort_by_key(|m| m.timestamp);
        let mut members: Vec<String> = Vec::new();
        for s in msgs
            .iter()
            .filter_map(|m| m.sender.as_ref())
            .filter(|s| *s != OWNER)
        {
            if !members.contains(s) {
                members.push(s.clone());
            }
        }
        let mut start = 0;
        while start < msgs.len() {
            let day = day_of(msgs[start].timestamp);
            let mut end = start + 1;
            while end < msgs.len()
                && end - start < WINDOW_MESSAGES
                && day_of(msgs[end].timestamp) == day
            {
                end += 1;
            }
            let part = msgs[..start]
                .iter()
                .filter(|m| day_of(m.timestamp) == day)
                .count()
                / WINDOW_MESSAGES;
            docs.push(window(
                path,
                &uri,
                source,
                &chat,
                &members,
                &msgs[start..end],
                day,
                part,
            ));
            start = end;
        }
    }
    docs
}

#[allow(clippy::too_many_arguments)]
fn window(
    path: &Path,
    uri: &str,
    source: &str,
    chat: &str,
    members: &[String],
    msgs: &[ConversationMessage],
    day: Option<NaiveDate>,
    part: usize,
) -> Document {
    let name = msgs.first().map_or(chat, |m| m.chat_name.as_str());
    let day_text = day.map_or_else(|| "undated".to_owned(), |d| d.to_string());
    let mut text = String::new();
    let mut spans = Vec::with_capacity(msgs.len());
    for m in msgs {
        if !text.is_empty() {
            text.push('\n');
        }
        let start = text.len();
        let time = clock(m.timestamp);
        match &m.sender {
            Some(s) => text.push_str(&format!("[{time}] {s}: {}", m.text)),
            None => text.push_str(&format!("[{time}] {}", m.text)),
        }
        spans.push(Span {
            start,
            end: text.len(),
            label: SpanLabel::Message(format!(
                "{}, {} {time}",
                m.sender.as_deref().unwrap_or(name),
                day_text
            )),
        });
    }
    let suffix = if part > 0 {
        format!("-{}", part + 1)
    } else {
        String::new()
    };
    let chat_key: String = chat
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '+' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut doc = Document::new(
        SourceKind::Message,
        "text/plain",
        format!("{uri}#{source}/{chat_key}/{day_text}{suffix}"),
        format!("{name} — {day_text}"),
        text,
        Origin {
            path: path.to_path_buf(),
            item: Some(format!(
                "{source} chat {name}, {day_text}: {} messages",
                msgs.len()
            )),
        },
    );
    doc.spans = spans;
    doc.participants = members.iter().filter_map(|m| member(m)).collect();
    doc.timestamp = msgs.first().map(|m| m.timestamp);
    doc.thread = Some(format!("{source}:{chat}"));
    doc.seal()
}

/// A chat member: a name, or a phone number as the address; a short code
/// (a service, not a person) is no participant.
fn member(sender: &str) -> Option<Participant> {
    let phone_like = sender
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let digits = sender.chars().filter(char::is_ascii_digit).count();
    let (name, address) = match (phone_like, digits) {
        (false, _) => (Some(sender.to_owned()), None),
        (true, 7..) => (None, Some(sender.to_owned())),
        (true, _) => return None,
    };
    Some(Participant {
        name,
        address,
        role: ParticipantRole::Member,
    })
}

fn day_of(ts: i64) -> Option<NaiveDate> {
    DateTime::from_timestamp(ts, 0).map(|d| d.date_naive())
}

fn clock(ts: i64) -> String {
    DateTime::from_timestamp(ts, 0).map_or_else(String::new, |d| d.format("%H:%M").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(ts: i64, who: &str, text: &str) -> ConversationMessage {
        ConversationMessage {
            chat: "c1".into(),
            chat_name: "Tomás".into(),
            sender: Some(who.into()),
            timestamp: ts,
            text: text.into(),
        }
    }

    #[test]
    fn windows_split_by_day_and_size() {
        let day = 86_400;
        let mut msgs = vec![
            msg(10 * day + 60, "A", "hi"),
            msg(11 * day, "B", "next day"),
        ];
        msgs.extend((0..WINDOW_MESSAGES + 3).map(|i| msg(12 * day + i as i64, "A", "x")));
        let docs = windows(Path::new("/x/chat.txt"), "whatsapp", msgs);
        assert_eq!(docs.len(), 4);
        assert_eq!(docs[0].title, "Tomás — 1970-01-11");
        assert_eq!(docs[0].text, "[00:01] A: hi");
        assert_eq!(docs[0].participants.len(), 2);
        assert!(
            docs[3].uri.ends_with("#whatsapp/c1/1970-01-13-2"),
            "{}",
            docs[3].uri
        );
        assert_eq!(docs[3].text.lines().count(), 3);
        assert_eq!(
            docs[0].label_at(0),
            Some(&SpanLabel::Message("A, 1970-01-11 00:01".into()))
        );
        // Distinct ids for distinct windows.
        assert_ne!(docs[2].id, docs[3].id);
    }
}
