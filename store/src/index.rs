//! [`Index`]: a directory of segments plus its manifest, opened as one consistent
//! snapshot. New documents (or new versions of old ones) go in through
//! [`IndexWriter::commit`](crate::IndexWriter::commit); search (in `search.rs`) runs over the in-memory tables of
//! `resident.rs`, built on first use.

use crate::bm25::{SegmentPostings, Tokenizer};
use crate::clock::Version;
use crate::codec::CodecSpec;
use crate::error::{StoreError, io_err};
use crate::manifest::{EmbeddingSpec, Manifest, SegmentMeta, Tombstone, sync_dir};
use crate::record::{ChunkRecord, DocumentRecord};
use crate::resident::Resident;
use crate::segment;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub(crate) const SEGMENTS_DIR: &str = "segments";

pub(crate) struct LiveDoc {
    /// Sequence number of the segment holding the live version.
    pub seq: u64,
    /// The live version's stamp.
    pub version: Version,
    /// The live version's document row.
    pub record: DocumentRecord,
}

impl LiveDoc {
    /// What orders versions of one document: the version, then (for data
    /// from before versions existed) the local segment order.
    fn key(&self) -> (&Version, u64) {
        (&self.version, self.seq)
    }
}

/// Counts for one source kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KindStats {
    /// Live documents of this kind.
    pub documents: u64,
    /// Live chunks of this kind's documents.
    pub chunks: u64,
}

/// What [`Index::stats`] reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexStats {
    /// Live documents (latest versions, not deleted).
    pub documents: u64,
    /// Chunks of the live documents.
    pub chunks: u64,
    /// Segments the manifest names.
    pub segments: u64,
    /// Live counts per source kind (`note`, `mail`, ...).
    pub by_kind: BTreeMap<String, KindStats>,
    /// Id of the embedding model the index was built with.
    pub model_id: String,
    /// Embedding dimension of the stored vectors.
    pub dimension: usize,
    /// Vector codec name (`tq4`, `tq3-qjl`, `int8`, `f32`, ...).
    pub codec: String,
    /// Stored chunk rows no search returns; compaction drops them.
    pub dead_rows: u64,
    /// Version of the manifest this snapshot was opened at.
    pub manifest_version: u64,
    /// Total size of the index directory's files, in bytes.
    pub disk_bytes: u64,
}

/// One search result: the chunk, its document, its score and rank (from 1).
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    /// Position in the result list, from 1.
    pub rank: usize,
    /// The score the ranking used: inner product (vector), BM25, or the fused
    /// reciprocal-rank score (hybrid).
    pub score: f32,
    /// Exact inner product with the query, when the vector list ranked this chunk.
    pub vector_score: Option<f32>,
    /// BM25 score, when the keyword list ranked this chunk.
    pub keyword_score: Option<f32>,
    /// The matching chunk.
    pub chunk: ChunkRecord,
    /// The document the chunk belongs to.
    pub document: DocumentRecord,
}

/// What a [`IndexWriter::commit`](crate::IndexWriter::commit) changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitSummary {
    /// Sequence number of the segment written; `None` when no documents were added.
    pub segment: Option<u64>,
    /// Documents written (new or new versions).
    pub documents: u64,
    /// Chunks written.
    pub chunks: u64,
    /// Live documents tombstoned.
    pub deleted: u64,
}

/// An index directory opened at one manifest version.
///
/// ```no_run
/// use hearth_store::Index;
/// let index = Index::open("/tmp/hearth-index".as_ref())?;
/// let hits = index.search(&vec![0.0; 384], 5)?;
/// # Ok::<(), hearth_store::StoreError>(())
/// ```
pub struct Index {
    dir: PathBuf,
    pub(crate) manifest: Manifest,
    pub(crate) docs: HashMap<String, LiveDoc>,
    resident: OnceLock<Resident>,
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
    pub(crate) fn open_or_create(dir: &Path, spec: &EmbeddingSpec) -> Result<Self, StoreError> {
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

    pub(crate) fn from_manifest(dir: &Path, manifest: Manifest) -> Result<Self, StoreError> {
        let seg_dir = dir.join(SEGMENTS_DIR);
        let mut docs: HashMap<String, LiveDoc> = HashMap::new();
        for seg in &manifest.segments {
            let (doc_path, _) = segment::paths(&seg_dir, seg.seq);
            for (record, version) in segment::read_documents(&doc_path)? {
                let candidate = LiveDoc {
                    seq: seg.seq,
                    version,
                    record,
                };
                // Last writer wins, whichever segment it arrived in.
                match docs.get(&candidate.record.doc_id) {
                    Some(have) if have.key() >= candidate.key() => {}
                    _ => {
                        docs.insert(candidate.record.doc_id.clone(), candidate);
                    }
                }
            }
        }
        for t in &manifest.tombstones {
            let deleted = t.version();
            if docs
                .get(&t.doc_id)
                .is_some_and(|d| d.key() <= (&deleted, t.seq))
            {
                docs.remove(&t.doc_id);
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
            docs,
            resident: OnceLock::new(),
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

    /// Records `codec` as the index's vector codec (a manifest commit when it
    /// changes). Codes are derived from the stored f32 vectors, so nothing is
    /// re-embedded: the next search re-encodes. Returns whether it changed.
    pub(crate) fn set_codec(&mut self, codec: &CodecSpec) -> Result<bool, StoreError> {
        crate::codec::VectorCodec::new(codec, self.manifest.embedding.dimension)?;
        if &self.manifest.codec == codec {
            return Ok(false);
        }
        let mut next = self.manifest.clone();
        next.codec = codec.clone();
        next.version += 1;
        next.commit(&self.dir)?;
        self.manifest = next;
        self.resident = OnceLock::new();
        Ok(true)
    }

    /// Each live document's id with the sequence number of the segment that
    /// holds its live version: the store's liveness (last writer wins by
    /// version, tombstones) for programs that read the segments' Parquet
    /// files themselves, as `hearth stats` does with polars.
    pub fn live_documents(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.docs
            .values()
            .map(|d| (d.record.doc_id.as_str(), d.seq))
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

    /// Who wrote the live version of a document, and when.
    pub fn version_of(&self, doc_id: &str) -> Option<&Version> {
        self.docs.get(doc_id).map(|d| &d.version)
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
        let dim = self.manifest.embedding.dimension;
        let mut out = Vec::new();
        for (seq, ids) in by_segment {
            out.extend(segment::read_doc_chunks(&self.chunk_path(seq), &ids, dim)?);
        }
        out.sort_by(|a, b| a.doc_id.cmp(&b.doc_id).then(a.ordinal.cmp(&b.ordinal)));
        Ok(out)
    }

    /// Adds a segment with `docs` and their `chunks` (superseding older versions of
    /// the same documents) and tombstones `deleted`, in one atomic manifest commit.
    pub(crate) fn commit(
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
        if next.device.is_empty() {
            next.device = crate::clock::random_id(8);
        }
        let version = Version {
            hlc: crate::clock::tick(next.clock),
            device: next.device.clone(),
        };
        let mut summary = CommitSummary::default();
        if !docs.is_empty() {
            let seq = next.next_seq;
            next.next_seq += 1;
            let seg_dir = self.dir.join(SEGMENTS_DIR);
            let versions = vec![version.clone(); docs.len()];
            segment::write_segment(
                &seg_dir,
                seq,
                &docs,
                &versions,
                &chunks,
                next.embedding.dimension,
            )?;
            let texts: Vec<&str> = chunks.iter().map(|c| c.text.as_str()).collect();
            SegmentPostings::build(&texts, &Tokenizer::new(&next.keywords))
                .write(&segment::postings_path(&seg_dir, seq))?;
            sync_dir(&seg_dir)?;
            next.segments.push(SegmentMeta {
                seq,
                id: crate::clock::random_id(16),
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
                    hlc: version.hlc,
                    device: version.device.clone(),
                });
            }
            summary.deleted = live_deleted.len() as u64;
        }
        if summary == CommitSummary::default() {
            return Ok(summary);
        }
        next.clock = version.hlc;
        next.version += 1;
        next.commit(&self.dir)?;
        // The commit is durable: move this handle to the new snapshot.
        for id in live_deleted {
            self.docs.remove(id);
        }
        if let Some(seq) = summary.segment {
            for record in docs {
                self.docs.insert(
                    record.doc_id.clone(),
                    LiveDoc {
                        seq,
                        version: version.clone(),
                        record,
                    },
                );
            }
        }
        self.manifest = next;
        self.resident = OnceLock::new();
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
            codec: self.manifest.codec.name(),
            dead_rows: self.dead_rows(),
            manifest_version: self.manifest.version,
            disk_bytes,
        }
    }

    /// The in-memory search tables, built on first use.
    pub(crate) fn resident(&self) -> Result<&Resident, StoreError> {
        if let Some(r) = self.resident.get() {
            return Ok(r);
        }
        let live: HashMap<&str, u64> = self
            .docs
            .iter()
            .map(|(id, d)| (id.as_str(), d.seq))
            .collect();
        let built = Resident::load(&self.dir.join(SEGMENTS_DIR), &self.manifest, &live)?;
        Ok(self.resident.get_or_init(|| built))
    }

    /// Bytes the search tables hold in memory (building them if needed).
    pub fn search_memory_bytes(&self) -> Result<usize, StoreError> {
        Ok(self.resident()?.memory_bytes())
    }

    /// Moves this handle to a compacted manifest in which each live document
    /// now sits in the given segment.
    pub(crate) fn adopt(&mut self, manifest: Manifest, moved: &[(String, u64)]) {
        for (id, seq) in moved {
            if let Some(d) = self.docs.get_mut(id) {
                d.seq = *seq;
            }
        }
        self.manifest = manifest;
        self.resident = OnceLock::new();
    }

    /// Path of segment `seq`'s chunks table.
    pub(crate) fn chunk_path(&self, seq: u64) -> PathBuf {
        segment::paths(&self.dir.join(SEGMENTS_DIR), seq).1
    }
}

pub(crate) fn now_secs() -> i64 {
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
