//! Markdown files: one document per file, with each heading's section as a span
//! so a hit can cite "Trip > Day 2" rather than just the file.

use crate::document::{Document, SourceKind, Span, SpanLabel};
use crate::error::ConnectorError;
use crate::text::{decode_text, file_document, file_title, read_bounded};
use std::path::Path;

/// Reads a Markdown file; the title is the first level-1 heading, else the file name.
#[derive(Debug, Default, Clone, Copy)]
pub struct MarkdownReader;

impl MarkdownReader {
    /// Reads `path` into one [`Document`] with heading-path spans.
    pub fn read(&self, path: &Path) -> Result<Document, ConnectorError> {
        let (abs, bytes) = read_bounded(path)?;
        let text = decode_text(&bytes);
        let headings = headings(&text);
        let title = headings
            .iter()
            .find(|h| h.level == 1)
            .map(|h| h.text.clone())
            .unwrap_or_else(|| file_title(&abs));
        let spans = heading_spans(&headings, text.len());
        let mut doc = file_document(&abs, SourceKind::Document, "text/markdown", title, text);
        doc.spans = spans;
        Ok(doc.seal())
    }
}

pub(crate) struct Heading {
    /// Heading level: 1 for `#` up to 6 for `######`.
    pub level: usize,
    /// The heading's text, without the `#` marks.
    pub text: String,
    /// Byte offset of the heading line in the file's text.
    pub offset: usize,
}

/// ATX headings (`#` .. `######`) outside fenced code blocks, with byte offsets.
fn headings(text: &str) -> Vec<Heading> {
    let mut out = Vec::new();
    let mut in_fence = false;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
        } else if !in_fence && line.starts_with('#') {
            let level = line.bytes().take_while(|&b| b == b'#').count();
            let rest = &line[level..];
            if level <= 6 && (rest.starts_with(' ') || rest.trim().is_empty()) {
                let text = rest.trim().trim_end_matches('#').trim().to_owned();
                if !text.is_empty() {
                    out.push(Heading {
                        level,
                        text,
                        offset,
                    });
                }
            }
        }
        offset += line.len();
    }
    out
}

/// One span per heading, from the heading to the next heading, labelled with the
/// path of enclosing headings.
pub(crate) fn heading_spans(headings: &[Heading], len: usize) -> Vec<Span> {
    let mut stack: Vec<(usize, &str)> = Vec::new();
    let mut spans = Vec::with_capacity(headings.len());
    for (i, h) in headings.iter().enumerate() {
        while stack.last().is_some_and(|(level, _)| *level >= h.level) {
            stack.pop();
        }
        stack.push((h.level, &h.text));
        let end = headings.get(i + 1).map_or(len, |next| next.offset);
        let path: Vec<&str> = stack.iter().map(|(_, t)| *t).collect();
        spans.push(Span {
            start: h.offset,
            end,
            label: SpanLabel::Heading(path.join(" > ")),
        });
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heading_paths_and_title() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trip.md");
        let md = "# Lisbon trip\nintro\n## Day 1\nwalk\n```\n# not a heading\n```\n## Day 2\n### Food\npastéis\n";
        std::fs::write(&path, md).unwrap();
        let doc = MarkdownReader.read(&path).unwrap();
        assert_eq!(doc.title, "Lisbon trip");
        let labels: Vec<String> = doc.spans.iter().map(|s| s.label.to_string()).collect();
        assert_eq!(
            labels,
            [
                "Lisbon trip",
                "Lisbon trip > Day 1",
                "Lisbon trip > Day 2",
                "Lisbon trip > Day 2 > Food"
            ]
        );
        let food = doc.text.find("pastéis").unwrap();
        assert_eq!(
            doc.label_at(food).unwrap().to_string(),
            "Lisbon trip > Day 2 > Food"
        );
        assert_eq!(doc.spans.last().unwrap().end, doc.text.len());
    }

    #[test]
    fn no_heading_falls_back_to_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain.md");
        std::fs::write(&path, "just text\n#hashtag is not a heading\n").unwrap();
        let doc = MarkdownReader.read(&path).unwrap();
        assert_eq!(doc.title, "plain");
        assert!(doc.spans.is_empty());
    }
}
