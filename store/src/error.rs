//! The one error type of the store crate.

use std::path::PathBuf;

/// Errors reading or writing an index.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error("manifest {}: {reason}", path.display())]
    Manifest { path: PathBuf, reason: String },
    #[error("segment {}: {reason}", path.display())]
    Segment { path: PathBuf, reason: String },
    #[error(
        "this index was built with embedding model `{index_model}` ({index_dim}-d) but `{requested_model}` ({requested_dim}-d) was asked for: re-embed required (index into a new --data-dir, or delete the index and run `hearth index` again)"
    )]
    ModelMismatch {
        index_model: String,
        index_dim: usize,
        requested_model: String,
        requested_dim: usize,
    },
    #[error("no index at {} (run `hearth index PATH` first)", .0.display())]
    NoIndex(PathBuf),
    #[error("vector codec: {0}")]
    Codec(String),
    #[error("keyword index: {0}")]
    Keyword(String),
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
