//! An iMessage `attributedBody` blob (an archived NSAttributedString).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = hearth_connectors::attributed_text(data);
});
