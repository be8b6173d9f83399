//! The one error type of the store crate.

use std::path::PathBuf;

/// Errors reading or writing an index.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A filesystem operation on `path` failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory being read or written.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Reading or writing the Parquet file at `path` failed.
    #[error("{}: {source}", path.display())]
    Parquet {
        /// The segment's Parquet file.
        path: PathBuf,
        /// The underlying Parquet error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// An Arrow schema or record batch could not be built or read.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// A manifest is malformed, unreadable as JSON or incompatible with this index.
    #[error("manifest {}: {reason}", path.display())]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A segment file's contents disagree with its schema, manifest or postings.
    #[error("segment {}: {reason}", path.display())]
    Segment {
        /// The segment file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The index was embedded with a different model or dimension than requested.
    #[error(
        "this index was built with embedding model `{index_model}` ({index_dim}-d) but `{requested_model}` ({requested_dim}-d) was asked for: re-embed required (index into a new --data-dir, or delete the index and run `hearth index` again)"
    )]
    ModelMismatch {
        /// Model id the index was built with.
        index_model: String,
        /// Embedding dimension the index was built with.
        index_dim: usize,
        /// Model id the caller asked for.
        requested_model: String,
        /// Embedding dimension the caller asked for.
        requested_dim: usize,
    },
    /// Another writer holds the index's writer lock.
    #[error(
        "another `hearth index` is running on this index, or a compaction or import{} (lock {}); wait for it to finish",
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default(),
        path.display()
    )]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// Process id written in the lock file by its holder; `None` when unreadable.
        pid: Option<u32>,
    },
    /// No manifest exists in the given directory.
    #[error("no index at {} (run `hearth index PATH` first)", .0.display())]
    NoIndex(PathBuf),
    /// The vector codec rejected its input (dimension, non-finite value, spec).
    #[error("vector codec: {0}")]
    Codec(String),
    /// No Lloyd–Max codebook exists for a dimension and bit width.
    #[error("vector codec: {0}")]
    Codebook(#[from] hearth_quant::lloyd_max::CodebookError),
    /// The BM25 keyword index (postings or tokenizer) is invalid or mismatched.
    #[error("keyword index: {0}")]
    Keyword(String),
    /// A record, request or row violates the index's invariants.
    #[error("invalid record: {0}")]
    InvalidRecord(String),
}

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.into();
    move |source| StoreError::Io { path, source }
}

pub(crate) fn pq_err(
    path: impl Into<PathBuf>,
) -> impl FnOnce(parquet::errors::ParquetError) -> StoreError {
    let path = path.into();
    move |source| StoreError::Parquet { path, source }
}
