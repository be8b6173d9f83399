//! The assistant: retrieval over the index and tiered local generators; the
//! router, redaction and metering build on them.
//!
//! [`Retriever`] is the one way questions reach the index: it embeds the query with
//! the same model that built the index (checked against the manifest) and returns
//! the best chunks with their documents — by vector, BM25 or hybrid ranking,
//! filtered by source, date, participant or path.
//!
//! [`generate`] runs the local generators: GGUF models on candle ([`Generator`],
//! one per [`Tier`]), with the tokenizer and chat template taken from the file,
//! streamed replies, and each reply's mean token log-probability as a confidence
//! signal for the router.

pub mod answer;
pub mod calibrate;
pub mod cite;
pub mod cloud;
pub mod generate;
pub mod meter;
pub mod redact;
pub mod router;
pub mod server;
pub mod task;

pub use answer::{Answer, AskOptions, Assistant, Attempt, NO_SUPPORTED_ANSWER};
pub use generate::{
    Architecture, ChatMessage, ChatTemplate, Engine, FinishReason, Generation, GenerationParams,
    Generator, GeneratorConfig, GgufTokenizer, ModelInfo, Role, StreamDecoder, Tier,
};
pub use router::{QuerySignals, Router, RouterConfig};
pub use task::{TaskClassifier, TaskError, TaskExample, TaskPrediction, TaskType};

use hearth_embed::{EmbedError, Embedder};
use hearth_store::{
    DEFAULT_RERANK, EmbeddingSpec, Index, SearchFilter, SearchHit, SearchMode, SearchRequest,
    StoreError,
};

/// Errors of the assistant crate.
#[derive(Debug, thiserror::Error)]
pub enum AssistantError {
    /// Embedding text (a query, a document, an example) failed.
    #[error(transparent)]
    Embed(#[from] EmbedError),
    /// The index failed to open, validate or search.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A generator's model file is malformed or uses something unsupported.
    #[error("model file {}: {reason}", path.display())]
    ModelFormat {
        /// The model file.
        path: std::path::PathBuf,
        /// What is malformed or unsupported, naming the metadata key where known.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file being read or written.
        path: std::path::PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The tokenizer could not be built from the model file, or failed to encode or decode.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The chat template is missing or unsupported, or lacks its special tokens.
    #[error("chat template: {0}")]
    ChatTemplate(String),
    /// The system messages alone do not fit the context window.
    #[error(
        "the prompt needs {prompt_tokens} tokens even with every non-system message cut, but only {budget} fit the context window (less room for the reply)"
    )]
    ContextOverflow {
        /// Tokens the prompt needs with every non-system message cut.
        prompt_tokens: usize,
        /// Tokens the context window holds for the prompt, after the reply's reserve.
        budget: usize,
    },
    /// Generation parameters are out of range (temperature, top-p, an empty message list).
    #[error("invalid generation parameters: {0}")]
    InvalidParams(String),
    /// A tier name other than `micro`, `local` or `larger`.
    #[error("unknown tier `{0}` (expected micro, local or larger)")]
    UnknownTier(String),
    /// Generation failed outside candle (a tier not installed, non-finite logits, bad model data).
    #[error("generation failed: {0}")]
    Generation(String),
    /// The metering log could not be read or written, or has an unexpected schema.
    #[error("metering log: {0}")]
    Metering(String),
    /// A candle tensor operation failed while loading a model or generating.
    #[error("generation failed in candle: {0}")]
    Candle(#[from] candle_core::Error),
    /// A call to the cloud tier failed.
    #[error(transparent)]
    Cloud(#[from] cloud::CloudError),
}

/// How a [`Retriever`] searches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchOptions {
    /// How chunks are ranked: by vector, BM25 keywords or hybrid (the default).
    pub mode: SearchMode,
    /// Restricts hits by source, date, participant or path (default: no restriction).
    pub filter: SearchFilter,
    /// Candidates per hit the compressed vector scan hands to the exact rerank.
    pub rerank: usize,
}

impl Default for SearchOptions {
    fn default() -> Self {
        Self {
            mode: SearchMode::Hybrid,
            filter: SearchFilter::default(),
            rerank: DEFAULT_RERANK,
        }
    }
}

/// Retrieval: query text in, ranked chunks out.
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
    options: SearchOptions,
}

impl<'a> Retriever<'a> {
    /// Refuses an index built by a different embedding model ("re-embed required").
    pub fn new(embedder: &'a Embedder, index: &'a Index) -> Result<Self, AssistantError> {
        index.check_model(&EmbeddingSpec {
            model_id: embedder.model_id().to_owned(),
            dimension: embedder.dimension(),
        })?;
        Ok(Self {
            embedder,
            index,
            options: SearchOptions::default(),
        })
    }

    /// The index searched.
    pub fn index(&self) -> &'a Index {
        self.index
    }

    /// The embedder queries are embedded with.
    pub fn embedder(&self) -> &'a Embedder {
        self.embedder
    }

    /// Searches with `options` from now on (default: hybrid, unfiltered).
    pub fn with_options(mut self, options: SearchOptions) -> Self {
        self.options = options;
        self
    }

    /// The `k` best chunks for `query`, best first. The query is embedded only
    /// when the mode ranks by vector.
    pub fn search(&self, query: &str, k: usize) -> Result<Vec<SearchHit>, AssistantError> {
        self.search_embedded(query, None, k)
    }

    /// Whether searching embeds the query (the mode ranks by vector).
    pub fn needs_vector(&self) -> bool {
        self.options.mode.needs_vector()
    }

    /// As [`Retriever::search`], reusing the query's embedding (made with
    /// [`Retriever::embedder`]) when the caller already has it.
    pub fn search_embedded(
        &self,
        query: &str,
        vector: Option<&[f32]>,
        k: usize,
    ) -> Result<Vec<SearchHit>, AssistantError> {
        let embedded;
        let vector = match (self.needs_vector(), vector) {
            (false, _) => None,
            (true, Some(v)) => Some(v),
            (true, None) => {
                embedded = self.embedder.embed_one(query)?;
                Some(embedded.as_slice())
            }
        };
        Ok(self.index.search_with(&SearchRequest {
            text: query,
            vector,
            k,
            mode: self.options.mode,
            filter: self.options.filter.clone(),
            rerank: self.options.rerank,
        })?)
    }
}
