//! [`Index`]: a directory of segments plus its manifest, opened as one consistent
//! snapshot. New documents (or new versions of old ones) go in through
//! [`Index::commit`]; search scans every live chunk's vector exactly.

use crate::error::{StoreError, io_err};
use crate::manifest::{EmbeddingSpec, Manifest, SegmentMeta, Tombstone, sync_dir};
use crate::record::{ChunkRecord, DocumentRecord};
use crate::segment;
use serde::Serialize;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const SEGMENTS_DIR: &str = "segments";

struct LiveDoc {
    seq: u64,
    record: DocumentRecord,
}

/// Every live chunk vector in memory, row-major, with where each row came from.
struct VectorTable {
    data: Vec<f32>,
    /// `(segment seq, row in that segment's chunks table)` per vector.
    rows: Vec<(u64, usize)>,
}

/// Counts for one source kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KindStats {
    pub documents: u64,
    pub chunks: u64,
}

/// What [`Index::stats`] reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexStats {
    pub documents: u64,
    pub chunks: u64,
    pub segments: u64,
    pub by_kind: BTreeMap<String, KindStats>,
    pub model_id: String,
    pub dimension: usize,
    pub manifest_version: u64,
    pub disk_bytes: u64,
}

/// One search result: the chunk, its document, its score and rank (from 1).
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    pub rank: usize,
    pub score: f32,
    pub chunk: ChunkRecord,
    pub document: DocumentRecord,
}

/// What a [`Index::commit`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitSummary {
    pub segment: Option<u64>,
    pub documents: u64,
    pub chunks: u64,
    pub deleted: u64,
}

/// An index directory opened at one manifest version.
///
/// ```no_run
/// use hearth_store::{EmbeddingSpec, Index};
/// let spec = EmbeddingSpec { model_id: "sentence-transformers/all-MiniLM-L6-v2".into(), dimension: 384 };
/// let index = Index::open_or_create("/tmp/hearth-index".as_ref(), &spec)?;
/// let hits = index.search(&vec![0.0; 384], 5)?;
/// # Ok::<(), hearth_store::StoreError>(())
/// ```
pub struct Index {
    dir: PathBuf,
    manifest: Manifest,
    docs: HashMap<String, LiveDoc>,
    vectors: OnceLock<VectorTable>,
}

impl Index {
    /// Opens an existing index.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let manifest =
            Manifest::load(dir)?.ok_or_else(|| StoreError::NoIndex(dir.to_path_buf()))?;
        Self::from_manifest(dir, manifest)
    }

    /// Opens the index at `dir` if it was built with `spec`'s model, or creates an
    /// empty one; an index built with another model is an error.
    pub fn open_or_create(dir: &Path, spec: &EmbeddingSpec) -> Result<Self, StoreError> {
        match Manifest::load(dir)? {
            Some(manifest) => {
                let index = Self::from_manifest(dir, manifest)?;
                index.check_model(spec)?;
                Ok(index)
            }
            None => {
                std::fs::create_dir_all(dir.join(SEGMENTS_DIR)).map_err(io_err(dir))?;
                let manifest = Manifest::new(spec.clone());
                manifest.commit(dir)?;
                Self::from_manifest(dir, manifest)
            }
        }
    }

    fn from_manifest(dir: &Path, manifest: Manifest) -> Result<Self, StoreError> {
        let seg_dir = dir.join(SEGMENTS_DIR);
        let mut docs: HashMap<String, LiveDoc> = HashMap::new();
        for seg in &manifest.segments {
            let (doc_path, _) = segment::paths(&seg_dir, seg.seq);
            for record in segment::read_documents(&doc_path)? {
                docs.insert(
                    record.doc_id.clone(),
                    LiveDoc {
                        seq: seg.seq,
                        record,
                    },
                );
            }
        }
        for t in &manifest.tombstones {
            if docs.get(&t.doc_id).is_some_and(|d| d.seq <= t.seq) {
                docs.remove(&t.doc_id);
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
            docs,
            vectors: OnceLock::new(),
        })
    }

    /// Errors with "re-embed required" unless the index was built by `spec`'s model.
    pub fn check_model(&self, spec: &EmbeddingSpec) -> Result<(), StoreError> {
        let have = &self.manifest.embedding;
        if have != spec {
            return Err(StoreError::ModelMismatch {
                index_model: have.model_id.clone(),
                index_dim: have.dimension,
                requested_model: spec.model_id.clone(),
                requested_dim: spec.dimension,
            });
        }
        Ok(())
    }

    /// The directory of the index.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest this snapshot was opened at.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The live version of a document.
    pub fn document(&self, doc_id: &str) -> Option<&DocumentRecord> {
        self.docs.get(doc_id).map(|d| &d.record)
    }

    /// All live documents, in no particular order.
    pub fn documents(&self) -> impl Iterator<Item = &DocumentRecord> {
        self.docs.values().map(|d| &d.record)
    }

    /// The live chunks of `doc_ids`, with their vectors, in document order — to
    /// re-commit a document under a new URI without embedding it again.
    pub fn chunks_with_vectors(&self, doc_ids: &[String]) -> Result<Vec<ChunkRecord>, StoreError> {
        let mut by_segment: BTreeMap<u64, HashSet<&str>> = BTreeMap::new();
        for id in doc_ids {
            if let Some(d) = self.docs.get(id) {
                by_segment.entry(d.seq).or_default().insert(id.as_str());
            }
        }
        let seg_dir = self.dir.join(SEGMENTS_DIR);
        let dim = self.manifest.embedding.dimension;
        let mut out = Vec::new();
        for (seq, ids) in by_segment {
            let (_, chunk_path) = segment::paths(&seg_dir, seq);
            out.extend(segment::read_doc_chunks(&chunk_path, &ids, dim)?);
        }
        out.sort_by(|a, b| a.doc_id.cmp(&b.doc_id).then(a.ordinal.cmp(&b.ordinal)));
        Ok(out)
    }

    /// Adds a segment with `docs` and their `chunks` (superseding older versions of
    /// the same documents) and tombstones `deleted`, in one atomic manifest commit.
    pub fn commit(
        &mut self,
        docs: Vec<DocumentRecord>,
        chunks: Vec<ChunkRecord>,
        deleted: &[String],
    ) -> Result<CommitSummary, StoreError> {
        let ids: HashSet<&str> = docs.iter().map(|d| d.doc_id.as_str()).collect();
        if ids.len() != docs.len() {
            return Err(StoreError::InvalidRecord(
                "a document appears twice in one commit".into(),
            ));
        }
        if let Some(c) = chunks.iter().find(|c| !ids.contains(c.doc_id.as_str())) {
            return Err(StoreError::InvalidRecord(format!(
                "chunk {} has no document",
                c.chunk_id
            )));
        }
        let mut next = self.manifest.clone();
        let mut summary = CommitSummary::default();
        if !docs.is_empty() {
            let seq = next.next_seq;
            next.next_seq += 1;
            let seg_dir = self.dir.join(SEGMENTS_DIR);
            segment::write_segment(&seg_dir, seq, &docs, &chunks, next.embedding.dimension)?;
            sync_dir(&seg_dir)?;
            next.segments.push(SegmentMeta {
                seq,
                documents: docs.len() as u64,
                chunks: chunks.len() as u64,
                created_at: now_secs(),
            });
            summary = CommitSummary {
                segment: Some(seq),
                documents: docs.len() as u64,
                chunks: chunks.len() as u64,
                deleted: 0,
            };
        }
        let live_deleted: Vec<&String> = deleted
            .iter()
            .filter(|id| self.docs.contains_key(*id))
            .collect();
        if !live_deleted.is_empty() {
            let seq = next.next_seq;
            next.next_seq += 1;
            for id in &live_deleted {
                next.tombstones.push(Tombstone {
                    doc_id: (*id).clone(),
                    seq,
                });
            }
            summary.deleted = live_deleted.len() as u64;
        }
        if summary == CommitSummary::default() {
            return Ok(summary);
        }
        next.version += 1;
        next.commit(&self.dir)?;
        // The commit is durable: move this handle to the new snapshot.
        for id in live_deleted {
            self.docs.remove(id);
        }
        if let Some(seq) = summary.segment {
            for record in docs {
                self.docs
                    .insert(record.doc_id.clone(), LiveDoc { seq, record });
            }
        }
        self.manifest = next;
        self.vectors = OnceLock::new();
        Ok(summary)
    }

    /// Document and chunk counts, overall and per source kind.
    pub fn stats(&self) -> IndexStats {
        let mut by_kind: BTreeMap<String, KindStats> = BTreeMap::new();
        for d in self.docs.values() {
            let k = by_kind.entry(d.record.kind.clone()).or_default();
            k.documents += 1;
            k.chunks += u64::from(d.record.chunk_count);
        }
        let disk_bytes = dir_size(&self.dir);
        IndexStats {
            documents: by_kind.values().map(|k| k.documents).sum(),
            chunks: by_kind.values().map(|k| k.chunks).sum(),
            segments: self.manifest.segments.len() as u64,
            by_kind,
            model_id: self.manifest.embedding.model_id.clone(),
            dimension: self.manifest.embedding.dimension,
            manifest_version: self.manifest.version,
            disk_bytes,
        }
    }

    fn vectors(&self) -> Result<&VectorTable, StoreError> {
        if let Some(v) = self.vectors.get() {
            return Ok(v);
        }
        let dim = self.manifest.embedding.dimension;
        let seg_dir = self.dir.join(SEGMENTS_DIR);
        let mut table = VectorTable {
            data: Vec::new(),
            rows: Vec::new(),
        };
        for seg in &self.manifest.segments {
            let (_, chunk_path) = segment::paths(&seg_dir, seg.seq);
            let (doc_ids, data) = segment::read_vectors(&chunk_path, dim)?;
            for (row, doc_id) in doc_ids.iter().enumerate() {
                if self.docs.get(doc_id).is_some_and(|d| d.seq == seg.seq) {
                    table
                        .data
                        .extend_from_slice(&data[row * dim..(row + 1) * dim]);
                    table.rows.push((seg.seq, row));
                }
            }
        }
        Ok(self.vectors.get_or_init(|| table))
    }

    /// The `k` live chunks whose vectors have the highest inner product with
    /// `query` (cosine, for unit vectors), best first. Exact: every vector is scored.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<SearchHit>, StoreError> {
        let dim = self.manifest.embedding.dimension;
        if query.len() != dim {
            return Err(StoreError::InvalidRecord(format!(
                "query is {}-d, index is {dim}-d",
                query.len()
            )));
        }
        let table = self.vectors()?;
        let mut heap: BinaryHeap<Reverse<(OrdF32, usize)>> = BinaryHeap::with_capacity(k + 1);
        for (i, v) in table.data.chunks_exact(dim).enumerate() {
            let score: f32 = v.iter().zip(query).map(|(a, b)| a * b).sum();
            if heap.len() < k {
                heap.push(Reverse((OrdF32(score), i)));
            } else if heap.peek().is_some_and(|Reverse((min, _))| score > min.0) {
                heap.pop();
                heap.push(Reverse((OrdF32(score), i)));
            }
        }
        let mut top: Vec<(f32, usize)> = heap.into_iter().map(|Reverse((s, i))| (s.0, i)).collect();
        top.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        self.materialise(&top, table)
    }

    /// Reads the chunk rows behind scored vectors, one Parquet read per segment.
    fn materialise(
        &self,
        top: &[(f32, usize)],
        table: &VectorTable,
    ) -> Result<Vec<SearchHit>, StoreError> {
        let mut by_segment: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for &(_, i) in top {
            let (seq, row) = table.rows[i];
            by_segment.entry(seq).or_default().push(row);
        }
        let seg_dir = self.dir.join(SEGMENTS_DIR);
        let mut chunks: HashMap<(u64, usize), ChunkRecord> = HashMap::new();
        for (seq, mut rows) in by_segment {
            rows.sort_unstable();
            rows.dedup();
            let (_, chunk_path) = segment::paths(&seg_dir, seq);
            for (row, chunk) in rows.iter().zip(segment::read_chunks(&chunk_path, &rows)?) {
                chunks.insert((seq, *row), chunk);
            }
        }
        let mut hits = Vec::with_capacity(top.len());
        for (rank, &(score, i)) in top.iter().enumerate() {
            let chunk = chunks
                .remove(&table.rows[i])
                .ok_or_else(|| StoreError::InvalidRecord("hit row not read back".into()))?;
            let document = self.document(&chunk.doc_id).cloned().ok_or_else(|| {
                StoreError::InvalidRecord(format!("chunk {} lost its document", chunk.chunk_id))
            })?;
            hits.push(SearchHit {
                rank: rank + 1,
                score,
                chunk,
                document,
            });
        }
        Ok(hits)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct OrdF32(f32);
impl Eq for OrdF32 {}
impl PartialOrd for OrdF32 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrdF32 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}
