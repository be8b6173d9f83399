//! The uncompressed baselines, stored row-major: exact f32 vectors, and int8
//! scalar quantization (symmetric, one f32 scale per vector: x ≈ s·c,
//! s = max|x|/127, c = round(x/s)). The f32 dot product and matrix-vector
//! product are [`hearth_quant::linalg`]'s.
//!
//! Scans are brute-force inner products over 32-row blocks, AVX2 intrinsics
//! where the CPU has them and portable loops otherwise. The f32 dot product
//! has one fixed order of operations that both paths follow exactly, so its
//! results (and hence codes) are bit-identical on every machine. The int8
//! scan quantizes the query to i16 (scale chosen so that d·127·|q|max fits an
//! i32 — 15 bits of query precision up to d ≈ 516, 14 up to d ≈ 1032, …) and
//! sums exact integer products, so its scores differ from
//! [`estimate`](super::VectorCodec::estimate) only by the query's rounding.

use rayon::prelude::*;

use super::kernel::simd_available;

/// Quantizes one vector to int8 codes; returns its scale.
pub(crate) fn quantize_i8(x: &[f32], codes: &mut [i8]) -> f32 {
    let max = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if max == 0.0 {
        codes.fill(0);
        return 0.0;
    }
    let scale = max / 127.0;
    for (c, &v) in codes.iter_mut().zip(x) {
        *c = (v / scale).round().clamp(-127.0, 127.0) as i8;
    }
    scale
}

/// Quantizes many rows (row-major, `dim` wide) in parallel, appending.
pub(crate) fn encode_i8(vectors: &[f32], dim: usize, codes: &mut Vec<i8>, scales: &mut Vec<f32>) {
    let n = vectors.len() / dim;
    let (c0, s0) = (codes.len(), scales.len());
    codes.resize(c0 + n * dim, 0);
    scales.resize(s0 + n, 0.0);
    codes[c0..]
        .par_chunks_mut(dim)
        .zip(scales[s0..].par_iter_mut())
        .zip(vectors.par_chunks(dim))
        .with_min_len(256)
        .for_each(|((c, s), x)| *s = quantize_i8(x, c));
}

/// The query as i16 with its scale, such that Σ |code·q16| < 2³¹ for `dim`
/// coordinates.
pub(crate) fn quantize_query_i16(q: &[f32]) -> (Vec<i16>, f32) {
    let limit = (i32::MAX as usize / (127 * q.len().max(1))).min(i16::MAX as usize) as f32;
    let max = q.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if max == 0.0 {
        return (vec![0; q.len()], 0.0);
    }
    let scale = max / limit;
    let q16 = q
        .iter()
        .map(|&v| (v / scale).round().clamp(-limit, limit) as i16)
        .collect();
    (q16, scale)
}

fn dot_i8_i16_portable(a: &[i8], b: &[i16]) -> i32 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| i32::from(x) * i32::from(y))
        .sum()
}

/// `out[r] = Σ rows[r]·q` in exact integer arithmetic.
pub(crate) fn i8_rows(rows: &[i8], q: &[i16], out: &mut [i32], simd: bool) {
    #[cfg(target_arch = "x86_64")]
    if simd && simd_available() {
        // SAFETY: AVX2 is available (checked just above).
        unsafe { avx2::i8_rows(rows, q, out) };
        return;
    }
    let _ = simd;
    for (o, r) in out.iter_mut().zip(rows.chunks_exact(q.len())) {
        *o = dot_i8_i16_portable(r, q);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// Σ a·b over i8 × i16: sign-extend 16 codes to i16, `vpmaddwd`, add.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn dot_i8_i16(a: &[i8], b: &[i16]) -> i32 {
        let n = a.len().min(b.len());
        let (a16, a_tail) = a[..n].as_chunks::<16>();
        let (b16, b_tail) = b[..n].as_chunks::<16>();
        let mut acc = _mm256_setzero_si256();
        for (x, y) in a16.iter().zip(b16) {
            // SAFETY: whole [i8; 16] and [i16; 16] arrays.
            let (x, y) = unsafe {
                (
                    _mm256_cvtepi8_epi16(_mm_loadu_si128(x.as_ptr().cast())),
                    _mm256_loadu_si256(y.as_ptr().cast()),
                )
            };
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(x, y));
        }
        let lo = _mm_add_epi32(
            _mm256_castsi256_si128(acc),
            _mm256_extracti128_si256::<1>(acc),
        );
        let lo = _mm_add_epi32(lo, _mm_unpackhi_epi64(lo, lo));
        let lo = _mm_add_epi32(lo, _mm_shuffle_epi32::<1>(lo));
        let mut sum = _mm_cvtsi128_si32(lo);
        for (x, y) in a_tail.iter().zip(b_tail) {
            sum += i32::from(*x) * i32::from(*y);
        }
        sum
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn i8_rows(rows: &[i8], q: &[i16], out: &mut [i32]) {
        for (o, r) in out.iter_mut().zip(rows.chunks_exact(q.len())) {
            *o = dot_i8_i16(r, q);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_quant::linalg::{dot, f32_rows};

    #[test]
    fn int8_round_trip_and_kernels() {
        let dim = 19;
        let x: Vec<f32> = (0..dim * 5)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0)
            .collect();
        let (mut codes, mut scales) = (Vec::new(), Vec::new());
        encode_i8(&x, dim, &mut codes, &mut scales);
        for (r, row) in x.chunks(dim).enumerate() {
            for (j, &v) in row.iter().enumerate() {
                let back = f32::from(codes[r * dim + j]) * scales[r];
                assert!((back - v).abs() <= scales[r] * 0.5 + 1e-6);
            }
        }
        let q: Vec<f32> = (0..dim).map(|j| (j as f32 * 0.3).cos()).collect();
        let (q16, qs) = quantize_query_i16(&q);
        let mut a = vec![0i32; 5];
        let mut b = vec![0i32; 5];
        i8_rows(&codes, &q16, &mut a, true);
        i8_rows(&codes, &q16, &mut b, false);
        assert_eq!(a, b);
        let mut f = vec![0.0f32; 5];
        f32_rows(&x, &q, &mut f, true);
        for r in 0..5 {
            let exact = dot(&x[r * dim..(r + 1) * dim], &q);
            assert!((f[r] - exact).abs() < 1e-5);
            let approx = a[r] as f32 * qs * scales[r];
            assert!((approx - exact).abs() < 0.05, "{approx} {exact}");
        }
        assert_eq!(quantize_i8(&[0.0; 4], &mut [0; 4]), 0.0);
    }

    #[test]
    fn query_scale_never_overflows() {
        for dim in [1, 384, 1024, 4096, 100_000] {
            let (q16, _) = quantize_query_i16(&vec![-1.0; dim]);
            let worst: i64 = q16.iter().map(|&v| i64::from(v).abs() * 127).sum();
            assert!(worst <= i64::from(i32::MAX), "{dim}");
        }
    }
}
