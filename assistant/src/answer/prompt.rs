//! What a local tier is shown and how its reply is cleaned: the numbered
//! sources prompt, the tidying of runaway replies, and the recognition of a
//! reply that declines to answer.

use crate::generate::{ChatMessage, FinishReason};
use hearth_store::SearchHit;

/// The system prompt of every local tier.
const SYSTEM_PROMPT: &str = "You are Hearth, an assistant that answers questions about the user's own mail, documents and messages. Use only the numbered sources. Answer in one or two short sentences, quote names, dates and amounts exactly as the sources give them, and cite each source you use like [1]. If the sources do not contain the answer, reply: I don't know.";

/// Phrases with which a model declines; such a reply is never an answer.
const ABSTAIN: &[&str] = &[
    "i don't know",
    "i do not know",
    "not contain",
    "no information",
    "not mentioned",
    "cannot find",
    "can't find",
    "not provided",
];

/// The reply without what small models add when they run on: sentences
/// repeated verbatim (a decoding loop) and, when generation hit the token
/// limit, the unfinished last sentence.
pub(crate) fn tidy(text: &str, finish: FinishReason) -> String {
    let mut sentences: Vec<&str> = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let end = rest
            .char_indices()
            .find(|&(i, c)| {
                matches!(c, '.' | '!' | '?' | '\n')
                    && rest[i + c.len_utf8()..]
                        .chars()
                        .next()
                        .is_none_or(char::is_whitespace)
            })
            .map_or(rest.len(), |(i, c)| i + c.len_utf8());
        sentences.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    let complete = |s: &str| s.ends_with(['.', '!', '?', ']', '\n']);
    if finish == FinishReason::Length
        && sentences.len() > 1
        && sentences.last().is_some_and(|s| !complete(s))
    {
        sentences.pop();
    }
    let mut seen = std::collections::HashSet::new();
    let kept: Vec<&str> = sentences
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty() && seen.insert(s.to_lowercase()))
        .collect();
    kept.join(" ")
}

/// Whether a reply declines to answer.
pub(crate) fn abstained(text: &str) -> bool {
    let lower = text.to_lowercase();
    ABSTAIN.iter().any(|p| lower.contains(p))
}

/// The chat messages for `question` over numbered `hits`.
pub fn prompt(question: &str, hits: &[SearchHit], source_chars: usize) -> Vec<ChatMessage> {
    let mut user = String::from("Sources:\n");
    for (i, hit) in hits.iter().enumerate() {
        user.push_str(&format!(
            "[{}] {}\n\n",
            i + 1,
            source_entry(hit, source_chars)
        ));
    }
    user.push_str(&format!("Question: {question}"));
    vec![ChatMessage::system(SYSTEM_PROMPT), ChatMessage::user(user)]
}

/// One source as a prompt shows it: kind, date, title, then at most
/// `source_chars` bytes of the chunk's text.
pub(crate) fn source_entry(hit: &SearchHit, source_chars: usize) -> String {
    let doc = &hit.document;
    let when = source_date(doc.timestamp);
    let text = clip(&hit.chunk.text, source_chars);
    format!("({}{when}) {}\n{}", doc.kind, doc.title, text.trim())
}

/// `, 2025-11-04` for a document timestamp (Unix seconds, UTC); empty when
/// there is none.
fn source_date(timestamp: Option<i64>) -> String {
    timestamp
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| format!(", {}", t.format("%Y-%m-%d")))
        .unwrap_or_default()
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn clip(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::FinishReason;

    #[test]
    fn abstentions_are_recognised() {
        assert!(abstained("I don't know."));
        assert!(abstained("The sources do not contain that."));
        assert!(!abstained("The quote expires on December 4, 2025 [1]."));
    }

    #[test]
    fn tidy_drops_repeats_and_a_cut_off_tail() {
        let looped = "The quote is valid until December 4, 2025.\n\nThe quote is valid until December 4, 2025.\n\nThe quote is valid until Dec";
        assert_eq!(
            tidy(looped, FinishReason::Length),
            "The quote is valid until December 4, 2025."
        );
        // A finished reply keeps its last sentence, even without a full stop.
        assert_eq!(
            tidy("It is $7,690 [2]", FinishReason::Stop),
            "It is $7,690 [2]"
        );
        assert_eq!(tidy("One. Two [1].", FinishReason::Stop), "One. Two [1].");
        assert_eq!(
            tidy("Only a fragment", FinishReason::Length),
            "Only a fragment"
        );
    }

    #[test]
    fn sources_are_dated_from_unix_seconds() {
        // 2025-11-04 15:32 UTC, the demo's kitchen quote.
        assert_eq!(source_date(Some(1_762_270_320)), ", 2025-11-04");
        assert_eq!(source_date(None), "");
    }

    #[test]
    fn clip_respects_char_boundaries() {
        assert_eq!(clip("héllo", 2), "h");
        assert_eq!(clip("héllo", 3), "hé");
        assert_eq!(clip("abc", 10), "abc");
    }
}
