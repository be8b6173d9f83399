//! Screenshots read by the real Tesseract program (Debian's `tesseract-ocr`,
//! installed on first use): the demo's rendered screenshots, capture time
//! from EXIF and from file names.

use hearth_connectors::{Document, Format, SourceKind, discover, read_source};
use std::path::{Path, PathBuf};

fn demo(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/demo/screenshots")
        .join(name)
}

use hearth_testkit::os;

fn read(path: &Path) -> Document {
    os::ensure_program("tesseract", &["tesseract-ocr", "tesseract-ocr-eng"]);
    let found = discover(&[path.to_path_buf()]).unwrap();
    assert_eq!(found.files[0].format, Format::Screenshot);
    let items: Vec<_> = read_source(&found.files[0]).collect();
    assert_eq!(items.len(), 1, "{items:?}");
    items.into_iter().next().unwrap().unwrap()
}

#[test]
fn the_demo_screenshots_are_read_by_ocr() {
    let wifi = read(&demo("settings-wifi.png"));
    assert_eq!(wifi.kind, SourceKind::Screenshot);
    assert_eq!(wifi.media_type, "image/png");
    assert!(wifi.text.contains("Juniper-Home-5G"), "{}", wifi.text);
    assert!(wifi.text.contains("192.168.1.47"), "{}", wifi.text);
    let pass = read(&demo("boarding-pass-nw96.png"));
    assert!(pass.text.contains("NORTHWIND AIRWAYS"), "{}", pass.text);
    assert!(pass.text.contains("LISBON (LIS)"), "{}", pass.text);
    let receipt = read(&demo("receipt-tasca-do-ferreiro.png"));
    assert!(
        receipt.text.contains("TASCA DO FERREIRO"),
        "{}",
        receipt.text
    );
    // No EXIF and no time in the name: the file's mtime.
    let mtime = std::fs::metadata(demo("settings-wifi.png"))
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(wifi.timestamp, Some(mtime as i64));
}

/// Standard CRC-32 (PNG chunks).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A big-endian TIFF block whose Exif IFD holds `DateTimeOriginal`.
fn exif_tiff(when: &str) -> Vec<u8> {
    let mut t = b"MM\0\x2a\0\0\0\x08".to_vec();
    // IFD0 at 8: one entry, ExifIFDPointer (0x8769, LONG) -> 26.
    t.extend_from_slice(&[0, 1, 0x87, 0x69, 0, 4, 0, 0, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0]);
    // Exif IFD at 26: one entry, DateTimeOriginal (0x9003, ASCII, 20) -> 44.
    t.extend_from_slice(&[0, 1, 0x90, 0x03, 0, 2, 0, 0, 0, 20, 0, 0, 0, 44, 0, 0, 0, 0]);
    t.extend_from_slice(when.as_bytes());
    t.push(0);
    t
}

#[test]
fn capture_time_comes_from_exif_then_the_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let png = std::fs::read(demo("settings-wifi.png")).unwrap();
    // An eXIf chunk before IEND (the last 12 bytes).
    let data = exif_tiff("2026:03:04 10:22:31");
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    let mut typed = b"eXIf".to_vec();
    typed.extend_from_slice(&data);
    chunk.extend_from_slice(&typed);
    chunk.extend_from_slice(&crc32(&typed).to_be_bytes());
    let mut with_exif = png[..png.len() - 12].to_vec();
    with_exif.extend_from_slice(&chunk);
    with_exif.extend_from_slice(&png[png.len() - 12..]);
    let path = dir.path().join("wifi.png");
    std::fs::write(&path, with_exif).unwrap();
    let doc = read(&path);
    assert_eq!(doc.timestamp, Some(1_772_619_751), "EXIF DateTimeOriginal");
    assert!(doc.text.contains("Juniper-Home-5G"), "{}", doc.text);

    let named = dir.path().join("Screenshot_20260305-081500.png");
    std::fs::write(&named, &png).unwrap();
    assert_eq!(read(&named).timestamp, Some(1_772_698_500), "from the name");
}
