//! Int8 matrix multiplication for the quantized encoder. Both operands hold one
//! signed byte per element in [-127, 127]. Weights have one f32 scale per output
//! channel. Activations, quantized on the fly, have one f32 scale per token plus a
//! power-of-two step per block of 32 values (a shared exponent): BERT's
//! activations have outlier dimensions, and with one plain scale per token they
//! would flatten every other value of the token to a few levels. A block whose
//! largest value is 2^s times smaller than the token's largest is quantized 2^s
//! times finer (s ≤ [`MAX_SHIFT`]), and its products are weighted by the matching
//! power of two inside the integer dot product — for free, since that weight
//! replaces the vector of ones `vpmaddwd` multiplies by anyway.
//!
//! `dst[m][n] = sa[m]·sb[n]·Σ_β 2^(MAX_SHIFT−s[m][β])·Σₖ∈β a[m][k]·b[n][k] + bias[n]`
//!
//! On x86-64 with AVX2 (detected at run time) a 2×4 register tile computes 8 dot
//! products at once, 32 bytes per step: `vpmaddubsw(|a|, sign(b, a))` then
//! `vpmaddwd` with the block weights — the sign trick keeps every pair sum
//! ≤ 2·127·127, so nothing saturates, and the i32 sums stay below 2³¹ for inner
//! dimensions up to [`MAX_INNER`]. Elsewhere a portable loop gives the same integers.

use rayon::prelude::*;

/// Values per activation block (one 32-byte SIMD step).
pub const BLOCK: usize = 32;
/// Largest power-of-two refinement of a block: blocks resolve values down to
/// 2^-6 of the token's largest at full 8-bit precision.
pub const MAX_SHIFT: u32 = 6;
/// Longest inner dimension whose i32 sums cannot overflow
/// (K/32 steps × 2 pairs × 127² × 2^MAX_SHIFT per lane < 2³¹).
pub const MAX_INNER: usize = 16_384;

/// A row-major int8 matrix with one scale per row and, for activations, one
/// power-of-two weight per block of `BLOCK` (32) columns:
/// `value[i][j] ≈ scales[i] · weights[i][j / BLOCK] · data[i][j]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuantRows {
    /// Number of rows (output channels of a weight, tokens of an activation).
    pub rows: usize,
    /// Number of columns (the inner dimension).
    pub cols: usize,
    /// The quantized values, `rows × cols`, row-major, each in [-127, 127].
    pub data: Vec<i8>,
    /// One f32 scale per row.
    pub scales: Vec<f32>,
    /// `2^(MAX_SHIFT − s)` per block; empty when every block has weight 1.
    pub weights: Vec<i16>,
}

impl QuantRows {
    /// Quantizes `src` (`rows × cols`, row-major) symmetrically per row, with one
    /// scale per row (`blockwise = false`, for weights) or per-block refinement
    /// (`blockwise = true`, for activations).
    ///
    /// ```
    /// use hearth_quant::int8::QuantRows;
    /// let q = QuantRows::quantize(&[1.0, -0.5, 0.0, 0.25], 2, 2, false);
    /// assert_eq!(q.data, vec![127, -64, 0, 127]);
    /// assert!((q.scales[0] - 1.0 / 127.0).abs() < 1e-9);
    /// ```
    pub fn quantize(src: &[f32], rows: usize, cols: usize, blockwise: bool) -> Self {
        let mut q = Self::default();
        q.quantize_from(src, rows, cols, blockwise);
        q
    }

    /// Like [`QuantRows::quantize`], reusing this matrix's buffers.
    pub fn quantize_from(&mut self, src: &[f32], rows: usize, cols: usize, blockwise: bool) {
        assert_eq!(
            src.len(),
            rows * cols,
            "quantize: {rows}×{cols} from {}",
            src.len()
        );
        self.rows = rows;
        self.cols = cols;
        self.data.resize(rows * cols, 0);
        self.scales.resize(rows, 0.0);
        let blocks = if blockwise { cols.div_ceil(BLOCK) } else { 0 };
        self.weights.resize(rows * blocks, 1);
        if cols == 0 {
            return;
        }
        let rows_iter = self
            .data
            .par_chunks_mut(cols)
            .zip(self.scales.par_iter_mut())
            .zip(src.par_chunks(cols));
        if blockwise {
            rows_iter
                .zip(self.weights.par_chunks_mut(blocks))
                .for_each(|(((out, scale), row), weights)| quantize_row(row, out, scale, weights));
        } else {
            rows_iter.for_each(|((out, scale), row)| quantize_row(row, out, scale, &mut []));
        }
    }

    fn row(&self, i: usize) -> &[i8] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Block weights of row `i` (empty when all are 1).
    fn row_weights(&self, i: usize) -> &[i16] {
        let n = self.weights.len() / self.rows.max(1);
        &self.weights[i * n..(i + 1) * n]
    }
}

crate::dispatch! {
/// One row: its scale, its block weights (if `weights` is not empty) and codes.
fn quantize_row(row: &[f32], out: &mut [i8], scale: &mut f32, weights: &mut [i16]) {
    let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
    if max == 0.0 {
        *scale = 0.0;
        out.fill(0);
        weights.fill(1 << MAX_SHIFT);
        return;
    }
    if weights.is_empty() {
        *scale = max / 127.0;
        let inv = 127.0 / max;
        for (o, v) in out.iter_mut().zip(row) {
            *o = (v * inv).round_ties_even().clamp(-127.0, 127.0) as i8;
        }
        return;
    }
    // The finest unit is the token's step divided by 2^MAX_SHIFT.
    *scale = max / 127.0 / (1u32 << MAX_SHIFT) as f32;
    for ((block, codes), weight) in row.chunks(BLOCK).zip(out.chunks_mut(BLOCK)).zip(weights) {
        let bmax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
        // Largest s with bmax · 2^s ≤ max, capped.
        let mut s = 0;
        while s < MAX_SHIFT && bmax * (2u32 << s) as f32 <= max {
            s += 1;
        }
        *weight = 1 << (MAX_SHIFT - s);
        let inv = 127.0 / max * (1u32 << s) as f32;
        for (o, v) in codes.iter_mut().zip(block) {
            *o = (v * inv).round_ties_even().clamp(-127.0, 127.0) as i8;
        }
    }
}
}

/// `dst (a.rows × b.rows) = a · bᵀ` rescaled, plus `bias` (one per row of `b`).
/// `b` (the weights) must have one scale per row and no block weights.
///
/// Panics if the shapes disagree (callers own both sides: this is not input data).
pub fn matmul_i8(a: &QuantRows, b: &QuantRows, bias: &[f32], dst: &mut [f32]) {
    let (m, n, k) = (a.rows, b.rows, a.cols);
    assert_eq!(b.cols, k, "matmul_i8: inner dimensions {k} and {}", b.cols);
    assert!(
        k <= MAX_INNER,
        "matmul_i8: inner dimension {k} > {MAX_INNER}"
    );
    assert!(
        b.weights.is_empty(),
        "matmul_i8: weights must not be blockwise"
    );
    assert_eq!(
        bias.len(),
        n,
        "matmul_i8: bias of {} for {n} outputs",
        bias.len()
    );
    assert!(
        dst.len() >= m * n,
        "matmul_i8: dst of {} for {m}×{n}",
        dst.len()
    );
    if m == 0 || n == 0 {
        return;
    }
    // Slabs of rows per task: enough work to amortise scheduling, small enough
    // that both cores stay busy on short batches.
    const SLAB: usize = 16;
    dst[..m * n]
        .par_chunks_mut(SLAB * n)
        .enumerate()
        .for_each(|(slab, out)| {
            let first = slab * SLAB;
            let rows = out.len() / n;
            slab_kernel(a, b, bias, first, rows, out);
        });
}

/// Rows `first .. first + rows` of the product into `out`.
fn slab_kernel(
    a: &QuantRows,
    b: &QuantRows,
    bias: &[f32],
    first: usize,
    rows: usize,
    out: &mut [f32],
) {
    let n = b.rows;
    #[cfg(target_arch = "x86_64")]
    if a.cols.is_multiple_of(BLOCK) && std::is_x86_feature_detected!("avx2") {
        // SAFETY: AVX2 is available (checked above).
        unsafe { avx2::slab(a, b, first, rows, out) };
    } else {
        scalar_slab(a, b, first, rows, out);
    }
    #[cfg(not(target_arch = "x86_64"))]
    scalar_slab(a, b, first, rows, out);
    for r in 0..rows {
        for c in 0..n {
            let o = &mut out[r * n + c];
            *o = a.scales[first + r] * b.scales[c] * *o + bias[c];
        }
    }
}

/// The integer dot products (as f32), portable version.
fn scalar_slab(a: &QuantRows, b: &QuantRows, first: usize, rows: usize, out: &mut [f32]) {
    let n = b.rows;
    for r in 0..rows {
        for c in 0..n {
            out[r * n + c] = weighted_dot(a, first + r, b.row(c)) as f32;
        }
    }
}

/// Σ over blocks of row `r` of `a`: block weight × integer dot with `w`.
fn weighted_dot(a: &QuantRows, r: usize, w: &[i8]) -> i64 {
    let weights = a.row_weights(r);
    a.row(r)
        .chunks(BLOCK)
        .zip(w.chunks(BLOCK))
        .enumerate()
        .map(|(i, (x, y))| i64::from(weights.get(i).copied().unwrap_or(1)) * i64::from(dot(x, y)))
        .sum()
}

fn dot(a: &[i8], b: &[i8]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum()
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{BLOCK, QuantRows, weighted_dot};
    use std::arch::x86_64::*;

    /// Column quads × row pairs of 2×4 tiles; leftover rows and columns fall back
    /// to the scalar dot product. Writes the weighted integer dots as f32.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn slab(
        a: &QuantRows,
        b: &QuantRows,
        first: usize,
        rows: usize,
        out: &mut [f32],
    ) {
        let n = b.rows;
        let steps = a.cols / BLOCK;
        // Rows without block weights (not activations) weigh every block 1.
        let ones = if a.weights.is_empty() {
            vec![1i16; steps]
        } else {
            Vec::new()
        };
        let weights_of = |r: usize| -> &[i16] {
            let w = a.row_weights(r);
            if w.is_empty() { &ones } else { w }
        };
        let quads = n / 4;
        for q in 0..quads {
            let c = q * 4;
            let cols = [b.row(c), b.row(c + 1), b.row(c + 2), b.row(c + 3)];
            let mut r = 0;
            while r + 2 <= rows {
                let rs = [a.row(first + r), a.row(first + r + 1)];
                let ws = [weights_of(first + r), weights_of(first + r + 1)];
                // SAFETY: rows hold steps·32 bytes and `steps` weights each.
                let dots = unsafe { tile::<2>(rs, ws, cols, steps) };
                for (i, row) in dots.iter().enumerate() {
                    out[(r + i) * n + c..(r + i) * n + c + 4]
                        .copy_from_slice(&row.map(|d| d as f32));
                }
                r += 2;
            }
            if r < rows {
                // SAFETY: as above.
                let dots =
                    unsafe { tile::<1>([a.row(first + r)], [weights_of(first + r)], cols, steps) };
                out[r * n + c..r * n + c + 4].copy_from_slice(&dots[0].map(|d| d as f32));
            }
        }
        for c in quads * 4..n {
            for r in 0..rows {
                out[r * n + c] = weighted_dot(a, first + r, b.row(c)) as f32;
            }
        }
    }

    /// `MR` activation rows against 4 weight rows over `steps` 32-byte blocks.
    #[target_feature(enable = "avx2")]
    #[allow(clippy::needless_range_loop)] // MR and 4 are fixed tile sizes: indices unroll
    unsafe fn tile<const MR: usize>(
        a: [&[i8]; MR],
        weights: [&[i16]; MR],
        b: [&[i8]; 4],
        steps: usize,
    ) -> [[i32; 4]; MR] {
        let mut acc = [[_mm256_setzero_si256(); 4]; MR];
        for s in 0..steps {
            let off = s * BLOCK;
            let mut x = [_mm256_setzero_si256(); MR];
            let mut ax = [_mm256_setzero_si256(); MR];
            let mut wt = [_mm256_setzero_si256(); MR];
            for i in 0..MR {
                // SAFETY: off + 32 <= steps·32 <= row length.
                x[i] = unsafe { _mm256_loadu_si256(a[i].as_ptr().add(off).cast()) };
                ax[i] = _mm256_abs_epi8(x[i]);
                wt[i] = _mm256_set1_epi16(weights[i][s]);
            }
            for j in 0..4 {
                // SAFETY: as above.
                let w = unsafe { _mm256_loadu_si256(b[j].as_ptr().add(off).cast()) };
                for i in 0..MR {
                    let p = _mm256_maddubs_epi16(ax[i], _mm256_sign_epi8(w, x[i]));
                    acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(p, wt[i]));
                }
            }
        }
        let mut out = [[0i32; 4]; MR];
        for i in 0..MR {
            out[i] = hsum4(acc[i]);
        }
        out
    }

    /// Horizontal sums of four 8×i32 vectors.
    #[target_feature(enable = "avx2")]
    fn hsum4(v: [__m256i; 4]) -> [i32; 4] {
        let s01 = _mm256_hadd_epi32(v[0], v[1]);
        let s23 = _mm256_hadd_epi32(v[2], v[3]);
        let s = _mm256_hadd_epi32(s01, s23);
        // Lanes: [0,1,2,3 | 0,1,2,3] partial sums of the low and high halves.
        let lo = _mm256_castsi256_si128(s);
        let hi = _mm256_extracti128_si256::<1>(s);
        let sum = _mm_add_epi32(lo, hi);
        let mut out = [0i32; 4];
        // SAFETY: `out` holds four i32, the width of one __m128i.
        unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), sum) };
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference(a: &QuantRows, b: &QuantRows, bias: &[f32]) -> Vec<f32> {
        let mut out = vec![0f32; a.rows * b.rows];
        for r in 0..a.rows {
            for c in 0..b.rows {
                let dot = weighted_dot(a, r, b.row(c));
                out[r * b.rows + c] = a.scales[r] * b.scales[c] * dot as f32 + bias[c];
            }
        }
        out
    }

    fn matrix(rows: usize, cols: usize) -> impl Strategy<Value = Vec<f32>> {
        prop::collection::vec(-4.0f32..4.0, rows * cols)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The SIMD tiles, tails and threading give exactly the scalar integers.
        #[test]
        fn simd_matches_scalar(m in 1usize..37, n in 1usize..11, k32 in 1usize..6, seed in any::<u64>()) {
            let k = k32 * 32;
            let _ = seed;
            let fill = |rows: usize, cols: usize, salt: u64| -> Vec<f32> {
                (0..rows * cols).map(|i| {
                    let h = (i as u64 ^ salt).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seed;
                    ((h >> 40) as f32 / (1u64 << 24) as f32) * 8.0 - 4.0
                }).collect()
            };
            let a = QuantRows::quantize(&fill(m, k, 1), m, k, true);
            let b = QuantRows::quantize(&fill(n, k, 2), n, k, false);
            let bias: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
            let mut got = vec![0f32; m * n];
            matmul_i8(&a, &b, &bias, &mut got);
            let want = reference(&a, &b, &bias);
            for (g, w) in got.iter().zip(&want) {
                prop_assert!((g - w).abs() <= 1e-4 * w.abs().max(1.0), "{g} vs {w}");
            }
        }

        /// Quantization error per element is at most half a step of its block.
        #[test]
        fn quantization_error_is_bounded(v in matrix(3, 80), blockwise in any::<bool>()) {
            let q = QuantRows::quantize(&v, 3, 80, blockwise);
            for r in 0..3 {
                for c in 0..80 {
                    let x = v[r * 80 + c];
                    let w = q.row_weights(r).get(c / BLOCK).map_or(1.0, |&w| f32::from(w));
                    let step = q.scales[r] * w;
                    let back = step * f32::from(q.data[r * 80 + c]);
                    prop_assert!((x - back).abs() <= step * 0.5 + 1e-6, "{x} vs {back}");
                }
            }
        }

        /// A block far below the token's largest value keeps its precision.
        #[test]
        fn small_blocks_are_refined(big in 10.0f32..100.0, small in 0.01f32..0.1) {
            let mut v = vec![small; 64];
            v[0] = big;
            let q = QuantRows::quantize(&v, 1, 64, true);
            let step = q.scales[0] * f32::from(q.row_weights(0)[1]);
            prop_assert!(step <= big / 127.0 / 32.0, "second block step {step}");
        }
    }

    #[test]
    fn extreme_values_do_not_saturate() {
        // All ±127: each 32-byte step sums 32 products of 127·127 with no clipping.
        let a = QuantRows {
            rows: 1,
            cols: 64,
            data: vec![-127; 64],
            scales: vec![1.0],
            weights: vec![64, 64],
        };
        let b = QuantRows {
            rows: 4,
            cols: 64,
            data: vec![-127; 256],
            scales: vec![1.0; 4],
            weights: vec![],
        };
        let mut out = vec![0f32; 4];
        matmul_i8(&a, &b, &[0.0; 4], &mut out);
        assert_eq!(out, vec![(64 * 64 * 127 * 127) as f32; 4]);
    }
}
