//! TurboQuant proper: encoding a vector (norm, rotation, nearest Lloyd–Max
//! level per coordinate, optional QJL residual signs), preparing a query's
//! lookup tables, and the exact-arithmetic estimate and reconstruction that
//! the fast scan approximates.

use std::sync::Arc;

use hearth_quant::lloyd_max::Codebook;
use hearth_quant::rotation::RandomRotation;
use rayon::prelude::*;

use super::kernel::{accumulate, simd_available};
use super::layout::{BLOCK, PlaneLayout};
use super::qjl::{Qjl, SIGN_LEVELS};
use super::scan::push_lanes;
use super::table::{QuantData, QuantQuery};
use super::topk::TopK;
use super::{CodecKind, CodecSpec};
use crate::StoreError;

/// Blocks encoded per parallel batch (bounds the temporary copies).
const ENCODE_BATCH_BLOCKS: usize = 1024;

/// The parts of a TurboQuant codec for one dimension.
#[derive(Debug, Clone)]
pub(crate) struct QuantCodec {
    dim: usize,
    rotation: RandomRotation,
    /// The MSE stage (absent for 1-bit QJL, which is signs only).
    mse: Option<(Arc<Codebook>, PlaneLayout)>,
    qjl: Option<Qjl>,
}

/// Per-thread buffers of the encoder.
struct Scratch {
    unit: Vec<f32>,
    rotated: Vec<f32>,
    idx: Vec<u8>,
    signs: Vec<u8>,
}

/// One encoded 32-row block, before it is appended.
struct EncodedBlock {
    mse: Vec<u8>,
    signs: Vec<u8>,
    norms: Vec<f32>,
    residuals: Vec<f32>,
}

impl QuantCodec {
    pub(crate) fn new(spec: &CodecSpec, dim: usize) -> Result<Self, StoreError> {
        let qjl = spec.kind == CodecKind::TurboQuantQjl;
        let mse_bits = if qjl { spec.bits - 1 } else { spec.bits };
        let mse = if mse_bits > 0 {
            Some((
                Codebook::get(dim, mse_bits)?,
                PlaneLayout::new(mse_bits, dim),
            ))
        } else {
            None
        };
        Ok(Self {
            dim,
            rotation: RandomRotation::new(spec.rotation, dim, spec.seed),
            mse,
            qjl: qjl.then(|| Qjl::new(dim, spec.seed)),
        })
    }

    pub(crate) fn codebook(&self) -> Option<&Arc<Codebook>> {
        self.mse.as_ref().map(|(cb, _)| cb)
    }

    /// Bytes per vector: codes (whole blocks / 32, rounded up) + norm(s).
    pub(crate) fn bytes_per_vector(&self) -> usize {
        let mse = self
            .mse
            .as_ref()
            .map_or(0, |(_, l)| l.block_bytes().div_ceil(BLOCK));
        let qjl = self
            .qjl
            .as_ref()
            .map_or(0, |q| q.plane().block_bytes().div_ceil(BLOCK) + 4);
        mse + qjl + 4
    }

    fn scratch(&self) -> Scratch {
        Scratch {
            unit: vec![0.0; self.dim],
            rotated: vec![0.0; self.dim],
            idx: vec![0; self.dim],
            signs: vec![0; self.dim],
        }
    }

    /// Encodes one row into `s.idx` / `s.signs`; returns (‖x‖, ‖r‖).
    #[inline(always)]
    fn encode_row(&self, x: &[f32], s: &mut Scratch) -> (f32, f32) {
        let norm = x
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>()
            .sqrt() as f32;
        let inv = if norm > 0.0 { norm.recip() } else { 0.0 };
        for (u, &v) in s.unit.iter_mut().zip(x) {
            *u = v * inv;
        }
        self.rotation.forward(&s.unit, &mut s.rotated);
        if let Some((cb, _)) = &self.mse {
            cb.quantize_into(&s.rotated, &mut s.idx);
        }
        let Some(qjl) = &self.qjl else {
            return (norm, 0.0);
        };
        // The residual overwrites `unit` (no longer needed).
        let levels = self.codebook().map(|cb| cb.centroids());
        for ((r, &y), &i) in s.unit.iter_mut().zip(&s.rotated).zip(&s.idx) {
            *r = y - levels.map_or(0.0, |c| c[usize::from(i)]);
        }
        let rnorm = s
            .unit
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>()
            .sqrt() as f32;
        // `rotated` is free again: scratch for the projection.
        qjl.signs(&s.unit, &mut s.rotated, &mut s.signs);
        (norm, rnorm)
    }

    /// Encodes up to 32 rows; the body compiled for AVX2 where available
    /// (the same bits: only lane-wise IEEE operations get vectorised).
    fn encode_block(&self, rows: &[f32]) -> EncodedBlock {
        #[cfg(target_arch = "x86_64")]
        if simd_available() {
            // SAFETY: AVX2 is available (checked just above).
            return unsafe { self.encode_block_avx2(rows) };
        }
        self.encode_block_body(rows)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn encode_block_avx2(&self, rows: &[f32]) -> EncodedBlock {
        self.encode_block_body(rows)
    }

    #[inline(always)]
    fn encode_block_body(&self, rows: &[f32]) -> EncodedBlock {
        let mut s = self.scratch();
        let n = rows.len() / self.dim;
        let mut out = EncodedBlock {
            mse: vec![0; self.mse.as_ref().map_or(0, |(_, l)| l.block_bytes())],
            signs: vec![0; self.qjl.as_ref().map_or(0, |q| q.plane().block_bytes())],
            norms: Vec::with_capacity(n),
            residuals: Vec::with_capacity(if self.qjl.is_some() { n } else { 0 }),
        };
        for (lane, x) in rows.chunks_exact(self.dim).enumerate() {
            let (norm, rnorm) = self.encode_row(x, &mut s);
            out.norms.push(norm);
            if let Some((_, layout)) = &self.mse {
                layout.pack(&mut out.mse, lane, &s.idx);
            }
            if let Some(qjl) = &self.qjl {
                qjl.plane().pack(&mut out.signs, lane, &s.signs);
                out.residuals.push(rnorm);
            }
        }
        out
    }

    /// Appends `vectors` (validated: whole rows, finite) after `len` rows.
    pub(crate) fn encode_into(&self, vectors: &[f32], len: usize, data: &mut QuantData) {
        let d = self.dim;
        let n = vectors.len() / d;
        // Rows that complete the last, partly filled block.
        let head = n.min((BLOCK - len % BLOCK) % BLOCK);
        if head > 0 {
            let mut s = self.scratch();
            let block = len / BLOCK;
            for (i, x) in vectors[..head * d].chunks_exact(d).enumerate() {
                let lane = (len + i) % BLOCK;
                let (norm, rnorm) = self.encode_row(x, &mut s);
                data.norms.push(norm);
                if let Some((_, layout)) = &self.mse {
                    let bb = layout.block_bytes();
                    layout.pack(&mut data.mse[block * bb..(block + 1) * bb], lane, &s.idx);
                }
                if let Some(qjl) = &self.qjl {
                    let bb = qjl.plane().block_bytes();
                    qjl.plane().pack(
                        &mut data.signs[block * bb..(block + 1) * bb],
                        lane,
                        &s.signs,
                    );
                    data.residuals.push(rnorm);
                }
            }
        }
        let rest = &vectors[head * d..];
        let blocks = (n - head).div_ceil(BLOCK);
        data.mse
            .reserve_exact(blocks * self.mse.as_ref().map_or(0, |(_, l)| l.block_bytes()));
        data.signs
            .reserve_exact(blocks * self.qjl.as_ref().map_or(0, |q| q.plane().block_bytes()));
        data.norms.reserve_exact(n - head);
        if self.qjl.is_some() {
            data.residuals.reserve_exact(n - head);
        }
        for batch in rest.chunks(ENCODE_BATCH_BLOCKS * BLOCK * d) {
            let encoded: Vec<EncodedBlock> = batch
                .par_chunks(BLOCK * d)
                .map(|rows| self.encode_block(rows))
                .collect();
            for b in encoded {
                data.mse.extend_from_slice(&b.mse);
                data.signs.extend_from_slice(&b.signs);
                data.norms.extend_from_slice(&b.norms);
                data.residuals.extend_from_slice(&b.residuals);
            }
        }
    }

    /// Rotates and projects a (validated) query and builds its tables.
    pub(crate) fn prepare(&self, query: &[f32]) -> QuantQuery {
        let mut rotated = vec![0.0; self.dim];
        self.rotation.forward(query, &mut rotated);
        let mse = self
            .mse
            .as_ref()
            .map(|(cb, layout)| layout.build_lut(&rotated, cb.centroids()));
        let (projected, signs) = match &self.qjl {
            Some(qjl) => {
                let mut p = vec![0.0; self.dim];
                qjl.project(&rotated, &mut p);
                let lut = qjl.plane().build_lut(&p, &SIGN_LEVELS);
                (p, Some(lut))
            }
            None => (Vec::new(), None),
        };
        QuantQuery {
            rotated,
            projected,
            mse,
            signs,
        }
    }

    /// Scores the allowed rows (`lanes`) of block `b` with the u8 tables.
    pub(crate) fn score_block(
        &self,
        data: &QuantData,
        q: &QuantQuery,
        b: usize,
        lanes: u32,
        simd: bool,
        top: &mut TopK,
    ) {
        let mut acc_mse = [0u32; BLOCK];
        let mut acc_sign = [0u32; BLOCK];
        if let (Some((_, layout)), Some(lut)) = (&self.mse, &q.mse) {
            let bb = layout.block_bytes();
            accumulate(layout, &data.mse[b * bb..], &lut.table, &mut acc_mse, simd);
        }
        if let (Some(qjl), Some(lut)) = (&self.qjl, &q.signs) {
            let bb = qjl.plane().block_bytes();
            accumulate(
                qjl.plane(),
                &data.signs[b * bb..],
                &lut.table,
                &mut acc_sign,
                simd,
            );
        }
        let start = b * BLOCK;
        let rows = (data.norms.len() - start).min(BLOCK);
        let norms = &data.norms[start..start + rows];
        let mut scores = [0.0f32; BLOCK];
        if let Some(l) = &q.mse {
            for ((s, &n), &a) in scores.iter_mut().zip(norms).zip(&acc_mse) {
                *s = n * l.value(a);
            }
        }
        if let (Some(qjl), Some(l)) = (&self.qjl, &q.signs) {
            let scale = qjl.scale();
            let residuals = &data.residuals[start..start + rows];
            for (((s, &n), &r), &a) in scores.iter_mut().zip(norms).zip(residuals).zip(&acc_sign) {
                *s += n * r * scale * l.value(a);
            }
        }
        push_lanes(&scores, start, lanes, top);
    }

    /// The largest |scan score − estimate| for `row` caused by the u8 tables.
    pub(crate) fn max_scan_error(&self, data: &QuantData, q: &QuantQuery, row: usize) -> f32 {
        let mut e = q.mse.as_ref().map_or(0.0, |l| l.max_error());
        if let (Some(qjl), Some(l)) = (&self.qjl, &q.signs) {
            e += data.residuals[row] * qjl.scale() * l.max_error();
        }
        data.norms[row] * e
    }

    /// Codes of `row`: (MSE indices, sign bits), each `dim` long (zeros for
    /// an absent stage).
    fn unpack(&self, data: &QuantData, row: usize) -> (Vec<u8>, Vec<u8>) {
        let (b, lane) = (row / BLOCK, row % BLOCK);
        let mut idx = vec![0; self.dim];
        let mut signs = vec![0; self.dim];
        if let Some((_, layout)) = &self.mse {
            let bb = layout.block_bytes();
            layout.unpack(&data.mse[b * bb..(b + 1) * bb], lane, &mut idx);
        }
        if let Some(qjl) = &self.qjl {
            let bb = qjl.plane().block_bytes();
            qjl.plane()
                .unpack(&data.signs[b * bb..(b + 1) * bb], lane, &mut signs);
        }
        (idx, signs)
    }

    /// The exact-arithmetic estimate of ⟨q, x_row⟩ (f64 sums).
    pub(crate) fn estimate(&self, data: &QuantData, q: &QuantQuery, row: usize) -> f32 {
        let (idx, signs) = self.unpack(data, row);
        let mut s = 0.0f64;
        if let Some(cb) = self.codebook() {
            let c = cb.centroids();
            s = q
                .rotated
                .iter()
                .zip(&idx)
                .map(|(&v, &i)| f64::from(v) * f64::from(c[usize::from(i)]))
                .sum();
        }
        if let Some(qjl) = &self.qjl {
            let dotp: f64 = q
                .projected
                .iter()
                .zip(&signs)
                .map(|(&p, &b)| if b == 1 { f64::from(p) } else { -f64::from(p) })
                .sum();
            s += f64::from(data.residuals[row]) * f64::from(qjl.scale()) * dotp;
        }
        (f64::from(data.norms[row]) * s) as f32
    }

    /// The reconstruction of `row`: ‖x‖ · Rᵀ(levels + QJL term).
    pub(crate) fn decode(&self, data: &QuantData, row: usize) -> Vec<f32> {
        let (idx, signs) = self.unpack(data, row);
        let mut y: Vec<f32> = match self.codebook() {
            Some(cb) => idx
                .iter()
                .map(|&i| cb.centroids()[usize::from(i)])
                .collect(),
            None => vec![0.0; self.dim],
        };
        if let Some(qjl) = &self.qjl {
            qjl.add_transposed(&signs, data.residuals[row] * qjl.scale(), &mut y);
        }
        let mut out = vec![0.0; self.dim];
        self.rotation.inverse(&y, &mut out);
        let norm = data.norms[row];
        for v in &mut out {
            *v *= norm;
        }
        out
    }
}
