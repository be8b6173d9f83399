//! Ranking metrics over graded judgements, as BEIR and TREC compute them:
//! nDCG@k (gain = grade, log2 discount), recall@k and MRR@k, plus a seeded
//! bootstrap confidence interval of a mean.
//!
//! ```
//! use std::collections::HashMap;
//! use hearth_eval::metrics::{mrr_at, ndcg_at, recall_at};
//! let judged = HashMap::from([("a".to_owned(), 1), ("c".to_owned(), 2)]);
//! let ranked = ["b", "c", "a"];
//! assert_eq!(recall_at(&ranked, &judged, 2), 0.5);
//! assert_eq!(mrr_at(&ranked, &judged, 10), 0.5);
//! assert!(ndcg_at(&ranked, &judged, 10) < 1.0);
//! ```

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// nDCG@k of a ranked list of document ids against graded judgements
/// (grade > 0 is relevant); 0 when nothing is judged relevant.
pub fn ndcg_at(ranked: &[&str], judged: &HashMap<String, u32>, k: usize) -> f64 {
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, id)| gain(judged.get(*id).copied().unwrap_or(0)) / discount(i))
        .sum();
    let mut ideal: Vec<u32> = judged.values().copied().filter(|&g| g > 0).collect();
    ideal.sort_unstable_by(|a, b| b.cmp(a));
    let idcg: f64 = ideal
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, &g)| gain(g) / discount(i))
        .sum();
    if idcg > 0.0 { dcg / idcg } else { 0.0 }
}

/// Share of the relevant documents found in the top `k`.
pub fn recall_at(ranked: &[&str], judged: &HashMap<String, u32>, k: usize) -> f64 {
    let relevant = judged.values().filter(|&&g| g > 0).count();
    if relevant == 0 {
        return 0.0;
    }
    let found = ranked
        .iter()
        .take(k)
        .filter(|id| judged.get(**id).is_some_and(|&g| g > 0))
        .count();
    found as f64 / relevant as f64
}

/// Reciprocal rank of the first relevant document within the top `k` (0 if none).
pub fn mrr_at(ranked: &[&str], judged: &HashMap<String, u32>, k: usize) -> f64 {
    ranked
        .iter()
        .take(k)
        .position(|id| judged.get(*id).is_some_and(|&g| g > 0))
        .map_or(0.0, |p| 1.0 / (p + 1) as f64)
}

/// SQuAD-style token F1 of a reply against a gold answer: lower-cased,
/// punctuation (other than inside numbers) and articles dropped, tokens
/// matched as a multiset.
///
/// ```
/// use hearth_eval::metrics::token_f1;
/// // 3 of the reply's 6 tokens are the gold's 3: precision 0.5, recall 1.
/// let f1 = token_f1("December 4, 2025", "It expires on December 4, 2025.");
/// assert!((f1 - 2.0 / 3.0).abs() < 1e-12);
/// assert_eq!(token_f1("$7,690", "$7,690"), 1.0);
/// assert_eq!(token_f1("312 dispatchers", "nobody"), 0.0);
/// ```
pub fn token_f1(gold: &str, reply: &str) -> f64 {
    let (g, r) = (answer_tokens(gold), answer_tokens(reply));
    if g.is_empty() || r.is_empty() {
        return 0.0;
    }
    let mut left: HashMap<&str, usize> = HashMap::new();
    for t in &g {
        *left.entry(t.as_str()).or_default() += 1;
    }
    let mut common = 0usize;
    for t in &r {
        if let Some(n) = left.get_mut(t.as_str())
            && *n > 0
        {
            *n -= 1;
            common += 1;
        }
    }
    if common == 0 {
        return 0.0;
    }
    let precision = common as f64 / r.len() as f64;
    let recall = common as f64 / g.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

fn answer_tokens(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let digit = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(char::is_ascii_digit)
        };
        let inside_number = (c == '.' || c == ',' || c == ':')
            && digit(i.checked_sub(1))
            && digit(i.checked_add(1));
        if c.is_alphanumeric() || c == '$' || inside_number {
            out.extend(c.to_lowercase());
        } else {
            out.push(' ');
        }
    }
    out.split_whitespace()
        .filter(|t| !["a", "an", "the"].contains(t))
        .map(str::to_owned)
        .collect()
}

fn gain(grade: u32) -> f64 {
    f64::from(grade)
}

fn discount(position: usize) -> f64 {
    (position as f64 + 2.0).log2()
}

/// The `(1 − level)/2` and `(1 + level)/2` quantiles of the mean of
/// `values` over `resamples` bootstrap resamples, seeded (reproducible).
/// `None` for fewer than two values.
pub fn bootstrap_ci(values: &[f64], level: f64, resamples: usize, seed: u64) -> Option<(f64, f64)> {
    if values.len() < 2 || resamples == 0 {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = values.len();
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| (0..n).map(|_| values[rng.random_range(0..n)]).sum::<f64>() / n as f64)
        .collect();
    means.sort_by(f64::total_cmp);
    let at = |q: f64| means[((q * (resamples - 1) as f64).round() as usize).min(resamples - 1)];
    Some((at((1.0 - level) / 2.0), at((1.0 + level) / 2.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn judged(pairs: &[(&str, u32)]) -> HashMap<String, u32> {
        pairs.iter().map(|(d, g)| ((*d).to_owned(), *g)).collect()
    }

    #[test]
    fn ndcg_by_hand() {
        // Relevant: a (grade 1) at rank 2, c (grade 2) at rank 3.
        let j = judged(&[("a", 1), ("c", 2)]);
        let dcg = 1.0 / 3f64.log2() + 2.0 / 4f64.log2();
        let idcg = 2.0 / 2f64.log2() + 1.0 / 3f64.log2();
        let got = ndcg_at(&["b", "a", "c"], &j, 10);
        assert!((got - dcg / idcg).abs() < 1e-12, "{got}");
        assert_eq!(ndcg_at(&["c", "a"], &j, 10), 1.0);
        assert_eq!(ndcg_at(&["b"], &j, 10), 0.0);
        // Cut-off: c at rank 3 does not count at k = 2.
        assert!((ndcg_at(&["b", "a", "c"], &j, 2) - (1.0 / 3f64.log2()) / idcg).abs() < 1e-12);
        assert_eq!(ndcg_at(&["a"], &judged(&[]), 10), 0.0);
    }

    #[test]
    fn recall_and_mrr() {
        let j = judged(&[("a", 1), ("c", 1), ("z", 0)]);
        assert_eq!(recall_at(&["a", "b", "c"], &j, 2), 0.5);
        assert_eq!(recall_at(&["a", "b", "c"], &j, 3), 1.0);
        assert_eq!(mrr_at(&["b", "z", "c"], &j, 10), 1.0 / 3.0);
        assert_eq!(mrr_at(&["b", "z", "c"], &j, 2), 0.0);
    }

    #[test]
    fn bootstrap_brackets_the_mean() {
        let values: Vec<f64> = (0..50).map(|i| f64::from(i % 2)).collect();
        let (lo, hi) = bootstrap_ci(&values, 0.95, 2000, 7).unwrap();
        assert!(lo < 0.5 && hi > 0.5 && lo > 0.25 && hi < 0.75, "{lo} {hi}");
        assert_eq!(bootstrap_ci(&values, 0.95, 2000, 7), Some((lo, hi)));
        assert_eq!(bootstrap_ci(&[1.0], 0.95, 100, 7), None);
    }

    proptest! {
        /// Every metric lies in [0, 1]; a ranking of all relevant documents
        /// by grade scores 1 everywhere.
        #[test]
        fn metrics_are_bounded_and_perfect_rankings_score_one(
            grades in prop::collection::vec(0u32..4, 1..20),
            order in prop::collection::vec(0usize..20, 0..30),
            k in 1usize..15,
        ) {
            let ids: Vec<String> = (0..grades.len()).map(|i| format!("d{i}")).collect();
            let j: HashMap<String, u32> =
                ids.iter().cloned().zip(grades.iter().copied()).collect();
            let ranked: Vec<&str> = order
                .iter()
                .filter(|&&i| i < ids.len())
                .map(|&i| ids[i].as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            for m in [ndcg_at(&ranked, &j, k), recall_at(&ranked, &j, k), mrr_at(&ranked, &j, k)] {
                prop_assert!((0.0..=1.0 + 1e-12).contains(&m), "{m}");
            }
            let mut ideal: Vec<&str> = ids.iter().map(String::as_str).collect();
            ideal.sort_by_key(|id| std::cmp::Reverse(j[*id]));
            if grades.iter().any(|&g| g > 0) {
                prop_assert!((ndcg_at(&ideal, &j, k) - 1.0).abs() < 1e-9);
                prop_assert_eq!(mrr_at(&ideal, &j, k), 1.0);
                prop_assert!((recall_at(&ideal, &j, ids.len()) - 1.0).abs() < 1e-12);
            }
        }
    }
}
