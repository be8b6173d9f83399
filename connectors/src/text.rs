//! Plain-text files: one document per file, encoding detected rather than assumed.

use crate::document::{Document, Origin, SourceKind, file_uri};
use crate::error::ConnectorError;
use std::path::Path;

/// Largest file read as one document (64 MiB); larger ones fail with `TooLarge`.
pub(crate) const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads a plain-text file into one [`Document`] titled after the file name.
#[derive(Debug, Default, Clone, Copy)]
pub struct TextReader;

impl TextReader {
    /// Reads `path` (absolute or relative; the URI always uses the absolute path).
    pub fn read(&self, path: &Path) -> Result<Document, ConnectorError> {
        let (abs, bytes) = read_bounded(path)?;
        let text = decode_text(&bytes);
        let title = file_title(&abs);
        Ok(file_document(&abs, SourceKind::Document, "text/plain", title, text).seal())
    }
}

/// Decodes bytes as UTF-8 (a BOM is dropped), UTF-16 with a BOM, or else
/// Windows-1252, so that no byte of a file is lost to a wrong guess.
///
/// ```
/// use hearth_connectors::decode_text;
/// assert_eq!(decode_text("café".as_bytes()), "café");
/// assert_eq!(decode_text(b"caf\xe9"), "café");
/// ```
pub fn decode_text(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8_lossy(rest).into_owned();
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return decode_utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return decode_utf16(rest, u16::from_be_bytes);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| windows_1252(b)).collect(),
    }
}

fn decode_utf16(bytes: &[u8], word: fn([u8; 2]) -> u16) -> String {
    let units = bytes.chunks_exact(2).map(|c| word([c[0], c[1]]));
    char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH[(b - 0x80) as usize],
        _ => b as char,
    }
}

/// The document of a whole file at `abs`: its `file://` URI, the file as
/// origin, its mtime as timestamp. Call [`Document::seal`] after adding spans
/// or participants.
pub(crate) fn file_document(
    abs: &Path,
    kind: SourceKind,
    media_type: &str,
    title: String,
    text: String,
) -> Document {
    let mut doc = Document::new(
        kind,
        media_type,
        file_uri(abs),
        title,
        text,
        Origin {
            path: abs.to_path_buf(),
            item: None,
        },
    );
    doc.timestamp = mtime_secs(abs);
    doc
}

/// Canonicalises `path` and reads it whole, refusing files over [`MAX_FILE_BYTES`].
pub(crate) fn read_bounded(path: &Path) -> Result<(std::path::PathBuf, Vec<u8>), ConnectorError> {
    let io = |source| ConnectorError::Io {
        path: path.to_path_buf(),
        source,
    };
    let abs = std::fs::canonicalize(path).map_err(io)?;
    let size = std::fs::metadata(&abs).map_err(io)?.len();
    if size > MAX_FILE_BYTES {
        return Err(ConnectorError::TooLarge {
            path: abs,
            size,
            limit: MAX_FILE_BYTES,
        });
    }
    let bytes = std::fs::read(&abs).map_err(io)?;
    Ok((abs, bytes))
}

pub(crate) fn file_title(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub(crate) fn mtime_secs(path: &Path) -> Option<i64> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let secs = modified
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    i64::try_from(secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_utf16_with_bom() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "hé".encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode_text(&bytes), "hé");
    }

    #[test]
    fn windows_1252_keeps_every_byte() {
        assert_eq!(decode_text(b"\x80 5 \x93ok\x94"), "€ 5 “ok”");
    }

    #[test]
    fn reads_a_file_with_title_and_hash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shopping list.txt");
        std::fs::write(&path, "eggs\nmilk\n").unwrap();
        let doc = TextReader.read(&path).unwrap();
        assert_eq!(doc.title, "shopping list");
        assert_eq!(doc.text, "eggs\nmilk\n");
        assert!(doc.uri.starts_with("file:///"));
        assert!(doc.timestamp.is_some());
        assert_eq!(doc.content_hash, doc.compute_hash());
    }

    #[test]
    fn missing_file_is_a_named_error() {
        let err = TextReader
            .read(Path::new("/nonexistent/x.txt"))
            .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/x.txt"), "{err}");
    }
}
