//! Evaluation of Hearth: question sets with gold answers and gold sources, and the
//! retrieval metrics computed over them.
//!
//! A question set is JSONL, one object per line:
//! `{"id", "question", "answer", "gold_uri", "kind"}` where `gold_uri` is the gold
//! document's path relative to the corpus root, with `#Message-ID` for a mail.

pub mod agreement;
pub mod answers;
pub mod checkpoint;
pub mod known_item;
pub mod metrics;
pub mod report;
pub mod results;
pub mod routing;
pub mod runner;
pub mod stats;
pub mod suite;
pub mod svg;

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Errors of the eval crate.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// Reading or writing `path` failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A polars (dataframe) computation failed; holds its message.
    #[error("analytics: {0}")]
    Analytics(String),
    /// A line of a JSONL file could not be parsed.
    #[error("{}:{line}: {reason}", path.display())]
    Parse {
        /// The file being read.
        path: PathBuf,
        /// 1-based line number of the malformed entry.
        line: usize,
        /// The parser's message.
        reason: String,
    },
}

/// A polars failure as an [`EvalError`].
pub(crate) fn polars_error(e: polars::prelude::PolarsError) -> EvalError {
    EvalError::Analytics(e.to_string())
}

/// One question with its gold answer and gold source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    /// Unique id of the question within its set.
    pub id: String,
    /// The question text, as a user would ask it.
    pub question: String,
    /// The gold answer.
    pub answer: String,
    /// Gold document's path relative to the corpus root (`#Message-ID` for a mail).
    pub gold_uri: String,
    /// Source kind of the gold document (`note`, `mail`, ...).
    pub kind: String,
}

impl Question {
    /// True when `uri` (an index URI such as `file:///…/mail/inbox.mbox#id@x`)
    /// names this question's gold document.
    ///
    /// ```
    /// use hearth_eval::Question;
    /// let q = Question { id: "q1".into(), question: "?".into(), answer: "a".into(),
    ///     gold_uri: "notes/trip.md".into(), kind: "note".into() };
    /// assert!(q.is_gold("file:///home/me/demo/notes/trip.md"));
    /// assert!(!q.is_gold("file:///home/me/demo/notes/old-trip.md"));
    /// ```
    pub fn is_gold(&self, uri: &str) -> bool {
        uri.strip_suffix(self.gold_uri.as_str())
            .is_some_and(|head| head.ends_with('/'))
    }

    /// 1-based rank of the first hit naming the gold document, if any.
    pub fn gold_rank<'a>(&self, uris: impl IntoIterator<Item = &'a str>) -> Option<usize> {
        uris.into_iter()
            .position(|u| self.is_gold(u))
            .map(|p| p + 1)
    }
}

/// Reads a JSONL question set, naming the line of any malformed entry.
pub fn load_questions(path: &Path) -> Result<Vec<Question>, EvalError> {
    read_jsonl(path)
}

/// Reads a JSONL file (blank lines skipped), naming the line of any malformed entry.
pub fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|source| EvalError::Io {
        path: path.into(),
        source,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| EvalError::Parse {
                path: path.into(),
                line: i + 1,
                reason: e.to_string(),
            })
        })
        .collect()
}

/// Retrieval quality over a question set, from the gold rank of each question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankSummary {
    /// Number of questions summarised.
    pub questions: usize,
    /// Share of questions whose gold document is in the top `k`.
    pub hit_rate: f64,
    /// The cut-off rank `hit_rate` counts hits within.
    pub k: usize,
    /// Mean reciprocal rank (0 for a miss).
    pub mrr: f64,
}

impl RankSummary {
    /// Summarises gold ranks (`None` = not retrieved) at cut-off `k`.
    ///
    /// ```
    /// use hearth_eval::RankSummary;
    /// let s = RankSummary::from_ranks(&[Some(1), Some(4), None, Some(2)], 3);
    /// assert_eq!(s.hit_rate, 0.5);
    /// assert!((s.mrr - (1.0 + 0.25 + 0.5) / 4.0).abs() < 1e-12);
    /// ```
    pub fn from_ranks(ranks: &[Option<usize>], k: usize) -> Self {
        let n = ranks.len().max(1) as f64;
        let hits = ranks.iter().filter(|r| r.is_some_and(|r| r <= k)).count();
        let mrr = ranks
            .iter()
            .map(|r| r.map_or(0.0, |r| 1.0 / r as f64))
            .sum::<f64>()
            / n;
        Self {
            questions: ranks.len(),
            hit_rate: hits as f64 / n,
            k,
            mrr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_line_is_named() {
        let dir = std::env::temp_dir().join(format!("hearth-eval-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("q.jsonl");
        std::fs::write(&path, "{\"id\":\"a\",\"question\":\"q\",\"answer\":\"a\",\"gold_uri\":\"x\",\"kind\":\"note\"}\n{oops\n").unwrap();
        let err = load_questions(&path).unwrap_err().to_string();
        assert!(err.contains("q.jsonl:2"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn gold_matching_includes_message_ids() {
        let q = Question {
            id: "q".into(),
            question: "?".into(),
            answer: "a".into(),
            gold_uri: "mail/inbox.mbox#abc@example.com".into(),
            kind: "mail".into(),
        };
        let uris = [
            "file:///d/mail/inbox.mbox#zzz@example.com",
            "file:///d/mail/inbox.mbox#abc@example.com",
        ];
        assert_eq!(q.gold_rank(uris), Some(2));
        assert!(!q.is_gold("file:///d/mail/inbox.mbox#xabc@example.com"));
    }
}
