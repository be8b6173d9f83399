//! Local text generators: GGUF models on the CPU, one per [`Tier`], run by
//! Hearth's own [`engine`] (default) or by candle (the reference).
//!
//! - [`tokenizer`]: the byte-level BPE rebuilt from the file's `tokenizer.ggml.*`
//!   metadata, control tokens registered as special.
//! - [`chat`]: messages, the ChatML template (recognised from
//!   `tokenizer.chat_template`) and the context-window policy.
//! - [`sampling`]: greedy / temperature + top-p choice with the token's log-probability.
//! - [`stream`]: incremental detokenization that never splits a UTF-8 character.
//! - [`engine`]: Hearth's decoder runtime (block-quantized GEMM/GEMV, owned KV cache,
//!   prompt-prefix reuse).
//! - [`model`]: loading `llama` and `qwen2` weights on the configured engine.
//! - [`requant`]: converting weight types without fast CPU kernels to Q8_0 at load.
//! - [`generator`]: [`Generator`], prompt in, streamed reply and measurements out.
//! - [`tier`]: which pinned model answers at each tier.
//!
//! **Threads.** candle runs quantized matrix products on its own spin-waiting
//! thread pool, sized by physical cores unless `CANDLE_NUM_THREADS` (or
//! `RAYON_NUM_THREADS`) says otherwise, read once at first use; Hearth leaves the
//! default. Measured on a quiet 2-core x86 machine, 2 threads are fastest
//! (SmolLM2 decode ~70 tok/s against ~46 with 1). While another process keeps a
//! core busy, though, the spinning pool collapses (~3 tok/s) and 1 thread is
//! ~15× faster: run with `CANDLE_NUM_THREADS=1` when generation shares the CPU
//! with the indexer.

pub mod chat;
pub mod engine;
pub mod generator;
mod metadata;
pub mod model;
pub mod requant;
pub mod sampling;
pub mod stream;
pub mod tier;
pub mod tokenizer;

pub use chat::{ChatMessage, ChatTemplate, Role, TemplateFamily};
pub use engine::Engine;
pub use generator::{
    DEFAULT_MAX_CONTEXT, FinishReason, Generation, GenerationParams, Generator, GeneratorConfig,
};
pub use model::{Architecture, ModelInfo};
pub use sampling::{Choice, Sampler};
pub use stream::StreamDecoder;
pub use tier::Tier;
pub use tokenizer::{GgufTokenizer, PreTokenizerKind};
