//! Router calibration: thresholds fitted on labelled questions, not tuned by
//! hand.
//!
//! `hearth router fit` answers every labelled question on every local tier
//! (forced), and records per (question, tier) the reply's mean log-probability,
//! its citation check, whether it is correct (the gold answer, normalised, is
//! contained in the reply), and its latency. [`fit`] then replays the cascade
//! offline for every [`RouterConfig`] of a grid — the router only ever looks at
//! those recorded signals, so replaying is exact — and keeps the config with
//! the best utility: correct answers minus wrong ones (a wrong answer costs as
//! much as a right one earns; declining costs nothing), ties broken by lower
//! mean latency, then by fewer escalations.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cite::CitationCheck;
use crate::generate::{Generation, Tier};
use crate::router::{QuerySignals, Route, Router, RouterConfig, TierGate};

/// One tier's forced reply to a labelled question.
#[derive(Debug, Clone)]
pub struct TierOutcome {
    /// The reply with its log-probabilities, token counts and timings.
    pub generation: Generation,
    /// The citation check of the reply against the retrieved sources.
    pub check: CitationCheck,
    /// The reply contains the gold answer.
    pub correct: bool,
    /// Wall time of the call, seconds.
    pub seconds: f64,
}

/// A labelled question with every tier's reply.
#[derive(Debug, Clone)]
pub struct Observation {
    /// What the router saw of the question and its retrieved sources.
    pub signals: QuerySignals,
    /// Each installed local tier's forced reply.
    pub tiers: BTreeMap<Tier, TierOutcome>,
}

/// What a router config does over a set of observations.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Replay {
    /// Questions replayed.
    pub questions: usize,
    /// Questions answered with a reply that contains the gold answer.
    pub correct: usize,
    /// Questions answered with a reply that lacks the gold answer.
    pub wrong: usize,
    /// Questions the cascade declined (no tier's reply accepted).
    pub declined: usize,
    /// Questions answered per tier (`micro`, `local`, …).
    pub answered_by: BTreeMap<String, usize>,
    /// Generation calls beyond the first, summed.
    pub escalations: usize,
    /// Mean seconds per question, all calls included.
    pub mean_seconds: f64,
}

impl Replay {
    /// Correct minus wrong answers.
    pub fn utility(&self) -> i64 {
        self.correct as i64 - self.wrong as i64
    }

    /// Share of all questions answered correctly, in [0, 1] (0 with no questions).
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.questions.max(1) as f64
    }
}

/// The cascade of `config` over `observations`, with `tiers` installed.
pub fn replay(config: &RouterConfig, tiers: &[Tier], observations: &[Observation]) -> Replay {
    let router = Router::new(config.clone(), tiers, false);
    let mut out = Replay {
        questions: observations.len(),
        ..Replay::default()
    };
    let mut seconds = 0.0;
    for obs in observations {
        let mut decision = router.decide(&obs.signals);
        let mut calls = 0usize;
        loop {
            let Route::Local(tier) = decision.route else {
                out.declined += 1;
                break;
            };
            let Some(outcome) = obs.tiers.get(&tier) else {
                out.declined += 1;
                break;
            };
            calls += 1;
            seconds += outcome.seconds;
            let review = router.review(tier, &outcome.generation, &outcome.check);
            if review.accepted {
                if outcome.check.grounded() > 0.0 {
                    *out.answered_by.entry(tier.to_string()).or_default() += 1;
                    if outcome.correct {
                        out.correct += 1;
                    } else {
                        out.wrong += 1;
                    }
                } else {
                    out.declined += 1;
                }
                break;
            }
            decision = router.escalate(tier, &review.reason);
        }
        out.escalations += calls.saturating_sub(1);
    }
    out.mean_seconds = seconds / observations.len().max(1) as f64;
    out
}

/// Each tier forced on every question (no review): the reference rows of the
/// calibration table.
pub fn forced(tier: Tier, observations: &[Observation]) -> Replay {
    let mut out = Replay {
        questions: observations.len(),
        ..Replay::default()
    };
    let mut seconds = 0.0;
    for outcome in observations.iter().filter_map(|o| o.tiers.get(&tier)) {
        seconds += outcome.seconds;
        if outcome.check.grounded() == 0.0 {
            out.declined += 1;
        } else if outcome.correct {
            out.correct += 1;
        } else {
            out.wrong += 1;
        }
    }
    *out.answered_by.entry(tier.to_string()).or_default() = out.correct + out.wrong;
    out.mean_seconds = seconds / observations.len().max(1) as f64;
    out
}

/// The fitted config and how it and the alternatives do.
#[derive(Debug, Clone)]
pub struct Fit {
    /// The router config with the best utility on the grid.
    pub config: RouterConfig,
    /// What that config does over the observations.
    pub replay: Replay,
    /// Configs evaluated.
    pub candidates: usize,
}

/// The best config of the grid (see the module docs).
pub fn fit(tiers: &[Tier], observations: &[Observation]) -> Fit {
    const WORDS: [usize; 4] = [12, 20, 32, 1000];
    // 2.0 is above any cosine: micro never answers first.
    const TOP: [f32; 6] = [0.0, 0.2, 0.3, 0.4, 0.5, 2.0];
    const LOGPROB: [f32; 6] = [-0.2, -0.35, -0.5, -0.75, -1.0, -f32::INFINITY];
    const GROUNDED: [f32; 4] = [0.01, 0.5, 0.75, 1.0];
    let gates: Vec<TierGate> = LOGPROB
        .iter()
        .flat_map(|&min_logprob| {
            GROUNDED.iter().map(move |&min_grounded| TierGate {
                min_logprob,
                min_grounded,
            })
        })
        .collect();
    let mut best: Option<(RouterConfig, Replay)> = None;
    let mut candidates = 0;
    for &micro_max_words in &WORDS {
        for &micro_min_top_score in &TOP {
            for &micro in &gates {
                for &local in &gates {
                    // The last tier's gate decides only answer-or-decline.
                    for &larger in gates.iter().take(if tiers.contains(&Tier::Larger) {
                        gates.len()
                    } else {
                        1
                    }) {
                        let config = RouterConfig {
                            micro_max_words,
                            micro_min_top_score,
                            micro,
                            local,
                            larger,
                            provenance: String::new(),
                            task: Default::default(),
                        };
                        let replay = replay(&config, tiers, observations);
                        candidates += 1;
                        if best.as_ref().is_none_or(|(_, b)| better(&replay, b)) {
                            best = Some((config, replay));
                        }
                    }
                }
            }
        }
    }
    let (config, replay) = best.unwrap_or_default();
    Fit {
        config,
        replay,
        candidates,
    }
}

fn better(a: &Replay, b: &Replay) -> bool {
    (a.utility(), -a.mean_seconds, -(a.escalations as f64))
        > (b.utility(), -b.mean_seconds, -(b.escalations as f64))
}

/// Whether `reply` contains `gold` once both are normalised (case, accents
/// kept, punctuation other than `$`, `.` and `,` inside numbers dropped,
/// whitespace collapsed).
///
/// ```
/// use hearth_assistant::calibrate::answer_matches;
/// assert!(answer_matches("December 4, 2025", "It expires on december 4 2025 [1]."));
/// assert!(answer_matches("$7,690", "A deposit of $7,690."));
/// assert!(!answer_matches("$7,690", "A deposit of $7,960."));
/// ```
pub fn answer_matches(gold: &str, reply: &str) -> bool {
    let (g, r) = (normalise(gold), normalise(reply));
    !g.is_empty() && r.contains(&g)
}

fn normalise(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let digit_around = |d: isize| {
            i.checked_add_signed(d)
                .and_then(|j| chars.get(j))
                .is_some_and(char::is_ascii_digit)
        };
        let keep = c.is_alphanumeric()
            || c == '$'
            || ((c == '.' || c == ',') && digit_around(-1) && digit_around(1));
        if keep {
            out.extend(c.to_lowercase());
        } else if !out.ends_with(' ') {
            out.push(' ');
        }
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::FinishReason;
    use std::time::Duration;

    fn outcome(logprob: f32, grounded: bool, correct: bool, seconds: f64) -> TierOutcome {
        TierOutcome {
            generation: Generation {
                text: "x".into(),
                prompt_tokens: 100,
                truncated_tokens: 0,
                completion_tokens: 10,
                time_to_first_token: Duration::ZERO,
                total_time: Duration::ZERO,
                finish_reason: FinishReason::Stop,
                mean_logprob: logprob,
                reused_prompt_tokens: 0,
                kv_bytes: None,
            },
            check: CitationCheck {
                claims: 1,
                supported_claims: usize::from(grounded),
                ..CitationCheck::default()
            },
            correct,
            seconds,
        }
    }

    fn observation(micro: TierOutcome, local: TierOutcome) -> Observation {
        Observation {
            signals: QuerySignals {
                query_words: 10,
                top_score: 0.6,
                ..QuerySignals::default()
            },
            tiers: [(Tier::Micro, micro), (Tier::Local, local)].into(),
        }
    }

    #[test]
    fn the_fit_learns_to_escalate_unsure_micro_answers() {
        // Micro is right when confident (log-prob -0.1) and wrong when not
        // (-0.9); local is always right but slower.
        let mut obs = Vec::new();
        for i in 0..20 {
            let confident = i % 2 == 0;
            let micro = if confident {
                outcome(-0.1, true, true, 1.0)
            } else {
                outcome(-0.9, true, false, 1.0)
            };
            obs.push(observation(micro, outcome(-0.3, true, true, 5.0)));
        }
        let tiers = [Tier::Micro, Tier::Local];
        let fit = fit(&tiers, &obs);
        assert_eq!(fit.replay.correct, 20, "{:?}", fit.replay);
        assert_eq!(fit.replay.wrong, 0);
        // Micro still answers the confident half: cheaper than always-local.
        assert_eq!(fit.replay.answered_by.get("micro"), Some(&10));
        assert!(fit.config.micro.min_logprob > -0.9 && fit.config.micro.min_logprob <= -0.1);
        assert!(fit.replay.mean_seconds < forced(Tier::Local, &obs).mean_seconds);
        assert_eq!(forced(Tier::Micro, &obs).wrong, 10);
    }

    #[test]
    fn answers_match_after_normalising() {
        assert!(answer_matches("February 27, 2026", "on February 27, 2026."));
        assert!(answer_matches(
            "Tasca do Ferreiro",
            "dinner at tasca do ferreiro [2]"
        ));
        assert!(!answer_matches("", "anything"));
        assert_eq!(normalise("It's $1,200.50!"), "it s $1,200.50");
    }
}
