//! Hearth's index on disk: immutable Parquet segments plus a versioned manifest.
//!
//! Each commit writes one segment (a documents table and a chunks table with a
//! `FixedSizeList<f32, dim>` embedding column) and then atomically replaces the
//! manifest that names it, so readers always see a complete snapshot and a crash
//! mid-write leaves the previous index intact. A newer segment's version of a
//! document supersedes older ones; tombstones delete; compaction merges segments
//! and drops dead rows.
//!
//! Search keeps only compact structures in memory: the chunk vectors encoded by
//! the [`codec`] (TurboQuant-style rotation + Lloyd–Max scalar codes, scanned with
//! lookup tables) and the [`bm25`] postings. A vector query scans the codes, then
//! reranks the best `r × k` candidates exactly against the f32 vectors read back
//! from Parquet; hybrid search fuses that list with BM25 by reciprocal rank
//! fusion; a [`SearchFilter`] becomes a row mask before anything is scored.

pub mod bm25;
mod clock;
pub mod codec;
mod compact;
mod error;
mod index;
mod manifest;
mod merge;
mod query;
mod record;
mod resident;
mod search;
mod segment;
mod vector_pages;
mod writer;

pub use clock::{Version, clock_secs, random_id, tick as clock_tick};
pub use compact::{CompactionPolicy, CompactionSummary};
pub use error::StoreError;
pub use index::{CommitSummary, Index, IndexStats, KindStats, SearchHit};
pub use manifest::{EmbeddingSpec, MANIFEST_FILE, Manifest, SegmentMeta, Tombstone};
pub use merge::MergeSummary;
pub use query::{RRF_K, SearchFilter, SearchMode, reciprocal_rank_fusion};
pub use record::{ChunkRecord, DocumentRecord, SCHEMA_VERSION, chunks_schema, documents_schema};
pub use search::{DEFAULT_RERANK, SearchRequest};
pub use writer::{IndexWriter, WRITER_LOCK_FILE};
