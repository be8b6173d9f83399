//! The cloud step of a request: one metered escalation through the redactor.

use super::{Answer, AskOptions, Assistant, Attempt, FinishReason, abstained, tidy};
use crate::AssistantError;
use crate::cloud::Escalation;
use crate::meter::{MeterRecord, peak_rss_bytes};
use hearth_store::SearchHit;

impl Assistant<'_> {
    /// The cloud attempt of a request: skipped (with a note) when the policy
    /// withholds every source, metered whether it succeeds or fails. A failed
    /// call is a note, not an error: the request still gets an answer.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn ask_cloud(
        &mut self,
        request_id: &str,
        question: &str,
        hits: &[SearchHit],
        options: &AskOptions,
        reason: &str,
        answer: &mut Answer,
        records: &mut Vec<MeterRecord>,
        on_attempt: &mut impl FnMut(&str, &str),
        on_token: &mut impl FnMut(&str),
    ) -> Result<(), AssistantError> {
        let Some(cloud) = self.cloud.as_mut() else {
            return Err(AssistantError::Generation(
                "no cloud endpoint is configured: add a [cloud] table to the config".into(),
            ));
        };
        if cloud.sendable(hits) == 0 {
            answer.notes.push(format!(
                "not escalated: {reason}, but the cloud policy withholds all {} sources",
                hits.len()
            ));
            return Ok(());
        }
        on_attempt("cloud", reason);
        let started_ms = chrono::Utc::now().timestamp_millis();
        let Escalation {
            result,
            call,
            payload,
            seconds,
        } = cloud.escalate(
            self.retriever.index(),
            &self.checker,
            question,
            hits,
            options.source_chars,
            &options.params,
            on_token,
        );
        answer.escalated_to_cloud = true;
        let redactions = u32::try_from(call.redactions.occurrences()).unwrap_or(u32::MAX);
        let mut record = MeterRecord {
            request_id: request_id.to_owned(),
            started_ms,
            tier: "cloud".into(),
            model: call.model.clone(),
            route_reason: reason.to_owned(),
            outcome: String::new(),
            prompt_tokens: 0,
            completion_tokens: 0,
            ttft_ms: 0.0,
            latency_ms: seconds * 1e3,
            peak_rss_bytes: peak_rss_bytes().unwrap_or(0),
            cost_usd: 0.0,
            bytes_sent: call.bytes_sent,
            redactions,
            payload,
        };
        match result {
            Ok((reply, check)) => {
                record.prompt_tokens = reply.prompt_tokens;
                record.completion_tokens = reply.completion_tokens;
                record.ttft_ms = reply.time_to_first_token.as_secs_f64() * 1e3;
                record.latency_ms = reply.total_time.as_secs_f64() * 1e3;
                record.cost_usd = self.prices.cost(
                    "cloud",
                    reply.prompt_tokens,
                    reply.completion_tokens,
                    seconds,
                );
                let text = tidy(&reply.text, FinishReason::Stop);
                let supported = !abstained(&text) && check.grounded() > 0.0;
                record.outcome = if supported {
                    "answered".into()
                } else {
                    "unsupported".into()
                };
                answer.attempts.push(Attempt {
                    tier: "cloud".into(),
                    route_reason: reason.to_owned(),
                    text: text.clone(),
                    accepted: supported,
                    review: if supported {
                        format!("{:.0}% of claims supported", check.grounded() * 100.0)
                    } else {
                        "no claim of the reply is supported by the sources".into()
                    },
                    mean_logprob: None,
                    grounded: check.grounded(),
                    prompt_tokens: reply.prompt_tokens as usize,
                    completion_tokens: reply.completion_tokens as usize,
                    ttft_ms: record.ttft_ms,
                    latency_ms: record.latency_ms,
                    cost_usd: record.cost_usd,
                    truncated_prompt_tokens: 0,
                    reused_prompt_tokens: 0,
                    kv_bytes: None,
                    cloud: Some(call),
                });
                if supported {
                    answer.text = text;
                    answer.tier = Some("cloud".into());
                    answer.citations = check.citations;
                } else {
                    answer
                        .notes
                        .push("the cloud's reply is not supported by the sources".into());
                }
            }
            Err(err) => {
                record.outcome = format!("error: {err}");
                answer.attempts.push(Attempt {
                    tier: "cloud".into(),
                    route_reason: reason.to_owned(),
                    text: String::new(),
                    accepted: false,
                    review: format!("error: {err}"),
                    mean_logprob: None,
                    grounded: 0.0,
                    prompt_tokens: 0,
                    completion_tokens: 0,
                    ttft_ms: 0.0,
                    latency_ms: record.latency_ms,
                    cost_usd: record.cost_usd,
                    truncated_prompt_tokens: 0,
                    reused_prompt_tokens: 0,
                    kv_bytes: None,
                    cloud: Some(call),
                });
                answer.notes.push(format!("the cloud call failed: {err}"));
            }
        }
        records.push(record);
        Ok(())
    }
}
