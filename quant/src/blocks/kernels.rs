//! Block dot products of weight rows with activation rows: a portable
//! reference, AVX2 and AVX-512 VNNI kernels per [`WeightFormat`], the best one
//! the CPU has picked once at run time ([`Kernel::best`]).
//!
//! Per block the integer sum `Σ q_w·q_a` is exact in every path: AVX2 forms
//! it with `vpmaddubsw`/`vpmaddwd` (pair sums stay within i16 because one
//! operand is taken as its absolute value and the other carries its sign),
//! VNNI with one `vpdpbusd`. The f32 sum across blocks runs in eight lanes on
//! the SIMD paths and in one on the reference, so they agree to rounding.

use super::BLOCK;
use super::activations::QuantizedActivations;
use super::matrix::{BlockMatrix, WeightFormat};
use std::sync::OnceLock;

/// An implementation of the block kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Portable Rust, one block at a time.
    Reference,
    /// AVX2 + FMA (x86-64).
    Avx2,
    /// AVX-512 VNNI on 256-bit registers (`vpdpbusd`; x86-64 with
    /// `avx512vnni` and `avx512vl`).
    Vnni,
}

impl Kernel {
    /// The fastest kernel this CPU runs (detected once).
    pub fn best() -> Kernel {
        static BEST: OnceLock<Kernel> = OnceLock::new();
        *BEST.get_or_init(|| {
            Kernel::available()
                .into_iter()
                .last()
                .unwrap_or(Kernel::Reference)
        })
    }

    /// Every kernel this CPU runs, slowest first.
    pub fn available() -> Vec<Kernel> {
        #[allow(unused_mut)]
        let mut kernels = vec![Kernel::Reference];
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx2") && has!("fma") {
                kernels.push(Kernel::Avx2);
                if has!("avx512vnni") && has!("avx512vl") {
                    kernels.push(Kernel::Vnni);
                }
            }
        }
        kernels
    }

    /// The kernel's name, as benchmarks print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kernel::Reference => "reference",
            Kernel::Avx2 => "avx2",
            Kernel::Vnni => "avx512-vnni",
        }
    }
}

/// Writes `out[i] = w[first_row + i] · x[t]` for each row of the band.
pub(crate) fn dot_rows(
    w: &BlockMatrix,
    first_row: usize,
    x: &QuantizedActivations,
    t: usize,
    out: &mut [f32],
) {
    dot_rows_with(Kernel::best(), w, first_row, x, t, out);
}

/// [`dot_rows`] on a given kernel (one of [`Kernel::available`]).
pub(crate) fn dot_rows_with(
    kernel: Kernel,
    w: &BlockMatrix,
    first_row: usize,
    x: &QuantizedActivations,
    t: usize,
    out: &mut [f32],
) {
    match kernel {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Kernel::Avx2` is only handed out where AVX2 and FMA exist.
        Kernel::Avx2 => unsafe { x86::avx2::dot_rows(w, first_row, x, t, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Kernel::Vnni` is only handed out where VNNI and VL exist.
        Kernel::Vnni => unsafe { x86::vnni::dot_rows(w, first_row, x, t, out) },
        _ => {
            for (i, o) in out.iter_mut().enumerate() {
                *o = reference_dot(w, first_row + i, x, t);
            }
        }
    }
}

/// Four tokens' activations interleaved block by block — `codes[(b·4 + u)·32..]`
/// is block `b` of token `u`, `scales[b·4 + u]` and `sums[b·4 + u]` its scale
/// and code sum — so the four-token kernel reads one sequential stream.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tile {
    pub(crate) codes: Vec<i8>,
    pub(crate) scales: Vec<f32>,
    pub(crate) sums: Vec<f32>,
}

impl Tile {
    /// Packs tokens `t0..t0 + 4` of `x`.
    pub(crate) fn pack(&mut self, x: &QuantizedActivations, t0: usize) {
        let nb = x.cols / BLOCK;
        self.codes.clear();
        self.scales.clear();
        self.sums.clear();
        for b in 0..nb {
            for u in 0..4 {
                let t = t0 + u;
                let at = t * x.cols + b * BLOCK;
                self.codes.extend_from_slice(&x.codes[at..at + BLOCK]);
                self.scales.push(x.scales[t * nb + b]);
                self.sums.push(x.sums[t * nb + b]);
            }
        }
    }
}

/// For each row of the band, the dot products with the four tokens of `tile`.
pub(crate) fn dot_rows4(w: &BlockMatrix, first_row: usize, tile: &Tile, out: &mut [[f32; 4]]) {
    dot_rows4_with(Kernel::best(), w, first_row, tile, out);
}

/// [`dot_rows4`] on a given kernel.
pub(crate) fn dot_rows4_with(
    kernel: Kernel,
    w: &BlockMatrix,
    first_row: usize,
    tile: &Tile,
    out: &mut [[f32; 4]],
) {
    let nb = w.cols / BLOCK;
    assert!(
        tile.codes.len() == nb * 4 * BLOCK
            && tile.scales.len() == nb * 4
            && tile.sums.len() == nb * 4,
        "a tile of {} codes for {nb} blocks",
        tile.codes.len()
    );
    assert!(first_row + out.len() <= w.rows, "rows past the matrix");
    match kernel {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as in `dot_rows_with`; the tile's size is checked above.
        Kernel::Avx2 => unsafe { x86::avx2::dot_rows4(w, first_row, tile, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as in `dot_rows_with`; the tile's size is checked above.
        Kernel::Vnni => unsafe { x86::vnni::dot_rows4(w, first_row, tile, out) },
        _ => {
            for (k, o) in out.iter_mut().enumerate() {
                let r = first_row + k;
                *o = [0.0; 4];
                for b in 0..nb {
                    let q = block_codes(w, r * nb + b);
                    let i = r * nb + b;
                    for (u, v) in o.iter_mut().enumerate() {
                        let a = &tile.codes[(b * 4 + u) * BLOCK..(b * 4 + u + 1) * BLOCK];
                        let isum: i32 = q.iter().zip(a).map(|(&q, &a)| q * i32::from(a)).sum();
                        *v += w.scales[i] * tile.scales[b * 4 + u] * isum as f32;
                        if w.format == WeightFormat::Q4_1 {
                            *v += w.mins[i] * tile.sums[b * 4 + u];
                        }
                    }
                }
            }
        }
    }
}

/// Eight tokens' activations for the broadcast-weight prefill kernel:
/// `codes[((b·8 + g)·8 + u)·4..][..4]` are values `4g..4g + 4` of block `b` of
/// token `u` — one 32-byte vector per (block, group) holds the group for all
/// eight tokens. For weights with signed codes (Q8_0, Q5_0) the codes are
/// offset by 128 into unsigned bytes (the kernel subtracts `128·Σq_w`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Tile8 {
    pub(crate) codes: Vec<u8>,
    /// `scales[b·8 + u]`.
    pub(crate) scales: Vec<f32>,
    /// `sums[b·8 + u]`.
    pub(crate) sums: Vec<f32>,
}

impl Tile8 {
    /// Packs tokens `t0..t0 + 8` of `x`, offset by 128 when `offset`.
    pub(crate) fn pack(&mut self, x: &QuantizedActivations, t0: usize, offset: bool) {
        let nb = x.cols / BLOCK;
        self.codes.clear();
        self.scales.clear();
        self.sums.clear();
        let flip = if offset { 0x80u8 } else { 0 };
        for b in 0..nb {
            for g in 0..BLOCK / 4 {
                for u in 0..8 {
                    let at = (t0 + u) * x.cols + b * BLOCK + g * 4;
                    self.codes
                        .extend(x.codes[at..at + 4].iter().map(|&c| (c as u8) ^ flip));
                }
            }
            for u in 0..8 {
                self.scales.push(x.scales[(t0 + u) * nb + b]);
                self.sums.push(x.sums[(t0 + u) * nb + b]);
            }
        }
    }
}

/// Whether this CPU runs the eight-token broadcast-weight kernel (VNNI).
pub(crate) fn has_rows8() -> bool {
    Kernel::best() == Kernel::Vnni
}

/// For each row of the band, its products with the eight tokens of `tile`
/// (packed with the offset its format needs: signed codes for Q8_0/Q5_0).
///
/// # Panics
/// Where [`has_rows8`] is false, or on a tile of the wrong size.
pub(crate) fn dot_rows8(w: &BlockMatrix, first_row: usize, tile: &Tile8, out: &mut [[f32; 8]]) {
    let nb = w.cols / BLOCK;
    assert!(
        tile.codes.len() == nb * 8 * BLOCK
            && tile.scales.len() == nb * 8
            && tile.sums.len() == nb * 8,
        "an 8-token tile of {} codes for {nb} blocks",
        tile.codes.len()
    );
    assert!(first_row + out.len() <= w.rows, "rows past the matrix");
    assert!(
        w.format == WeightFormat::Q4_1 || w.code_sums.len() == w.rows * nb,
        "code sums missing"
    );
    assert!(has_rows8(), "the 8-token kernel needs AVX-512 VNNI");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: VNNI is present (asserted); sizes are checked above.
    unsafe {
        x86::vnni8::dot_rows8(w, first_row, tile, out)
    };
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

    /// Format tags for the monomorphized row kernels.
    pub(super) const Q8_0: u8 = 0;
    pub(super) const Q4_1: u8 = 1;
    pub(super) const Q5_0: u8 = 2;

    /// Block codes for a format known at compile time: `codes` starts at the
    /// block's code bytes (32 for Q8_0, 16 otherwise), `high` its fifth bits.
    /// Signed for Q8_0 and Q5_0, 0..16 for Q4_1.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) fn load<const F: u8>(codes: &[u8], high: u32) -> __m256i {
        if F == Q8_0 {
            assert!(codes.len() >= 32);
            // SAFETY: 32 bytes are there (checked); unaligned load.
            return unsafe { _mm256_loadu_si256(codes.as_ptr().cast()) };
        }
        assert!(codes.len() >= 16);
        // SAFETY: 16 bytes are there (checked); unaligned load.
        let raw = unsafe { _mm_loadu_si128(codes.as_ptr().cast()) };
        let both = _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw);
        let q = _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
        if F == Q4_1 {
            return q;
        }
        // Q5_0: where the fifth bit is clear the value is nibble − 16, which
        // as a byte is the nibble with 0xF0 set.
        let bits = expand_bits(high);
        let clear = _mm256_andnot_si256(bits, _mm256_set1_epi8(0xF0u8 as i8));
        _mm256_or_si256(q, clear)
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

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }

    /// The row kernels, one body for each instruction set: `$features` is the
    /// `target_feature` list and `$sums(u, s)` the eight i32 sums of
    /// `u8 × i8` products of a block.
    macro_rules! row_kernels {
        ($features:literal, $sums:path) => {
            use super::super::BLOCK;
            use super::super::{BlockMatrix, QuantizedActivations, Tile, WeightFormat};
            use super::{Q4_1, Q5_0, Q8_0, hsum, load};
            use std::arch::x86_64::*;

            /// The unsigned and signed operands of a block product.
            #[target_feature(enable = $features)]
            #[inline]
            fn operands<const F: u8>(q: __m256i, a: __m256i) -> (__m256i, __m256i) {
                if F == Q4_1 {
                    (q, a)
                } else {
                    (_mm256_sign_epi8(q, q), _mm256_sign_epi8(a, q))
                }
            }

            #[target_feature(enable = $features)]
            pub(in super::super) fn dot_rows(
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

            /// One block of one row times one token, added to `acc`.
            #[target_feature(enable = $features)]
            #[inline]
            fn step<const F: u8>(codes: &[u8], high: u32, a: &[i8], d: f32, acc: __m256) -> __m256 {
                let q = load::<F>(codes, high);
                // SAFETY: `a` holds at least 32 bytes (one block); unaligned load.
                let a = unsafe { _mm256_loadu_si256(a.as_ptr().cast()) };
                let (u, s) = operands::<F>(q, a);
                _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps($sums(u, s)), acc)
            }

            /// One token against a band of rows, the format fixed at compile
            /// time; blocks in pairs on two accumulators (registers, not an
            /// indexed array) to hide the FMA latency.
            #[target_feature(enable = $features)]
            fn rows<const F: u8>(
                w: &BlockMatrix,
                first_row: usize,
                x: &QuantizedActivations,
                t: usize,
                out: &mut [f32],
            ) {
                let nb = w.cols / BLOCK;
                let cb = if F == Q8_0 { BLOCK } else { 16 };
                let xs = &x.scales[t * nb..(t + 1) * nb];
                let xm = &x.sums[t * nb..(t + 1) * nb];
                let xa = &x.codes[t * x.cols..(t + 1) * x.cols];
                for (k, o) in out.iter_mut().enumerate() {
                    let r = first_row + k;
                    let codes = &w.codes[r * nb * cb..(r + 1) * nb * cb];
                    let scales = &w.scales[r * nb..(r + 1) * nb];
                    let high = if F == Q5_0 {
                        &w.high[r * nb..(r + 1) * nb]
                    } else {
                        &[][..]
                    };
                    let h = |b: usize| if F == Q5_0 { high[b] } else { 0 };
                    let mut acc0 = _mm256_setzero_ps();
                    let mut acc1 = _mm256_setzero_ps();
                    let mut b = 0;
                    while b + 2 <= nb {
                        acc0 = step::<F>(
                            &codes[b * cb..],
                            h(b),
                            &xa[b * BLOCK..],
                            scales[b] * xs[b],
                            acc0,
                        );
                        let c = b + 1;
                        acc1 = step::<F>(
                            &codes[c * cb..],
                            h(c),
                            &xa[c * BLOCK..],
                            scales[c] * xs[c],
                            acc1,
                        );
                        b += 2;
                    }
                    if b < nb {
                        acc0 = step::<F>(
                            &codes[b * cb..],
                            h(b),
                            &xa[b * BLOCK..],
                            scales[b] * xs[b],
                            acc0,
                        );
                    }
                    let mut total = hsum(_mm256_add_ps(acc0, acc1));
                    if F == Q4_1 {
                        let mins = &w.mins[r * nb..(r + 1) * nb];
                        total += mins.iter().zip(xm).map(|(m, s)| m * s).sum::<f32>();
                    }
                    *o = total;
                }
            }

            #[target_feature(enable = $features)]
            pub(in super::super) fn dot_rows4(
                w: &BlockMatrix,
                first_row: usize,
                tile: &Tile,
                out: &mut [[f32; 4]],
            ) {
                match w.format {
                    WeightFormat::Q8_0 => rows4::<Q8_0>(w, first_row, tile, out),
                    WeightFormat::Q4_1 => rows4::<Q4_1>(w, first_row, tile, out),
                    WeightFormat::Q5_0 => rows4::<Q5_0>(w, first_row, tile, out),
                }
            }

            /// Four tokens against a band of rows: each weight block is
            /// decoded once for the four, read from the packed [`Tile`] as
            /// one stream; Q4_1's minimum term is one 4-wide FMA per block.
            /// The caller checked the tile's size and the rows' range.
            #[target_feature(enable = $features)]
            fn rows4<const F: u8>(
                w: &BlockMatrix,
                first_row: usize,
                tile: &Tile,
                out: &mut [[f32; 4]],
            ) {
                let nb = w.cols / BLOCK;
                let cb = if F == Q8_0 { BLOCK } else { 16 };
                let a_ptr = tile.codes.as_ptr();
                let s_ptr = tile.scales.as_ptr();
                let m_ptr = tile.sums.as_ptr();
                for (k, o) in out.iter_mut().enumerate() {
                    let r = first_row + k;
                    let codes = &w.codes[r * nb * cb..(r + 1) * nb * cb];
                    let scales = &w.scales[r * nb..(r + 1) * nb];
                    let high = if F == Q5_0 {
                        &w.high[r * nb..(r + 1) * nb]
                    } else {
                        &[][..]
                    };
                    let mins = if F == Q4_1 {
                        &w.mins[r * nb..(r + 1) * nb]
                    } else {
                        &[][..]
                    };
                    let mut acc = [_mm256_setzero_ps(); 4];
                    let mut acc_min = _mm_setzero_ps();
                    for b in 0..nb {
                        let q = load::<F>(&codes[b * cb..], if F == Q5_0 { high[b] } else { 0 });
                        let q_abs = if F == Q4_1 { q } else { _mm256_sign_epi8(q, q) };
                        let dw = scales[b];
                        for u in 0..4 {
                            // SAFETY: the tile holds nb·4 blocks of 32 codes
                            // and nb·4 scales (checked by the caller); b < nb.
                            let (a, da) = unsafe {
                                (
                                    _mm256_loadu_si256(a_ptr.add((b * 4 + u) * BLOCK).cast()),
                                    *s_ptr.add(b * 4 + u),
                                )
                            };
                            let sa = if F == Q4_1 { a } else { _mm256_sign_epi8(a, q) };
                            let d = _mm256_set1_ps(dw * da);
                            acc[u] =
                                _mm256_fmadd_ps(d, _mm256_cvtepi32_ps($sums(q_abs, sa)), acc[u]);
                        }
                        if F == Q4_1 {
                            // SAFETY: the tile holds nb·4 sums; b < nb.
                            let s = unsafe { _mm_loadu_ps(m_ptr.add(b * 4)) };
                            acc_min = _mm_fmadd_ps(_mm_set1_ps(mins[b]), s, acc_min);
                        }
                    }
                    let mut m = [0f32; 4];
                    // SAFETY: `m` is four f32s; unaligned store.
                    unsafe { _mm_storeu_ps(m.as_mut_ptr(), acc_min) };
                    for u in 0..4 {
                        o[u] = hsum(acc[u]) + m[u];
                    }
                }
            }
        };
    }

    /// `vpmaddubsw` + `vpmaddwd`: eight i32 sums of `u8 × i8` products.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn sums_avx2(u: __m256i, s: __m256i) -> __m256i {
        _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1))
    }

    /// `vpdpbusd`: the same eight sums in one instruction.
    #[target_feature(enable = "avx2,fma,avx512vnni,avx512vl")]
    #[inline]
    fn sums_vnni(u: __m256i, s: __m256i) -> __m256i {
        _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s)
    }

    /// AVX2 + FMA kernels.
    pub(super) mod avx2 {
        row_kernels!("avx2,fma", super::sums_avx2);
    }

    /// AVX-512 VNNI kernels (256-bit registers).
    pub(super) mod vnni {
        row_kernels!("avx2,fma,avx512vnni,avx512vl", super::sums_vnni);
    }

    /// The eight-token prefill kernel: each 4-byte group of a weight block is
    /// broadcast to all lanes and multiplied with that group of eight tokens
    /// at once (`vpdpbusd`), so a lane accumulates one token's block sum; two
    /// weight rows share every activation load. About four times fewer
    /// instructions per product than reducing each token's lanes.
    pub(super) mod vnni8 {
        use super::super::super::BLOCK;
        use super::super::{BlockMatrix, Tile8, WeightFormat};
        use super::{Q4_1, Q5_0, Q8_0, load};
        use std::arch::x86_64::*;

        #[target_feature(enable = "avx2,fma,avx512vnni,avx512vl")]
        pub(in super::super) fn dot_rows8(
            w: &BlockMatrix,
            first_row: usize,
            tile: &Tile8,
            out: &mut [[f32; 8]],
        ) {
            match w.format {
                WeightFormat::Q8_0 => rows8::<Q8_0>(w, first_row, tile, out),
                WeightFormat::Q4_1 => rows8::<Q4_1>(w, first_row, tile, out),
                WeightFormat::Q5_0 => rows8::<Q5_0>(w, first_row, tile, out),
            }
        }

        /// Block `b` of row `r`: its codes in one register.
        #[target_feature(enable = "avx2,fma,avx512vnni,avx512vl")]
        #[inline]
        fn codes<const F: u8>(w: &BlockMatrix, r: usize, nb: usize, b: usize) -> __m256i {
            let cb = if F == Q8_0 { BLOCK } else { 16 };
            let i = r * nb + b;
            let h = if F == Q5_0 { w.high[i] } else { 0 };
            load::<F>(&w.codes[i * cb..(i + 1) * cb], h)
        }

        /// The eight tokens' sums `Σ q_w·a` of one weight block (offset
        /// removed for signed formats), two independent chains.
        #[target_feature(enable = "avx2,fma,avx512vnni,avx512vl")]
        #[inline]
        fn block_sums<const F: u8>(q: __m256i, a: *const u8) -> __m256i {
            let mut even = _mm256_setzero_si256();
            let mut odd = _mm256_setzero_si256();
            for g in 0..8 {
                let wg = _mm256_permutevar8x32_epi32(q, _mm256_set1_epi32(g as i32));
                // SAFETY: the caller passes the block's 8 groups × 32 bytes.
                let x = unsafe { _mm256_loadu_si256(a.add(g * 32).cast()) };
                let acc = if g % 2 == 0 { &mut even } else { &mut odd };
                *acc = if F == Q4_1 {
                    _mm256_dpbusd_epi32(*acc, wg, x)
                } else {
                    _mm256_dpbusd_epi32(*acc, x, wg)
                };
            }
            _mm256_add_epi32(even, odd)
        }

        #[target_feature(enable = "avx2,fma,avx512vnni,avx512vl")]
        fn rows8<const F: u8>(
            w: &BlockMatrix,
            first_row: usize,
            tile: &Tile8,
            out: &mut [[f32; 8]],
        ) {
            let nb = w.cols / BLOCK;
            let a_ptr = tile.codes.as_ptr();
            let signed = F != Q4_1;
            let mut k = 0;
            while k < out.len() {
                let pair = k + 1 < out.len();
                let (r0, r1) = (first_row + k, first_row + k + usize::from(pair));
                let mut acc0 = _mm256_setzero_ps();
                let mut acc1 = _mm256_setzero_ps();
                for b in 0..nb {
                    let q0 = codes::<F>(w, r0, nb, b);
                    let q1 = codes::<F>(w, r1, nb, b);
                    // SAFETY: the tile holds nb blocks of 8 groups × 32 bytes
                    // (checked by the caller) and b < nb.
                    let block = unsafe { a_ptr.add(b * 8 * BLOCK) };
                    let mut s0 = block_sums::<F>(q0, block);
                    let mut s1 = block_sums::<F>(q1, block);
                    if signed {
                        let c0 = i32::from(w.code_sums[r0 * nb + b]) * 128;
                        let c1 = i32::from(w.code_sums[r1 * nb + b]) * 128;
                        s0 = _mm256_sub_epi32(s0, _mm256_set1_epi32(c0));
                        s1 = _mm256_sub_epi32(s1, _mm256_set1_epi32(c1));
                    }
                    let sc = &tile.scales[b * 8..b * 8 + 8];
                    // SAFETY: `sc` is eight f32s; unaligned load.
                    let da = unsafe { _mm256_loadu_ps(sc.as_ptr()) };
                    let d0 = _mm256_mul_ps(_mm256_set1_ps(w.scales[r0 * nb + b]), da);
                    let d1 = _mm256_mul_ps(_mm256_set1_ps(w.scales[r1 * nb + b]), da);
                    acc0 = _mm256_fmadd_ps(d0, _mm256_cvtepi32_ps(s0), acc0);
                    acc1 = _mm256_fmadd_ps(d1, _mm256_cvtepi32_ps(s1), acc1);
                    if F == Q4_1 {
                        let sm = &tile.sums[b * 8..b * 8 + 8];
                        // SAFETY: `sm` is eight f32s; unaligned load.
                        let m = unsafe { _mm256_loadu_ps(sm.as_ptr()) };
                        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(w.mins[r0 * nb + b]), m, acc0);
                        acc1 = _mm256_fmadd_ps(_mm256_set1_ps(w.mins[r1 * nb + b]), m, acc1);
                    }
                }
                // SAFETY: each output row is eight f32s; unaligned stores.
                unsafe { _mm256_storeu_ps(out[k].as_mut_ptr(), acc0) };
                if pair {
                    // SAFETY: as above.
                    unsafe { _mm256_storeu_ps(out[k + 1].as_mut_ptr(), acc1) };
                }
                k += 2;
            }
        }
    }

    #[allow(unused_imports)]
    use {BLOCK as _, BlockMatrix as _, QuantizedActivations as _, WeightFormat as _};
}
