//! Store behaviour through its public API: commit, reopen, supersede, delete,
//! exact search, and the model check.

use hearth_store::{ChunkRecord, DocumentRecord, EmbeddingSpec, Index, Manifest, StoreError};

const DIM: usize = 4;

fn spec() -> EmbeddingSpec {
    EmbeddingSpec {
        model_id: "test-model".into(),
        dimension: DIM,
    }
}

fn doc(id: &str, kind: &str, hash: &str, chunks: u32) -> DocumentRecord {
    DocumentRecord {
        doc_id: id.into(),
        kind: kind.into(),
        uri: format!("file:///{id}"),
        title: format!("title {id}"),
        participants: vec!["Alice <alice@example.com>".into()],
        timestamp: Some(1_700_000_000),
        content_hash: hash.into(),
        thread: None,
        parent: None,
        origin_path: format!("/{id}"),
        origin_item: Some("item".into()),
        chunk_count: chunks,
        text_bytes: 10,
    }
}

fn unit(v: [f32; DIM]) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / n).collect()
}

fn chunk(doc_id: &str, ordinal: u32, v: [f32; DIM]) -> ChunkRecord {
    ChunkRecord {
        chunk_id: format!("{doc_id}-{ordinal}"),
        doc_id: doc_id.into(),
        ordinal,
        text: format!("text of {doc_id} {ordinal}"),
        byte_start: u64::from(ordinal) * 5,
        byte_end: u64::from(ordinal) * 5 + 5,
        locator: (ordinal == 1).then(|| "page 2".to_owned()),
        embedding: unit(v),
    }
}

#[test]
fn commit_reopen_and_search_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = Index::create_writer(dir.path(), &spec()).unwrap();
    index
        .commit(
            vec![doc("a", "mail", "h1", 2), doc("b", "document", "h2", 1)],
            vec![
                chunk("a", 0, [1., 0., 0., 0.]),
                chunk("a", 1, [0.9, 0.1, 0., 0.]),
                chunk("b", 0, [0., 1., 0., 0.]),
            ],
            &[],
        )
        .unwrap();
    let index = Index::open(dir.path()).unwrap();
    let stats = index.stats();
    assert_eq!((stats.documents, stats.chunks, stats.segments), (2, 3, 1));
    assert_eq!(stats.by_kind["mail"].chunks, 2);
    let hits = index.search(&unit([1., 0.05, 0., 0.]), 2).unwrap();
    let ids: Vec<&str> = hits.iter().map(|h| h.chunk.chunk_id.as_str()).collect();
    assert_eq!(ids, ["a-0", "a-1"]);
    assert_eq!(hits[0].rank, 1);
    assert!(hits[0].score >= hits[1].score);
    assert_eq!(hits[1].chunk.locator.as_deref(), Some("page 2"));
    assert_eq!(hits[1].chunk.byte_start, 5);
    assert_eq!(hits[0].document.participants, ["Alice <alice@example.com>"]);
    assert_eq!(hits[0].document.origin_item.as_deref(), Some("item"));
    // k larger than the index returns everything, best first.
    let all = index.search(&unit([0., 1., 0., 0.]), 10).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].chunk.chunk_id, "b-0");
}

#[test]
fn newer_version_supersedes_and_tombstone_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = Index::create_writer(dir.path(), &spec()).unwrap();
    index
        .commit(
            vec![doc("a", "mail", "v1", 1), doc("b", "mail", "v1", 1)],
            vec![
                chunk("a", 0, [1., 0., 0., 0.]),
                chunk("b", 0, [0., 1., 0., 0.]),
            ],
            &[],
        )
        .unwrap();
    index
        .commit(
            vec![doc("a", "mail", "v2", 1)],
            vec![chunk("a", 0, [0., 0., 1., 0.])],
            &[],
        )
        .unwrap();
    assert_eq!(index.document("a").unwrap().content_hash, "v2");
    let hits = index.search(&unit([1., 0., 0., 0.]), 10).unwrap();
    assert_eq!(hits.len(), 2, "the old version's chunk is gone");
    let summary = index
        .commit(vec![], vec![], &["b".into(), "missing".into()])
        .unwrap();
    assert_eq!(summary.deleted, 1);
    let reopened = Index::open(dir.path()).unwrap();
    assert!(reopened.document("b").is_none());
    assert_eq!(reopened.stats().documents, 1);
    let hits = reopened.search(&unit([0., 0., 1., 0.]), 10).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].document.content_hash, "v2");
    assert_eq!(reopened.manifest().version, 3);
}

#[test]
fn empty_commit_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = Index::create_writer(dir.path(), &spec()).unwrap();
    let before = index.manifest().clone();
    index.commit(vec![], vec![], &[]).unwrap();
    assert_eq!(Manifest::load(dir.path()).unwrap().unwrap(), before);
}

#[test]
fn another_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    Index::create_writer(dir.path(), &spec()).unwrap();
    let other = EmbeddingSpec {
        model_id: "other".into(),
        dimension: 8,
    };
    let err = Index::create_writer(dir.path(), &other).err().unwrap();
    assert!(matches!(err, StoreError::ModelMismatch { .. }));
    assert!(err.to_string().contains("re-embed required"), "{err}");
}

#[test]
fn bad_records_are_rejected_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = Index::create_writer(dir.path(), &spec()).unwrap();
    let mut wrong = chunk("a", 0, [1., 0., 0., 0.]);
    wrong.embedding.push(0.0);
    assert!(
        index
            .commit(vec![doc("a", "mail", "h", 1)], vec![wrong], &[])
            .is_err()
    );
    let orphan = chunk("zzz", 0, [1., 0., 0., 0.]);
    assert!(
        index
            .commit(vec![doc("a", "mail", "h", 1)], vec![orphan], &[])
            .is_err()
    );
    assert_eq!(Index::open(dir.path()).unwrap().stats().documents, 0);
}

#[test]
fn unfinished_writes_are_invisible() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = Index::create_writer(dir.path(), &spec()).unwrap();
    index
        .commit(
            vec![doc("a", "mail", "h", 1)],
            vec![chunk("a", 0, [1., 0., 0., 0.])],
            &[],
        )
        .unwrap();
    // A crash after writing a segment but before the manifest names it, and a
    // half-written manifest: neither may be seen.
    std::fs::write(
        dir.path().join("segments/00000009.chunks.parquet"),
        b"garbage",
    )
    .unwrap();
    std::fs::write(dir.path().join("manifest.json.tmp"), b"{\"half").unwrap();
    let index = Index::open(dir.path()).unwrap();
    assert_eq!(index.stats().documents, 1);
    assert_eq!(index.search(&unit([1., 0., 0., 0.]), 5).unwrap().len(), 1);
}

#[test]
fn corrupt_manifest_and_missing_index_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let err = Index::open(dir.path()).err().unwrap();
    assert!(matches!(err, StoreError::NoIndex(_)));
    std::fs::write(dir.path().join("manifest.json"), b"{not json").unwrap();
    let err = Index::open(dir.path()).err().unwrap().to_string();
    assert!(err.contains("manifest.json"), "{err}");
}
