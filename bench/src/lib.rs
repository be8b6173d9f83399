//! `hearth-bench`: every `hearth bench …` implementation, apart from the
//! product. Each benchmark prints its figure beside a baseline measured in
//! the same run (ONNX Runtime, faiss, llama.cpp, Python's mailbox, poppler,
//! a plain copy or merge), and the machine's own roofline (`roofline`: FMA
//! peak, STREAM bandwidth) where a bound says more than a ratio.
//!
//! Unlike the libraries, this crate is a tool: it prints tables and progress
//! and returns `anyhow` errors, as the binary does.

#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod baseline;
pub mod connectors;
pub mod embed;
pub mod generate;
pub mod ingest;
pub mod roofline;
pub mod search;
pub mod sync;

pub use connectors::ConnectorsBench;
pub use embed::EmbedBench;
pub use generate::GenerateBench;
pub use ingest::IngestBench;
pub use search::SearchBench;
pub use sync::SyncBench;

/// `rel` on the bundled-data search path (see [`hearth_app::ShareDir`]):
/// `$HEARTH_SHARE_DIR`, next to the binary, then the checkout.
pub(crate) fn share_path(rel: &str) -> anyhow::Result<std::path::PathBuf> {
    Ok(hearth_app::ShareDir::discover().find(rel)?)
}
