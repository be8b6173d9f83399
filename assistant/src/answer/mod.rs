//! Answers with citations: retrieve → numbered sources → generate on the
//! routed tier → check the citations → accept, or escalate up the cascade.
//!
//! [`Assistant::ask`] is the whole request. Every generation call it makes
//! is metered (tier, routing reason, tokens, time to first token, latency,
//! peak RSS, cost; for the cloud also the bytes sent, the redactions and the
//! redacted request itself) and, when a [`MeterLog`] is set, written to
//! Parquet. When no tier produces an answer its sources support, the
//! assistant says so — it does not pass an unsupported draft off as an answer.
//!
//! The cloud tier ([`CloudTier`]) is reached only when one is configured, the
//! router escalates past every local tier (or `--tier cloud` forces it), and
//! the per-source policy lets at least one retrieved source out; what is sent
//! has passed the redactor, and the reply is rehydrated on the device.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use crate::calibrate::{Observation, TierOutcome, answer_matches};
mod chitchat;
mod cloud;
mod prompt;

pub use prompt::prompt;
pub(crate) use prompt::source_entry;
use prompt::{abstained, tidy};

use crate::cite::{Citation, CitationCheck, CitationChecker, SourceRef};
use crate::cloud::{CloudCall, CloudTier};
use crate::generate::{ChatMessage, FinishReason, Generation, GenerationParams, Generator, Tier};
use crate::meter::{MeterLog, MeterRecord, PriceTable, peak_rss_bytes};
use crate::router::{Decision, QuerySignals, Route, Router};
use crate::task::{TaskClassifier, TaskPrediction};
use crate::{AssistantError, Retriever};
use hearth_store::SearchHit;

/// What the assistant replies when no tier's answer is supported.
pub const NO_SUPPORTED_ANSWER: &str =
    "I could not find an answer to that in your indexed data that the sources support.";

/// Options of one request.
#[derive(Debug, Clone)]
pub struct AskOptions {
    /// Sources retrieved and shown to the model.
    pub sources: usize,
    /// Characters of each source's text shown at most.
    pub source_chars: usize,
    /// Forces one local tier (no routing, no escalation).
    pub tier: Option<Tier>,
    /// Forces the cloud tier (an error when none is configured).
    pub force_cloud: bool,
    /// Sampling and length settings for every generation call of the request.
    pub params: GenerationParams,
}

impl Default for AskOptions {
    fn default() -> Self {
        Self {
            sources: 4,
            source_chars: 700,
            tier: None,
            force_cloud: false,
            params: GenerationParams {
                max_new_tokens: 96,
                temperature: 0.0,
                ..GenerationParams::default()
            },
        }
    }
}

/// One generation call of a request.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    /// The tier asked: `micro`, `local`, `larger` or `cloud`.
    pub tier: String,
    /// Why the router sent the request here.
    pub route_reason: String,
    /// The reply as generated.
    pub text: String,
    /// Whether the router accepted the reply (otherwise the request escalated).
    pub accepted: bool,
    /// Why the router accepted or rejected the reply.
    pub review: String,
    /// Mean token log-probability (local tiers; a cloud reply has none).
    pub mean_logprob: Option<f32>,
    /// Share of the reply's claims the citation check supports.
    pub grounded: f32,
    /// Tokens of the prompt sent (estimated for a cloud reply without usage; 0 if it failed).
    pub prompt_tokens: usize,
    /// Tokens of the reply generated.
    pub completion_tokens: usize,
    /// Time to the first reply token, in milliseconds (0 for a failed cloud call).
    pub ttft_ms: f64,
    /// Wall time of the whole call, in milliseconds.
    pub latency_ms: f64,
    /// The call's cost as metered (zero on a local tier under default prices).
    pub cost_usd: f64,
    /// Prompt tokens cut (from the front of the earliest non-system messages)
    /// to fit the tier's context window.
    #[serde(skip_serializing_if = "is_zero")]
    pub truncated_prompt_tokens: usize,
    /// Leading prompt tokens whose KV cache was reused from an earlier call.
    #[serde(skip_serializing_if = "is_zero")]
    pub reused_prompt_tokens: usize,
    /// Bytes of the KV cache after the call (local tiers on Hearth's engine).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kv_bytes: Option<u64>,
    /// What left the machine, for a cloud attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud: Option<CloudCall>,
}

/// The assistant's answer to one question.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    /// Id of the request, unique on this machine (time, process id, counter).
    pub request_id: String,
    /// The question as asked.
    pub question: String,
    /// The answer, or [`NO_SUPPORTED_ANSWER`].
    pub text: String,
    /// The tier whose answer was accepted (`None`: no supported answer).
    pub tier: Option<String>,
    /// Supported citations of the accepted answer.
    pub citations: Vec<Citation>,
    /// Every source shown to the model, numbered as in the prompt.
    pub sources: Vec<SourceRef>,
    /// Every generation call, in order.
    pub attempts: Vec<Attempt>,
    /// Whether a cloud model was asked.
    pub escalated_to_cloud: bool,
    /// Anything the user should know about how the answer was produced.
    pub notes: Vec<String>,
    /// The question's task type, when a classifier is set
    /// ([`Assistant::with_task_classifier`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskPrediction>,
    /// Time spent before generation: classifying and searching the index.
    pub retrieval_ms: f64,
}

impl Answer {
    /// An answer not (yet) given: [`NO_SUPPORTED_ANSWER`] over `sources`.
    fn unanswered(
        request_id: &str,
        question: &str,
        sources: Vec<SourceRef>,
        task: Option<TaskPrediction>,
    ) -> Self {
        Self {
            request_id: request_id.to_owned(),
            question: question.to_owned(),
            text: NO_SUPPORTED_ANSWER.to_owned(),
            tier: None,
            citations: Vec::new(),
            sources,
            attempts: Vec::new(),
            escalated_to_cloud: false,
            notes: Vec::new(),
            task,
            retrieval_ms: 0.0,
        }
    }
}

/// Retrieval, tiered generation, citation checks and metering.
pub struct Assistant<'a> {
    retriever: Retriever<'a>,
    generators: BTreeMap<Tier, Generator>,
    router: Router,
    checker: CitationChecker,
    meter: Option<MeterLog>,
    prices: PriceTable,
    cloud: Option<CloudTier>,
    task: Option<TaskClassifier>,
}

impl<'a> Assistant<'a> {
    /// An assistant over `retriever` with the given local `generators`
    /// (loaded lazily, kept loaded) and `router`.
    pub fn new(
        retriever: Retriever<'a>,
        generators: BTreeMap<Tier, Generator>,
        router: Router,
    ) -> Self {
        Self {
            retriever,
            generators,
            router,
            checker: CitationChecker::default(),
            meter: None,
            prices: PriceTable::default(),
            cloud: None,
            task: None,
        }
    }

    /// Escalates to `cloud` when the router goes past the local tiers (build
    /// the [`Router`] with `cloud = true` for that).
    pub fn with_cloud(mut self, cloud: CloudTier) -> Self {
        self.cloud = Some(cloud);
        self
    }

    /// Classifies each question's task type for the router (see
    /// [`crate::router::TaskRouting`]); small talk is then answered on the
    /// smallest tier without sources.
    pub fn with_task_classifier(mut self, classifier: TaskClassifier) -> Self {
        self.task = Some(classifier);
        self
    }

    /// The question's embedding, made once when the task classifier or the
    /// search needs it.
    fn embed(&self, question: &str) -> Result<Option<Vec<f32>>, AssistantError> {
        if self.task.is_some() || self.retriever.needs_vector() {
            Ok(Some(self.retriever.embedder().embed_one(question)?))
        } else {
            Ok(None)
        }
    }

    /// The question's task type from its embedding, when a classifier is set
    /// (a classifier trained on another embedding model is logged and ignored).
    fn classify(&self, vector: Option<&[f32]>) -> Option<TaskPrediction> {
        let classifier = self.task.as_ref()?;
        match classifier.check_embedder(self.retriever.embedder()) {
            Ok(()) => Some(classifier.classify(vector?)),
            Err(e) => {
                tracing::warn!("task classifier: {e}");
                None
            }
        }
    }

    /// Whether a cloud tier is configured.
    pub fn has_cloud(&self) -> bool {
        self.cloud.is_some()
    }

    /// The local tiers this assistant can generate on.
    pub fn tiers(&self) -> Vec<Tier> {
        self.generators.keys().copied().collect()
    }

    /// The generator of `tier`, when that tier is enabled.
    pub fn generator_mut(&mut self, tier: Tier) -> Option<&mut Generator> {
        self.generators.get_mut(&tier)
    }

    /// The generators, the cloud tier and the task classifier back, for the next request's
    /// assistant (models stay loaded across requests).
    pub fn into_parts(
        self,
    ) -> (
        BTreeMap<Tier, Generator>,
        Option<CloudTier>,
        Option<TaskClassifier>,
    ) {
        (self.generators, self.cloud, self.task)
    }

    /// The retriever the assistant searches with.
    pub fn retriever(&self) -> &Retriever<'a> {
        &self.retriever
    }

    /// Writes a metering record per generation call to `log`, priced by `prices`.
    pub fn with_metering(mut self, log: MeterLog, prices: PriceTable) -> Self {
        self.meter = Some(log);
        self.prices = prices;
        self
    }

    /// Answers `question`, streaming each attempt's text to `on_token`
    /// (`on_attempt` is told which tier — `micro`, `local`, `larger` or
    /// `cloud` — starts generating, and why).
    pub fn ask(
        &mut self,
        question: &str,
        options: &AskOptions,
        mut on_attempt: impl FnMut(&str, &str),
        mut on_token: impl FnMut(&str),
    ) -> Result<Answer, AssistantError> {
        let request_id = request_id();
        let started = Instant::now();
        let vector = self.embed(question)?;
        let task = self.classify(vector.as_deref());
        let forced = options.force_cloud || options.tier.is_some();
        if !forced
            && self
                .router
                .is_chitchat(&QuerySignals::new(question, &[]).with_task(task))
        {
            let mut answer = Answer::unanswered(&request_id, question, Vec::new(), task);
            if let Some(task) = task
                && self.small_talk(
                    &request_id,
                    task,
                    options,
                    &mut answer,
                    &mut on_attempt,
                    &mut on_token,
                )?
            {
                return Ok(answer);
            }
        }
        let hits = self
            .retriever
            .search_embedded(question, vector.as_deref(), options.sources)?;
        let sources: Vec<SourceRef> = hits
            .iter()
            .enumerate()
            .map(|(i, h)| SourceRef::new(i + 1, h))
            .collect();
        let messages = prompt(question, &hits, options.source_chars);
        let signals = QuerySignals::new(question, &hits).with_task(task);
        let mut answer = Answer::unanswered(&request_id, question, sources, task);
        answer.retrieval_ms = started.elapsed().as_secs_f64() * 1e3;
        if hits.is_empty() {
            answer.notes.push("the index returned no sources".into());
            return Ok(answer);
        }
        let mut decision = match options.tier {
            _ if options.force_cloud => Decision {
                route: Route::Cloud,
                reason: "forced with --tier cloud".into(),
            },
            Some(tier) => Decision {
                route: Route::Local(tier),
                reason: format!("forced with --tier {tier}"),
            },
            None => self.router.decide(&signals),
        };
        let mut records = Vec::new();
        let mut best: Option<(f32, String, CitationCheck)> = None;
        let outcome = loop {
            let tier = match decision.route {
                Route::Local(tier) => tier,
                Route::Cloud => {
                    break self.ask_cloud(
                        &request_id,
                        question,
                        &hits,
                        options,
                        &decision.reason,
                        &mut answer,
                        &mut records,
                        &mut on_attempt,
                        &mut on_token,
                    );
                }
                Route::GiveUp => {
                    let why = if self.cloud.is_some() {
                        "the cloud tier is not enabled for routing"
                    } else {
                        "no cloud endpoint is configured"
                    };
                    answer
                        .notes
                        .push(format!("not escalated: {} ({why})", decision.reason));
                    break Ok(());
                }
            };
            let generator = self.generators.get_mut(&tier).ok_or_else(|| {
                AssistantError::Generation(format!(
                    "tier {tier} is not available: install it with `hearth models install {}`",
                    tier.model_name()
                ))
            })?;
            let model = generator.path().display().to_string();
            on_attempt(tier.as_str(), &decision.reason);
            let started_ms = chrono::Utc::now().timestamp_millis();
            let (generation, check, seconds) = checked_reply(
                generator,
                &self.checker,
                question,
                &hits,
                &messages,
                options,
                &mut on_token,
            )?;
            let review = if forced {
                crate::router::Review {
                    accepted: true,
                    reason: "forced tier: no review".into(),
                }
            } else {
                self.router.review(tier, &generation, &check)
            };
            let record = self.record(
                &request_id,
                started_ms,
                tier,
                model,
                &decision.reason,
                if review.accepted {
                    "answered"
                } else {
                    "escalated"
                },
                &generation,
                seconds,
            );
            answer.attempts.push(attempt(
                tier,
                &decision.reason,
                &generation,
                &check,
                &review,
                record.cost_usd,
            ));
            records.push(record);
            if generation.truncated_tokens > 0 {
                answer.notes.push(format!(
                    "{tier}: {} prompt tokens were cut to fit its context window",
                    generation.truncated_tokens
                ));
            }
            let grounded = check.grounded();
            if review.accepted {
                if grounded > 0.0 {
                    answer.text = generation.text.trim().to_owned();
                    answer.tier = Some(tier.to_string());
                    answer.citations = check.citations;
                } else {
                    answer
                        .notes
                        .push(format!("{tier}'s reply is not supported by the sources"));
                }
                break Ok(());
            }
            if best.as_ref().is_none_or(|b| grounded > b.0) && grounded > 0.0 {
                best = Some((grounded, generation.text.clone(), check));
            }
            decision = self.router.escalate(tier, &review.reason);
        };
        if let Some(meter) = &self.meter
            && !records.is_empty()
        {
            meter.append(&records)?;
        }
        outcome?;
        if answer.tier.is_none()
            && let Some((grounded, _, _)) = best
        {
            answer.notes.push(format!(
                "the best rejected draft had {:.0}% of its claims supported",
                grounded * 100.0
            ));
        }
        Ok(answer)
    }

    /// Every local tier's forced reply to `question`, scored against the
    /// `gold` answer: one row of router calibration data (not metered).
    pub fn observe(
        &mut self,
        question: &str,
        gold: &str,
        options: &AskOptions,
    ) -> Result<Observation, AssistantError> {
        let vector = self.embed(question)?;
        let hits = self
            .retriever
            .search_embedded(question, vector.as_deref(), options.sources)?;
        let messages = prompt(question, &hits, options.source_chars);
        let mut tiers = BTreeMap::new();
        for (&tier, generator) in &mut self.generators {
            let (generation, check, seconds) = checked_reply(
                generator,
                &self.checker,
                question,
                &hits,
                &messages,
                options,
                |_| {},
            )?;
            let correct = answer_matches(gold, &generation.text);
            tiers.insert(
                tier,
                TierOutcome {
                    generation,
                    check,
                    correct,
                    seconds,
                },
            );
        }
        Ok(Observation {
            signals: QuerySignals::new(question, &hits).with_task(self.classify(vector.as_deref())),
            tiers,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        request_id: &str,
        started_ms: i64,
        tier: Tier,
        model: String,
        reason: &str,
        outcome: &str,
        generation: &Generation,
        seconds: f64,
    ) -> MeterRecord {
        let prompt = u32::try_from(generation.prompt_tokens).unwrap_or(u32::MAX);
        let completion = u32::try_from(generation.completion_tokens).unwrap_or(u32::MAX);
        MeterRecord {
            request_id: request_id.to_owned(),
            started_ms,
            tier: tier.to_string(),
            model,
            route_reason: reason.to_owned(),
            outcome: outcome.to_owned(),
            prompt_tokens: prompt,
            completion_tokens: completion,
            ttft_ms: generation.time_to_first_token.as_secs_f64() * 1e3,
            latency_ms: generation.total_time.as_secs_f64() * 1e3,
            peak_rss_bytes: peak_rss_bytes().unwrap_or(0),
            cost_usd: self.prices.cost(tier.as_str(), prompt, completion, seconds),
            bytes_sent: 0,
            redactions: 0,
            payload: String::new(),
        }
    }
}

/// One tier's reply to the prompt: generated, tidied and citation-checked
/// (an abstention has no claims), with its wall time in seconds.
fn checked_reply(
    generator: &mut Generator,
    checker: &CitationChecker,
    question: &str,
    hits: &[SearchHit],
    messages: &[ChatMessage],
    options: &AskOptions,
    on_token: impl FnMut(&str),
) -> Result<(Generation, CitationCheck, f64), AssistantError> {
    let t = Instant::now();
    let mut generation = generator.generate(messages, &options.params, on_token)?;
    let seconds = t.elapsed().as_secs_f64();
    generation.text = tidy(&generation.text, generation.finish_reason);
    let check = if abstained(&generation.text) {
        CitationCheck::default()
    } else {
        checker.check(question, &generation.text, hits)
    };
    Ok((generation, check, seconds))
}

fn attempt(
    tier: Tier,
    reason: &str,
    generation: &Generation,
    check: &CitationCheck,
    review: &crate::router::Review,
    cost_usd: f64,
) -> Attempt {
    Attempt {
        tier: tier.to_string(),
        route_reason: reason.to_owned(),
        text: generation.text.clone(),
        accepted: review.accepted,
        review: review.reason.clone(),
        mean_logprob: Some(generation.mean_logprob),
        grounded: check.grounded(),
        prompt_tokens: generation.prompt_tokens,
        completion_tokens: generation.completion_tokens,
        ttft_ms: generation.time_to_first_token.as_secs_f64() * 1e3,
        latency_ms: generation.total_time.as_secs_f64() * 1e3,
        cost_usd,
        truncated_prompt_tokens: generation.truncated_tokens,
        reused_prompt_tokens: generation.reused_prompt_tokens,
        kv_bytes: generation.kv_bytes,
        cloud: None,
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A request id: time plus a per-process counter, unique on this machine.
fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{:x}-{:x}-{}",
        chrono::Utc::now().timestamp_micros(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
