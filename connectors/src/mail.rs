//! One RFC 5322 message as documents, shared by the mbox, Maildir and `.eml`
//! readers: the mail itself (the text/plain alternative preferred, else its
//! HTML laid out by html2text; charsets, encoded words and transfer
//! encodings decoded by mail-parser), then each readable attachment as a
//! child document linked by `parent`, nested `message/rfc822` parts
//! recursively.
//!
//! A single-message file (`.eml`, a Maildir message) is read by
//! [`MailFileReader`]; Maildir flags (from the file name) and Gmail labels
//! (`X-Gmail-Labels`) go into the provenance.

use crate::document::{
    Document, DocumentId, Origin, Participant, ParticipantRole, SourceKind, file_uri,
};
use crate::error::ConnectorError;
use crate::html::html_to_text;
use crate::text::decode_text;
use mail_parser::{Address, HeaderValue, Message, MessageParser, MimeHeaders, PartType};
use std::path::{Path, PathBuf};

/// Largest single message accepted (64 MiB).
pub(crate) const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Nested messages deeper than this are indexed without their own attachments.
const MAX_DEPTH: usize = 4;

/// Where one message was read from.
pub(crate) struct MailSite<'a> {
    /// The file (absolute).
    pub path: &'a Path,
    /// `file://` URI of the file.
    pub file_uri: &'a str,
    /// Number of the message inside a container file (0-based); `None`
    /// for a file that is one message.
    pub index: Option<usize>,
    /// Folder metadata for the provenance (Maildir flags).
    pub tags: Vec<String>,
}

impl MailSite<'_> {
    /// `message 3`, inside a container.
    fn position(&self) -> Option<String> {
        self.index.map(|i| format!("message {i}"))
    }

    fn malformed(&self, reason: impl Into<String>) -> ConnectorError {
        ConnectorError::Malformed {
            what: "mail",
            path: self.path.to_path_buf(),
            item: self.position(),
            reason: reason.into(),
        }
    }
}

/// The documents of the message `raw`: the mail first, then its attachments.
pub(crate) fn mail_documents(
    parser: &MessageParser,
    raw: &[u8],
    site: &MailSite<'_>,
) -> Result<Vec<Document>, ConnectorError> {
    if raw.len() > MAX_MESSAGE_BYTES {
        return Err(site.malformed(format!(
            "{} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit for one message",
            raw.len()
        )));
    }
    let message = parser
        .parse(raw)
        .ok_or_else(|| site.malformed("not a MIME message"))?;
    if message.headers().is_empty() {
        return Err(site.malformed("no headers"));
    }
    let message_id = message.message_id().map(str::to_owned);
    // A message in a container is addressed by its id inside the file.
    let uri = match site.index {
        Some(i) => {
            let key = message_id.clone().unwrap_or_else(|| format!("msg-{i}"));
            format!("{}#{key}", site.file_uri)
        }
        None => site.file_uri.to_owned(),
    };
    let mut provenance: Vec<String> = Vec::new();
    if let Some(position) = site.position() {
        provenance.push(match &message_id {
            Some(id) => format!("{position}: {id}"),
            None => position,
        });
    }
    provenance.extend(site.tags.iter().cloned());
    if let Some(labels) = message.header_raw("X-Gmail-Labels") {
        let labels: Vec<&str> = labels
            .split(',')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        if !labels.is_empty() {
            provenance.push(format!("labels: {}", labels.join(", ")));
        }
    }
    let origin = Origin {
        path: site.path.to_path_buf(),
        item: (!provenance.is_empty()).then(|| provenance.join("; ")),
    };
    let mut docs = Vec::new();
    // A mail is the same mail wherever it is filed: its id follows the
    // Message-ID, not the mailbox, so moving it re-embeds nothing.
    let id = message_id
        .as_ref()
        .map(|mid| DocumentId::derive(SourceKind::Mail, &format!("message-id:{mid}")));
    convert(&message, uri, id, None, &origin, 0, &mut docs);
    Ok(docs)
}

/// Appends the documents of `message` (addressed `uri`) to `out`.
fn convert(
    message: &Message<'_>,
    uri: String,
    id: Option<DocumentId>,
    parent: Option<&DocumentId>,
    origin: &Origin,
    depth: usize,
    out: &mut Vec<Document>,
) {
    let title = message
        .subject()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "(no subject)".to_owned());
    let mut doc = Document::new(
        SourceKind::Mail,
        "message/rfc822",
        uri,
        title,
        body_text(message),
        origin.clone(),
    );
    if let Some(id) = id {
        doc.id = id;
    }
    doc.participants = participants(message);
    doc.timestamp = message.date().map(|d| d.to_timestamp());
    doc.thread = thread_root(message).or_else(|| message.message_id().map(str::to_owned));
    doc.parent = parent.cloned();
    let doc = doc.seal();
    let mail_id = doc.id.clone();
    let mail_uri = doc.uri.clone();
    let (thread, timestamp) = (doc.thread.clone(), doc.timestamp);
    out.push(doc);

    for (n, part) in message.attachments().enumerate() {
        let name = part.attachment_name().map(str::to_owned);
        let uri = format!(
            "{mail_uri}/attachment/{}{}",
            n + 1,
            name.as_deref().map(|n| format!("/{n}")).unwrap_or_default()
        );
        let content_type = part.content_type().map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{sub}", ct.ctype()).to_ascii_lowercase(),
            None => ct.ctype().to_ascii_lowercase(),
        });
        let (media_type, text) = match &part.body {
            PartType::Message(nested) => {
                if depth < MAX_DEPTH {
                    convert(nested, uri, None, Some(&mail_id), origin, depth + 1, out);
                }
                continue;
            }
            PartType::Html(html) => match html_to_text(html) {
                Ok(text) => ("text/html".to_owned(), text),
                Err(reason) => {
                    tracing::warn!("{uri}: {reason}");
                    continue;
                }
            },
            PartType::Text(text) => (
                content_type.unwrap_or_else(|| "text/plain".to_owned()),
                text.to_string(),
            ),
            PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
                match attachment_text(name.as_deref(), content_type.as_deref(), bytes) {
                    Some(found) => found,
                    // Images and formats without a reader yet: not indexed.
                    None => continue,
                }
            }
            PartType::Multipart(_) => continue,
        };
        if text.trim().is_empty() {
            continue;
        }
        let title = name.unwrap_or_else(|| format!("attachment {}", n + 1));
        let mut child = Document::new(
            SourceKind::Document,
            &media_type,
            uri,
            title,
            text,
            origin.clone(),
        );
        child.parent = Some(mail_id.clone());
        child.thread = thread.clone();
        child.timestamp = timestamp;
        out.push(child.seal());
    }
}

/// The text of a binary attachment whose format has a reader: text-like
/// files sent as `application/octet-stream`, recognised by their name.
fn attachment_text(
    name: Option<&str>,
    content_type: Option<&str>,
    bytes: &[u8],
) -> Option<(String, String)> {
    let ext = name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match (content_type.unwrap_or_default(), ext.as_str()) {
        (crate::docx::DOCX_TYPE, _) | (_, "docx") => match crate::docx::docx_text(bytes) {
            Ok(docx) => Some((crate::docx::DOCX_TYPE.into(), docx.text)),
            Err(reason) => {
                tracing::warn!("attachment {}: {reason}", name.unwrap_or("(unnamed)"));
                None
            }
        },
        ("application/pdf", _) | (_, "pdf") => match crate::pdf::pdf_text(bytes.to_vec()) {
            Ok(pdf) => Some((
                "application/pdf".into(),
                crate::pdf::join_pages(&pdf.pages).0,
            )),
            Err(reason) => {
                tracing::warn!("attachment {}: {reason}", name.unwrap_or("(unnamed)"));
                None
            }
        },
        ("text/html", _) | (_, "html" | "htm") => {
            let text = html_to_text(&decode_text(bytes)).ok()?;
            Some(("text/html".into(), text))
        }
        ("text/markdown", _) | (_, "md" | "markdown") => {
            Some(("text/markdown".into(), decode_text(bytes)))
        }
        (ct, _) if ct.starts_with("text/") => Some((ct.to_owned(), decode_text(bytes))),
        (_, "txt" | "text" | "csv" | "log") => Some(("text/plain".into(), decode_text(bytes))),
        _ => None,
    }
}

/// The readable body parts in order: text/plain as is, HTML (an HTML-only
/// mail, or an HTML part of a mixed body) laid out as text.
fn body_text(message: &Message<'_>) -> String {
    let mut parts = Vec::new();
    for part in message.text_bodies() {
        let text = match &part.body {
            PartType::Text(text) => text.to_string(),
            PartType::Html(html) => html_to_text(html).unwrap_or_default(),
            _ => continue,
        };
        let text = text.trim();
        if !text.is_empty() {
            parts.push(text.replace("\r\n", "\n"));
        }
    }
    parts.join("\n\n")
}

fn participants(message: &Message<'_>) -> Vec<Participant> {
    let mut out: Vec<Participant> = Vec::new();
    let roles = [
        (message.from(), ParticipantRole::From),
        (message.to(), ParticipantRole::To),
        (message.cc(), ParticipantRole::Cc),
    ];
    for (address, role) in roles {
        for addr in address.map(Address::iter).into_iter().flatten() {
            let p = Participant {
                name: addr
                    .name()
                    .map(|n| n.trim().trim_matches('"').trim().to_owned())
                    .filter(|n| !n.is_empty()),
                address: addr.address().map(|a| a.trim().to_lowercase()),
                role,
            };
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// The first Message-ID in References, else In-Reply-To: the root of the thread.
fn thread_root(message: &Message<'_>) -> Option<String> {
    let first = |v: &HeaderValue<'_>| match v {
        HeaderValue::Text(t) => Some(t.to_string()),
        HeaderValue::TextList(list) => list.first().map(|t| t.to_string()),
        _ => None,
    };
    first(message.references()).or_else(|| first(message.in_reply_to()))
}

/// A file that is one message: a `.eml`, or a message of a Maildir (a file
/// under `cur/` or `new/`, its flags after `:2,` in the name).
#[derive(Debug, Default)]
pub struct MailFileReader {
    parser: MessageParser,
}

impl MailFileReader {
    /// The mail in `path` and its attachments.
    pub fn read(&self, path: &Path) -> Result<Vec<Document>, ConnectorError> {
        let io = |source| ConnectorError::Io {
            path: path.to_path_buf(),
            source,
        };
        let abs: PathBuf = std::fs::canonicalize(path).map_err(io)?;
        let size = std::fs::metadata(&abs).map_err(io)?.len();
        if size > MAX_MESSAGE_BYTES as u64 {
            return Err(ConnectorError::TooLarge {
                path: abs,
                size,
                limit: MAX_MESSAGE_BYTES as u64,
            });
        }
        let raw = std::fs::read(&abs).map_err(io)?;
        let uri = file_uri(&abs);
        let site = MailSite {
            path: &abs,
            file_uri: &uri,
            index: None,
            tags: maildir_flags(&abs).into_iter().collect(),
        };
        mail_documents(&self.parser, &raw, &site)
    }
}

/// `flags: seen, replied` from a Maildir file name (`…:2,RS`); `new/` mail
/// is unseen; `None` outside a Maildir.
pub(crate) fn maildir_flags(path: &Path) -> Option<String> {
    let folder = path.parent()?.file_name()?.to_str()?;
    if !matches!(folder, "cur" | "new") {
        return None;
    }
    let name = path.file_name()?.to_str()?;
    let mut flags: Vec<&str> = name
        .rsplit_once(":2,")
        .map(|(_, f)| {
            f.chars()
                .filter_map(|c| match c {
                    'D' => Some("draft"),
                    'F' => Some("flagged"),
                    'P' => Some("passed"),
                    'R' => Some("replied"),
                    'S' => Some("seen"),
                    'T' => Some("trashed"),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if folder == "new" || !flags.contains(&"seen") {
        flags.insert(0, "unseen");
    }
    Some(format!("flags: {}", flags.join(", ")))
}

/// Whether `path` is a message of a Maildir: a file in `cur/` or `new/` of
/// a folder that has both.
pub(crate) fn is_maildir_message(path: &Path) -> bool {
    let Some(dir) = path.parent() else {
        return false;
    };
    let is_box = matches!(
        dir.file_name().and_then(|n| n.to_str()),
        Some("cur" | "new")
    );
    is_box
        && dir
            .parent()
            .is_some_and(|m| m.join("cur").is_dir() && m.join("new").is_dir())
}
