//! Block dot products of weight rows with activation rows: a portable
//! reference and AVX2 kernels per [`WeightFormat`], picked at run time.
//!
//! Per block the integer sum `Σ q_w·q_a` is exact in both paths (AVX2 forms it
//! with `vpmaddubsw`/`vpmaddwd`: pair sums stay within i16 because one operand
//! is taken as its absolute value and the other carries its sign); the f32
//! sum across blocks runs in eight lanes on AVX2 and in one on the reference,
//! so the two agree to rounding.

use super::BLOCK;
use super::activations::QuantizedActivations;
use super::matrix::{BlockMatrix, WeightFormat};

/// Writes `out[i] = w[rows.start + i] · x[t]` for each row in `rows`.
pub(crate) fn dot_rows(
    w: &BlockMatrix,
    first_row: usize,
    x: &QuantizedActivations,
    t: usize,
    out: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if avx2() {
        // SAFETY: AVX2 and FMA are available (checked by `avx2`).
        unsafe { x86::dot_rows(w, first_row, x, t, out) };
        return;
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = reference_dot(w, first_row + i, x, t);
    }
}

/// For each row in `first_row..first_row + out.len()`, the dot products with
/// tokens `t0..t0 + 4`.
pub(crate) fn dot_rows4(
    w: &BlockMatrix,
    first_row: usize,
    x: &QuantizedActivations,
    t0: usize,
    out: &mut [[f32; 4]],
) {
    #[cfg(target_arch = "x86_64")]
    if avx2() {
        // SAFETY: AVX2 and FMA are available (checked by `avx2`).
        unsafe { x86::dot_rows4(w, first_row, x, t0, out) };
        return;
    }
    for (i, o) in out.iter_mut().enumerate() {
        for (k, v) in o.iter_mut().enumerate() {
            *v = reference_dot(w, first_row + i, x, t0 + k);
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn avx2() -> bool {
    std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
}

/// The weight codes of block `i` as integers (`Q4_1`: 0..16 before its
/// minimum; the others signed).
pub(crate) fn block_codes(w: &BlockMatrix, i: usize) -> [i32; BLOCK] {
    let mut q = [0i32; BLOCK];
    match w.format {
        WeightFormat::Q8_0 => {
            for (v, &c) in q.iter_mut().zip(&w.codes[i * BLOCK..(i + 1) * BLOCK]) {
                *v = i32::from(c as i8);
            }
        }
        WeightFormat::Q4_1 | WeightFormat::Q5_0 => {
            let bytes = &w.codes[i * 16..(i + 1) * 16];
            for j in 0..16 {
                q[j] = i32::from(bytes[j] & 0x0F);
                q[j + 16] = i32::from(bytes[j] >> 4);
            }
            if w.format == WeightFormat::Q5_0 {
                let h = w.high[i];
                for (j, v) in q.iter_mut().enumerate() {
                    *v += ((h >> j & 1) as i32) * 16 - 16;
                }
            }
        }
    }
    q
}

/// Exact integer sum of block `b` of row `r` with block `b` of token `t`.
pub(crate) fn block_sum(
    w: &BlockMatrix,
    r: usize,
    b: usize,
    x: &QuantizedActivations,
    t: usize,
) -> i32 {
    let nb = w.cols / BLOCK;
    let q = block_codes(w, r * nb + b);
    let a = &x.codes[t * x.cols + b * BLOCK..t * x.cols + (b + 1) * BLOCK];
    q.iter().zip(a).map(|(&q, &a)| q * i32::from(a)).sum()
}

/// The portable dot product of weight row `r` with token `t`.
pub(crate) fn reference_dot(w: &BlockMatrix, r: usize, x: &QuantizedActivations, t: usize) -> f32 {
    let nb = w.cols / BLOCK;
    let mut acc = 0f32;
    for b in 0..nb {
        let i = r * nb + b;
        let j = t * nb + b;
        let isum = block_sum(w, r, b, x, t);
        acc += w.scales[i] * x.scales[j] * isum as f32;
        if w.format == WeightFormat::Q4_1 {
            acc += w.mins[i] * x.sums[j];
        }
    }
    acc
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::super::BLOCK;
    use super::{BlockMatrix, QuantizedActivations, WeightFormat};
    use std::arch::x86_64::*;

    /// Block `i`'s 32 codes in one register: signed for Q8_0 and Q5_0, 0..16
    /// for Q4_1.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn load_codes(w: &BlockMatrix, i: usize) -> __m256i {
        match w.format {
            WeightFormat::Q8_0 => {
                let s = &w.codes[i * BLOCK..(i + 1) * BLOCK];
                // SAFETY: `s` holds exactly 32 bytes; unaligned load.
                unsafe { _mm256_loadu_si256(s.as_ptr().cast()) }
            }
            WeightFormat::Q4_1 | WeightFormat::Q5_0 => {
                let s = &w.codes[i * 16..(i + 1) * 16];
                // SAFETY: `s` holds exactly 16 bytes; unaligned load.
                let raw = unsafe { _mm_loadu_si128(s.as_ptr().cast()) };
                let both = _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw);
                let q = _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
                if w.format == WeightFormat::Q4_1 {
                    return q;
                }
                // Q5_0: where the fifth bit is clear the value is nibble − 16,
                // which as a byte is the nibble with 0xF0 set.
                let bits = expand_bits(w.high[i]);
                let clear = _mm256_andnot_si256(bits, _mm256_set1_epi8(0xF0u8 as i8));
                _mm256_or_si256(q, clear)
            }
        }
    }

    /// 0xFF in byte `j` where bit `j` of `h` is set.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn expand_bits(h: u32) -> __m256i {
        let v = _mm256_set1_epi32(h as i32);
        let shuffle = _mm256_setr_epi8(
            0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3,
            3, 3, 3,
        );
        let bytes = _mm256_shuffle_epi8(v, shuffle);
        let mask = _mm256_set1_epi64x(0x8040_2010_0804_0201u64 as i64);
        _mm256_cmpeq_epi8(_mm256_and_si256(bytes, mask), mask)
    }

    /// Eight i32 partial sums of `q · a` (q as loaded by `load_codes`).
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn products(unsigned: bool, q_abs: __m256i, q: __m256i, a: __m256i) -> __m256i {
        let pairs = if unsigned {
            _mm256_maddubs_epi16(q, a)
        } else {
            _mm256_maddubs_epi16(q_abs, _mm256_sign_epi8(a, q))
        };
        _mm256_madd_epi16(pairs, _mm256_set1_epi16(1))
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn load_activations(x: &QuantizedActivations, t: usize, b: usize) -> __m256i {
        let s = &x.codes[t * x.cols + b * BLOCK..t * x.cols + (b + 1) * BLOCK];
        // SAFETY: `s` holds exactly 32 bytes; unaligned load.
        unsafe { _mm256_loadu_si256(s.as_ptr().cast()) }
    }

    /// Format tags for the monomorphized row kernels.
    const Q8_0: u8 = 0;
    const Q4_1: u8 = 1;
    const Q5_0: u8 = 2;

    /// Block codes for a format known at compile time: `codes` is the
    /// block's code bytes (32 for Q8_0, 16 otherwise), `high` its fifth bits.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn load<const F: u8>(codes: &[u8], high: u32) -> __m256i {
        if F == Q8_0 {
            debug_assert!(codes.len() >= 32);
            // SAFETY: a Q8_0 block holds 32 code bytes; unaligned load.
            return unsafe { _mm256_loadu_si256(codes.as_ptr().cast()) };
        }
        debug_assert!(codes.len() >= 16);
        // SAFETY: a 4/5-bit block holds 16 code bytes; unaligned load.
        let raw = unsafe { _mm_loadu_si128(codes.as_ptr().cast()) };
        let both = _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw);
        let q = _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
        if F == Q4_1 {
            return q;
        }
        let bits = expand_bits(high);
        let clear = _mm256_andnot_si256(bits, _mm256_set1_epi8(0xF0u8 as i8));
        _mm256_or_si256(q, clear)
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn dot_rows(
        w: &BlockMatrix,
        first_row: usize,
        x: &QuantizedActivations,
        t: usize,
        out: &mut [f32],
    ) {
        match w.format {
            WeightFormat::Q8_0 => rows::<Q8_0>(w, first_row, x, t, out),
            WeightFormat::Q4_1 => rows::<Q4_1>(w, first_row, x, t, out),
            WeightFormat::Q5_0 => rows::<Q5_0>(w, first_row, x, t, out),
        }
    }

    /// One token against a band of rows, the format fixed at compile time:
    /// slices are cut once per row so the block loop has no bounds checks,
    /// and two accumulators hide the FMA latency.
    #[target_feature(enable = "avx2,fma")]
    fn rows<const F: u8>(
        w: &BlockMatrix,
        first_row: usize,
        x: &QuantizedActivations,
        t: usize,
        out: &mut [f32],
    ) {
        let nb = w.cols / BLOCK;
        let code_bytes = if F == Q8_0 { BLOCK } else { 16 };
        let xs = &x.scales[t * nb..(t + 1) * nb];
        let xm = &x.sums[t * nb..(t + 1) * nb];
        let xa = &x.codes[t * x.cols..(t + 1) * x.cols];
        let ones = _mm256_set1_epi16(1);
        for (k, o) in out.iter_mut().enumerate() {
            let r = first_row + k;
            let codes = &w.codes[r * nb * code_bytes..(r + 1) * nb * code_bytes];
            let scales = &w.scales[r * nb..(r + 1) * nb];
            let high = if F == Q5_0 {
                &w.high[r * nb..(r + 1) * nb]
            } else {
                &[][..]
            };
            let mut acc = [_mm256_setzero_ps(); 2];
            let mut acc_min = 0f32;
            for b in 0..nb {
                let h = if F == Q5_0 { high[b] } else { 0 };
                let q = load::<F>(&codes[b * code_bytes..], h);
                // SAFETY: token rows are `cols` = nb·32 bytes long.
                let a = unsafe { _mm256_loadu_si256(xa.as_ptr().add(b * BLOCK).cast()) };
                let pairs = if F == Q4_1 {
                    _mm256_maddubs_epi16(q, a)
                } else {
                    _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(a, q))
                };
                let sums = _mm256_madd_epi16(pairs, ones);
                let d = _mm256_set1_ps(scales[b] * xs[b]);
                acc[b & 1] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sums), acc[b & 1]);
                if F == Q4_1 {
                    acc_min += w.mins[r * nb + b] * xm[b];
                }
            }
            *o = hsum(_mm256_add_ps(acc[0], acc[1])) + acc_min;
        }
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn dot_rows4(
        w: &BlockMatrix,
        first_row: usize,
        x: &QuantizedActivations,
        t0: usize,
        out: &mut [[f32; 4]],
    ) {
        let nb = w.cols / BLOCK;
        let unsigned = w.format == WeightFormat::Q4_1;
        for (k, o) in out.iter_mut().enumerate() {
            let r = first_row + k;
            let mut acc = [_mm256_setzero_ps(); 4];
            let mut acc_min = [0f32; 4];
            for b in 0..nb {
                let i = r * nb + b;
                let q = load_codes(w, i);
                let q_abs = _mm256_sign_epi8(q, q);
                let dw = w.scales[i];
                for (u, acc) in acc.iter_mut().enumerate() {
                    let t = t0 + u;
                    let a = load_activations(x, t, b);
                    let sums = products(unsigned, q_abs, q, a);
                    let d = _mm256_set1_ps(dw * x.scales[t * nb + b]);
                    *acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sums), *acc);
                    if unsigned {
                        acc_min[u] += w.mins[i] * x.sums[t * nb + b];
                    }
                }
            }
            for u in 0..4 {
                o[u] = hsum(acc[u]) + acc_min[u];
            }
        }
    }
}
