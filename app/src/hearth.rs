//! [`Hearth`]: the session facade a program opens once — the resolved
//! [`Config`], its [`DataDir`], the [`Models`] and the [`ShareDir`] — from
//! which indexing sessions and assistants are made.

use crate::config::{Config, Overrides};
use crate::data_dir::DataDir;
use crate::error::AppError;
use crate::models::{ModelReporter, Models};
use crate::session::IndexSession;
use crate::share::ShareDir;
use hearth_embed::Embedder;
use std::sync::Arc;

/// One program's view of Hearth.
///
/// ```no_run
/// use hearth_app::{Hearth, Overrides};
/// let hearth = Hearth::open(&Overrides::from_env())?;
/// let embedder = hearth.embedder()?;
/// let report = hearth.index_session(&embedder).run(&[], None)?;
/// println!("{} new documents", report.new);
/// # Ok::<(), hearth_app::AppError>(())
/// ```
#[derive(Debug)]
pub struct Hearth {
    config: Config,
    models: Models,
    share: ShareDir,
}

impl Hearth {
    /// Reads the config under `overrides` and sets up the model registry.
    pub fn open(overrides: &Overrides) -> Result<Self, AppError> {
        Self::new(Config::load(overrides)?)
    }

    /// Hearth over an already resolved `config`.
    pub fn new(config: Config) -> Result<Self, AppError> {
        let models = Models::new(&config.models)?;
        Ok(Self {
            config,
            models,
            share: ShareDir::discover(),
        })
    }

    /// Reports model installation through `reporter`.
    pub fn with_model_reporter(mut self, reporter: ModelReporter) -> Self {
        self.models = self.models.with_reporter(reporter);
        self
    }

    /// Looks for bundled data on `share` instead of the default path.
    pub fn with_share(mut self, share: ShareDir) -> Self {
        self.share = share;
        self
    }

    /// The resolved settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The data directory.
    pub fn data(&self) -> &DataDir {
        &self.config.data_dir
    }

    /// The model catalog and registry.
    pub fn models(&self) -> &Models {
        &self.models
    }

    /// Where bundled data is found.
    pub fn share(&self) -> &ShareDir {
        &self.share
    }

    /// Loads the embedding model as configured, installing it if needed.
    pub fn embedder(&self) -> Result<Arc<Embedder>, AppError> {
        self.models.embedder(&self.config.embedder)
    }

    /// An indexing session into this data directory with the configured
    /// codec.
    pub fn index_session(&self, embedder: &Arc<Embedder>) -> IndexSession {
        self.index_session_in(embedder, self.data().clone())
    }

    /// An indexing session into another data directory (the demo's, an eval
    /// suite's) with the configured codec.
    pub fn index_session_in(&self, embedder: &Arc<Embedder>, data: DataDir) -> IndexSession {
        IndexSession::new(Arc::clone(embedder), data).with_codec(self.config.codec.clone())
    }
}
