//! [`AssistantSetup`]: the assistant as the config assembles it — the local
//! tiers (installed on first use), the fitted router, the task classifier,
//! the cloud tier when one is configured, and metering — for `ask`, `serve`,
//! the evals, the router fit and the demo alike.

use crate::data_dir::DataDir;
use crate::error::AppError;
use crate::hearth::Hearth;
use hearth_assistant::cloud::{CloudClient, CloudTier};
use hearth_assistant::server::EngineConfig;
use hearth_assistant::task::TaskClassifier;
use hearth_assistant::{AskOptions, Assistant, Generator, Retriever, Router, RouterConfig, Tier};
use hearth_embed::Embedder;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A tier named by a user: a local one, or `cloud` (the second value).
pub fn parse_tier(name: Option<&str>) -> Result<(Option<Tier>, bool), AppError> {
    match name.map(str::trim) {
        None => Ok((None, false)),
        Some(n) if n.eq_ignore_ascii_case("cloud") => Ok((None, true)),
        Some(n) => Ok((Some(n.parse()?), false)),
    }
}

/// How to assemble an assistant; [`AssistantSetup::build`] does it.
///
/// By default: the configured local tiers, the router fitted into the data
/// directory, the task classifier, the cloud tier when configured, and
/// metering into the data directory.
#[derive(Debug)]
pub struct AssistantSetup<'h> {
    hearth: &'h Hearth,
    forced: Option<Tier>,
    force_cloud: bool,
    meter: Option<DataDir>,
    cloud: bool,
    classifier: bool,
    router: Option<RouterSetup>,
}

#[derive(Debug, Clone)]
enum RouterSetup {
    /// The router's defaults with no cloud to escalate to.
    Unfitted,
    /// The fitted thresholds, never escalating to the cloud.
    LocalOnly,
}

impl<'h> AssistantSetup<'h> {
    /// The default setup over `hearth`.
    pub fn new(hearth: &'h Hearth) -> Self {
        Self {
            hearth,
            forced: None,
            force_cloud: false,
            meter: Some(hearth.data().clone()),
            cloud: true,
            classifier: true,
            router: None,
        }
    }

    /// Only `tier` answers (None: every configured tier).
    pub fn tier(mut self, tier: Option<Tier>) -> Self {
        self.forced = tier;
        self
    }

    /// Only the cloud answers (no local tier is loaded).
    pub fn cloud_only(mut self, force: bool) -> Self {
        self.force_cloud = force;
        self
    }

    /// Meters into `data` (None: not metered) instead of the data directory.
    pub fn meter_into(mut self, data: Option<DataDir>) -> Self {
        self.meter = data;
        self
    }

    /// Local tiers only: no cloud tier, and the router never escalates.
    pub fn local_only(mut self) -> Self {
        self.cloud = false;
        self.router = Some(RouterSetup::LocalOnly);
        self
    }

    /// The router's built-in defaults instead of the fit (what the fit
    /// itself observes under), with no cloud and no task classifier.
    pub fn unfitted(mut self) -> Self {
        self.cloud = false;
        self.classifier = false;
        self.router = Some(RouterSetup::Unfitted);
        self
    }

    /// Routes without the task classifier.
    pub fn without_task_classifier(mut self) -> Self {
        self.classifier = false;
        self
    }

    /// The fitted router config, or the defaults when no fit has run.
    pub fn router_config(&self) -> Result<RouterConfig, AppError> {
        let path = self.hearth.data().router_fit();
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| AppError::RouterFit {
                path,
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RouterConfig::default()),
            Err(source) => Err(AppError::Io { path, source }),
        }
    }

    /// The local tiers that may answer, each with its (not yet loaded)
    /// generator: the forced tier, else the configured ones (default micro +
    /// local, installed when missing, and larger only when already
    /// installed); none when only the cloud answers.
    pub fn generators(&self) -> Result<BTreeMap<Tier, Generator>, AppError> {
        if self.force_cloud {
            return Ok(BTreeMap::new());
        }
        let models = self.hearth.models();
        let wanted: Vec<Tier> = match (self.forced, &self.hearth.config().assistant.tiers) {
            (Some(t), _) => vec![t],
            (None, Some(names)) => names
                .iter()
                .map(|n| n.parse())
                .collect::<Result<_, _>>()
                .map_err(|e| AppError::Setting {
                    key: "[assistant] tiers".into(),
                    file: "the config".into(),
                    source: Box::new(e),
                })?,
            (None, None) => {
                let mut tiers = vec![Tier::Micro, Tier::Local];
                if models.is_installed(Tier::Larger.model_name()) {
                    tiers.push(Tier::Larger);
                }
                tiers
            }
        };
        let mut out = BTreeMap::new();
        for tier in wanted {
            let dir = models.ensure(tier.model_name())?;
            let generator = Generator::from_path(dir.join(tier.gguf_file()))
                .with_config(self.hearth.config().generator.clone());
            out.insert(tier, generator);
        }
        Ok(out)
    }

    /// The task-type classifier, trained on the committed examples the first
    /// time and cached in the data directory. Without it the router still
    /// works (on retrieval signals alone), so a failure is a warning.
    pub fn task_classifier(&self, embedder: &Embedder) -> Option<TaskClassifier> {
        if !self.classifier {
            return None;
        }
        let cache = self.hearth.data().classifier_cache();
        match TaskClassifier::load_or_train(embedder, &cache) {
            Ok(classifier) => Some(classifier),
            Err(e) => {
                tracing::warn!("routing without the task classifier: {e}");
                None
            }
        }
    }

    /// The cloud tier, when one is configured and this setup allows it; an
    /// error when only the cloud may answer and none is configured.
    pub fn cloud_tier(&self) -> Result<Option<CloudTier>, AppError> {
        let cloud = if self.cloud {
            self.hearth.config().cloud(self.hearth.data())?
        } else {
            None
        };
        if self.force_cloud && cloud.is_none() {
            return Err(AppError::Invalid(
                "--tier cloud needs a cloud endpoint: set base_url and model in the [cloud] table of the config (or HEARTH_CLOUD_BASE_URL and HEARTH_CLOUD_MODEL)".into(),
            ));
        }
        match cloud {
            Some((config, policy)) => Ok(Some(CloudTier::new(CloudClient::new(config)?, policy))),
            None => Ok(None),
        }
    }

    /// Request defaults: sources shown and reply length as given, else the
    /// config, else the built-in defaults; the forced tier.
    pub fn ask_options(&self, sources: Option<usize>, max_tokens: Option<usize>) -> AskOptions {
        let section = &self.hearth.config().assistant;
        let mut options = AskOptions::default();
        if let Some(k) = sources.or(section.sources) {
            options.sources = k;
        }
        if let Some(n) = max_tokens.or(section.max_tokens) {
            options.params.max_new_tokens = n;
        }
        options.tier = self.forced;
        options.force_cloud = self.force_cloud;
        options
    }

    /// The assistant over `retriever`.
    pub fn build<'a>(&self, retriever: Retriever<'a>) -> Result<Assistant<'a>, AppError> {
        let generators = self.generators()?;
        let tiers: Vec<Tier> = generators.keys().copied().collect();
        let cloud = self.cloud_tier()?;
        let router = match self.router {
            Some(RouterSetup::Unfitted) => Router::default(),
            Some(RouterSetup::LocalOnly) => Router::new(self.router_config()?, &tiers, false),
            None => {
                let routable = cloud
                    .as_ref()
                    .is_some_and(|c| !c.policy().forbids_everything());
                Router::new(self.router_config()?, &tiers, routable)
            }
        };
        let mut assistant = Assistant::new(retriever, generators, router);
        if let Some(data) = &self.meter {
            assistant =
                assistant.with_metering(data.meter_log(), self.hearth.config().prices.clone());
        }
        if let Some(cloud) = cloud {
            assistant = assistant.with_cloud(cloud);
        }
        if let Some(task) = self.task_classifier(assistant.retriever().embedder()) {
            assistant = assistant.with_task_classifier(task);
        }
        Ok(assistant)
    }

    /// What `hearth serve`'s engine runs: `generators` (None: the
    /// configured tiers), the fitted router, the cloud tier, metering and
    /// request defaults.
    pub fn engine_config(
        &self,
        embedder: Arc<Embedder>,
        generators: Option<BTreeMap<Tier, Generator>>,
        ask: AskOptions,
    ) -> Result<EngineConfig, AppError> {
        let generators = match generators {
            Some(g) => g,
            None => self.generators()?,
        };
        let task = self.task_classifier(&embedder);
        Ok(EngineConfig {
            index_dir: self.hearth.data().index(),
            embedder,
            generators,
            router: self.router_config()?,
            cloud: self.cloud_tier()?,
            meter: self
                .meter
                .as_ref()
                .map(|d| (d.meter_log(), self.hearth.config().prices.clone())),
            search: self.hearth.config().search.clone(),
            ask,
            task,
        })
    }
}
