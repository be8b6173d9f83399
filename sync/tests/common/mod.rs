//! A fleet of devices for the sync tests: each with its own data folder
//! (index, keyring, sync state), enrolled with one another, writing small
//! documents whose vectors and text depend on (id, content).

#![allow(dead_code)]

use hearth_store::{ChunkRecord, DocumentRecord, EmbeddingSpec, Index, IndexWriter};
use hearth_sync::{ExportReport, ImportReport, Keyring, SyncError, Target};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub const DIM: usize = 4;

pub fn spec() -> EmbeddingSpec {
    EmbeddingSpec {
        model_id: "sync-test-model".into(),
        dimension: DIM,
    }
}

/// One device: `<data>/index`, `<data>/sync`.
pub struct Device {
    pub data: tempfile::TempDir,
    pub index: IndexWriter,
    pub keys: Keyring,
}

impl Device {
    /// A fresh device with an empty index and its own key pair.
    pub fn new(name: &str) -> Self {
        let data = tempfile::tempdir().unwrap();
        let index = Index::create_writer(&data.path().join("index"), &spec()).unwrap();
        let keys = Keyring::init(&data.path().join("sync"), name, None).unwrap();
        Self { data, index, keys }
    }

    pub fn sync_dir(&self) -> PathBuf {
        self.data.path().join("sync")
    }

    /// Writes document `doc-{id}` with `content` (1 or 2 chunks).
    pub fn put(&mut self, id: u8, content: u8) {
        let n = 1 + u32::from(content % 2);
        let chunks = (0..n)
            .map(|ordinal| {
                let v = [
                    1.0 + f32::from(id),
                    1.0 + f32::from(content),
                    1.0 + ordinal as f32,
                    0.25 + f32::from(id ^ content) / 5.0,
                ];
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                ChunkRecord {
                    chunk_id: format!("doc-{id}#{ordinal}"),
                    doc_id: format!("doc-{id}"),
                    ordinal,
                    text: format!("memo {id} revision {content} paragraph {ordinal}"),
                    byte_start: u64::from(ordinal) * 16,
                    byte_end: u64::from(ordinal) * 16 + 16,
                    locator: None,
                    embedding: v.iter().map(|x| x / norm).collect(),
                }
            })
            .collect();
        let doc = DocumentRecord {
            doc_id: format!("doc-{id}"),
            kind: "document".into(),
            uri: format!("file:///memos/{id}.txt"),
            title: format!("memo {id}"),
            participants: vec![],
            timestamp: Some(1_760_000_000 + i64::from(content)),
            content_hash: format!("memo-{id}-{content}"),
            thread: None,
            parent: None,
            origin_path: format!("/memos/{id}.txt"),
            origin_item: None,
            chunk_count: n,
            text_bytes: 32,
        };
        self.index.commit(vec![doc], chunks, &[]).unwrap();
    }

    /// Deletes `doc-{id}`; whether it was there.
    pub fn delete(&mut self, id: u8) -> bool {
        let done = self
            .index
            .commit(vec![], vec![], &[format!("doc-{id}")])
            .unwrap();
        done.deleted == 1
    }

    pub fn export(&mut self, target: &Target) -> Result<ExportReport, SyncError> {
        let dir = self.sync_dir();
        hearth_sync::export(&mut self.index, &self.keys, target, &dir)
    }

    pub fn import(&mut self, target: &Target) -> Result<ImportReport, SyncError> {
        let dir = self.sync_dir();
        hearth_sync::import(&mut self.index, &self.keys, target, &dir)
    }

    /// Live documents (id → content hash) and the hits of a fixed query
    /// (chunk id, text, score to 5 places), sorted.
    pub fn view(&self) -> View {
        view(&self.index)
    }
}

/// Live documents and search hits.
pub type View = (BTreeMap<String, String>, Vec<(String, String, i64)>);

pub fn view(index: &Index) -> View {
    let docs = index
        .documents()
        .map(|d| (d.doc_id.clone(), d.content_hash.clone()))
        .collect();
    let mut hits: Vec<(String, String, i64)> = index
        .search(&[0.5, 0.5, 0.5, 0.5], 100)
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

/// `n` devices, each enrolling every other.
pub fn fleet(n: usize) -> Vec<Device> {
    let names = ["laptop", "phone", "desktop", "tablet"];
    let mut devices: Vec<Device> = (0..n).map(|i| Device::new(names[i % 4])).collect();
    let keys: Vec<(String, String)> = devices
        .iter()
        .map(|d| (d.keys.name(), d.keys.public_key()))
        .collect();
    for (i, d) in devices.iter_mut().enumerate() {
        for (j, (name, key)) in keys.iter().enumerate() {
            if i != j {
                d.keys.add_device(name, key).unwrap();
            }
        }
    }
    devices
}
