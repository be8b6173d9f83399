//! Screenshots (PNG, JPEG, WebP): text by OCR ([`crate::ocr`]: the Tesseract
//! program from the OS packages), capture time from EXIF
//! `DateTimeOriginal`, else the file name (`Screenshot 2026-03-04 at
//! 10.22.31.png`, `Screenshot_20260304-102231.png`), else the file's mtime.
//!
//! Without Tesseract the screenshot's metadata is still indexed, a warning
//! names the package to install (once per process), and the item is
//! recorded as failed with that reason, so a later run reads its text.

use crate::document::{Document, SourceKind};
use crate::error::ConnectorError;
use crate::ocr;
use crate::text::{file_document, file_title, read_bounded};
use chrono::NaiveDateTime;
use std::path::Path;
use std::sync::OnceLock;

/// Reads screenshots: OCR text plus capture time.
#[derive(Debug, Default, Clone, Copy)]
pub struct ScreenshotReader;

impl ScreenshotReader {
    /// The screenshot's document, and, when OCR is not available, the
    /// failure that brings it back on a later run.
    pub fn read(&self, path: &Path) -> Vec<Result<Document, ConnectorError>> {
        let (abs, bytes) = match read_bounded(path) {
            Ok(read) => read,
            Err(e) => return vec![Err(e)],
        };
        let media_type = match image_type(&bytes) {
            Some(t) => t,
            None => {
                return vec![Err(ConnectorError::Malformed {
                    what: "image",
                    path: abs,
                    item: None,
                    reason: "not a PNG, JPEG or WebP image".into(),
                })];
            }
        };
        let (text, pending) = match ocr::tesseract() {
            Some(program) => match ocr::image_text(program, &abs) {
                Ok(text) => (text, None),
                Err(reason) => {
                    return vec![Err(ConnectorError::Malformed {
                        what: "image",
                        path: abs,
                        item: Some("ocr".into()),
                        reason,
                    })];
                }
            },
            None => {
                warn_once();
                (
                    String::new(),
                    Some(ConnectorError::OcrUnavailable {
                        path: abs.clone(),
                        needs: ocr::NEEDS_TESSERACT,
                    }),
                )
            }
        };
        let title = file_title(&abs);
        let mut doc = file_document(&abs, SourceKind::Screenshot, media_type, title, text);
        if let Some(captured) = capture_time(&bytes, &doc.title) {
            doc.timestamp = Some(captured);
        }
        let mut out = vec![Ok(doc.seal())];
        out.extend(pending.map(Err));
        out
    }
}

fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

fn warn_once() {
    static WARNED: OnceLock<()> = OnceLock::new();
    WARNED.get_or_init(|| {
        tracing::warn!(
            "screenshots are indexed without their text: OCR needs {}; they are read again on a later run",
            ocr::NEEDS_TESSERACT
        );
    });
}

/// When the screenshot in `bytes`, named `file_name`, was taken: EXIF
/// `DateTimeOriginal` (or `DateTime`), else the name's pattern; `None`
/// when neither says (the caller falls back to the file's mtime).
///
/// ```
/// let t = hearth_connectors::screenshot_capture_time(b"not an image", "Screenshot_20260304-102231.png");
/// assert_eq!(t, Some(1772619751));
/// ```
pub fn capture_time(bytes: &[u8], file_name: &str) -> Option<i64> {
    exif_time(bytes).or_else(|| name_time(file_name))
}

/// EXIF `DateTimeOriginal` (else `DateTime`), as written (no zone: read as UTC).
fn exif_time(bytes: &[u8]) -> Option<i64> {
    let exif = exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(bytes))
        .ok()?;
    [exif::Tag::DateTimeOriginal, exif::Tag::DateTime]
        .into_iter()
        .find_map(|tag| {
            let field = exif.get_field(tag, exif::In::PRIMARY)?;
            let text = field.display_value().to_string();
            NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S")
                .ok()
                .map(|t| t.and_utc().timestamp())
        })
}

/// The capture time in a screenshot's file name, as the OSes write it.
///
/// ```
/// use hearth_connectors::screenshot_name_time as t;
/// assert_eq!(t("Screenshot 2026-03-04 at 10.22.31"), Some(1772619751));
/// assert_eq!(t("Screenshot_20260304-102231"), Some(1772619751));
/// assert_eq!(t("Screen Shot 2026-03-04 at 10.22.31 PM"), Some(1772662951));
/// assert_eq!(t("holiday"), None);
/// ```
pub fn name_time(name: &str) -> Option<i64> {
    let digits: String = name.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 14 {
        return None;
    }
    let t = NaiveDateTime::parse_from_str(&digits[..14], "%Y%m%d%H%M%S").ok()?;
    let lower = name.to_ascii_lowercase();
    let pm = lower.ends_with(" pm") || lower.ends_with("\u{202f}pm");
    let hour = chrono::Timelike::hour(&t);
    let t = if pm && hour < 12 {
        t + chrono::Duration::hours(12)
    } else {
        t
    };
    Some(t.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_recognised_by_their_bytes() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(image_type(b"GIF89a"), None);
    }
}
