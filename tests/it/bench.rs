//! Every `hearth bench …` as a user runs it, at tiny sizes: each must run to
//! the end and print its rows as JSON. The full-size defaults are checked to
//! parse by the CLI's own unit test; the outside baselines (ONNX Runtime,
//! faiss, llama.cpp) install from PyPI or build from source, so only the
//! light ones (Python's mailbox, pdftotext) run here.

use crate::common;

use common::{hearth, json};
use serde_json::Value;

/// `hearth bench ARGS… --json` in a fresh data dir; its JSON rows.
fn bench(args: &[&str]) -> Value {
    let data = tempfile::tempdir().unwrap();
    let mut argv = vec!["bench"];
    argv.extend_from_slice(args);
    argv.push("--json");
    json(hearth(data.path(), &argv))
}

/// The rows of a benchmark's JSON: the list itself, or its `rows`.
fn rows(value: &Value) -> &Vec<Value> {
    value
        .as_array()
        .or_else(|| value["rows"].as_array())
        .unwrap_or_else(|| panic!("a list of rows: {value:#}"))
}

#[test]
fn bench_ingest_runs_first_unchanged_and_changed() {
    let out = bench(&["ingest", "--mails", "40", "--docs", "5"]);
    let runs = rows(&out);
    assert_eq!(runs.len(), 3, "{out:#}");
    assert!(runs[0]["report"]["new"].as_u64().unwrap() > 0, "{out:#}");
    assert_eq!(runs[1]["report"]["new"], 0, "{out:#}");
}

#[test]
fn bench_embed_measures_f32_and_int8() {
    let out = bench(&["embed", "--chunks", "8", "--no-baseline", "--no-quality"]);
    let names: Vec<&str> = rows(&out)
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(
        names.contains(&"hearth f32") && names.contains(&"hearth int8"),
        "{out:#}"
    );
}

#[test]
fn bench_search_measures_every_codec() {
    let out = bench(&[
        "search",
        "--sizes",
        "2000",
        "--queries",
        "10",
        "--no-baseline",
    ]);
    assert!(rows(&out).len() >= 3, "{out:#}");
    for row in rows(&out) {
        let recall = row["recall_at_k"]
            .as_f64()
            .unwrap_or_else(|| panic!("{row:#}"));
        assert!((0.0..=1.0).contains(&recall), "{row:#}");
    }
}

#[test]
fn bench_connectors_runs_with_its_baselines() {
    common::os::ensure_program_probed("pdftotext", "-v", &["poppler-utils"]);
    let out = bench(&["connectors", "--mails", "50", "--pdfs", "2", "--pages", "2"]);
    assert!(!rows(&out).is_empty(), "{out:#}");
}

#[test]
fn bench_sync_exports_and_imports() {
    let out = bench(&["sync", "--mails", "30"]);
    let steps: Vec<&str> = rows(&out)
        .iter()
        .filter_map(|r| r["step"].as_str())
        .collect();
    assert_eq!(steps.len(), 4, "{out:#}");
}

#[test]
fn bench_generate_measures_the_micro_tier() {
    let out = bench(&[
        "generate",
        "--tiers",
        "micro",
        "--prompt-tokens",
        "16",
        "--gen-tokens",
        "8",
        "--repeats",
        "1",
        "--no-baseline",
    ]);
    assert!(!rows(&out).is_empty(), "{out:#}");
}
