//! Discovery: which files under the given paths Hearth can read, and in which format.

use crate::chat::{IMessageReader, SmsBackupReader, TelegramReader, WhatsAppReader};
use crate::document::{Document, SourceKind};
use crate::docx::DocxReader;
use crate::error::ConnectorError;
use crate::html::HtmlReader;
use crate::mail::{MailFileReader, is_maildir_message};
use crate::markdown::MarkdownReader;
use crate::mbox::MboxReader;
use crate::pdf::PdfReader;
use crate::screenshot::ScreenshotReader;
use crate::text::TextReader;
use std::path::{Path, PathBuf};

/// A file format Hearth has a reader for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Plain text (`.txt`, `.text`, `.log`).
    Text,
    /// Markdown (`.md`, `.markdown`).
    Markdown,
    /// An mbox mailbox (`.mbox`, or any file starting with a `From ` line).
    Mbox,
    /// One mail message (`.eml`).
    Eml,
    /// One message of a Maildir (a file in `cur/` or `new/`).
    Maildir,
    /// An HTML page (`.html`, `.htm`, `.xhtml`).
    Html,
    /// A Word document (`.docx`).
    Docx,
    /// A PDF (`.pdf`).
    Pdf,
    /// A WhatsApp chat export (a `.txt` whose lines start with dates).
    WhatsApp,
    /// A Telegram Desktop export (`result.json`).
    Telegram,
    /// An Android "SMS Backup & Restore" file (`.xml` with `<smses>`).
    SmsBackup,
    /// The macOS Messages database (`chat.db`).
    IMessage,
    /// A screenshot or other image with text (`.png`, `.jpg`, `.jpeg`, `.webp`).
    Screenshot,
}

impl Format {
    /// Detects the format from the place (a Maildir's `cur/` or `new/`),
    /// then the extension, then the first bytes.
    pub fn detect(path: &Path) -> Option<Format> {
        if is_maildir_message(path) {
            return Some(Format::Maildir);
        }
        if path.file_name().is_some_and(|n| n == "chat.db") {
            return Some(Format::IMessage);
        }
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "md" | "markdown" => Some(Format::Markdown),
            "mbox" => Some(Format::Mbox),
            "eml" => Some(Format::Eml),
            "html" | "htm" | "xhtml" => Some(Format::Html),
            "docx" => Some(Format::Docx),
            "pdf" => Some(Format::Pdf),
            "png" | "jpg" | "jpeg" | "webp" => Some(Format::Screenshot),
            "txt" if WhatsAppReader::sniff(&head(path)) => Some(Format::WhatsApp),
            "txt" | "text" | "log" => Some(Format::Text),
            "json" if TelegramReader::sniff(&head(path)) => Some(Format::Telegram),
            "xml" if SmsBackupReader::sniff(&head(path)) => Some(Format::SmsBackup),
            "" => sniff(path),
            _ => None,
        }
    }

    /// The kind of documents files of this format produce.
    pub fn kind(self) -> SourceKind {
        match self {
            Format::Text | Format::Markdown | Format::Html | Format::Docx | Format::Pdf => {
                SourceKind::Document
            }
            Format::Mbox | Format::Eml | Format::Maildir => SourceKind::Mail,
            Format::WhatsApp | Format::Telegram | Format::SmsBackup | Format::IMessage => {
                SourceKind::Message
            }
            Format::Screenshot => SourceKind::Screenshot,
        }
    }

    /// Short lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Markdown => "markdown",
            Format::Mbox => "mbox",
            Format::Eml => "eml",
            Format::Maildir => "maildir",
            Format::Html => "html",
            Format::Docx => "docx",
            Format::Pdf => "pdf",
            Format::WhatsApp => "whatsapp",
            Format::Telegram => "telegram",
            Format::SmsBackup => "sms",
            Format::IMessage => "imessage",
            Format::Screenshot => "screenshot",
        }
    }
}

/// The first 4 KiB of a file as text (lossy), for sniffing.
fn head(path: &Path) -> String {
    use std::io::Read;
    let mut buf = Vec::with_capacity(4096);
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.take(4096).read_to_end(&mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Extension-less files: an mbox starts with a `From ` envelope line.
fn sniff(path: &Path) -> Option<Format> {
    use std::io::Read;
    let mut head = [0u8; 5];
    let mut file = std::fs::File::open(path).ok()?;
    file.read_exact(&mut head).ok()?;
    (&head == b"From ").then_some(Format::Mbox)
}

/// A readable file found by [`discover`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The file's path.
    pub path: PathBuf,
    /// Which reader the file is for, by extension or sniffed content.
    pub format: Format,
    /// The file's size in bytes when it was found.
    pub size: u64,
}

/// What [`discover`] found: readable files (sorted by path) and what it passed over.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Files that have a reader, sorted by path.
    pub files: Vec<SourceFile>,
    /// Files with no reader (yet), e.g. GIFs or spreadsheets.
    pub unsupported: Vec<PathBuf>,
}

/// Walks `roots` (files or directories, recursively), skipping hidden entries and
/// following no symlinks out of the tree, and sorts what it finds by path.
pub fn discover(roots: &[PathBuf]) -> Result<Discovery, ConnectorError> {
    let mut found = Discovery::default();
    for root in roots {
        let meta = std::fs::metadata(root).map_err(|_| ConnectorError::NotFound(root.clone()))?;
        if meta.is_dir() {
            walk_dir(root, &mut found)?;
        } else {
            classify(root.clone(), meta.len(), &mut found);
        }
    }
    found.files.sort_by(|a, b| a.path.cmp(&b.path));
    found.files.dedup_by(|a, b| a.path == b.path);
    found.unsupported.sort();
    Ok(found)
}

fn walk_dir(dir: &Path, found: &mut Discovery) -> Result<(), ConnectorError> {
    let io = |source| ConnectorError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let file_type = entry.file_type().map_err(io)?;
        if file_type.is_dir() {
            walk_dir(&path, found)?;
        } else if file_type.is_file() {
            let size = entry.metadata().map_err(io)?.len();
            classify(path, size, found);
        }
    }
    Ok(())
}

fn classify(path: PathBuf, size: u64, found: &mut Discovery) {
    match Format::detect(&path) {
        Some(format) => found.files.push(SourceFile { path, format, size }),
        None => found.unsupported.push(path),
    }
}

/// Reads every document of one file. Containers (mbox) yield many, each with its
/// own result, and a mail yields its attachments after it; a file that cannot
/// be opened yields a single error.
pub fn read_source(
    file: &SourceFile,
) -> Box<dyn Iterator<Item = Result<Document, ConnectorError>> + Send> {
    match file.format {
        Format::Text => Box::new(std::iter::once(TextReader.read(&file.path))),
        Format::Markdown => Box::new(std::iter::once(MarkdownReader.read(&file.path))),
        Format::Html => Box::new(std::iter::once(HtmlReader.read(&file.path))),
        Format::Docx => Box::new(std::iter::once(DocxReader.read(&file.path))),
        Format::Pdf => Box::new(PdfReader.read(&file.path).into_iter()),
        Format::WhatsApp => many(WhatsAppReader.read(&file.path)),
        Format::Telegram => many(TelegramReader.read(&file.path)),
        Format::SmsBackup => many(SmsBackupReader.read(&file.path)),
        Format::IMessage => many(IMessageReader.read(&file.path)),
        Format::Screenshot => Box::new(ScreenshotReader.read(&file.path).into_iter()),
        Format::Eml | Format::Maildir => many(MailFileReader::default().read(&file.path)),
        Format::Mbox => match MboxReader::open(&file.path) {
            Ok(reader) => Box::new(reader),
            Err(err) => Box::new(std::iter::once(Err(err))),
        },
    }
}

/// The documents of a file read whole, or its one error.
fn many(
    read: Result<Vec<Document>, ConnectorError>,
) -> Box<dyn Iterator<Item = Result<Document, ConnectorError>> + Send> {
    match read {
        Ok(docs) => Box::new(docs.into_iter().map(Ok)),
        Err(err) => Box::new(std::iter::once(Err(err))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovers_sorted_skips_hidden_and_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("sub/.git")).unwrap();
        std::fs::write(root.join("b.md"), "# B").unwrap();
        std::fs::write(root.join("sub/a.txt"), "a").unwrap();
        std::fs::write(root.join("sub/.git/config"), "x").unwrap();
        std::fs::write(
            root.join("sub/mailbox"),
            "From x Wed Jan 14 09:00:00 2026\n",
        )
        .unwrap();
        std::fs::write(root.join("clip.gif"), b"GIF89a").unwrap();
        let found = discover(&[root.to_path_buf()]).unwrap();
        let names: Vec<(String, Format)> = found
            .files
            .iter()
            .map(|f| {
                (
                    f.path.strip_prefix(root).unwrap().display().to_string(),
                    f.format,
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("b.md".to_owned(), Format::Markdown),
                ("sub/a.txt".to_owned(), Format::Text),
                ("sub/mailbox".to_owned(), Format::Mbox),
            ]
        );
        assert_eq!(found.unsupported, [root.join("clip.gif")]);
    }

    #[test]
    fn missing_root_is_not_found() {
        let err = discover(&["/no/such/dir".into()]).unwrap_err();
        assert!(matches!(err, ConnectorError::NotFound(_)));
    }
}
