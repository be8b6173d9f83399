//! The README's commands that no other module runs, as a new user types
//! them: `hearth demo` (the quick start's first command), `hearth stats` and
//! `hearth compact`.

use crate::common::{self, hearth, json, ok};

#[test]
fn stats_and_compact_work_on_a_fresh_index() {
    let data = tempfile::tempdir().unwrap();
    let notes = tempfile::tempdir().unwrap();
    for (name, text) in [
        (
            "a.md",
            "# Boiler\nThe boiler service is booked for March 3rd.\n",
        ),
        ("b.txt", "The allotment plot number is 14.\n"),
    ] {
        std::fs::write(notes.path().join(name), text).unwrap();
    }
    ok(hearth(
        data.path(),
        &["index", notes.path().to_str().unwrap()],
    ));
    let stats = json(hearth(data.path(), &["stats", "--json"]));
    assert_eq!(stats["chunk_lengths"]["chunks"], 2, "{stats:#}");
    let documents: u64 = stats["by_source_month"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["documents"].as_u64().unwrap())
        .sum();
    assert_eq!(documents, 2, "{stats:#}");
    // Plain text too.
    assert!(ok(hearth(data.path(), &["stats"])).contains("document"));

    std::fs::remove_file(notes.path().join("b.txt")).unwrap();
    ok(hearth(data.path(), &["index"]));
    let compacted = json(hearth(data.path(), &["compact", "--json"]));
    assert_eq!(compacted["segments_after"], 1, "{compacted:#}");
    assert_eq!(compacted["rows_after"], 1, "{compacted:#}");
    let status = json(hearth(data.path(), &["status", "--json"]));
    assert_eq!(status["documents"], 1, "{status:#}");
}

/// The quick start's first command, with its defaults: indexes the bundled
/// corpus, shows what search finds, and answers two questions on the local
/// tiers (real generators: a heavy test).
#[test]
fn the_demo_runs_as_the_readme_says() {
    let data = tempfile::tempdir().unwrap();
    let out = ok(common::command(data.path())
        .arg("demo")
        .output()
        .expect("run hearth demo"));
    assert!(
        out.contains("all 30 demo questions: gold document in the top 5"),
        "{out}"
    );
    assert_eq!(out.matches("  route: ").count(), 2, "two answers: {out}");
    assert!(out.contains("try: hearth --data-dir"), "{out}");
}
