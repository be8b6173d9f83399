//! Portable, deterministic random numbers for building codecs: the same seed
//! gives bit-identical rotations and projections on every machine.
//!
//! The stream is `ChaCha8Rng` (a specified algorithm, unlike `StdRng`), and
//! everything derived from it uses only IEEE-exact operations (+ − × ÷ √):
//! Gaussians come from Marsaglia's polar method with the logarithm computed
//! here rather than by the platform's libm, whose last bit may differ between
//! systems.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Streams of one seed, one per purpose, so that the rotation and the QJL
/// projection are independent.
pub const STREAM_ROTATION: u64 = 1;
/// See [`STREAM_ROTATION`].
pub const STREAM_PROJECTION: u64 = 2;

/// A seeded random source with portable derived distributions.
pub struct DetRng {
    rng: ChaCha8Rng,
    spare: Option<f64>,
}

impl DetRng {
    /// The `stream` of `seed` (one of the `STREAM_*` constants).
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Self { rng, spare: None }
    }

    /// Uniform in [0, 1), 53 random bits.
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in 0..n (multiply-shift; the bias is below 2⁻⁶⁰ for any n we use).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.rng.next_u64()) * n as u128) >> 64) as usize
    }

    /// A standard normal deviate (Marsaglia's polar method).
    pub fn gaussian(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        loop {
            let u = 2.0 * self.uniform() - 1.0;
            let v = 2.0 * self.uniform() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let f = (-2.0 * ln(s) / s).sqrt();
                self.spare = Some(v * f);
                return u * f;
            }
        }
    }

    /// A uniformly random permutation of 0..n (Fisher–Yates).
    pub(crate) fn permutation(&mut self, n: usize) -> Vec<u32> {
        let mut p: Vec<u32> = (0..n as u32).collect();
        for i in (1..n).rev() {
            let j = self.below(i + 1);
            p.swap(i, j);
        }
        p
    }

    /// `n` random signs as ±1.0.
    pub(crate) fn signs(&mut self, n: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(n);
        let mut bits = 0u64;
        for i in 0..n {
            if i % 64 == 0 {
                bits = self.rng.next_u64();
            }
            out.push(if bits & 1 == 1 { -1.0 } else { 1.0 });
            bits >>= 1;
        }
        out
    }
}

/// Natural logarithm of a positive, finite, normal `x`, from + − × ÷ only
/// (so identical everywhere): x = 2^e·m with m in [√½, √2), then
/// ln m = 2·atanh(s), s = (m−1)/(m+1), |s| ≤ 0.172, by its series to 2⁻⁶⁰.
pub(crate) fn ln(x: f64) -> f64 {
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & ((1u64 << 52) - 1)) | (1023u64 << 52));
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    // Horner over 1 + s²/3 + s⁴/5 + … + s²⁴/25: the next term is < 1e-20.
    let mut p = 0.0;
    for k in (0..=12).rev() {
        p = p * s2 + 1.0 / f64::from(2 * k + 1);
    }
    e as f64 * std::f64::consts::LN_2 + 2.0 * s * p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_matches_std() {
        let mut rng = DetRng::new(1, 0);
        for _ in 0..10_000 {
            let x = rng.uniform().max(1e-300) * 10f64.powi(rng.below(40) as i32 - 20);
            let want = x.ln();
            assert!(
                (ln(x) - want).abs() <= 4.0 * f64::EPSILON * want.abs().max(1.0),
                "{x}"
            );
        }
        assert_eq!(ln(1.0), 0.0);
    }

    #[test]
    fn gaussian_moments_and_determinism() {
        let mut rng = DetRng::new(7, STREAM_ROTATION);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| rng.gaussian()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        let kurt = xs.iter().map(|x| x.powi(4)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((var - 1.0).abs() < 0.01, "{var}");
        assert!((kurt - 3.0).abs() < 0.06, "{kurt}");
        let mut again = DetRng::new(7, STREAM_ROTATION);
        assert_eq!(again.gaussian().to_bits(), xs[0].to_bits());
        let mut other = DetRng::new(7, STREAM_PROJECTION);
        assert_ne!(other.gaussian().to_bits(), xs[0].to_bits());
    }

    #[test]
    fn permutation_is_a_permutation() {
        let mut rng = DetRng::new(3, 0);
        let mut p = rng.permutation(1000);
        assert_ne!(p, (0..1000).collect::<Vec<u32>>());
        p.sort_unstable();
        assert_eq!(p, (0..1000).collect::<Vec<u32>>());
    }
}
