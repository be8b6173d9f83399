//! The redactor that every cloud call goes through.
//!
//! [`Redactor::redact`] replaces personal data with stable placeholders of the form
//! `<KIND_N>` — e-mail addresses, phone numbers, payment cards (Luhn-checked),
//! IBANs (mod-97-checked), labelled bank account numbers, street addresses, URLs
//! that carry secrets, and the participant names the index knows — and
//! [`Redactor::rehydrate`] puts the originals back into the cloud's answer, on the
//! device. One `Redactor` lives for one escalation (all its messages), so the same
//! value keeps the same placeholder throughout and the prompt stays coherent.
//!
//! Only [`Redactor::summary`] (counts per kind) belongs in a log: the mapping holds
//! the originals.

mod names;
mod patterns;
mod phone;

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::LazyLock;

use regex::{Captures, Regex};
use serde::Serialize;

use names::NameMatcher;
use patterns::Candidate;

/// What a placeholder stands for. The order is the priority when two detections
/// of the same length overlap (a URL beats the e-mail inside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PiiKind {
    /// A URL with user info or a secret query/fragment parameter.
    Url,
    /// An e-mail address.
    Email,
    /// An IBAN (mod-97-checked).
    Iban,
    /// A payment card number (13–19 digits, Luhn-valid).
    Card,
    /// A bank account, sort code or routing number after its label.
    Account,
    /// A phone number in an international, North American or European shape.
    Phone,
    /// A street address, with unit, city/state/ZIP or postcode when present.
    Address,
    /// A known participant name, or a part of one.
    Person,
}

impl PiiKind {
    /// Every kind, highest priority first.
    pub const ALL: [PiiKind; 8] = [
        Self::Url,
        Self::Email,
        Self::Iban,
        Self::Card,
        Self::Account,
        Self::Phone,
        Self::Address,
        Self::Person,
    ];

    /// The tag inside placeholders: `PERSON` in `<PERSON_3>`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::Url => "URL",
            Self::Email => "EMAIL",
            Self::Iban => "IBAN",
            Self::Card => "CARD",
            Self::Account => "ACCOUNT",
            Self::Phone => "PHONE",
            Self::Address => "ADDRESS",
            Self::Person => "PERSON",
        }
    }

    /// The kind of a tag, ignoring case.
    pub fn from_tag(tag: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.tag().eq_ignore_ascii_case(tag))
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for PiiKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// A span of personal data found in a text (byte offsets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    /// What the span is.
    pub kind: PiiKind,
    /// Byte offset where the span starts.
    pub start: usize,
    /// Byte offset where the span ends (exclusive).
    pub end: usize,
}

/// One line of [`Redactor::mapping`]: a placeholder and an original it stands for
/// (a person written in several ways has one line per spelling; the first is the
/// one [`Redactor::rehydrate`] puts back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappingEntry<'a> {
    /// What the placeholder stands for.
    pub kind: PiiKind,
    /// The placeholder as sent, such as `<PERSON_3>`.
    pub placeholder: &'a str,
    /// The original text the placeholder replaced.
    pub original: &'a str,
}

/// How much of one kind was redacted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KindCount {
    /// Distinct values (placeholders).
    pub values: usize,
    /// Replacements made, over all calls.
    pub occurrences: usize,
}

/// Counts per kind, without any original: what the metering log keeps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RedactionSummary {
    /// Counts per kind; kinds never seen are absent.
    pub kinds: BTreeMap<PiiKind, KindCount>,
}

impl RedactionSummary {
    /// The counts of one kind (zero when none was seen).
    pub fn get(&self, kind: PiiKind) -> KindCount {
        self.kinds.get(&kind).copied().unwrap_or_default()
    }

    /// Distinct values over all kinds.
    pub fn values(&self) -> usize {
        self.kinds.values().map(|c| c.values).sum()
    }

    /// Replacements over all kinds.
    pub fn occurrences(&self) -> usize {
        self.kinds.values().map(|c| c.occurrences).sum()
    }
}

impl fmt::Display for RedactionSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kinds.is_empty() {
            return f.write_str("nothing redacted");
        }
        for (i, (kind, count)) in self.kinds.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{} {kind} ({}×)", count.values, count.occurrences)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct Entry {
    kind: PiiKind,
    placeholder: String,
    /// Every spelling seen, first one first.
    originals: Vec<String>,
    occurrences: usize,
}

/// Replaces personal data with stable placeholders, and puts it back.
///
/// ```
/// use hearth_assistant::redact::{PiiKind, Redactor};
///
/// let mut redactor = Redactor::with_names(["Priya Raman"]);
/// let prompt = redactor.redact(
///     "Priya Raman (priya@example.com, +44 20 7946 0958) asked about Priya's invoice.",
/// );
/// assert_eq!(
///     prompt,
///     "<PERSON_1> (<EMAIL_1>, <PHONE_1>) asked about <PERSON_1>'s invoice."
/// );
///
/// // The same value keeps its placeholder in the next message.
/// assert_eq!(redactor.redact("Write to priya@example.com"), "Write to <EMAIL_1>");
///
/// // The cloud's answer is rehydrated on the device; a lower-cased placeholder is fine.
/// let answer = redactor.rehydrate("Reply to <EMAIL_1> and thank <person_1>.");
/// assert_eq!(answer, "Reply to priya@example.com and thank Priya Raman.");
///
/// // The log keeps counts, never originals.
/// assert_eq!(redactor.summary().get(PiiKind::Email).occurrences, 2);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    names: NameMatcher,
    entries: Vec<Entry>,
    by_key: HashMap<(PiiKind, String), usize>,
    by_number: HashMap<(PiiKind, u32), usize>,
    counters: [u32; PiiKind::ALL.len()],
}

static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:<|\[|&lt;)[ \t]*(URL|EMAIL|IBAN|CARD|ACCOUNT|PHONE|ADDRESS|PERSON)[ \t]*\\?_[ \t]*(\d{1,9})[ \t]*(?:>|\]|&gt;)",
    )
    .expect("placeholder pattern must compile")
});

impl Redactor {
    /// A redactor that knows no names (patterns only).
    pub fn new() -> Self {
        Self::default()
    }

    /// A redactor that also replaces these participant names: each full name, its
    /// capitalised parts of three letters or more ("Priya" of "Priya Raman"),
    /// accent-free spellings and "Last, First" forms — whole words, first letter
    /// as written. All of one person's forms share one `<PERSON_N>`; a part that
    /// several people share (a family name) gets its own.
    pub fn with_names<I>(names: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        Self {
            names: NameMatcher::new(names),
            ..Self::default()
        }
    }

    /// The personal data in `text`, leftmost first, overlaps resolved.
    pub fn detect(&self, text: &str) -> Vec<Detection> {
        self.candidates(text)
            .into_iter()
            .map(|c| Detection {
                kind: c.kind,
                start: c.start,
                end: c.end,
            })
            .collect()
    }

    /// `text` with every detected value replaced by its placeholder. A value seen
    /// before (in this call or an earlier one) gets the placeholder it got then.
    pub fn redact(&mut self, text: &str) -> String {
        let found = self.candidates(text);
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for candidate in found {
            out.push_str(&text[last..candidate.start]);
            let original = &text[candidate.start..candidate.end];
            out.push_str(self.placeholder_for(candidate.kind, candidate.key, original));
            last = candidate.end;
        }
        out.push_str(&text[last..]);
        out
    }

    /// `text` (a cloud answer) with this redactor's placeholders replaced by their
    /// originals. `<PERSON_3>`, `<person_3>`, `[PERSON_3]`, `<PERSON\_3>` and
    /// `&lt;PERSON_3&gt;` are all recognised; unknown placeholders stay as they are.
    pub fn rehydrate(&self, text: &str) -> String {
        if self.entries.is_empty() {
            return text.to_owned();
        }
        PLACEHOLDER
            .replace_all(text, |caps: &Captures<'_>| {
                let original = caps
                    .get(1)
                    .and_then(|tag| PiiKind::from_tag(tag.as_str()))
                    .zip(caps.get(2).and_then(|n| n.as_str().parse::<u32>().ok()))
                    .and_then(|key| self.by_number.get(&key))
                    .and_then(|&i| self.entries[i].originals.first());
                match original {
                    Some(original) => original.clone(),
                    None => caps[0].to_owned(),
                }
            })
            .into_owned()
    }

    /// Every placeholder with the originals it stands for, in order of first use.
    /// This holds personal data: keep it on the device.
    pub fn mapping(&self) -> impl Iterator<Item = MappingEntry<'_>> + '_ {
        self.entries.iter().flat_map(|entry| {
            entry.originals.iter().map(move |original| MappingEntry {
                kind: entry.kind,
                placeholder: &entry.placeholder,
                original,
            })
        })
    }

    /// Counts per kind (distinct values and replacements): safe to log.
    pub fn summary(&self) -> RedactionSummary {
        let mut summary = RedactionSummary::default();
        for entry in &self.entries {
            let count = summary.kinds.entry(entry.kind).or_default();
            count.values += 1;
            count.occurrences += entry.occurrences;
        }
        summary
    }

    /// How many placeholders have been handed out.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no placeholder has been handed out yet (nothing redacted).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn candidates(&self, text: &str) -> Vec<Candidate> {
        let mut found = Vec::new();
        patterns::detect(text, &mut found);
        found.extend(self.names.find(text).into_iter().map(|m| Candidate {
            start: m.start,
            end: m.end,
            kind: PiiKind::Person,
            key: format!("person:{}", m.identity),
        }));
        resolve(text, found)
    }

    fn placeholder_for(&mut self, kind: PiiKind, key: String, original: &str) -> &str {
        let index = match self.by_key.get(&(kind, key.clone())) {
            Some(&index) => index,
            None => {
                let counter = &mut self.counters[kind.index()];
                *counter += 1;
                let number = *counter;
                let index = self.entries.len();
                self.entries.push(Entry {
                    kind,
                    placeholder: format!("<{}_{number}>", kind.tag()),
                    originals: Vec::new(),
                    occurrences: 0,
                });
                self.by_key.insert((kind, key), index);
                self.by_number.insert((kind, number), index);
                index
            }
        };
        let entry = &mut self.entries[index];
        entry.occurrences += 1;
        if !entry.originals.iter().any(|o| o == original) {
            entry.originals.push(original.to_owned());
        }
        &entry.placeholder
    }
}

/// Overlapping detections become one: the longest wins (then the higher-priority
/// kind, then the leftmost), and the replaced span is the union of the overlapping
/// ones, so no fragment of a losing detection is left in the clear.
fn resolve(text: &str, mut found: Vec<Candidate>) -> Vec<Candidate> {
    found.sort_by_key(|c| (c.start, Reverse(c.end), c.kind.index()));
    let mut out: Vec<Candidate> = Vec::with_capacity(found.len());
    let mut cluster: Vec<Candidate> = Vec::new();
    let flush = |cluster: &mut Vec<Candidate>, out: &mut Vec<Candidate>| {
        let start = cluster.iter().map(|c| c.start).min();
        let end = cluster.iter().map(|c| c.end).max();
        let winner = cluster
            .iter()
            .min_by_key(|c| (Reverse(c.end - c.start), c.kind.index(), c.start));
        if let (Some(start), Some(end), Some(winner)) = (start, end, winner) {
            let mut chosen = winner.clone();
            if (chosen.start, chosen.end) != (start, end) {
                let union = text[start..end]
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                chosen.key = format!("~{}", union.to_lowercase());
                chosen.start = start;
                chosen.end = end;
            }
            out.push(chosen);
        }
        cluster.clear();
    };
    for candidate in found {
        if candidate.start >= candidate.end {
            continue;
        }
        let cluster_end = cluster.iter().map(|c| c.end).max();
        if cluster_end.is_some_and(|end| candidate.start >= end) {
            flush(&mut cluster, &mut out);
        }
        cluster.push(candidate);
    }
    flush(&mut cluster, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(redactor: &Redactor, text: &str) -> Vec<(PiiKind, String)> {
        redactor
            .detect(text)
            .into_iter()
            .map(|d| (d.kind, text[d.start..d.end].to_owned()))
            .collect()
    }

    #[test]
    fn placeholders_are_stable_and_numbered_per_kind() {
        let mut r = Redactor::with_names(["Priya Raman", "Sam Okoye"]);
        let a = r.redact("Sam Okoye <sam@example.net> wrote to Priya Raman <priya@example.org>.");
        assert_eq!(a, "<PERSON_1> <<EMAIL_1>> wrote to <PERSON_2> <<EMAIL_2>>.");
        let b = r.redact("Priya said Sam should mail PRIYA@example.org");
        assert_eq!(b, "<PERSON_2> said <PERSON_1> should mail <EMAIL_2>");
        assert_eq!(r.len(), 4);
        assert_eq!(
            r.rehydrate(&a),
            "Sam Okoye <sam@example.net> wrote to Priya Raman <priya@example.org>."
        );
    }

    #[test]
    fn overlaps_take_the_longest_then_priority() {
        let r = Redactor::with_names(["Priya Raman"]);
        // The name inside the e-mail address is part of the address.
        assert_eq!(
            kinds(&r, "Priya.Raman@example.com"),
            [(PiiKind::Email, "Priya.Raman@example.com".to_owned())]
        );
        // An e-mail inside a secret URL is part of the URL.
        let url = "https://priya:hunter2@example.com/a?to=priya@example.com";
        assert_eq!(kinds(&r, url), [(PiiKind::Url, url.to_owned())]);
        // Phone-like digits inside an IBAN belong to the IBAN.
        assert_eq!(
            kinds(&r, "DE89 3704 0044 0532 0130 00"),
            [(PiiKind::Iban, "DE89 3704 0044 0532 0130 00".to_owned())]
        );
        // Same span, account beats phone.
        assert_eq!(
            kinds(&r, "account no. 0612345678"),
            [(PiiKind::Account, "0612345678".to_owned())]
        );
    }

    #[test]
    fn rehydrate_tolerates_model_spellings() {
        let mut r = Redactor::with_names(["Priya Raman"]);
        r.redact("Priya Raman, priya@example.com");
        for answer in [
            "<PERSON_1>",
            "<person_1>",
            "[PERSON_1]",
            "[person_1]",
            "<PERSON\\_1>",
            "&lt;PERSON_1&gt;",
            "< PERSON_1 >",
        ] {
            assert_eq!(r.rehydrate(answer), "Priya Raman", "{answer}");
        }
        assert_eq!(
            r.rehydrate("<PERSON_2> <EMAIL_7> <FOO_1>"),
            "<PERSON_2> <EMAIL_7> <FOO_1>"
        );
        assert_eq!(r.rehydrate("<EMAIL_1>."), "priya@example.com.");
    }

    #[test]
    fn summary_counts_without_originals() {
        let mut r = Redactor::with_names(["Priya Raman"]);
        r.redact("Priya Raman and Priya; call 415-555-0132 or 415-555-0199, mail a@example.com");
        let summary = r.summary();
        assert_eq!(
            summary.get(PiiKind::Person),
            KindCount {
                values: 1,
                occurrences: 2
            }
        );
        assert_eq!(
            summary.get(PiiKind::Phone),
            KindCount {
                values: 2,
                occurrences: 2
            }
        );
        assert_eq!(
            summary.get(PiiKind::Email),
            KindCount {
                values: 1,
                occurrences: 1
            }
        );
        assert_eq!(summary.get(PiiKind::Card), KindCount::default());
        assert_eq!(summary.values(), 4);
        assert_eq!(summary.occurrences(), 5);
        assert_eq!(
            summary.to_string(),
            "1 EMAIL (1×), 2 PHONE (2×), 1 PERSON (2×)"
        );
        let debug = format!("{summary:?}");
        assert!(
            !debug.contains("Priya") && !debug.contains("555"),
            "{debug}"
        );
        // Both spellings of the person are in the mapping, the first one first.
        let persons: Vec<_> = r
            .mapping()
            .filter(|m| m.kind == PiiKind::Person)
            .map(|m| (m.placeholder, m.original))
            .collect();
        assert_eq!(
            persons,
            [("<PERSON_1>", "Priya Raman"), ("<PERSON_1>", "Priya")]
        );
    }

    #[test]
    fn texts_without_pii_are_untouched() {
        let mut r = Redactor::with_names(["Priya Raman"]);
        let text = "The meeting on 2026-03-04 at 10:15 costs $7,690 (INV-2026-0042, Q2025-118); see https://example.com/docs?page=2.";
        assert_eq!(r.redact(text), text);
        assert!(r.is_empty());
        assert_eq!(r.summary().to_string(), "nothing redacted");
    }
}
