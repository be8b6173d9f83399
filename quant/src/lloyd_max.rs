//! Lloyd–Max scalar codebooks for the coordinates of a randomly rotated unit
//! vector, computed (not tabulated) for the actual dimension and cached.
//!
//! A coordinate X of a uniformly random point of the unit sphere in R^d has
//! density f(x) ∝ (1 − x²)^((d−3)/2) on [−1, 1] (arcsine for d = 2, uniform
//! for d = 3, → N(0, 1/d) as d grows). The optimal b-bit quantizer alternates
//! the two Lloyd–Max conditions until the centroids stop moving: boundaries
//! are midpoints of neighbouring centroids, and each centroid is the
//! conditional mean E[X | cell].
//!
//! The cell integrals are computed exactly rather than by quadrature. With
//! x = sin θ and n = d − 2:
//!
//! * mass:   ∫ f = ∫ cos^n θ dθ = I_n(θ), from the stable upward recursion
//!   I_n = cos^(n−1)θ · sin θ / n + (n−1)/n · I_(n−2), I_0 = θ, I_1 = sin θ;
//! * moment: ∫ x f = −cos^(n+1)θ / (n+1) = −(1 − x²)^((d−1)/2) / (d − 1).
//!
//! This is exact to rounding for every d ≥ 2 (including the singular
//! arcsine density at d = 2, where quadrature struggles) and costs O(d) per
//! boundary; the tests check it against composite Simpson quadrature. The
//! iteration runs on the positive half only (the density is even), so the
//! codebook is exactly symmetric.
//!
//! For large d, d × MSE tends to the Gaussian Lloyd–Max values 0.3634,
//! 0.1175, 0.03454, 0.009497 for b = 1…4; at d = 384 the computed values are
//! 0.3626, 0.1170, 0.03435, 0.009439 (at d = 8192: 0.3633, 0.1175, 0.03454,
//! 0.009498). Convergence takes 2, 46, 163 and 567 iterations at d = 384
//! (well under a millisecond to 10 ms).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// No codebook exists for the requested dimension and bit width (the
/// dimension must be at least 2 and the bits 1–4).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "no Lloyd–Max codebook for dimension {dim} and {bits} bits \
     (need dimension ≥ 2 and 1–4 bits)"
)]
pub struct CodebookError {
    /// The requested dimension.
    pub dim: usize,
    /// The requested bits per coordinate.
    pub bits: u8,
}

/// Most Lloyd iterations before giving up on further convergence (the last
/// iterate is still a valid, near-optimal quantizer).
const MAX_ITERATIONS: usize = 100_000;

/// Convergence: no centroid moved more than this many σ = 1/√d in an
/// iteration (f32 centroids resolve ~1e-7 of their value; the f64 cell
/// integrals are accurate to ~1e-13 for d up to 8192).
const TOLERANCE: f64 = 1e-11;

/// An optimal scalar quantizer for one coordinate of a rotated unit vector in
/// `dim` dimensions.
///
/// ```
/// use hearth_quant::lloyd_max::Codebook;
///
/// let cb = Codebook::get(384, 2).unwrap();
/// assert_eq!(cb.centroids().len(), 4);
/// // d × the per-coordinate MSE ≈ 0.1175, the Gaussian Lloyd–Max value.
/// assert!((cb.unit_mse() - 0.1175).abs() < 0.01);
/// ```
#[derive(Debug, Clone)]
pub struct Codebook {
    dim: usize,
    bits: u8,
    centroids: Vec<f32>,
    boundaries: Vec<f32>,
    mse: f64,
    iterations: usize,
}

impl Codebook {
    /// The codebook for `dim` (≥ 2) and `bits` (1–4), computed once per
    /// process and then shared.
    pub fn get(dim: usize, bits: u8) -> Result<Arc<Self>, CodebookError> {
        if dim < 2 || !(1..=4).contains(&bits) {
            return Err(CodebookError { dim, bits });
        }
        static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        if let Some(cb) = lock(cache).get(&(dim, bits)) {
            return Ok(Arc::clone(cb));
        }
        // Computed outside the lock; a concurrent duplicate computation is
        // harmless (deterministic) and the first insert wins.
        let cb = Arc::new(Self::compute(dim, bits));
        Ok(Arc::clone(lock(cache).entry((dim, bits)).or_insert(cb)))
    }

    fn compute(dim: usize, bits: u8) -> Self {
        let density = SphereCoordinate::new(dim);
        let half = 1usize << (bits - 1);
        let sigma = (1.0 / dim as f64).sqrt();
        // Start from evenly spaced levels over ±2.5σ (kept inside (−1, 1)).
        let top = (2.5 * sigma).min(0.9);
        let mut c: Vec<f64> = (0..half)
            .map(|i| top * (i as f64 + 0.5) / half as f64)
            .collect();
        let mut iterations = 0;
        while iterations < MAX_ITERATIONS {
            iterations += 1;
            let mut lo = 0.0;
            let mut moved = 0.0f64;
            for i in 0..half {
                let hi = if i + 1 < half {
                    0.5 * (c[i] + c[i + 1])
                } else {
                    1.0
                };
                let mass = density.mass(lo, hi);
                if mass > 0.0 {
                    let next = density.moment(lo, hi) / mass;
                    moved = moved.max((next - c[i]).abs());
                    c[i] = next;
                }
                lo = hi;
            }
            if moved <= TOLERANCE * sigma {
                break;
            }
        }
        let mut centroids: Vec<f32> = c.iter().rev().map(|&v| -v as f32).collect();
        centroids.extend(c.iter().map(|&v| v as f32));
        let boundaries: Vec<f32> = centroids.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
        let mse = density.quantizer_mse(&centroids, &boundaries);
        Self {
            dim,
            bits,
            centroids,
            boundaries,
            mse,
            iterations,
        }
    }

    /// The dimension it was built for.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Bits per coordinate.
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// The 2^bits reconstruction levels, ascending and symmetric about 0.
    pub fn centroids(&self) -> &[f32] {
        &self.centroids
    }

    /// The 2^bits − 1 decision thresholds (midpoints of neighbouring centroids).
    pub fn boundaries(&self) -> &[f32] {
        &self.boundaries
    }

    /// E[(X − Q(X))²] for one coordinate of a rotated unit vector.
    pub fn coordinate_mse(&self) -> f64 {
        self.mse
    }

    /// Expected squared error of a whole quantized unit vector: d × the
    /// coordinate MSE.
    pub fn unit_mse(&self) -> f64 {
        self.mse * self.dim as f64
    }

    /// Lloyd iterations the computation took.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// The index of the nearest centroid to `y` (ties go to the lower one).
    #[inline]
    pub fn quantize(&self, y: f32) -> u8 {
        self.boundaries.partition_point(|&t| t < y) as u8
    }

    /// `out[j] = quantize(y[j])`, thresholds in the outer loop so the inner
    /// one vectorises (about 6× faster than a binary search per value).
    #[inline(always)]
    pub fn quantize_into(&self, y: &[f32], out: &mut [u8]) {
        out.fill(0);
        for &t in &self.boundaries {
            for (o, &v) in out.iter_mut().zip(y) {
                *o += u8::from(t < v);
            }
        }
    }
}

/// Codebooks by (dimension, bits).
type Cache = HashMap<(usize, u8), Arc<Codebook>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// arcsin from + − × ÷ √ only, so that codebooks (and hence codes) are
/// bit-identical on every platform, whatever its libm: asin x =
/// 2·atan(x / (1 + √(1 − x²))), three argument halvings atan t =
/// 2·atan(t / (1 + √(1 + t²))) bring |t| below 0.1, then the Taylor series.
fn asin(x: f64) -> f64 {
    let x = x.clamp(-1.0, 1.0);
    let mut t = x / (1.0 + (1.0 - x * x).sqrt());
    for _ in 0..3 {
        t /= 1.0 + (1.0 + t * t).sqrt();
    }
    let t2 = t * t;
    // t − t³/3 + t⁵/5 − …, to t²³ (the next term is < 1e-24).
    let mut p = 0.0;
    for k in (0..12).rev() {
        let term = 1.0 / f64::from(2 * k + 1);
        p = p * t2 + if k % 2 == 0 { term } else { -term };
    }
    16.0 * t * p
}

/// `x^n` by binary exponentiation (one fixed sequence of multiplications).
fn pow(mut x: f64, mut n: usize) -> f64 {
    let mut r = 1.0;
    while n > 0 {
        if n & 1 == 1 {
            r *= x;
        }
        x *= x;
        n >>= 1;
    }
    r
}

/// The density of one coordinate of a uniform point on the unit sphere.
struct SphereCoordinate {
    dim: usize,
    /// n = d − 2, the power of cos θ.
    n: usize,
    /// 1 / ∫_{−1}^{1} f (the normaliser).
    inv_total: f64,
}

impl SphereCoordinate {
    fn new(dim: usize) -> Self {
        let n = dim - 2;
        let mut s = Self {
            dim,
            n,
            inv_total: 1.0,
        };
        s.inv_total = 1.0 / (2.0 * s.cumulative(1.0));
        s
    }

    /// I_n(asin x) = ∫_0^x (1 − t²)^((d−3)/2) dt (odd in x).
    fn cumulative(&self, x: f64) -> f64 {
        let x = x.clamp(-1.0, 1.0);
        let c = (1.0 - x * x).max(0.0).sqrt();
        let (mut k, mut acc, mut pow) = if self.n.is_multiple_of(2) {
            (0, asin(x), c) // pow = c^(k+1) for the next step k + 2
        } else {
            (1, x, c * c)
        };
        while k < self.n {
            k += 2;
            acc = pow * x / k as f64 + (k - 1) as f64 / k as f64 * acc;
            pow *= c * c;
        }
        acc
    }

    /// P(a < X < b).
    fn mass(&self, a: f64, b: f64) -> f64 {
        (self.cumulative(b) - self.cumulative(a)) * self.inv_total
    }

    /// (1 − x²)^((d−1)/2) / (d − 1): minus the antiderivative of x·f(x).
    fn moment_antiderivative(&self, x: f64) -> f64 {
        let x = x.clamp(-1.0, 1.0);
        pow((1.0 - x * x).max(0.0).sqrt(), self.n + 1) / (self.n + 1) as f64
    }

    /// E\[X; a < X < b\].
    fn moment(&self, a: f64, b: f64) -> f64 {
        (self.moment_antiderivative(a) - self.moment_antiderivative(b)) * self.inv_total
    }

    /// E[(X − Q(X))²] for the quantizer (centroids, boundaries):
    /// E\[X²\] − Σ (2 c_i E\[X; cell_i\] − c_i² P(cell_i)), with E\[X²\] = 1/d.
    fn quantizer_mse(&self, centroids: &[f32], boundaries: &[f32]) -> f64 {
        let mut lo = -1.0;
        let mut gain = 0.0;
        for (i, &c) in centroids.iter().enumerate() {
            let hi = boundaries.get(i).map_or(1.0, |&b| f64::from(b));
            let c = f64::from(c);
            gain += 2.0 * c * self.moment(lo, hi) - c * c * self.mass(lo, hi);
            lo = hi;
        }
        1.0 / self.dim as f64 - gain
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gaussian Lloyd–Max d × MSE for b = 1…4 (the d → ∞ limit).
    const PUBLISHED: [f64; 4] = [0.3634, 0.1175, 0.03454, 0.009497];

    #[test]
    fn matches_published_values() {
        for (b, &want) in (1..=4).zip(&PUBLISHED) {
            let cb = Codebook::get(384, b).unwrap();
            let got = cb.unit_mse();
            assert!((got / want - 1.0).abs() < 0.10, "b={b}: {got} vs {want}");
            // And it converges to them as d grows.
            let big = Codebook::get(8192, b).unwrap().unit_mse();
            assert!((big / want - 1.0).abs() < 0.005, "b={b}: {big} vs {want}");
        }
    }

    #[test]
    fn symmetric_sorted_and_converged() {
        for d in [2, 3, 4, 7, 64, 384, 1024] {
            for b in 1..=4 {
                let cb = Codebook::get(d, b).unwrap();
                let c = cb.centroids();
                assert_eq!(c.len(), 1 << b);
                assert!(c.windows(2).all(|w| w[0] < w[1]), "d={d} b={b}: {c:?}");
                for (x, y) in c.iter().zip(c.iter().rev()) {
                    assert_eq!(*x, -*y);
                }
                assert!(c.iter().all(|v| v.abs() < 1.0));
                assert!(cb.boundaries().windows(2).all(|w| w[0] < w[1]));
                assert!(cb.iterations() < MAX_ITERATIONS, "d={d} b={b}");
                assert!(cb.coordinate_mse() > 0.0);
            }
        }
        // d = 3: uniform on [−1, 1]; the 1-bit quantizer is ±1/2 with MSE 1/12.
        let cb = Codebook::get(3, 1).unwrap();
        assert!((cb.centroids()[1] - 0.5).abs() < 1e-6);
        assert!((cb.coordinate_mse() - 1.0 / 12.0).abs() < 1e-9);
        // More bits, less error.
        let cb = Codebook::get(64, 3).unwrap();
        let ys: Vec<f32> = (-300..300)
            .map(|i| i as f32 / 1000.0)
            .chain(cb.boundaries().iter().copied())
            .collect();
        let mut fast = vec![0u8; ys.len()];
        cb.quantize_into(&ys, &mut fast);
        assert!(ys.iter().zip(&fast).all(|(&y, &f)| cb.quantize(y) == f));
        for d in [2, 384] {
            let mse: Vec<f64> = (1..=4)
                .map(|b| Codebook::get(d, b).unwrap().unit_mse())
                .collect();
            assert!(mse.windows(2).all(|w| w[1] < w[0] / 2.5), "{mse:?}");
        }
    }

    /// Composite Simpson in θ (x = sin θ, weight cos^(d−2) θ) of g(x) over [a, b].
    fn simpson(d: usize, a: f64, b: f64, g: impl Fn(f64) -> f64) -> f64 {
        let (ta, tb) = (a.asin(), b.asin());
        let n = 20_000;
        let h = (tb - ta) / n as f64;
        let w = |t: f64| t.cos().powi(d as i32 - 2) * g(t.sin());
        let mut s = w(ta) + w(tb);
        for i in 1..n {
            s += w(ta + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        s * h / 3.0
    }

    #[test]
    fn exact_integrals_match_quadrature() {
        for d in [2, 3, 7, 64, 384] {
            let f = SphereCoordinate::new(d);
            let total = simpson(d, -1.0, 1.0, |_| 1.0);
            assert!((f.inv_total * total - 1.0).abs() < 1e-9, "d={d}");
            let second = simpson(d, -1.0, 1.0, |x| x * x) / total;
            assert!((second * d as f64 - 1.0).abs() < 1e-9, "d={d}");
            let s = 1.0 / (d as f64).sqrt();
            for (a, b) in [(0.0, 0.3 * s), (0.5 * s, 2.0 * s), (1.5 * s, 1.0)] {
                let (a, b) = (a.min(0.99), b.min(1.0));
                let mass = simpson(d, a, b, |_| 1.0) / total;
                let moment = simpson(d, a, b, |x| x) / total;
                assert!((f.mass(a, b) - mass).abs() < 1e-9, "d={d} [{a},{b}]");
                assert!((f.moment(a, b) - moment).abs() < 1e-9, "d={d} [{a},{b}]");
            }
            // The MSE formula against direct quadrature of (x − Q(x))².
            let cb = Codebook::get(d, 2).unwrap();
            let direct = simpson(d, -1.0, 1.0, |x| {
                let q = f64::from(cb.centroids()[usize::from(cb.quantize(x as f32))]);
                (x - q) * (x - q)
            }) / total;
            assert!((direct / cb.coordinate_mse() - 1.0).abs() < 1e-3, "d={d}");
        }
    }

    #[test]
    fn portable_asin_and_pow() {
        for i in -1000..=1000 {
            let x = f64::from(i) / 1000.0;
            assert!((asin(x) - x.asin()).abs() <= 2e-15 * x.asin().abs(), "{x}");
        }
        assert_eq!(asin(1.0), std::f64::consts::FRAC_PI_2);
        assert_eq!(pow(0.5, 10), 0.5f64.powi(10));
        assert_eq!(pow(3.0, 0), 1.0);
    }

    #[test]
    fn errors() {
        assert!(Codebook::get(1, 2).is_err());
        assert!(Codebook::get(384, 0).is_err());
        assert!(Codebook::get(384, 5).is_err());
    }
}
