//! The packed, blocked ("fast-scan") layout of b-bit codes, and the query
//! lookup tables that go with it.
//!
//! Rows are stored in blocks of 32. Coordinates are grouped so that one group
//! of one row is a 4-bit LUT index (plus, for b = 3, two more bits):
//!
//! | bits | coordinates per group | index bits | bytes per 2 groups × 32 rows |
//! |------|-----------------------|------------|------------------------------|
//! | 4    | 1                     | 4          | 32                           |
//! | 2    | 2                     | 4          | 32                           |
//! | 1    | 4                     | 4          | 32                           |
//! | 3    | 2                     | 6 = 4 + 2  | 48 (32 + 16 high-bit nibbles) |
//!
//! so a row costs exactly b·d/8 bytes (groups are padded to an even count,
//! which is nothing for d = 384). Within a block, groups go in pairs (a
//! "super-group"): 16 bytes for group 2s, then 16 for group 2s + 1; byte i of
//! a group holds row i's index in its low nibble and row i + 16's in its high
//! nibble, so one 32-byte load feeds two AVX2 `vpshufb` lookups (rows 0–15 and
//! 16–31) of two groups at once. For b = 3 the 6-bit index of a coordinate
//! pair is `c₀ | c₁ << 3`: its low nibble is stored as above, and the top two
//! bits of both groups of the super-group share one more nibble per row,
//! `hi(2s) | hi(2s + 1) << 2`, in 16 bytes after the 32 (row i low nibble,
//! row i + 16 high nibble), so that one 16-byte broadcast and one variable
//! shift per bit put each row's select bit where `vpblendvb` reads it.
//!
//! A query's table holds, per group, the inner product of the query's
//! coordinates with every combination of levels (16 or 64 entries), quantized
//! to u8: Δ = (largest range of one group's entries) / 255, entry =
//! round((v − min_g)/Δ), and the scan adds Σ_g min_g back. Each entry is off by
//! at most Δ/2, so a score is off by at most G·Δ/2 (G groups), typically
//! Δ·√(G/12); using the largest range (not the sum) keeps all 8 bits for the
//! groups that matter, and the kernels accumulate in u16 for at most 256
//! groups at a time, then in u32, so nothing overflows for any d.

/// Rows per block.
pub(crate) const BLOCK: usize = 32;

/// The layout of one plane of b-bit codes of `dim` coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PlaneLayout {
    bits: u8,
    dim: usize,
    groups: usize,
}

/// A query's u8 lookup table for one plane (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct QuantLut {
    /// `super_groups × lut_sg_bytes` bytes, in the kernels' order.
    pub(crate) table: Vec<u8>,
    /// Value of one u8 step.
    pub(crate) delta: f32,
    /// Σ over groups of the group's smallest entry.
    pub(crate) bias: f32,
    /// Groups holding real coordinates (for the error bound G·Δ/2).
    pub(crate) groups: usize,
}

impl QuantLut {
    /// The value of an accumulated u8 sum.
    #[inline]
    pub(crate) fn value(&self, acc: u32) -> f32 {
        self.bias + self.delta * acc as f32
    }

    /// The largest possible |table value − exact value| of a score.
    pub(crate) fn max_error(&self) -> f32 {
        self.groups as f32 * self.delta * 0.5
    }
}

impl PlaneLayout {
    /// `bits` must be 1–4, `dim` ≥ 1.
    pub(crate) fn new(bits: u8, dim: usize) -> Self {
        debug_assert!((1..=4).contains(&bits));
        let cpg = coords_per_group(bits);
        Self {
            bits,
            dim,
            groups: dim.div_ceil(cpg).next_multiple_of(2),
        }
    }

    pub(crate) fn bits(&self) -> u8 {
        self.bits
    }

    pub(crate) fn super_groups(&self) -> usize {
        self.groups / 2
    }

    /// Code bytes per super-group per block.
    pub(crate) fn sg_bytes(&self) -> usize {
        if self.bits == 3 { 48 } else { 32 }
    }

    /// Code bytes per block of 32 rows.
    pub(crate) fn block_bytes(&self) -> usize {
        self.super_groups() * self.sg_bytes()
    }

    /// LUT bytes per super-group.
    pub(crate) fn lut_sg_bytes(&self) -> usize {
        if self.bits == 3 { 128 } else { 32 }
    }

    /// LUT bytes of a query.
    pub(crate) fn lut_len(&self) -> usize {
        self.super_groups() * self.lut_sg_bytes()
    }

    fn cpg(&self) -> usize {
        coords_per_group(self.bits)
    }

    /// Stores row `lane`'s codes (`idx[j]` < 2^bits for each coordinate j) in
    /// `block`.
    pub(crate) fn pack(&self, block: &mut [u8], lane: usize, idx: &[u8]) {
        let (cpg, bits) = (self.cpg(), self.bits);
        for g in 0..self.groups {
            let mut e = 0usize;
            for k in 0..cpg {
                if let Some(&c) = idx.get(g * cpg + k) {
                    e |= usize::from(c) << (usize::from(bits) * k);
                }
            }
            let (sg, h) = (g / 2, g % 2);
            let base = sg * self.sg_bytes();
            let byte = &mut block[base + h * 16 + lane % 16];
            let nib = (e & 15) as u8;
            *byte = if lane < 16 {
                (*byte & 0xF0) | nib
            } else {
                (*byte & 0x0F) | nib << 4
            };
            if bits == 3 {
                let byte = &mut block[base + 32 + lane % 16];
                let shift = 2 * h + if lane < 16 { 0 } else { 4 };
                *byte = (*byte & !(3 << shift)) | (((e >> 4) as u8) << shift);
            }
        }
    }

    /// Reads row `lane`'s codes back into `out` (`dim` long).
    pub(crate) fn unpack(&self, block: &[u8], lane: usize, out: &mut [u8]) {
        let (cpg, bits) = (self.cpg(), usize::from(self.bits));
        let mask = (1usize << bits) - 1;
        for g in 0..self.groups {
            let (sg, h) = (g / 2, g % 2);
            let base = sg * self.sg_bytes();
            let byte = block[base + h * 16 + lane % 16];
            let mut e = usize::from(if lane < 16 { byte & 15 } else { byte >> 4 });
            if bits == 3 {
                let byte = block[base + 32 + lane % 16];
                let shift = 2 * h + if lane < 16 { 0 } else { 4 };
                e |= usize::from((byte >> shift) & 3) << 4;
            }
            for k in 0..cpg {
                if let Some(o) = out.get_mut(g * cpg + k) {
                    *o = ((e >> (bits * k)) & mask) as u8;
                }
            }
        }
    }

    /// The u8 table of ⟨q_group, levels\[codes\]⟩ for every group and index.
    pub(crate) fn build_lut(&self, q: &[f32], levels: &[f32]) -> QuantLut {
        let (cpg, bits) = (self.cpg(), usize::from(self.bits));
        let entries = 1usize << (bits * cpg);
        let mask = (1usize << bits) - 1;
        let mut values = vec![0.0f32; self.groups * entries];
        for (g, vals) in values.chunks_exact_mut(entries).enumerate() {
            for (e, v) in vals.iter_mut().enumerate() {
                let mut sum = 0.0f32;
                for k in 0..cpg {
                    if let Some(&qj) = q.get(g * cpg + k) {
                        sum += qj * levels[(e >> (bits * k)) & mask];
                    }
                }
                *v = sum;
            }
        }
        let mins: Vec<f32> = values
            .chunks_exact(entries)
            .map(|v| v.iter().copied().fold(f32::INFINITY, f32::min))
            .collect();
        let range = values
            .chunks_exact(entries)
            .zip(&mins)
            .map(|(v, &m)| v.iter().copied().fold(f32::NEG_INFINITY, f32::max) - m)
            .fold(0.0f32, f32::max);
        let delta = if range > 0.0 && range.is_finite() {
            range / 255.0
        } else {
            1.0
        };
        let mut table = vec![0u8; self.lut_len()];
        for (g, (vals, &min)) in values.chunks_exact(entries).zip(&mins).enumerate() {
            let (sg, h) = (g / 2, g % 2);
            for (e, &v) in vals.iter().enumerate() {
                let pos = if self.bits == 3 {
                    sg * 128 + (e >> 4) * 32 + h * 16 + (e & 15)
                } else {
                    sg * 32 + h * 16 + e
                };
                table[pos] = ((v - min) / delta).round().clamp(0.0, 255.0) as u8;
            }
        }
        QuantLut {
            table,
            delta,
            bias: mins.iter().map(|&m| f64::from(m)).sum::<f64>() as f32,
            groups: self.dim.div_ceil(cpg),
        }
    }
}

fn coords_per_group(bits: u8) -> usize {
    match bits {
        4 => 1,
        2 | 3 => 2,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn pack_unpack_round_trip(bits in 1u8..=4, dim in 1usize..80, seed in any::<u64>()) {
            let layout = PlaneLayout::new(bits, dim);
            let mut block = vec![0u8; layout.block_bytes()];
            let mut state = seed | 1;
            let mut next = || { state ^= state << 13; state ^= state >> 7; state ^= state << 17; state };
            let rows: Vec<Vec<u8>> = (0..BLOCK)
                .map(|_| (0..dim).map(|_| (next() % (1 << bits)) as u8).collect())
                .collect();
            // Write twice in a scrambled order: packing must overwrite, not OR.
            for (lane, _) in rows.iter().enumerate() {
                layout.pack(&mut block, (lane * 7) % BLOCK, &vec![(1u8 << bits) - 1; dim]);
            }
            for (lane, row) in rows.iter().enumerate() {
                layout.pack(&mut block, lane, row);
            }
            let mut out = vec![0u8; dim];
            for (lane, row) in rows.iter().enumerate() {
                layout.unpack(&block, lane, &mut out);
                prop_assert_eq!(&out, row);
            }
            prop_assert_eq!(layout.block_bytes() * 8, BLOCK * bits as usize * layout.groups * layout.cpg());
        }
    }

    #[test]
    fn honest_sizes() {
        for bits in 1..=4u8 {
            let l = PlaneLayout::new(bits, 384);
            assert_eq!(l.block_bytes(), BLOCK * usize::from(bits) * 384 / 8);
        }
    }
}
