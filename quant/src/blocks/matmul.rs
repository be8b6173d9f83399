//! The matrix products: [`gemv`] for one token, [`gemm`] for many, both split
//! across rayon's threads by weight rows so that each weight byte is read by
//! one thread only.

use super::activations::QuantizedActivations;
use super::kernels::{Tile, Tile8, dot_rows, dot_rows4, dot_rows8, has_rows8};
use super::matrix::BlockMatrix;
use super::matrix::WeightFormat;
use rayon::prelude::*;

/// Rows per task: enough work to amortise a task (≈ 16 KiB of weights), and
/// several tasks per thread so that a slow core does not hold the rest.
fn rows_per_task(w: &BlockMatrix, tokens: usize) -> usize {
    let row_bytes = (w.bytes() / w.rows.max(1)).max(1);
    let by_size = (16 * 1024 / (row_bytes * tokens.max(1))).max(1);
    let by_threads = w.rows.div_ceil(4 * rayon::current_num_threads());
    by_size.max(by_threads.min(64)).min(w.rows.max(1))
}

/// `out[n] = Σ_k w[n][k] · x[0][k]`: the product of a weight matrix with one
/// token's activations (decode).
///
/// # Panics
/// If the shapes disagree (`x` not one row of `w.cols()`, `out` not `w.rows()`).
pub fn gemv(w: &BlockMatrix, x: &QuantizedActivations, out: &mut [f32]) {
    assert!(
        x.rows == 1 && x.cols == w.cols && out.len() == w.rows,
        "gemv: {}×{} by {}×{} into {}",
        w.rows,
        w.cols,
        x.rows,
        x.cols,
        out.len()
    );
    let chunk = rows_per_task(w, 1);
    out.par_chunks_mut(chunk)
        .enumerate()
        .for_each(|(c, out)| dot_rows(w, c * chunk, x, 0, out));
}

/// Several products of one token's activations at once (Q, K and V; gate and
/// up): `outs[i] = ws[i] · x`, all rows of all matrices in one parallel
/// region, so the threads are woken once instead of once per matrix.
///
/// # Panics
/// If the counts or shapes disagree.
pub fn gemv_many(ws: &[&BlockMatrix], x: &QuantizedActivations, outs: &mut [&mut [f32]]) {
    assert_eq!(ws.len(), outs.len(), "gemv_many: matrices and outputs");
    let mut tasks: Vec<(&BlockMatrix, usize, &mut [f32])> = Vec::new();
    for (w, out) in ws.iter().zip(outs.iter_mut()) {
        assert!(
            x.rows == 1 && x.cols == w.cols && out.len() == w.rows,
            "gemv_many: {}×{} by {}×{} into {}",
            w.rows,
            w.cols,
            x.rows,
            x.cols,
            out.len()
        );
        let chunk = rows_per_task(w, 1);
        for (c, part) in out.chunks_mut(chunk).enumerate() {
            tasks.push((w, c * chunk, part));
        }
    }
    tasks
        .into_par_iter()
        .for_each(|(w, first, out)| dot_rows(w, first, x, 0, out));
}

/// Disjoint writes into one output buffer from several tasks.
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);
// SAFETY: tasks write disjoint elements (each its own weight rows' columns).
unsafe impl Send for SharedOut {}
// SAFETY: as above; no element is read or written by two tasks.
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// The buffer (a method, so closures capture the whole `Sync` wrapper).
    fn ptr(self) -> *mut f32 {
        self.0
    }
}

/// `out[t][n] = Σ_k w[n][k] · x[t][k]` for every token `t` (prefill), `out`
/// token-major (`x.rows() × w.rows()`). Each task takes a band of weight rows
/// (kept in cache) across all tokens, four tokens per kernel call.
///
/// # Panics
/// If the shapes disagree.
pub fn gemm(w: &BlockMatrix, x: &QuantizedActivations, out: &mut [f32]) {
    let (m, n) = (x.rows, w.rows);
    assert!(
        x.cols == w.cols && out.len() == m * n,
        "gemm: {}×{} by {}×{} into {}",
        w.rows,
        w.cols,
        x.rows,
        x.cols,
        out.len()
    );
    if m == 1 {
        return gemv(w, x, out);
    }
    let band = rows_per_task(w, 4).max(8);
    // Tokens in groups of eight for the broadcast-weight kernel where the CPU
    // has it, the rest in groups of four, each group packed once for every band.
    let groups8 = if has_rows8() { m / 8 } else { 0 };
    let offset = w.format != WeightFormat::Q4_1;
    let tiles8: Vec<Tile8> = (0..groups8)
        .into_par_iter()
        .map(|g| {
            let mut tile = Tile8::default();
            tile.pack(x, 8 * g, offset);
            tile
        })
        .collect();
    let rest = 8 * groups8;
    let tiles4: Vec<Tile> = (0..(m - rest) / 4)
        .into_par_iter()
        .map(|g| {
            let mut tile = Tile::default();
            tile.pack(x, rest + 4 * g);
            tile
        })
        .collect();
    let shared = SharedOut(out.as_mut_ptr());
    (0..n.div_ceil(band)).into_par_iter().for_each(|c| {
        let first = c * band;
        let rows = band.min(n - first);
        // SAFETY (for every write below): element (token, first + r) is inside
        // `out` (token < m, first + r < n) and only this task writes columns
        // first..first + rows.
        let put = |token: usize, r: usize, v: f32| unsafe {
            *shared.ptr().add(token * n + first + r) = v
        };
        let mut out8 = vec![[0f32; 8]; rows];
        for (g, tile) in tiles8.iter().enumerate() {
            dot_rows8(w, first, tile, &mut out8);
            for (r, v) in out8.iter().enumerate() {
                for (u, &v) in v.iter().enumerate() {
                    put(8 * g + u, r, v);
                }
            }
        }
        let mut out4 = vec![[0f32; 4]; rows];
        for (g, tile) in tiles4.iter().enumerate() {
            dot_rows4(w, first, tile, &mut out4);
            for (r, v) in out4.iter().enumerate() {
                for (u, &v) in v.iter().enumerate() {
                    put(rest + 4 * g + u, r, v);
                }
            }
        }
        let mut single = vec![0f32; rows];
        for t in rest + 4 * tiles4.len()..m {
            dot_rows(w, first, x, t, &mut single);
            for (r, &v) in single.iter().enumerate() {
                put(t, r, v);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::super::kernels::{
        Kernel, Tile, block_codes, dot_rows_with, dot_rows4_with, reference_dot,
    };
    use super::super::{BLOCK, WeightFormat};
    use super::*;
    use proptest::prelude::*;

    /// A random matrix in `format` (random GGUF bytes with sane scales).
    fn matrix(format: WeightFormat, rows: usize, cols: usize, seed: u64) -> BlockMatrix {
        let mut state = seed | 1;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let blocks = rows * cols / BLOCK;
        let mut bytes = Vec::new();
        for _ in 0..blocks {
            let d = half::f16::from_f32(((next() % 1000) as f32 + 1.0) * 1e-4);
            bytes.extend_from_slice(&d.to_le_bytes());
            let body = format.ggml_block_bytes() - 2;
            for k in 0..body {
                let b = next() as u8;
                // A Q4_1 minimum is an f16 too: keep it small and finite.
                let b = if format == WeightFormat::Q4_1 && k == 1 {
                    b & 0x1F
                } else {
                    b
                };
                bytes.push(b);
            }
        }
        BlockMatrix::from_ggml(format, rows, cols, &bytes).unwrap()
    }

    fn activations(rows: usize, cols: usize, seed: u64) -> QuantizedActivations {
        let v: Vec<f32> = (0..rows * cols)
            .map(|i| ((i as f32 + seed as f32 * 0.37) * 0.618).sin() * 3.0)
            .collect();
        let mut x = QuantizedActivations::new();
        x.quantize(&v, rows, cols);
        x
    }

    /// `Σ |q_w·q_a|` of a block: SIMD lanes hold partial sums of up to this
    /// size, so their f32 rounding scales with it (not with the exact sum).
    fn block_abs(w: &BlockMatrix, r: usize, b: usize, x: &QuantizedActivations, t: usize) -> f32 {
        let nb = w.cols / BLOCK;
        let q = block_codes(w, r * nb + b);
        let a = &x.codes[t * x.cols + b * BLOCK..t * x.cols + (b + 1) * BLOCK];
        q.iter()
            .zip(a)
            .map(|(&q, &a)| (q * i32::from(a)).abs() as f32)
            .sum()
    }

    /// `Σ |term|` of a row product: the scale of its rounding error.
    fn magnitude(w: &BlockMatrix, r: usize, x: &QuantizedActivations, t: usize) -> f32 {
        let nb = w.cols / BLOCK;
        (0..nb)
            .map(|b| {
                let i = r * nb + b;
                let j = t * nb + b;
                (w.scales[i] * x.scales[j]).abs() * block_abs(w, r, b, x, t)
                    + if w.format == WeightFormat::Q4_1 {
                        (w.mins[i] * x.sums[j]).abs()
                    } else {
                        0.0
                    }
            })
            .sum()
    }

    fn format() -> impl Strategy<Value = WeightFormat> {
        prop_oneof![
            Just(WeightFormat::Q8_0),
            Just(WeightFormat::Q4_1),
            Just(WeightFormat::Q5_0)
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Every kernel the CPU has, for one and for four tokens.
        #[test]
        fn every_kernel_equals_the_reference(
            format in format(), rows in 1usize..12, nb in 1usize..7, seed in any::<u64>()
        ) {
            let cols = nb * BLOCK;
            let w = matrix(format, rows, cols, seed);
            let x = activations(4, cols, seed);
            let mut packed = Tile::default();
            packed.pack(&x, 0);
            for kernel in Kernel::available() {
                let mut one = vec![0f32; rows];
                let mut four = vec![[0f32; 4]; rows];
                dot_rows_with(kernel, &w, 0, &x, 2, &mut one);
                dot_rows4_with(kernel, &w, 0, &packed, &mut four);
                for r in 0..rows {
                    let want = reference_dot(&w, r, &x, 2);
                    let tol = 1e-5 * magnitude(&w, r, &x, 2).max(1e-30);
                    prop_assert!((one[r] - want).abs() <= tol, "{kernel:?} {format}: {} vs {want}", one[r]);
                    prop_assert!((four[r][2] - want).abs() <= tol, "{kernel:?} {format} ×4: {} vs {want}", four[r][2]);
                }
            }
        }
    }

    #[test]
    fn many_products_equal_one_at_a_time() {
        let a = matrix(WeightFormat::Q5_0, 70, 64, 1);
        let b = matrix(WeightFormat::Q8_0, 9, 64, 2);
        let x = activations(1, 64, 3);
        let (mut ya, mut yb) = (vec![0f32; 70], vec![0f32; 9]);
        gemv_many(&[&a, &b], &x, &mut [&mut ya, &mut yb]);
        let (mut za, mut zb) = (vec![0f32; 70], vec![0f32; 9]);
        gemv(&a, &x, &mut za);
        gemv(&b, &x, &mut zb);
        assert_eq!((ya, yb), (za, zb));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn simd_equals_the_reference(
            format in format(), rows in 1usize..40, nb in 1usize..9, tokens in 1usize..21, seed in any::<u64>()
        ) {
            let cols = nb * BLOCK;
            let w = matrix(format, rows, cols, seed);
            let x = activations(tokens, cols, seed);
            let mut out = vec![0f32; tokens * rows];
            gemm(&w, &x, &mut out);
            for t in 0..tokens {
                for r in 0..rows {
                    let want = reference_dot(&w, r, &x, t);
                    // The block sums are exact integers in both paths; only the
                    // f32 accumulation order across blocks differs.
                    let scale: f32 = (0..nb).map(|b| {
                        let i = r * nb + b;
                        (w.scales[i] * x.scales[t * nb + b]).abs() * block_abs(&w, r, b, &x, t)
                            + if format == WeightFormat::Q4_1 { (w.mins[i] * x.sums[t * nb + b]).abs() } else { 0.0 }
                    }).sum();
                    let got = out[t * rows + r];
                    prop_assert!((got - want).abs() <= 1e-5 * scale.max(1e-30), "{format} {t},{r}: {got} vs {want}");
                }
            }
        }

        #[test]
        fn products_match_dequantized_arithmetic(format in format(), rows in 1usize..6, nb in 1usize..5, seed in any::<u64>()) {
            let cols = nb * BLOCK;
            let w = matrix(format, rows, cols, seed);
            let x = activations(1, cols, seed);
            let mut out = vec![0f32; rows];
            gemv(&w, &x, &mut out);
            let (wd, xd) = (w.dequantize(), x.dequantize());
            for r in 0..rows {
                let want: f64 = (0..cols).map(|k| f64::from(wd[r * cols + k]) * f64::from(xd[k])).sum();
                let mag: f64 = (0..cols).map(|k| (f64::from(wd[r * cols + k]) * f64::from(xd[k])).abs()).sum();
                prop_assert!((f64::from(out[r]) - want).abs() <= 1e-4 * mag.max(1e-30), "{format} row {r}: {} vs {want}", out[r]);
            }
        }
    }

    #[test]
    fn q5_0_codes_span_minus_16_to_15() {
        let w = matrix(WeightFormat::Q5_0, 4, 64, 7);
        let codes: Vec<i32> = (0..8).flat_map(|i| block_codes(&w, i)).collect();
        assert!(codes.iter().all(|c| (-16..16).contains(c)));
        assert!(codes.iter().any(|&c| c < -8) && codes.iter().any(|&c| c > 8));
    }
}
