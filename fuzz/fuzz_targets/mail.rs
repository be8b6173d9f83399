//! One message file (`.eml`, a Maildir entry): MIME, encodings, attachments,
//! nested `message/rfc822`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = hearth_fuzz::input_file("message.eml", data);
    let _ = hearth_connectors::MailFileReader::default().read(&path);
});
