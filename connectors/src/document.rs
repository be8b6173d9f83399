//! The [`Document`] record every connector produces, and its parts.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// What kind of source a document came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// A mail message (mbox, Maildir, .eml).
    Mail,
    /// A file document: PDF, Markdown, plain text, HTML, DOCX.
    Document,
    /// A window of a chat conversation (iMessage, WhatsApp, Telegram, SMS).
    Message,
    /// Text read from a screenshot by OCR.
    Screenshot,
}

impl SourceKind {
    /// All kinds, in a fixed order.
    pub const ALL: [SourceKind; 4] = [Self::Mail, Self::Document, Self::Message, Self::Screenshot];

    /// The lowercase name used in the store, the CLI and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mail => "mail",
            Self::Document => "document",
            Self::Message => "message",
            Self::Screenshot => "screenshot",
        }
    }

    /// Parses the name produced by [`SourceKind::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stable document id: the first 16 bytes of blake3(kind, key), in hex. The key
/// is the URI, or for a mail its Message-ID (so a mail moved to another mailbox
/// keeps its id).
///
/// The same item read again (even with edited content) gets the same id, so a new
/// version replaces the old one instead of adding a duplicate.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DocumentId(pub String);

impl DocumentId {
    /// Derives the id of the item at `uri` of the given kind.
    ///
    /// ```
    /// use hearth_connectors::{DocumentId, SourceKind};
    /// let a = DocumentId::derive(SourceKind::Document, "file:///notes/a.md");
    /// assert_eq!(a, DocumentId::derive(SourceKind::Document, "file:///notes/a.md"));
    /// assert_eq!(a.0.len(), 32);
    /// ```
    pub fn derive(kind: SourceKind, uri: &str) -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(kind.as_str().as_bytes());
        hasher.update(&[0]);
        hasher.update(uri.as_bytes());
        Self(hex16(hasher.finalize().as_bytes()))
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// blake3 of a document's indexable content (title, participants, text), in hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContentHash(pub String);

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn hex16(bytes: &[u8; 32]) -> String {
    bytes[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// How a person took part in a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParticipantRole {
    /// Sender of a mail or message.
    From,
    /// Direct recipient.
    To,
    /// Copied recipient.
    Cc,
    /// Author of a document.
    Author,
    /// Member of a conversation.
    Member,
}

/// A person, normalised to a display name and (lower-cased) address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Participant {
    /// Display name, trimmed of quotes; `None` when the source gives only an address.
    pub name: Option<String>,
    /// Mail address (lower-cased) or phone number; `None` when only a name is known.
    pub address: Option<String>,
    /// How this person took part in the document.
    pub role: ParticipantRole,
}

impl Participant {
    /// `Name <address>`, `Name` or `address`, whichever parts exist.
    pub fn display(&self) -> String {
        match (&self.name, &self.address) {
            (Some(n), Some(a)) => format!("{n} <{a}>"),
            (Some(n), None) => n.clone(),
            (None, Some(a)) => a.clone(),
            (None, None) => String::new(),
        }
    }
}

/// Where a document came from: the file and, for containers, which item inside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The file the document was read from.
    pub path: PathBuf,
    /// The item inside a container file (e.g. `message 12` of an mbox), if any.
    pub item: Option<String>,
}

/// What a span of the text is: a page of a PDF, a section under a heading, ...
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SpanLabel {
    /// 1-based page number.
    Page(u32),
    /// Heading path, outermost first, joined with " > ".
    Heading(String),
    /// One chat message: `Sender, 2026-02-09 07:41`.
    Message(String),
}

impl fmt::Display for SpanLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Page(n) => write!(f, "page {n}"),
            Self::Heading(h) | Self::Message(h) => f.write_str(h),
        }
    }
}

/// A labelled byte range `[start, end)` of [`Document::text`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// Byte offset of the span's first byte.
    pub start: usize,
    /// Byte offset one past the span's last byte.
    pub end: usize,
    /// What this range of the text is.
    pub label: SpanLabel,
}

/// One indexable item: a mail, a file, a conversation window or a screenshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Stable id, derived from the kind and the URI (or a mail's Message-ID).
    pub id: DocumentId,
    /// The kind of source the document came from.
    pub kind: SourceKind,
    /// IANA media type of the text's original form: `text/markdown`, `message/rfc822`, ...
    pub media_type: String,
    /// `file:///abs/path`, with `#item` for items inside a container.
    pub uri: String,
    /// Display title: a mail's subject, a file's own title or name, a chat and its day.
    pub title: String,
    /// The people who took part: senders, recipients, authors, chat members.
    pub participants: Vec<Participant>,
    /// Seconds since the Unix epoch (UTC): sent date for mail, mtime for files.
    pub timestamp: Option<i64>,
    /// The extracted plain text that is chunked and embedded.
    pub text: String,
    /// Hash of title, participants and text; see [`Document::compute_hash`].
    pub content_hash: ContentHash,
    /// The file (and item inside it) the document was read from.
    pub origin: Origin,
    /// Labelled ranges of `text` (pages, heading sections), in order.
    pub spans: Vec<Span>,
    /// Mail thread (root Message-ID) or conversation id.
    pub thread: Option<String>,
    /// The document this one is attached to.
    pub parent: Option<DocumentId>,
}

impl Document {
    /// Builds a document with a derived id and content hash.
    ///
    /// ```
    /// use hearth_connectors::{Document, Origin, SourceKind};
    /// let doc = Document::new(
    ///     SourceKind::Document,
    ///     "text/plain",
    ///     "file:///notes/a.txt".into(),
    ///     "a".into(),
    ///     "hello".into(),
    ///     Origin { path: "/notes/a.txt".into(), item: None },
    /// );
    /// assert_eq!(doc.content_hash, doc.compute_hash());
    /// ```
    pub fn new(
        kind: SourceKind,
        media_type: &str,
        uri: String,
        title: String,
        text: String,
        origin: Origin,
    ) -> Self {
        let mut doc = Self {
            id: DocumentId::derive(kind, &uri),
            kind,
            media_type: media_type.to_owned(),
            uri,
            title,
            participants: Vec::new(),
            timestamp: None,
            text,
            content_hash: ContentHash(String::new()),
            origin,
            spans: Vec::new(),
            thread: None,
            parent: None,
        };
        doc.content_hash = doc.compute_hash();
        doc
    }

    /// blake3 over the indexable content. Timestamps are left out on purpose: a file
    /// touched without being changed must not be re-embedded.
    pub fn compute_hash(&self) -> ContentHash {
        let mut h = blake3::Hasher::new();
        for field in [self.title.as_str(), self.text.as_str()] {
            h.update(&(field.len() as u64).to_le_bytes());
            h.update(field.as_bytes());
        }
        for p in &self.participants {
            let d = p.display();
            h.update(&(d.len() as u64).to_le_bytes());
            h.update(d.as_bytes());
        }
        ContentHash(h.finalize().to_hex().to_string())
    }

    /// Recomputes the content hash after fields were changed.
    pub fn seal(mut self) -> Self {
        self.content_hash = self.compute_hash();
        self
    }

    /// The label of the span containing byte `offset` of the text, if any.
    pub fn label_at(&self, offset: usize) -> Option<&SpanLabel> {
        self.spans
            .iter()
            .find(|s| s.start <= offset && offset < s.end)
            .map(|s| &s.label)
    }
}

/// `file://` URI of an absolute path.
pub(crate) fn file_uri(path: &std::path::Path) -> String {
    format!("file://{}", path.display())
}
