//! The fast-scan kernel: sums one query's u8 lookup-table entries over every
//! group of a block of 32 rows (layout in [`super::layout`]).
//!
//! The AVX2 path (picked at run time with `is_x86_feature_detected!`) does
//! 2 × 32 lookups per `vpshufb` pair: one 32-byte load holds two groups'
//! nibbles for all 32 rows, the table register holds the two groups' 16-entry
//! tables in its two 128-bit lanes. Results are widened to u16 by splitting
//! even and odd bytes (mask / shift), accumulated for up to 256 super-groups
//! (256 × 255 < 2¹⁶) and then flushed into u32 totals. For b = 3 the 64-entry
//! tables are four 16-entry quarters: four lookups, then three `vpblendvb`
//! selected by the two high bits (one `vpsllvd` of the broadcast high-bit
//! nibbles moves the wanted bit of each row's byte to bit 7, which is all
//! `vpblendvb` reads). The scalar path computes the very same integer sums,
//! so both agree exactly.

use super::layout::{BLOCK, PlaneLayout};

/// Whether the SIMD kernels can run on this CPU.
pub(crate) fn simd_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `out[r] += Σ_g lut_g[code_g(r)]` for the 32 rows of `block`; SIMD when
/// `simd` is set and the CPU supports it.
///
/// # Panics
/// If `block` or `lut` is shorter than the layout says.
#[inline]
pub(crate) fn accumulate(
    layout: &PlaneLayout,
    block: &[u8],
    lut: &[u8],
    out: &mut [u32; BLOCK],
    simd: bool,
) {
    let sgs = layout.super_groups();
    assert!(block.len() >= layout.block_bytes() && lut.len() >= layout.lut_len());
    #[cfg(target_arch = "x86_64")]
    if simd && simd_available() {
        // SAFETY: AVX2 is available (checked above), and the kernels read
        // exactly `sgs` super-groups of `block` and `lut`, whose lengths were
        // checked against the layout.
        unsafe {
            if layout.bits() == 3 {
                avx2::accumulate_3bit(block.as_ptr(), lut.as_ptr(), sgs, out);
            } else {
                avx2::accumulate_nibbles(block.as_ptr(), lut.as_ptr(), sgs, out);
            }
        }
        return;
    }
    let _ = simd;
    accumulate_scalar(layout, block, lut, out);
}

/// The portable reference kernel.
pub(crate) fn accumulate_scalar(
    layout: &PlaneLayout,
    block: &[u8],
    lut: &[u8],
    out: &mut [u32; BLOCK],
) {
    let sgs = layout.super_groups();
    let codes = block.chunks_exact(layout.sg_bytes()).take(sgs);
    let tables = lut.chunks_exact(layout.lut_sg_bytes());
    for (codes, table) in codes.zip(tables) {
        for h in 0..2 {
            let nibbles = &codes[h * 16..h * 16 + 16];
            if layout.bits() == 3 {
                let high = &codes[32..48];
                for (i, (&b, &hb)) in nibbles.iter().zip(high).enumerate() {
                    for (row, nib, hn) in [(i, b & 15, hb & 15), (i + 16, b >> 4, hb >> 4)] {
                        let hi = usize::from((hn >> (2 * h)) & 3);
                        out[row] += u32::from(table[hi * 32 + h * 16 + usize::from(nib)]);
                    }
                }
            } else {
                let t = &table[h * 16..h * 16 + 16];
                for (i, &b) in nibbles.iter().enumerate() {
                    out[i] += u32::from(t[usize::from(b & 15)]);
                    out[i + 16] += u32::from(t[usize::from(b >> 4)]);
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::BLOCK;

    /// Super-groups per u16 accumulation run (each adds ≤ 255 per u16 lane).
    const RUN: usize = 256;

    /// How far ahead (bytes) to prefetch codes: blocks are contiguous, so
    /// this runs into the next block and keeps more loads in flight than the
    /// hardware prefetcher alone (the scan is memory-bound).
    const PREFETCH: usize = 2048;

    #[inline]
    #[target_feature(enable = "avx2")]
    fn prefetch(p: *const u8) {
        // A hint that never faults, whatever the address (`wrapping_add` by
        // the callers keeps the pointer arithmetic defined).
        _mm_prefetch::<_MM_HINT_T0>(p.cast());
    }

    /// Adds the four u16 accumulators (rows 0–15 even/odd, rows 16–31
    /// even/odd; lane 0 and lane 1 hold two groups' partial sums) into `out`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn flush(acc: [__m256i; 4], out: &mut [u32; BLOCK]) {
        let widen = |a: __m256i| {
            _mm256_add_epi32(
                _mm256_cvtepu16_epi32(_mm256_castsi256_si128(a)),
                _mm256_cvtepu16_epi32(_mm256_extracti128_si256::<1>(a)),
            )
        };
        for (half, (even, odd)) in [(acc[0], acc[1]), (acc[2], acc[3])].into_iter().enumerate() {
            let (e, o) = (widen(even), widen(odd));
            // Rows [0, 1, 2, 3 | 8, 9, 10, 11] and [4, 5, 6, 7 | 12, 13, 14, 15].
            let (a, b) = (_mm256_unpacklo_epi32(e, o), _mm256_unpackhi_epi32(e, o));
            let first = _mm256_permute2x128_si256::<0x20>(a, b);
            let second = _mm256_permute2x128_si256::<0x31>(a, b);
            let dst = out[16 * half..].as_mut_ptr();
            // SAFETY: `dst` points at 16 u32 of `out` (half is 0 or 1).
            unsafe {
                let p0 = dst.cast::<__m256i>();
                let p1 = dst.add(8).cast::<__m256i>();
                _mm256_storeu_si256(p0, _mm256_add_epi32(_mm256_loadu_si256(p0), first));
                _mm256_storeu_si256(p1, _mm256_add_epi32(_mm256_loadu_si256(p1), second));
            }
        }
    }

    /// Accumulates looked-up bytes: `r` holds rows 0–15 (or 16–31) of two
    /// groups (one per 128-bit lane); even bytes go to `even`, odd to `odd`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn add_bytes(even: &mut __m256i, odd: &mut __m256i, r: __m256i) {
        *even = _mm256_add_epi16(*even, _mm256_and_si256(r, _mm256_set1_epi16(0x00FF)));
        *odd = _mm256_add_epi16(*odd, _mm256_srli_epi16(r, 8));
    }

    /// 1-, 2- and 4-bit planes (32-byte super-groups, 16-entry tables).
    ///
    /// # Safety
    /// AVX2 must be available; `codes` and `lut` must hold `sgs × 32` bytes.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn accumulate_nibbles(
        codes: *const u8,
        lut: *const u8,
        sgs: usize,
        out: &mut [u32; BLOCK],
    ) {
        let low = _mm256_set1_epi8(0x0F);
        let mut start = 0;
        while start < sgs {
            let end = (start + RUN).min(sgs);
            let z = _mm256_setzero_si256();
            let (mut lo_e, mut lo_o, mut hi_e, mut hi_o) = (z, z, z, z);
            for s in start..end {
                prefetch(codes.wrapping_add(s * 32 + PREFETCH));
                // SAFETY: s < sgs, so both 32-byte reads are in bounds.
                let (c, t) = unsafe {
                    (
                        _mm256_loadu_si256(codes.add(s * 32).cast()),
                        _mm256_loadu_si256(lut.add(s * 32).cast()),
                    )
                };
                let lo = _mm256_and_si256(c, low);
                let hi = _mm256_and_si256(_mm256_srli_epi16(c, 4), low);
                add_bytes(&mut lo_e, &mut lo_o, _mm256_shuffle_epi8(t, lo));
                add_bytes(&mut hi_e, &mut hi_o, _mm256_shuffle_epi8(t, hi));
            }
            flush([lo_e, lo_o, hi_e, hi_o], out);
            start = end;
        }
    }

    /// 3-bit planes (48-byte super-groups, 4 × 32-byte tables).
    ///
    /// # Safety
    /// AVX2 must be available; `codes` must hold `sgs × 48` bytes and `lut`
    /// `sgs × 128`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn accumulate_3bit(
        codes: *const u8,
        lut: *const u8,
        sgs: usize,
        out: &mut [u32; BLOCK],
    ) {
        let low = _mm256_set1_epi8(0x0F);
        let mut start = 0;
        while start < sgs {
            let end = (start + RUN).min(sgs);
            let z = _mm256_setzero_si256();
            let (mut lo_e, mut lo_o, mut hi_e, mut hi_o) = (z, z, z, z);
            for s in start..end {
                prefetch(codes.wrapping_add(s * 48 + PREFETCH));
                // SAFETY: s < sgs: the 48 code bytes and 128 table bytes of
                // super-group s are in bounds.
                let (c, high, t) = unsafe {
                    let base = codes.add(s * 48);
                    let tb = lut.add(s * 128);
                    (
                        _mm256_loadu_si256(base.cast()),
                        _mm256_broadcastsi128_si256(_mm_loadu_si128(base.add(32).cast())),
                        [
                            _mm256_loadu_si256(tb.cast()),
                            _mm256_loadu_si256(tb.add(32).cast()),
                            _mm256_loadu_si256(tb.add(64).cast()),
                            _mm256_loadu_si256(tb.add(96).cast()),
                        ],
                    )
                };
                let lo = _mm256_and_si256(c, low);
                let hi = _mm256_and_si256(_mm256_srli_epi16(c, 4), low);
                // Bit 7 of each byte ← the select bit: lane 0 (group 2s) uses
                // nibble bits 0, 1, lane 1 (group 2s + 1) bits 2, 3; rows
                // 16–31 sit in the high nibble.
                let sel = |s0: i32, s1: i32| {
                    _mm256_sllv_epi32(high, _mm256_setr_epi32(s0, s0, s0, s0, s1, s1, s1, s1))
                };
                for (idx, bit0, bit1, even, odd) in [
                    (lo, sel(7, 5), sel(6, 4), &mut lo_e, &mut lo_o),
                    (hi, sel(3, 1), sel(2, 0), &mut hi_e, &mut hi_o),
                ] {
                    let q = |k: usize| _mm256_shuffle_epi8(t[k], idx);
                    let low_half = _mm256_blendv_epi8(q(0), q(1), bit0);
                    let high_half = _mm256_blendv_epi8(q(2), q(3), bit0);
                    add_bytes(even, odd, _mm256_blendv_epi8(low_half, high_half, bit1));
                }
            }
            flush([lo_e, lo_o, hi_e, hi_o], out);
            start = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    proptest! {
        /// Random codes and tables (including all-255 tables at the u16 run
        /// limit): SIMD and scalar sums are identical.
        #[test]
        fn simd_matches_scalar(bits in 1u8..=4, dim in 1usize..1200, seed in any::<u64>(), saturate in any::<bool>()) {
            let layout = PlaneLayout::new(bits, dim);
            let mut state = seed | 1;
            let block: Vec<u8> = (0..layout.block_bytes()).map(|_| xorshift(&mut state) as u8).collect();
            let lut: Vec<u8> = (0..layout.lut_len())
                .map(|_| if saturate { 255 } else { xorshift(&mut state) as u8 })
                .collect();
            let mut a = [0u32; BLOCK];
            let mut b = [0u32; BLOCK];
            accumulate_scalar(&layout, &block, &lut, &mut a);
            accumulate(&layout, &block, &lut, &mut b, true);
            prop_assert_eq!(a, b);
            if saturate {
                prop_assert!(a.iter().all(|&v| v == 255 * 2 * layout.super_groups() as u32));
            }
        }
    }

    #[test]
    fn sums_what_was_packed() {
        // Pack known codes, build a table from known values, and check the
        // dequantized sums against the exact inner products.
        for bits in 1..=4u8 {
            let dim = 37;
            let layout = PlaneLayout::new(bits, dim);
            let levels: Vec<f32> = (0..1 << bits).map(|i| i as f32 - 3.5).collect();
            let q: Vec<f32> = (0..dim)
                .map(|j| ((j * 7 % 11) as f32 - 5.0) / 3.0)
                .collect();
            let lut = layout.build_lut(&q, &levels);
            let mut block = vec![0u8; layout.block_bytes()];
            let rows: Vec<Vec<u8>> = (0..BLOCK)
                .map(|r| {
                    (0..dim)
                        .map(|j| ((r * 5 + j * 3) % (1 << bits)) as u8)
                        .collect()
                })
                .collect();
            for (lane, row) in rows.iter().enumerate() {
                layout.pack(&mut block, lane, row);
            }
            let mut acc = [0u32; BLOCK];
            accumulate(&layout, &block, &lut.table, &mut acc, true);
            let mut scalar = [0u32; BLOCK];
            accumulate_scalar(&layout, &block, &lut.table, &mut scalar);
            assert_eq!(acc, scalar);
            for (row, &a) in rows.iter().zip(&acc) {
                let exact: f32 = row
                    .iter()
                    .zip(&q)
                    .map(|(&c, &qj)| qj * levels[usize::from(c)])
                    .sum();
                let err = (lut.value(a) - exact).abs();
                assert!(
                    err <= lut.max_error() + 1e-4,
                    "bits {bits}: {err} > {}",
                    lut.max_error()
                );
            }
        }
    }
}
