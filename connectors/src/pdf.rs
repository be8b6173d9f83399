//! PDF files: text per page, each page a span (`page 3`), so an answer can
//! cite the page. pdf-extract lays out the text (it reads far better than
//! lopdf's extractor, which ignores positioning) but panics on some real
//! files: it runs on its own thread, under `catch_unwind` and a time budget,
//! and lopdf's extractor reads the pages when it fails. The page tree is
//! walked first with a visited set, so a cyclic object graph is a named
//! failure instead of an endless walk. A PDF that needs a password is a
//! clear error; one encrypted with an empty user password reads as usual.
//! A page without a text layer (a scan) is rendered and read by OCR
//! ([`crate::ocr`]) when its programs are installed; when they are not, the
//! rest is indexed and the file is marked to be read again on a later run.

use crate::document::{Document, SourceKind, Span, SpanLabel};
use crate::error::ConnectorError;
use crate::ocr;
use crate::text::{file_document, file_title, read_bounded};
use pdf_extract::{Document as Pdf, Object, ObjectId};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// Most pages read from one PDF.
pub const MAX_PDF_PAGES: usize = 5_000;

/// How long pdf-extract may take on one file before lopdf takes over.
const EXTRACT_BUDGET: Duration = Duration::from_secs(30);

/// The text of a PDF, page by page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdfText {
    /// One entry per page, in order (empty for a page with no text layer).
    pub pages: Vec<String>,
    /// Which extractor read it: `pdf-extract`, or `lopdf` after pdf-extract failed.
    pub extractor: &'static str,
    /// The document information dictionary's title, when set.
    pub title: Option<String>,
}

/// Reads PDF files into one [`Document`] each, with a span per page.
#[derive(Debug, Default, Clone, Copy)]
pub struct PdfReader;

impl PdfReader {
    /// Reads `path` (absolute or relative; the URI always uses the absolute
    /// path): the document, then a failure for each scanned page OCR could
    /// not read, or the one failure that brings the file back on a later run
    /// when the OCR programs are missing.
    pub fn read(&self, path: &std::path::Path) -> Vec<Result<Document, ConnectorError>> {
        let (abs, bytes) = match read_bounded(path) {
            Ok(read) => read,
            Err(e) => return vec![Err(e)],
        };
        let malformed = |item: Option<String>, reason: String| ConnectorError::Malformed {
            what: "PDF",
            path: abs.clone(),
            item,
            reason,
        };
        let mut pdf = match pdf_text(bytes) {
            Ok(pdf) => pdf,
            Err(reason) => return vec![Err(malformed(None, reason))],
        };
        let empty: Vec<usize> = (1..=pdf.pages.len())
            .filter(|&n| pdf.pages[n - 1].trim().is_empty())
            .collect();
        let mut failures = Vec::new();
        if !empty.is_empty() {
            match (ocr::pdftoppm(), ocr::tesseract()) {
                (Some(render), Some(tesseract)) => {
                    tracing::info!("{}: OCR of pages {empty:?} (no text layer)", abs.display());
                    for &n in &empty {
                        match ocr::pdf_page_text(render, tesseract, &abs, n) {
                            Ok(text) => pdf.pages[n - 1] = text,
                            Err(reason) => {
                                failures.push(malformed(Some(format!("page {n}")), reason))
                            }
                        }
                    }
                }
                _ => {
                    warn_once();
                    failures.push(ConnectorError::OcrUnavailable {
                        path: abs.clone(),
                        needs: ocr::NEEDS_PDF_OCR,
                    });
                }
            }
        }
        if failures.is_empty() && pdf.pages.iter().all(|p| p.trim().is_empty()) {
            return vec![Err(malformed(
                None,
                format!(
                    "none of its {} pages has any text, not even by OCR (a blank scan?)",
                    pdf.pages.len()
                ),
            ))];
        }
        let title = pdf.title.clone().unwrap_or_else(|| file_title(&abs));
        let (text, spans) = join_pages(&pdf.pages);
        let mut doc = file_document(&abs, SourceKind::Document, "application/pdf", title, text);
        doc.spans = spans;
        let mut out = vec![Ok(doc.seal())];
        out.extend(failures.into_iter().map(Err));
        out
    }
}

fn warn_once() {
    static WARNED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    WARNED.get_or_init(|| {
        tracing::warn!(
            "PDF pages without a text layer are indexed without their text: OCR needs {}; they are read again on a later run",
            ocr::NEEDS_PDF_OCR
        );
    });
}

/// Pages joined by blank lines, each non-empty page a `page N` span.
pub(crate) fn join_pages(pages: &[String]) -> (String, Vec<Span>) {
    let mut text = String::new();
    let mut spans = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        let page = page.trim();
        if page.is_empty() {
            continue;
        }
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        let start = text.len();
        text.push_str(page);
        spans.push(Span {
            start,
            end: text.len(),
            label: SpanLabel::Page(u32::try_from(i + 1).unwrap_or(u32::MAX)),
        });
    }
    (text, spans)
}

/// The text of the PDF in `bytes`, page by page.
///
/// ```
/// let err = hearth_connectors::pdf_text(b"%PDF-1.4 and then nothing".to_vec()).unwrap_err();
/// assert!(err.starts_with("not a readable PDF"), "{err}");
/// ```
pub fn pdf_text(bytes: Vec<u8>) -> Result<PdfText, String> {
    let doc = match Pdf::load_mem(&bytes) {
        Ok(doc) => doc,
        Err(e) if contains(&bytes, b"/Encrypt") => {
            return Err(format!("encrypted: it needs a password to open ({e})"));
        }
        Err(e) => return Err(format!("not a readable PDF: {e}")),
    };
    let encrypted = doc.trailer.get(b"Encrypt").is_ok() || doc.was_encrypted();
    let pages = match page_count(&doc) {
        Ok(n) => n,
        // The empty user password did not open it: its objects stay sealed.
        Err(e) if encrypted => return Err(format!("encrypted: it needs a password to open ({e})")),
        Err(e) => return Err(e),
    };
    let title = info_title(&doc);
    let bytes = Arc::new(bytes);
    let shared = Arc::clone(&bytes);
    let extracted = isolated(EXTRACT_BUDGET, move || {
        pdf_extract::extract_text_from_mem_by_pages(&shared).map_err(|e| e.to_string())
    });
    match extracted {
        Ok(Ok(texts)) if texts.len() == pages => {
            return Ok(PdfText {
                pages: texts,
                extractor: "pdf-extract",
                title,
            });
        }
        Ok(Ok(texts)) => tracing::debug!(
            "pdf-extract read {} pages of {pages}; using lopdf",
            texts.len()
        ),
        Ok(Err(e)) | Err(e) => tracing::debug!("pdf-extract failed ({e}); using lopdf"),
    }
    let numbers: Vec<u32> = doc.get_pages().keys().copied().collect();
    let doc = Arc::new(doc);
    let mut texts = Vec::with_capacity(numbers.len());
    for n in numbers {
        let doc = Arc::clone(&doc);
        let text = isolated(EXTRACT_BUDGET, move || doc.extract_text(&[n]))
            .map_err(|e| format!("page {n}: {e}"))?
            .unwrap_or_default();
        texts.push(text);
    }
    Ok(PdfText {
        pages: texts,
        extractor: "lopdf",
        title,
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Pages in the page tree, walked with a visited set: a node reached twice
/// (a cycle, or a shared subtree) is refused.
fn page_count(doc: &Pdf) -> Result<usize, String> {
    let root = doc
        .catalog()
        .and_then(|c| c.get(b"Pages"))
        .and_then(Object::as_reference)
        .map_err(|e| format!("no page tree: {e}"))?;
    let mut seen: HashSet<ObjectId> = HashSet::new();
    let mut stack = vec![root];
    let mut pages = 0usize;
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            return Err(format!(
                "the page tree reaches object {} {} twice (a cyclic object graph)",
                id.0, id.1
            ));
        }
        let Ok(node) = doc.get_dictionary(id) else {
            continue;
        };
        match node.get(b"Type").and_then(Object::as_name) {
            Ok(b"Page") => {
                pages += 1;
                if pages > MAX_PDF_PAGES {
                    return Err(format!("more than {MAX_PDF_PAGES} pages"));
                }
            }
            _ => {
                if let Ok(kids) = node.get(b"Kids").and_then(Object::as_array) {
                    stack.extend(kids.iter().rev().filter_map(|k| k.as_reference().ok()));
                }
            }
        }
    }
    if pages == 0 {
        return Err("the page tree has no pages".into());
    }
    Ok(pages)
}

/// `/Title` of the document information dictionary, when it is plain text.
fn info_title(doc: &Pdf) -> Option<String> {
    let info = doc
        .trailer
        .get(b"Info")
        .and_then(Object::as_reference)
        .and_then(|id| doc.get_dictionary(id))
        .ok()?;
    let raw = info.get(b"Title").and_then(Object::as_str).ok()?;
    let title = if let Some(utf16) = raw.strip_prefix(&[0xFE, 0xFF]) {
        let units: Vec<u16> = utf16
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        raw.iter().map(|&b| char::from(b)).collect()
    };
    let title = title.trim().to_owned();
    (!title.is_empty()).then_some(title)
}

/// Runs `f` on its own thread: its panic becomes an error, and so does its
/// running past `budget` (the thread is then left to finish on its own).
fn isolated<T: Send + 'static>(
    budget: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("pdf-extract".into())
        .spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(result);
        })
        .map_err(|e| format!("cannot start the extractor: {e}"))?;
    match rx.recv_timeout(budget) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(panic)) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            Err(format!("the extractor panicked: {message}"))
        }
        Err(_) => Err(format!(
            "the extractor took longer than {} s",
            budget.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_and_a_timeout_are_errors() {
        let err = isolated(Duration::from_secs(5), || -> u32 { panic!("bad font") }).unwrap_err();
        assert!(err.contains("bad font"), "{err}");
        let err = isolated(Duration::from_millis(50), || {
            std::thread::sleep(Duration::from_secs(2));
        })
        .unwrap_err();
        assert!(err.contains("longer than"), "{err}");
        assert_eq!(isolated(Duration::from_secs(5), || 7).unwrap(), 7);
    }

    #[test]
    fn pages_join_with_page_spans() {
        let (text, spans) = join_pages(&["one".into(), " ".into(), "three\n".into()]);
        assert_eq!(text, "one\n\nthree");
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[1].label, SpanLabel::Page(3));
        assert_eq!(&text[spans[1].start..spans[1].end], "three");
    }
}
