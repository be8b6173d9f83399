//! One escalation to the cloud tier: build the redacted prompt, send it,
//! rehydrate and renumber the reply on the device, check its citations.
//!
//! [`CloudTier`] is what the assistant holds when a cloud endpoint is
//! configured: the client, the per-source policy, and the participant names
//! the index knows (collected once, on the first escalation), which the
//! [`Redactor`] replaces along with its patterns.

use std::time::Instant;

use serde::Serialize;

use super::{CloudClient, CloudError, CloudPolicy, CloudPrompt, CloudReply};
use crate::cite::{CitationCheck, CitationChecker};
use crate::generate::GenerationParams;
use crate::redact::{RedactionSummary, Redactor};
use hearth_store::{Index, SearchHit};

/// The cloud endpoint, its policy and the names to redact.
#[derive(Debug)]
pub struct CloudTier {
    client: CloudClient,
    policy: CloudPolicy,
    names: Option<Vec<String>>,
}

/// What left the machine on one escalation, for the answer and the log.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CloudCall {
    /// Model the endpoint says answered (or the configured one).
    pub model: String,
    /// Request bytes sent, over all tries.
    pub bytes_sent: u64,
    /// Tries made.
    pub tries: u32,
    /// Values the redactor replaced, by kind (never the values).
    pub redactions: RedactionSummary,
    /// Retrieved sources the policy kept out of the prompt.
    pub withheld_sources: usize,
    /// The endpoint gave no usage; token counts are estimates.
    pub usage_estimated: bool,
}

/// The outcome of one escalation.
#[derive(Debug)]
pub struct Escalation {
    /// The reply (rehydrated, renumbered) and its check, or why there is none.
    pub result: Result<(CloudReply, CitationCheck), CloudError>,
    /// What left the machine: model, bytes, tries, redactions, withheld sources.
    pub call: CloudCall,
    /// The exact request body that was sent (redacted): the audit log's copy.
    pub payload: String,
    /// Wall time of the call.
    pub seconds: f64,
}

impl CloudTier {
    /// A cloud tier over `client` gated by `policy`; names are collected on first use.
    pub fn new(client: CloudClient, policy: CloudPolicy) -> Self {
        Self {
            client,
            policy,
            names: None,
        }
    }

    /// Also redact these names (in addition to the index's participants).
    pub fn with_names(mut self, names: Vec<String>) -> Self {
        self.names = Some(names);
        self
    }

    /// Collect the index's participant names again on the next escalation
    /// (after the index changed).
    pub fn forget_names(&mut self) {
        self.names = None;
    }

    /// The per-source policy deciding what may be sent.
    pub fn policy(&self) -> &CloudPolicy {
        &self.policy
    }

    /// The client of the cloud endpoint.
    pub fn client(&self) -> &CloudClient {
        &self.client
    }

    /// The sources of `hits` that the policy lets out (0 means: don't call).
    pub fn sendable(&self, hits: &[SearchHit]) -> usize {
        hits.iter()
            .filter(|h| self.policy.exposure(&h.document) != super::Exposure::Never)
            .count()
    }

    /// Sends `question` over `hits` to the cloud, streaming the raw reply's
    /// text to `on_token`.
    #[allow(clippy::too_many_arguments)]
    pub fn escalate(
        &mut self,
        index: &Index,
        checker: &CitationChecker,
        question: &str,
        hits: &[SearchHit],
        source_chars: usize,
        params: &GenerationParams,
        on_token: impl FnMut(&str),
    ) -> Escalation {
        let names = self
            .names
            .get_or_insert_with(|| participant_names(index))
            .clone();
        let mut redactor = Redactor::with_names(&names);
        let prompt = CloudPrompt::build(question, hits, &self.policy, &mut redactor, source_chars);
        let body = super::client::request_body(self.client.config(), &prompt.messages, params);
        let payload = String::from_utf8_lossy(&body).into_owned();
        let started = Instant::now();
        let result = self.client.chat(&prompt.messages, params, on_token);
        let seconds = started.elapsed().as_secs_f64();
        let mut call = CloudCall {
            model: self.client.config().model.clone(),
            bytes_sent: body.len() as u64,
            tries: 1,
            redactions: redactor.summary(),
            withheld_sources: prompt.withheld,
            usage_estimated: false,
        };
        let result = result.map(|mut reply| {
            call.model = reply.model.clone();
            call.bytes_sent = reply.bytes_sent;
            call.tries = reply.attempts;
            call.usage_estimated = reply.usage_estimated;
            reply.text = prompt.renumber(&redactor.rehydrate(&reply.text));
            let check = checker.check(question, &reply.text, hits);
            (reply, check)
        });
        if let Err(CloudError::GaveUp { attempts, .. }) = &result {
            call.tries = *attempts;
            call.bytes_sent = body.len() as u64 * u64::from(*attempts);
        }
        Escalation {
            result,
            call,
            payload,
            seconds,
        }
    }
}

/// Every participant name in the index (`Name <address>` → `Name`).
pub fn participant_names(index: &Index) -> Vec<String> {
    let mut names = std::collections::BTreeSet::new();
    for doc in index.documents() {
        for p in &doc.participants {
            let name = p.split('<').next().unwrap_or("").trim().trim_matches('"');
            if !name.is_empty() && !name.contains('@') && name.chars().any(char::is_alphabetic) {
                names.insert(name.to_owned());
            }
        }
    }
    names.into_iter().collect()
}
