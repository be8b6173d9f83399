//! Android "SMS Backup & Restore" XML (`<smses>`): `<sms>` elements
//! (address, date in epoch milliseconds, type 1 received / 2 sent, body,
//! contact_name) and the text parts of `<mms>` messages, one chat per
//! address, streamed through quick-xml.

use super::{ConversationMessage, OWNER, windows};
use crate::document::Document;
use crate::error::ConnectorError;
use crate::text::read_bounded;
use quick_xml::events::{BytesStart, Event};
use std::collections::HashMap;
use std::path::Path;

/// Reads an SMS Backup & Restore XML file into conversation windows.
#[derive(Debug, Default, Clone, Copy)]
pub struct SmsBackupReader;

impl SmsBackupReader {
    /// Whether `head` (the start of an `.xml` file) is an SMS backup.
    pub fn sniff(head: &str) -> bool {
        head.contains("<smses")
    }

    /// The windows of the backup in `path`.
    pub fn read(&self, path: &Path) -> Result<Vec<Document>, ConnectorError> {
        let (abs, bytes) = read_bounded(path)?;
        let messages = parse(&bytes).map_err(|reason| ConnectorError::Malformed {
            what: "SMS backup",
            path: abs.clone(),
            item: None,
            reason,
        })?;
        Ok(windows(&abs, "sms", messages))
    }
}

fn attrs(e: &BytesStart<'_>) -> HashMap<String, String> {
    e.attributes()
        .flatten()
        .filter_map(|a| {
            let key = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
            Some((key, a.unescape_value().ok()?.into_owned()))
        })
        .collect()
}

/// The messages of a backup; an XML error names its byte position.
pub(crate) fn parse(xml: &[u8]) -> Result<Vec<ConversationMessage>, String> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut seen_root = false;
    // The open `<mms>`: its attributes and text parts so far.
    let mut mms: Option<(HashMap<String, String>, Vec<String>)> = None;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("at byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                b"smses" => seen_root = true,
                b"sms" => {
                    if let Some(m) = message(&attrs(&e), None) {
                        out.push(m);
                    }
                }
                b"mms" => mms = Some((attrs(&e), Vec::new())),
                b"part" => {
                    let a = attrs(&e);
                    if let (Some((_, parts)), Some("text/plain")) =
                        (&mut mms, a.get("ct").map(String::as_str))
                        && let Some(text) = a.get("text")
                    {
                        parts.push(text.clone());
                    }
                }
                _ => {}
            },
            Event::End(e) if e.local_name().as_ref() == b"mms" => {
                if let Some((a, parts)) = mms.take()
                    && let Some(m) = message(&a, Some(parts.join("\n")))
                {
                    out.push(m);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !seen_root {
        return Err("no <smses> element: not an SMS Backup & Restore file".into());
    }
    Ok(out)
}

/// An `<sms>` (or, with `body`, an `<mms>`) as a message.
fn message(a: &HashMap<String, String>, body: Option<String>) -> Option<ConversationMessage> {
    let address = a.get("address")?.clone();
    let millis: i64 = a.get("date")?.parse().ok()?;
    let text = body.or_else(|| a.get("body").cloned())?;
    if text.trim().is_empty() {
        return None;
    }
    let contact = a
        .get("contact_name")
        .filter(|n| !n.is_empty() && *n != "(Unknown)" && *n != "null")
        .cloned()
        .unwrap_or_else(|| address.clone());
    // sms: type 2 is sent; mms: msg_box 2 is sent.
    let sent = a.get("type").map(String::as_str) == Some("2")
        || a.get("msg_box").map(String::as_str) == Some("2");
    Some(ConversationMessage {
        chat: address,
        chat_name: contact.clone(),
        sender: Some(if sent { OWNER.to_owned() } else { contact }),
        timestamp: millis.div_euclid(1000),
        text,
    })
}
