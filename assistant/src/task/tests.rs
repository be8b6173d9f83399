//! Unit tests of the classifier's maths on tiny synthetic vectors, the
//! names, the committed data and the cache file.

use super::*;

/// `per_class` noisy unit vectors around one axis per class, in 8-d.
fn clusters(per_class: usize) -> (Vec<f32>, Vec<TaskType>) {
    let dim = 8;
    let (mut data, mut labels) = (Vec::new(), Vec::new());
    for (c, task) in TaskType::ALL.into_iter().enumerate() {
        for i in 0..per_class {
            let mut v: Vec<f32> = (0..dim)
                .map(|j| ((c * 31 + i * 7 + j * 13) % 17) as f32 / 17.0 * 0.3)
                .collect();
            v[c] += 1.0;
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            data.extend(v.iter().map(|x| x / norm));
            labels.push(task);
        }
    }
    (data, labels)
}

#[test]
fn logistic_regression_separates_clusters_with_confident_probabilities() {
    let (data, labels) = clusters(6);
    let model = TaskClassifier::fit(8, &data, &labels, &TrainOptions::default()).unwrap();
    for (row, &label) in data.chunks_exact(8).zip(&labels) {
        let p = model.probabilities(row).unwrap();
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        let prediction = model.classify(row);
        assert_eq!(prediction.task, label);
        assert!(prediction.confidence > 0.5 && prediction.confidence <= 1.0);
    }
    // Half-way between two clusters: unsure, one of the two.
    let mut mid = vec![0f32; 8];
    mid[TaskType::Draft.index()] = std::f32::consts::FRAC_1_SQRT_2;
    mid[TaskType::Reason.index()] = std::f32::consts::FRAC_1_SQRT_2;
    let p = model.classify(&mid);
    assert!(
        matches!(p.task, TaskType::Draft | TaskType::Reason),
        "{p:?}"
    );
    assert!(p.confidence < 0.9, "{p:?}");
}

#[test]
fn unusable_vectors_and_bad_training_data_are_handled() {
    let (data, labels) = clusters(3);
    let model = TaskClassifier::fit(8, &data, &labels, &TrainOptions::default()).unwrap();
    assert_eq!(model.classify(&[0.5; 3]), TaskPrediction::default());
    assert_eq!(model.classify(&[f32::NAN; 8]).confidence, 0.0);
    let opts = TrainOptions::default();
    assert!(TaskClassifier::fit(8, &data[..8], &labels, &opts).is_err());
    let no_chitchat: Vec<TaskType> = labels
        .iter()
        .map(|&t| {
            if t == TaskType::ChitChat {
                TaskType::Lookup
            } else {
                t
            }
        })
        .collect();
    let err = TaskClassifier::fit(8, &data, &no_chitchat, &opts).unwrap_err();
    assert!(err.to_string().contains("no examples of chitchat"), "{err}");
}

#[test]
fn names_parse_and_print() {
    for task in TaskType::ALL {
        assert_eq!(task.as_str().parse::<TaskType>().unwrap(), task);
        let json = serde_json::to_string(&task).unwrap();
        assert_eq!(json, format!("\"{task}\""));
        assert_eq!(serde_json::from_str::<TaskType>(&json).unwrap(), task);
    }
    assert_eq!(
        "Summarize".parse::<TaskType>().unwrap(),
        TaskType::Summarise
    );
    assert_eq!("chit-chat".parse::<TaskType>().unwrap(), TaskType::ChitChat);
    assert!("gossip".parse::<TaskType>().is_err());
}

#[test]
fn the_committed_examples_parse_and_cover_every_task() {
    let examples = committed_examples().unwrap();
    for task in TaskType::ALL {
        let n = examples.iter().filter(|e| e.task == task).count();
        assert!(n >= 40, "{n} examples of {task}");
    }
    let err =
        parse_examples("{\"text\": \"hi\", \"task\": \"chitchat\"}\n\n{\"text\": 1}").unwrap_err();
    assert!(err.to_string().contains("line 3"), "{err}");
    assert!(parse_examples(r#"{"text": " ", "task": "draft"}"#).is_err());
}

#[test]
fn the_cache_round_trips_and_rejects_stale_or_corrupt_files() {
    let (data, labels) = clusters(3);
    let mut model = TaskClassifier::fit(8, &data, &labels, &TrainOptions::default()).unwrap();
    let examples = committed_examples().unwrap();
    let key = key_of("m\08", &examples, &TrainOptions::default());
    assert_ne!(
        key,
        key_of("m\08", &examples[1..], &TrainOptions::default())
    );
    assert_ne!(key, key_of("other\08", &examples, &TrainOptions::default()));
    let fewer_steps = TrainOptions {
        steps: 10,
        ..TrainOptions::default()
    };
    assert_ne!(key, key_of("m\08", &examples, &fewer_steps));
    model.key = key.clone();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/task.json");
    model.save(&path).unwrap();
    assert_eq!(
        TaskClassifier::load_cached(&path, &key),
        Some(model.clone())
    );
    assert_eq!(TaskClassifier::load_cached(&path, "stale"), None);
    std::fs::write(&path, b"{\"format\": 1, \"classifier\": {").unwrap();
    assert_eq!(TaskClassifier::load_cached(&path, &key), None);
    model.bias.pop();
    model.save(&path).unwrap();
    assert_eq!(TaskClassifier::load_cached(&path, &key), None);
    assert_eq!(
        TaskClassifier::load_cached(&dir.path().join("missing"), &key),
        None
    );
}
