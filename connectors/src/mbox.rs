//! mbox mailboxes (Gmail Takeout and friends), streamed one message at a time
//! ([`crate::mbox_split`]) through mail-parser, so a multi-gigabyte mailbox
//! needs memory for one mail only, and a mail past the size limit is skipped
//! as a named failure without being held. Each message becomes a mail and
//! its attachments ([`crate::mail`]).

use crate::document::{Document, file_uri};
use crate::error::ConnectorError;
use crate::mail::{MAX_MESSAGE_BYTES, MailSite, mail_documents};
use crate::mbox_split::{MboxPiece, MboxSplitter};
use mail_parser::MessageParser;
use std::collections::VecDeque;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// Streams the messages of an mbox file as [`Document`]s: each mail, then
/// its attachments.
///
/// A message that cannot be parsed yields an error for that message and the
/// iteration goes on with the next one.
pub struct MboxReader {
    path: PathBuf,
    uri: String,
    inner: MboxSplitter<BufReader<File>>,
    index: usize,
    parser: MessageParser,
    /// Documents of the current message not yet handed out.
    pending: VecDeque<Document>,
    /// Set after an I/O error: the rest of the file cannot be trusted.
    stopped: bool,
}

impl MboxReader {
    /// Opens `path` for streaming.
    pub fn open(path: &Path) -> Result<Self, ConnectorError> {
        let io = |source| ConnectorError::Io {
            path: path.to_path_buf(),
            source,
        };
        let abs = std::fs::canonicalize(path).map_err(io)?;
        let file = File::open(&abs).map_err(io)?;
        Ok(Self {
            uri: file_uri(&abs),
            path: abs,
            inner: MboxSplitter::new(BufReader::with_capacity(1 << 16, file), MAX_MESSAGE_BYTES),
            index: 0,
            parser: MessageParser::default(),
            pending: VecDeque::new(),
            stopped: false,
        })
    }
}

impl Iterator for MboxReader {
    type Item = Result<Document, ConnectorError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(doc) = self.pending.pop_front() {
            return Some(Ok(doc));
        }
        if self.stopped {
            return None;
        }
        let piece = match self.inner.next()? {
            Ok(piece) => piece,
            Err(source) => {
                // An I/O error mid-file ends the stream after reporting it.
                self.stopped = true;
                return Some(Err(ConnectorError::Io {
                    path: self.path.clone(),
                    source,
                }));
            }
        };
        let malformed = |item: String, reason: String| ConnectorError::Malformed {
            what: "mbox",
            path: self.path.clone(),
            item: Some(item),
            reason,
        };
        let index = self.index;
        let raw = match piece {
            MboxPiece::Preamble { size } => {
                return Some(Err(malformed(
                    "before the first message".into(),
                    format!("{size} bytes of text before the first `From ` line (not an mbox?)"),
                )));
            }
            MboxPiece::Oversized { offset, size } => {
                self.index += 1;
                return Some(Err(malformed(
                    format!("message {index}"),
                    format!(
                        "{size} bytes (at byte {offset}) exceeds the {MAX_MESSAGE_BYTES}-byte limit for one message; skipped"
                    ),
                )));
            }
            MboxPiece::Message { bytes, .. } => bytes,
        };
        self.index += 1;
        let site = MailSite {
            path: &self.path,
            file_uri: &self.uri,
            index: Some(index),
            tags: Vec::new(),
        };
        match mail_documents(&self.parser, &raw, &site) {
            Ok(docs) => {
                self.pending.extend(docs);
                self.pending.pop_front().map(Ok)
            }
            Err(e) => Some(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{ParticipantRole, SourceKind};

    const MBOX: &str = "From alice@example.com Wed Jan 14 09:12:00 2026\n\
Message-ID: <a1@example.com>\n\
From: Alice Example <Alice@Example.com>\n\
To: Bob <bob@example.com>\n\
Subject: =?UTF-8?Q?Caf=C3=A9_plans?=\n\
Date: Wed, 14 Jan 2026 09:12:00 +0000\n\
\n\
Shall we meet at the café?\n\
>From the corner you can see the river.\n\
\n\
From bob@example.com Wed Jan 14 10:00:00 2026\n\
Message-ID: <b2@example.com>\n\
In-Reply-To: <a1@example.com>\n\
References: <a1@example.com>\n\
From: bob@example.com\n\
To: Alice Example <alice@example.com>\n\
Subject: Re: Café plans\n\
Date: Wed, 14 Jan 2026 10:00:00 +0000\n\
Content-Type: text/html; charset=utf-8\n\
\n\
<p>Yes, <b>noon</b> works.</p>\n";

    fn write(content: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inbox.mbox");
        std::fs::write(&path, content).unwrap();
        (dir, path)
    }

    #[test]
    fn reads_messages_headers_threads() {
        let (_dir, path) = write(MBOX);
        let docs: Vec<Document> = MboxReader::open(&path)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(docs.len(), 2);
        let a = &docs[0];
        assert_eq!(a.kind, SourceKind::Mail);
        assert_eq!(a.title, "Café plans");
        assert!(a.uri.ends_with("inbox.mbox#a1@example.com"), "{}", a.uri);
        assert!(a.text.contains("From the corner"), "{}", a.text);
        assert_eq!(
            a.participants[0].address.as_deref(),
            Some("alice@example.com")
        );
        assert_eq!(a.participants[0].role, ParticipantRole::From);
        assert_eq!(a.timestamp, Some(1768381920));
        assert_eq!(a.thread.as_deref(), Some("a1@example.com"));
        let b = &docs[1];
        assert_eq!(b.thread.as_deref(), Some("a1@example.com"));
        assert!(b.text.contains("noon"), "html body converted: {}", b.text);
        assert!(!b.text.contains("<b>"));
        assert_ne!(a.id, b.id);
        // The id follows the Message-ID, not the file the mail is filed in.
        let elsewhere = tempfile::tempdir().unwrap();
        let moved = elsewhere.path().join("archive.mbox");
        std::fs::write(&moved, MBOX).unwrap();
        let again: Vec<Document> = MboxReader::open(&moved)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(again[0].id, a.id);
        assert_ne!(again[0].uri, a.uri);
        assert_eq!(again[0].content_hash, a.content_hash);
    }

    #[test]
    fn garbage_item_is_an_error_and_iteration_continues() {
        let content = format!("From x Wed Jan 14 09:00:00 2026\n\n\n{MBOX}");
        let (_dir, path) = write(&content);
        let items: Vec<_> = MboxReader::open(&path).unwrap().collect();
        assert_eq!(items.len(), 3);
        let err = items[0].as_ref().unwrap_err().to_string();
        assert!(err.contains("message 0"), "{err}");
        assert!(items[1].is_ok() && items[2].is_ok());
    }
}
