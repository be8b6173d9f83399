//! Readers that turn the places a person's memory lives in into [`Document`]s.
//!
//! Every connector yields the same record, whatever the source: a stable id, the
//! source kind, a URI, title, participants, timestamp, the text, a content hash and
//! provenance (which item of which file, and labelled spans such as pages or
//! headings inside the text) so that an answer can cite the exact place.
//!
//! Bad input never stops a run: a reader reports a [`ConnectorError`] for the one
//! item it could not read and goes on with the next.
//!
//! ```no_run
//! use hearth_connectors::{discover, read_source};
//!
//! let found = discover(&["fixtures/demo".into()]).unwrap();
//! for file in &found.files {
//!     for item in read_source(file) {
//!         match item {
//!             Ok(doc) => println!("{} {}", doc.id, doc.title),
//!             Err(err) => eprintln!("skipped: {err}"),
//!         }
//!     }
//! }
//! ```

mod chat;
mod document;
mod docx;
mod error;
mod html;
mod mail;
mod markdown;
mod mbox;
mod mbox_split;
mod ocr;
mod pdf;
mod screenshot;
mod text;
mod walk;

pub use chat::{
    ConversationMessage, IMessageReader, OWNER, SmsBackupReader, TelegramReader, WINDOW_MESSAGES,
    WhatsAppReader, attributed_text,
};
pub use document::{
    ContentHash, Document, DocumentId, Origin, Participant, ParticipantRole, SourceKind, Span,
    SpanLabel,
};
pub use docx::{DOCX_TYPE, DocxReader, DocxText, MAX_XML_BYTES, docx_text};
pub use error::ConnectorError;
pub use html::{HtmlReader, html_to_text};
pub use mail::MailFileReader;
pub use markdown::MarkdownReader;
pub use mbox::MboxReader;
pub use mbox_split::{MboxPiece, MboxSplitter};
pub use ocr::{POPPLER_PACKAGE, TESSERACT_PACKAGE, tsv_text};
pub use pdf::{MAX_PDF_PAGES, PdfReader, PdfText, pdf_text};
pub use screenshot::{
    ScreenshotReader, capture_time as screenshot_capture_time, name_time as screenshot_name_time,
};
pub use text::{TextReader, decode_text};
pub use walk::{Discovery, Format, SourceFile, discover, read_source};
