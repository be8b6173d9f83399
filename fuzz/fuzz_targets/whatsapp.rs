//! A WhatsApp chat export (`_chat.txt`): locale date formats, multi-line messages.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = hearth_fuzz::input_file("_chat.txt", data);
    let _ = hearth_connectors::WhatsAppReader.read(&path);
});
