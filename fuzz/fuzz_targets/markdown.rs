//! A Markdown file: encoding detection, headings, heading-path spans.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = hearth_fuzz::input_file("note.md", data);
    if let Ok(doc) = hearth_connectors::MarkdownReader.read(&path) {
        for span in &doc.spans {
            assert!(span.start <= span.end && span.end <= doc.text.len());
            assert!(doc.text.is_char_boundary(span.start) && doc.text.is_char_boundary(span.end));
        }
    }
});
