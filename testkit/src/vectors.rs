//! Seeded vector sets for search benchmarks, and the exact top-k they are
//! judged against.
//!
//! [`clustered`] draws unit vectors around random centres, with a spread of
//! cluster sizes and tightness, so neighbourhoods have the dense and sparse
//! regions real embedding sets have; pure uniform noise on the sphere would make
//! every neighbour equally far and no codec could be told apart. The vectors are
//! synthetic and benchmark output says so.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// `n` unit vectors of dimension `dim`, row-major, drawn around `n / 64 + 1`
/// centres (clusters of varied size and spread), deterministic in `seed`.
///
/// ```
/// let v = hearth_testkit::vectors::clustered(100, 8, 7);
/// assert_eq!(v.len(), 800);
/// let norm: f32 = v[..8].iter().map(|x| x * x).sum::<f32>().sqrt();
/// assert!((norm - 1.0).abs() < 1e-5);
/// ```
pub fn clustered(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let centres = n / 64 + 1;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centre: Vec<Vec<f32>> = (0..centres).map(|_| unit(&mut rng, dim)).collect();
    // Spread per centre: relative noise between 0.3 and 1.2 of the centre's norm.
    let spread: Vec<f32> = (0..centres).map(|_| rng.random_range(0.3..1.2)).collect();
    // Zipf-like cluster popularity: centre j drawn with weight 1/(j+1)^0.5.
    let weights: Vec<f64> = (0..centres)
        .map(|j| 1.0 / ((j + 1) as f64).sqrt())
        .collect();
    let total: f64 = weights.iter().sum();
    let mut cumulative = Vec::with_capacity(centres);
    let mut acc = 0.0;
    for w in &weights {
        acc += w / total;
        cumulative.push(acc);
    }
    let mut out = vec![0.0f32; n * dim];
    out.par_chunks_mut(dim * 1024)
        .enumerate()
        .for_each(|(block, rows)| {
            let mut rng = ChaCha8Rng::seed_from_u64(
                seed ^ (0x9E37_79B9_7F4A_7C15u64.wrapping_mul(block as u64 + 1)),
            );
            for row in rows.chunks_exact_mut(dim) {
                let u: f64 = rng.random();
                let j = cumulative.partition_point(|&c| c < u).min(centres - 1);
                let s = spread[j] / (dim as f32).sqrt();
                for (x, c) in row.iter_mut().zip(&centre[j]) {
                    let g: f32 = StandardNormal.sample(&mut rng);
                    *x = c + s * g;
                }
                normalise(row);
            }
        });
    out
}

fn unit(rng: &mut ChaCha8Rng, dim: usize) -> Vec<f32> {
    let mut v: Vec<f32> = (0..dim).map(|_| StandardNormal.sample(rng)).collect();
    normalise(&mut v);
    v
}

fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// The exact top-`k` rows of `base` by inner product with each query, best
/// first (ties to the lower row), computed in parallel over queries.
pub fn exact_top_k(base: &[f32], queries: &[f32], dim: usize, k: usize) -> Vec<Vec<u32>> {
    queries
        .par_chunks_exact(dim)
        .map(|q| {
            let mut scored: Vec<(f32, u32)> = base
                .chunks_exact(dim)
                .enumerate()
                .map(|(i, v)| (v.iter().zip(q).map(|(a, b)| a * b).sum(), i as u32))
                .collect();
            let k = k.min(scored.len());
            if k == 0 {
                return Vec::new();
            }
            scored.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            scored.truncate(k);
            scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            scored.into_iter().map(|(_, i)| i).collect()
        })
        .collect()
}

/// Recall@k of `found` against `truth`: the share of true top-k rows found.
pub fn recall(found: &[u32], truth: &[u32]) -> f64 {
    if truth.is_empty() {
        return 1.0;
    }
    let hit = truth.iter().filter(|t| found.contains(t)).count();
    hit as f64 / truth.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_unit_vectors_with_structure() {
        let a = clustered(2_000, 16, 3);
        assert_eq!(a, clustered(2_000, 16, 3));
        assert_ne!(a, clustered(2_000, 16, 4));
        for row in a.chunks_exact(16) {
            let n: f32 = row.iter().map(|x| x * x).sum();
            assert!((n - 1.0).abs() < 1e-4);
        }
        // Clustered: a row's nearest neighbour is far closer than a random row.
        let top = exact_top_k(&a, &a[..16 * 20], 16, 2);
        let mean_nn: f32 = top
            .iter()
            .enumerate()
            .map(|(q, t)| {
                let v = &a[t[1] as usize * 16..][..16];
                v.iter()
                    .zip(&a[q * 16..][..16])
                    .map(|(x, y)| x * y)
                    .sum::<f32>()
            })
            .sum::<f32>()
            / 20.0;
        assert!(mean_nn > 0.5, "nearest neighbours too far: {mean_nn}");
    }

    #[test]
    fn exact_top_k_and_recall() {
        let base = vec![1.0, 0.0, 0.0, 1.0, 0.7, 0.7];
        let top = exact_top_k(&base, &[1.0, 0.1], 2, 2);
        assert_eq!(top, vec![vec![0, 2]]);
        assert_eq!(recall(&[2, 5], &top[0]), 0.5);
        assert_eq!(recall(&[], &[]), 1.0);
    }
}
