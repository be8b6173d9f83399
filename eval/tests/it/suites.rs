//! The retrieval suites shipped in `fixtures/eval/` load, and the demo suite
//! says exactly what `fixtures/demo/questions.jsonl` says (it is derived from
//! it, so the two must not drift apart).

use std::path::{Path, PathBuf};

use hearth_eval::load_questions;
use hearth_eval::suite::{Corpus, RetrievalSuite};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

#[test]
fn demo_suite_matches_the_demo_questions() {
    let suite = RetrievalSuite::load(&fixtures().join("eval/demo")).unwrap();
    assert_eq!(suite.name, "demo");
    let Corpus::Folder(root) = &suite.corpus else {
        panic!("the demo suite is a folder corpus")
    };
    assert_eq!(root, &fixtures().join("demo").canonicalize().unwrap());
    let questions = load_questions(&fixtures().join("demo/questions.jsonl")).unwrap();
    assert_eq!(suite.queries.len(), questions.len());
    for (query, question) in suite.queries.iter().zip(&questions) {
        assert_eq!(query.id, question.id);
        assert_eq!(query.text, question.question);
        let judged = &suite.qrels[&query.id];
        assert_eq!(judged.len(), 1, "{}", query.id);
        assert_eq!(judged.get(&question.gold_uri), Some(&1), "{}", query.id);
    }
}

#[test]
fn manpage_suite_is_known_items() {
    let suite = RetrievalSuite::load(&fixtures().join("eval/manpages")).unwrap();
    assert_eq!(suite.queries.len(), 250);
    let Corpus::Documents(docs) = &suite.corpus else {
        panic!("known items are documents")
    };
    assert_eq!(docs.len(), 250);
    for q in &suite.queries {
        assert!(suite.qrels[&q.id].contains_key(&q.id));
    }
}
