//! The part of an index that lives in memory while it is searched: the
//! compressed codes of every chunk vector, the BM25 postings, which rows are live
//! and which document each row belongs to. Full-precision vectors and chunk text
//! stay on disk in the Parquet segments and are read back only for the handful of
//! candidates a query reranks or returns.
//!
//! Rows are numbered globally in manifest segment order, every row of every
//! segment included; superseded and deleted rows are switched off in the live
//! mask, so mapping a row back to its segment is a binary search with no
//! per-row bookkeeping.

use crate::bm25::{Bm25Index, Bm25Params, SegmentPostings, Tokenizer};
use crate::codec::{CodeTable, RowMask, VectorCodec};
use crate::error::StoreError;
use crate::manifest::Manifest;
use crate::segment::{self, ChunkFile};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

/// Marks a row whose document version is not live.
const DEAD: u32 = u32::MAX;

/// Where one segment's rows sit in the global numbering.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SegmentSpan {
    /// The segment's local sequence number.
    pub seq: u64,
    /// Global row number of the segment's first chunk.
    pub start: u32,
    /// Chunk rows the segment holds, live and dead.
    pub rows: u32,
}

/// In-memory search tables of one index snapshot.
pub(crate) struct Resident {
    /// The codec the resident codes were encoded with.
    pub codec: VectorCodec,
    /// Chunk tables opened for point reads, one per span.
    files: Vec<ChunkFile>,
    /// Encoded vectors of every row, in global row order.
    pub codes: CodeTable,
    /// Each segment's rows in the global numbering, in manifest order.
    pub spans: Vec<SegmentSpan>,
    /// Per global row: the slot of its live document in `slot_ids`, or [`DEAD`].
    row_slot: Vec<u32>,
    /// Live document ids by slot.
    pub slot_ids: Vec<String>,
    /// Rows whose document version is live.
    pub live: RowMask,
    /// BM25 index over every segment's postings and live rows.
    pub bm25: Bm25Index,
}

impl Resident {
    /// Reads every segment once: encodes its vectors, loads (or builds and
    /// writes) its postings, and records which rows are live.
    pub fn load(
        seg_dir: &Path,
        manifest: &Manifest,
        live_seq: &HashMap<&str, u64>,
    ) -> Result<Self, StoreError> {
        let dim = manifest.embedding.dimension;
        let codec = VectorCodec::new(&manifest.codec, dim)?;
        let tokenizer = Tokenizer::new(&manifest.keywords);
        let mut codes = codec.new_table();
        let mut spans = Vec::with_capacity(manifest.segments.len());
        let mut row_slot: Vec<u32> = Vec::new();
        let mut slot_of: HashMap<String, u32> = HashMap::new();
        let mut slot_ids: Vec<String> = Vec::new();
        let mut postings = Vec::with_capacity(manifest.segments.len());
        let mut files = Vec::with_capacity(manifest.segments.len());
        for seg in &manifest.segments {
            let (_, chunk_path) = segment::paths(seg_dir, seg.seq);
            files.push(ChunkFile::open(&chunk_path)?);
            let postings_path = segment::postings_path(seg_dir, seg.seq);
            // Postings are derived data: missing, damaged or built with another
            // tokenizer, they are rebuilt from the chunk text read below.
            let stored = match SegmentPostings::read(&postings_path) {
                Ok(p) if p.spec() == &manifest.keywords && p.rows() as u64 == seg.chunks => Some(p),
                Ok(_) => None,
                Err(e) => {
                    if postings_path.exists() {
                        tracing::warn!("rebuilding keyword postings: {e}");
                    }
                    None
                }
            };
            let mut texts: Vec<String> = Vec::new();
            let start = row_slot.len();
            segment::scan_chunks(&chunk_path, dim, |doc_ids, text, vectors| {
                codec.encode_into(vectors, &mut codes)?;
                for (i, id) in doc_ids.iter().enumerate() {
                    let id = id.unwrap_or_default();
                    let slot = if live_seq.get(id) == Some(&seg.seq) {
                        let next = u32::try_from(slot_ids.len()).unwrap_or(DEAD);
                        *slot_of.entry(id.to_owned()).or_insert_with(|| {
                            slot_ids.push(id.to_owned());
                            next
                        })
                    } else {
                        DEAD
                    };
                    row_slot.push(slot);
                    if stored.is_none() {
                        texts.push(text.value(i).to_owned());
                    }
                }
                Ok(())
            })?;
            let rows = row_slot.len() - start;
            let seg_postings = match stored {
                Some(p) if p.rows() == rows => p,
                Some(p) => {
                    return Err(StoreError::Segment {
                        path: chunk_path,
                        reason: format!(
                            "{rows} rows, but the manifest and postings say {}",
                            p.rows()
                        ),
                    });
                }
                None => {
                    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                    let built = SegmentPostings::build(&refs, &tokenizer);
                    // A read-only index still searches; it just rebuilds next time.
                    if let Err(e) = built.write(&postings_path) {
                        tracing::warn!("could not save keyword postings: {e}");
                    }
                    built
                }
            };
            let to_u32 = |n: usize| {
                u32::try_from(n).map_err(|_| StoreError::Codec("more than 2^32 rows".into()))
            };
            spans.push(SegmentSpan {
                seq: seg.seq,
                start: to_u32(start)?,
                rows: to_u32(rows)?,
            });
            let live_rows: Vec<bool> = row_slot[start..].iter().map(|&s| s != DEAD).collect();
            postings.push((seg.seq, Arc::new(seg_postings), live_rows));
        }
        let mut live = RowMask::new(row_slot.len());
        for (row, &slot) in row_slot.iter().enumerate() {
            live.set(row, slot != DEAD);
        }
        let bm25 = Bm25Index::new(postings, Bm25Params::default(), tokenizer);
        Ok(Self {
            codec,
            files,
            codes,
            spans,
            row_slot,
            slot_ids,
            live,
            bm25,
        })
    }

    /// The live rows whose documents pass `keep` (one call per live document).
    pub fn mask(&self, keep: impl Fn(&str) -> bool) -> RowMask {
        let slot_ok: Vec<bool> = self.slot_ids.iter().map(|id| keep(id)).collect();
        let mut mask = RowMask::new(self.row_slot.len());
        for (row, &slot) in self.row_slot.iter().enumerate() {
            if slot != DEAD && slot_ok[slot as usize] {
                mask.set(row, true);
            }
        }
        mask
    }

    /// The segment and in-segment row of a global row.
    pub fn locate(&self, row: u32) -> Option<(u64, usize)> {
        let i = self.spans.partition_point(|s| s.start + s.rows <= row);
        let span = self.spans.get(i)?;
        (row >= span.start).then(|| (span.seq, (row - span.start) as usize))
    }

    /// The chunks table of segment `seq`, opened for point reads.
    pub fn file(&self, seq: u64) -> Result<&ChunkFile, StoreError> {
        self.spans
            .iter()
            .position(|s| s.seq == seq)
            .and_then(|i| self.files.get(i))
            .ok_or_else(|| StoreError::InvalidRecord(format!("no segment {seq} in this snapshot")))
    }

    /// The global row of a segment row.
    pub fn global(&self, seq: u64, row: u32) -> Option<u32> {
        let span = self.spans.iter().find(|s| s.seq == seq)?;
        (row < span.rows).then_some(span.start + row)
    }

    /// Bytes held in memory for search (codes, masks, row map, postings).
    pub fn memory_bytes(&self) -> usize {
        self.codes.memory_bytes()
            + self.row_slot.len() * 4
            + self.live.count() / 8
            + self.bm25.memory_bytes()
    }
}
