//! HTML laid out as text (html2text).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let html = hearth_connectors::decode_text(data);
    let _ = hearth_connectors::html_to_text(&html);
});
