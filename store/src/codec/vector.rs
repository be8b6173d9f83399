//! [`VectorCodec`], the one interface over every codec kind: encode vectors
//! into a [`CodeTable`], prepare a query, scan for the top k, and the exact
//! reference estimate and reconstruction.

use hearth_quant::linalg::dot;
use hearth_quant::lloyd_max::Codebook;

use super::flat;
use super::kernel::simd_available;
use super::mask::RowMask;
use super::quant::QuantCodec;
use super::scan;
use super::table::{CodeTable, PreparedQuery, QueryData, TableData};
use super::{CodecKind, CodecSpec};
use crate::StoreError;

/// Largest dimension accepted (a dense rotation is d² floats: 256 MiB here).
pub const MAX_DIM: usize = 8192;

/// A codec built for one dimension: rotation, codebook, projection.
///
/// ```
/// use hearth_store::codec::{CodecSpec, VectorCodec};
///
/// let dim = 64;
/// let codec = VectorCodec::new(&CodecSpec::turboquant(4), dim).unwrap();
/// // Three vectors, row-major.
/// let vectors: Vec<f32> = (0..3 * dim).map(|i| ((i * 37 % 101) as f32).sin()).collect();
/// let mut table = codec.new_table();
/// codec.encode_into(&vectors, &mut table).unwrap();
/// assert_eq!(table.len(), 3);
///
/// // Querying with row 1 finds row 1 first.
/// let query = codec.prepare(&vectors[dim..2 * dim]).unwrap();
/// let hits = codec.scan(&table, &query, 2, None);
/// assert_eq!(hits[0].1, 1);
/// assert_eq!(codec.bytes_per_vector(), 4 * dim / 8 + 4);
/// ```
#[derive(Debug, Clone)]
pub struct VectorCodec {
    spec: CodecSpec,
    dim: usize,
    simd: bool,
    quant: Option<QuantCodec>,
}

impl VectorCodec {
    /// Builds the codec of `spec` for `dim`-dimensional vectors. Errors
    /// (`StoreError::Codec`) for bits that do not fit the kind, a dimension
    /// of 0 (or 1 for the TurboQuant kinds) or above [`MAX_DIM`].
    pub fn new(spec: &CodecSpec, dim: usize) -> Result<Self, StoreError> {
        spec.validate()?;
        let min_dim = if spec.is_quantized() { 2 } else { 1 };
        if dim < min_dim || dim > MAX_DIM {
            return Err(StoreError::Codec(format!(
                "{} codec for dimension {dim}: the dimension must be {min_dim}–{MAX_DIM}",
                spec.name()
            )));
        }
        let quant = if spec.is_quantized() {
            Some(QuantCodec::new(spec, dim)?)
        } else {
            None
        };
        Ok(Self {
            spec: spec.clone(),
            dim,
            simd: simd_available(),
            quant,
        })
    }

    /// The spec it was built from.
    pub fn spec(&self) -> &CodecSpec {
        &self.spec
    }

    /// The vector dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Whether scans use the SIMD kernels.
    pub fn simd(&self) -> bool {
        self.simd
    }

    /// Turns the SIMD kernels on or off (on only where the CPU supports them);
    /// for benchmarks and tests: both give the same results.
    pub fn set_simd(&mut self, enabled: bool) {
        self.simd = enabled && simd_available();
    }

    /// The Lloyd–Max codebook of the MSE stage (TurboQuant kinds, except
    /// 1-bit QJL).
    pub fn codebook(&self) -> Option<&Codebook> {
        self.quant.as_ref()?.codebook().map(|cb| &**cb)
    }

    /// Honest in-memory bytes per vector, norms and scales included
    /// (TurboQuant: b·d/8 + 4, QJL: b·d/8 + 8, int8: d + 4, f32: 4·d).
    pub fn bytes_per_vector(&self) -> usize {
        match (&self.quant, self.spec.kind) {
            (Some(q), _) => q.bytes_per_vector(),
            (None, CodecKind::Int8) => self.dim + 4,
            (None, _) => self.dim * 4,
        }
    }

    /// An empty table for this codec.
    pub fn new_table(&self) -> CodeTable {
        CodeTable::new(self.spec.clone(), self.dim)
    }

    /// Appends `vectors` (row-major, n × dim, finite) to `table`, in parallel.
    pub fn encode_into(&self, vectors: &[f32], table: &mut CodeTable) -> Result<(), StoreError> {
        self.check_table(table)?;
        if !vectors.len().is_multiple_of(self.dim) {
            return Err(StoreError::Codec(format!(
                "vectors to encode: {} values is not a whole number of {}-dimensional rows",
                vectors.len(),
                self.dim
            )));
        }
        for (r, row) in vectors.chunks_exact(self.dim).enumerate() {
            check_finite(row).map_err(|e| StoreError::Codec(format!("vector {r} {e}")))?;
        }
        let n = vectors.len() / self.dim;
        if table.len + n > u32::MAX as usize {
            return Err(StoreError::Codec(format!(
                "a code table holds at most {} rows",
                u32::MAX
            )));
        }
        let len = table.len;
        match (&mut table.data, &self.quant) {
            (TableData::F32(values), _) => {
                values.reserve_exact(vectors.len());
                values.extend_from_slice(vectors);
            }
            (TableData::Int8 { codes, scales }, _) => {
                codes.reserve_exact(vectors.len());
                scales.reserve_exact(n);
                flat::encode_i8(vectors, self.dim, codes, scales);
            }
            (TableData::Quant(data), Some(q)) => q.encode_into(vectors, len, data),
            (TableData::Quant(_), None) => {
                return Err(StoreError::Codec("table kind mismatch".into()));
            }
        }
        table.len += n;
        Ok(())
    }

    /// Prepares `query` (dim values, finite; any length) for scans.
    pub fn prepare(&self, query: &[f32]) -> Result<PreparedQuery, StoreError> {
        if query.len() != self.dim {
            return Err(StoreError::Codec(format!(
                "query has {} values but the codec's dimension is {}",
                query.len(),
                self.dim
            )));
        }
        check_finite(query).map_err(|e| StoreError::Codec(format!("query {e}")))?;
        let data = match (&self.quant, self.spec.kind) {
            (Some(q), _) => QueryData::Quant(q.prepare(query)),
            (None, CodecKind::Int8) => {
                let (q16, scale) = flat::quantize_query_i16(query);
                QueryData::Int8 {
                    exact: query.to_vec(),
                    q16,
                    scale,
                }
            }
            (None, _) => QueryData::F32(query.to_vec()),
        };
        Ok(PreparedQuery {
            spec: self.spec.clone(),
            dim: self.dim,
            data,
        })
    }

    /// The `k` best rows by estimated inner product, best first, as
    /// (estimate, row); all rows when `k` ≥ `table.len()`. Rows with `allow`
    /// false (or beyond the mask's length) are never returned; 32-row blocks
    /// with no allowed row are skipped unread. Parallel over blocks.
    ///
    /// For the TurboQuant kinds the scores come from u8 lookup tables: each
    /// is within [`max_scan_error`](Self::max_scan_error) of
    /// [`estimate`](Self::estimate), which is meant for picking candidates
    /// that the caller reranks exactly.
    ///
    /// # Panics
    /// If `table` or `query` was made by a codec of another spec or
    /// dimension (a programming error).
    pub fn scan(
        &self,
        table: &CodeTable,
        query: &PreparedQuery,
        k: usize,
        allow: Option<&RowMask>,
    ) -> Vec<(f32, u32)> {
        self.assert_compatible(table, query);
        let simd = self.simd;
        match (&table.data, &query.data, &self.quant) {
            (TableData::Quant(data), QueryData::Quant(q), Some(codec)) => {
                scan::top_k(table.len, k, allow, |b, lanes, top| {
                    codec.score_block(data, q, b, lanes, simd, top);
                })
            }
            (TableData::F32(values), QueryData::F32(q), _) => {
                scan::top_k(table.len, k, allow, |b, lanes, top| {
                    scan::f32_block(values, self.dim, q, b, lanes, simd, top);
                })
            }
            (TableData::Int8 { codes, scales }, QueryData::Int8 { q16, scale, .. }, _) => {
                scan::top_k(table.len, k, allow, |b, lanes, top| {
                    scan::i8_block(codes, scales, q16, *scale, b, lanes, simd, top);
                })
            }
            _ => unreachable!("spec equality implies matching table and query kinds"),
        }
    }

    /// The largest difference between `row`'s [`scan`](Self::scan) score and
    /// its [`estimate`](Self::estimate) that lookup-table rounding can cause
    /// (TurboQuant kinds: ‖x‖·(G·Δ/2 + QJL term), see the layout docs; 0 for
    /// f32; for int8 the query's i16 rounding is not bounded here: 0).
    ///
    /// # Panics
    /// As [`scan`](Self::scan), and if `row >= table.len()`.
    pub fn max_scan_error(&self, table: &CodeTable, query: &PreparedQuery, row: usize) -> f32 {
        self.assert_compatible(table, query);
        assert!(
            row < table.len,
            "row {row} out of range ({} rows)",
            table.len
        );
        match (&table.data, &query.data, &self.quant) {
            (TableData::Quant(data), QueryData::Quant(q), Some(codec)) => {
                codec.max_scan_error(data, q, row)
            }
            _ => 0.0,
        }
    }

    /// Reconstruction of row `row` (for tests and the MSE property test).
    /// For QJL it includes the residual term ‖r‖·√(π/2)/d·Sᵀ·sign(S r),
    /// which is unbiased but noisy.
    ///
    /// # Panics
    /// If `table` was made by another codec, or `row >= table.len()`.
    pub fn decode(&self, table: &CodeTable, row: usize) -> Vec<f32> {
        self.assert_table(table);
        assert!(
            row < table.len,
            "row {row} out of range ({} rows)",
            table.len
        );
        let d = self.dim;
        match (&table.data, &self.quant) {
            (TableData::F32(values), _) => values[row * d..(row + 1) * d].to_vec(),
            (TableData::Int8 { codes, scales }, _) => codes[row * d..(row + 1) * d]
                .iter()
                .map(|&c| f32::from(c) * scales[row])
                .collect(),
            (TableData::Quant(data), Some(q)) => q.decode(data, row),
            (TableData::Quant(_), None) => unreachable!("quantized table from a flat codec"),
        }
    }

    /// Exact-arithmetic (no lookup-table quantization) inner-product estimate
    /// for one row — the reference the scan approximates.
    ///
    /// # Panics
    /// As [`scan`](Self::scan), and if `row >= table.len()`.
    pub fn estimate(&self, table: &CodeTable, query: &PreparedQuery, row: usize) -> f32 {
        self.assert_compatible(table, query);
        assert!(
            row < table.len,
            "row {row} out of range ({} rows)",
            table.len
        );
        let d = self.dim;
        match (&table.data, &query.data, &self.quant) {
            (TableData::Quant(data), QueryData::Quant(q), Some(codec)) => {
                codec.estimate(data, q, row)
            }
            (TableData::F32(values), QueryData::F32(q), _) => {
                dot(&values[row * d..(row + 1) * d], q)
            }
            (TableData::Int8 { codes, scales }, QueryData::Int8 { exact, .. }, _) => {
                let s: f64 = codes[row * d..(row + 1) * d]
                    .iter()
                    .zip(exact)
                    .map(|(&c, &v)| f64::from(c) * f64::from(v))
                    .sum();
                (s * f64::from(scales[row])) as f32
            }
            _ => unreachable!("spec equality implies matching table and query kinds"),
        }
    }

    fn check_table(&self, table: &CodeTable) -> Result<(), StoreError> {
        if table.spec != self.spec || table.dim != self.dim {
            return Err(StoreError::Codec(format!(
                "code table was made by codec {} ({}-d, seed {:#x}), not by this {} ({}-d, seed {:#x})",
                table.spec.name(),
                table.dim,
                table.spec.seed,
                self.spec.name(),
                self.dim,
                self.spec.seed
            )));
        }
        Ok(())
    }

    fn assert_table(&self, table: &CodeTable) {
        if let Err(e) = self.check_table(table) {
            panic!("{e}");
        }
    }

    fn assert_compatible(&self, table: &CodeTable, query: &PreparedQuery) {
        self.assert_table(table);
        assert!(
            query.spec == self.spec && query.dim == self.dim,
            "query was prepared by codec {} ({}-d), not by this {} ({}-d)",
            query.spec.name(),
            query.dim,
            self.spec.name(),
            self.dim
        );
    }
}

/// Every value finite and the norm representable in f32 (so that norms,
/// scales and scores stay finite).
fn check_finite(x: &[f32]) -> Result<(), String> {
    if let Some(j) = x.iter().position(|v| !v.is_finite()) {
        return Err(format!("has a non-finite value at coordinate {j}"));
    }
    let sq: f64 = x.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
    if sq.sqrt() > f64::from(f32::MAX) {
        return Err("has a norm beyond the f32 range".to_owned());
    }
    Ok(())
}
