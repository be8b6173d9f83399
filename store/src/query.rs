//! What a search asks for: the [`SearchMode`], the metadata [`SearchFilter`]
//! pushed down before scoring, and reciprocal rank fusion of ranked lists.

use crate::StoreError;
use crate::record::DocumentRecord;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::Hash;

/// The constant of reciprocal rank fusion: each list contributes `1 / (RRF_K + rank)`.
pub const RRF_K: f32 = 60.0;

/// Which ranking a search uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// Nearest chunk vectors (compressed scan, then exact rerank).
    Vector,
    /// BM25 over the chunk text: exact names, numbers and rare words.
    Bm25,
    /// Both lists fused by reciprocal rank fusion (k = 60).
    #[default]
    Hybrid,
}

impl SearchMode {
    /// Every mode, in the order `--help` lists them.
    pub const ALL: [SearchMode; 3] = [SearchMode::Vector, SearchMode::Bm25, SearchMode::Hybrid];

    /// The name used on the command line and in the config.
    pub fn name(self) -> &'static str {
        match self {
            SearchMode::Vector => "vector",
            SearchMode::Bm25 => "bm25",
            SearchMode::Hybrid => "hybrid",
        }
    }

    /// Parses `vector`, `bm25` or `hybrid`.
    pub fn parse(name: &str) -> Result<Self, StoreError> {
        Self::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| {
                StoreError::InvalidRecord(format!(
                    "unknown search mode `{name}` (use vector, bm25 or hybrid)"
                ))
            })
    }

    /// Whether this mode needs the query embedded.
    pub fn needs_vector(self) -> bool {
        self != SearchMode::Bm25
    }

    /// Whether this mode needs the keyword index.
    pub fn needs_keywords(self) -> bool {
        self != SearchMode::Vector
    }
}

/// Metadata conditions a hit's document must meet. Evaluated once per document
/// and turned into a row mask before any vector or keyword scoring, so a narrow
/// filter never starves the top-k.
///
/// ```
/// use hearth_store::SearchFilter;
/// let filter = SearchFilter {
///     kinds: vec!["mail".into()],
///     after: Some(1_767_225_600), // 2026-01-01
///     participant: Some("alice@example.com".into()),
///     ..SearchFilter::default()
/// };
/// assert!(!filter.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchFilter {
    /// Source kinds to keep (`mail`, `document`, `message`, `screenshot`); empty keeps all.
    pub kinds: Vec<String>,
    /// Keep documents dated at or after this Unix time (undated ones are dropped).
    pub after: Option<i64>,
    /// Keep documents dated before this Unix time (undated ones are dropped).
    pub before: Option<i64>,
    /// Keep documents with a participant whose `Name <address>` contains this,
    /// case-insensitively.
    pub participant: Option<String>,
    /// Keep documents read from a file under this path prefix.
    pub path_prefix: Option<String>,
}

impl SearchFilter {
    /// True when the filter keeps every document.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// Whether `doc` passes every condition.
    pub fn matches(&self, doc: &DocumentRecord) -> bool {
        if !self.kinds.is_empty() && !self.kinds.iter().any(|k| k == &doc.kind) {
            return false;
        }
        if self.after.is_some() || self.before.is_some() {
            let Some(t) = doc.timestamp else {
                return false;
            };
            if self.after.is_some_and(|a| t < a) || self.before.is_some_and(|b| t >= b) {
                return false;
            }
        }
        if let Some(who) = &self.participant {
            let who = who.to_lowercase();
            if !doc
                .participants
                .iter()
                .any(|p| p.to_lowercase().contains(&who))
            {
                return false;
            }
        }
        if let Some(prefix) = &self.path_prefix
            && !doc.origin_path.starts_with(prefix.as_str())
            && !doc.uri.starts_with(prefix.as_str())
        {
            return false;
        }
        true
    }
}

/// Fuses ranked lists (best first) by reciprocal rank fusion: an item's score is
/// the sum over lists of `1 / (RRF_K + rank)`, rank counted from 1. Returns the
/// items by fused score, best first; ties keep the order of first appearance.
pub fn reciprocal_rank_fusion<T: Copy + Eq + Hash>(lists: &[&[T]]) -> Vec<(T, f32)> {
    let mut order: Vec<T> = Vec::new();
    let mut score: HashMap<T, f32> = HashMap::new();
    for list in lists {
        for (i, item) in list.iter().enumerate() {
            let s = score.entry(*item).or_insert_with(|| {
                order.push(*item);
                0.0
            });
            *s += 1.0 / (RRF_K + (i + 1) as f32);
        }
    }
    let mut fused: Vec<(usize, T, f32)> = order
        .into_iter()
        .enumerate()
        .map(|(first, item)| (first, item, score[&item]))
        .collect();
    fused.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    fused.into_iter().map(|(_, item, s)| (item, s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(kind: &str, ts: Option<i64>, people: &[&str], path: &str) -> DocumentRecord {
        DocumentRecord {
            doc_id: "d".into(),
            kind: kind.into(),
            uri: format!("file://{path}"),
            title: String::new(),
            participants: people.iter().map(|p| (*p).to_owned()).collect(),
            timestamp: ts,
            content_hash: String::new(),
            thread: None,
            parent: None,
            origin_path: path.into(),
            origin_item: None,
            chunk_count: 1,
            text_bytes: 1,
        }
    }

    #[test]
    fn rrf_rewards_agreement_and_keeps_first_seen_order_on_ties() {
        let fused = reciprocal_rank_fusion(&[&[1, 2, 3][..], &[3, 4][..]]);
        // 3 is in both lists: 1/63 + 1/61 beats 1's 1/61.
        assert_eq!(fused[0].0, 3);
        assert!((fused[0].1 - (1.0 / 63.0 + 1.0 / 61.0)).abs() < 1e-6);
        assert_eq!(fused[1].0, 1);
        // 2 (rank 2 in list one) and 4 (rank 2 in list two) tie: 2 was seen first.
        assert_eq!(fused[2].0, 2);
        assert_eq!(fused[3].0, 4);
        assert_eq!(fused.len(), 4);
    }

    #[test]
    fn filter_checks_every_condition() {
        let mail = doc(
            "mail",
            Some(2_000),
            &["Alice Liddell <alice@example.com>"],
            "/m/inbox.mbox",
        );
        let note = doc("document", None, &[], "/notes/a.md");
        let all = SearchFilter::default();
        assert!(all.is_empty() && all.matches(&mail) && all.matches(&note));
        let f = |g: fn(&mut SearchFilter)| {
            let mut f = SearchFilter::default();
            g(&mut f);
            f
        };
        assert!(f(|f| f.kinds = vec!["mail".into()]).matches(&mail));
        assert!(!f(|f| f.kinds = vec!["mail".into()]).matches(&note));
        assert!(f(|f| f.after = Some(2_000)).matches(&mail));
        assert!(!f(|f| f.after = Some(2_001)).matches(&mail));
        assert!(!f(|f| f.before = Some(2_000)).matches(&mail));
        assert!(
            !f(|f| f.after = Some(0)).matches(&note),
            "undated fails a date filter"
        );
        assert!(f(|f| f.participant = Some("ALICE@example".into())).matches(&mail));
        assert!(!f(|f| f.participant = Some("bob".into())).matches(&mail));
        assert!(f(|f| f.path_prefix = Some("/notes".into())).matches(&note));
        assert!(!f(|f| f.path_prefix = Some("/notes".into())).matches(&mail));
    }

    #[test]
    fn modes_round_trip_by_name() {
        for m in SearchMode::ALL {
            assert_eq!(SearchMode::parse(m.name()).unwrap(), m);
        }
        assert!(
            SearchMode::parse("fuzzy")
                .unwrap_err()
                .to_string()
                .contains("hybrid")
        );
    }
}
