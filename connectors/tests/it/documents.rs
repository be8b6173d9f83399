//! The document readers on the committed fixtures (`fixtures/connectors/docs`,
//! written by `fixtures/scripts/make_docx_fixtures.py`) and on hostile input
//! built here (a zip bomb).

use hearth_connectors::{
    ConnectorError, DocxReader, Format, MAX_XML_BYTES, ParticipantRole, SpanLabel, discover,
    read_source,
};
use std::io::Write;
use std::path::PathBuf;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/connectors/docs")
        .join(rel)
}

#[test]
fn a_docx_reads_as_paragraphs_tables_and_heading_spans() {
    let found = discover(&[fixture("kitchen-plan.docx")]).unwrap();
    assert_eq!(found.files[0].format, Format::Docx);
    let docs: Vec<_> = read_source(&found.files[0]).collect();
    let doc = docs[0].as_ref().unwrap();
    assert_eq!(doc.title, "Kitchen plan (revised)");
    assert_eq!(doc.participants[0].name.as_deref(), Some("Elena Marsh"));
    assert_eq!(doc.participants[0].role, ParticipantRole::Author);
    // Runs split mid-word join; entities and character references decode.
    assert!(
        doc.text
            .contains("Walnut, oiled; 38 mm thick. Fitting by Weiß & Sons."),
        "{}",
        doc.text
    );
    assert!(
        doc.text.contains("Supplier:\tOakline\nLead time: 6 weeks"),
        "{}",
        doc.text
    );
    // A table: cells by tab, rows by line.
    assert!(
        doc.text
            .contains("Cabinets\t9.200 €\nWorktop\t3.150 €\nFitting\t2.500 €"),
        "{}",
        doc.text
    );
    assert!(
        doc.text.ends_with("Deposit of 30% on signing."),
        "{}",
        doc.text
    );
    // Heading sections are spans: the budget table sits under Budget.
    let at = doc.text.find("Fitting\t").unwrap();
    assert_eq!(
        doc.label_at(at),
        Some(&SpanLabel::Heading(
            "Kitchen plan > Worktop > Budget".into()
        ))
    );
    let at = doc.text.find("Walnut").unwrap();
    assert_eq!(
        doc.label_at(at),
        Some(&SpanLabel::Heading("Kitchen plan > Worktop".into()))
    );
}

#[test]
fn broken_docx_files_are_named_failures() {
    for (name, reason) in [
        ("broken/not-a-zip.docx", "not a zip archive"),
        ("broken/no-body.docx", "no word/document.xml"),
    ] {
        let err = DocxReader.read(&fixture(name)).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, ConnectorError::Malformed { what: "DOCX", .. }),
            "{text}"
        );
        assert!(text.contains(name) && text.contains(reason), "{text}");
    }
}

#[test]
fn a_zip_bomb_is_refused_without_inflating_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bomb.docx");
    let file = std::fs::File::create(&path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    zip.start_file("word/document.xml", options).unwrap();
    let block = vec![b' '; 1 << 20];
    for _ in 0..(MAX_XML_BYTES >> 20) + 8 {
        zip.write_all(&block).unwrap();
    }
    zip.finish().unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 1 << 20);
    let err = DocxReader.read(&path).unwrap_err().to_string();
    assert!(err.contains("zip bomb"), "{err}");
}

#[test]
fn a_pdf_reads_page_by_page_with_page_spans() {
    let found = discover(&[fixture("heat-pump-survey.pdf")]).unwrap();
    assert_eq!(found.files[0].format, Format::Pdf);
    let doc = read_source(&found.files[0]).next().unwrap().unwrap();
    assert_eq!(doc.title, "Heat pump survey");
    assert_eq!(doc.media_type, "application/pdf");
    let saving = doc.text.find("640 dollars").expect("page 1 text");
    assert_eq!(doc.label_at(saving), Some(&SpanLabel::Page(1)));
    let wall = doc.text.find("north wall").expect("page 2 text");
    assert_eq!(doc.label_at(wall), Some(&SpanLabel::Page(2)));
    let pdf = hearth_connectors::pdf_text(std::fs::read(fixture("heat-pump-survey.pdf")).unwrap())
        .unwrap();
    assert_eq!(pdf.extractor, "pdf-extract");
    assert_eq!(pdf.pages.len(), 2);
}

#[test]
fn broken_pdfs_are_named_failures_never_panics_or_hangs() {
    for (name, reason) in [
        ("broken/truncated.pdf", "not a readable PDF"),
        ("broken/cyclic.pdf", "cyclic object graph"),
        ("broken/encrypted.pdf", "needs a password"),
        ("broken/blank-scan.pdf", "has any text, not even by OCR"),
    ] {
        let mut read = hearth_connectors::PdfReader.read(&fixture(name));
        assert_eq!(read.len(), 1, "{name}: {read:?}");
        let err = read.remove(0).unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, ConnectorError::Malformed { what: "PDF", .. }),
            "{text}"
        );
        assert!(
            text.contains(name) && text.contains(reason),
            "{name}: {text}"
        );
    }
}

use hearth_testkit::os;

/// A page that is only a scanned image is rendered (poppler's `pdftoppm`)
/// and read by Tesseract; the typed page keeps its text layer. `.ci/run`
/// installs both programs, so this runs for real.
#[test]
fn a_scanned_page_is_read_by_ocr() {
    os::ensure_program("tesseract", &["tesseract-ocr", "tesseract-ocr-eng"]);
    os::ensure_program_probed("pdftoppm", "-v", &["poppler-utils"]);
    let read = hearth_connectors::PdfReader.read(&fixture("scanned-receipt.pdf"));
    assert_eq!(read.len(), 1, "{read:?}");
    let doc = read[0].as_ref().unwrap();
    let cover = doc
        .text
        .find("Scanned receipts")
        .expect("the text layer of page 1");
    assert_eq!(doc.label_at(cover), Some(&SpanLabel::Page(1)));
    for words in ["FERREIRA", "brass hinges", "19.35"] {
        let at = doc
            .text
            .find(words)
            .unwrap_or_else(|| panic!("{words} in {:?}", doc.text));
        assert_eq!(doc.label_at(at), Some(&SpanLabel::Page(2)));
    }
}
