//! Merging indexes across devices: random adds, edits, deletes and
//! compactions on two or three devices, merged in random orders, always
//! converge to the same index (documents, chunks, search results), and that
//! index is what last-writer-wins says — no document lost, none resurrected.

use hearth_store::{
    ChunkRecord, CompactionPolicy, DocumentRecord, EmbeddingSpec, Index, IndexWriter, StoreError,
    Version,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

const DIM: usize = 4;

fn spec() -> EmbeddingSpec {
    EmbeddingSpec {
        model_id: "test-model".into(),
        dimension: DIM,
    }
}

fn doc(id: u8, content: u8, chunks: u32) -> DocumentRecord {
    DocumentRecord {
        doc_id: format!("doc-{id}"),
        kind: "document".into(),
        uri: format!("file:///notes/{id}.md"),
        title: format!("note {id}"),
        participants: vec![],
        timestamp: Some(1_700_000_000 + i64::from(content)),
        content_hash: format!("hash-{id}-{content}"),
        thread: None,
        parent: None,
        origin_path: format!("/notes/{id}.md"),
        origin_item: None,
        chunk_count: chunks,
        text_bytes: 20,
    }
}

fn chunks(id: u8, content: u8, n: u32) -> Vec<ChunkRecord> {
    (0..n)
        .map(|ordinal| {
            let v = [
                1.0 + f32::from(id),
                1.0 + f32::from(content),
                1.0 + ordinal as f32,
                0.5 + f32::from(id ^ content) / 7.0,
            ];
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            ChunkRecord {
                chunk_id: format!("doc-{id}#{ordinal}"),
                doc_id: format!("doc-{id}"),
                ordinal,
                text: format!("note {id} version {content} part {ordinal}"),
                byte_start: u64::from(ordinal) * 10,
                byte_end: u64::from(ordinal) * 10 + 10,
                locator: None,
                embedding: v.iter().map(|x| x / norm).collect(),
            }
        })
        .collect()
}

#[derive(Debug, Clone)]
enum Op {
    Put { device: usize, doc: u8, content: u8 },
    Delete { device: usize, doc: u8 },
    Compact { device: usize },
    Merge { from: usize, into: usize },
}

fn ops(devices: usize) -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        4 => (0..devices, 0u8..6, 0u8..4).prop_map(|(device, doc, content)| Op::Put { device, doc, content }),
        2 => (0..devices, 0u8..6).prop_map(|(device, doc)| Op::Delete { device, doc }),
        1 => (0..devices).prop_map(|device| Op::Compact { device }),
        3 => (0..devices, 0..devices).prop_map(|(from, into)| Op::Merge { from, into }),
    ];
    prop::collection::vec(op, 1..30)
}

struct Device {
    _dir: tempfile::TempDir,
    index: IndexWriter,
}

impl Device {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::create_writer(dir.path(), &spec()).unwrap();
        Self { _dir: dir, index }
    }
}

/// `from` exports (marks itself shared) and `into` merges it.
fn merge(devices: &mut [Device], from: usize, into: usize) {
    if from == into {
        return;
    }
    devices[from].index.prepare_export().unwrap();
    let dir = devices[from].index.dir().to_path_buf();
    devices[into].index.merge_from(&dir).unwrap();
}

/// What a device holds: live documents with their content, and the search
/// results of a fixed query over everything (chunk id, content, score).
type View = (BTreeMap<String, String>, Vec<(String, String, i64)>);

fn view(index: &Index) -> View {
    let docs = index
        .documents()
        .map(|d| (d.doc_id.clone(), d.content_hash.clone()))
        .collect();
    let query: Vec<f32> = [0.5f32, 0.5, 0.5, 0.5].to_vec();
    let mut hits: Vec<(String, String, i64)> = index
        .search(&query, 100)
        .unwrap()
        .into_iter()
        .map(|h| {
            (
                h.chunk.chunk_id,
                h.chunk.text,
                (h.score * 1e5).round() as i64,
            )
        })
        .collect();
    hits.sort();
    (docs, hits)
}

fn run(devices: usize, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut fleet: Vec<Device> = (0..devices).map(|_| Device::new()).collect();
    // Every write that took effect: its version, and the content it left
    // (None for a delete).
    let mut writes: BTreeMap<u8, Vec<(Version, Option<u8>)>> = BTreeMap::new();
    for op in ops {
        match *op {
            Op::Put {
                device,
                doc: id,
                content,
            } => {
                let n = 1 + u32::from(content % 2);
                let index = &mut fleet[device].index;
                index
                    .commit(vec![doc(id, content, n)], chunks(id, content, n), &[])
                    .unwrap();
                let version = index.version_of(&format!("doc-{id}")).unwrap().clone();
                writes.entry(id).or_default().push((version, Some(content)));
            }
            Op::Delete { device, doc: id } => {
                let index = &mut fleet[device].index;
                let done = index
                    .commit(vec![], vec![], &[format!("doc-{id}")])
                    .unwrap();
                if done.deleted == 1 {
                    let t = index.manifest().tombstones.last().unwrap().version();
                    writes.entry(id).or_default().push((t, None));
                }
            }
            Op::Compact { device } => {
                fleet[device]
                    .index
                    .compact(&CompactionPolicy::default())
                    .unwrap();
            }
            Op::Merge { from, into } => merge(&mut fleet, from, into),
        }
    }
    // Everyone hears from everyone (twice round, so relayed writes arrive too).
    for _ in 0..2 {
        for into in 0..devices {
            for from in 0..devices {
                merge(&mut fleet, from, into);
            }
        }
    }
    let expected: BTreeMap<String, String> = writes
        .iter()
        .filter_map(|(id, ws)| {
            let (_, last) = ws.iter().max_by(|a, b| a.0.cmp(&b.0))?;
            last.map(|content| (format!("doc-{id}"), format!("hash-{id}-{content}")))
        })
        .collect();
    let first = view(&fleet[0].index);
    prop_assert_eq!(
        &first.0,
        &expected,
        "last writer wins, nothing lost or resurrected"
    );
    for device in &fleet[1..] {
        let other = view(&device.index);
        prop_assert_eq!(&other, &first, "devices converge");
    }
    // Reopening from disk gives the same index.
    let reopened = Index::open(fleet[0].index.dir()).unwrap();
    prop_assert_eq!(view(&reopened), first);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn two_devices_converge(ops in ops(2)) {
        run(2, &ops)?;
    }

    #[test]
    fn three_devices_converge(ops in ops(3)) {
        run(3, &ops)?;
    }
}

#[test]
fn an_edit_after_a_delete_elsewhere_wins_and_an_older_one_does_not() {
    let mut fleet = [Device::new(), Device::new()];
    fleet[0]
        .index
        .commit(vec![doc(1, 0, 1)], chunks(1, 0, 1), &[])
        .unwrap();
    merge(&mut fleet, 0, 1);
    // Device 1 edits, then device 0 (not yet having the edit) deletes: the
    // delete is later, so it wins everywhere.
    fleet[1]
        .index
        .commit(vec![doc(1, 1, 1)], chunks(1, 1, 1), &[])
        .unwrap();
    fleet[0]
        .index
        .commit(vec![], vec![], &["doc-1".into()])
        .unwrap();
    merge(&mut fleet, 0, 1);
    merge(&mut fleet, 1, 0);
    assert!(fleet[0].index.document("doc-1").is_none());
    assert!(fleet[1].index.document("doc-1").is_none());
    // A later edit brings it back, on both.
    fleet[1]
        .index
        .commit(vec![doc(1, 2, 1)], chunks(1, 2, 1), &[])
        .unwrap();
    merge(&mut fleet, 1, 0);
    assert_eq!(
        fleet[0].index.document("doc-1").unwrap().content_hash,
        "hash-1-2"
    );
    // Merging again changes nothing.
    let dir = fleet[1].index.dir().to_path_buf();
    let again = fleet[0].index.merge_from(&dir).unwrap();
    assert_eq!((again.segments_added, again.tombstones_added), (0, 0));
}

/// Found by `three_devices_converge`: a device deletes a document another
/// device indexed too (the same file on both), and compacts before its first
/// merge. The delete must still win when the two meet.
#[test]
fn a_delete_compacted_before_the_first_merge_still_wins() {
    let mut fleet = [Device::new(), Device::new()];
    for device in &mut fleet {
        device
            .index
            .commit(vec![doc(5, 0, 1)], chunks(5, 0, 1), &[])
            .unwrap();
    }
    fleet[1]
        .index
        .commit(vec![], vec![], &["doc-5".into()])
        .unwrap();
    let summary = fleet[1]
        .index
        .compact(&CompactionPolicy::default())
        .unwrap();
    assert_eq!(summary.tombstones_dropped, 0, "never shared, still kept");
    merge(&mut fleet, 0, 1);
    assert!(fleet[1].index.document("doc-5").is_none());
    merge(&mut fleet, 1, 0);
    assert!(fleet[0].index.document("doc-5").is_none());
}

#[test]
fn a_delete_survives_compaction_until_every_device_has_it() {
    let mut fleet = [Device::new(), Device::new()];
    fleet[0]
        .index
        .commit(vec![doc(1, 0, 1)], chunks(1, 0, 1), &[])
        .unwrap();
    merge(&mut fleet, 0, 1);
    fleet[0]
        .index
        .commit(vec![], vec![], &["doc-1".into()])
        .unwrap();
    let summary = fleet[0]
        .index
        .compact(&CompactionPolicy::default())
        .unwrap();
    assert_eq!(summary.tombstones_dropped, 0, "shared: the delete is kept");
    // Device 1 still has the old copy; merging it back must not resurrect it.
    merge(&mut fleet, 1, 0);
    assert!(fleet[0].index.document("doc-1").is_none());
    merge(&mut fleet, 0, 1);
    assert!(fleet[1].index.document("doc-1").is_none());
}

#[test]
fn a_broken_merge_leaves_the_index_as_it_was() {
    let mut fleet = [Device::new(), Device::new()];
    fleet[0]
        .index
        .commit(vec![doc(1, 0, 1)], chunks(1, 0, 1), &[])
        .unwrap();
    fleet[1]
        .index
        .commit(vec![doc(2, 0, 1)], chunks(2, 0, 1), &[])
        .unwrap();
    fleet[0].index.prepare_export().unwrap();
    let seq = fleet[0].index.manifest().segments[0].seq;
    let missing = fleet[0]
        .index
        .dir()
        .join(&fleet[0].index.segment_files(seq)[1]);
    std::fs::remove_file(&missing).unwrap();
    let before = std::fs::read(fleet[1].index.dir().join("manifest.json")).unwrap();
    let files_before = std::fs::read_dir(fleet[1].index.dir().join("segments"))
        .unwrap()
        .count();
    let dir = fleet[0].index.dir().to_path_buf();
    let err = fleet[1].index.merge_from(&dir).unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err}");
    assert_eq!(
        std::fs::read(fleet[1].index.dir().join("manifest.json")).unwrap(),
        before
    );
    assert_eq!(
        std::fs::read_dir(fleet[1].index.dir().join("segments"))
            .unwrap()
            .count(),
        files_before
    );
    assert_eq!(fleet[1].index.documents().count(), 1);
    // Another embedding model is refused.
    let other = tempfile::tempdir().unwrap();
    let spec8 = EmbeddingSpec {
        model_id: "other".into(),
        dimension: 8,
    };
    Index::create_writer(other.path(), &spec8).unwrap();
    let err = fleet[1].index.merge_from(other.path()).unwrap_err();
    assert!(matches!(err, StoreError::ModelMismatch { .. }), "{err}");
}
