//! The one error type of the ingest crate.

/// Errors that stop an indexing run. (Errors of single items do not: they are
/// recorded in the run's [`crate::IndexReport`] and the run goes on.)
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
}
