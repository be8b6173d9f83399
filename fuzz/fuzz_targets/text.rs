//! Plain text of unknown encoding: BOMs, UTF-8, UTF-16, legacy code pages.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = hearth_connectors::decode_text(data);
    if let Ok(utf8) = std::str::from_utf8(data) {
        if !utf8.starts_with('\u{feff}') {
            assert_eq!(text, utf8, "valid UTF-8 without a BOM is kept as it is");
        }
    }
});
