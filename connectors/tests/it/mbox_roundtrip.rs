//! Property: an mbox written from random messages reads back as the same
//! messages — the splitter returns each message's bytes exactly (mboxrd
//! `From ` quoting undone), and the reader returns each one's subject
//! (encoded words), sender, Message-ID, date and body (8bit, quoted-printable
//! or base64), in order, with nothing lost and nothing extra.

use hearth_connectors::{Document, MboxPiece, MboxReader, MboxSplitter, ParticipantRole};
use proptest::prelude::*;

use crate::common;
use common::base64;

#[derive(Debug, Clone)]
enum Encoding {
    EightBit,
    QuotedPrintable,
    Base64,
}

#[derive(Debug, Clone)]
struct Mail {
    name: String,
    address: String,
    subject: String,
    date: i64,
    encoding: Encoding,
    body: Vec<String>,
}

fn body_line() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[ -~éüß€—]{0,70}",
        1 => Just(String::new()),
        1 => "From [ -~]{0,30}",
        1 => ">{1,3}From [a-z ]{0,20}",
        1 => "=[0-9A-F]{2} [a-z]{0,10}",
    ]
}

fn mail() -> impl Strategy<Value = Mail> {
    (
        "[A-Z][a-z]{1,8}( [A-Z][a-z]{1,8})?",
        "[a-z]{1,8}@[a-z]{1,8}\\.(com|org)",
        "[A-Za-z0-9éüß€]([A-Za-z0-9 ,.!?éüß€-]{0,40}[A-Za-z0-9éüß€])?",
        1_000_000_000i64..2_000_000_000,
        prop_oneof![
            Just(Encoding::EightBit),
            Just(Encoding::QuotedPrintable),
            Just(Encoding::Base64)
        ],
        prop::collection::vec(body_line(), 1..12),
    )
        .prop_map(|(name, address, subject, date, encoding, body)| Mail {
            name,
            address,
            subject,
            date,
            encoding,
            body,
        })
        // A body of blank lines only reads back as an empty text: keep one word.
        .prop_filter("a body with some text", |m| {
            m.body.iter().any(|l| !l.trim().is_empty())
        })
}

/// RFC 2047 Q encoding of `text` as one encoded word.
fn encoded_word(text: &str) -> String {
    let mut out = String::from("=?UTF-8?Q?");
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => out.push(b as char),
            b' ' => out.push('_'),
            _ => out.push_str(&format!("={b:02X}")),
        }
    }
    out.push_str("?=");
    out
}

fn quoted_printable(text: &str) -> String {
    let mut out = String::new();
    for line in text.split('\n') {
        let mut width = 0;
        let bytes = line.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            let last = i + 1 == bytes.len();
            let piece = match b {
                b'=' => "=3D".to_owned(),
                b' ' | b'\t' if last => format!("={b:02X}"),
                b' '..=b'~' => (b as char).to_string(),
                _ => format!("={b:02X}"),
            };
            if width + piece.len() > 72 {
                out.push_str("=\n");
                width = 0;
            }
            width += piece.len();
            out.push_str(&piece);
        }
        out.push('\n');
    }
    out
}

/// The RFC 5322 message of `mail` (number `n`).
fn message(mail: &Mail, n: usize) -> String {
    let date = chrono::DateTime::from_timestamp(mail.date, 0)
        .expect("a date in range")
        .format("%a, %d %b %Y %H:%M:%S +0000");
    let body = mail.body.join("\n");
    let (cte, encoded) = match mail.encoding {
        Encoding::EightBit => ("8bit", format!("{body}\n")),
        Encoding::QuotedPrintable => ("quoted-printable", quoted_printable(&body)),
        Encoding::Base64 => ("base64", base64(body.as_bytes(), "\n") + "\n"),
    };
    format!(
        "Message-ID: <m{n}.{}>\nFrom: {} <{}>\nTo: me@example.org\nSubject: {}\nDate: {date}\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: {cte}\n\n{encoded}",
        mail.address,
        mail.name,
        mail.address,
        encoded_word(&mail.subject),
    )
}

/// mboxrd: a `From ` line, the message with `>*From ` lines quoted once
/// more, and a blank line.
fn mbox(messages: &[String]) -> Vec<u8> {
    let mut out = String::new();
    for m in messages {
        out.push_str("From sender@example.com Thu Jan  1 00:00:00 2026\n");
        for line in m.split_inclusive('\n') {
            if line.trim_start_matches('>').starts_with("From ") {
                out.push('>');
            }
            out.push_str(line);
        }
        out.push('\n');
    }
    out.into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn mbox_of_random_messages_reads_back(mails in prop::collection::vec(mail(), 0..8)) {
        let messages: Vec<String> = mails.iter().enumerate().map(|(n, m)| message(m, n)).collect();
        let file = mbox(&messages);

        let pieces: Vec<MboxPiece> = MboxSplitter::new(&file[..], 1 << 20)
            .collect::<std::io::Result<_>>()
            .unwrap();
        prop_assert_eq!(pieces.len(), messages.len());
        for (piece, m) in pieces.iter().zip(&messages) {
            match piece {
                MboxPiece::Message { bytes, .. } => {
                    prop_assert_eq!(String::from_utf8_lossy(bytes), format!("{m}\n"));
                }
                other => prop_assert!(false, "expected a message, got {other:?}"),
            }
        }

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("random.mbox");
        std::fs::write(&path, &file).unwrap();
        let docs: Vec<Document> = MboxReader::open(&path)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        prop_assert_eq!(docs.len(), mails.len());
        for (n, (doc, mail)) in docs.iter().zip(&mails).enumerate() {
            prop_assert_eq!(&doc.title, &mail.subject);
            prop_assert_eq!(doc.timestamp, Some(mail.date));
            prop_assert_eq!(doc.thread.clone(), Some(format!("m{n}.{}", mail.address)));
            let from = &doc.participants[0];
            prop_assert_eq!(from.role, ParticipantRole::From);
            prop_assert_eq!(from.name.as_deref(), Some(mail.name.as_str()));
            prop_assert_eq!(from.address.as_deref(), Some(mail.address.as_str()));
            let body = mail.body.join("\n");
            prop_assert_eq!(doc.text.as_str(), body.trim());
        }
    }
}
