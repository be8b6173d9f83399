//! The assistant: retrieval over the index now; tiered local generators, the
//! router, redaction and metering build on it.
//!
//! [`Retriever`] is the one way questions reach the index: it embeds the query with
//! the same model that built the index (checked against the manifest) and returns
//! the best chunks with their documents.

use hearth_embed::{EmbedError, Embedder};
use hearth_store::{EmbeddingSpec, Index, SearchHit, StoreError};

/// Errors of the assistant crate.
#[derive(Debug, thiserror::Error)]
pub enum AssistantError {
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Semantic retrieval: query text in, ranked chunks out.
///
/// ```no_run
/// use hearth_assistant::Retriever;
/// # fn demo(embedder: &hearth_embed::Embedder, index: &hearth_store::Index) -> Result<(), hearth_assistant::AssistantError> {
/// let retriever = Retriever::new(embedder, index)?;
/// for hit in retriever.search("when is the dentist appointment?", 5)? {
///     println!("{} {:.3} {}", hit.rank, hit.score, hit.document.uri);
/// }
/// # Ok(()) }
/// ```
pub struct Retriever<'a> {
    embedder: &'a Embedder,
    index: &'a Index,
}

impl<'a> Retriever<'a> {
    /// Refuses an index built by a different embedding model ("re-embed required").
    pub fn new(embedder: &'a Embedder, index: &'a Index) -> Result<Self, AssistantError> {
        index.check_model(&EmbeddingSpec {
            model_id: embedder.model_id().to_owned(),
            dimension: embedder.dimension(),
        })?;
        Ok(Self { embedder, index })
    }

    /// The `k` chunks closest to `query`, best first.
    pub fn search(&self, query: &str, k: usize) -> Result<Vec<SearchHit>, AssistantError> {
        let vector = self.embedder.embed_one(query)?;
        Ok(self.index.search(&vector, k)?)
    }
}
