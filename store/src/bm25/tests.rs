//! Unit tests of BM25 scoring across segments: hand-computed scores, filters,
//! deletions, ties and error cases.

use super::*;
use crate::StoreError;
use std::sync::Arc;

fn plain() -> Tokenizer {
    Tokenizer::new(&TokenizerSpec { stem: false })
}

fn seg(texts: &[&str]) -> Arc<SegmentPostings> {
    Arc::new(SegmentPostings::build(texts, &plain()))
}

fn index(segments: Vec<(u64, Arc<SegmentPostings>, LiveRows)>, idf: Idf) -> Bm25Index {
    let params = Bm25Params {
        idf,
        ..Bm25Params::default()
    };
    Bm25Index::try_new(segments, params, plain()).unwrap()
}

fn single(texts: &[&str], idf: Idf) -> Bm25Index {
    let p = seg(texts);
    let live = LiveRows::all(p.rows());
    index(vec![(0, p, live)], idf)
}

const TOY: [&str; 3] = [
    "apple banana apple",
    "banana cherry",
    "cherry date elderberry fig",
];

fn close(a: f32, b: f64) -> bool {
    (f64::from(a) - b).abs() <= 1e-5 * b.abs().max(1.0)
}

#[test]
fn hand_computed_scores_on_a_toy_corpus() {
    // N = 3, avgdl = (3 + 2 + 4) / 3 = 3, k1 = 1.2, b = 0.75.
    let idx = single(&TOY, Idf::Lucene);
    assert_eq!(idx.stats().docs, 3);
    assert!((idx.stats().avg_doc_len - 3.0).abs() < 1e-12);

    // "apple": df = 1, idf = ln(1 + 2.5 / 1.5) = ln(8/3); row 0 has tf 2 and
    // |d| = avgdl, so the norm is k1 and the tf part is 2 · 2.2 / (2 + 1.2).
    let hits = idx.search("APPLE", 10, None);
    assert_eq!(hits.len(), 1);
    assert_eq!((hits[0].segment, hits[0].row), (0, 0));
    let apple = (8.0f64 / 3.0).ln() * 2.0 * 2.2 / 3.2;
    assert!(close(hits[0].score, apple), "{} vs {apple}", hits[0].score);

    // "banana cherry": both df = 2, idf = ln(1 + 1.5 / 2.5) = ln 1.6.
    // Row 1 (|d| = 2, norm 1.2 · (0.25 + 0.5) = 0.9): 2 · idf · 2.2 / 1.9.
    // Row 0 (|d| = 3, norm 1.2): idf · 2.2 / 2.2.
    // Row 2 (|d| = 4, norm 1.2 · (0.25 + 1) = 1.5): idf · 2.2 / 2.5.
    let idf = 1.6f64.ln();
    let expected = [(1, 2.0 * idf * 2.2 / 1.9), (0, idf), (2, idf * 2.2 / 2.5)];
    let hits = idx.search("banana cherry banana", 10, None);
    assert_eq!(hits.len(), 3);
    for (hit, (row, score)) in hits.iter().zip(expected) {
        assert_eq!(hit.row, row);
        assert!(
            close(hit.score, score),
            "row {row}: {} vs {score}",
            hit.score
        );
    }

    // FTS5's IDF for a term in 2 of 3 rows is ln(1.5 / 2.5) < 0, clamped to 1e-6.
    let fts = single(&TOY, Idf::Fts5);
    let hits = fts.search("banana", 10, None);
    assert_eq!(hits.len(), 2);
    assert!(close(hits[0].score, 1e-6 * 2.2 / 2.2));
    let hits = fts.search("apple", 10, None);
    assert!(close(hits[0].score, (2.5f64 / 1.5).ln() * 2.0 * 2.2 / 3.2));
}

#[test]
fn idf_formulas() {
    assert!((Idf::Lucene.weight(3, 1) - (8.0f64 / 3.0).ln()).abs() < 1e-12);
    assert!((Idf::Fts5.weight(3, 1) - (2.5f64 / 1.5).ln()).abs() < 1e-12);
    assert_eq!(Idf::Fts5.weight(10, 5), 1e-6);
    assert_eq!(Idf::Fts5.weight(10, 10), 1e-6);
    assert!(Idf::Lucene.weight(10, 10) > 0.0);
    assert!(Idf::Lucene.weight(10, 9) > Idf::Lucene.weight(10, 10));
}

#[test]
fn empty_and_unknown_queries_return_nothing() {
    let idx = single(&TOY, Idf::Lucene);
    assert!(idx.search("", 10, None).is_empty());
    assert!(idx.search("  ?! — ", 10, None).is_empty());
    assert!(idx.search("zebra quokka", 10, None).is_empty());
    assert!(idx.search("apple", 0, None).is_empty());
    // Unknown terms do not disturb known ones.
    assert_eq!(
        idx.search("zebra apple", 10, None),
        idx.search("apple", 10, None)
    );
    let empty = index(vec![], Idf::Lucene);
    assert!(empty.search("apple", 10, None).is_empty());
    assert_eq!(empty.stats().docs, 0);
}

#[test]
fn top_k_truncates_best_first() {
    let texts: Vec<String> = (1..=20)
        .map(|n| "word ".repeat(n) + "filler x y z")
        .collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let idx = single(&texts, Idf::Lucene);
    let all = idx.search("word", 100, None);
    assert_eq!(all.len(), 20);
    assert!(all.windows(2).all(|w| w[0].score >= w[1].score));
    let top = idx.search("word", 5, None);
    assert_eq!(top, all[..5]);
}

#[test]
fn filter_excludes_rows_without_changing_scores() {
    let idx = single(&TOY, Idf::Lucene);
    let all = idx.search("banana cherry", 10, None);
    let calls = std::cell::Cell::new(0);
    let not_row_1 = |_seg: u64, row: u32| {
        calls.set(calls.get() + 1);
        row != 1
    };
    let filtered = idx.search("banana cherry", 10, Some(&not_row_1));
    // Called once per candidate row, even though rows 1 has two query terms.
    assert_eq!(calls.get(), 3);
    assert_eq!(filtered.len(), 2);
    assert!(filtered.iter().all(|h| h.row != 1));
    assert_eq!(filtered, [all[1], all[2]]);
    let nothing = |_: u64, _: u32| false;
    assert!(idx.search("banana cherry", 10, Some(&nothing)).is_empty());
}

#[test]
fn deleted_rows_are_excluded_from_results_and_statistics() {
    let texts = [
        "red fox jumps",
        "red red red wine and red roses",
        "blue fox",
        "red sky at night",
        "fox fox",
    ];
    // Segment 3 holds rows 0-2, segment 9 rows 3-4; row 1 of segment 3 is deleted.
    let a = seg(&texts[..3]);
    let b = seg(&texts[3..]);
    let mut live_a = LiveRows::all(3);
    live_a.remove(1);
    let split = index(vec![(9, b, LiveRows::all(2)), (3, a, live_a)], Idf::Lucene);
    // The same live rows in one segment, nothing deleted.
    let survivors = [texts[0], texts[2], texts[3], texts[4]];
    let whole = single(&survivors, Idf::Lucene);
    assert_eq!(split.stats(), whole.stats());
    assert_eq!(split.stats().docs, 4);
    assert_eq!(split.doc_freq("red"), 2);
    assert_eq!(split.doc_freq("wine"), 0);

    let map = |h: &Bm25Hit| match (h.segment, h.row) {
        (3, 0) => 0,
        (3, 2) => 1,
        (9, r) => 2 + r,
        other => panic!("dead or unknown row {other:?} returned"),
    };
    for query in ["red", "fox", "red fox wine", "night sky blue", "wine roses"] {
        let got = split.search(query, 10, None);
        let want = whole.search(query, 10, None);
        assert_eq!(got.len(), want.len(), "{query}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(map(g), w.row, "{query}");
            assert!((g.score - w.score).abs() <= 1e-6 * w.score, "{query}");
        }
    }
    assert!(split.search("wine roses", 10, None).is_empty());
}

#[test]
fn ties_break_by_segment_then_row() {
    let texts = ["same words here", "other", "same words here"];
    let idx = index(
        vec![
            (5, seg(&texts), LiveRows::all(3)),
            (2, seg(&texts), LiveRows::all(3)),
        ],
        Idf::Lucene,
    );
    let hits: Vec<(u64, u32)> = idx
        .search("same", 10, None)
        .iter()
        .map(|h| (h.segment, h.row))
        .collect();
    assert_eq!(hits, [(2, 0), (2, 2), (5, 0), (5, 2)]);
    let top: Vec<(u64, u32)> = idx
        .search("words", 3, None)
        .iter()
        .map(|h| (h.segment, h.row))
        .collect();
    assert_eq!(top, [(2, 0), (2, 2), (5, 0)]);
}

#[test]
fn construction_errors() {
    let p = seg(&TOY);
    let keyword = |r: Result<Bm25Index, StoreError>| match r {
        Err(StoreError::Keyword(msg)) => msg,
        other => panic!("expected a keyword error, got {other:?}"),
    };
    let params = Bm25Params::default();
    let msg = keyword(Bm25Index::try_new(
        vec![(1, p.clone(), LiveRows::all(2))],
        params,
        plain(),
    ));
    assert!(msg.contains("covers 2 rows"), "{msg}");
    let msg = keyword(Bm25Index::try_new(
        vec![
            (1, p.clone(), LiveRows::all(3)),
            (1, p.clone(), LiveRows::all(3)),
        ],
        params,
        plain(),
    ));
    assert!(msg.contains("twice"), "{msg}");
    let stemming = Tokenizer::new(&TokenizerSpec { stem: true });
    let msg = keyword(Bm25Index::try_new(
        vec![(1, p.clone(), LiveRows::all(3))],
        params,
        stemming,
    ));
    assert!(msg.contains("rebuild"), "{msg}");
    for (k1, b) in [(-1.0, 0.75), (f32::NAN, 0.75), (1.2, 1.5)] {
        let bad = Bm25Params {
            k1,
            b,
            idf: Idf::Lucene,
        };
        let none: Vec<(u64, Arc<SegmentPostings>, LiveRows)> = Vec::new();
        let msg = keyword(Bm25Index::try_new(none, bad, plain()));
        assert!(msg.contains("out of range"), "{msg}");
    }
}

#[test]
fn all_rows_deleted_or_empty() {
    let p = seg(&TOY);
    let idx = index(vec![(1, p, LiveRows::none(3))], Idf::Lucene);
    assert_eq!(idx.stats().docs, 0);
    assert!(idx.search("apple", 10, None).is_empty());
    let blank = single(&["", "  "], Idf::Fts5);
    assert_eq!(blank.stats().docs, 2);
    assert_eq!(blank.stats().avg_doc_len, 0.0);
    assert!(blank.search("apple", 10, None).is_empty());
}

#[test]
fn lenient_new_repairs_instead_of_failing() {
    let p = seg(&TOY);
    // A `Vec<bool>` one flag short: the missing row counts as dead.
    let idx = Bm25Index::new(
        vec![(1, p.clone(), vec![true, true])],
        Bm25Params::default(),
        plain(),
    );
    assert_eq!(idx.stats().docs, 2);
    assert!(idx.search("fig", 10, None).is_empty());
    assert_eq!(idx.search("apple", 10, None).len(), 1);
    // Out-of-range parameters fall back to the defaults (keeping the IDF).
    let bad = Bm25Params {
        k1: f32::NAN,
        b: 2.0,
        idf: Idf::Fts5,
    };
    let idx = Bm25Index::new(vec![(1, p.clone(), LiveRows::all(3))], bad, plain());
    assert_eq!(
        idx.params(),
        &Bm25Params {
            idf: Idf::Fts5,
            ..Bm25Params::default()
        }
    );
    let strict = single(&TOY, Idf::Fts5);
    let rows = |idx: &Bm25Index| -> Vec<(u32, f32)> {
        let hits = idx.search("apple cherry", 10, None);
        hits.iter().map(|h| (h.row, h.score)).collect()
    };
    assert_eq!(rows(&idx), rows(&strict));
    assert!(idx.memory_bytes() > p.memory_bytes());
}

#[test]
fn index_is_shareable_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Bm25Index>();
    send_sync::<SegmentPostings>();
    send_sync::<Tokenizer>();
}
