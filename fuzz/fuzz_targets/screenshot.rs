//! A screenshot's capture time (EXIF in PNG/JPEG/WebP containers, then the
//! file name) and Tesseract's TSV output regrouped into lines. The input's
//! first line is the file name, the rest the image bytes, also read as TSV.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let (name, rest) = data.split_at(split);
    let name = String::from_utf8_lossy(name);
    let _ = hearth_connectors::screenshot_capture_time(rest, &name);
    let _ = hearth_connectors::tsv_text(&String::from_utf8_lossy(rest));
});
