//! Hearth's index on disk: immutable Parquet segments plus a versioned manifest.
//!
//! Each commit writes one segment (a documents table and a chunks table with a
//! `FixedSizeList<f32, dim>` embedding column) and then atomically replaces the
//! manifest that names it, so readers always see a complete snapshot and a crash
//! mid-write leaves the previous index intact. A newer segment's version of a
//! document supersedes older ones; tombstones delete. Search is an exact cosine
//! scan over every live chunk vector.

mod error;
mod index;
mod manifest;
mod record;
mod segment;

pub use error::StoreError;
pub use index::{CommitSummary, Index, IndexStats, KindStats, SearchHit};
pub use manifest::{EmbeddingSpec, MANIFEST_FILE, Manifest, SegmentMeta, Tombstone};
pub use record::{ChunkRecord, DocumentRecord, SCHEMA_VERSION, chunks_schema, documents_schema};
