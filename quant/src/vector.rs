//! f32 vector kernels of the decoder: dot products and scaled sums for
//! attention, RMSNorm, SwiGLU's gate and softmax. Written as chunked loops
//! with eight accumulators so that the AVX2+FMA build ([`crate::dispatch!`])
//! vectorizes them; the portable build runs the same code.

const LANES: usize = 8;

crate::dispatch! {
    /// `*out = Σ a[i]·b[i]` over the shorter length.
    pub fn dot_into(a: &[f32], b: &[f32], out: &mut f32) {
        let n = a.len().min(b.len());
        let (a, b) = (&a[..n], &b[..n]);
        let mut acc = [0f32; LANES];
        let mut ca = a.chunks_exact(LANES);
        let mut cb = b.chunks_exact(LANES);
        for (x, y) in (&mut ca).zip(&mut cb) {
            for l in 0..LANES {
                acc[l] = x[l].mul_add(y[l], acc[l]);
            }
        }
        let mut s: f32 = acc.iter().sum();
        for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
            s = x.mul_add(*y, s);
        }
        *out = s;
    }
}

/// `Σ a[i]·b[i]` (see [`dot_into`]).
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut s = 0.0;
    dot_into(a, b, &mut s);
    s
}

crate::dispatch! {
    /// Attention scores: `out[p] = scale · q · keys[p]` for each `q.len()`-long
    /// row `p` of `keys` (one call per query and head, so the loop over
    /// positions is compiled for the CPU's vector width).
    pub fn scores(q: &[f32], keys: &[f32], scale: f32, out: &mut [f32]) {
        let d = q.len();
        if d == 0 {
            return;
        }
        for (o, k) in out.iter_mut().zip(keys.chunks_exact(d)) {
            let mut acc = [0f32; LANES];
            let mut cq = q.chunks_exact(LANES);
            let mut ck = k.chunks_exact(LANES);
            for (x, y) in (&mut cq).zip(&mut ck) {
                for l in 0..LANES {
                    acc[l] = x[l].mul_add(y[l], acc[l]);
                }
            }
            let mut s: f32 = acc.iter().sum();
            for (x, y) in cq.remainder().iter().zip(ck.remainder()) {
                s = x.mul_add(*y, s);
            }
            *o = scale * s;
        }
    }
}

crate::dispatch! {
    /// `out = Σ_p weights[p] · values[p]` over the `out.len()`-long rows of
    /// `values` (attention's weighted sum of values).
    pub fn weighted_sum(weights: &[f32], values: &[f32], out: &mut [f32]) {
        let d = out.len();
        out.fill(0.0);
        if d == 0 {
            return;
        }
        for (w, v) in weights.iter().zip(values.chunks_exact(d)) {
            for (o, x) in out.iter_mut().zip(v) {
                *o = w.mul_add(*x, *o);
            }
        }
    }
}

crate::dispatch! {
    /// `y[i] += a·x[i]`.
    pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
        for (y, x) in y.iter_mut().zip(x) {
            *y = a.mul_add(*x, *y);
        }
    }
}

crate::dispatch! {
    /// `y[i] += x[i]` (residual connections).
    pub fn add_assign(y: &mut [f32], x: &[f32]) {
        for (y, x) in y.iter_mut().zip(x) {
            *y += *x;
        }
    }
}

crate::dispatch! {
    /// RMSNorm of each `weight.len()`-long row of `x` into `out`:
    /// `out = x / sqrt(mean(x²) + eps) · weight`.
    pub fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
        let n = weight.len();
        for (row, o) in x.chunks_exact(n).zip(out.chunks_exact_mut(n)) {
            let mut acc = [0f32; LANES];
            let mut chunks = row.chunks_exact(LANES);
            for c in &mut chunks {
                for l in 0..LANES {
                    acc[l] = c[l].mul_add(c[l], acc[l]);
                }
            }
            let mut ss: f32 = acc.iter().sum();
            for v in chunks.remainder() {
                ss = v.mul_add(*v, ss);
            }
            let scale = 1.0 / (ss / n as f32 + eps).sqrt();
            for ((o, v), w) in o.iter_mut().zip(row).zip(weight) {
                *o = v * scale * w;
            }
        }
    }
}

crate::dispatch! {
    /// SwiGLU's gate: `gate[i] = silu(gate[i]) · up[i]`, `silu(x) = x / (1 + e^−x)`.
    pub fn silu_mul(gate: &mut [f32], up: &[f32]) {
        for (g, u) in gate.iter_mut().zip(up) {
            *g = *g / (1.0 + (-*g).exp()) * u;
        }
    }
}

crate::dispatch! {
    /// Softmax in place: `x[i] = e^(x[i] − max) / Σ e^(x[j] − max)`.
    pub fn softmax(x: &mut [f32]) {
        let max = x.iter().fold(f32::NEG_INFINITY, |m, v| m.max(*v));
        if max == f32::NEG_INFINITY {
            return;
        }
        let mut sum = 0f32;
        for v in x.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        let inv = 1.0 / sum;
        for v in x.iter_mut() {
            *v *= inv;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn dot_matches_f64(v in proptest::collection::vec(-10f32..10.0, 0..100)) {
            let w: Vec<f32> = v.iter().map(|x| x * 0.5 - 1.0).collect();
            let want: f64 = v.iter().zip(&w).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
            let mag: f64 = v.iter().zip(&w).map(|(a, b)| (f64::from(*a) * f64::from(*b)).abs()).sum();
            prop_assert!((f64::from(dot(&v, &w)) - want).abs() <= 1e-5 * mag + 1e-6);
        }

        #[test]
        fn softmax_sums_to_one(mut v in proptest::collection::vec(-50f32..50.0, 1..64)) {
            softmax(&mut v);
            let s: f32 = v.iter().sum();
            prop_assert!((s - 1.0).abs() < 1e-4);
            prop_assert!(v.iter().all(|p| (0.0..=1.0).contains(p)));
        }
    }

    #[test]
    fn scores_and_weighted_sums_are_dot_products() {
        let q = [1.0, 2.0, 3.0];
        let keys = [1.0, 0.0, 0.0, 0.0, 1.0, 1.0];
        let mut out = [0.0; 2];
        scores(&q, &keys, 0.5, &mut out);
        assert_eq!(out, [0.5, 2.5]);
        let mut acc = [0.0; 3];
        weighted_sum(&[0.25, 0.75], &keys, &mut acc);
        assert_eq!(acc, [0.25, 0.75, 0.75]);
    }

    #[test]
    fn rms_norm_gives_unit_rms() {
        let x = [3.0, -4.0, 0.0, 5.0];
        let mut out = [0.0; 4];
        rms_norm(&x, &[1.0; 4], 0.0, &mut out);
        let rms = (out.iter().map(|v| v * v).sum::<f32>() / 4.0).sqrt();
        assert!((rms - 1.0).abs() < 1e-6);
        let mut g = [0.0f32, 2.0];
        silu_mul(&mut g, &[1.0, 3.0]);
        assert_eq!(g[0], 0.0);
        assert!((g[1] - 3.0 * 2.0 / (1.0 + (-2.0f32).exp())).abs() < 1e-6);
    }
}
