//! WhatsApp "Export chat" text files, as Android and iOS write them in
//! several locales: `09/02/2026, 07:41 - Name: text`,
//! `[09/02/2026, 07:41:23] Name: text`, `2/9/26, 7:41 AM - Name: text`,
//! `09.02.26, 07:41 - Name: text`. Lines without a header continue the
//! message before them; lines without a sender are system lines. Whether a
//! date is day- or month-first is decided per file from the dates in it.

use super::{ConversationMessage, windows};
use crate::document::Document;
use crate::error::ConnectorError;
use crate::text::{decode_text, file_title, read_bounded};
use chrono::{NaiveDate, NaiveTime};
use std::path::Path;

/// Reads a WhatsApp chat export into conversation windows.
#[derive(Debug, Default, Clone, Copy)]
pub struct WhatsAppReader;

/// A line's header, before the day/month order is known.
struct Header<'a> {
    date: [u32; 3],
    time: NaiveTime,
    rest: &'a str,
}

impl WhatsAppReader {
    /// Whether `text` (the start of a file) reads as a WhatsApp export.
    pub fn sniff(text: &str) -> bool {
        text.lines()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| header(l).is_some())
    }

    /// The windows of the export in `path`.
    pub fn read(&self, path: &Path) -> Result<Vec<Document>, ConnectorError> {
        let (abs, bytes) = read_bounded(path)?;
        let text = decode_text(&bytes);
        let stem = file_title(&abs);
        let chat = stem
            .strip_prefix("WhatsApp Chat with ")
            .or_else(|| stem.strip_prefix("WhatsApp Chat - "))
            .unwrap_or(&stem)
            .to_owned();
        let messages = parse(&text, &chat).map_err(|reason| ConnectorError::Malformed {
            what: "WhatsApp export",
            path: abs.clone(),
            item: None,
            reason,
        })?;
        Ok(windows(&abs, "whatsapp", messages))
    }
}

/// The messages of an export of the chat `chat`.
pub(crate) fn parse(text: &str, chat: &str) -> Result<Vec<ConversationMessage>, String> {
    let lines: Vec<(usize, &str, Option<Header<'_>>)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l, header(l)))
        .collect();
    let headers: Vec<&Header<'_>> = lines.iter().filter_map(|(_, _, h)| h.as_ref()).collect();
    if headers.is_empty() {
        return Err("no line starts with a WhatsApp date and time".into());
    }
    let month_first =
        !headers.iter().any(|h| h.date[0] > 12) && headers.iter().any(|h| h.date[1] > 12);
    let mut out: Vec<ConversationMessage> = Vec::new();
    for (line, raw, header) in &lines {
        let Some(h) = header else {
            // A continuation line of a multi-line message.
            if let Some(last) = out.last_mut() {
                last.text.push('\n');
                last.text.push_str(raw);
            }
            continue;
        };
        let [a, b, y] = h.date;
        let (day, month) = if month_first { (b, a) } else { (a, b) };
        let year = if y < 100 { 2000 + y } else { y };
        let date = NaiveDate::from_ymd_opt(i32::try_from(year).unwrap_or(0), month, day)
            .ok_or_else(|| format!("line {line}: no such date {a}/{b}/{y}"))?;
        let timestamp = date.and_time(h.time).and_utc().timestamp();
        let (sender, text) = match h.rest.split_once(": ") {
            Some((who, what)) if !who.is_empty() && who.chars().count() <= 60 => {
                (Some(who.trim().to_owned()), what.to_owned())
            }
            _ => (None, h.rest.to_owned()),
        };
        out.push(ConversationMessage {
            chat: chat.to_owned(),
            chat_name: chat.to_owned(),
            sender,
            timestamp,
            text,
        });
    }
    Ok(out)
}

/// Parses `[`date`, `time`]` or `date, time - ` at the start of a line.
fn header(line: &str) -> Option<Header<'_>> {
    let line = line.trim_start_matches(['\u{200e}', '\u{feff}']);
    let (bracketed, line) = match line.strip_prefix('[') {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let (date, rest) = line.split_once(", ")?;
    let date = parse_date(date)?;
    let (time, rest) = if bracketed {
        rest.split_once("] ")?
    } else {
        rest.split_once(" - ")?
    };
    Some(Header {
        date,
        time: parse_time(time)?,
        rest,
    })
}

fn parse_date(s: &str) -> Option<[u32; 3]> {
    let parts: Vec<&str> = s.split(['/', '.', '-']).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let num = |p: &str| -> Option<u32> {
        (!p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse().ok())
            .flatten()
    };
    let (a, b, c) = (num(a)?, num(b)?, num(c)?);
    // Year last (the locales WhatsApp writes) or first (ISO).
    if a > 31 {
        Some([c, b, a])
    } else {
        Some([a, b, c])
    }
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    let s = s.replace(['\u{202f}', '\u{a0}'], " ");
    let s = s.trim();
    let (clock, meridiem) = match s.rsplit_once(' ') {
        Some((c, m)) if m.eq_ignore_ascii_case("am") || m.eq_ignore_ascii_case("pm") => {
            (c, Some(m.eq_ignore_ascii_case("pm")))
        }
        _ => (s, None),
    };
    let mut parts = clock.split(':').map(|p| p.parse::<u32>().ok());
    let (mut h, m) = (parts.next()??, parts.next()??);
    let sec = parts.next().flatten().unwrap_or(0);
    if let Some(pm) = meridiem {
        h = (h % 12) + if pm { 12 } else { 0 };
    }
    NaiveTime::from_hms_opt(h, m, sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_multi_line_and_system_lines() {
        let android = "09/02/2026, 07:41 - Messages and calls are end-to-end encrypted.\n\
09/02/2026, 07:41 - Tomás Reyes: Dumpster is here\n\
11/02/2026, 10:05 - Elena Marsh: Of course there is.\nI'll leave at 3:30.\n\
11/02/2026, 10:06 - Tomás Reyes: <Media omitted>\n";
        let msgs = parse(android, "Tomás").unwrap();
        assert_eq!(msgs.len(), 4);
        assert_eq!(msgs[0].sender, None);
        assert_eq!(msgs[1].sender.as_deref(), Some("Tomás Reyes"));
        assert_eq!(msgs[2].text, "Of course there is.\nI'll leave at 3:30.");
        assert_eq!(msgs[2].timestamp, 1_770_804_300); // 2026-02-11 10:05 (as written)

        let ios = "\u{200e}[2/11/26, 10:05:09\u{202f}PM] Elena Marsh: late one\n[2/13/26, 9:00:00\u{202f}AM] Tomás: ok\n";
        let msgs = parse(ios, "x").unwrap();
        assert_eq!(msgs.len(), 2);
        // 2/13 forces month-first for the whole file.
        assert_eq!(msgs[0].timestamp, 1_770_847_509); // 2026-02-11 22:05:09

        let german = "09.02.26, 07:41 - Jürgen: Guten Morgen\n";
        let msgs = parse(german, "x").unwrap();
        assert_eq!(msgs[0].timestamp, 1_770_622_860); // 2026-02-09 07:41

        assert!(parse("just some notes\nnothing else", "x").is_err());
        assert!(parse("31/02/2026, 07:41 - A: impossible date", "x").is_err());
    }
}
