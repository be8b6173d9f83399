//! Known-item retrieval suites: each item is one query with exactly one target
//! document among all the suite's documents (for example a man page's NAME
//! description as the query and the rest of the page as the target). Scored as
//! nDCG@k and recall@k from the rank of each query's own target, with exhaustive
//! cosine search so the figure measures the embedder and nothing else.
//!
//! A suite is JSONL: `{"id", "query", "text"}` per line.

use crate::EvalError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One query and its target document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownItem {
    /// Unique id of the item within its suite.
    pub id: String,
    /// The query whose only relevant document is this item's text.
    pub query: String,
    /// The target document's text.
    pub text: String,
}

/// A set of known items; every item's text is a candidate for every query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownItemSuite {
    /// The items, in file order; item `i`'s text is query `i`'s target.
    pub items: Vec<KnownItem>,
}

/// nDCG@k and recall@k of a suite (one relevant document per query).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KnownItemScores {
    /// Number of queries scored.
    pub queries: usize,
    /// The cut-off rank of both figures.
    pub k: usize,
    /// Mean nDCG@k (one relevant document, so 1/log2(rank + 1) or 0).
    pub ndcg: f64,
    /// Share of queries whose target ranks within the top `k`.
    pub recall: f64,
}

impl KnownItemSuite {
    /// Reads a JSONL suite, naming the line of any malformed entry.
    pub fn load(path: &Path) -> Result<Self, EvalError> {
        Ok(Self {
            items: crate::read_jsonl(path)?,
        })
    }

    /// The queries, in item order.
    pub fn queries(&self) -> Vec<&str> {
        self.items.iter().map(|i| i.query.as_str()).collect()
    }

    /// The documents, in item order.
    pub fn texts(&self) -> Vec<&str> {
        self.items.iter().map(|i| i.text.as_str()).collect()
    }

    /// Scores row-major unit `queries` against row-major unit `docs` (both of
    /// dimension `dim`, in item order): query `i`'s only relevant document is `i`.
    ///
    /// ```
    /// use hearth_eval::known_item::{KnownItem, KnownItemSuite};
    /// let item = |id: &str| KnownItem { id: id.into(), query: String::new(), text: String::new() };
    /// let suite = KnownItemSuite { items: vec![item("a"), item("b")] };
    /// // Query 0 finds doc 0 first; query 1 finds doc 0 first and its own doc second.
    /// let docs = [1.0, 0.0, 0.0, 1.0];
    /// let queries = [1.0, 0.0, 0.8, 0.6];
    /// let s = suite.score(&queries, &docs, 2, 10);
    /// assert_eq!(s.recall, 1.0);
    /// assert!((s.ndcg - (1.0 + 1.0 / 3f64.log2()) / 2.0).abs() < 1e-12);
    /// ```
    pub fn score(&self, queries: &[f32], docs: &[f32], dim: usize, k: usize) -> KnownItemScores {
        let ranks = target_ranks(queries, docs, dim);
        scores_from_ranks(&ranks, k)
    }
}

/// 1-based rank of document `i` for query `i` under exhaustive dot-product search
/// (ties count against the target).
pub fn target_ranks(queries: &[f32], docs: &[f32], dim: usize) -> Vec<usize> {
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let docs: Vec<&[f32]> = docs.chunks_exact(dim.max(1)).collect();
    queries
        .chunks_exact(dim.max(1))
        .enumerate()
        .map(|(i, q)| {
            let Some(target) = docs.get(i) else {
                return usize::MAX;
            };
            let own = dot(q, target);
            1 + docs
                .iter()
                .enumerate()
                .filter(|&(j, d)| j != i && dot(q, d) >= own)
                .count()
        })
        .collect()
}

/// nDCG@k and recall@k from 1-based target ranks.
pub fn scores_from_ranks(ranks: &[usize], k: usize) -> KnownItemScores {
    let n = ranks.len().max(1) as f64;
    let hits = ranks.iter().filter(|&&r| r <= k);
    let ndcg = hits
        .clone()
        .map(|&r| 1.0 / ((r + 1) as f64).log2())
        .sum::<f64>()
        / n;
    KnownItemScores {
        queries: ranks.len(),
        k,
        ndcg,
        recall: hits.count() as f64 / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_and_scores() {
        // Two documents on the axes; query 1 prefers document 0.
        let docs = [1.0, 0.0, 0.0, 1.0];
        let queries = [0.9, 0.1, 0.9, 0.1];
        assert_eq!(target_ranks(&queries, &docs, 2), vec![1, 2]);
        let s = scores_from_ranks(&[1, 2, 11], 10);
        assert_eq!(s.queries, 3);
        assert!((s.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((s.ndcg - (1.0 + 1.0 / 3f64.log2()) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn committed_suite_loads() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/known-item/manpages.jsonl");
        let suite = KnownItemSuite::load(&path).unwrap();
        assert!(suite.items.len() >= 200);
        assert!(
            suite
                .items
                .iter()
                .all(|i| !i.query.is_empty() && i.text.len() >= 300)
        );
    }
}
