//! The macOS Messages database (`~/Library/Messages/chat.db`), opened
//! read-only: `message` joined to `handle` (who) and, through
//! `chat_message_join`, to `chat` (which conversation). Dates count from
//! 2001-01-01 (Apple's epoch), in nanoseconds on current macOS and seconds
//! on old ones. Newer macOS leaves `text` NULL and keeps the words in
//! `attributedBody`, an archived `NSAttributedString`: its string is read
//! from after the `NSString` class marker.

use super::{ConversationMessage, OWNER, windows};
use crate::document::Document;
use crate::error::ConnectorError;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;

/// Seconds from the Unix epoch to Apple's (2001-01-01T00:00:00Z).
const APPLE_EPOCH: i64 = 978_307_200;

/// Reads an iMessage `chat.db` into conversation windows.
#[derive(Debug, Default, Clone, Copy)]
pub struct IMessageReader;

impl IMessageReader {
    /// The windows of the database at `path`.
    pub fn read(&self, path: &Path) -> Result<Vec<Document>, ConnectorError> {
        let abs = std::fs::canonicalize(path).map_err(|source| ConnectorError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let malformed = |reason: String| ConnectorError::Malformed {
            what: "iMessage database",
            path: abs.clone(),
            item: None,
            reason,
        };
        let db = Connection::open_with_flags(
            &abs,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| malformed(e.to_string()))?;
        let messages =
            read_messages(&db).map_err(|e| malformed(format!("not an iMessage chat.db ({e})")))?;
        Ok(windows(&abs, "imessage", messages))
    }
}

fn read_messages(db: &Connection) -> rusqlite::Result<Vec<ConversationMessage>> {
    let mut stmt = db.prepare(
        "SELECT m.text, m.attributedBody, m.date, m.is_from_me, h.id,
                c.chat_identifier, c.display_name
         FROM message m
         LEFT JOIN handle h ON h.ROWID = m.handle_id
         LEFT JOIN chat_message_join j ON j.message_id = m.ROWID
         LEFT JOIN chat c ON c.ROWID = j.chat_id
         ORDER BY m.date, m.ROWID",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, Option<String>>(0)?,
            r.get::<_, Option<Vec<u8>>>(1)?,
            r.get::<_, Option<i64>>(2)?,
            r.get::<_, Option<i64>>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, Option<String>>(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (text, body, date, from_me, handle, chat, display) = row?;
        let Some(text) = text
            .filter(|t| !t.trim().is_empty())
            .or_else(|| body.as_deref().and_then(attributed_text))
        else {
            continue;
        };
        let text = text.replace('\u{fffc}', "<attachment>");
        let chat = chat
            .or_else(|| handle.clone())
            .unwrap_or_else(|| "unknown".into());
        let chat_name = display
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| chat.clone());
        out.push(ConversationMessage {
            sender: Some(if from_me == Some(1) {
                OWNER.to_owned()
            } else {
                handle.unwrap_or_else(|| chat.clone())
            }),
            chat,
            chat_name,
            timestamp: apple_time(date.unwrap_or(0)),
            text,
        });
    }
    Ok(out)
}

/// Unix seconds of a `message.date`: nanoseconds since 2001 on current
/// macOS, seconds on old ones.
fn apple_time(date: i64) -> i64 {
    let secs = if date.abs() > 10_000_000_000 {
        date / 1_000_000_000
    } else {
        date
    };
    APPLE_EPOCH + secs
}

/// The string of an archived `NSAttributedString` (typedstream): after the
/// `NSString` class name, a `+` marker, then a length (one byte, or `0x81`
/// and two bytes little-endian, or `0x82` and four) and the UTF-8 bytes.
///
/// ```
/// let mut blob = b"\x04\x0bstreamtyped\x81\xe8\x03\x84\x01@\x84\x84\x84\x12NSAttributedString\x00\x84\x84\x08NSObject\x00\x85\x92\x84\x84\x84\x08NSString\x01\x94\x84\x01+".to_vec();
/// blob.push(5);
/// blob.extend_from_slice(b"hello\x86\x84");
/// assert_eq!(hearth_connectors::attributed_text(&blob).as_deref(), Some("hello"));
/// ```
pub fn attributed_text(blob: &[u8]) -> Option<String> {
    let at = blob.windows(8).position(|w| w == b"NSString")? + 8;
    let rest = &blob[at..];
    let plus = rest.iter().take(16).position(|&b| b == b'+')? + 1;
    let rest = &rest[plus..];
    let (len, skip): (usize, usize) = match *rest.first()? {
        0x81 => (
            usize::from(u16::from_le_bytes([*rest.get(1)?, *rest.get(2)?])),
            3,
        ),
        0x82 => {
            let b = rest.get(1..5)?;
            (
                usize::try_from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok()?,
                5,
            )
        }
        n => (usize::from(n), 1),
    };
    let bytes = rest.get(skip..skip.checked_add(len)?)?;
    let text = String::from_utf8_lossy(bytes).trim().to_owned();
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apple_dates_in_seconds_and_nanoseconds() {
        // 2026-02-09T07:41:00Z
        let unix = 1_770_622_860;
        assert_eq!(apple_time(unix - APPLE_EPOCH), unix);
        assert_eq!(apple_time((unix - APPLE_EPOCH) * 1_000_000_000), unix);
    }

    #[test]
    fn attributed_body_lengths_and_garbage() {
        let long = "x".repeat(300);
        let mut blob = b"....NSString\x01\x94\x84\x01+\x81".to_vec();
        blob.extend_from_slice(&300u16.to_le_bytes());
        blob.extend_from_slice(long.as_bytes());
        assert_eq!(attributed_text(&blob), Some(long));
        assert_eq!(attributed_text(b"no marker here"), None);
        assert_eq!(attributed_text(b"NSString\x01+\x81\xff"), None);
        assert_eq!(attributed_text(b"NSString\x01+\x82\xff\xff\xff\xff"), None);
    }
}
