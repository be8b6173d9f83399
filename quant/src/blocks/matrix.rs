//! [`BlockMatrix`]: a weight matrix in a block format, built from a GGUF
//! tensor's bytes or quantized from f32.

use super::BLOCK;
use half::f16;

/// How a [`BlockMatrix`] stores its values. The rule at load: a GGUF tensor in
/// `Q8_0`, `Q4_1` or `Q5_0` keeps its bytes (the kernels read those types at
/// full speed); any other type is dequantized to f32 and quantized to `Q8_0`
/// (8.5 bits a value, nearly lossless against 4–6-bit K-quants).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WeightFormat {
    /// `value = d · q`, `q` a signed byte: 34 bytes per 32 values in GGUF.
    Q8_0,
    /// `value = d · q + m`, `q` in 0..16: 20 bytes per 32 values.
    Q4_1,
    /// `value = d · (q − 16)`, `q` in 0..32 (four bits plus one high bit): 22
    /// bytes per 32 values.
    Q5_0,
}

impl WeightFormat {
    /// Bytes of one block in GGUF's layout.
    pub fn ggml_block_bytes(self) -> usize {
        match self {
            Self::Q8_0 => 34,
            Self::Q4_1 => 20,
            Self::Q5_0 => 22,
        }
    }

    /// The GGUF type name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Q8_0 => "Q8_0",
            Self::Q4_1 => "Q4_1",
            Self::Q5_0 => "Q5_0",
        }
    }
}

impl std::fmt::Display for WeightFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why bytes or values cannot make a [`BlockMatrix`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Rows must be whole blocks.
    #[error("a row of {cols} values is not a whole number of {BLOCK}-value blocks")]
    RaggedRow {
        /// The row length given.
        cols: usize,
    },
    /// The byte or value count does not match the shape.
    #[error("{rows}×{cols} in {format} needs {expected} bytes, got {got}")]
    Size {
        /// Rows of the matrix.
        rows: usize,
        /// Columns of the matrix.
        cols: usize,
        /// The format (or `f32` for values).
        format: &'static str,
        /// Bytes (or values) the shape needs.
        expected: usize,
        /// Bytes (or values) given.
        got: usize,
    },
}

/// A row-major `rows × cols` weight matrix cut into blocks of 32 along each
/// row. Scales (and Q4_1's minimums) are kept as f32 beside the codes, so the
/// kernels stream two dense arrays.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockMatrix {
    pub(crate) format: WeightFormat,
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    /// One scale per block, row-major.
    pub(crate) scales: Vec<f32>,
    /// Q4_1 only: one minimum per block.
    pub(crate) mins: Vec<f32>,
    /// Q8_0: one byte per value. Q4_1 / Q5_0: 16 bytes per block, value `j`
    /// in the low nibble of byte `j`, value `j + 16` in its high nibble.
    pub(crate) codes: Vec<u8>,
    /// Q5_0 only: per block the fifth bits, bit `j` for value `j`.
    pub(crate) high: Vec<u32>,
    /// Q8_0 and Q5_0: per block the sum of its signed codes, which the
    /// prefill kernel that offsets activations by 128 subtracts (128·Σq).
    pub(crate) code_sums: Vec<i16>,
}

impl BlockMatrix {
    /// Takes over a GGUF tensor of `rows × cols` values (`cols` the inner
    /// dimension, GGUF's first) stored in `format`.
    pub fn from_ggml(
        format: WeightFormat,
        rows: usize,
        cols: usize,
        bytes: &[u8],
    ) -> Result<Self, FormatError> {
        if !cols.is_multiple_of(BLOCK) {
            return Err(FormatError::RaggedRow { cols });
        }
        let blocks = rows * cols / BLOCK;
        let size = format.ggml_block_bytes();
        if bytes.len() != blocks * size {
            return Err(FormatError::Size {
                rows,
                cols,
                format: format.as_str(),
                expected: blocks * size,
                got: bytes.len(),
            });
        }
        let mut m = Self::empty(format, rows, cols);
        let half = |b: &[u8], at: usize| f16::from_le_bytes([b[at], b[at + 1]]).to_f32();
        for block in bytes.chunks_exact(size) {
            m.scales.push(half(block, 0));
            match format {
                WeightFormat::Q8_0 => m.codes.extend_from_slice(&block[2..34]),
                WeightFormat::Q4_1 => {
                    m.mins.push(half(block, 2));
                    m.codes.extend_from_slice(&block[4..20]);
                }
                WeightFormat::Q5_0 => {
                    m.high
                        .push(u32::from_le_bytes([block[2], block[3], block[4], block[5]]));
                    m.codes.extend_from_slice(&block[6..22]);
                }
            }
        }
        m.code_sums = m.compute_code_sums();
        Ok(m)
    }

    /// Quantizes f32 values (`rows × cols`, row-major) to `Q8_0` the way GGUF
    /// does: per block `d = max|x| / 127` (kept at f16 precision) and
    /// `q = round(x / d)`.
    pub fn quantize_q8_0(rows: usize, cols: usize, values: &[f32]) -> Result<Self, FormatError> {
        if !cols.is_multiple_of(BLOCK) {
            return Err(FormatError::RaggedRow { cols });
        }
        if values.len() != rows * cols {
            return Err(FormatError::Size {
                rows,
                cols,
                format: "f32",
                expected: rows * cols,
                got: values.len(),
            });
        }
        let mut m = Self::empty(WeightFormat::Q8_0, rows, cols);
        m.codes.resize(rows * cols, 0);
        m.scales.resize(rows * cols / BLOCK, 0.0);
        for ((block, codes), scale) in values
            .chunks_exact(BLOCK)
            .zip(m.codes.chunks_exact_mut(BLOCK))
            .zip(m.scales.iter_mut())
        {
            *scale = quantize_block_q8(block, codes);
        }
        m.code_sums = m.compute_code_sums();
        Ok(m)
    }

    fn empty(format: WeightFormat, rows: usize, cols: usize) -> Self {
        let blocks = rows * cols / BLOCK;
        let code_bytes = match format {
            WeightFormat::Q8_0 => rows * cols,
            _ => blocks * 16,
        };
        Self {
            format,
            rows,
            cols,
            scales: Vec::with_capacity(blocks),
            mins: Vec::with_capacity(if format == WeightFormat::Q4_1 {
                blocks
            } else {
                0
            }),
            codes: Vec::with_capacity(code_bytes),
            code_sums: Vec::new(),
            high: Vec::with_capacity(if format == WeightFormat::Q5_0 {
                blocks
            } else {
                0
            }),
        }
    }

    /// Per block `Σ q` of the signed codes (empty for Q4_1, whose codes are
    /// unsigned and whose kernel needs no offset).
    fn compute_code_sums(&self) -> Vec<i16> {
        if self.format == WeightFormat::Q4_1 {
            return Vec::new();
        }
        let blocks = self.rows * self.cols / BLOCK;
        (0..blocks)
            .map(|i| super::kernels::block_codes(self, i).iter().sum::<i32>() as i16)
            .collect()
    }

    /// The storage format.
    pub fn format(&self) -> WeightFormat {
        self.format
    }

    /// Output channels.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Inner dimension.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Bytes held in memory (codes, scales, minimums, high bits): what one
    /// full product reads.
    pub fn bytes(&self) -> usize {
        self.codes.len() + 4 * (self.scales.len() + self.mins.len() + self.high.len())
    }

    /// Bytes held in memory: [`BlockMatrix::bytes`] plus the per-block code
    /// sums only prefill reads.
    pub fn resident_bytes(&self) -> usize {
        self.bytes() + 2 * self.code_sums.len()
    }

    /// Writes row `r` as f32 values into `out` (`cols` long); used for
    /// embedding lookups and tests.
    ///
    /// # Panics
    /// If `r ≥ rows` or `out.len() != cols`.
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) {
        assert!(r < self.rows && out.len() == self.cols, "dequantize_row");
        let per_row = self.cols / BLOCK;
        for (b, chunk) in out.chunks_exact_mut(BLOCK).enumerate() {
            let i = r * per_row + b;
            let d = self.scales[i];
            match self.format {
                WeightFormat::Q8_0 => {
                    let codes = &self.codes[i * BLOCK..(i + 1) * BLOCK];
                    for (o, &q) in chunk.iter_mut().zip(codes) {
                        *o = d * f32::from(q as i8);
                    }
                }
                WeightFormat::Q4_1 | WeightFormat::Q5_0 => {
                    let codes = &self.codes[i * 16..(i + 1) * 16];
                    for j in 0..16 {
                        let (lo, hi) = self.nibble_values(i, codes[j], j);
                        chunk[j] = lo;
                        chunk[j + 16] = hi;
                    }
                    let _ = d;
                }
            }
        }
    }

    /// Values `j` and `j + 16` of 4/5-bit block `i`, from its byte `j`.
    fn nibble_values(&self, i: usize, byte: u8, j: usize) -> (f32, f32) {
        let d = self.scales[i];
        let (lo, hi) = (f32::from(byte & 0x0F), f32::from(byte >> 4));
        match self.format {
            WeightFormat::Q4_1 => {
                let m = self.mins[i];
                (d * lo + m, d * hi + m)
            }
            _ => {
                let h = self.high[i];
                let lo = lo + if h >> j & 1 == 1 { 16.0 } else { 0.0 } - 16.0;
                let hi = hi + if h >> (j + 16) & 1 == 1 { 16.0 } else { 0.0 } - 16.0;
                (d * lo, d * hi)
            }
        }
    }

    /// The whole matrix as f32, row-major (for tests and references).
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.rows * self.cols];
        if self.cols > 0 {
            for (r, row) in out.chunks_exact_mut(self.cols).enumerate() {
                self.dequantize_row(r, row);
            }
        }
        out
    }
}

/// GGUF's Q8_0 rounding of one block: returns the f16-rounded scale.
pub(crate) fn quantize_block_q8(block: &[f32], codes: &mut [u8]) -> f32 {
    let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    for (c, &x) in codes.iter_mut().zip(block) {
        *c = ((x * id).round() as i8) as u8;
    }
    f16::from_f32(d).to_f32()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn half_bytes(x: f32) -> [u8; 2] {
        f16::from_f32(x).to_le_bytes()
    }

    #[test]
    fn q4_1_and_q5_0_bytes_decode_as_gguf_defines_them() {
        // Q4_1: d = 0.5, m = -1, byte j = (j+1 high, j low) nibbles.
        let mut b = Vec::new();
        b.extend_from_slice(&half_bytes(0.5));
        b.extend_from_slice(&half_bytes(-1.0));
        b.extend((0..16u8).map(|j| j | (15 - j) << 4));
        let m = BlockMatrix::from_ggml(WeightFormat::Q4_1, 1, 32, &b).unwrap();
        let v = m.dequantize();
        assert_eq!(v[3], 0.5 * 3.0 - 1.0);
        assert_eq!(v[16 + 3], 0.5 * 12.0 - 1.0);

        // Q5_0: d = 2, high bit set for values 1 and 17.
        let mut b = Vec::new();
        b.extend_from_slice(&half_bytes(2.0));
        b.extend_from_slice(&((1u32 << 1) | (1u32 << 17)).to_le_bytes());
        b.extend(std::iter::repeat_n(0x21u8, 16));
        let m = BlockMatrix::from_ggml(WeightFormat::Q5_0, 1, 32, &b).unwrap();
        let v = m.dequantize();
        assert_eq!(v[0], 2.0 * (1.0 - 16.0));
        assert_eq!(v[1], 2.0 * (1.0 + 16.0 - 16.0));
        assert_eq!(v[16], 2.0 * (2.0 - 16.0));
        assert_eq!(v[17], 2.0 * (2.0 + 16.0 - 16.0));
    }

    #[test]
    fn wrong_sizes_are_named() {
        let e = BlockMatrix::from_ggml(WeightFormat::Q8_0, 2, 32, &[0; 10]).unwrap_err();
        assert!(e.to_string().contains("needs 68 bytes, got 10"), "{e}");
        let e = BlockMatrix::quantize_q8_0(1, 20, &[0.0; 20]).unwrap_err();
        assert!(matches!(e, FormatError::RaggedRow { cols: 20 }));
    }

    #[test]
    fn q8_0_quantization_is_close() {
        let v: Vec<f32> = (0..64).map(|i| (i as f32 * 0.37).sin()).collect();
        let m = BlockMatrix::quantize_q8_0(2, 32, &v).unwrap();
        for (a, b) in m.dequantize().iter().zip(&v) {
            assert!((a - b).abs() < 1.0 / 127.0, "{a} vs {b}");
        }
        assert_eq!(m.bytes(), 64 + 2 * 4);
    }
}
