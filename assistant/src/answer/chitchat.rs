//! Small talk: a question the task classifier is confident is chit-chat
//! ("thanks!", "how are you?") gets a short reply from the tier the router
//! starts on, without sources — searching the user's data for a greeting would
//! only dress a pleasantry up as a cited answer.

use std::time::Instant;

use super::{Answer, AskOptions, Assistant, attempt, tidy};
use crate::AssistantError;
use crate::generate::{ChatMessage, GenerationParams};
use crate::router::{QuerySignals, Review, Route};
use crate::task::TaskPrediction;

/// The system prompt of a small-talk reply.
const SMALL_TALK_PROMPT: &str = "You are Hearth, a friendly assistant that answers questions about the user's own mail, documents and messages. The user is making small talk: reply in one short, friendly sentence, and offer to look something up in their data.";

/// Longest small-talk reply, in tokens.
const SMALL_TALK_TOKENS: usize = 48;

impl Assistant<'_> {
    /// Replies to small talk on the local tier the router starts on; `false`
    /// when it would start on none (the request then takes the normal path).
    pub(super) fn small_talk(
        &mut self,
        request_id: &str,
        task: TaskPrediction,
        options: &AskOptions,
        answer: &mut Answer,
        on_attempt: &mut impl FnMut(&str, &str),
        on_token: &mut impl FnMut(&str),
    ) -> Result<bool, AssistantError> {
        // The tier the router starts an unsourced request on: with the
        // fitted thresholds that is not micro, whose small talk is poor.
        let decided = self
            .router
            .decide(&QuerySignals::new(&answer.question, &[]).with_task(task));
        let tier = match decided.route {
            Route::Local(tier) => tier,
            _ => return Ok(false),
        };
        let Some(generator) = self.generators.get_mut(&tier) else {
            return Ok(false);
        };
        // The decision's reason names the task and its confidence.
        let reason = format!("small talk, no sources; {}", decided.reason);
        let model = generator.path().display().to_string();
        on_attempt(tier.as_str(), &reason);
        let messages = [
            ChatMessage::system(SMALL_TALK_PROMPT),
            ChatMessage::user(answer.question.clone()),
        ];
        let params = GenerationParams {
            max_new_tokens: options.params.max_new_tokens.min(SMALL_TALK_TOKENS),
            ..options.params.clone()
        };
        let started_ms = chrono::Utc::now().timestamp_millis();
        let t = Instant::now();
        let mut generation = generator.generate(&messages, &params, &mut *on_token)?;
        let seconds = t.elapsed().as_secs_f64();
        generation.text = tidy(&generation.text, generation.finish_reason);
        let review = Review {
            accepted: true,
            reason: "small talk: no citation check".into(),
        };
        let record = self.record(
            request_id,
            started_ms,
            tier,
            model,
            &reason,
            "answered",
            &generation,
            seconds,
        );
        answer.attempts.push(attempt(
            tier,
            &reason,
            &generation,
            &Default::default(),
            &review,
            record.cost_usd,
        ));
        if let Some(meter) = &self.meter {
            meter.append(&[record])?;
        }
        answer.text = generation.text;
        answer.tier = Some(tier.to_string());
        answer.sources.clear();
        answer
            .notes
            .push("small talk: answered without searching your data".into());
        Ok(true)
    }
}
