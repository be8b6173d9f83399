//! Search through the public API: the compressed scan + exact rerank against an
//! exact f32 scan, BM25, hybrid fusion, filters pushed down, tombstones, codec
//! switches and compaction.

use hearth_store::codec::CodecSpec;
use hearth_store::{
    ChunkRecord, CompactionPolicy, DocumentRecord, EmbeddingSpec, Index, IndexWriter, SearchFilter,
    SearchMode, SearchRequest,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;

const DIM: usize = 64;
const WORDS: [&str; 12] = [
    "harbour",
    "invoice",
    "dentist",
    "lighthouse",
    "meadow",
    "quartz",
    "saffron",
    "tundra",
    "violin",
    "walnut",
    "yodel",
    "zephyr",
];

fn spec() -> EmbeddingSpec {
    EmbeddingSpec {
        model_id: "test-model".into(),
        dimension: DIM,
    }
}

fn random_unit(rng: &mut ChaCha8Rng) -> Vec<f32> {
    let v: Vec<f32> = (0..DIM).map(|_| rng.random_range(-1.0..1.0)).collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / n).collect()
}

/// Document `i`: kind by i % 3, dated day i, one participant of four, 5 chunks
/// whose text names two words and the document number.
fn corpus(n_docs: usize, seed: u64) -> (Vec<DocumentRecord>, Vec<ChunkRecord>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let kinds = ["mail", "document", "message"];
    let people = [
        "Alice <alice@example.com>",
        "Bob <bob@example.com>",
        "Carol <carol@x.org>",
        "Dan <dan@x.org>",
    ];
    let mut docs = Vec::new();
    let mut chunks = Vec::new();
    for i in 0..n_docs {
        let id = format!("doc{i}");
        docs.push(DocumentRecord {
            doc_id: id.clone(),
            kind: kinds[i % 3].into(),
            uri: format!("file:///data/{}/{id}", kinds[i % 3]),
            title: format!("title {i}"),
            participants: vec![people[i % 4].into()],
            timestamp: Some(1_767_225_600 + 86_400 * i as i64),
            content_hash: format!("h{i}"),
            thread: None,
            parent: None,
            origin_path: format!("/data/{}/{id}", kinds[i % 3]),
            origin_item: None,
            chunk_count: 5,
            text_bytes: 100,
        });
        for o in 0..5u32 {
            let w1 = WORDS[(i + o as usize) % WORDS.len()];
            let w2 = WORDS[(i * 7 + o as usize) % WORDS.len()];
            chunks.push(ChunkRecord {
                chunk_id: format!("{id}-{o}"),
                doc_id: id.clone(),
                ordinal: o,
                text: format!("note {w1} and {w2} number N{i}x{o}"),
                byte_start: u64::from(o) * 20,
                byte_end: u64::from(o) * 20 + 20,
                locator: None,
                embedding: random_unit(&mut rng),
            });
        }
    }
    (docs, chunks)
}

fn build(
    dir: &std::path::Path,
    codec: &CodecSpec,
    n_docs: usize,
) -> (IndexWriter, Vec<ChunkRecord>) {
    let mut index = Index::create_writer(dir, &spec()).unwrap();
    index.set_codec(codec).unwrap();
    let (docs, chunks) = corpus(n_docs, 7);
    // Two segments, so row numbering crosses a segment boundary.
    let half = n_docs / 2;
    let (d1, d2) = docs.split_at(half);
    let (c1, c2) = chunks.split_at(half * 5);
    index.commit(d1.to_vec(), c1.to_vec(), &[]).unwrap();
    index.commit(d2.to_vec(), c2.to_vec(), &[]).unwrap();
    (index, chunks)
}

fn exact_top(
    chunks: &[ChunkRecord],
    q: &[f32],
    k: usize,
    keep: impl Fn(&ChunkRecord) -> bool,
) -> Vec<String> {
    let mut scored: Vec<(f32, &str)> = chunks
        .iter()
        .filter(|c| keep(c))
        .map(|c| {
            (
                c.embedding.iter().zip(q).map(|(a, b)| a * b).sum(),
                c.chunk_id.as_str(),
            )
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored
        .into_iter()
        .take(k)
        .map(|(_, id)| id.to_owned())
        .collect()
}

fn ids(hits: &[hearth_store::SearchHit]) -> Vec<String> {
    hits.iter().map(|h| h.chunk.chunk_id.clone()).collect()
}

fn vector_request(q: &[f32], k: usize) -> SearchRequest<'_> {
    SearchRequest {
        mode: SearchMode::Vector,
        ..SearchRequest::new("", Some(q), k)
    }
}

#[test]
fn compressed_scan_with_rerank_matches_the_exact_scan() {
    let dir = tempfile::tempdir().unwrap();
    let (index, chunks) = build(dir.path(), &CodecSpec::turboquant(4), 400);
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let mut found = 0;
    for _ in 0..20 {
        let q = random_unit(&mut rng);
        let hits = index.search_with(&vector_request(&q, 10)).unwrap();
        let truth = exact_top(&chunks, &q, 10, |_| true);
        found += ids(&hits).iter().filter(|id| truth.contains(id)).count();
        // Reranked scores are the exact inner products, best first.
        for w in hits.windows(2) {
            assert!(w[0].score >= w[1].score);
        }
        let top = chunks
            .iter()
            .find(|c| c.chunk_id == hits[0].chunk.chunk_id)
            .unwrap();
        let exact: f32 = top.embedding.iter().zip(&q).map(|(a, b)| a * b).sum();
        assert!((hits[0].score - exact).abs() < 1e-5);
        assert_eq!(hits[0].vector_score, Some(hits[0].score));
    }
    assert!(found >= 190, "recall@10 {}/200", found);
}

#[test]
fn the_f32_codec_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let (index, chunks) = build(dir.path(), &CodecSpec::f32(), 100);
    let q = random_unit(&mut ChaCha8Rng::seed_from_u64(5));
    let hits = index.search_with(&vector_request(&q, 10)).unwrap();
    assert_eq!(ids(&hits), exact_top(&chunks, &q, 10, |_| true));
    assert_eq!(index.manifest().codec, CodecSpec::f32());
}

#[test]
fn bm25_finds_exact_tokens_and_hybrid_fuses() {
    let dir = tempfile::tempdir().unwrap();
    let (index, chunks) = build(dir.path(), &CodecSpec::default(), 60);
    let hits = index
        .search_with(&SearchRequest {
            mode: SearchMode::Bm25,
            ..SearchRequest::new("N17x3", None, 5)
        })
        .unwrap();
    assert_eq!(hits[0].chunk.chunk_id, "doc17-3");
    assert!(hits[0].keyword_score.is_some() && hits[0].vector_score.is_none());

    // Hybrid: the chunk that is both the vector match and the keyword match wins.
    let target = &chunks[42];
    let hits = index
        .search_with(&SearchRequest::new(
            &target.text.clone(),
            Some(&target.embedding),
            5,
        ))
        .unwrap();
    assert_eq!(hits[0].chunk.chunk_id, target.chunk_id);
    assert!(hits[0].vector_score.is_some() && hits[0].keyword_score.is_some());
    assert!(
        (hits[0].score - 2.0 / 61.0).abs() < 1e-6,
        "rank 1 in both lists"
    );
    // Hybrid without a query vector is keyword-only; vector mode without one is an error.
    let text_only = index
        .search_with(&SearchRequest::new("N17x3", None, 3))
        .unwrap();
    assert_eq!(text_only[0].chunk.chunk_id, "doc17-3");
    assert!(index.search_with(&vector_request(&[], 3)).is_err());
}

#[test]
fn filters_are_applied_before_scoring_and_still_fill_k() {
    let dir = tempfile::tempdir().unwrap();
    let (index, chunks) = build(dir.path(), &CodecSpec::turboquant(3), 300);
    let docs: std::collections::HashMap<String, DocumentRecord> = index
        .documents()
        .map(|d| (d.doc_id.clone(), d.clone()))
        .collect();
    let q = random_unit(&mut ChaCha8Rng::seed_from_u64(11));
    let filters = [
        SearchFilter {
            kinds: vec!["message".into()],
            ..Default::default()
        },
        SearchFilter {
            after: Some(1_767_225_600 + 86_400 * 250),
            ..Default::default()
        },
        SearchFilter {
            before: Some(1_767_225_600 + 86_400 * 8),
            ..Default::default()
        },
        SearchFilter {
            participant: Some("CAROL".into()),
            ..Default::default()
        },
        SearchFilter {
            path_prefix: Some("/data/mail/".into()),
            kinds: vec!["mail".into()],
            ..Default::default()
        },
    ];
    for filter in filters {
        for mode in SearchMode::ALL {
            let hits = index
                .search_with(&SearchRequest {
                    mode,
                    filter: filter.clone(),
                    ..SearchRequest::new("harbour walnut", Some(&q), 10)
                })
                .unwrap();
            assert!(!hits.is_empty(), "{filter:?} {mode:?}");
            for h in &hits {
                assert!(
                    filter.matches(&h.document),
                    "{filter:?} let through {}",
                    h.document.doc_id
                );
            }
            if mode == SearchMode::Vector {
                let matching = chunks
                    .iter()
                    .filter(|c| filter.matches(&docs[&c.doc_id]))
                    .count();
                assert_eq!(hits.len(), 10.min(matching), "{filter:?}");
                let truth = exact_top(&chunks, &q, 10, |c| filter.matches(&docs[&c.doc_id]));
                let overlap = ids(&hits).iter().filter(|id| truth.contains(id)).count();
                assert!(overlap >= 8, "{filter:?}: {overlap}/10");
            }
        }
    }
}

#[test]
fn tombstones_hide_rows_at_once_and_compaction_drops_their_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (mut index, chunks) = build(dir.path(), &CodecSpec::turboquant(4), 40);
    let q = chunks[7].embedding.clone(); // doc1-2
    let before = index.search_with(&vector_request(&q, 5)).unwrap();
    assert_eq!(before[0].chunk.chunk_id, "doc1-2");
    index
        .commit(Vec::new(), Vec::new(), &["doc1".to_owned()])
        .unwrap();
    let after = index.search_with(&vector_request(&q, 5)).unwrap();
    assert!(after.iter().all(|h| h.document.doc_id != "doc1"));
    let bm25 = index
        .search_with(&SearchRequest {
            mode: SearchMode::Bm25,
            ..SearchRequest::new("N1x2", None, 5)
        })
        .unwrap();
    assert!(bm25.iter().all(|h| h.document.doc_id != "doc1"));

    // Supersede doc2 with a one-chunk version, then compact.
    let (docs, _) = corpus(3, 7);
    let mut v2 = docs[2].clone();
    v2.chunk_count = 1;
    v2.content_hash = "new".into();
    let new_chunk = ChunkRecord {
        text: "rewritten saffron".into(),
        ..chunks[10].clone()
    };
    index.commit(vec![v2], vec![new_chunk], &[]).unwrap();
    assert_eq!(index.dead_rows(), 5 + 5);
    // Vector scores are distinct; keyword ties are broken by row position, which
    // compaction changes, so compare vector rankings exactly.
    let results_before: Vec<Vec<String>> = (0..5)
        .map(|i| {
            ids(&index
                .search_with(&vector_request(&chunks[i * 9 + 20].embedding, 8))
                .unwrap())
        })
        .collect();
    let summary = index.compact(&CompactionPolicy::default()).unwrap();
    assert_eq!(summary.segments_before, 3);
    assert_eq!(summary.segments_after, 1);
    assert_eq!(summary.rows_before, 201);
    assert_eq!(summary.rows_after, 191);
    // The rows go; the delete stays, for devices that may still hold doc1.
    assert_eq!(summary.tombstones_dropped, 0);
    assert_eq!(index.dead_rows(), 0);
    assert_eq!(index.manifest().tombstones.len(), 1);
    assert_eq!(index.manifest().tombstones[0].doc_id, "doc1");
    // Same answers after compaction, in this handle and after a reopen.
    let reopened = Index::open(dir.path()).unwrap();
    for (i, expected) in results_before.iter().enumerate() {
        for idx in [&index, &reopened] {
            let got = ids(&idx
                .search_with(&vector_request(&chunks[i * 9 + 20].embedding, 8))
                .unwrap());
            assert_eq!(&got, expected);
        }
    }
    assert_eq!(reopened.document("doc2").unwrap().content_hash, "new");
    assert!(reopened.document("doc1").is_none());
    // Only the new segment's files remain.
    let files: HashSet<String> = std::fs::read_dir(dir.path().join("segments"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(
        files.iter().all(|f| f.starts_with("00000005.")),
        "{files:?}"
    );
}

#[test]
fn a_crash_before_the_compaction_swap_leaves_the_index_intact() {
    let dir = tempfile::tempdir().unwrap();
    let (mut index, _) = build(dir.path(), &CodecSpec::default(), 20);
    // A compaction that died after writing its output but before the manifest
    // swap leaves unreferenced files with the next sequence number.
    let seg = dir.path().join("segments");
    std::fs::write(seg.join("00000003.chunks.parquet.tmp"), b"half a file").unwrap();
    std::fs::write(seg.join("00000003.documents.parquet"), b"not parquet").unwrap();
    let reopened = Index::open(dir.path()).unwrap();
    assert_eq!(reopened.stats().documents, 20);
    assert_eq!(
        reopened
            .search_with(&SearchRequest::new("harbour", None, 3))
            .unwrap()
            .len(),
        3
    );
    // The next compaction overwrites or removes them.
    index.compact(&CompactionPolicy::default()).unwrap();
    let names: Vec<String> = std::fs::read_dir(&seg)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    assert_eq!(Index::open(dir.path()).unwrap().stats().documents, 20);
}

#[test]
fn automatic_compaction_past_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let mut index = Index::create_writer(dir.path(), &spec()).unwrap();
    let (docs, chunks) = corpus(6, 3);
    for (d, c) in docs.iter().zip(chunks.chunks(5)) {
        index.commit(vec![d.clone()], c.to_vec(), &[]).unwrap();
    }
    let policy = CompactionPolicy {
        max_segments: 4,
        ..CompactionPolicy::default()
    };
    assert!(index.needs_compaction(&policy));
    assert!(index.maybe_compact(&policy).unwrap().is_some());
    assert_eq!(index.manifest().segments.len(), 1);
    assert!(index.maybe_compact(&policy).unwrap().is_none());
}

#[test]
fn the_manifest_records_the_codec_and_switching_needs_no_reembed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut index, chunks) = build(dir.path(), &CodecSpec::turboquant(2), 50);
    let m = hearth_store::Manifest::load(dir.path()).unwrap().unwrap();
    assert_eq!(m.codec, CodecSpec::turboquant(2));
    assert!(index.set_codec(&CodecSpec::qjl(3)).unwrap());
    assert!(!index.set_codec(&CodecSpec::qjl(3)).unwrap());
    let reopened = Index::open(dir.path()).unwrap();
    assert_eq!(reopened.manifest().codec, CodecSpec::qjl(3));
    let hits = reopened
        .search_with(&vector_request(&chunks[3].embedding, 1))
        .unwrap();
    assert_eq!(hits[0].chunk.chunk_id, chunks[3].chunk_id);
}
