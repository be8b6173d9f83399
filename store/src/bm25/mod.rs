//! BM25 keyword search over chunk text, with one postings file per segment.
//!
//! # Pieces
//!
//! * [`Tokenizer`] / [`TokenizerSpec`]: Unicode word boundaries, further split at
//!   every non-alphanumeric character, lower-cased, Latin diacritics removed,
//!   terms over 64 bytes dropped, optionally Porter2-stemmed (see
//!   `tokenizer.rs` for the rules and how they relate to FTS5's `unicode61`).
//! * [`SegmentPostings`]: one segment's inverted index (term → rows and term
//!   frequencies; row → length), built from the segment's chunk texts in row
//!   order with [`SegmentPostings::build`] and stored next to the segment as
//!   one Parquet file with [`SegmentPostings::write`] /
//!   [`SegmentPostings::read`]; the layout is documented in `io.rs`.
//! * [`LiveRows`]: a segment's live (not deleted, not superseded) rows.
//! * [`Bm25Index`]: ranks the live rows of several segments together.
//!
//! ```
//! use hearth_store::bm25::{Bm25Index, Bm25Params, LiveRows, SegmentPostings, Tokenizer, TokenizerSpec};
//! use std::sync::Arc;
//!
//! let tok = Tokenizer::new(&TokenizerSpec::default());
//! let seg1 = SegmentPostings::build(&["Invoice INV-2026-0042 from Oakline", "tile delivery"], &tok);
//! let seg2 = SegmentPostings::build(&["Oakline Builders: tiles delivered"], &tok);
//! let mut live1 = LiveRows::all(seg1.rows());
//! live1.remove(1); // row 1 of segment 1 was superseded
//! let index = Bm25Index::new(
//!     vec![(1, Arc::new(seg1), live1), (2, Arc::new(seg2), LiveRows::all(1))],
//!     Bm25Params::default(),
//!     tok,
//! );
//! let hits = index.search("tile delivery", 10, None);
//! assert_eq!((hits.len(), hits[0].segment, hits[0].row), (1, 2, 0));
//! let only_seg1 = |segment: u64, _row: u32| segment == 1;
//! assert!(index.search("oakline", 10, Some(&only_seg1)).iter().all(|h| h.segment == 1));
//! ```
//!
//! # Scoring
//!
//! For a query with distinct terms `t` (repeated query terms count once), a
//! live row `d` containing at least one of them scores
//!
//! ```text
//! score(d) = Σ_t idf(t) · tf(t, d) · (k1 + 1) / (tf(t, d) + k1 · (1 − b + b · |d| / avgdl))
//! ```
//!
//! with k1 = 1.2 and b = 0.75 by default ([`Bm25Params`]), `|d|` the row's
//! length in terms, and N (rows), avgdl and df(t) computed over the **live
//! rows of all segments** given to the index: deleted and superseded rows are
//! in no statistic. The query-time filter of [`Bm25Index::search`] is a
//! restriction only and changes no statistic, so a row's score is the same
//! with or without it. Hits come best first; equal scores are ordered by
//! segment id, then row, so results are deterministic.
//!
//! [`Idf::Lucene`] (the default) is `ln(1 + (N − df + 0.5) / (df + 0.5))`.
//! Lucene's own `BM25Similarity` (since 8.0) drops the constant `(k1 + 1)`
//! factor and quantizes lengths to one byte; neither changes the ranking much,
//! and keeping `(k1 + 1)` makes scores comparable with FTS5's.
//!
//! # Differences from SQLite FTS5's `bm25()`
//!
//! FTS5 (`fts5_aux.c`, `fts5Bm25Function`) computes the same sum with the same
//! k1 = 1.2, b = 0.75 and `(k1 + 1)` factor, in `f64`, except that:
//!
//! 1. **IDF**: FTS5 uses `ln((N − df + 0.5) / (df + 0.5))` and replaces values
//!    ≤ 0 (terms in half the rows or more) with `1e-6`. The Lucene form adds 1
//!    inside the logarithm, so it is always positive and keeps decreasing
//!    smoothly for common terms instead of flattening to ~0 at df = N/2; for
//!    rare terms the two are almost equal (`ln(1 + x)` vs `ln x` for large
//!    `x`). [`Idf::Fts5`] reproduces FTS5's formula exactly.
//! 2. **Sign**: `bm25()` returns the *negated* score (smaller is better, so
//!    `ORDER BY bm25(t)` ascends); ours is positive, larger is better.
//! 3. **Query semantics**: FTS5 scores every phrase of the MATCH expression, so
//!    a repeated term counts twice, and `MATCH 'a b'` is an implicit AND. Here
//!    terms are distinct and OR-ed: the equivalent FTS5 query is
//!    `"a" OR "b"` with distinct terms.
//! 4. **Statistics**: FTS5 takes N and avgdl from the whole table (kept up to
//!    date on DELETE) and df from a full-text query over it; here they are over
//!    the live rows of the given segments, which is the same thing when the
//!    table holds exactly the live rows.
//! 5. **Precision**: per-term weights and sums are `f32` here (relative error
//!    around 1e-7), `f64` in FTS5.
//! 6. **Tokens**: see `tokenizer.rs`; FTS5's `porter` is Porter1, ours is
//!    Porter2, so stemmed terms differ; unstemmed terms match
//!    `unicode61 remove_diacritics 2` except for the documented corner cases.
//!
//! With [`Idf::Fts5`], unstemmed terms and those caveats accounted for, scores
//! equal `−bm25()` (checked against SQLite in `tests/bm25_fts5.rs`).
//!
//! # Cost
//!
//! Postings stay in memory once read (about 8–9 bytes per posting plus the
//! term strings; [`SegmentPostings::memory_bytes`]). A search looks up each
//! query term by binary search in each segment, counts df, then accumulates
//! term-at-a-time into a dense per-segment score array and keeps the top k in a
//! heap: linear in the query terms' postings plus one zeroed `f32` per row of
//! each segment the query touches.

mod io;
mod live;
mod postings;
mod scorer;
mod tokenizer;

#[cfg(test)]
mod tests;

pub use io::FORMAT_VERSION;
pub use live::LiveRows;
pub use postings::SegmentPostings;
pub use scorer::{Bm25Hit, Bm25Index, Bm25Params, Bm25Stats, Idf};
pub use tokenizer::{MAX_TOKEN_BYTES, TOKENIZER_VERSION, Tokenizer, TokenizerSpec};
