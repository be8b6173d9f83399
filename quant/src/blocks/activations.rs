//! [`QuantizedActivations`]: token rows quantized on the fly to signed bytes
//! with one scale per block of 32, the right-hand operand of every block
//! product (GGUF's `Q8_0` activations, plus each block's code sum for the
//! `Q4_1` minimum term).

use super::BLOCK;
use super::matrix::quantize_block_q8;
use rayon::prelude::*;

/// `rows × cols` activations: `x[r][j] ≈ scales[r·nb + j/32] · codes[r·cols + j]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuantizedActivations {
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    /// One signed byte per value, row-major.
    pub(crate) codes: Vec<i8>,
    /// One scale per block.
    pub(crate) scales: Vec<f32>,
    /// Per block `scale · Σ codes` (multiplies a `Q4_1` block's minimum).
    pub(crate) sums: Vec<f32>,
}

impl QuantizedActivations {
    /// An empty buffer, to be filled by [`QuantizedActivations::quantize`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Quantizes `rows × cols` f32 values (row-major), reusing the buffers.
    ///
    /// # Panics
    /// If `cols` is not a multiple of 32 or `values.len() != rows · cols`.
    pub fn quantize(&mut self, values: &[f32], rows: usize, cols: usize) {
        assert!(
            cols.is_multiple_of(BLOCK) && values.len() == rows * cols,
            "quantize: {rows}×{cols} from {} values",
            values.len()
        );
        self.rows = rows;
        self.cols = cols;
        let blocks = rows * cols / BLOCK;
        self.codes.resize(rows * cols, 0);
        self.scales.resize(blocks, 0.0);
        self.sums.resize(blocks, 0.0);
        let work = values
            .par_chunks(BLOCK)
            .zip(self.codes.par_chunks_mut(BLOCK))
            .zip(self.scales.par_iter_mut().zip(self.sums.par_iter_mut()));
        let one = |((x, q), (d, s)): BlockJob<'_>| {
            // SAFETY-free reinterpretation: i8 and u8 have the same layout.
            let bytes: &mut [u8] = bytemuck_i8(q);
            *d = quantize_block_q8(x, bytes);
            let sum: i32 = q.iter().map(|&c| i32::from(c)).sum();
            *s = *d * sum as f32;
        };
        if rows * cols >= 1 << 14 {
            work.for_each(one);
        } else {
            values
                .chunks(BLOCK)
                .zip(self.codes.chunks_mut(BLOCK))
                .zip(self.scales.iter_mut().zip(self.sums.iter_mut()))
                .for_each(one);
        }
    }

    /// Rows (tokens).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns (the inner dimension).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The values back as f32 (for tests and references).
    pub fn dequantize(&self) -> Vec<f32> {
        self.codes
            .chunks(BLOCK)
            .zip(&self.scales)
            .flat_map(|(q, &d)| q.iter().map(move |&c| d * f32::from(c)))
            .collect()
    }
}

/// One block's work: its values and codes, its scale and code sum.
type BlockJob<'a> = ((&'a [f32], &'a mut [i8]), (&'a mut f32, &'a mut f32));

/// Views signed bytes as unsigned ones (same size and alignment).
fn bytemuck_i8(q: &mut [i8]) -> &mut [u8] {
    // SAFETY: i8 and u8 have identical size, alignment and validity.
    unsafe { std::slice::from_raw_parts_mut(q.as_mut_ptr().cast::<u8>(), q.len()) }
}
