//! `stats::analyse` on a real index: per-month counts follow the store's
//! liveness rules (newest version wins, tombstones hide), chunk lengths are of
//! live chunks only, sizes add up.

use hearth_eval::stats::analyse;
use hearth_store::{ChunkRecord, DocumentRecord, EmbeddingSpec, Index};

fn doc(id: &str, kind: &str, ts: Option<i64>, chunks: u32) -> DocumentRecord {
    DocumentRecord {
        doc_id: id.into(),
        kind: kind.into(),
        uri: format!("file:///{id}"),
        title: id.into(),
        participants: Vec::new(),
        timestamp: ts,
        content_hash: format!("{id}-{chunks}"),
        thread: None,
        parent: None,
        origin_path: format!("/{id}"),
        origin_item: None,
        chunk_count: chunks,
        text_bytes: 0,
    }
}

fn chunk(doc_id: &str, ordinal: u32, text: &str) -> ChunkRecord {
    ChunkRecord {
        chunk_id: format!("{doc_id}-{ordinal}"),
        doc_id: doc_id.into(),
        ordinal,
        text: text.into(),
        byte_start: 0,
        byte_end: text.len() as u64,
        locator: None,
        embedding: vec![0.5; 4],
    }
}

const JAN: i64 = 1_767_225_600; // 2026-01-01
const FEB: i64 = 1_769_904_000; // 2026-02-01

#[test]
fn analytics_follow_liveness() {
    let dir = tempfile::tempdir().unwrap();
    let spec = EmbeddingSpec {
        model_id: "test".into(),
        dimension: 4,
    };
    let mut index = Index::create_writer(dir.path(), &spec).unwrap();
    index
        .commit(
            vec![
                doc("m1", "mail", Some(JAN + 5), 1),
                doc("m2", "mail", Some(JAN + 9), 1),
                doc("n1", "document", None, 2),
                doc("gone", "mail", Some(FEB), 1),
            ],
            vec![
                chunk("m1", 0, &"a".repeat(100)),
                chunk("m2", 0, &"b".repeat(250)),
                chunk("n1", 0, "short"),
                chunk("n1", 1, "ünïcode"),
                chunk("gone", 0, &"x".repeat(900)),
            ],
            &[],
        )
        .unwrap();
    // m2 moves to February with a new text; "gone" is deleted.
    index
        .commit(
            vec![doc("m2", "mail", Some(FEB + 60), 1)],
            vec![chunk("m2", 0, &"c".repeat(420))],
            &["gone".to_owned()],
        )
        .unwrap();
    let a = analyse(dir.path()).unwrap();
    let rows: Vec<(&str, &str, u64)> = a
        .by_source_month
        .iter()
        .map(|r| (r.kind.as_str(), r.month.as_str(), r.documents))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("document", "undated", 1),
            ("mail", "2026-01", 1),
            ("mail", "2026-02", 1)
        ]
    );
    let l = &a.chunk_lengths;
    assert_eq!(l.chunks, 4, "live chunks: m1, m2 (new), n1 ×2");
    assert_eq!(l.max, 420);
    assert!(
        (l.mean - (100.0 + 420.0 + 5.0 + 7.0) / 4.0).abs() < 1e-9,
        "{}",
        l.mean
    );
    assert_eq!(l.histogram, vec![(0, 3), (400, 1)]);
    let total: u64 = a.size_on_disk.iter().map(|c| c.bytes).sum();
    assert!(total > 0);
    let vectors = a
        .size_on_disk
        .iter()
        .find(|c| c.name.starts_with("chunk vectors"))
        .unwrap();
    assert!(
        vectors.bytes >= 6 * 16,
        "six stored 4-d f32 vectors: {}",
        vectors.bytes
    );
    assert!(a.codes_in_memory_bytes > 0);
}

#[test]
fn an_empty_or_missing_index() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        analyse(dir.path())
            .unwrap_err()
            .to_string()
            .contains("no index")
    );
    let spec = EmbeddingSpec {
        model_id: "test".into(),
        dimension: 4,
    };
    Index::create_writer(dir.path(), &spec).unwrap();
    let a = analyse(dir.path()).unwrap();
    assert!(a.by_source_month.is_empty());
    assert_eq!(a.chunk_lengths.chunks, 0);
}

/// On a merged index the order segments arrived in says nothing about which
/// version is newer: an older edit and an older re-write that arrive after a
/// newer edit and a newer delete stay hidden, as the store says.
#[test]
fn merged_indexes_follow_versions_not_arrival_order() {
    let spec = EmbeddingSpec {
        model_id: "test".into(),
        dimension: 4,
    };
    let (phone_dir, laptop_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut phone = Index::create_writer(phone_dir.path(), &spec).unwrap();
    let mut laptop = Index::create_writer(laptop_dir.path(), &spec).unwrap();
    let tick = || std::thread::sleep(std::time::Duration::from_millis(5));
    laptop
        .commit(
            vec![doc("deleted", "mail", Some(JAN), 1)],
            vec![chunk("deleted", 0, &"d".repeat(10))],
            &[],
        )
        .unwrap();
    laptop.prepare_export().unwrap();
    phone.merge_from(laptop_dir.path()).unwrap();
    tick();
    // The laptop edits both (older versions)…
    laptop
        .commit(
            vec![
                doc("edited", "mail", Some(JAN), 1),
                doc("deleted", "mail", Some(JAN + 1), 1),
            ],
            vec![
                chunk("edited", 0, &"o".repeat(10)),
                chunk("deleted", 0, &"e".repeat(12)),
            ],
            &[],
        )
        .unwrap();
    tick();
    // …then the phone, not having seen that, writes one and deletes the other.
    phone
        .commit(
            vec![doc("edited", "mail", Some(FEB), 1)],
            vec![chunk("edited", 0, &"n".repeat(30))],
            &["deleted".to_owned()],
        )
        .unwrap();
    // The laptop's older versions reach the phone last, with the highest
    // sequence numbers there.
    laptop.prepare_export().unwrap();
    phone.merge_from(laptop_dir.path()).unwrap();
    phone.prepare_export().unwrap();
    laptop.merge_from(phone_dir.path()).unwrap();
    for (index, dir) in [(&phone, phone_dir.path()), (&laptop, laptop_dir.path())] {
        assert_eq!(index.documents().count(), 1, "the store's view");
        let a = analyse(dir).unwrap();
        let rows: Vec<(&str, &str, u64)> = a
            .by_source_month
            .iter()
            .map(|r| (r.kind.as_str(), r.month.as_str(), r.documents))
            .collect();
        assert_eq!(rows, vec![("mail", "2026-02", 1)], "{}", dir.display());
        assert_eq!(a.chunk_lengths.chunks, 1);
        assert_eq!(a.chunk_lengths.max, 30);
    }
}
