//! [`Config`]: the config file's schema ([`ConfigFile`]) and the settings of
//! one invocation resolved from it, with the precedence flag > environment >
//! file > default.

use crate::data_dir::DataDir;
use crate::error::AppError;
use hearth_assistant::cloud::{CloudConfig, CloudPolicy, DEFAULT_KEY_ENV, Exposure};
use hearth_assistant::meter::PriceTable;
use hearth_assistant::{Engine, GeneratorConfig, SearchOptions};
use hearth_embed::EmbedderOptions;
use hearth_store::SearchMode;
use hearth_store::codec::CodecSpec;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The config file (`config.toml`). Every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Data directory (the `--data-dir` flag and HEARTH_DATA_DIR win over it).
    pub data_dir: Option<PathBuf>,
    /// Per-model settings, by catalog name.
    #[serde(default)]
    pub models: BTreeMap<String, ModelSection>,
    /// How the embedder runs.
    #[serde(default)]
    pub embedding: EmbeddingSection,
    /// How the index is searched.
    #[serde(default)]
    pub search: SearchSection,
    /// How questions are answered.
    #[serde(default)]
    pub assistant: AssistantSection,
    /// How the local generators run.
    #[serde(default)]
    pub generation: GenerationSection,
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
pub struct AssistantSection {
    /// Local tiers that may answer (default: micro and local, plus larger
    /// when its model is installed).
    pub tiers: Option<Vec<String>>,
    /// Sources retrieved per question (default 4).
    pub sources: Option<usize>,
    /// Most tokens per reply (default 96).
    pub max_tokens: Option<usize>,
}

/// The `[generation]` table.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationSection {
    /// `hearth` (Hearth's own decoder runtime, the default) or `candle`
    /// (the reference engine); HEARTH_ENGINE wins over it.
    pub engine: Option<String>,
    /// Upper bound on a generator's context window, in tokens (default 4096).
    pub max_context: Option<usize>,
}

/// The `[search]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchSection {
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
pub struct EmbeddingSection {
    /// Weight format: `int8` (default), `f32`, or a `candle-*` reference format.
    pub weights: Option<String>,
    /// Texts per forward pass.
    pub batch_size: Option<usize>,
}

/// Settings of one model.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// Use the model files in this directory instead of installing them.
    pub path: Option<PathBuf>,
}

/// What the caller (flags, or the environment) says before the file is read.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// The config file (`--config`, HEARTH_CONFIG); when set it must exist.
    pub config: Option<PathBuf>,
    /// The data directory (`--data-dir`, HEARTH_DATA_DIR).
    pub data_dir: Option<PathBuf>,
}

impl Overrides {
    /// HEARTH_CONFIG and HEARTH_DATA_DIR, for programs without flags.
    pub fn from_env() -> Self {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Self {
            config: var("HEARTH_CONFIG"),
            data_dir: var("HEARTH_DATA_DIR"),
        }
    }
}

/// The settings of one invocation.
#[derive(Debug)]
pub struct Config {
    /// The config file that was read, if any.
    pub file: Option<PathBuf>,
    /// The data directory.
    pub data_dir: DataDir,
    /// Model directories that replace installed models, by catalog name.
    pub models: BTreeMap<String, ModelSection>,
    /// How the embedder runs (defaults where the file is silent).
    pub embedder: EmbedderOptions,
    /// Codec new indexes get, and existing ones are switched to by `hearth
    /// index` (None: the store's default, or whatever the index already uses).
    pub codec: Option<CodecSpec>,
    /// Search settings (mode and rerank depth).
    pub search: SearchOptions,
    /// The `[assistant]` table as written.
    pub assistant: AssistantSection,
    /// How every local generator is set up (engine, context cap).
    pub generator: GeneratorConfig,
    /// Prices per tier for metering.
    pub prices: PriceTable,
    /// The `[cloud]` table as written (resolved by [`Config::cloud`]).
    pub cloud: Option<CloudSection>,
}

impl Config {
    /// Reads the config file (the override, else
    /// `$XDG_CONFIG_HOME/hearth/config.toml` when it exists) and resolves it.
    pub fn load(overrides: &Overrides) -> Result<Self, AppError> {
        let path = overrides
            .config
            .clone()
            .or_else(|| dirs::config_dir().map(|d| d.join("hearth/config.toml")));
        let file = match &path {
            Some(path) if path.exists() => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| AppError::ConfigRead {
                        path: path.clone(),
                        source,
                    })?;
                toml::from_str(&text).map_err(|source| AppError::ConfigParse {
                    path: path.clone(),
                    source,
                })?
            }
            Some(path) if overrides.config.is_some() => {
                return Err(AppError::ConfigMissing { path: path.clone() });
            }
            _ => ConfigFile::default(),
        };
        let read = path.filter(|p| p.exists());
        Self::resolve(file, read, overrides)
    }

    /// Resolves a parsed file (read from `file`, if any) under `overrides`.
    pub fn resolve(
        config: ConfigFile,
        file: Option<PathBuf>,
        overrides: &Overrides,
    ) -> Result<Self, AppError> {
        let data_dir = overrides
            .data_dir
            .clone()
            .or(config.data_dir)
            .or_else(|| dirs::data_dir().map(|d| d.join("hearth")))
            .ok_or(AppError::NoDataDir)?;
        let shown = file
            .as_ref()
            .map_or_else(|| "the config".to_owned(), |p| p.display().to_string());
        let setting = |key: &str| {
            let shown = shown.clone();
            let key = key.to_owned();
            move |source: Box<dyn std::error::Error + Send + Sync>| AppError::Setting {
                key,
                file: shown,
                source,
            }
        };
        let mut embedder = EmbedderOptions::default();
        if let Some(weights) = &config.embedding.weights {
            embedder.weights =
                weights
                    .parse()
                    .map_err(|e: hearth_embed::UnknownWeightFormat| {
                        setting("[embedding] weights")(e.into())
                    })?;
        }
        if let Some(batch) = config.embedding.batch_size {
            if batch == 0 {
                return Err(AppError::Invalid(
                    "[embedding] batch_size must be at least 1".into(),
                ));
            }
            embedder.batch_size = batch;
        }
        let codec = config
            .search
            .codec
            .as_deref()
            .map(CodecSpec::parse)
            .transpose()
            .map_err(|e| setting("[search] codec")(e.into()))?;
        let mut search = SearchOptions::default();
        if let Some(mode) = &config.search.mode {
            search.mode =
                SearchMode::parse(mode).map_err(|e| setting("[search] mode")(e.into()))?;
        }
        if let Some(rerank) = config.search.rerank {
            if rerank == 0 {
                return Err(AppError::Invalid(
                    "[search] rerank must be at least 1".into(),
                ));
            }
            search.rerank = rerank;
        }
        let mut generator = GeneratorConfig::default();
        let engine = std::env::var("HEARTH_ENGINE")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .or(config.generation.engine.clone());
        if let Some(name) = engine {
            generator.engine = Engine::parse(name.trim()).ok_or_else(|| {
                AppError::Invalid(format!(
                    "[generation] engine (or HEARTH_ENGINE) `{name}`: expected hearth or candle"
                ))
            })?;
        }
        if let Some(max) = config.generation.max_context {
            if max < 16 {
                return Err(AppError::Invalid(
                    "[generation] max_context must be at least 16 tokens".into(),
                ));
            }
            generator.max_context = max;
        }
        Ok(Self {
            file,
            data_dir: DataDir::new(data_dir),
            models: config.models,
            embedder,
            codec,
            search,
            assistant: config.assistant,
            generator,
            prices: config.prices,
            cloud: config.cloud,
        })
    }

    /// The cloud endpoint and policy, when one is configured (in `[cloud]`,
    /// or by HEARTH_CLOUD_BASE_URL and HEARTH_CLOUD_MODEL alone). Per-source
    /// rules are checked against the sources of `data`'s ingest manifest.
    pub fn cloud(&self, data: &DataDir) -> Result<Option<(CloudConfig, CloudPolicy)>, AppError> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let section = self.cloud.clone().unwrap_or_default();
        let base_url = env("HEARTH_CLOUD_BASE_URL").or(section.base_url.clone());
        let model = env("HEARTH_CLOUD_MODEL").or(section.model.clone());
        let (base_url, model) = match (base_url, model) {
            (Some(u), Some(m)) => (u, m),
            (None, None) if self.cloud.is_none() => return Ok(None),
            _ => {
                return Err(AppError::Invalid(
                    "[cloud] needs both base_url and model (or HEARTH_CLOUD_BASE_URL and HEARTH_CLOUD_MODEL)".into(),
                ));
            }
        };
        let mut config = CloudConfig::new(base_url, model);
        let key_env = section
            .api_key_env
            .clone()
            .unwrap_or_else(|| DEFAULT_KEY_ENV.to_owned());
        config.api_key = env(&key_env);
        if let Some(t) = section.timeout_s {
            if !(t > 0.0 && t.is_finite()) {
                return Err(AppError::Invalid(
                    "[cloud] timeout_s must be positive".into(),
                ));
            }
            config.timeout = std::time::Duration::from_secs_f64(t);
            config.read_timeout = config.read_timeout.min(config.timeout);
        }
        if let Some(n) = section.max_retries {
            config.max_retries = n;
        }
        if let Some(stream) = section.stream {
            config.stream = stream;
        }
        let parse = |v: &str, at: &str| -> Result<Exposure, AppError> {
            v.parse::<Exposure>()
                .map_err(|e| AppError::Invalid(format!("[cloud] {at}: {e}")))
        };
        let mut policy = CloudPolicy::new(match &section.policy {
            Some(p) => parse(p, "policy")?,
            None => Exposure::Redacted,
        });
        for (kind, value) in &section.kinds {
            if !hearth_ingest::SOURCE_KINDS.contains(&kind.as_str()) || kind == "auto" {
                return Err(AppError::Invalid(format!(
                    "[cloud.kinds] `{kind}` is not a source kind (mail, document, message, screenshot)"
                )));
            }
            policy = policy.with_kind(kind, parse(value, &format!("kinds.{kind}"))?);
        }
        if !section.sources.is_empty() {
            let state = hearth_ingest::IngestState::open(&data.ingest_db())?;
            let known = state.sources()?;
            for (name, value) in &section.sources {
                let source = known.iter().find(|s| &s.name == name).ok_or_else(|| {
                    AppError::Invalid(format!(
                        "[cloud.sources] names `{name}`, which is not a configured source (see `hearth source list`)"
                    ))
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
}
