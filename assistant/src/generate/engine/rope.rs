//! Rotary position embedding: cos/sin tables grown on demand, applied to the
//! query and key heads in the file's pairing ([`RopeStyle`]).

use super::weights::{DecoderConfig, RopeStyle};

/// RoPE tables for one head size.
pub(crate) struct Rope {
    style: RopeStyle,
    head_dim: usize,
    /// `base^(−2i/d)` for each pair `i`.
    theta: Vec<f32>,
    scale: f32,
    /// `cos`/`sin` per position and pair, `positions × head_dim/2`.
    cos: Vec<f32>,
    sin: Vec<f32>,
}

impl Rope {
    pub(crate) fn new(config: &DecoderConfig) -> Self {
        let d = config.head_dim;
        let theta = (0..d)
            .step_by(2)
            .map(|i| 1.0 / config.rope_base.powf(i as f32 / d as f32))
            .collect();
        Self {
            style: config.rope_style,
            head_dim: d,
            theta,
            scale: config.rope_scale,
            cos: Vec::new(),
            sin: Vec::new(),
        }
    }

    fn ensure(&mut self, positions: usize) {
        let half = self.head_dim / 2;
        let have = self.cos.len() / half.max(1);
        for p in have..positions {
            let p = p as f32 / self.scale;
            for t in &self.theta {
                let angle = p * t;
                self.cos.push(angle.cos());
                self.sin.push(angle.sin());
            }
        }
    }

    /// Rotates `x` (`tokens × heads × head_dim`, token `t` at position
    /// `first + t`) in place.
    pub(crate) fn apply(&mut self, x: &mut [f32], heads: usize, first: usize) {
        let d = self.head_dim;
        let half = d / 2;
        let tokens = x.len() / (heads * d);
        self.ensure(first + tokens);
        for (t, token) in x.chunks_exact_mut(heads * d).enumerate() {
            let at = (first + t) * half;
            let (cos, sin) = (&self.cos[at..at + half], &self.sin[at..at + half]);
            for head in token.chunks_exact_mut(d) {
                match self.style {
                    RopeStyle::Interleaved => {
                        for (i, pair) in head.chunks_exact_mut(2).enumerate() {
                            let (a, b) = (pair[0], pair[1]);
                            pair[0] = a * cos[i] - b * sin[i];
                            pair[1] = a * sin[i] + b * cos[i];
                        }
                    }
                    RopeStyle::Neox => {
                        let (lo, hi) = head.split_at_mut(half);
                        for i in 0..half {
                            let (a, b) = (lo[i], hi[i]);
                            lo[i] = a * cos[i] - b * sin[i];
                            hi[i] = a * sin[i] + b * cos[i];
                        }
                    }
                }
            }
        }
    }
}
