//! The engine behind `hearth serve`: one thread that owns the index, the
//! embedder, the generators (loaded on first use, then kept) and the cloud
//! tier, and works through requests one at a time — on a small machine two
//! generations at once would only slow each other down.
//!
//! Between requests the engine reopens the index when `hearth index` has
//! committed a new manifest, so a long-running server answers from current
//! data.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::SystemTime;

use tokio::sync::{mpsc, oneshot};

use crate::answer::{Answer, AskOptions, Assistant};
use crate::cloud::CloudTier;
use crate::generate::{ChatMessage, Generation, GenerationParams, Generator, Tier};
use crate::meter::{MeterLog, PriceTable};
use crate::router::{Router, RouterConfig};
use crate::task::TaskClassifier;
use crate::{Retriever, SearchOptions};
use hearth_embed::Embedder;
use hearth_store::{Index, SearchHit};

/// What the engine is built from.
pub struct EngineConfig {
    /// The index directory, reopened when its `manifest.json` changes.
    pub index_dir: PathBuf,
    /// The embedding model the index was built with.
    pub embedder: Arc<Embedder>,
    /// Local tiers that may answer (loaded lazily).
    pub generators: BTreeMap<Tier, Generator>,
    /// The router's thresholds.
    pub router: RouterConfig,
    /// The cloud tier, when one is configured (none: local tiers only).
    pub cloud: Option<CloudTier>,
    /// Metering log and prices (none: not metered).
    pub meter: Option<(MeterLog, PriceTable)>,
    /// How searches and retrieval rank and filter by default.
    pub search: SearchOptions,
    /// Defaults of answered requests (sources shown, reply length).
    pub ask: AskOptions,
    /// Task-type classifier for the router (none: routed without it).
    pub task: Option<TaskClassifier>,
}

/// A streamed piece of a chat reply, or its end.
#[derive(Debug)]
pub enum ChatEvent {
    /// Reply text: a streamed piece, or a retrieval answer's whole accepted text.
    Token(String),
    /// A plain generation finished.
    Generated(Generation),
    /// A retrieval answer finished.
    Answered(Box<Answer>),
    /// The request failed; the error message.
    Failed(String),
}

/// Vectors of the texts, in order, and the tokens they took.
pub type Embedded = (Vec<Vec<f32>>, usize);

enum Job {
    Ask {
        question: String,
        options: AskOptions,
        events: mpsc::UnboundedSender<ChatEvent>,
    },
    Chat {
        tier: Tier,
        messages: Vec<ChatMessage>,
        params: GenerationParams,
        events: mpsc::UnboundedSender<ChatEvent>,
    },
    Embed {
        texts: Vec<String>,
        reply: oneshot::Sender<Result<Embedded, String>>,
    },
    Search {
        query: String,
        k: usize,
        options: SearchOptions,
        reply: oneshot::Sender<Result<Vec<SearchHit>, String>>,
    },
}

/// A handle to the engine thread (cheap to clone).
#[derive(Clone)]
pub struct EngineHandle {
    jobs: std_mpsc::Sender<Job>,
    info: Arc<EngineInfo>,
}

/// What the HTTP layer needs to know without asking the engine.
#[derive(Debug, Clone)]
pub struct EngineInfo {
    /// The local tiers that may answer, cheapest first.
    pub tiers: Vec<Tier>,
    /// Model name of the cloud endpoint (`None`: no cloud tier configured).
    pub cloud: Option<String>,
    /// Id of the embedding model, as `/v1/embeddings` names it.
    pub embedding_model: String,
    /// The default search options.
    pub search: SearchOptions,
    /// The defaults of answered requests.
    pub ask: AskOptions,
}

impl EngineHandle {
    /// What the engine serves, known without asking the engine thread.
    pub fn info(&self) -> &EngineInfo {
        &self.info
    }

    /// Answers `question` with retrieval; events arrive on the returned channel.
    pub fn ask(&self, question: String, options: AskOptions) -> mpsc::UnboundedReceiver<ChatEvent> {
        let (events, rx) = mpsc::unbounded_channel();
        self.send(Job::Ask {
            question,
            options,
            events,
        });
        rx
    }

    /// Plain chat on one local tier, tokens streamed.
    pub fn chat(
        &self,
        tier: Tier,
        messages: Vec<ChatMessage>,
        params: GenerationParams,
    ) -> mpsc::UnboundedReceiver<ChatEvent> {
        let (events, rx) = mpsc::unbounded_channel();
        self.send(Job::Chat {
            tier,
            messages,
            params,
            events,
        });
        rx
    }

    /// Embeddings of `texts` and the tokens they took.
    pub async fn embed(&self, texts: Vec<String>) -> Result<Embedded, String> {
        let (reply, rx) = oneshot::channel();
        self.send(Job::Embed { texts, reply });
        rx.await.map_err(|_| "the engine stopped".to_owned())?
    }

    /// The `k` best chunks for `query`.
    pub async fn search(
        &self,
        query: String,
        k: usize,
        options: SearchOptions,
    ) -> Result<Vec<SearchHit>, String> {
        let (reply, rx) = oneshot::channel();
        self.send(Job::Search {
            query,
            k,
            options,
            reply,
        });
        rx.await.map_err(|_| "the engine stopped".to_owned())?
    }

    fn send(&self, job: Job) {
        // A stopped engine drops the job; its reply channel then reports it.
        let _ = self.jobs.send(job);
    }
}

/// Starts the engine thread.
pub fn spawn(config: EngineConfig) -> std::io::Result<EngineHandle> {
    let info = Arc::new(EngineInfo {
        tiers: config.generators.keys().copied().collect(),
        cloud: config
            .cloud
            .as_ref()
            .map(|c| c.client().config().model.clone()),
        embedding_model: config.embedder.model_id().to_owned(),
        search: config.search.clone(),
        ask: config.ask.clone(),
    });
    let (jobs, rx) = std_mpsc::channel();
    std::thread::Builder::new()
        .name("hearth-engine".into())
        .spawn(move || Engine::new(config).run(rx))?;
    Ok(EngineHandle { jobs, info })
}

struct Engine {
    config: EngineConfig,
    index: Option<Index>,
    /// `manifest.json`'s (mtime, length) when the index was opened.
    opened: Option<(SystemTime, u64)>,
}

impl Engine {
    fn new(config: EngineConfig) -> Self {
        Self {
            config,
            index: None,
            opened: None,
        }
    }

    fn run(mut self, jobs: std_mpsc::Receiver<Job>) {
        for job in jobs {
            self.refresh();
            match job {
                Job::Ask {
                    question,
                    options,
                    events,
                } => {
                    let event = match self.ask(&question, &options) {
                        Ok(answer) => {
                            let _ = events.send(ChatEvent::Token(answer.text.clone()));
                            ChatEvent::Answered(Box::new(answer))
                        }
                        Err(e) => ChatEvent::Failed(e),
                    };
                    let _ = events.send(event);
                }
                Job::Chat {
                    tier,
                    messages,
                    params,
                    events,
                } => {
                    let event = match self.config.generators.get_mut(&tier) {
                        Some(generator) => match generator.generate(&messages, &params, |piece| {
                            let _ = events.send(ChatEvent::Token(piece.to_owned()));
                        }) {
                            Ok(generation) => ChatEvent::Generated(generation),
                            Err(e) => ChatEvent::Failed(e.to_string()),
                        },
                        None => ChatEvent::Failed(format!("tier {tier} is not enabled")),
                    };
                    let _ = events.send(event);
                }
                Job::Embed { texts, reply } => {
                    let _ = reply.send(self.embed(&texts));
                }
                Job::Search {
                    query,
                    k,
                    options,
                    reply,
                } => {
                    let result = match &self.index {
                        Some(index) => Retriever::new(&self.config.embedder, index)
                            .map(|r| r.with_options(options))
                            .and_then(|r| r.search(&query, k))
                            .map_err(|e| e.to_string()),
                        None => Err(no_index(&self.config.index_dir)),
                    };
                    let _ = reply.send(result);
                }
            }
        }
    }

    /// Opens the index, or reopens it when a newer manifest was committed.
    fn refresh(&mut self) {
        let manifest = self.config.index_dir.join("manifest.json");
        let stamp = std::fs::metadata(&manifest)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())));
        if stamp.is_none() || (self.index.is_some() && stamp == self.opened) {
            return;
        }
        match Index::open(&self.config.index_dir) {
            Ok(index) => {
                if self.index.is_some() {
                    tracing::info!("index changed on disk: reopened");
                }
                self.index = Some(index);
                self.opened = stamp;
                if let Some(cloud) = &mut self.config.cloud {
                    cloud.forget_names();
                }
            }
            Err(e) => tracing::warn!("could not open the index: {e}"),
        }
    }

    fn ask(&mut self, question: &str, options: &AskOptions) -> Result<Answer, String> {
        let Some(index) = &self.index else {
            return Err(no_index(&self.config.index_dir));
        };
        let retriever = Retriever::new(&self.config.embedder, index)
            .map_err(|e| e.to_string())?
            .with_options(self.config.search.clone());
        let generators = std::mem::take(&mut self.config.generators);
        let tiers: Vec<Tier> = generators.keys().copied().collect();
        let cloud = self.config.cloud.take();
        let routable = cloud
            .as_ref()
            .is_some_and(|c| !c.policy().forbids_everything());
        let router = Router::new(self.config.router.clone(), &tiers, routable);
        let mut assistant = Assistant::new(retriever, generators, router);
        if let Some((log, prices)) = &self.config.meter {
            assistant = assistant.with_metering(log.clone(), prices.clone());
        }
        if let Some(cloud) = cloud {
            assistant = assistant.with_cloud(cloud);
        }
        if let Some(task) = self.config.task.take() {
            assistant = assistant.with_task_classifier(task);
        }
        let result = assistant
            .ask(question, options, |_, _| {}, |_| {})
            .map_err(|e| e.to_string());
        let (generators, cloud, task) = assistant.into_parts();
        self.config.generators = generators;
        self.config.cloud = cloud;
        self.config.task = task;
        result
    }

    fn embed(&self, texts: &[String]) -> Result<Embedded, String> {
        let embedder = &self.config.embedder;
        let mut tokens = 0;
        for t in texts {
            tokens += embedder.token_ids(t).map_err(|e| e.to_string())?.len();
        }
        let vectors = embedder.embed(texts).map_err(|e| e.to_string())?;
        Ok((
            (0..vectors.len())
                .map(|i| vectors.row(i).to_vec())
                .collect(),
            tokens,
        ))
    }
}

fn no_index(dir: &std::path::Path) -> String {
    format!(
        "no index at {} yet: run `hearth index` first",
        dir.display()
    )
}
