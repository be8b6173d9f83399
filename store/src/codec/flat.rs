//! The uncompressed baselines, stored row-major: exact f32 vectors, and int8
//! scalar quantization (symmetric, one f32 scale per vector: x ≈ s·c,
//! s = max|x|/127, c = round(x/s)); plus the f32 dot product and
//! matrix-vector product that the rotations and projections use.
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

/// Dot product in a fixed order: four 8-lane accumulators over 32-wide
/// chunks, 8-wide chunks into the first, the accumulators and then the lanes
/// combined pairwise, then a scalar tail. The AVX2 version does exactly these
/// IEEE multiplies and adds (no FMA) lane by lane, so both give the same bits.
#[inline(always)]
pub(crate) fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    #[inline(always)]
    fn mac(acc: &mut [f32; 8], x: &[f32; 8], y: &[f32; 8]) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let n = a.len().min(b.len());
    let (a8, a_tail) = a[..n].as_chunks::<8>();
    let (b8, b_tail) = b[..n].as_chunks::<8>();
    let mut s = [[0.0f32; 8]; 4];
    let mut qa = a8.chunks_exact(4);
    let mut qb = b8.chunks_exact(4);
    for (x, y) in (&mut qa).zip(&mut qb) {
        for j in 0..4 {
            mac(&mut s[j], &x[j], &y[j]);
        }
    }
    for (x, y) in qa.remainder().iter().zip(qb.remainder()) {
        mac(&mut s[0], x, y);
    }
    let mut v = [0.0f32; 8];
    for k in 0..8 {
        v[k] = (s[0][k] + s[1][k]) + (s[2][k] + s[3][k]);
    }
    let mut tail = 0.0f32;
    for (x, y) in a_tail.iter().zip(b_tail) {
        tail += x * y;
    }
    (((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]))) + tail
}

/// [`dot_portable`], with AVX2 where available (same bits).
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if simd_available() {
        // SAFETY: AVX2 is available (checked just above).
        return unsafe { avx2::dot(a, b) };
    }
    dot_portable(a, b)
}

/// `out = M · x` for a row-major `out.len()` × `x.len()` matrix, each row by
/// [`dot`] (so bit-identical on every CPU).
pub(crate) fn matvec(m: &[f32], x: &[f32], out: &mut [f32]) {
    f32_rows(m, x, out, true);
}

/// `out[r] = ⟨rows[r], q⟩` for consecutive rows of width `q.len()`.
pub(crate) fn f32_rows(rows: &[f32], q: &[f32], out: &mut [f32], simd: bool) {
    #[cfg(target_arch = "x86_64")]
    if simd && simd_available() {
        // SAFETY: AVX2 is available (checked just above).
        unsafe { avx2::f32_rows(rows, q, out) };
        return;
    }
    let _ = simd;
    for (o, r) in out.iter_mut().zip(rows.chunks_exact(q.len())) {
        *o = dot_portable(r, q);
    }
}

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

    #[inline]
    #[target_feature(enable = "avx2")]
    fn mac(acc: __m256, x: &[f32; 8], y: &[f32; 8]) -> __m256 {
        // SAFETY: both pointers are to whole [f32; 8] arrays.
        let (x, y) = unsafe { (_mm256_loadu_ps(x.as_ptr()), _mm256_loadu_ps(y.as_ptr())) };
        _mm256_add_ps(acc, _mm256_mul_ps(x, y))
    }

    /// `super::dot_portable` in AVX2 intrinsics, operation for operation.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let (a8, a_tail) = a[..n].as_chunks::<8>();
        let (b8, b_tail) = b[..n].as_chunks::<8>();
        let mut s = [_mm256_setzero_ps(); 4];
        let mut qa = a8.chunks_exact(4);
        let mut qb = b8.chunks_exact(4);
        for (x, y) in (&mut qa).zip(&mut qb) {
            for j in 0..4 {
                s[j] = mac(s[j], &x[j], &y[j]);
            }
        }
        for (x, y) in qa.remainder().iter().zip(qb.remainder()) {
            s[0] = mac(s[0], x, y);
        }
        let v = _mm256_add_ps(_mm256_add_ps(s[0], s[1]), _mm256_add_ps(s[2], s[3]));
        // u[k] = v[k] + v[k + 4]; w0 = u0 + u2, w1 = u1 + u3; then w0 + w1.
        let u = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let w = _mm_add_ps(u, _mm_movehl_ps(u, u));
        let r = _mm_add_ss(w, _mm_shuffle_ps::<1>(w, w));
        let mut tail = 0.0f32;
        for (x, y) in a_tail.iter().zip(b_tail) {
            tail += x * y;
        }
        _mm_cvtss_f32(r) + tail
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn f32_rows(rows: &[f32], q: &[f32], out: &mut [f32]) {
        for (o, r) in out.iter_mut().zip(rows.chunks_exact(q.len())) {
            *o = dot(r, q);
        }
    }

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
    fn simd_dot_is_bit_identical() {
        let mut state = 0x1234_5678_9abc_def1u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        for n in 0..200 {
            let a: Vec<f32> = (0..n).map(|_| next()).collect();
            let b: Vec<f32> = (0..n).map(|_| next() * 1e3).collect();
            assert_eq!(
                dot(&a, &b).to_bits(),
                dot_portable(&a, &b).to_bits(),
                "n={n}"
            );
            let rows: Vec<f32> = (0..3 * n).map(|_| next()).collect();
            let (mut x, mut y) = ([0.0; 3], [0.0; 3]);
            if n > 0 {
                f32_rows(&rows, &a, &mut x, true);
                f32_rows(&rows, &a, &mut y, false);
                assert_eq!(x.map(f32::to_bits), y.map(f32::to_bits));
            }
        }
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
