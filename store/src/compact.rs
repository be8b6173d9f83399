//! Compaction: rewrite the live rows of every segment into a few large new
//! segments (each document keeping its version) and drop superseded
//! versions, tombstoned documents and every tombstone but the latest per
//! deleted document. That one stays in every index, shared yet or not:
//! another device may hold an older copy (the same file indexed there), and
//! the delete must win when the two first merge.
//!
//! Crash safety follows from the commit protocol: the new segments (and their
//! postings) are written under fresh sequence numbers and made durable first,
//! then one atomic manifest replace swaps them in, and only then are the old
//! files deleted. A crash before the swap leaves unreferenced files that the
//! next compaction removes; a crash after it leaves old files that are no longer
//! named by the manifest and likewise get removed.

use crate::bm25::{SegmentPostings, Tokenizer};
use crate::error::{StoreError, io_err};
use crate::index::{Index, LiveDoc, SEGMENTS_DIR};
use crate::manifest::{SegmentMeta, sync_dir};
use crate::segment::{self, SegmentWriter};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// When [`IndexWriter::maybe_compact`](crate::IndexWriter::maybe_compact) compacts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompactionPolicy {
    /// Compact once the index has more segments than this.
    pub max_segments: usize,
    /// Compact once this share of stored chunk rows is dead (superseded or deleted).
    pub max_dead_fraction: f64,
    /// Live chunks per output segment; larger inputs produce several segments.
    pub segment_chunks: u64,
}

impl Default for CompactionPolicy {
    fn default() -> Self {
        Self {
            max_segments: 16,
            max_dead_fraction: 0.25,
            segment_chunks: 250_000,
        }
    }
}

/// What a compaction did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CompactionSummary {
    /// Segments in the index before compacting.
    pub segments_before: usize,
    /// Segments in the index after compacting.
    pub segments_after: usize,
    /// Chunk rows stored before compacting, live and dead.
    pub rows_before: u64,
    /// Chunk rows stored after compacting (all live).
    pub rows_after: u64,
    /// Tombstones removed from the manifest.
    pub tombstones_dropped: usize,
    /// On-disk size of the old segments' files, in bytes.
    pub bytes_before: u64,
    /// On-disk size of the new segments' files, in bytes.
    pub bytes_after: u64,
}

impl Index {
    /// Stored chunk rows that no search can return (superseded or deleted).
    pub fn dead_rows(&self) -> u64 {
        let stored: u64 = self.manifest.segments.iter().map(|s| s.chunks).sum();
        let live: u64 = self
            .docs
            .values()
            .map(|d| u64::from(d.record.chunk_count))
            .sum();
        stored.saturating_sub(live)
    }

    /// Whether `policy` asks for a compaction now.
    pub fn needs_compaction(&self, policy: &CompactionPolicy) -> bool {
        let stored: u64 = self.manifest.segments.iter().map(|s| s.chunks).sum();
        let dead = self.dead_rows();
        self.manifest.segments.len() > policy.max_segments
            || (stored > 0 && dead as f64 / stored as f64 > policy.max_dead_fraction)
            // Every document deleted: drop the rows (tombstones alone, kept
            // for other devices, are no reason to compact again).
            || (!self.manifest.segments.is_empty() && self.docs.is_empty())
    }

    /// Compacts when `policy` says so.
    pub(crate) fn maybe_compact(
        &mut self,
        policy: &CompactionPolicy,
    ) -> Result<Option<CompactionSummary>, StoreError> {
        if self.needs_compaction(policy) {
            self.compact(policy).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Rewrites every live row into new segments of at most
    /// `policy.segment_chunks` chunks and drops everything dead.
    pub(crate) fn compact(
        &mut self,
        policy: &CompactionPolicy,
    ) -> Result<CompactionSummary, StoreError> {
        let seg_dir = self.dir().join(SEGMENTS_DIR);
        let before = self.manifest.clone();
        let bytes_before = segment_bytes(&seg_dir, before.segments.iter().map(|s| s.seq));
        let dim = before.embedding.dimension;
        let tokenizer = Tokenizer::new(&before.keywords);
        let mut next = before.clone();
        let mut by_seq: BTreeMap<u64, Vec<&LiveDoc>> = BTreeMap::new();
        for d in self.docs.values() {
            by_seq.entry(d.seq).or_default().push(d);
        }
        let mut output: Vec<SegmentMeta> = Vec::new();
        let mut open: Option<(u64, SegmentWriter, Vec<String>, u64, u64)> = None;
        let mut new_seq_of: Vec<(String, u64)> = Vec::new();
        for (seq, mut docs) in by_seq {
            docs.sort_by(|a, b| a.record.doc_id.cmp(&b.record.doc_id));
            let ids: HashSet<&str> = docs.iter().map(|d| d.record.doc_id.as_str()).collect();
            let chunks = segment::read_doc_chunks(&self.chunk_path(seq), &ids, dim)?;
            if open.is_none() {
                let s = next.next_seq;
                next.next_seq += 1;
                open = Some((
                    s,
                    SegmentWriter::create(&seg_dir, s, dim)?,
                    Vec::new(),
                    0,
                    0,
                ));
            }
            let mut full = false;
            if let Some((s, writer, texts, n_docs, n_chunks)) = open.as_mut() {
                let records: Vec<_> = docs.iter().map(|d| d.record.clone()).collect();
                let versions: Vec<_> = docs.iter().map(|d| d.version.clone()).collect();
                writer.append(&records, &versions, &chunks)?;
                texts.extend(chunks.iter().map(|c| c.text.clone()));
                *n_docs += records.len() as u64;
                *n_chunks += chunks.len() as u64;
                new_seq_of.extend(records.into_iter().map(|r| (r.doc_id, *s)));
                full = *n_chunks >= policy.segment_chunks;
            }
            if full && let Some(done) = open.take() {
                output.push(finish(&seg_dir, done, &tokenizer)?);
            }
        }
        if let Some(done) = open.take() {
            output.push(finish(&seg_dir, done, &tokenizer)?);
        }
        sync_dir(&seg_dir)?;
        next.segments = output;
        next.tombstones = kept_tombstones(&before.tombstones, |id| self.docs.contains_key(id));
        next.version += 1;
        next.commit(self.dir())?;
        let tombstones_dropped = before.tombstones.len() - next.tombstones.len();
        let segments_before = before.segments.len();
        let rows_before: u64 = before.segments.iter().map(|s| s.chunks).sum();
        self.adopt(next, &new_seq_of);
        remove_unreferenced(
            &seg_dir,
            &self.manifest.segments.iter().map(|s| s.seq).collect(),
        )?;
        Ok(CompactionSummary {
            segments_before,
            segments_after: self.manifest.segments.len(),
            rows_before,
            rows_after: self.manifest.segments.iter().map(|s| s.chunks).sum(),
            tombstones_dropped,
            bytes_before,
            bytes_after: segment_bytes(&seg_dir, self.manifest.segments.iter().map(|s| s.seq)),
        })
    }
}

/// The tombstones an index keeps through compaction: the latest per
/// document, unless a live version already supersedes it (a copy elsewhere
/// older than the delete is older than that version too). Another device
/// may hold the document — now, or at the first merge of an index that was
/// never shared — so the delete must keep travelling.
fn kept_tombstones(
    tombstones: &[crate::manifest::Tombstone],
    live: impl Fn(&str) -> bool,
) -> Vec<crate::manifest::Tombstone> {
    let mut latest: BTreeMap<&str, &crate::manifest::Tombstone> = BTreeMap::new();
    for t in tombstones {
        if live(&t.doc_id) {
            continue;
        }
        let newer = latest
            .get(t.doc_id.as_str())
            .is_none_or(|have| (have.version(), have.seq) < (t.version(), t.seq));
        if newer {
            latest.insert(&t.doc_id, t);
        }
    }
    latest.into_values().cloned().collect()
}

/// Finishes an output segment: closes its tables and writes its postings.
fn finish(
    seg_dir: &Path,
    (seq, writer, texts, documents, chunks): (u64, SegmentWriter, Vec<String>, u64, u64),
    tokenizer: &Tokenizer,
) -> Result<SegmentMeta, StoreError> {
    writer.finish()?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    SegmentPostings::build(&refs, tokenizer).write(&segment::postings_path(seg_dir, seq))?;
    Ok(SegmentMeta {
        seq,
        id: crate::clock::random_id(16),
        documents,
        chunks,
        created_at: crate::index::now_secs(),
    })
}

/// The segment sequence number a file in the segments directory belongs to.
fn file_seq(name: &str) -> Option<u64> {
    name.split('.').next()?.parse().ok()
}

/// Deletes segment files (complete or temporary) the manifest does not name.
fn remove_unreferenced(seg_dir: &Path, keep: &HashSet<u64>) -> Result<(), StoreError> {
    for entry in std::fs::read_dir(seg_dir).map_err(io_err(seg_dir))? {
        let entry = entry.map_err(io_err(seg_dir))?;
        let name = entry.file_name();
        let Some(seq) = name.to_str().and_then(file_seq) else {
            continue;
        };
        if !keep.contains(&seq) {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(io_err(&path))?;
        }
    }
    sync_dir(seg_dir)
}

fn segment_bytes(seg_dir: &Path, seqs: impl Iterator<Item = u64>) -> u64 {
    let seqs: HashSet<u64> = seqs.collect();
    std::fs::read_dir(seg_dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(file_seq)
                        .is_some_and(|s| seqs.contains(&s))
                })
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}
