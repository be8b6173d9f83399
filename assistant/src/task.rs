//! What kind of request a question is: the router's "task type" signal.
//!
//! A [`TaskClassifier`] reads the query's embedding (the same
//! all-MiniLM-L6-v2 unit vector that retrieval computes) and predicts one of
//! five [`TaskType`]s — look something up, summarise, draft, reason over
//! several facts, or chit-chat — with a confidence (the softmax probability of
//! the predicted class).
//!
//! The model is multinomial logistic regression on the centred,
//! re-normalised embedding, trained by full-batch gradient descent with
//! momentum and L2 regularisation on the committed labelled requests
//! (`assistant/data/task_examples.jsonl`, 232 of them, classes weighted to
//! balance). Measured by `assistant/tests/it/task.rs` with the int8 embedder:
//! leave-one-out accuracy 0.90, against 0.86 for nearest centroid and 0.72
//! for 5-nearest-neighbours; 0.88 (30 of 34) on a held-out set written in
//! another style, as nearest centroid. Its probabilities are usable as a
//! confidence: predictions at ≥ 0.5 are right 95% of the time (83% of the
//! queries) leave-one-out and 93% held-out. Training embeds every example
//! once; [`TaskClassifier::load_or_train`] keeps the trained parameters in a
//! JSON file keyed by the embedding model and a blake3 hash of the examples
//! and training options, so `hearth ask` does not re-embed them on every
//! call.

use std::path::Path;

use hearth_embed::{EmbedError, Embedder};
use serde::{Deserialize, Serialize};

use crate::AssistantError;

/// The committed labelled requests, one JSON object per line.
pub const COMMITTED_EXAMPLES: &str = include_str!("../data/task_examples.jsonl");

/// Version of the cache file layout (part of the cache key).
const CACHE_FORMAT: u32 = 1;

/// What a request asks the assistant to do.
///
/// ```
/// use hearth_assistant::TaskType;
/// let task: TaskType = "reason".parse()?;
/// assert_eq!(task, TaskType::Reason);
/// assert_eq!(TaskType::ChitChat.to_string(), "chitchat");
/// assert_eq!(serde_json::to_string(&TaskType::Summarise).unwrap(), "\"summarise\"");
/// # Ok::<(), hearth_assistant::TaskError>(())
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum TaskType {
    /// Find a fact in the index ("when does the quote expire?").
    #[default]
    Lookup,
    /// Condense a thread, a document or a period ("summarise the thread with …").
    #[serde(alias = "summarize")]
    Summarise,
    /// Write something new ("draft a reply to …").
    Draft,
    /// Combine, compare or compute over several facts ("how much in total …").
    Reason,
    /// Greetings, thanks, questions about the assistant, jokes.
    #[serde(alias = "chit-chat")]
    ChitChat,
}

impl TaskType {
    /// Every task type, in class-index order.
    pub const ALL: [TaskType; 5] = [
        TaskType::Lookup,
        TaskType::Summarise,
        TaskType::Draft,
        TaskType::Reason,
        TaskType::ChitChat,
    ];

    /// The serialized name: `lookup`, `summarise`, `draft`, `reason` or `chitchat`.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskType::Lookup => "lookup",
            TaskType::Summarise => "summarise",
            TaskType::Draft => "draft",
            TaskType::Reason => "reason",
            TaskType::ChitChat => "chitchat",
        }
    }

    /// Position in [`TaskType::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for TaskType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TaskType {
    type Err = TaskError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim().to_ascii_lowercase();
        match name.as_str() {
            "summarize" => return Ok(TaskType::Summarise),
            "chit-chat" | "chit_chat" => return Ok(TaskType::ChitChat),
            _ => {}
        }
        TaskType::ALL
            .into_iter()
            .find(|t| t.as_str() == name)
            .ok_or_else(|| TaskError::UnknownTask(s.to_owned()))
    }
}

/// Errors of the task classifier.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// A task name other than lookup, summarise (summarize), draft, reason or chitchat.
    #[error("unknown task `{0}` (expected lookup, summarise, draft, reason or chitchat)")]
    UnknownTask(String),
    /// A line of a labelled-examples file is not `{"text": …, "task": …}`.
    #[error("task examples line {line}: {reason}")]
    Examples {
        /// The 1-based line number in the examples file.
        line: usize,
        /// What is wrong with the line.
        reason: String,
    },
    /// The training data cannot train a classifier.
    #[error("cannot train the task classifier: {0}")]
    Training(String),
    /// The classifier was trained on another embedding model.
    #[error(
        "the task classifier was trained on {trained} ({trained_dim}-d), not {embedder} ({embedder_dim}-d)"
    )]
    ModelMismatch {
        /// Id of the embedding model the classifier was trained on.
        trained: String,
        /// Dimension of that model's vectors.
        trained_dim: usize,
        /// Id of the embedding model in use now.
        embedder: String,
        /// Dimension of the embedder's vectors.
        embedder_dim: usize,
    },
    /// Embedding the examples or the query failed.
    #[error(transparent)]
    Embed(#[from] EmbedError),
}

impl From<TaskError> for AssistantError {
    fn from(err: TaskError) -> Self {
        match err {
            TaskError::Embed(e) => AssistantError::Embed(e),
            other => AssistantError::Generation(format!("task classifier: {other}")),
        }
    }
}

/// A predicted task and the classifier's probability for it.
///
/// ```
/// use hearth_assistant::{TaskPrediction, TaskType};
/// let p = TaskPrediction { task: TaskType::ChitChat, confidence: 0.93 };
/// assert!(p.is(TaskType::ChitChat, 0.6));
/// assert!(!p.is(TaskType::ChitChat, 0.95));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct TaskPrediction {
    /// The most probable task type.
    pub task: TaskType,
    /// Softmax probability of `task` (0–1; 0 when the vector was unusable).
    pub confidence: f32,
}

impl TaskPrediction {
    /// The prediction is `task` with at least `min_confidence`.
    pub fn is(&self, task: TaskType, min_confidence: f32) -> bool {
        self.task == task && self.confidence >= min_confidence
    }
}

/// One labelled request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskExample {
    /// The request, as a user would type it.
    pub text: String,
    /// The task type it is labelled with.
    pub task: TaskType,
}

/// Parses labelled examples, one JSON object per line (blank lines and lines
/// starting with `#` are skipped).
///
/// ```
/// let examples = hearth_assistant::task::parse_examples(r#"{"text": "hi!", "task": "chitchat"}"#)?;
/// assert_eq!(examples[0].task, hearth_assistant::TaskType::ChitChat);
/// # Ok::<(), hearth_assistant::TaskError>(())
/// ```
pub fn parse_examples(jsonl: &str) -> Result<Vec<TaskExample>, TaskError> {
    let mut out = Vec::new();
    for (i, line) in jsonl.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let example: TaskExample = serde_json::from_str(line).map_err(|e| TaskError::Examples {
            line: i + 1,
            reason: e.to_string(),
        })?;
        if example.text.trim().is_empty() {
            return Err(TaskError::Examples {
                line: i + 1,
                reason: "empty text".into(),
            });
        }
        out.push(example);
    }
    Ok(out)
}

/// The committed examples ([`COMMITTED_EXAMPLES`]), parsed.
pub fn committed_examples() -> Result<Vec<TaskExample>, TaskError> {
    parse_examples(COMMITTED_EXAMPLES)
}

/// Gradient-descent settings (part of the cache key).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainOptions {
    /// Full-batch steps.
    pub steps: usize,
    /// Step size of each gradient-descent update.
    pub learning_rate: f32,
    /// Heavy-ball momentum.
    pub momentum: f32,
    /// L2 penalty on the weights (not the biases).
    pub l2: f32,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            steps: 300,
            learning_rate: 1.0,
            momentum: 0.9,
            l2: 1e-3,
        }
    }
}

/// Multinomial logistic regression over query embeddings (see the module docs).
///
/// ```no_run
/// use hearth_assistant::{TaskClassifier, TaskType};
/// # fn demo(embedder: &hearth_embed::Embedder) -> Result<(), hearth_assistant::TaskError> {
/// let classifier = TaskClassifier::load_or_train(embedder, "/tmp/task_classifier.json".as_ref())?;
/// let p = classifier.classify_text(embedder, "draft a reply to Greta")?;
/// assert_eq!(p.task, TaskType::Draft);
/// // Or from a query vector already computed for retrieval:
/// let p = classifier.classify(&embedder.embed_one("thanks!")?);
/// println!("{} {:.2}", p.task, p.confidence);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskClassifier {
    /// Embedding model the vectors come from.
    model_id: String,
    dimension: usize,
    /// blake3 of the model, examples and options (see [`TaskClassifier::cache_key`]).
    key: String,
    /// Mean training vector, subtracted before re-normalising.
    mean: Vec<f32>,
    /// `TaskType::ALL.len()` rows of `dimension` weights.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

const CLASSES: usize = TaskType::ALL.len();

impl TaskClassifier {
    /// Trains on `examples`, embedded in one batch by `embedder`.
    pub fn train(embedder: &Embedder, examples: &[TaskExample]) -> Result<Self, TaskError> {
        let options = TrainOptions::default();
        let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
        let vectors = embedder.embed(&texts)?;
        let labels: Vec<TaskType> = examples.iter().map(|e| e.task).collect();
        let mut classifier = Self::fit(vectors.dim, &vectors.data, &labels, &options)?;
        classifier.model_id = embedder.model_id().to_owned();
        classifier.key = Self::cache_key(embedder, examples, &options);
        Ok(classifier)
    }

    /// Trains on the committed examples.
    pub fn from_committed(embedder: &Embedder) -> Result<Self, TaskError> {
        Self::train(embedder, &committed_examples()?)
    }

    /// The classifier cached at `cache_path` when it was trained for this
    /// embedder on the committed examples; otherwise trains one and writes it
    /// there. A missing, stale or corrupt cache is retrained, and a cache that
    /// cannot be written is only logged.
    pub fn load_or_train(embedder: &Embedder, cache_path: &Path) -> Result<Self, TaskError> {
        let examples = committed_examples()?;
        let key = Self::cache_key(embedder, &examples, &TrainOptions::default());
        if let Some(cached) = Self::load_cached(cache_path, &key) {
            return Ok(cached);
        }
        let classifier = Self::train(embedder, &examples)?;
        if let Err(err) = classifier.save(cache_path) {
            tracing::warn!(
                "could not cache the task classifier at {}: {err}",
                cache_path.display()
            );
        }
        Ok(classifier)
    }

    /// The cache key: blake3 over the cache format, the embedder (model id,
    /// weight format, dimension), the training options and the examples.
    pub fn cache_key(
        embedder: &Embedder,
        examples: &[TaskExample],
        options: &TrainOptions,
    ) -> String {
        let model = format!(
            "{}\0{}\0{}",
            embedder.model_id(),
            embedder.weight_format(),
            embedder.dimension()
        );
        key_of(&model, examples, options)
    }

    /// The classifier in `path` if it parses, matches `key` and is well formed.
    pub fn load_cached(path: &Path, key: &str) -> Option<Self> {
        let bytes = std::fs::read(path).ok()?;
        let file: CacheFile = match serde_json::from_slice(&bytes) {
            Ok(file) => file,
            Err(err) => {
                tracing::info!(
                    "task classifier cache {} unreadable ({err}); retraining",
                    path.display()
                );
                return None;
            }
        };
        let classifier = file.classifier;
        let ok = file.format == CACHE_FORMAT && classifier.key == key && classifier.well_formed();
        if !ok {
            tracing::info!(
                "task classifier cache {} is stale; retraining",
                path.display()
            );
        }
        ok.then_some(classifier)
    }

    /// Writes the parameters to `path` (temp file, then rename).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = CacheFile {
            format: CACHE_FORMAT,
            classifier: self.clone(),
        };
        let json = serde_json::to_vec(&file).map_err(std::io::Error::other)?;
        // Per process, so two `hearth ask` runs training at once never mix bytes.
        let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
        std::fs::write(&tmp, json)?;
        std::fs::rename(&tmp, path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }

    /// Fits the model on row-major unit `vectors` of `dim` floats, one per
    /// label. Every task type needs at least one example.
    pub fn fit(
        dim: usize,
        vectors: &[f32],
        labels: &[TaskType],
        options: &TrainOptions,
    ) -> Result<Self, TaskError> {
        if dim == 0 || labels.is_empty() || vectors.len() != dim * labels.len() {
            return Err(TaskError::Training(format!(
                "{} floats for {} labels of dimension {dim}",
                vectors.len(),
                labels.len()
            )));
        }
        if vectors.iter().any(|x| !x.is_finite()) {
            return Err(TaskError::Training("non-finite vector".into()));
        }
        let mut counts = [0usize; CLASSES];
        for label in labels {
            counts[label.index()] += 1;
        }
        if let Some(missing) = TaskType::ALL.into_iter().find(|t| counts[t.index()] == 0) {
            return Err(TaskError::Training(format!("no examples of {missing}")));
        }
        let n = labels.len();
        let mut mean = vec![0f32; dim];
        for row in vectors.chunks_exact(dim) {
            mean.iter_mut()
                .zip(row)
                .for_each(|(m, x)| *m += x / n as f32);
        }
        let features: Vec<f32> = vectors
            .chunks_exact(dim)
            .flat_map(|row| centred(row, &mean))
            .collect();
        // Each class weighs as much as any other, whatever its count.
        let class_weight: Vec<f32> = counts
            .iter()
            .map(|&c| n as f32 / (CLASSES * c) as f32)
            .collect();

        let mut weights = vec![0f32; CLASSES * dim];
        let mut bias = vec![0f32; CLASSES];
        let mut velocity_w = vec![0f32; CLASSES * dim];
        let mut velocity_b = vec![0f32; CLASSES];
        let mut grad_w = vec![0f32; CLASSES * dim];
        let mut grad_b = vec![0f32; CLASSES];
        for _ in 0..options.steps {
            grad_w
                .iter_mut()
                .zip(&weights)
                .for_each(|(g, w)| *g = options.l2 * w);
            grad_b.fill(0.0);
            for (z, &label) in features.chunks_exact(dim).zip(labels) {
                let p = softmax(logits(&weights, &bias, z));
                let scale = class_weight[label.index()] / n as f32;
                for (k, pk) in p.iter().enumerate() {
                    let g = scale * (pk - f32::from(k == label.index()));
                    grad_b[k] += g;
                    grad_w[k * dim..(k + 1) * dim]
                        .iter_mut()
                        .zip(z)
                        .for_each(|(gw, x)| *gw += g * x);
                }
            }
            for ((w, v), g) in weights.iter_mut().zip(&mut velocity_w).zip(&grad_w) {
                *v = options.momentum * *v - options.learning_rate * g;
                *w += *v;
            }
            for ((b, v), g) in bias.iter_mut().zip(&mut velocity_b).zip(&grad_b) {
                *v = options.momentum * *v - options.learning_rate * g;
                *b += *v;
            }
        }
        let classifier = Self {
            model_id: String::new(),
            dimension: dim,
            key: String::new(),
            mean,
            weights,
            bias,
        };
        if !classifier.well_formed() {
            return Err(TaskError::Training("training diverged".into()));
        }
        Ok(classifier)
    }

    /// The probability of each task type (in [`TaskType::ALL`] order) for a
    /// query vector, or `None` when it has the wrong dimension or is not finite.
    pub fn probabilities(&self, query_vector: &[f32]) -> Option<[f32; CLASSES]> {
        if query_vector.len() != self.dimension || query_vector.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let z = centred(query_vector, &self.mean);
        Some(softmax(logits(&self.weights, &self.bias, &z)))
    }

    /// The most probable task for a query vector from the embedder the
    /// classifier was trained with. A vector it cannot use (wrong dimension,
    /// not finite) gets `lookup` with confidence 0, which no threshold accepts.
    pub fn classify(&self, query_vector: &[f32]) -> TaskPrediction {
        let Some(p) = self.probabilities(query_vector) else {
            tracing::warn!(
                "task classifier: unusable query vector ({} floats, expected {})",
                query_vector.len(),
                self.dimension
            );
            return TaskPrediction::default();
        };
        let (best, confidence) = p
            .iter()
            .copied()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, 0.0));
        TaskPrediction {
            task: TaskType::ALL.get(best).copied().unwrap_or_default(),
            confidence,
        }
    }

    /// Embeds `text` and classifies it; the embedder must be the model the
    /// classifier was trained on.
    pub fn classify_text(
        &self,
        embedder: &Embedder,
        text: &str,
    ) -> Result<TaskPrediction, TaskError> {
        self.check_embedder(embedder)?;
        Ok(self.classify(&embedder.embed_one(text)?))
    }

    /// Whether vectors from `embedder` are what the classifier was trained
    /// on (same model, same dimension): an error naming both when not.
    pub fn check_embedder(&self, embedder: &Embedder) -> Result<(), TaskError> {
        let matches = embedder.dimension() == self.dimension
            && (self.model_id.is_empty() || embedder.model_id() == self.model_id);
        if matches {
            Ok(())
        } else {
            Err(TaskError::ModelMismatch {
                trained: self.model_id.clone(),
                trained_dim: self.dimension,
                embedder: embedder.model_id().to_owned(),
                embedder_dim: embedder.dimension(),
            })
        }
    }

    /// The embedding model the classifier was trained on (empty after [`TaskClassifier::fit`]).
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Vector dimension.
    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// The cache key it was trained under (empty after [`TaskClassifier::fit`]).
    pub fn key(&self) -> &str {
        &self.key
    }

    fn well_formed(&self) -> bool {
        self.dimension > 0
            && self.mean.len() == self.dimension
            && self.weights.len() == CLASSES * self.dimension
            && self.bias.len() == CLASSES
            && self
                .mean
                .iter()
                .chain(&self.weights)
                .chain(&self.bias)
                .all(|x| x.is_finite())
    }
}

/// The on-disk cache.
#[derive(Serialize, Deserialize)]
struct CacheFile {
    format: u32,
    classifier: TaskClassifier,
}

fn key_of(model: &str, examples: &[TaskExample], options: &TrainOptions) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(format!("hearth task classifier {CACHE_FORMAT}\0{model}\0").as_bytes());
    hasher.update(format!("{options:?}\0").as_bytes());
    for example in examples {
        hasher.update(example.task.as_str().as_bytes());
        hasher.update(b"\t");
        hasher.update(example.text.as_bytes());
        hasher.update(b"\n");
    }
    hasher.finalize().to_hex().to_string()
}

/// `x − mean`, scaled back to unit length (unchanged direction when ~0).
fn centred(x: &[f32], mean: &[f32]) -> Vec<f32> {
    let mut z: Vec<f32> = x.iter().zip(mean).map(|(a, m)| a - m).collect();
    let norm = z.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 1e-6 {
        z.iter_mut().for_each(|v| *v /= norm);
    }
    z
}

fn logits(weights: &[f32], bias: &[f32], z: &[f32]) -> [f32; CLASSES] {
    let mut out = [0f32; CLASSES];
    for ((o, row), b) in out
        .iter_mut()
        .zip(weights.chunks_exact(z.len().max(1)))
        .zip(bias)
    {
        *o = b + row.iter().zip(z).map(|(w, x)| w * x).sum::<f32>();
    }
    out
}

fn softmax(mut logits: [f32; CLASSES]) -> [f32; CLASSES] {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for l in &mut logits {
        *l = (*l - max).exp();
        sum += *l;
    }
    logits.iter_mut().for_each(|l| *l /= sum);
    logits
}

#[cfg(test)]
mod tests;
