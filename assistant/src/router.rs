//! The router: which tier answers a request, and whether its answer stands.
//!
//! Before generation, [`Router::decide`] picks the first tier from signals
//! that cost nothing extra — the question's length and the retrieval's
//! confidence (top vector score, margin to the runner-up, whether the
//! keyword and vector lists agree on the best chunk) — and, when the caller
//! classified the question ([`crate::task::TaskClassifier`]), its task type:
//! summarising, drafting and reasoning skip the micro tier, reasoning starts
//! at the largest installed local tier. After generation,
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
use crate::task::{TaskPrediction, TaskType};
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
    /// The question's predicted task type, when it was classified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskPrediction>,
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
            task: None,
        }
    }

    /// The same signals with the question's predicted task type.
    ///
    /// ```
    /// use hearth_assistant::{QuerySignals, TaskPrediction, TaskType};
    /// let task = TaskPrediction { task: TaskType::ChitChat, confidence: 0.9 };
    /// let signals = QuerySignals::new("thanks!", &[]).with_task(task);
    /// assert!(signals.is_chitchat(0.6));
    /// assert!(!QuerySignals::new("thanks!", &[]).is_chitchat(0.6));
    /// ```
    pub fn with_task(mut self, task: impl Into<Option<TaskPrediction>>) -> Self {
        self.task = task.into();
        self
    }

    /// The question was classified as chit-chat with at least `min_confidence`.
    pub fn is_chitchat(&self, min_confidence: f32) -> bool {
        self.task
            .is_some_and(|t| t.is(TaskType::ChitChat, min_confidence))
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

/// How the router uses the question's task type (the `[task]` table of
/// `router.toml`; every field has a default, so fits written before it existed
/// still parse).
///
/// ```
/// use hearth_assistant::router::TaskRouting;
/// use hearth_assistant::TaskType;
/// let routing: TaskRouting = toml::from_str("min_confidence = 0.7").unwrap();
/// assert_eq!(routing.min_confidence, 0.7);
/// assert!(routing.skip_micro.contains(&TaskType::Draft));
/// assert_eq!(routing.start_largest, vec![TaskType::Reason]);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskRouting {
    /// Predictions less confident than this are ignored (reported in the
    /// reason only).
    pub min_confidence: f32,
    /// Tasks that skip the micro tier.
    pub skip_micro: Vec<TaskType>,
    /// Tasks that start at the largest installed local tier.
    pub start_largest: Vec<TaskType>,
    /// Confidence needed to treat a question as chit-chat ([`Router::is_chitchat`]);
    /// higher than `min_confidence` because answering a real question as
    /// small talk costs more than skipping the micro tier.
    pub chitchat_min_confidence: f32,
}

impl Default for TaskRouting {
    fn default() -> Self {
        Self {
            min_confidence: 0.5,
            skip_micro: vec![TaskType::Summarise, TaskType::Draft, TaskType::Reason],
            start_largest: vec![TaskType::Reason],
            chitchat_min_confidence: 0.6,
        }
    }
}

/// The router's thresholds (fitted by `hearth router fit`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouterConfig {
    /// Questions longer than this skip the micro tier.
    pub micro_max_words: usize,
    /// Retrieval confidence (top vector score) below which the micro tier is
    /// skipped.
    pub micro_min_top_score: f32,
    /// Acceptance thresholds for answers of the micro tier.
    pub micro: TierGate,
    /// Acceptance thresholds for answers of the local tier.
    pub local: TierGate,
    /// Acceptance thresholds for answers of the larger tier.
    pub larger: TierGate,
    /// Where these values came from (`defaults` or the fit's summary).
    #[serde(default)]
    pub provenance: String,
    /// How the question's task type routes (not fitted).
    #[serde(default)]
    pub task: TaskRouting,
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
            task: TaskRouting::default(),
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
    /// Where the request goes.
    pub route: Route,
    /// Why, in words, for the answer's attempts and the metering log.
    pub reason: String,
}

/// The verdict on one tier's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Review {
    /// Whether the answer passed the tier's gate (otherwise the request escalates).
    pub accepted: bool,
    /// The signals that passed, or every threshold the answer missed, in words.
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

    /// The thresholds the router applies.
    pub fn config(&self) -> &RouterConfig {
        &self.config
    }

    /// The first tier for a request.
    pub fn decide(&self, signals: &QuerySignals) -> Decision {
        let routing = &self.config.task;
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
        let mut notes = Vec::new();
        let task = match signals.task {
            Some(t) if t.confidence >= routing.min_confidence => Some(t),
            Some(t) => {
                notes.push(format!(
                    "task {} ({:.2}) < {:.2}, ignored",
                    t.task, t.confidence, routing.min_confidence
                ));
                None
            }
            None => None,
        };
        if let Some(t) = task.filter(|t| routing.skip_micro.contains(&t.task)) {
            skip.push(format!("task {} ({:.2})", t.task, t.confidence));
        }
        let cheapest = self
            .tiers
            .iter()
            .copied()
            .find(|&t| t != Tier::Micro || skip.is_empty())
            // Only micro installed: it answers anyway.
            .or_else(|| self.tiers.last().copied());
        let largest = self.tiers.last().copied();
        let first = match task.filter(|t| routing.start_largest.contains(&t.task)) {
            Some(t) if largest > cheapest => {
                notes.push(format!(
                    "task {} ({:.2}) starts at the largest installed tier",
                    t.task, t.confidence
                ));
                largest
            }
            _ => cheapest,
        };
        if let Some(t) = task.filter(|t| t.task == TaskType::ChitChat) {
            notes.push(format!("task chitchat ({:.2})", t.confidence));
        }
        let mut decision = match first {
            Some(Tier::Micro) if skip.is_empty() => Decision {
                route: Route::Local(Tier::Micro),
                reason: format!(
                    "short question, retrieval confidence {:.2}",
                    signals.top_score
                ),
            },
            Some(tier) if skip.is_empty() && first == cheapest => Decision {
                route: Route::Local(tier),
                reason: format!("cheapest installed tier is {tier}"),
            },
            Some(tier) if skip.is_empty() => Decision {
                route: Route::Local(tier),
                reason: format!("starting at {tier}"),
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
        };
        if first.is_some() {
            for note in notes {
                decision.reason.push_str("; ");
                decision.reason.push_str(&note);
            }
        }
        decision
    }

    /// The question was classified as chit-chat with at least the configured
    /// `task.chitchat_min_confidence` (the answer flow may then reply without
    /// sources).
    pub fn is_chitchat(&self, signals: &QuerySignals) -> bool {
        signals.is_chitchat(self.config.task.chitchat_min_confidence)
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
            reused_prompt_tokens: 0,
            kv_bytes: None,
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

    fn task(task: TaskType, confidence: f32) -> Option<TaskPrediction> {
        Some(TaskPrediction { task, confidence })
    }

    #[test]
    fn summarise_draft_and_reason_skip_micro_and_reason_starts_largest() {
        let all = [Tier::Micro, Tier::Local, Tier::Larger];
        let router = Router::new(RouterConfig::unfitted(), &all, false);
        let easy = QuerySignals {
            query_words: 8,
            top_score: 0.7,
            ..QuerySignals::default()
        };
        let lookup = easy.with_task(task(TaskType::Lookup, 0.9));
        assert_eq!(router.decide(&lookup).route, Route::Local(Tier::Micro));
        for t in [TaskType::Summarise, TaskType::Draft] {
            let d = router.decide(&easy.with_task(task(t, 0.87)));
            assert_eq!(d.route, Route::Local(Tier::Local), "{t}");
            assert_eq!(d.reason, format!("skipped micro: task {t} (0.87)"));
        }
        let reason = easy.with_task(task(TaskType::Reason, 0.87));
        let d = router.decide(&reason);
        assert_eq!(d.route, Route::Local(Tier::Larger));
        assert!(
            d.reason.starts_with("skipped micro: task reason (0.87)"),
            "{}",
            d.reason
        );
        assert!(d.reason.contains("largest installed tier"), "{}", d.reason);
        // Without the larger tier, reasoning starts at local.
        let two = Router::new(RouterConfig::unfitted(), &[Tier::Micro, Tier::Local], false);
        assert_eq!(two.decide(&reason).route, Route::Local(Tier::Local));
        // Unsure predictions are reported and ignored.
        let unsure = easy.with_task(task(TaskType::Draft, 0.3));
        let d = router.decide(&unsure);
        assert_eq!(d.route, Route::Local(Tier::Micro));
        assert!(
            d.reason.contains("task draft (0.30) < 0.50, ignored"),
            "{}",
            d.reason
        );
        // Without a prediction nothing changes.
        assert_eq!(router.decide(&easy), router.decide(&easy.with_task(None)));
        // The task lists are configurable.
        let mut config = RouterConfig::unfitted();
        config.task.skip_micro.clear();
        config.task.start_largest = vec![TaskType::Draft];
        let custom = Router::new(config, &all, false);
        let summary = easy.with_task(task(TaskType::Summarise, 0.9));
        assert_eq!(custom.decide(&summary).route, Route::Local(Tier::Micro));
        let d = custom.decide(&easy.with_task(task(TaskType::Draft, 0.9)));
        assert_eq!(d.route, Route::Local(Tier::Larger));
        assert!(d.reason.starts_with("starting at larger"), "{}", d.reason);
    }

    #[test]
    fn chitchat_is_reported_and_detectable() {
        let router = Router::new(RouterConfig::unfitted(), &[Tier::Micro, Tier::Local], false);
        let hello = QuerySignals {
            query_words: 1,
            top_score: 0.1,
            ..QuerySignals::default()
        }
        .with_task(task(TaskType::ChitChat, 0.95));
        assert!(router.is_chitchat(&hello));
        assert!(!hello.is_chitchat(0.99));
        // Reported from `min_confidence`, acted on from `chitchat_min_confidence`.
        let unsure = hello.with_task(task(TaskType::ChitChat, 0.55));
        assert!(!router.is_chitchat(&unsure));
        assert!(
            router
                .decide(&unsure)
                .reason
                .ends_with("task chitchat (0.55)")
        );
        let d = router.decide(&hello);
        assert!(d.reason.ends_with("task chitchat (0.95)"), "{}", d.reason);
        let lookup = hello.with_task(task(TaskType::Lookup, 0.95));
        assert!(!router.is_chitchat(&lookup));
        assert!(!router.is_chitchat(&QuerySignals::default()));
    }

    #[test]
    fn signals_without_a_task_still_parse_and_old_fits_get_task_defaults() {
        let old = r#"{"query_words":3,"top_score":0.5,"margin":0.1,"lists_agree":true,"hits":4}"#;
        let signals: QuerySignals = serde_json::from_str(old).unwrap();
        assert_eq!(signals.task, None);
        assert_eq!(serde_json::to_string(&signals).unwrap(), old);
        let with = signals.with_task(task(TaskType::Reason, 0.5));
        let json = serde_json::to_string(&with).unwrap();
        assert!(
            json.contains(r#""task":{"task":"reason","confidence":0.5}"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<QuerySignals>(&json).unwrap(), with);
        let fitted: RouterConfig = toml::from_str(FITTED).unwrap();
        assert_eq!(fitted.task, TaskRouting::default());
        let written = toml::to_string(&fitted).unwrap();
        assert_eq!(toml::from_str::<RouterConfig>(&written).unwrap(), fitted);
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
