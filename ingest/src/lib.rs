//! The indexing pipeline: discover → read (connectors) → chunk → embed → write
//! (store), skipping documents the index already holds with the same content.
//!
//! Bad items never stop a run: each failure is recorded with its reason in the
//! [`IndexReport`] and the next run tries the item again.

mod chunker;
mod error;
mod pipeline;

pub use chunker::{CHUNK_OVERLAP_TOKENS, Chunk, Chunker, MAX_CHUNK_TOKENS};
pub use error::IngestError;
pub use pipeline::{COMMIT_CHUNKS, IndexReport, Indexer, ItemFailure, ProgressEvent};
