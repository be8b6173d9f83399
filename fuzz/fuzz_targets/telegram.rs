//! A Telegram Desktop export (`result.json`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = hearth_fuzz::input_file("result.json", data);
    let _ = hearth_connectors::TelegramReader.read(&path);
});
