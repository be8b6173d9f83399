//! An mbox file: split into messages, each parsed as MIME with its attachments.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = hearth_fuzz::input_file("inbox.mbox", data);
    if let Ok(reader) = hearth_connectors::MboxReader::open(&path) {
        for item in reader {
            let _ = item.map(|doc| doc.text.len());
        }
    }
});
