//! Screenshots (PNG, JPEG, WebP): text by OCR through the Tesseract program
//! from the OS packages (`tesseract FILE stdout tsv`, under a time limit,
//! words regrouped into its lines and paragraphs), capture time from EXIF
//! `DateTimeOriginal`, else the file name (`Screenshot 2026-03-04 at
//! 10.22.31.png`, `Screenshot_20260304-102231.png`), else the file's mtime.
//!
//! Without Tesseract the screenshot's metadata is still indexed, a warning
//! names the package to install (once per process), and the item is
//! recorded as failed with that reason, so a later run reads its text.

use crate::document::{Document, SourceKind};
use crate::error::ConnectorError;
use crate::text::{file_document, file_title, read_bounded};
use chrono::NaiveDateTime;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The package that provides the `tesseract` program on Debian and Ubuntu.
pub const TESSERACT_PACKAGE: &str = "tesseract-ocr";

/// Longest one image may take to read.
const OCR_BUDGET: Duration = Duration::from_secs(60);

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
        let (text, pending) = match tesseract() {
            Some(program) => match ocr(program, &abs) {
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
                        package: TESSERACT_PACKAGE,
                    }),
                )
            }
        };
        let title = file_title(&abs);
        let mut doc = file_document(&abs, SourceKind::Screenshot, media_type, title, text);
        if let Some(captured) = exif_time(&bytes).or_else(|| name_time(&doc.title)) {
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
            "screenshots are indexed without their text: OCR needs the `tesseract` program (install the `{TESSERACT_PACKAGE}` package); they are read again on a later run"
        );
    });
}

/// The Tesseract program, when it runs: `$HEARTH_TESSERACT`, else
/// `tesseract` on the PATH. Checked once per process.
fn tesseract() -> Option<&'static Path> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let program = std::env::var_os("HEARTH_TESSERACT")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("tesseract"));
            Command::new(&program)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
                .then_some(program)
        })
        .as_deref()
}

/// Runs Tesseract on `image` with TSV output, killed past [`OCR_BUDGET`].
fn ocr(program: &Path, image: &Path) -> Result<String, String> {
    let mut child = Command::new(program)
        .arg(image)
        .args(["stdout", "--psm", "3", "tsv"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    // Read on a thread so a full pipe cannot stall the child.
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > OCR_BUDGET => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("OCR took longer than {} s", OCR_BUDGET.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("waiting for tesseract: {e}")),
        }
    };
    let tsv = reader.join().unwrap_or_default();
    if !status.success() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        return Err(format!(
            "tesseract failed ({status}): {}",
            err.lines().last().unwrap_or("").trim()
        ));
    }
    Ok(tsv_text(&tsv))
}

/// The words of Tesseract's TSV (level 5 rows, confidence ≥ 0) as lines,
/// paragraphs separated by blank lines.
pub fn tsv_text(tsv: &str) -> String {
    let mut lines: BTreeMap<(u32, u32, u32, u32), Vec<&str>> = BTreeMap::new();
    for row in tsv.lines().skip(1) {
        let f: Vec<&str> = row.split('\t').collect();
        if f.len() < 12 || f[0] != "5" {
            continue;
        }
        let num = |i: usize| f[i].parse::<u32>().unwrap_or(0);
        let confident = f[10].parse::<f32>().is_ok_and(|c| c >= 0.0);
        let word = f[11].trim();
        if confident && !word.is_empty() {
            lines
                .entry((num(1), num(2), num(3), num(4)))
                .or_default()
                .push(word);
        }
    }
    let mut text = String::new();
    let mut last_par = None;
    for ((page, block, par, _), words) in lines {
        if !text.is_empty() {
            text.push_str(if last_par == Some((page, block, par)) {
                "\n"
            } else {
                "\n\n"
            });
        }
        last_par = Some((page, block, par));
        text.push_str(&words.join(" "));
    }
    text
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
    fn tsv_words_regroup_into_lines_and_paragraphs() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
5\t1\t1\t1\t1\t1\t0\t0\t1\t1\t96\tWi-Fi\n\
5\t1\t1\t1\t1\t2\t0\t0\t1\t1\t95\tOn\n\
5\t1\t1\t1\t2\t1\t0\t0\t1\t1\t91\tJuniper-Home-5G\n\
4\t1\t2\t1\t1\t0\t0\t0\t1\t1\t-1\t\n\
5\t1\t2\t1\t1\t1\t0\t0\t1\t1\t-1\t \n\
5\t1\t2\t1\t1\t2\t0\t0\t1\t1\t88\tRouter\n";
        assert_eq!(tsv_text(tsv), "Wi-Fi On\nJuniper-Home-5G\n\nRouter");
    }

    #[test]
    fn images_are_recognised_by_their_bytes() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(image_type(b"GIF89a"), None);
    }
}
