//! The one error type of the ingest crate.

use std::path::PathBuf;

/// Errors that stop an indexing run. (Errors of single items do not: they are
/// recorded in the run's [`crate::IndexReport`] and the ingest manifest, and the
/// item is retried on a later run.)
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// A connector failed in a way that stops the run.
    #[error(transparent)]
    Connector(#[from] hearth_connectors::ConnectorError),
    /// The embedder could not be loaded or failed.
    #[error(transparent)]
    Embed(#[from] hearth_embed::EmbedError),
    /// The index could not be read or written.
    #[error(transparent)]
    Store(#[from] hearth_store::StoreError),
    /// The chunker could not be configured (e.g. an overlap not below the chunk size).
    #[error("chunker setup: {0}")]
    Chunker(String),
    /// A pipeline stage could not start or stopped early.
    #[error("indexing pipeline: {0}")]
    Pipeline(String),
    /// The ingest manifest (SQLite) could not be opened, read or written.
    #[error("ingest manifest {}: {reason}", path.display())]
    State {
        /// The manifest file, or the folder that could not be created for it.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A source, interval, watch or schedule was rejected: the message says why.
    #[error("source: {0}")]
    BadSource(String),
}
