//! The element-wise and attention steps of the encoder, on plain row-major f32
//! slices, fused where a pass over memory can be saved (bias + residual +
//! LayerNorm, bias + GELU). Rayon splits the rows into tasks; each task's body is
//! written as simple loops that vectorise and compiled twice, once for the
//! baseline target and once with AVX2+FMA, picked at run time (closures do not
//! inherit target features, so the dispatch sits inside the task).

use hearth_quant::dispatch;
use rayon::prelude::*;

/// e^x, branch-free so it vectorises (inputs clamped to [-87, 88], relative
/// error about 2e-7 there).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (0.166_666_67 + r * (0.041_666_51 + r * (0.008_333_452 + r * 0.001_393_6)))));
    let bits = ((n as i32 + 127) as u32) << 23;
    p * f32::from_bits(bits)
}

/// erf(x), Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let y = 1.0 - poly * exp(-a * a);
    if x < 0.0 { -y } else { y }
}

/// Rows per parallel task in the row-wise steps.
const ROWS_PER_TASK: usize = 16;

/// `x[r] = LayerNorm(x[r] + bias + residual[r])` for every row of width `gamma.len()`.
pub fn add_layer_norm(
    x: &mut [f32],
    bias: &[f32],
    residual: &[f32],
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
) {
    let w = gamma.len();
    x.par_chunks_mut(w * ROWS_PER_TASK)
        .zip(residual.par_chunks(w * ROWS_PER_TASK))
        .for_each(|(xs, rs)| add_layer_norm_rows(xs, bias, rs, gamma, beta, eps));
}

dispatch! {
    fn add_layer_norm_rows(xs: &mut [f32], bias: &[f32], rs: &[f32], gamma: &[f32], beta: &[f32], eps: f32) {
        let w = gamma.len();
        for (row, res) in xs.chunks_exact_mut(w).zip(rs.chunks_exact(w)) {
            for ((v, b), r) in row.iter_mut().zip(bias).zip(res) {
                *v += b + r;
            }
            normalise(row, gamma, beta, eps);
        }
    }
}

/// `x[r] = LayerNorm(x[r])` for every row of width `gamma.len()`.
pub fn layer_norm(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let w = gamma.len();
    x.par_chunks_mut(w * ROWS_PER_TASK)
        .for_each(|xs| layer_norm_rows(xs, gamma, beta, eps));
}

dispatch! {
    fn layer_norm_rows(xs: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
        for row in xs.chunks_exact_mut(gamma.len()) {
            normalise(row, gamma, beta, eps);
        }
    }
}

/// Sum with 8 independent lanes, so the loop vectorises (f32 addition is not
/// associative, so a plain `.sum()` stays scalar).
#[inline(always)]
fn sum_lanes(xs: &[f32], mut f: impl FnMut(f32) -> f32) -> f32 {
    let mut acc = [0f32; 8];
    let chunks = xs.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += f(v);
        }
    }
    acc.iter().sum::<f32>() + tail.iter().map(|&v| f(v)).sum::<f32>()
}

#[inline(always)]
fn normalise(row: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let n = row.len() as f32;
    let mean = sum_lanes(row, |v| v) / n;
    let var = sum_lanes(row, |v| (v - mean) * (v - mean)) / n;
    let inv = 1.0 / (var + eps).sqrt();
    for ((v, g), b) in row.iter_mut().zip(gamma).zip(beta) {
        *v = (*v - mean) * inv * g + b;
    }
}

/// `x[r] = GELU(x[r] + bias)` (the exact, erf-based GELU) for rows of `bias.len()`.
pub fn add_gelu(x: &mut [f32], bias: &[f32]) {
    x.par_chunks_mut(bias.len() * ROWS_PER_TASK)
        .for_each(|xs| add_gelu_rows(xs, bias));
}

dispatch! {
    fn add_gelu_rows(xs: &mut [f32], bias: &[f32]) {
        for row in xs.chunks_exact_mut(bias.len()) {
            for (v, b) in row.iter_mut().zip(bias) {
                let y = *v + b;
                *v = 0.5 * y * (1.0 + erf(y * std::f32::consts::FRAC_1_SQRT_2));
            }
        }
    }
}

/// `x[r] += bias` for rows of `bias.len()`.
pub fn add_bias(x: &mut [f32], bias: &[f32]) {
    x.par_chunks_mut(bias.len() * ROWS_PER_TASK).for_each(|xs| {
        for row in xs.chunks_exact_mut(bias.len()) {
            for (v, b) in row.iter_mut().zip(bias) {
                *v += b;
            }
        }
    });
}

dispatch! {
    /// Row-wise softmax of `s` (rows of `width`), in place.
    fn softmax_rows(s: &mut [f32], width: usize) {
        for row in s.chunks_exact_mut(width) {
            let mut lanes = [f32::NEG_INFINITY; 8];
            let chunks = row.chunks_exact(8);
            let tail = chunks.remainder();
            for c in chunks {
                for (m, &v) in lanes.iter_mut().zip(c) {
                    *m = m.max(v);
                }
            }
            let max = tail.iter().chain(lanes.iter()).fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            for v in row.iter_mut() {
                *v = exp(*v - max);
            }
            let inv = 1.0 / sum_lanes(row, |v| v);
            for v in row.iter_mut() {
                *v *= inv;
            }
        }
    }
}

/// Shapes for [`attention`].
#[derive(Debug, Clone, Copy)]
pub struct AttentionShape {
    /// Width of the hidden states (all heads together).
    pub hidden: usize,
    /// Number of attention heads; each is `hidden / heads` wide.
    pub heads: usize,
}

/// Self-attention of packed sequences: `qkv` holds, per token, its query, key and
/// value rows side by side (`3·hidden` wide); `offsets` are the sequences' token
/// ranges (`offsets[i]..offsets[i+1]`). Writes each token's context (`hidden`
/// wide) into `ctx`. No padding: each sequence attends only to itself. Per
/// (sequence, head), `S = Q·Kᵀ/√d` and `ctx = softmax(S)·V` are two small GEMMs
/// reading Q, K and V in place through strides.
pub fn attention(qkv: &[f32], offsets: &[usize], shape: AttentionShape, ctx: &mut [f32]) {
    let h = shape.hidden;
    let d = h / shape.heads;
    let tokens = offsets.last().copied().unwrap_or(0);
    assert!(qkv.len() >= tokens * 3 * h && ctx.len() >= tokens * h);
    let scale = 1.0 / (d as f32).sqrt();
    let tasks: Vec<(usize, usize)> = (0..offsets.len().saturating_sub(1))
        .flat_map(|s| (0..shape.heads).map(move |hd| (s, hd)))
        .collect();
    let ctx_ptr = SendPtr(ctx.as_mut_ptr());
    let stride = (3 * h) as isize;
    tasks
        .par_iter()
        .for_each_init(Vec::new, |scores: &mut Vec<f32>, &(s, hd)| {
            let (start, end) = (offsets[s], offsets[s + 1]);
            let len = end - start;
            if len == 0 {
                return;
            }
            scores.clear();
            scores.resize(len * len, 0.0);
            let col = hd * d;
            let base = qkv[start * 3 * h..].as_ptr();
            // SAFETY: Q, K and V of this sequence and head lie inside `qkv` (asserted
            // above: rows start..end, columns col..col+d of each third); `scores` holds
            // len×len; the context band (rows start..end, columns col..col+d) is inside
            // `ctx` and written by this task alone.
            unsafe {
                let q = base.add(col);
                let k = base.add(h + col);
                let v = base.add(2 * h + col);
                gemm::gemm(
                    len,
                    len,
                    d,
                    scores.as_mut_ptr(),
                    1,
                    len as isize,
                    false,
                    q,
                    1,
                    stride,
                    k,
                    stride,
                    1,
                    0.0,
                    scale,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
                softmax_rows(scores, len);
                gemm::gemm(
                    len,
                    d,
                    len,
                    ctx_ptr.get().add(start * h + col),
                    1,
                    h as isize,
                    false,
                    scores.as_ptr(),
                    1,
                    len as isize,
                    v,
                    1,
                    stride,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        });
}

/// A raw pointer that may cross threads (disjoint writes are the caller's proof).
#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// SAFETY: used only for writes to disjoint regions, see `attention`.
unsafe impl Send for SendPtr {}
// SAFETY: as above.
unsafe impl Sync for SendPtr {}

impl SendPtr {
    fn get(self) -> *mut f32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_and_erf_are_accurate() {
        for i in -800..=300 {
            let x = i as f32 / 10.0;
            let rel = (exp(x) - x.exp()).abs() / x.exp();
            assert!(rel < 1e-6, "exp({x}): {} vs {}", exp(x), x.exp());
        }
        // erf against values from tables.
        for (x, want) in [
            (0.0f32, 0.0f32),
            (0.5, 0.520_499_9),
            (1.0, 0.842_700_8),
            (-2.0, -0.995_322_3),
            (3.5, 0.999_999_3),
        ] {
            assert!((erf(x) - want).abs() < 3e-7, "erf({x}) = {}", erf(x));
        }
    }

    #[test]
    fn layer_norm_rows_have_zero_mean_unit_variance() {
        let mut x: Vec<f32> = (0..8).map(|i| i as f32).collect();
        add_layer_norm(&mut x, &[0.0; 4], &[1.0; 8], &[1.0; 4], &[0.0; 4], 1e-12);
        for row in x.chunks(4) {
            let mean: f32 = row.iter().sum::<f32>() / 4.0;
            let var: f32 = row.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / 4.0;
            assert!(mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-4);
        }
    }

    #[test]
    fn attention_of_one_token_is_its_value() {
        // hidden 4, 2 heads, two sequences of one token each.
        let qkv: Vec<f32> = (0..24).map(|i| i as f32).collect();
        let mut ctx = vec![0f32; 8];
        attention(
            &qkv,
            &[0, 1, 2],
            AttentionShape {
                hidden: 4,
                heads: 2,
            },
            &mut ctx,
        );
        assert_eq!(ctx, vec![8.0, 9.0, 10.0, 11.0, 20.0, 21.0, 22.0, 23.0]);
    }
}
