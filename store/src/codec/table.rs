//! The data a codec produces: [`CodeTable`] (the codes of many vectors, in the
//! layout its kind scans fastest) and [`PreparedQuery`] (a query rotated,
//! projected and turned into lookup tables once, for many scans).

use super::CodecSpec;
use super::layout::QuantLut;

/// Codes of n vectors in the packed layout of their codec; append-only.
///
/// Made by [`VectorCodec::new_table`](super::VectorCodec::new_table) and
/// filled by [`VectorCodec::encode_into`](super::VectorCodec::encode_into);
/// it remembers the spec and dimension it was made for, and the codec checks
/// them.
#[derive(Debug, Clone)]
pub struct CodeTable {
    pub(crate) spec: CodecSpec,
    pub(crate) dim: usize,
    pub(crate) len: usize,
    pub(crate) data: TableData,
}

/// Storage per codec kind.
#[derive(Debug, Clone)]
pub(crate) enum TableData {
    /// Row-major vectors.
    F32(Vec<f32>),
    /// Row-major codes and one scale per row.
    Int8 { codes: Vec<i8>, scales: Vec<f32> },
    /// TurboQuant planes in 32-row blocks.
    Quant(QuantData),
}

/// TurboQuant storage: each plane is whole 32-row blocks (the last one
/// zero-padded), the per-row floats are exactly `len` long.
#[derive(Debug, Clone, Default)]
pub(crate) struct QuantData {
    /// MSE codes (empty for 1-bit QJL, which has none).
    pub(crate) mse: Vec<u8>,
    /// QJL sign bits (empty without QJL).
    pub(crate) signs: Vec<u8>,
    /// ‖x‖ per row.
    pub(crate) norms: Vec<f32>,
    /// ‖r‖ of the rotated unit vector's MSE residual per row (QJL only).
    pub(crate) residuals: Vec<f32>,
}

impl CodeTable {
    pub(crate) fn new(spec: CodecSpec, dim: usize) -> Self {
        let data = match spec.kind {
            super::CodecKind::F32 => TableData::F32(Vec::new()),
            super::CodecKind::Int8 => TableData::Int8 {
                codes: Vec::new(),
                scales: Vec::new(),
            },
            super::CodecKind::TurboQuant | super::CodecKind::TurboQuantQjl => {
                TableData::Quant(QuantData::default())
            }
        };
        Self {
            spec,
            dim,
            len: 0,
            data,
        }
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no rows.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The spec of the codec that made it.
    pub fn spec(&self) -> &CodecSpec {
        &self.spec
    }

    /// The dimension of its vectors.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Bytes held by codes, norms and scales (not counting spare `Vec`
    /// capacity; `encode_into` reserves exactly what a batch needs).
    pub fn memory_bytes(&self) -> usize {
        match &self.data {
            TableData::F32(v) => v.len() * 4,
            TableData::Int8 { codes, scales } => codes.len() + scales.len() * 4,
            TableData::Quant(q) => {
                q.mse.len() + q.signs.len() + (q.norms.len() + q.residuals.len()) * 4
            }
        }
    }
}

/// A query prepared for one codec: rotated, projected and turned into u8
/// lookup tables once, then used for any number of scans.
#[derive(Debug, Clone)]
pub struct PreparedQuery {
    pub(crate) spec: CodecSpec,
    pub(crate) dim: usize,
    pub(crate) data: QueryData,
}

/// Query data per codec kind.
#[derive(Debug, Clone)]
pub(crate) enum QueryData {
    F32(Vec<f32>),
    Int8 {
        exact: Vec<f32>,
        q16: Vec<i16>,
        scale: f32,
    },
    Quant(QuantQuery),
}

/// A TurboQuant query.
#[derive(Debug, Clone)]
pub(crate) struct QuantQuery {
    /// R·q.
    pub(crate) rotated: Vec<f32>,
    /// S·R·q (QJL only, else empty).
    pub(crate) projected: Vec<f32>,
    /// Table of the MSE plane.
    pub(crate) mse: Option<QuantLut>,
    /// Table of the sign plane.
    pub(crate) signs: Option<QuantLut>,
}
