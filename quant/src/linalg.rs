//! The f32 dot product and matrix-vector product that the rotations and
//! projections use, in one fixed order of operations that the AVX2 path
//! (picked at run time) and the portable path follow exactly, so their
//! results (and hence codes built from them) are bit-identical on every
//! machine.

/// Whether the AVX2 kernels can run on this CPU.
fn simd_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Dot product in a fixed order: four 8-lane accumulators over 32-wide
/// chunks, 8-wide chunks into the first, the accumulators and then the lanes
/// combined pairwise, then a scalar tail. The AVX2 version does exactly these
/// IEEE multiplies and adds (no FMA) lane by lane, so both give the same bits.
#[inline(always)]
pub fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
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
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if simd_available() {
        // SAFETY: AVX2 is available (checked just above).
        return unsafe { avx2::dot(a, b) };
    }
    dot_portable(a, b)
}

/// `out = M · x` for a row-major `out.len()` × `x.len()` matrix, each row by
/// [`dot`] (so bit-identical on every CPU).
pub fn matvec(m: &[f32], x: &[f32], out: &mut [f32]) {
    f32_rows(m, x, out, true);
}

/// `out[r] = ⟨rows[r], q⟩` for consecutive rows of width `q.len()`, with AVX2
/// when `simd` is set and the CPU has it (the same bits either way).
pub fn f32_rows(rows: &[f32], q: &[f32], out: &mut [f32], simd: bool) {
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
