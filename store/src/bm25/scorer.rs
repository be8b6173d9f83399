//! `Bm25Index`: BM25 ranking over several segments' postings, with corpus
//! statistics over the live rows of all of them and an optional query-time
//! row filter.

use super::live::LiveRows;
use super::postings::SegmentPostings;
use super::tokenizer::Tokenizer;
use crate::StoreError;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashSet};
use std::sync::Arc;

/// How a term's inverse document frequency is computed from the number of
/// live rows `N` and the number of live rows containing the term `df`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Idf {
    /// `ln(1 + (N − df + 0.5) / (df + 0.5))`, Lucene's BM25 IDF: always
    /// positive and decreasing smoothly as a term gets more common.
    #[default]
    Lucene,
    /// `ln((N − df + 0.5) / (df + 0.5))`, replaced by `1e-6` where that is not
    /// positive (terms in at least half the rows), as SQLite FTS5's `bm25()`.
    Fts5,
}

impl Idf {
    /// The IDF of a term in `df` of `n` rows.
    pub fn weight(self, n: u64, df: u64) -> f64 {
        let (n, df) = (n as f64, df as f64);
        let ratio = (n - df + 0.5) / (df + 0.5);
        match self {
            Idf::Lucene => ratio.ln_1p(),
            Idf::Fts5 => match ratio.ln() {
                idf if idf > 0.0 => idf,
                _ => 1e-6,
            },
        }
    }
}

/// BM25 parameters. The defaults are k1 = 1.2, b = 0.75 and [`Idf::Lucene`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bm25Params {
    /// Term-frequency saturation; 0 ignores repeats. Must be finite and ≥ 0.
    pub k1: f32,
    /// Length normalisation, 0 (none) to 1 (full).
    pub b: f32,
    /// The IDF formula.
    pub idf: Idf,
}

impl Default for Bm25Params {
    fn default() -> Self {
        Self {
            k1: 1.2,
            b: 0.75,
            idf: Idf::Lucene,
        }
    }
}

/// One ranked row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bm25Hit {
    /// BM25 score, positive, higher is better.
    pub score: f32,
    /// The segment's id, as given to [`Bm25Index::new`].
    pub segment: u64,
    /// Row of the chunk within the segment's chunks table.
    pub row: u32,
}

/// Corpus statistics of a [`Bm25Index`], over live rows only.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bm25Stats {
    /// Number of live rows (N).
    pub docs: u64,
    /// Mean length in terms of the live rows (avgdl); 0 without live rows.
    pub avg_doc_len: f64,
}

struct Segment {
    id: u64,
    postings: Arc<SegmentPostings>,
    live: LiveRows,
    /// Per row: `k1 · (1 − b + b · len / avgdl)`, the BM25 length norm.
    norms: Vec<f32>,
}

/// BM25 search over several segments (see the module docs of `bm25`).
pub struct Bm25Index {
    segments: Vec<Segment>,
    params: Bm25Params,
    tok: Tokenizer,
    stats: Bm25Stats,
}

impl Bm25Index {
    /// An index over `segments`: (segment id, its postings, its live rows as a
    /// [`LiveRows`] or a `Vec<bool>`). Statistics are computed over the live
    /// rows of all segments together.
    ///
    /// Lenient: inconsistent input is logged (`tracing::warn!`) and repaired
    /// rather than refused: a live-row set longer or shorter than its
    /// segment is cut or padded with dead rows, out-of-range parameters fall
    /// back to the defaults, and postings built with another tokenizer spec
    /// than `tok`'s are used as they are (queries will miss). Use
    /// [`Bm25Index::try_new`] to get an error instead.
    pub fn new<L: Into<LiveRows>>(
        segments: Vec<(u64, Arc<SegmentPostings>, L)>,
        params: Bm25Params,
        tok: Tokenizer,
    ) -> Self {
        let segments = segments.into_iter().map(|(id, p, l)| (id, p, l.into()));
        // The lenient build repairs instead of failing; the fallback is moot.
        Self::build(segments.collect(), params, tok, false).unwrap_or_else(|e| {
            tracing::warn!("{e}");
            Self::empty()
        })
    }

    /// Like [`Bm25Index::new`] but strict: fails if segment ids repeat, a
    /// live-row set does not cover exactly its segment's rows, a segment's
    /// postings were built with another tokenizer spec than `tok`'s, or the
    /// parameters are out of range (k1 finite and ≥ 0, b in 0..=1).
    pub fn try_new<L: Into<LiveRows>>(
        segments: Vec<(u64, Arc<SegmentPostings>, L)>,
        params: Bm25Params,
        tok: Tokenizer,
    ) -> Result<Self, StoreError> {
        let segments = segments.into_iter().map(|(id, p, l)| (id, p, l.into()));
        Self::build(segments.collect(), params, tok, true)
    }

    fn empty() -> Self {
        Self {
            segments: Vec::new(),
            params: Bm25Params::default(),
            tok: Tokenizer::new(&Default::default()),
            stats: Bm25Stats {
                docs: 0,
                avg_doc_len: 0.0,
            },
        }
    }

    fn build(
        segments: Vec<(u64, Arc<SegmentPostings>, LiveRows)>,
        mut params: Bm25Params,
        tok: Tokenizer,
        strict: bool,
    ) -> Result<Self, StoreError> {
        let problem = |msg: String| -> Result<(), StoreError> {
            if strict {
                return Err(StoreError::Keyword(msg));
            }
            tracing::warn!("keyword index: {msg}");
            Ok(())
        };
        if !(params.k1.is_finite() && params.k1 >= 0.0 && (0.0..=1.0).contains(&params.b)) {
            problem(format!(
                "BM25 parameters out of range: k1 = {}, b = {}; using the defaults",
                params.k1, params.b
            ))?;
            params = Bm25Params {
                idf: params.idf,
                ..Bm25Params::default()
            };
        }
        let mut ids = HashSet::new();
        let (mut docs, mut total_len) = (0u64, 0u64);
        let mut checked = Vec::with_capacity(segments.len());
        for (id, postings, mut live) in segments {
            if !ids.insert(id) {
                problem(format!("segment {id} given twice"))?;
            }
            if live.len() != postings.rows() {
                problem(format!(
                    "segment {id}: live-row set covers {} rows, the postings {}",
                    live.len(),
                    postings.rows()
                ))?;
                live = LiveRows::from_words(live.words().to_vec(), postings.rows());
            }
            if postings.spec() != tok.spec() {
                problem(format!(
                    "segment {id}: postings tokenized with {:?}, queries with {:?}; rebuild them",
                    postings.spec(),
                    tok.spec()
                ))?;
            }
            docs += live.count() as u64;
            total_len += (0u32..)
                .zip(postings.doc_lens())
                .filter(|&(row, _)| live.contains(row))
                .map(|(_, &len)| u64::from(len))
                .sum::<u64>();
            checked.push((id, postings, live));
        }
        let avg_doc_len = if docs == 0 {
            0.0
        } else {
            total_len as f64 / docs as f64
        };
        // With no terms at all nothing can match; any positive avgdl will do.
        let avgdl = if avg_doc_len > 0.0 { avg_doc_len } else { 1.0 };
        let (k1, b) = (f64::from(params.k1), f64::from(params.b));
        let mut segments: Vec<Segment> = checked
            .into_iter()
            .map(|(id, postings, live)| {
                let norms = postings
                    .doc_lens()
                    .iter()
                    .map(|&len| (k1 * (1.0 - b + b * f64::from(len) / avgdl)) as f32)
                    .collect();
                Segment {
                    id,
                    postings,
                    live,
                    norms,
                }
            })
            .collect();
        segments.sort_by_key(|s| s.id);
        Ok(Self {
            segments,
            params,
            tok,
            stats: Bm25Stats { docs, avg_doc_len },
        })
    }

    /// Approximate memory held for search, in bytes: the per-row norms and
    /// live-row sets, plus every segment's postings (shared with the caller
    /// through the `Arc`s, but counted here once per index).
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self
                .segments
                .iter()
                .map(|s| {
                    std::mem::size_of::<Segment>()
                        + s.norms.capacity() * std::mem::size_of::<f32>()
                        + std::mem::size_of_val(s.live.words())
                        + s.postings.memory_bytes()
                })
                .sum::<usize>()
    }

    /// N and avgdl over the live rows.
    pub fn stats(&self) -> Bm25Stats {
        self.stats
    }

    /// The parameters the index scores with.
    pub fn params(&self) -> &Bm25Params {
        &self.params
    }

    /// Number of live rows containing the (already tokenized) `term`.
    pub fn doc_freq(&self, term: &str) -> u64 {
        self.segments
            .iter()
            .filter_map(|s| {
                let (rows, _) = s.postings.postings(term)?;
                Some(if s.live.is_full() {
                    rows.len() as u64
                } else {
                    rows.iter().filter(|&&r| s.live.contains(r)).count() as u64
                })
            })
            .sum()
    }

    /// The `k` best live rows for `query`, best first; equal scores are
    /// ordered by segment id, then row.
    ///
    /// The query is tokenized like the chunks; its distinct terms are OR-ed
    /// (a row matching any of them is a candidate) and each contributes
    /// `idf · tf · (k1 + 1) / (tf + k1 · (1 − b + b · len / avgdl))`.
    /// A query without terms, or with only unknown terms, returns nothing.
    ///
    /// `allow(segment, row)`, if given, restricts the search: it is called
    /// once for each live row that contains a query term, before that row is
    /// scored, and a row it rejects is neither scored nor returned. It does not
    /// change N, avgdl or df, which stay those of all live rows, so a row's
    /// score does not depend on the filter.
    pub fn search(
        &self,
        query: &str,
        k: usize,
        allow: Option<&dyn Fn(u64, u32) -> bool>,
    ) -> Vec<Bm25Hit> {
        if k == 0 {
            return Vec::new();
        }
        let mut terms: Vec<String> = Vec::new();
        self.tok.for_each_token(query, |t| {
            if !terms.iter().any(|seen| seen == t) {
                terms.push(t.to_owned());
            }
        });
        let factor = f64::from(self.params.k1) + 1.0;
        let weights: Vec<(&str, f32)> = terms
            .iter()
            .filter_map(|term| {
                let df = self.doc_freq(term);
                let idf = self.params.idf.weight(self.stats.docs, df);
                (df > 0).then_some((term.as_str(), (idf * factor) as f32))
            })
            .collect();

        let mut heap = BinaryHeap::with_capacity(k.saturating_add(1).min(4096));
        let mut scores = Vec::new();
        let mut touched = Vec::new();
        for seg in &self.segments {
            scores.clear();
            touched.clear();
            for &(term, weight) in &weights {
                let Some((rows, tfs)) = seg.postings.postings(term) else {
                    continue;
                };
                if scores.is_empty() {
                    scores.resize(seg.norms.len(), 0.0f32);
                }
                for (&row, &tf) in rows.iter().zip(tfs) {
                    if !seg.live.is_full() && !seg.live.contains(row) {
                        continue;
                    }
                    let (Some(score), Some(&norm)) =
                        (scores.get_mut(row as usize), seg.norms.get(row as usize))
                    else {
                        continue;
                    };
                    if *score == 0.0 {
                        // First time this row is seen: consult the filter.
                        if allow.is_some_and(|allow| !allow(seg.id, row)) {
                            *score = f32::NEG_INFINITY;
                            continue;
                        }
                        touched.push(row);
                    } else if *score == f32::NEG_INFINITY {
                        continue;
                    }
                    let tf = tf as f32;
                    *score += weight * tf / (tf + norm);
                }
            }
            for &row in &touched {
                let Some(&score) = scores.get(row as usize) else {
                    continue;
                };
                let hit = Ranked(Bm25Hit {
                    score,
                    segment: seg.id,
                    row,
                });
                if heap.len() < k {
                    heap.push(hit);
                } else if heap.peek().is_some_and(|worst| hit < *worst) {
                    heap.pop();
                    heap.push(hit);
                }
            }
        }
        heap.into_sorted_vec().into_iter().map(|r| r.0).collect()
    }
}

impl std::fmt::Debug for Bm25Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bm25Index")
            .field("segments", &self.segments.len())
            .field("params", &self.params)
            .field("tokenizer", &self.tok)
            .field("stats", &self.stats)
            .finish()
    }
}

/// A hit ordered so that better hits are *smaller*: the max-heap's top is the
/// worst kept hit, and an ascending sort lists the best first.
struct Ranked(Bm25Hit);

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .0
            .score
            .total_cmp(&self.0.score)
            .then(self.0.segment.cmp(&other.0.segment))
            .then(self.0.row.cmp(&other.0.row))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ranked {}
