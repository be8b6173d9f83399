//! A PDF: page tree walk, pdf-extract (isolated) and the lopdf fallback.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(init: hearth_fuzz::allow_caught_panics(), |data: &[u8]| {
    let _ = hearth_connectors::pdf_text(data.to_vec());
});
