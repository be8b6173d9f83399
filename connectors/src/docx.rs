//! Word documents (`.docx`): the zip's `word/document.xml` streamed through
//! quick-xml — paragraphs, runs, tabs and line breaks, tables (cells by tab,
//! rows by line) — with heading paragraphs (`Heading1`…, `Title`) as heading
//! spans, and title and author from `docProps/core.xml`.
//!
//! Hostile input stays bounded: no zip member is inflated past
//! [`MAX_XML_BYTES`] whatever its header claims (a zip bomb is a named
//! failure), and the XML is read as a stream, never as a tree.

use crate::document::{Document, Participant, ParticipantRole, SourceKind};
use crate::error::ConnectorError;
use crate::markdown::{Heading, heading_spans};
use crate::text::{file_document, file_title, read_bounded};
use quick_xml::events::Event;
use std::io::{Cursor, Read};
use std::path::Path;

/// Most bytes one XML part of a DOCX may inflate to (32 MiB).
pub const MAX_XML_BYTES: u64 = 32 * 1024 * 1024;

/// The text of a DOCX and what its metadata says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocxText {
    /// Paragraphs separated by blank lines; table rows as lines of tab-separated cells.
    pub text: String,
    /// Heading paragraphs: (level, text, byte offset in `text`); `Title` is level 0.
    pub headings: Vec<(usize, String, usize)>,
    /// `dc:title` of the core properties.
    pub title: Option<String>,
    /// `dc:creator` of the core properties.
    pub author: Option<String>,
}

/// Reads Word documents into one [`Document`] each.
#[derive(Debug, Default, Clone, Copy)]
pub struct DocxReader;

impl DocxReader {
    /// Reads `path` (absolute or relative; the URI always uses the absolute path).
    pub fn read(&self, path: &Path) -> Result<Document, ConnectorError> {
        let (abs, bytes) = read_bounded(path)?;
        let docx = docx_text(&bytes).map_err(|reason| ConnectorError::Malformed {
            what: "DOCX",
            path: abs.clone(),
            item: None,
            reason,
        })?;
        let title = docx.title.clone().unwrap_or_else(|| file_title(&abs));
        let mut doc = file_document(&abs, SourceKind::Document, DOCX_TYPE, title, String::new());
        apply(&mut doc, docx);
        Ok(doc.seal())
    }
}

/// The media type of DOCX files.
pub const DOCX_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

/// Moves the text, heading spans and author of `docx` into `doc`.
pub(crate) fn apply(doc: &mut Document, docx: DocxText) {
    let headings: Vec<Heading> = docx
        .headings
        .into_iter()
        .map(|(level, text, offset)| Heading {
            level,
            text,
            offset,
        })
        .collect();
    doc.spans = heading_spans(&headings, docx.text.len());
    doc.text = docx.text;
    if let Some(author) = docx.author {
        doc.participants.push(Participant {
            name: Some(author),
            address: None,
            role: ParticipantRole::Author,
        });
    }
}

/// The text of the DOCX held in `bytes`.
///
/// ```
/// let err = hearth_connectors::docx_text(b"PK\x03\x04 not really").unwrap_err();
/// assert!(err.contains("zip"), "{err}");
/// ```
pub fn docx_text(bytes: &[u8]) -> Result<DocxText, String> {
    let mut zip =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| format!("not a zip archive: {e}"))?;
    let body = member(&mut zip, "word/document.xml")?
        .ok_or("no word/document.xml: not a Word document")?;
    let mut out = body_text(&body)?;
    if let Some(core) = member(&mut zip, "docProps/core.xml")? {
        let (title, author) = core_properties(&core);
        out.title = title;
        out.author = author;
    }
    Ok(out)
}

/// A zip member, inflated up to [`MAX_XML_BYTES`]; `None` when absent.
fn member(zip: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str) -> Result<Option<Vec<u8>>, String> {
    let file = match zip.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(format!("{name}: {e}")),
    };
    let bomb = || format!("{name} inflates past {MAX_XML_BYTES} bytes (a zip bomb?)");
    if file.size() > MAX_XML_BYTES {
        return Err(bomb());
    }
    // The header's size may lie: the read itself is capped.
    let mut out = Vec::new();
    file.take(MAX_XML_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("{name}: {e}"))?;
    if out.len() as u64 > MAX_XML_BYTES {
        return Err(bomb());
    }
    Ok(Some(out))
}

/// Walks `word/document.xml`: text of `w:t`, `w:tab` as a tab, `w:br` and
/// `w:cr` as line breaks, paragraphs as lines (blank-line separated), table
/// cells separated by tabs and rows by lines; heading paragraphs recorded.
fn body_text(xml: &[u8]) -> Result<DocxText, String> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut out = DocxText::default();
    let mut buf = Vec::new();
    let mut in_text = false;
    let mut tables = 0usize;
    let mut paragraph = String::new();
    let mut level: Option<usize> = None;
    let mut cell = String::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("word/document.xml at byte {}: {e}", reader.error_position()))?;
        match event {
            // An empty `<w:t/>` holds no text.
            Event::Empty(e) if e.local_name().as_ref() == b"t" => {}
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                b"t" => in_text = true,
                b"tab" => paragraph.push('\t'),
                b"br" | b"cr" => paragraph.push('\n'),
                b"tbl" => {
                    tables += 1;
                    if tables == 1 && !out.text.is_empty() {
                        out.text.push_str("\n\n");
                    }
                }
                b"pStyle" => {
                    let style = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == b"val")
                        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()));
                    level = style.as_deref().and_then(heading_level);
                }
                _ => {}
            },
            Event::Text(t) if in_text => {
                paragraph.push_str(&t.xml10_content().map_err(|e| e.to_string())?);
            }
            Event::GeneralRef(r) if in_text => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    paragraph.push(c);
                } else if let Some(s) = std::str::from_utf8(&r)
                    .ok()
                    .and_then(quick_xml::escape::resolve_xml_entity)
                {
                    paragraph.push_str(s);
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                b"t" => in_text = false,
                b"p" => {
                    let text = std::mem::take(&mut paragraph);
                    let text = text.trim_end();
                    if tables > 0 {
                        if !text.is_empty() {
                            if !cell.is_empty() {
                                cell.push(' ');
                            }
                            cell.push_str(text);
                        }
                    } else if !text.is_empty() {
                        if !out.text.is_empty() {
                            out.text.push_str("\n\n");
                        }
                        if let Some(level) = level {
                            out.headings
                                .push((level, text.trim().to_owned(), out.text.len()));
                        }
                        out.text.push_str(text);
                    }
                    level = None;
                }
                b"tc" => {
                    if !out.text.is_empty() && !out.text.ends_with(['\n', '\t']) {
                        out.text.push('\t');
                    }
                    out.text.push_str(&std::mem::take(&mut cell));
                }
                b"tr" => {
                    out.text.push('\n');
                }
                b"tbl" => {
                    tables = tables.saturating_sub(1);
                    if tables == 0 {
                        out.text.truncate(out.text.trim_end().len());
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    out.text = out.text.trim_end().to_owned();
    Ok(out)
}

/// `Heading1` … `Heading9` to levels 1–9; `Title` above them all (0).
fn heading_level(style: &str) -> Option<usize> {
    let lower = style.to_ascii_lowercase();
    if lower == "title" {
        return Some(0);
    }
    let n: usize = lower.strip_prefix("heading")?.trim().parse().ok()?;
    (1..=9).contains(&n).then_some(n)
}

/// `dc:title` and `dc:creator` of `docProps/core.xml`, when non-empty.
fn core_properties(xml: &[u8]) -> (Option<String>, Option<String>) {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let (mut title, mut author) = (None, None);
    let mut field: Option<bool> = None; // Some(true): title, Some(false): creator
    while let Ok(event) = reader.read_event_into(&mut buf) {
        match event {
            Event::Start(e) => {
                field = match e.local_name().as_ref() {
                    b"title" => Some(true),
                    b"creator" => Some(false),
                    _ => None,
                }
            }
            Event::Text(t) => {
                let value = t.xml10_content().ok().map(|v| v.trim().to_owned());
                match (field, value) {
                    (Some(true), Some(v)) if !v.is_empty() => title = Some(v),
                    (Some(false), Some(v)) if !v.is_empty() => author = Some(v),
                    _ => {}
                }
            }
            Event::End(_) => field = None,
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    (title, author)
}
