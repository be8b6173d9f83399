//! QJL (quantized Johnson–Lindenstrauss) residual sign bits, the second stage
//! of TurboQuant's inner-product variant.
//!
//! With r the residual of the MSE stage (in the rotated space) and S a seeded
//! d × d matrix of iid N(0, 1) entries, the code keeps sign(S r) (one bit per
//! row of S) and ‖r‖. Since E[⟨s, q⟩ · sign⟨s, r⟩] = √(2/π) · ⟨q, r⟩ / ‖r‖
//! for a Gaussian row s,
//!
//! ⟨q, r⟩ ≈ ‖r‖ · √(π/2) / d · ⟨S q, sign(S r)⟩
//!
//! is unbiased, and adding it to the MSE stage's ⟨q, x̃⟩ makes the whole
//! inner-product estimate unbiased (the MSE quantizer alone shrinks inner
//! products towards zero).

use hearth_quant::linalg::matvec;
use hearth_quant::rng::{DetRng, STREAM_PROJECTION};

use super::layout::PlaneLayout;

/// Levels of the sign plane: code 0 = negative, 1 = non-negative.
pub(crate) const SIGN_LEVELS: [f32; 2] = [-1.0, 1.0];

/// A seeded Gaussian projection and the layout of its sign bits.
#[derive(Clone)]
pub(crate) struct Qjl {
    dim: usize,
    /// Row-major dim × dim, iid N(0, 1).
    projection: Vec<f32>,
    plane: PlaneLayout,
}

impl std::fmt::Debug for Qjl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Qjl").field("dim", &self.dim).finish()
    }
}

impl Qjl {
    pub(crate) fn new(dim: usize, seed: u64) -> Self {
        let mut rng = DetRng::new(seed, STREAM_PROJECTION);
        Self {
            dim,
            projection: (0..dim * dim).map(|_| rng.gaussian() as f32).collect(),
            plane: PlaneLayout::new(1, dim),
        }
    }

    /// The layout of the sign bits.
    pub(crate) fn plane(&self) -> &PlaneLayout {
        &self.plane
    }

    /// √(π/2) / d: the estimator's constant (times ‖r‖ per vector).
    pub(crate) fn scale(&self) -> f32 {
        (std::f64::consts::FRAC_PI_2.sqrt() / self.dim as f64) as f32
    }

    /// `out = S · x`.
    pub(crate) fn project(&self, x: &[f32], out: &mut [f32]) {
        matvec(&self.projection, x, out);
    }

    /// `out[i] = [⟨S_i, r⟩ ≥ 0]`; `tmp` is scratch (dim long).
    pub(crate) fn signs(&self, r: &[f32], tmp: &mut [f32], out: &mut [u8]) {
        matvec(&self.projection, r, tmp);
        for (o, &v) in out.iter_mut().zip(tmp.iter()) {
            *o = u8::from(v >= 0.0);
        }
    }

    /// `out += weight · Sᵀ · (2·signs − 1)`: the residual's reconstruction.
    pub(crate) fn add_transposed(&self, signs: &[u8], weight: f32, out: &mut [f32]) {
        for (&s, row) in signs.iter().zip(self.projection.chunks_exact(self.dim)) {
            let w = if s == 1 { weight } else { -weight };
            for (o, &v) in out.iter_mut().zip(row) {
                *o += w * v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_quant::linalg::dot;

    #[test]
    fn unbiased_for_a_fixed_pair() {
        // Average the estimate of ⟨q, r⟩ over many projections.
        let dim = 32;
        let r: Vec<f32> = (0..dim).map(|j| ((j * 5 % 7) as f32 - 3.0) / 4.0).collect();
        let q: Vec<f32> = (0..dim)
            .map(|j| ((j * 3 % 11) as f32 - 4.0) / 5.0)
            .collect();
        let exact = dot(&q, &r);
        let rn = dot(&r, &r).sqrt();
        let trials = 400;
        let mut sum = 0.0f64;
        let mut sq = 0.0f64;
        for seed in 0..trials {
            let qjl = Qjl::new(dim, seed);
            let mut signs = vec![0u8; dim];
            let mut sq_proj = vec![0.0f32; dim];
            qjl.signs(&r, &mut sq_proj, &mut signs);
            qjl.project(&q, &mut sq_proj);
            let est: f32 = sq_proj
                .iter()
                .zip(&signs)
                .map(|(&p, &s)| if s == 1 { p } else { -p })
                .sum::<f32>()
                * rn
                * qjl.scale();
            sum += f64::from(est);
            sq += f64::from(est) * f64::from(est);
        }
        let mean = sum / trials as f64;
        let se = ((sq / trials as f64 - mean * mean) / trials as f64).sqrt();
        assert!(
            (mean - f64::from(exact)).abs() < 4.0 * se,
            "{mean} vs {exact} (se {se})"
        );
    }
}
