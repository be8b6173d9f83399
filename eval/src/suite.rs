//! Retrieval suites as data: queries with graded relevance judgements
//! (qrels) over a corpus, read from a directory in one of three layouts.
//!
//! - **BEIR**: `corpus.jsonl` (`{"_id", "title", "text"}`), `queries.jsonl`
//!   (`{"_id", "text"}`) and `qrels/test.tsv` (`query-id corpus-id score`,
//!   with a header line), as the BEIR benchmark ships its datasets.
//! - **Folder corpus**: `suite.toml` with `corpus_dir = "…"` (relative to the
//!   suite) plus `queries.jsonl` and `qrels/test.tsv`; the corpus is real
//!   files read by the connectors, and a corpus id is a document's path
//!   relative to `corpus_dir` (`mail/inbox.mbox#<Message-ID>` for a mail).
//! - **Known items**: `suite.toml` with `known_items = "…"`, a JSONL file of
//!   `{"id", "query", "text"}` ([`crate::known_item`]): each query's one
//!   relevant document is its own item.
//!
//! ```no_run
//! let suite = hearth_eval::suite::RetrievalSuite::load("fixtures/eval/demo".as_ref())?;
//! println!("{}: {} queries", suite.name, suite.queries.len());
//! # Ok::<(), hearth_eval::EvalError>(())
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::EvalError;
use crate::known_item::KnownItem;

/// One corpus document of a BEIR or known-item suite.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CorpusDoc {
    /// Corpus id, as the qrels name the document (`_id` in BEIR).
    #[serde(rename = "_id")]
    pub id: String,
    /// The document's title; empty when the file gives none.
    #[serde(default)]
    pub title: String,
    /// The document's text.
    pub text: String,
}

/// One query.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SuiteQuery {
    /// Query id, as the qrels name the query (`_id` in BEIR).
    #[serde(rename = "_id")]
    pub id: String,
    /// The query text.
    pub text: String,
}

/// Where a suite's documents come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Corpus {
    /// Documents given as text (BEIR, known items).
    Documents(Vec<CorpusDoc>),
    /// Real files under this directory, read by the connectors.
    Folder(PathBuf),
}

impl Corpus {
    /// A stable fingerprint of the corpus (ids, titles and texts; for a
    /// folder, its path), naming the directory a suite's index is kept in.
    pub fn key(&self) -> String {
        let mut hasher = blake3::Hasher::new();
        match self {
            Corpus::Documents(docs) => {
                for d in docs {
                    for part in [&d.id, &d.title, &d.text] {
                        hasher.update(&(part.len() as u64).to_le_bytes());
                        hasher.update(part.as_bytes());
                    }
                }
            }
            Corpus::Folder(root) => {
                hasher.update(root.to_string_lossy().as_bytes());
            }
        }
        hasher.finalize().to_hex()[..16].to_owned()
    }
}

/// A retrieval suite: queries, judgements and the corpus they are over.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrievalSuite {
    /// The suite directory's name.
    pub name: String,
    /// The documents the queries search.
    pub corpus: Corpus,
    /// The queries, in file order.
    pub queries: Vec<SuiteQuery>,
    /// Relevance grade (> 0) of each judged document, per query id.
    pub qrels: HashMap<String, HashMap<String, u32>>,
}

/// `suite.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteToml {
    corpus_dir: Option<PathBuf>,
    known_items: Option<PathBuf>,
    /// Questions with gold answers for the assistant part (JSONL of
    /// [`crate::Question`]).
    questions: Option<PathBuf>,
}

impl SuiteToml {
    /// The suite's `suite.toml`, or the defaults when it has none.
    fn read(dir: &Path) -> Result<Self, EvalError> {
        let path = dir.join("suite.toml");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => return Err(EvalError::Io { path, source }),
        };
        toml::from_str(&text).map_err(|e| EvalError::Parse {
            path,
            line: 0,
            reason: e.to_string(),
        })
    }
}

/// The name of a suite: its directory's.
fn suite_name(dir: &Path) -> String {
    dir.canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "suite".to_owned())
}

/// `dir/rel` canonicalised, or an error naming it.
fn resolve(dir: &Path, rel: &Path) -> Result<PathBuf, EvalError> {
    let path = dir.join(rel);
    path.canonicalize()
        .map_err(|source| EvalError::Io { path, source })
}

/// The assistant part of a suite: questions with gold answers and gold
/// sources over a folder corpus (`suite.toml`: `corpus_dir` and `questions`).
#[derive(Debug, Clone, PartialEq)]
pub struct AssistantSuite {
    /// The suite directory's name.
    pub name: String,
    /// Always [`Corpus::Folder`].
    pub corpus: Corpus,
    /// Questions with gold answers and gold sources, in file order.
    pub questions: Vec<crate::Question>,
}

impl AssistantSuite {
    /// The assistant part of the suite in `dir`, or `None` when it has none.
    pub fn load(dir: &Path) -> Result<Option<Self>, EvalError> {
        let spec = SuiteToml::read(dir)?;
        let (Some(questions), Some(corpus)) = (spec.questions, spec.corpus_dir) else {
            return Ok(None);
        };
        Ok(Some(Self {
            name: suite_name(dir),
            corpus: Corpus::Folder(resolve(dir, &corpus)?),
            questions: crate::load_questions(&dir.join(questions))?,
        }))
    }
}

impl RetrievalSuite {
    /// Reads the suite in `dir` (see the module docs for the layouts); a
    /// malformed line is named by file and line number.
    pub fn load(dir: &Path) -> Result<Self, EvalError> {
        let name = suite_name(dir);
        let corpus_path = dir.join("corpus.jsonl");
        if corpus_path.exists() {
            return Self::judged(
                name,
                Corpus::Documents(crate::read_jsonl(&corpus_path)?),
                dir,
            );
        }
        let spec = SuiteToml::read(dir)?;
        match (spec.corpus_dir, spec.known_items) {
            (Some(corpus), None) => Self::judged(name, Corpus::Folder(resolve(dir, &corpus)?), dir),
            (None, Some(items)) => {
                let items: Vec<KnownItem> = crate::read_jsonl(&dir.join(items))?;
                let queries = items
                    .iter()
                    .map(|i| SuiteQuery {
                        id: i.id.clone(),
                        text: i.query.clone(),
                    })
                    .collect();
                let qrels = items
                    .iter()
                    .map(|i| (i.id.clone(), HashMap::from([(i.id.clone(), 1)])))
                    .collect();
                let docs = items
                    .into_iter()
                    .map(|i| CorpusDoc {
                        id: i.id,
                        title: String::new(),
                        text: i.text,
                    })
                    .collect();
                Ok(Self {
                    name,
                    corpus: Corpus::Documents(docs),
                    queries,
                    qrels,
                })
            }
            _ => Err(EvalError::Parse {
                path: dir.join("suite.toml"),
                line: 0,
                reason: "a retrieval suite needs corpus.jsonl, or exactly one of corpus_dir and known_items in suite.toml".into(),
            }),
        }
    }

    /// Whether `dir` holds a retrieval part (a BEIR corpus, known items, or
    /// queries with judgements).
    pub fn present(dir: &Path) -> bool {
        dir.join("corpus.jsonl").exists()
            || dir.join("queries.jsonl").exists()
            || SuiteToml::read(dir).is_ok_and(|s| s.known_items.is_some())
    }

    /// A suite with `queries.jsonl` and `qrels/test.tsv` beside its corpus.
    fn judged(name: String, corpus: Corpus, dir: &Path) -> Result<Self, EvalError> {
        let queries: Vec<SuiteQuery> = crate::read_jsonl(&dir.join("queries.jsonl"))?;
        let qrels = read_qrels(&dir.join("qrels").join("test.tsv"))?;
        if let Some(q) = queries.iter().find(|q| !qrels.contains_key(&q.id)) {
            return Err(EvalError::Parse {
                path: dir.join("qrels").join("test.tsv"),
                line: 0,
                reason: format!("query `{}` has no relevant document", q.id),
            });
        }
        Ok(Self {
            name,
            corpus,
            queries,
            qrels,
        })
    }

    /// The queries [`selection`] keeps (in file order) and their judgements.
    pub fn select(mut self, limit: Option<usize>, sample: Option<usize>, seed: u64) -> Self {
        let keep = selection(self.queries.len(), limit, sample, seed);
        self.queries = keep.into_iter().map(|i| self.queries[i].clone()).collect();
        let kept: std::collections::HashSet<&str> =
            self.queries.iter().map(|q| q.id.as_str()).collect();
        self.qrels.retain(|id, _| kept.contains(id.as_str()));
        self
    }
}

/// The positions of `len` items a quick run keeps, ascending: the first
/// `limit`, or `sample` drawn at random with `seed` (reproducibly), or all.
///
/// ```
/// use hearth_eval::suite::selection;
/// assert_eq!(selection(5, Some(2), None, 1), [0, 1]);
/// let drawn = selection(100, None, Some(10), 7);
/// assert_eq!(drawn.len(), 10);
/// assert_eq!(drawn, selection(100, None, Some(10), 7));
/// assert!(drawn.windows(2).all(|w| w[0] < w[1]));
/// ```
pub fn selection(len: usize, limit: Option<usize>, sample: Option<usize>, seed: u64) -> Vec<usize> {
    use rand::SeedableRng;
    match (sample, limit) {
        (Some(n), _) => {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut keep = rand::seq::index::sample(&mut rng, len, n.min(len)).into_vec();
            keep.sort_unstable();
            keep
        }
        (None, Some(n)) => (0..n.min(len)).collect(),
        (None, None) => (0..len).collect(),
    }
}

/// Reads a BEIR qrels TSV (`query-id`, `corpus-id`, `score`; a header line
/// is skipped); grades of 0 or less are not relevant and are dropped.
pub fn read_qrels(path: &Path) -> Result<HashMap<String, HashMap<String, u32>>, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|source| EvalError::Io {
        path: path.into(),
        source,
    })?;
    let mut qrels: HashMap<String, HashMap<String, u32>> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
        if line.trim().is_empty() || (i == 0 && fields.first() == Some(&"query-id")) {
            continue;
        }
        let bad = |reason: &str| EvalError::Parse {
            path: path.into(),
            line: i + 1,
            reason: reason.to_owned(),
        };
        let [query, doc, score] = fields[..] else {
            return Err(bad(
                "expected query-id, corpus-id and score separated by tabs",
            ));
        };
        let score: i64 = score.parse().map_err(|_| bad("score is not an integer"))?;
        if score > 0 {
            qrels
                .entry(query.to_owned())
                .or_default()
                .insert(doc.to_owned(), u32::try_from(score).unwrap_or(u32::MAX));
        }
    }
    Ok(qrels)
}

/// Writes `qrels` as a BEIR TSV with its header, sorted for stable diffs.
pub fn write_qrels(
    path: &Path,
    qrels: &HashMap<String, HashMap<String, u32>>,
) -> Result<(), EvalError> {
    let sorted: BTreeMap<_, BTreeMap<_, _>> = qrels
        .iter()
        .map(|(q, docs)| (q, docs.iter().collect()))
        .collect();
    let mut out = String::from("query-id\tcorpus-id\tscore\n");
    for (q, docs) in sorted {
        for (d, s) in docs {
            out.push_str(&format!("{q}\t{d}\t{s}\n"));
        }
    }
    std::fs::write(path, out).map_err(|source| EvalError::Io {
        path: path.into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beir_layout_loads_and_names_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("corpus.jsonl"),
            "{\"_id\":\"d1\",\"title\":\"T\",\"text\":\"one\"}\n{\"_id\":\"d2\",\"text\":\"two\"}\n",
        )
        .unwrap();
        std::fs::write(
            d.join("queries.jsonl"),
            "{\"_id\":\"q1\",\"text\":\"first\"}\n",
        )
        .unwrap();
        std::fs::create_dir(d.join("qrels")).unwrap();
        std::fs::write(
            d.join("qrels/test.tsv"),
            "query-id\tcorpus-id\tscore\nq1\td2\t2\nq1\td1\t0\n",
        )
        .unwrap();
        let suite = RetrievalSuite::load(d).unwrap();
        assert_eq!(suite.queries.len(), 1);
        assert_eq!(suite.qrels["q1"], HashMap::from([("d2".to_owned(), 2)]));
        let Corpus::Documents(docs) = &suite.corpus else {
            panic!("documents")
        };
        assert_eq!(docs[1].title, "");

        std::fs::write(d.join("qrels/test.tsv"), "q1\td2\n").unwrap();
        let err = RetrievalSuite::load(d).unwrap_err().to_string();
        assert!(err.contains("test.tsv:1"), "{err}");
        std::fs::write(d.join("qrels/test.tsv"), "q9\td2\t1\n").unwrap();
        let err = RetrievalSuite::load(d).unwrap_err().to_string();
        assert!(err.contains("`q1` has no relevant document"), "{err}");
    }

    #[test]
    fn known_items_are_their_own_judgements() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("items.jsonl"),
            "{\"id\":\"ls\",\"query\":\"list files\",\"text\":\"ls lists\"}\n",
        )
        .unwrap();
        std::fs::write(d.join("suite.toml"), "known_items = \"items.jsonl\"\n").unwrap();
        let suite = RetrievalSuite::load(d).unwrap().select(Some(5), None, 0);
        assert_eq!(suite.queries[0].text, "list files");
        assert_eq!(suite.qrels["ls"]["ls"], 1);
    }

    #[test]
    fn qrels_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.tsv");
        let qrels = HashMap::from([(
            "q".to_owned(),
            HashMap::from([("a".to_owned(), 1), ("b".to_owned(), 3)]),
        )]);
        write_qrels(&path, &qrels).unwrap();
        assert_eq!(read_qrels(&path).unwrap(), qrels);
    }
}
