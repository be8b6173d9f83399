//! The one error type of the ingest crate.

use std::path::PathBuf;

/// Errors that stop an indexing run. (Errors of single items do not: they are
/// recorded in the run's [`crate::IndexReport`] and the ingest manifest, and the
/// item is retried on a later run.)
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Connector(#[from] hearth_connectors::ConnectorError),
    #[error(transparent)]
    Embed(#[from] hearth_embed::EmbedError),
    #[error(transparent)]
    Store(#[from] hearth_store::StoreError),
    #[error("chunker setup: {0}")]
    Chunker(String),
    #[error("indexing pipeline: {0}")]
    Pipeline(String),
    #[error("ingest manifest {}: {reason}", path.display())]
    State { path: PathBuf, reason: String },
    #[error("source: {0}")]
    BadSource(String),
    #[error("another `hearth index` is running on this index{} (lock {}); wait for it to finish", pid.map(|p| format!(" (pid {p})")).unwrap_or_default(), path.display())]
    Locked { path: PathBuf, pid: Option<u32> },
    #[error("lock {}: {source}", path.display())]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
