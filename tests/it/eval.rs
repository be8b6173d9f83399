//! `hearth eval run` end to end: a suite is indexed through the real
//! pipeline, searched in every mode, written as Parquet rows, and summarised.

use crate::common;

use common::{command, hearth, json, kill_when, ok};
use polars::prelude::{ParquetReader, SerReader};
use serde_json::Value;

/// `hearth eval run --suite demo ARGS… --json`.
fn demo_run(data: &std::path::Path, args: &[&str]) -> Value {
    let mut all = vec!["eval", "run", "--suite", "demo", "--json"];
    all.extend_from_slice(args);
    json(hearth(data, &all))
}

fn metric(run: &Value, mode: &str, name: &str) -> f64 {
    run[mode][name]
        .as_f64()
        .unwrap_or_else(|| panic!("no {mode}.{name} in {run:#}"))
}

/// A tiny BEIR suite whose queries share rare words with exactly one document.
fn write_beir(dir: &std::path::Path) {
    let docs = [
        (
            "d1",
            "Boiler service",
            "The boiler service is booked for Tuesday with Kessler Heating.",
        ),
        (
            "d2",
            "Tile delivery",
            "The zellige tile pallet arrives on February 27 from the depot.",
        ),
        (
            "d3",
            "Library sale",
            "The fall book sale raised money for the seed library.",
        ),
        (
            "d4",
            "Bike race",
            "The gravel race covers one hundred miles of forest roads.",
        ),
    ];
    let corpus: String = docs
        .iter()
        .map(|(id, title, text)| {
            format!(
                "{}\n",
                serde_json::json!({"_id": id, "title": title, "text": text})
            )
        })
        .collect();
    std::fs::write(dir.join("corpus.jsonl"), corpus).unwrap();
    std::fs::write(
        dir.join("queries.jsonl"),
        "{\"_id\":\"a\",\"text\":\"zellige tile pallet\"}\n{\"_id\":\"b\",\"text\":\"Kessler boiler service\"}\n",
    )
    .unwrap();
    std::fs::create_dir(dir.join("qrels")).unwrap();
    std::fs::write(
        dir.join("qrels/test.tsv"),
        "query-id\tcorpus-id\tscore\na\td2\t1\nb\td1\t1\n",
    )
    .unwrap();
}

#[test]
fn a_beir_suite_runs_in_every_mode_and_writes_parquet_rows() {
    let data = tempfile::tempdir().unwrap();
    let suite = tempfile::tempdir().unwrap();
    write_beir(suite.path());
    let dir = suite.path().to_str().unwrap();
    let run = json(hearth(
        data.path(),
        &["eval", "run", "--suite-dir", dir, "--json"],
    ));
    for mode in ["bm25", "vector", "hybrid"] {
        assert_eq!(run[mode]["queries"], 2, "{run:#}");
        // Each query names its document's rarest words: found first.
        assert_eq!(metric(&run, mode, "ndcg@10"), 1.0, "{mode}: {run:#}");
        assert_eq!(metric(&run, mode, "mrr@10"), 1.0);
        assert_eq!(metric(&run, mode, "recall@100"), 1.0);
        assert!(metric(&run, mode, "p95_ms") >= metric(&run, mode, "p50_ms"));
    }
    // One row per (query, mode), with the run's context on every row.
    let results = std::path::PathBuf::from(run["results"].as_str().unwrap());
    let df = ParquetReader::new(std::fs::File::open(results.join("retrieval.parquet")).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.height(), 6);
    for column in [
        "run_id",
        "git_revision",
        "machine",
        "embedding_model",
        "seed",
        "query_id",
        "mode",
        "ndcg_at_10",
        "latency_ms",
    ] {
        assert!(df.column(column).is_ok(), "no column {column}");
    }
    let info: Value =
        serde_json::from_slice(&std::fs::read(results.join("run.json")).unwrap()).unwrap();
    assert_eq!(info["run_id"], run["run"]);

    // The human table names every mode.
    let table = ok(hearth(
        data.path(),
        &["eval", "run", "--suite-dir", dir, "--modes", "bm25"],
    ));
    assert!(
        table.contains("bm25") && table.contains("nDCG@10"),
        "{table}"
    );
    assert!(!table.contains("hybrid"), "{table}");

    // Its report, and a comparison of the two runs (the same suite: no
    // regression, exit 0).
    let report = ok(hearth(
        data.path(),
        &["eval", "report", run["run"].as_str().unwrap()],
    ));
    assert!(report.contains("| hybrid | 2 | 1.000"), "{report}");
    assert_eq!(charts_drawn(&results.join("report.html")), ["retrieval"]);
    let runs: Vec<_> = std::fs::read_dir(data.path().join("eval/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 2);
    let compared = ok(hearth(
        data.path(),
        &[
            "eval",
            "compare",
            runs[0].to_str().unwrap(),
            runs[1].to_str().unwrap(),
        ],
    ));
    assert!(
        compared.contains("bm25 ndcg@10") && !compared.contains("REGRESSION"),
        "{compared}"
    );
}

#[test]
fn the_demo_suite_scores_the_demo_corpus() {
    let data = tempfile::tempdir().unwrap();
    let run = demo_run(data.path(), &["--only", "retrieval"]);
    assert!(run.get("assistant").is_none(), "{run:#}");
    assert_eq!(run["queries"], 30);
    for mode in ["bm25", "vector", "hybrid"] {
        let ndcg = metric(&run, mode, "ndcg@10");
        let ci = run[mode]["ndcg@10_ci95"].as_array().unwrap();
        let (lo, hi) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
        assert!(lo <= ndcg && ndcg <= hi, "{mode}: {run:#}");
        // Floors well below what was measured (see the closing note).
        assert!(ndcg > 0.5, "{mode}: {run:#}");
        assert!(metric(&run, mode, "recall@10") > 0.7, "{mode}: {run:#}");
    }
}

#[test]
fn the_demo_suite_answers_with_the_assistant_and_meters_into_the_run() {
    let data = tempfile::tempdir().unwrap();
    // One question keeps this quick: the gold answer must be found and cited,
    // routed and forced onto the local tier. Killed once the routed answer
    // is on disk, the run resumes with the local one alone.
    let before = kill_when(
        data.path(),
        &[
            "eval",
            "run",
            "--suite",
            "demo",
            "--only",
            "assistant",
            "--limit",
            "1",
            "--configs",
            "routed,local",
        ],
        "[routed] ",
    );
    assert!(before.contains(" right on "), "{before}");
    let resumed = command(data.path())
        .args(["eval", "run", "--resume", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&resumed.stderr).into_owned();
    let run = json(resumed);
    assert!(
        stderr.contains("1 of 2 answers already measured") && !stderr.contains("[routed]"),
        "{stderr}"
    );
    assert!(stderr.contains("[local] "), "{stderr}");
    assert!(run.get("hybrid").is_none(), "{run:#}");
    let forced = &run["assistant"]["local"];
    assert_eq!(forced["questions"], 1, "{run:#}");
    assert_eq!(forced["local_share"], 1.0, "{run:#}");
    assert_eq!(forced["by_tier"]["local"]["requests"], 1, "{run:#}");
    assert!(
        forced["peak_rss_bytes"].as_u64().unwrap() > 100 << 20,
        "{run:#}"
    );
    let a = &run["assistant"]["routed"];
    assert_eq!(a["questions"], 1, "{run:#}");
    assert_eq!(a["accuracy"], 1.0, "{run:#}");
    assert_eq!(a["citation_accuracy"], 1.0, "{run:#}");
    assert_eq!(a["local_share"], 1.0);
    assert_eq!(a["cost_usd"], 0.0);
    assert!(a["tokens"].as_u64().unwrap() > 100);
    assert!(a["retrieval_p50_ms"].as_f64().unwrap() > 0.0, "{run:#}");
    assert!(
        a["generation_p50_ms"].as_f64().unwrap() < a["p50_ms"].as_f64().unwrap(),
        "{run:#}"
    );
    let tiers = a["by_tier"].as_object().unwrap();
    let shares: f64 = tiers.values().map(|t| t["share"].as_f64().unwrap()).sum();
    assert!((shares - 1.0).abs() < 1e-9, "{run:#}");
    // The rows, and the metering records of the calls, are in the run's folder.
    let dir = std::path::PathBuf::from(run["results"].as_str().unwrap());
    let df = ParquetReader::new(std::fs::File::open(dir.join("assistant.parquet")).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.height(), 2);
    assert!(!dir.join("assistant.rows.jsonl").exists());
    let calls = hearth_assistant::meter::MeterLog::new(&dir)
        .read_all()
        .unwrap();
    assert!(!calls.is_empty());
    assert!(
        hearth_assistant::meter::MeterLog::new(data.path())
            .read_all()
            .unwrap()
            .is_empty()
    );

    // The report of the latest run renders its charts in a real browser.
    let out = ok(hearth(data.path(), &["eval", "report"]));
    assert!(out.contains("| local | 1 | 100% |"), "{out}");
    assert_eq!(
        charts_drawn(&dir.join("report.html")),
        ["routing", "latency"]
    );
}

/// The `data-chart` names of the charts that headless Chromium laid out with
/// a non-empty box (the page's own script lists them on `<body>`).
fn charts_drawn(page: &std::path::Path) -> Vec<String> {
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=3000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run headless Chromium");
    let dom = String::from_utf8_lossy(&out.stdout);
    let body = dom
        .split("<body")
        .nth(1)
        .and_then(|b| b.split('>').next())
        .unwrap_or_else(|| panic!("no <body> in what Chromium loaded: {dom}"));
    let attr = |name: &str| {
        body.split(&format!("{name}=\""))
            .nth(1)
            .and_then(|v| v.split('"').next())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no {name} on <body{body}>: the page script did not run"))
    };
    let drawn: Vec<String> = attr("data-charts-drawn")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        attr("data-charts-total"),
        drawn.len().to_string(),
        "a chart did not render"
    );
    drawn
}

/// Debian's Chromium (installed on first use, see `common::os`).
fn chromium() -> &'static str {
    common::os::ensure_program("chromium", &["chromium"])
}

#[test]
fn the_routing_suite_answers_on_both_tiers_and_sweeps_the_gate() {
    let data = tempfile::tempdir().unwrap();
    // Three real questions in the packages' formats (the full sets come from
    // PyPI through scripts/fetch-routing-data.sh).
    let bench = tempfile::tempdir().unwrap();
    std::fs::write(
        bench.path().join("mmlu.jsonl"),
        concat!(
            "{\"question\": \"What is the capital of France?\", \"answer_a\": \"Berlin\", \"answer_b\": \"Madrid\", \"answer_c\": \"Paris\", \"answer_d\": \"Rome\", \"correct_answer\": \"C\", \"topic\": \"geography\"}\n",
            "{\"question\": \"Which gas do plants absorb from the air for photosynthesis?\", \"answer_a\": \"Oxygen\", \"answer_b\": \"Carbon dioxide\", \"answer_c\": \"Nitrogen\", \"answer_d\": \"Helium\", \"correct_answer\": \"B\", \"topic\": \"biology\"}\n",
        ),
    )
    .unwrap();
    std::fs::write(
        bench.path().join("gsm8k.jsonl"),
        "{\"question\": \"Tom has 3 apples and buys 4 more. How many apples does he have?\", \"answer\": \"3 + 4 = 7\\n#### 7\"}\n",
    )
    .unwrap();
    let bench_dir = bench.path().to_str().unwrap();
    let args = [
        "eval", "routing", "--data", bench_dir, "--mmlu", "2", "--gsm8k", "1",
    ];
    // Killed (SIGKILL) once its second answer is on disk …
    let before = kill_when(data.path(), &args, "[micro 2/6]");
    assert!(before.contains("[micro 1/6]"), "{before}");
    // … it resumes with the four answers it lacks, on its own options.
    let resumed = command(data.path())
        .args(["eval", "routing", "--resume", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&resumed.stderr).into_owned();
    let run = json(resumed);
    assert!(
        stderr.contains("resuming run") && stderr.contains("2 answers already measured"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("[micro ").count(), 1, "{stderr}");
    assert_eq!(stderr.matches("[local ").count(), 3, "{stderr}");
    // A finished run has nothing left to resume.
    let again = hearth(data.path(), &["eval", "routing", "--resume"]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("no unfinished run"),
        "{again:?}"
    );
    for tier in ["micro", "local"] {
        let all = run["tiers"][tier]["all"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&all), "{run:#}");
        assert!(run["tiers"][tier]["gsm8k"].is_number(), "{run:#}");
    }
    let all = &run["router"]["all"];
    assert_eq!(all["questions"], 3);
    let sweep = all["sweep"].as_array().unwrap();
    assert_eq!(sweep.first().unwrap()["escalated"], 0.0);
    assert_eq!(sweep.last().unwrap()["escalated"], 1.0);
    assert_eq!(
        sweep.last().unwrap()["accuracy"],
        run["tiers"]["local"]["all"],
        "escalating everything is the strong tier: {run:#}"
    );
    assert!(all["apgr"].as_f64().unwrap().is_finite());
    // The fitted router's own threshold, read off the sweep.
    assert!(all["gate"]["threshold"].as_f64().unwrap() < 0.0, "{run:#}");
    let rows = std::path::PathBuf::from(run["results"].as_str().unwrap()).join("routing.parquet");
    let df = ParquetReader::new(std::fs::File::open(rows).unwrap())
        .finish()
        .unwrap();
    // Each question once per tier: nothing asked twice across the kill.
    assert_eq!(df.height(), 6);
    let keys: std::collections::HashSet<String> = (0..6)
        .map(|i| {
            let get = |c: &str| {
                df.column(c)
                    .unwrap()
                    .str()
                    .unwrap()
                    .get(i)
                    .unwrap()
                    .to_owned()
            };
            format!("{} {}", get("tier"), get("query_id"))
        })
        .collect();
    assert_eq!(keys.len(), 6);

    // The report draws the sweep: accuracy against the share escalated.
    let report = ok(hearth(data.path(), &["eval", "report"]));
    assert!(
        report.contains("## Routing (micro weak, local strong)"),
        "{report}"
    );
    assert!(report.contains("| all (3) |"), "{report}");
    assert!(!report.contains("Unfinished"), "{report}");
    let page = std::path::PathBuf::from(run["results"].as_str().unwrap()).join("report.html");
    assert_eq!(charts_drawn(&page), ["router-sweep"]);
}
