//! Numbered sources for a prompt, and an answer's citations checked against
//! them.
//!
//! The generator sees the retrieved chunks as `[1] … [n]` and is asked to cite
//! them. Small models cite unreliably — they cite the wrong source, cite
//! nothing, or cite a number that was never shown — so citations are not
//! taken on trust: [`CitationChecker::check`] splits the answer into claims
//! (sentences), and a claim's citation counts only if the cited chunk
//! *supports* it: enough of the claim's content terms (stemmed; stopwords and
//! single letters dropped) occur in the chunk. The question's words count in
//! full — an answer that names the right entity from a chunk about something
//! else ("the pet tortoise is Greta", from a chat that mentions Greta) must
//! not pass — but a sentence that only restates the question is no claim.
//! A claim the model left uncited gets the source that supports it best, when
//! one does. The share of supported claims is a confidence signal for the router.

use std::collections::HashSet;

use hearth_store::SearchHit;
use hearth_store::bm25::{Tokenizer, TokenizerSpec};
use serde::Serialize;

/// Share of a claim's content terms the cited chunk must contain.
pub const DEFAULT_SUPPORT_THRESHOLD: f32 = 0.6;

/// Words that carry no claim on their own.
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "after",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "been",
    "before",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "for",
    "from",
    "had",
    "has",
    "have",
    "he",
    "her",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "me",
    "my",
    "no",
    "not",
    "of",
    "on",
    "or",
    "our",
    "she",
    "so",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "to",
    "us",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "who",
    "will",
    "with",
    "would",
    "you",
    "your",
    "source",
    "sourc",
    "accord",
    "according",
    "based",
    "answer",
    "yes",
];

/// One numbered source as the prompt shows it and a citation points to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceRef {
    /// The number in the prompt (`[1]` is the first).
    pub number: usize,
    /// Id of the document the chunk belongs to.
    pub doc_id: String,
    /// Content-addressed id of the chunk shown.
    pub chunk_id: String,
    /// The document's `file://` URI (with `#item` inside a container file).
    pub uri: String,
    /// The document's display title (a mail's subject, a file's title or name).
    pub title: String,
    /// Where in the document: page, heading path or message range.
    pub locator: Option<String>,
    /// Start of the chunk's byte range in the document text.
    pub byte_start: u64,
    /// End of the chunk's byte range in the document text (exclusive).
    pub byte_end: u64,
}

impl SourceRef {
    /// The reference of `hit` shown as `[number]`.
    pub fn new(number: usize, hit: &SearchHit) -> Self {
        Self {
            number,
            doc_id: hit.document.doc_id.clone(),
            chunk_id: hit.chunk.chunk_id.clone(),
            uri: hit.document.uri.clone(),
            title: hit.document.title.clone(),
            locator: hit.chunk.locator.clone(),
            byte_start: hit.chunk.byte_start,
            byte_end: hit.chunk.byte_end,
        }
    }
}

/// A citation of an answer, checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Citation {
    /// The source the citation points to.
    pub source: SourceRef,
    /// Share of the claim's content terms found in the cited chunk (0–1).
    pub support: f32,
    /// `support` reached the threshold.
    pub supported: bool,
    /// The model wrote this citation (rather than the checker attaching it).
    pub explicit: bool,
    /// The claim (sentence) the citation belongs to.
    pub claim: String,
}

/// Every citation of an answer, and how much of the answer they cover.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CitationCheck {
    /// Supported citations, explicit and attached, in order of the claims.
    pub citations: Vec<Citation>,
    /// Citations the model wrote that failed the check (wrong source,
    /// unknown number, or too little support).
    pub rejected: Vec<Citation>,
    /// Claims with content terms.
    pub claims: usize,
    /// Claims backed by at least one supported citation.
    pub supported_claims: usize,
}

impl CitationCheck {
    /// Share of claims that are supported; 0 for an answer with no claims.
    pub fn grounded(&self) -> f32 {
        if self.claims == 0 {
            0.0
        } else {
            self.supported_claims as f32 / self.claims as f32
        }
    }

    /// Distinct sources cited, in first-cited order.
    pub fn sources(&self) -> Vec<&SourceRef> {
        let mut seen = HashSet::new();
        self.citations
            .iter()
            .filter(|c| seen.insert(c.source.number))
            .map(|c| &c.source)
            .collect()
    }
}

/// Term sets of the retrieved chunks, and the checker's settings.
pub struct CitationChecker {
    tokenizer: Tokenizer,
    threshold: f32,
    stop: HashSet<&'static str>,
}

impl Default for CitationChecker {
    fn default() -> Self {
        Self::new(DEFAULT_SUPPORT_THRESHOLD)
    }
}

impl CitationChecker {
    /// A checker that needs `threshold` of a claim's terms in the chunk.
    pub fn new(threshold: f32) -> Self {
        Self {
            tokenizer: Tokenizer::new(&TokenizerSpec { stem: true }),
            threshold,
            stop: STOPWORDS.iter().copied().collect(),
        }
    }

    fn terms(&self, text: &str) -> HashSet<String> {
        let mut out = HashSet::new();
        self.tokenizer.for_each_token(text, |t| {
            // Single letters (the `s` of a possessive) are no evidence.
            if t.len() > 1 && !self.stop.contains(t) {
                out.insert(t.to_owned());
            }
        });
        out
    }

    /// Checks `answer`'s citations against `hits` (numbered from 1) for the
    /// question `question`.
    ///
    /// ```
    /// use hearth_assistant::cite::CitationChecker;
    /// let checker = CitationChecker::default();
    /// let chunks = ["The quote expires on December 4, 2025.", "Lunch is at noon."];
    /// let check = checker.check_texts("When does the quote expire?",
    ///     "It expires on December 4, 2025 [1].", &chunks);
    /// assert_eq!(check.supported_claims, 1);
    /// assert_eq!(check.citations[0].source_number(), 1);
    /// ```
    pub fn check(&self, question: &str, answer: &str, hits: &[SearchHit]) -> CitationCheck {
        let texts: Vec<&str> = hits.iter().map(|h| h.chunk.text.as_str()).collect();
        let mut check = self.check_texts(question, answer, &texts);
        for c in check.citations.iter_mut().chain(check.rejected.iter_mut()) {
            if let Some(hit) = c.source.number.checked_sub(1).and_then(|i| hits.get(i)) {
                c.source = SourceRef::new(c.source.number, hit);
            }
        }
        check
    }

    /// [`Self::check`] over bare chunk texts (sources carry only numbers).
    pub fn check_texts(&self, question: &str, answer: &str, chunks: &[&str]) -> CitationCheck {
        let question_terms = self.terms(question);
        let chunk_terms: Vec<HashSet<String>> = chunks.iter().map(|c| self.terms(c)).collect();
        let mut check = CitationCheck::default();
        for (claim, cited) in claims(answer) {
            let terms = self.terms(&claim);
            if terms.is_subset(&question_terms) {
                continue;
            }
            let total = terms.len() as f32;
            let support = |i: usize| -> f32 {
                terms.iter().filter(|t| chunk_terms[i].contains(*t)).count() as f32 / total
            };
            check.claims += 1;
            let mut supported = false;
            for &n in &cited {
                let score = n
                    .checked_sub(1)
                    .filter(|&i| i < chunks.len())
                    .map_or(0.0, support);
                let citation = self.citation(n, score, true, &claim);
                supported |= citation.supported;
                if citation.supported {
                    check.citations.push(citation);
                } else {
                    check.rejected.push(citation);
                }
            }
            if !supported {
                let best = (0..chunks.len())
                    .map(|i| (support(i), i))
                    .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
                if let Some((score, i)) = best.filter(|(s, _)| *s >= self.threshold) {
                    check
                        .citations
                        .push(self.citation(i + 1, score, false, &claim));
                    supported = true;
                }
            }
            check.supported_claims += usize::from(supported);
        }
        check
    }

    fn citation(&self, number: usize, support: f32, explicit: bool, claim: &str) -> Citation {
        Citation {
            source: SourceRef {
                number,
                doc_id: String::new(),
                chunk_id: String::new(),
                uri: String::new(),
                title: String::new(),
                locator: None,
                byte_start: 0,
                byte_end: 0,
            },
            support,
            supported: support >= self.threshold,
            explicit,
            claim: claim.to_owned(),
        }
    }
}

impl Citation {
    /// The `[n]` this citation points to.
    pub fn source_number(&self) -> usize {
        self.source.number
    }
}

/// The answer's claims: sentences with the citation numbers written in or
/// right after them (`… 2025 [1].`, `… [1][3]`, `… [1, 3]`). Citation markers
/// are removed from the claim text.
fn claims(answer: &str) -> Vec<(String, Vec<usize>)> {
    let mut out: Vec<(String, Vec<usize>)> = Vec::new();
    let mut text = String::new();
    let mut cited = Vec::new();
    let mut chars = answer.char_indices().peekable();
    let mut ended = false;
    while let Some((i, c)) = chars.next() {
        if c == '['
            && let Some((len, numbers)) = marker(&answer[i..])
        {
            // A marker after a sentence end still belongs to that sentence.
            if ended && let Some(last) = out.last_mut() {
                last.1.extend(numbers);
            } else {
                cited.extend(numbers);
            }
            while chars.peek().is_some_and(|&(j, _)| j < i + len) {
                chars.next();
            }
            continue;
        }
        if ended && !c.is_whitespace() {
            ended = false;
        }
        text.push(c);
        let boundary = matches!(c, '.' | '!' | '?' | '\n')
            && chars
                .peek()
                .is_none_or(|&(_, n)| n.is_whitespace() || n == '[');
        if boundary {
            let claim = text.trim().to_owned();
            if !claim.is_empty() || !cited.is_empty() {
                out.push((claim, std::mem::take(&mut cited)));
            }
            text.clear();
            ended = true;
        }
    }
    let claim = text.trim().to_owned();
    if !claim.is_empty() || !cited.is_empty() {
        out.push((claim, cited));
    }
    out
}

/// A citation marker at the start of `s`: `[1]`, `[1, 2]`, `[1][2]` is two
/// markers. Returns its byte length and numbers.
fn marker(s: &str) -> Option<(usize, Vec<usize>)> {
    let end = s.find(']')?;
    let inner = &s[1..end];
    if inner.is_empty() || inner.len() > 24 {
        return None;
    }
    let numbers: Option<Vec<usize>> = inner
        .split(',')
        .map(|p| p.trim().parse::<usize>().ok().filter(|&n| n > 0))
        .collect();
    Some((end + 1, numbers?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_keep_their_markers() {
        let c = claims("It expires on Dec 4 [1]. The deposit is $7,690 [2][3].\nDone [1, 4]");
        assert_eq!(c.len(), 3);
        assert_eq!(c[0], ("It expires on Dec 4 .".to_owned(), vec![1]));
        assert_eq!(c[1].1, vec![2, 3]);
        assert_eq!(c[2], ("Done".to_owned(), vec![1, 4]));
        // A marker after the full stop belongs to the sentence before it.
        let c = claims("Paid in full. [2] Next week.");
        assert_eq!(c[0].1, vec![2]);
        assert!(c[1].1.is_empty());
        // Brackets that are not markers stay text.
        let c = claims("Use [brackets] here.");
        assert_eq!(c[0].0, "Use [brackets] here.");
    }

    #[test]
    fn a_wrong_citation_is_rejected_and_the_right_source_attached() {
        let checker = CitationChecker::default();
        let chunks = [
            "Lunch with Priya is at noon on Friday.",
            "The Oakline quote Q2025-118 expires on December 4, 2025.",
        ];
        let check = checker.check_texts(
            "When does the Oakline quote expire?",
            "The quote expires on December 4, 2025 [1].",
            &chunks,
        );
        assert_eq!(check.rejected.len(), 1);
        assert_eq!(check.rejected[0].source_number(), 1);
        assert_eq!(check.citations.len(), 1);
        assert_eq!(check.citations[0].source_number(), 2);
        assert!(!check.citations[0].explicit);
        assert_eq!(check.grounded(), 1.0);
    }

    #[test]
    fn an_invented_answer_is_not_grounded() {
        let checker = CitationChecker::default();
        let chunks = ["The Oakline quote expires on December 4, 2025."];
        let check = checker.check_texts(
            "When does the Oakline quote expire?",
            "It expired in March 2019 after the merger with Vantor [1]. Sure!",
            &chunks,
        );
        assert_eq!(check.claims, 2);
        assert_eq!(check.supported_claims, 0);
        assert_eq!(check.grounded(), 0.0);
        // Out-of-range numbers are rejected, not a panic.
        let check = checker.check_texts("q", "Quote expires December [7].", &chunks);
        assert_eq!(check.rejected[0].source_number(), 7);
    }
}
