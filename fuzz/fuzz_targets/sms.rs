//! An Android "SMS Backup & Restore" XML file.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = hearth_fuzz::input_file("sms-backup.xml", data);
    let _ = hearth_connectors::SmsBackupReader.read(&path);
});
