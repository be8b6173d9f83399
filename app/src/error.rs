//! The one error type of the application layer.

use std::path::PathBuf;

/// A boxed source error, for settings whose parser has its own error type.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Errors of the application layer; library errors keep their source.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The config file could not be read.
    #[error("reading {}: {source}", path.display())]
    ConfigRead {
        /// The config file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The config file is not valid TOML for the schema.
    #[error("parsing {}: {source}", path.display())]
    ConfigParse {
        /// The config file.
        path: PathBuf,
        /// Why.
        #[source]
        source: toml::de::Error,
    },
    /// `--config` names a file that does not exist.
    #[error("config file {} does not exist", path.display())]
    ConfigMissing {
        /// The file named.
        path: PathBuf,
    },
    /// A setting's value does not parse.
    #[error("{key} in {file}: {source}")]
    Setting {
        /// The setting, as `[table] key`.
        key: String,
        /// The config file (or "the config").
        file: String,
        /// The parser's error.
        #[source]
        source: BoxError,
    },
    /// A setting's value is out of range or inconsistent with another.
    #[error("{0}")]
    Invalid(String),
    /// No data directory could be chosen.
    #[error("no data directory: pass --data-dir or set HEARTH_DATA_DIR")]
    NoDataDir,
    /// Bundled data (demo fixtures, suites, scripts) is missing.
    #[error(
        "{what} not found; looked in {} (set {} to the folder holding Hearth's bundled data)",
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        crate::share::SHARE_DIR_ENV
    )]
    ShareMissing {
        /// What was looked for (a path relative to the share folder).
        what: String,
        /// Every folder searched, in order.
        searched: Vec<PathBuf>,
    },
    /// `hearth index` with no paths and no configured sources.
    #[error("no sources configured: run `hearth source add auto PATH` or `hearth index PATH`")]
    NoSources,
    /// A path given to index cannot be resolved.
    #[error("{}: {source}", path.display())]
    SourcePath {
        /// The path as given.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The router's fitted thresholds could not be read or parsed.
    #[error("router fit {}: {reason}", path.display())]
    RouterFit {
        /// `router.toml` in the data directory.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A file of the data directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A run's summary could not be serialised for its run record.
    #[error("run record: {0}")]
    RunRecord(#[from] serde_json::Error),
    /// From the model registry or the embedder.
    #[error(transparent)]
    Embed(#[from] hearth_embed::EmbedError),
    /// From the index.
    #[error(transparent)]
    Store(#[from] hearth_store::StoreError),
    /// From an indexing run or the ingest manifest.
    #[error(transparent)]
    Ingest(#[from] hearth_ingest::IngestError),
    /// From the assistant (generators, router, cloud).
    #[error(transparent)]
    Assistant(#[from] hearth_assistant::AssistantError),
    /// From the cloud client.
    #[error(transparent)]
    Cloud(#[from] hearth_assistant::cloud::CloudError),
}

impl AppError {
    /// Whether this is another writer holding the index (a scheduled run, a
    /// manual one): callers that retry later treat it as "skipped".
    pub fn is_locked(&self) -> bool {
        matches!(
            self,
            AppError::Store(hearth_store::StoreError::Locked { .. })
                | AppError::Ingest(hearth_ingest::IngestError::Store(
                    hearth_store::StoreError::Locked { .. }
                ))
        )
    }
}
