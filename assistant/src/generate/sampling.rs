//! Choosing the next token from a row of logits: greedy at temperature 0,
//! otherwise temperature + nucleus (top-p) sampling from a seeded ChaCha8 stream
//! (the same seed gives the same tokens on every platform). Every choice also
//! reports the token's log-probability under the *raw* logits (temperature 1,
//! no top-p), the model's own confidence that the router averages.

use crate::AssistantError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Temperatures at or below this are greedy decoding.
const GREEDY_BELOW: f32 = 1e-5;

/// Candidates examined before falling back to a full sort for top-p.
const TOP_P_FAST_CANDIDATES: usize = 1024;

/// One sampled token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Choice {
    /// The chosen token id.
    pub token: u32,
    /// `log_softmax(logits)[token]` at temperature 1; always ≤ 0.
    pub logprob: f32,
}

/// Picks tokens for one generation.
#[derive(Debug, Clone)]
pub struct Sampler {
    temperature: f32,
    top_p: f32,
    rng: ChaCha8Rng,
    /// Scratch buffers reused from step to step.
    probs: Vec<f32>,
    order: Vec<usize>,
}

impl Sampler {
    /// `temperature` ≤ 0 is greedy; `top_p` in (0, 1) keeps the smallest set of
    /// tokens whose probability reaches `top_p` (1 keeps all).
    pub fn new(temperature: f32, top_p: f32, seed: u64) -> Result<Self, AssistantError> {
        if !temperature.is_finite() || temperature < 0.0 {
            return Err(AssistantError::InvalidParams(format!(
                "temperature must be a finite number ≥ 0, got {temperature}"
            )));
        }
        if !(top_p > 0.0 && top_p <= 1.0) {
            return Err(AssistantError::InvalidParams(format!(
                "top_p must be in (0, 1], got {top_p}"
            )));
        }
        Ok(Self {
            temperature,
            top_p,
            rng: ChaCha8Rng::seed_from_u64(seed),
            probs: Vec::new(),
            order: Vec::new(),
        })
    }

    /// Whether this sampler always takes the most likely token.
    pub fn is_greedy(&self) -> bool {
        self.temperature <= GREEDY_BELOW
    }

    /// Chooses the next token from `logits` (one row over the vocabulary).
    pub fn sample(&mut self, logits: &[f32]) -> Result<Choice, AssistantError> {
        let (max, ln_z) = log_sum_exp(logits)?;
        let token = if self.is_greedy() {
            argmax(logits, max)
        } else {
            self.sample_top_p(logits, max)
        };
        let logit = logits.get(token).copied().unwrap_or(f32::NEG_INFINITY);
        let logprob = ((f64::from(logit) - f64::from(max) - ln_z) as f32).min(0.0);
        let token = u32::try_from(token)
            .map_err(|_| AssistantError::Generation(format!("token index {token} out of range")))?;
        Ok(Choice { token, logprob })
    }

    fn sample_top_p(&mut self, logits: &[f32], max: f32) -> usize {
        let inv_t = 1.0 / self.temperature;
        self.probs.clear();
        self.probs
            .extend(logits.iter().map(|&l| ((l - max) * inv_t).exp()));
        let total: f32 = self.probs.iter().sum();
        let target = self.top_p * total;

        self.order.clear();
        self.order.extend(0..self.probs.len());
        let probs = &self.probs;
        let by_prob_desc = |a: &usize, b: &usize| probs[*b].total_cmp(&probs[*a]).then(a.cmp(b));
        let mut kept = self.order.len();
        if self.top_p < 1.0 {
            // Usually the nucleus is small: sort only the best candidates first.
            let fast = TOP_P_FAST_CANDIDATES.min(self.order.len());
            if fast < self.order.len() {
                self.order.select_nth_unstable_by(fast - 1, by_prob_desc);
            }
            self.order[..fast].sort_unstable_by(by_prob_desc);
            kept = nucleus_len(&self.order[..fast], probs, target).unwrap_or_else(|| {
                self.order.sort_unstable_by(by_prob_desc);
                nucleus_len(&self.order, probs, target).unwrap_or(self.order.len())
            });
        }
        let candidates = &self.order[..kept];
        let mass: f32 = candidates.iter().map(|&i| probs[i]).sum();
        let mut r = self.rng.random::<f32>() * mass;
        for &i in candidates {
            r -= probs[i];
            if r < 0.0 {
                return i;
            }
        }
        // Rounding left a sliver of mass: take the last candidate with any.
        candidates
            .iter()
            .rev()
            .find(|&&i| probs[i] > 0.0)
            .copied()
            .unwrap_or(0)
    }
}

/// Length of the shortest prefix of `order` (sorted by probability, descending)
/// whose mass reaches `target`; `None` if the whole slice does not.
fn nucleus_len(order: &[usize], probs: &[f32], target: f32) -> Option<usize> {
    let mut cum = 0.0f32;
    for (n, &i) in order.iter().enumerate() {
        cum += probs[i];
        if cum >= target {
            return Some(n + 1);
        }
    }
    None
}

/// The maximum logit `m` and `log(sum(exp(logits - m)))` (in f64), so that
/// `log_softmax(l) = l - m - that`; an error for an empty row or one with NaN /
/// +inf, or no finite value at all.
pub fn log_sum_exp(logits: &[f32]) -> Result<(f32, f64), AssistantError> {
    let mut max = f32::NEG_INFINITY;
    for &l in logits {
        if l.is_nan() || l == f32::INFINITY {
            return Err(AssistantError::Generation(
                "the model produced NaN or infinite logits".into(),
            ));
        }
        max = max.max(l);
    }
    if !max.is_finite() {
        return Err(AssistantError::Generation(
            "the model produced no finite logits".into(),
        ));
    }
    let sum: f64 = logits.iter().map(|&l| f64::from(l - max).exp()).sum();
    Ok((max, sum.ln()))
}

/// `log_softmax(logits)[index]`, or `None` if `index` is out of range.
pub fn log_prob(logits: &[f32], index: usize) -> Result<Option<f32>, AssistantError> {
    let (max, ln_z) = log_sum_exp(logits)?;
    Ok(logits
        .get(index)
        .map(|&l| ((f64::from(l) - f64::from(max) - ln_z) as f32).min(0.0)))
}

/// The first index holding `max`.
fn argmax(logits: &[f32], max: f32) -> usize {
    logits.iter().position(|&l| l == max).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_softmax_matches_the_definition() {
        let logits = [1.0f32, 2.0, 3.0];
        let z: f64 = logits.iter().map(|&l| f64::from(l).exp()).sum();
        for (i, &l) in logits.iter().enumerate() {
            let expected = (f64::from(l).exp() / z).ln() as f32;
            assert!((log_prob(&logits, i).unwrap().unwrap() - expected).abs() < 1e-6);
        }
        assert_eq!(log_prob(&logits, 3).unwrap(), None);
        // Huge logits do not overflow.
        let big = [1e30f32, 1e30];
        assert!((log_prob(&big, 0).unwrap().unwrap() - (0.5f32).ln()).abs() < 1e-6);
    }

    #[test]
    fn bad_logits_are_errors() {
        let mut s = Sampler::new(0.0, 1.0, 0).unwrap();
        assert!(s.sample(&[]).is_err());
        assert!(s.sample(&[0.0, f32::NAN]).is_err());
        assert!(s.sample(&[f32::NEG_INFINITY; 3]).is_err());
        // -inf entries alongside finite ones are fine (masked tokens).
        assert_eq!(s.sample(&[f32::NEG_INFINITY, 1.0]).unwrap().token, 1);
    }

    #[test]
    fn greedy_takes_the_first_maximum() {
        let mut s = Sampler::new(0.0, 0.9, 7).unwrap();
        assert!(s.is_greedy());
        let c = s.sample(&[0.5, 2.0, 2.0, -1.0]).unwrap();
        assert_eq!(c.token, 1);
        assert!(c.logprob < 0.0 && c.logprob.is_finite());
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        assert!(Sampler::new(-1.0, 1.0, 0).is_err());
        assert!(Sampler::new(f32::NAN, 1.0, 0).is_err());
        assert!(Sampler::new(1.0, 0.0, 0).is_err());
        assert!(Sampler::new(1.0, 1.5, 0).is_err());
    }

    #[test]
    fn same_seed_same_tokens_and_top_p_cuts_the_tail() {
        let logits: Vec<f32> = (0..5000)
            .map(|i| ((i * 7919) % 613) as f32 / 60.0)
            .collect();
        let run = |seed| {
            let mut s = Sampler::new(0.8, 0.9, seed).unwrap();
            (0..64)
                .map(|_| s.sample(&logits).unwrap().token)
                .collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));

        // Two dominant tokens with 0.6 / 0.3 of the mass: top-p 0.5 keeps only the first.
        let mut logits = vec![-30.0f32; 3000];
        logits[10] = (0.6f32).ln();
        logits[20] = (0.3f32).ln();
        logits[30] = (0.1f32).ln();
        let mut s = Sampler::new(1.0, 0.5, 1).unwrap();
        for _ in 0..50 {
            assert_eq!(s.sample(&logits).unwrap().token, 10);
        }
        let mut s = Sampler::new(1.0, 0.85, 1).unwrap();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..300 {
            seen.insert(s.sample(&logits).unwrap().token);
        }
        assert_eq!(seen, [10, 20].into_iter().collect());
    }

    #[test]
    fn top_p_falls_back_to_a_full_sort_for_flat_distributions() {
        // Uniform over 4000 tokens: the nucleus at 0.9 is 3600 tokens, beyond the fast path.
        let logits = vec![0.0f32; 4000];
        let mut s = Sampler::new(1.0, 0.9, 3).unwrap();
        let mut max_seen = 0;
        for _ in 0..2000 {
            let c = s.sample(&logits).unwrap();
            max_seen = max_seen.max(c.token);
            assert!((c.logprob - (1.0f32 / 4000.0).ln()).abs() < 1e-4);
        }
        // Ties are ordered by index, so the kept set is tokens 0..3600.
        assert!(max_seen < 3600 && max_seen > 2000, "{max_seen}");
    }

    #[test]
    fn full_distribution_sampling_follows_the_probabilities() {
        let logits = [(0.75f32).ln(), (0.25f32).ln()];
        let mut s = Sampler::new(1.0, 1.0, 9).unwrap();
        let n = 4000;
        let zeros = (0..n)
            .filter(|_| s.sample(&logits).unwrap().token == 0)
            .count();
        let share = zeros as f64 / n as f64;
        assert!((share - 0.75).abs() < 0.03, "{share}");
    }
}
