//! A file that claims to be an iMessage `chat.db` (SQLite).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = hearth_fuzz::input_file("chat.db", data);
    let _ = hearth_connectors::IMessageReader.read(&path);
});
