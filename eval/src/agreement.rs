//! Agreement between two embeddings of the same texts (a quantized model against
//! its f32 reference, or another runtime against ours): cosine per row, and how
//! much each row's top-k neighbour set is preserved.

/// Cosine of row `i` of `a` with row `i` of `b`, for every row (both row-major,
/// dimension `dim`; rows need not be normalised).
///
/// ```
/// use hearth_eval::agreement::row_cosines;
/// let c = row_cosines(&[1.0, 0.0, 0.0, 2.0], &[1.0, 0.0, 1.0, 1.0], 2);
/// assert_eq!(c[0], 1.0);
/// assert!((c[1] - 0.5f64.sqrt()).abs() < 1e-6);
/// ```
pub fn row_cosines(a: &[f32], b: &[f32], dim: usize) -> Vec<f64> {
    a.chunks_exact(dim.max(1))
        .zip(b.chunks_exact(dim.max(1)))
        .map(|(x, y)| {
            let dot: f64 = x.iter().zip(y).map(|(p, q)| f64::from(p * q)).sum();
            let nx: f64 = x.iter().map(|p| f64::from(p * p)).sum::<f64>().sqrt();
            let ny: f64 = y.iter().map(|q| f64::from(q * q)).sum::<f64>().sqrt();
            if nx == 0.0 || ny == 0.0 {
                0.0
            } else {
                dot / (nx * ny)
            }
        })
        .collect()
}

/// Mean over rows of |top-k(a) ∩ top-k(b)| / k, where top-k of a row is its `k`
/// nearest other rows by dot product within the same matrix.
///
/// ```
/// use hearth_eval::agreement::neighbour_overlap;
/// let a = [1.0, 0.0, 0.9, 0.1, 0.0, 1.0];
/// assert_eq!(neighbour_overlap(&a, &a, 2, 1), 1.0);
/// ```
pub fn neighbour_overlap(a: &[f32], b: &[f32], dim: usize, k: usize) -> f64 {
    let rows = a.len() / dim.max(1);
    if rows < 2 || k == 0 {
        return 1.0;
    }
    let k = k.min(rows - 1);
    let total: usize = (0..rows)
        .map(|i| {
            let na = neighbours(a, dim, i, k);
            let nb = neighbours(b, dim, i, k);
            na.iter().filter(|j| nb.contains(j)).count()
        })
        .sum();
    total as f64 / (rows * k) as f64
}

/// The `k` rows (other than `i`) with the largest dot product with row `i`.
fn neighbours(m: &[f32], dim: usize, i: usize, k: usize) -> Vec<usize> {
    let q = &m[i * dim..(i + 1) * dim];
    let mut scored: Vec<(f32, usize)> = m
        .chunks_exact(dim)
        .enumerate()
        .filter(|&(j, _)| j != i)
        .map(|(j, r)| (q.iter().zip(r).map(|(x, y)| x * y).sum(), j))
        .collect();
    scored.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
    scored.truncate(k);
    scored.into_iter().map(|(_, j)| j).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_drops_when_neighbours_change() {
        // Rows 0..3 on a line: 0's nearest is 1 in `a`, 3 in `b`.
        let a = [1.0, 0.0, 0.9, 0.1, 0.0, 1.0, 0.5, 0.5];
        let b = [1.0, 0.0, 0.0, 1.0, 0.1, 0.9, 0.95, 0.05];
        let o = neighbour_overlap(&a, &b, 2, 1);
        assert!((0.0..1.0).contains(&o));
        assert_eq!(neighbour_overlap(&a, &a, 2, 3), 1.0);
    }
}
