//! HTML files (saved pages, exported notes): one document per file, its text
//! laid out by html2text without decoration, titled by `<title>` when present.

use crate::document::{Document, SourceKind};
use crate::error::ConnectorError;
use crate::text::{decode_text, file_document, file_title, read_bounded};
use std::path::Path;

/// Reads an HTML file into one [`Document`].
#[derive(Debug, Default, Clone, Copy)]
pub struct HtmlReader;

impl HtmlReader {
    /// Reads `path` (absolute or relative; the URI always uses the absolute path).
    pub fn read(&self, path: &Path) -> Result<Document, ConnectorError> {
        let (abs, bytes) = read_bounded(path)?;
        let html = decode_text(&bytes);
        let title = html_title(&html).unwrap_or_else(|| file_title(&abs));
        let text = html_to_text(&html).map_err(|reason| ConnectorError::Malformed {
            what: "HTML",
            path: abs.clone(),
            item: None,
            reason,
        })?;
        Ok(file_document(&abs, SourceKind::Document, "text/html", title, text).seal())
    }
}

/// The text of an HTML fragment or page: block structure kept as lines and
/// blank lines, no markup, no link footnotes, lines not re-wrapped.
///
/// ```
/// let text = hearth_connectors::html_to_text("<p>Hello <b>there</b></p><ul><li>one</li></ul>").unwrap();
/// assert!(text.contains("Hello there") && text.contains("one") && !text.contains('<'));
/// ```
pub fn html_to_text(html: &str) -> Result<String, String> {
    let text = html2text::config::with_decorator(html2text::render::TrivialDecorator::new())
        .raw_mode(true)
        .string_from_read(html.as_bytes(), 10_000)
        .map_err(|e| format!("cannot lay out the HTML: {e}"))?;
    // Trailing spaces and runs of blank lines are layout, not content.
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines().map(str::trim_end) {
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    Ok(out)
}

/// The page's `<title>`, as text, when it has a non-empty one.
fn html_title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let title = html_to_text(html.get(start..end)?).ok()?;
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
    (!title.is_empty()).then_some(title)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_title_and_text_without_markup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("page.html");
        std::fs::write(
            &path,
            "<!DOCTYPE html><html><head><title>Boiler &amp; heating</title><style>p{color:red}</style><script>var x = 1;</script></head>\
             <body><h1>Service</h1><p>Booked with <a href=\"https://kessler.example\">Kessler</a> for Tuesday.</p>\
             <table><tr><td>Cost</td><td>$180</td></tr></table></body></html>",
        )
        .unwrap();
        let doc = HtmlReader.read(&path).unwrap();
        assert_eq!(doc.title, "Boiler & heating");
        assert_eq!(doc.media_type, "text/html");
        assert!(
            doc.text.contains("Booked with Kessler for Tuesday."),
            "{}",
            doc.text
        );
        assert!(
            doc.text.contains("Cost") && doc.text.contains("$180"),
            "{}",
            doc.text
        );
        assert!(
            !doc.text.contains("color:red") && !doc.text.contains("var x"),
            "{}",
            doc.text
        );
        assert!(!doc.text.contains("https://"), "{}", doc.text);
    }

    #[test]
    fn broken_markup_still_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("broken.htm");
        std::fs::write(&path, b"<p>caf\xe9 <b>open <i>late</p><div><div><div>").unwrap();
        let doc = HtmlReader.read(&path).unwrap();
        assert_eq!(doc.title, "broken");
        assert!(doc.text.contains("café open late"), "{}", doc.text);
    }
}
