//! Search over an [`Index`]: a compressed scan of the resident codes picks
//! `rerank × k` candidates, which are rescored exactly against their
//! full-precision vectors read from the Parquet segments; BM25 ranks the chunk
//! text; hybrid fuses both lists by reciprocal rank fusion. Filters become a row
//! mask before any scoring.

use crate::codec::{CodecKind, RowMask, dot};
use crate::error::StoreError;
use crate::index::{Index, SearchHit};
use crate::query::{SearchFilter, SearchMode, reciprocal_rank_fusion};
use crate::record::ChunkRecord;
use crate::resident::Resident;
use std::collections::{BTreeMap, HashMap};

/// Candidates per wanted hit that the compressed scan hands to the exact rerank,
/// unless a request says otherwise.
pub const DEFAULT_RERANK: usize = 10;

/// Each list a hybrid search fuses is this many times `k` long (at least 50).
const HYBRID_DEPTH: usize = 5;

/// One search.
///
/// ```no_run
/// # fn demo(index: &hearth_store::Index, query_vector: &[f32]) -> Result<(), hearth_store::StoreError> {
/// use hearth_store::{SearchFilter, SearchMode, SearchRequest};
/// let request = SearchRequest {
///     mode: SearchMode::Hybrid,
///     filter: SearchFilter { kinds: vec!["mail".into()], ..SearchFilter::default() },
///     ..SearchRequest::new("invoice INV-2026-0042", Some(query_vector), 10)
/// };
/// for hit in index.search_with(&request)? {
///     println!("{} {:.4} {}", hit.rank, hit.score, hit.document.uri);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SearchRequest<'a> {
    /// The query text (for BM25).
    pub text: &'a str,
    /// The query embedding (for vector search); required unless the mode is BM25.
    pub vector: Option<&'a [f32]>,
    /// Number of hits wanted.
    pub k: usize,
    /// Which ranking to run: vector, BM25 or hybrid.
    pub mode: SearchMode,
    /// Restricts which chunks can be returned; applied before scoring.
    pub filter: SearchFilter,
    /// Candidates per hit for the exact rerank (`r`); 1 disables reranking.
    pub rerank: usize,
}

impl<'a> SearchRequest<'a> {
    /// A hybrid search (vector only when there is no text) with no filter.
    pub fn new(text: &'a str, vector: Option<&'a [f32]>, k: usize) -> Self {
        Self {
            text,
            vector,
            k,
            mode: SearchMode::Hybrid,
            filter: SearchFilter::default(),
            rerank: DEFAULT_RERANK,
        }
    }
}

/// A ranked row with what each list said about it.
#[derive(Debug, Clone, Copy)]
struct Ranked {
    row: u32,
    score: f32,
    vector: Option<f32>,
    keyword: Option<f32>,
}

impl Index {
    /// The `k` live chunks whose vectors have the highest inner product with
    /// `query` (cosine, for unit vectors), best first.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<SearchHit>, StoreError> {
        self.search_with(&SearchRequest {
            mode: SearchMode::Vector,
            ..SearchRequest::new("", Some(query), k)
        })
    }

    /// Runs `request`: vector, BM25 or hybrid, filtered, best first.
    pub fn search_with(&self, request: &SearchRequest<'_>) -> Result<Vec<SearchHit>, StoreError> {
        if request.k == 0 {
            return Ok(Vec::new());
        }
        let resident = self.resident()?;
        let mask = if request.filter.is_empty() {
            None
        } else {
            Some(resident.mask(|id| self.document(id).is_some_and(|d| request.filter.matches(d))))
        };
        let allow = mask.as_ref().unwrap_or(&resident.live);
        let ranked = match request.mode {
            SearchMode::Vector => self.vector_ranked(resident, request, request.k, allow)?,
            SearchMode::Bm25 => keyword_ranked(resident, request.text, request.k, allow),
            SearchMode::Hybrid => {
                let depth = (request.k * HYBRID_DEPTH).max(50);
                let vector = match request.vector {
                    Some(_) => self.vector_ranked(resident, request, depth, allow)?,
                    None => Vec::new(),
                };
                let keyword = keyword_ranked(resident, request.text, depth, allow);
                fuse(&vector, &keyword, request.k)
            }
        };
        self.materialise(resident, &ranked)
    }

    /// Compressed scan for `rerank × n` candidates, then exact scores from disk.
    fn vector_ranked(
        &self,
        resident: &Resident,
        request: &SearchRequest<'_>,
        n: usize,
        allow: &RowMask,
    ) -> Result<Vec<Ranked>, StoreError> {
        let query = request.vector.ok_or_else(|| {
            StoreError::InvalidRecord(format!(
                "{} search needs a query vector",
                request.mode.name()
            ))
        })?;
        let dim = self.manifest().embedding.dimension;
        if query.len() != dim {
            return Err(StoreError::InvalidRecord(format!(
                "query is {}-d, index is {dim}-d",
                query.len()
            )));
        }
        let prepared = resident.codec.prepare(query)?;
        let exact = resident.codec.spec().kind == CodecKind::F32 || request.rerank <= 1;
        let depth = if exact { n } else { n * request.rerank };
        let candidates = resident
            .codec
            .scan(&resident.codes, &prepared, depth, Some(allow));
        let mut scored: Vec<(f32, u32)> = if exact {
            candidates
        } else {
            self.rerank(resident, query, &candidates)?
        };
        scored.truncate(n);
        Ok(scored
            .into_iter()
            .map(|(score, row)| Ranked {
                row,
                score,
                vector: Some(score),
                keyword: None,
            })
            .collect())
    }

    /// Exact inner products of `candidates` against their stored f32 vectors.
    fn rerank(
        &self,
        resident: &Resident,
        query: &[f32],
        candidates: &[(f32, u32)],
    ) -> Result<Vec<(f32, u32)>, StoreError> {
        let dim = query.len();
        let mut by_segment: BTreeMap<u64, Vec<(usize, u32)>> = BTreeMap::new();
        for &(_, row) in candidates {
            if let Some((seq, local)) = resident.locate(row) {
                by_segment.entry(seq).or_default().push((local, row));
            }
        }
        let mut scored = Vec::with_capacity(candidates.len());
        for (seq, mut rows) in by_segment {
            rows.sort_unstable();
            let local: Vec<usize> = rows.iter().map(|r| r.0).collect();
            let vectors = resident.file(seq)?.vectors_at(&local, dim)?;
            for (v, &(_, row)) in vectors.chunks_exact(dim).zip(&rows) {
                scored.push((dot(v, query), row));
            }
        }
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        Ok(scored)
    }

    /// Reads the chunk rows behind ranked rows, one Parquet read per segment.
    fn materialise(
        &self,
        resident: &Resident,
        ranked: &[Ranked],
    ) -> Result<Vec<SearchHit>, StoreError> {
        let mut by_segment: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        let mut located = Vec::with_capacity(ranked.len());
        for r in ranked {
            let at = resident
                .locate(r.row)
                .ok_or_else(|| StoreError::InvalidRecord(format!("row {} out of range", r.row)))?;
            by_segment.entry(at.0).or_default().push(at.1);
            located.push(at);
        }
        let mut chunks: HashMap<(u64, usize), ChunkRecord> = HashMap::new();
        for (seq, mut rows) in by_segment {
            rows.sort_unstable();
            rows.dedup();
            for (row, chunk) in rows.iter().zip(resident.file(seq)?.chunks_at(&rows)?) {
                chunks.insert((seq, *row), chunk);
            }
        }
        let mut hits = Vec::with_capacity(ranked.len());
        for (rank, (r, at)) in ranked.iter().zip(located).enumerate() {
            let chunk = chunks
                .remove(&at)
                .ok_or_else(|| StoreError::InvalidRecord("hit row not read back".into()))?;
            let document = self.document(&chunk.doc_id).cloned().ok_or_else(|| {
                StoreError::InvalidRecord(format!("chunk {} lost its document", chunk.chunk_id))
            })?;
            hits.push(SearchHit {
                rank: rank + 1,
                score: r.score,
                vector_score: r.vector,
                keyword_score: r.keyword,
                chunk,
                document,
            });
        }
        Ok(hits)
    }
}

/// BM25 over the live (and filtered) rows.
fn keyword_ranked(resident: &Resident, text: &str, n: usize, allow: &RowMask) -> Vec<Ranked> {
    let starts: HashMap<u64, u32> = resident.spans.iter().map(|s| (s.seq, s.start)).collect();
    let keep = |seq: u64, row: u32| {
        starts
            .get(&seq)
            .is_some_and(|s| allow.get((s + row) as usize))
    };
    resident
        .bm25
        .search(text, n, Some(&keep))
        .into_iter()
        .filter_map(|hit| {
            let row = resident.global(hit.segment, hit.row)?;
            Some(Ranked {
                row,
                score: hit.score,
                vector: None,
                keyword: Some(hit.score),
            })
        })
        .collect()
}

/// Reciprocal rank fusion of a vector and a keyword list, keeping both scores.
fn fuse(vector: &[Ranked], keyword: &[Ranked], k: usize) -> Vec<Ranked> {
    let v_rows: Vec<u32> = vector.iter().map(|r| r.row).collect();
    let k_rows: Vec<u32> = keyword.iter().map(|r| r.row).collect();
    let v_score: HashMap<u32, f32> = vector.iter().map(|r| (r.row, r.score)).collect();
    let k_score: HashMap<u32, f32> = keyword.iter().map(|r| (r.row, r.score)).collect();
    reciprocal_rank_fusion(&[&v_rows, &k_rows])
        .into_iter()
        .take(k)
        .map(|(row, score)| Ranked {
            row,
            score,
            vector: v_score.get(&row).copied(),
            keyword: k_score.get(&row).copied(),
        })
        .collect()
}
