//! The parallel scan driver: splits a table's 32-row blocks over rayon's
//! threads, skips blocks with no allowed row, lets each kind score a block,
//! and merges the per-task top-k selections.

use hearth_quant::linalg::f32_rows;
use rayon::prelude::*;

use super::flat::i8_rows;
use super::layout::BLOCK;
use super::mask::RowMask;
use super::topk::TopK;

/// Fewest blocks per rayon task (512 rows): enough work to amortise a task.
const MIN_BLOCKS_PER_TASK: usize = 16;

/// The `k` best rows of `len` by `score_block(block, lanes, top)`, which
/// must push exactly the rows of `block` whose bit is set in `lanes`.
pub(crate) fn top_k<F>(
    len: usize,
    k: usize,
    allow: Option<&RowMask>,
    score_block: F,
) -> Vec<(f32, u32)>
where
    F: Fn(usize, u32, &mut TopK) + Sync,
{
    if k == 0 || len == 0 {
        return Vec::new();
    }
    let blocks = len.div_ceil(BLOCK);
    (0..blocks)
        .into_par_iter()
        .with_min_len(MIN_BLOCKS_PER_TASK)
        .fold(
            || TopK::new(k),
            |mut top, b| {
                let filled = len - b * BLOCK;
                let valid = if filled >= BLOCK {
                    u32::MAX
                } else {
                    (1u32 << filled) - 1
                };
                let lanes = valid & allow.map_or(u32::MAX, |m| m.block_bits(b));
                if lanes != 0 {
                    score_block(b, lanes, &mut top);
                }
                top
            },
        )
        .reduce(|| TopK::new(k), TopK::merge)
        .into_sorted()
}

/// Scores block `b` of row-major f32 vectors.
pub(crate) fn f32_block(
    values: &[f32],
    dim: usize,
    q: &[f32],
    b: usize,
    lanes: u32,
    simd: bool,
    top: &mut TopK,
) {
    let start = b * BLOCK;
    let rows = (values.len() / dim - start).min(BLOCK);
    let mut scores = [0.0f32; BLOCK];
    f32_rows(
        &values[start * dim..(start + rows) * dim],
        q,
        &mut scores[..rows],
        simd,
    );
    push_lanes(&scores, start, lanes, top);
}

/// Scores block `b` of int8 rows (`scales` per row, query `q16` × `q_scale`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn i8_block(
    codes: &[i8],
    scales: &[f32],
    q16: &[i16],
    q_scale: f32,
    b: usize,
    lanes: u32,
    simd: bool,
    top: &mut TopK,
) {
    let dim = q16.len();
    let start = b * BLOCK;
    let rows = (scales.len() - start).min(BLOCK);
    let mut dots = [0i32; BLOCK];
    i8_rows(
        &codes[start * dim..(start + rows) * dim],
        q16,
        &mut dots[..rows],
        simd,
    );
    let mut scores = [0.0f32; BLOCK];
    for ((s, &d), &scale) in scores
        .iter_mut()
        .zip(&dots)
        .zip(&scales[start..start + rows])
    {
        *s = d as f32 * q_scale * scale;
    }
    push_lanes(&scores, start, lanes, top);
}

/// Offers the rows of `lanes` (bit i = row `start + i`) with their scores.
#[inline]
pub(crate) fn push_lanes(scores: &[f32; BLOCK], start: usize, lanes: u32, top: &mut TopK) {
    let mut threshold = top.threshold();
    let mut rest = lanes;
    while rest != 0 {
        let lane = rest.trailing_zeros() as usize;
        rest &= rest - 1;
        if scores[lane] >= threshold {
            top.push(scores[lane], (start + lane) as u32);
            threshold = top.threshold();
        }
    }
}
