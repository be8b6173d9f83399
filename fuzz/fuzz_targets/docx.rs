//! A DOCX package: zip directory, inflation caps, WordprocessingML.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hearth_connectors::docx_text(data);
});
