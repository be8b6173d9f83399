//! The router: which tier answers a request, and whether its answer stands.
//!
//! Before generation, [`Router::decide`] picks the first tier from signals
//! that cost nothing extra — the question's length and the retrieval's
//! confidence (top vector score, margin to the runner-up, whether the
//! keyword and vector lists agree on the best chunk). After generation,
//! [`Router::review`] accepts the answer or escalates to the next tier when
//! the tier's mean token log-probability or the share of its claims that the
//! citation check supports falls below that tier's threshold (a cascade).
//!
//! Every threshold lives in [`RouterConfig`], which `hearth router fit`
//! calibrates on labelled questions (see [`crate::calibrate`]) and writes as
//! TOML. The default is the committed fit on the bundled demo questions
//! (`assistant/router.toml`); a user's own fit in `<data-dir>/router.toml`
//! replaces it. Each decision carries a
//! human-readable reason that ends up in the metering log.

use serde::{Deserialize, Serialize};

use crate::cite::CitationCheck;
use crate::generate::{Generation, Tier};
use hearth_store::SearchHit;

/// What the router knows about a request before any generation.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct QuerySignals {
    /// Words in the question.
    pub query_words: usize,
    /// Exact inner product of the best vector hit (0 when none).
    pub top_score: f32,
    /// `top_score` minus the second best vector score.
    pub margin: f32,
    /// The best hit was ranked by both the vector and the keyword list.
    pub lists_agree: bool,
    /// Sources retrieved.
    pub hits: usize,
}

impl QuerySignals {
    /// Signals of `question` and its retrieved `hits` (ranked best first).
    pub fn new(question: &str, hits: &[SearchHit]) -> Self {
        let mut scores: Vec<f32> = hits.iter().filter_map(|h| h.vector_score).collect();
        scores.sort_by(|a, b| b.total_cmp(a));
        let top = scores.first().copied().unwrap_or(0.0);
        let second = scores.get(1).copied().unwrap_or(0.0);
        Self {
            query_words: question.split_whitespace().count(),
            top_score: top,
            margin: top - second,
            lists_agree: hits
                .first()
                .is_some_and(|h| h.vector_score.is_some() && h.keyword_score.is_some()),
            hits: hits.len(),
        }
    }
}

/// Acceptance thresholds of one tier's answers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TierGate {
    /// Lowest mean token log-probability accepted.
    pub min_logprob: f32,
    /// Lowest share of supported claims accepted (0–1).
    pub min_grounded: f32,
}

/// The router's thresholds (fitted by `hearth router fit`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouterConfig {
    /// Questions longer than this skip the micro tier.
    pub micro_max_words: usize,
    /// Retrieval confidence (top vector score) below which the micro tier is
    /// skipped.
    pub micro_min_top_score: f32,
    pub micro: TierGate,
    pub local: TierGate,
    pub larger: TierGate,
    /// Where these values came from (`defaults` or the fit's summary).
    #[serde(default)]
    pub provenance: String,
}

/// The thresholds `hearth router fit` produced on the bundled demo questions,
/// committed so a fresh install routes by a fit rather than by guesses.
const FITTED: &str = include_str!("../router.toml");

impl Default for RouterConfig {
    /// The committed fit (`assistant/router.toml`).
    fn default() -> Self {
        toml::from_str(FITTED).unwrap_or_else(|_| Self::unfitted())
    }
}

impl RouterConfig {
    /// Conservative thresholds for when no fit is available: micro must be
    /// confident, every tier must have half its claims supported.
    pub fn unfitted() -> Self {
        Self {
            micro_max_words: 24,
            micro_min_top_score: 0.3,
            micro: TierGate {
                min_logprob: -0.6,
                min_grounded: 0.5,
            },
            local: TierGate {
                min_logprob: -0.8,
                min_grounded: 0.5,
            },
            larger: TierGate {
                min_logprob: -1.0,
                min_grounded: 0.5,
            },
            provenance: "unfitted defaults".into(),
        }
    }

    /// The gate of `tier` (`None` for the cloud: its answers are final).
    pub fn gate(&self, tier: Tier) -> &TierGate {
        match tier {
            Tier::Micro => &self.micro,
            Tier::Local => &self.local,
            Tier::Larger => &self.larger,
        }
    }
}

/// Where a request goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Generate on this local tier.
    Local(Tier),
    /// Send to the cloud endpoint (redacted).
    Cloud,
    /// No tier left: answer that the sources do not support an answer.
    GiveUp,
}

/// A routing decision and why it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub route: Route,
    pub reason: String,
}

/// The verdict on one tier's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Review {
    pub accepted: bool,
    pub reason: String,
}

/// Decides per request among the tiers (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct Router {
    config: RouterConfig,
    /// Local tiers installed and enabled, cheapest first.
    tiers: Vec<Tier>,
    cloud: bool,
}

impl Router {
    /// A router over the `available` local tiers (any order) and, when
    /// `cloud` is set, a cloud endpoint above them.
    pub fn new(config: RouterConfig, available: &[Tier], cloud: bool) -> Self {
        let mut tiers = available.to_vec();
        tiers.sort();
        tiers.dedup();
        Self {
            config,
            tiers,
            cloud,
        }
    }

    pub fn config(&self) -> &RouterConfig {
        &self.config
    }

    /// The first tier for a request.
    pub fn decide(&self, signals: &QuerySignals) -> Decision {
        let mut skip = Vec::new();
        if signals.query_words > self.config.micro_max_words {
            skip.push(format!(
                "{} words > {}",
                signals.query_words, self.config.micro_max_words
            ));
        }
        if signals.top_score < self.config.micro_min_top_score {
            skip.push(format!(
                "retrieval confidence {:.2} < {:.2}",
                signals.top_score, self.config.micro_min_top_score
            ));
        }
        let first = self
            .tiers
            .iter()
            .copied()
            .find(|&t| t != Tier::Micro || skip.is_empty())
            // Only micro installed: it answers anyway.
            .or_else(|| self.tiers.last().copied());
        match first {
            Some(Tier::Micro) if skip.is_empty() => Decision {
                route: Route::Local(Tier::Micro),
                reason: format!(
                    "short question, retrieval confidence {:.2}",
                    signals.top_score
                ),
            },
            Some(tier) if skip.is_empty() => Decision {
                route: Route::Local(tier),
                reason: format!("cheapest installed tier is {tier}"),
            },
            Some(tier) => Decision {
                route: Route::Local(tier),
                reason: format!("skipped micro: {}", skip.join(", ")),
            },
            None if self.cloud => Decision {
                route: Route::Cloud,
                reason: "no local tier installed".into(),
            },
            None => Decision {
                route: Route::GiveUp,
                reason: "no local tier installed and no cloud configured".into(),
            },
        }
    }

    /// Accepts `tier`'s answer or says why not.
    pub fn review(&self, tier: Tier, generation: &Generation, check: &CitationCheck) -> Review {
        let gate = self.config.gate(tier);
        let grounded = check.grounded();
        let mut problems = Vec::new();
        if generation.text.trim().is_empty() {
            problems.push("empty answer".to_owned());
        }
        if generation.mean_logprob < gate.min_logprob {
            problems.push(format!(
                "mean log-probability {:.2} < {:.2}",
                generation.mean_logprob, gate.min_logprob
            ));
        }
        if grounded < gate.min_grounded {
            problems.push(format!(
                "{:.0}% of claims supported < {:.0}%",
                grounded * 100.0,
                gate.min_grounded * 100.0
            ));
        }
        if problems.is_empty() {
            Review {
                accepted: true,
                reason: format!(
                    "log-probability {:.2}, {:.0}% of claims supported",
                    generation.mean_logprob,
                    grounded * 100.0
                ),
            }
        } else {
            Review {
                accepted: false,
                reason: problems.join("; "),
            }
        }
    }

    /// Where to go after `tier`'s answer was rejected.
    pub fn escalate(&self, tier: Tier, why: &str) -> Decision {
        match self.tiers.iter().copied().find(|&t| t > tier) {
            Some(next) => Decision {
                route: Route::Local(next),
                reason: format!("{tier} rejected: {why}"),
            },
            None if self.cloud => Decision {
                route: Route::Cloud,
                reason: format!("{tier} rejected: {why}"),
            },
            None => Decision {
                route: Route::GiveUp,
                reason: format!("{tier} rejected ({why}); no higher tier, no cloud configured"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::FinishReason;
    use std::time::Duration;

    fn generation(text: &str, mean_logprob: f32) -> Generation {
        Generation {
            text: text.into(),
            prompt_tokens: 10,
            truncated_tokens: 0,
            completion_tokens: 5,
            time_to_first_token: Duration::ZERO,
            total_time: Duration::ZERO,
            finish_reason: FinishReason::Stop,
            mean_logprob,
        }
    }

    fn grounded(supported: usize, claims: usize) -> CitationCheck {
        CitationCheck {
            claims,
            supported_claims: supported,
            ..CitationCheck::default()
        }
    }

    #[test]
    fn the_committed_fit_parses() {
        let fitted: RouterConfig = toml::from_str(FITTED).unwrap();
        assert_eq!(fitted, RouterConfig::default());
        assert!(
            fitted.provenance.contains("router fit"),
            "{}",
            fitted.provenance
        );
    }

    #[test]
    fn decide_skips_micro_for_long_or_unconfident_questions() {
        let router = Router::new(RouterConfig::unfitted(), &[Tier::Local, Tier::Micro], false);
        let easy = QuerySignals {
            query_words: 8,
            top_score: 0.7,
            ..QuerySignals::default()
        };
        assert_eq!(router.decide(&easy).route, Route::Local(Tier::Micro));
        let long = QuerySignals {
            query_words: 60,
            ..easy
        };
        let d = router.decide(&long);
        assert_eq!(d.route, Route::Local(Tier::Local));
        assert!(d.reason.contains("60 words"), "{}", d.reason);
        let vague = QuerySignals {
            top_score: 0.1,
            ..easy
        };
        assert_eq!(router.decide(&vague).route, Route::Local(Tier::Local));
        // Only micro installed: it answers anyway.
        let only = Router::new(RouterConfig::unfitted(), &[Tier::Micro], false);
        assert_eq!(only.decide(&long).route, Route::Local(Tier::Micro));
        let none = Router::new(RouterConfig::unfitted(), &[], false);
        assert_eq!(none.decide(&easy).route, Route::GiveUp);
    }

    #[test]
    fn review_escalates_on_low_confidence_or_unsupported_claims() {
        let router = Router::new(RouterConfig::unfitted(), &[Tier::Micro, Tier::Local], false);
        let ok = router.review(
            Tier::Micro,
            &generation("Paris [1].", -0.2),
            &grounded(1, 1),
        );
        assert!(ok.accepted, "{}", ok.reason);
        let unsure = router.review(
            Tier::Micro,
            &generation("Paris [1].", -2.0),
            &grounded(1, 1),
        );
        assert!(!unsure.accepted);
        assert!(unsure.reason.contains("log-probability"));
        let unsupported =
            router.review(Tier::Micro, &generation("Lyon [1].", -0.1), &grounded(0, 1));
        assert!(!unsupported.accepted);
        assert_eq!(
            router.escalate(Tier::Micro, &unsupported.reason).route,
            Route::Local(Tier::Local)
        );
        assert_eq!(router.escalate(Tier::Local, "x").route, Route::GiveUp);
        let cloud = Router::new(RouterConfig::unfitted(), &[Tier::Micro], true);
        assert_eq!(cloud.escalate(Tier::Micro, "x").route, Route::Cloud);
    }
}
