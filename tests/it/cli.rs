//! End-to-end tests of the `hearth` binary on the bundled demo corpus, with the
//! real embedding model (installed on first use; these tests never skip).

use serde_json::Value;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::common;

use common::{DEMO, command, hearth, json, model_entry, ok};

/// One index of the demo corpus shared by the tests below, with the JSON report
/// of the run that built it.
fn demo_index() -> &'static (tempfile::TempDir, Value) {
    static INDEX: OnceLock<(tempfile::TempDir, Value)> = OnceLock::new();
    INDEX.get_or_init(|| {
        // The demo's screenshots are read by OCR.
        common::os::ensure_program("tesseract", &["tesseract-ocr", "tesseract-ocr-eng"]);
        let dir = tempfile::tempdir().unwrap();
        let report = json(hearth(dir.path(), &["index", DEMO, "--json"]));
        (dir, report)
    })
}

#[test]
fn search_finds_the_gold_document_for_most_demo_questions() {
    let (dir, report) = demo_index();
    assert!(report["failed"].as_array().unwrap().is_empty(), "{report}");
    let questions =
        hearth_eval::load_questions(&PathBuf::from(DEMO).join("questions.jsonl")).unwrap();
    assert!(questions.len() >= 25);
    let mut ranks = Vec::new();
    let mut misses = Vec::new();
    for q in &questions {
        let hits = json(hearth(
            dir.path(),
            &["search", &q.question, "-k", "5", "--json"],
        ));
        let hits = hits.as_array().unwrap();
        assert_eq!(hits.len(), 5);
        let rank = q.gold_rank(hits.iter().map(|h| h["uri"].as_str().unwrap()));
        if rank.is_none() {
            misses.push(format!(
                "{}: {} -> top: {}",
                q.id, q.question, hits[0]["uri"]
            ));
        }
        ranks.push(rank);
    }
    let summary = hearth_eval::RankSummary::from_ranks(&ranks, 5);
    eprintln!(
        "hit@5 {:.3} MRR {:.3}; misses: {misses:#?}",
        summary.hit_rate, summary.mrr
    );
    assert!(
        summary.hit_rate >= 0.8,
        "hit@5 {} < 0.8; misses: {misses:#?}",
        summary.hit_rate
    );
}

#[test]
fn search_json_has_the_documented_fields() {
    let (dir, _) = demo_index();
    let hits = json(hearth(
        dir.path(),
        &["search", "kitchen renovation budget", "-k", "3", "--json"],
    ));
    let hits = hits.as_array().unwrap();
    assert_eq!(hits.len(), 3);
    for (i, h) in hits.iter().enumerate() {
        for field in [
            "rank",
            "score",
            "doc_id",
            "chunk_id",
            "source",
            "uri",
            "title",
            "timestamp",
            "offset",
            "text",
        ] {
            assert!(h.get(field).is_some(), "hit lacks `{field}`: {h}");
        }
        assert_eq!(h["rank"].as_u64(), Some(i as u64 + 1));
        assert!(h["uri"].as_str().unwrap().starts_with("file:///"));
        assert!(["mail", "document"].contains(&h["source"].as_str().unwrap()));
    }
    let scores: Vec<f64> = hits.iter().map(|h| h["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    // The offset really points into the document: for a note, the chunk text is
    // found at that byte offset of the file.
    let note = json(hearth(
        dir.path(),
        &["search", "packing list", "-k", "10", "--json"],
    ));
    let note = note
        .as_array()
        .unwrap()
        .iter()
        .find(|h| {
            h["uri"].as_str().unwrap().ends_with(".md")
                || h["uri"].as_str().unwrap().ends_with(".txt")
        })
        .expect("a note among the hits")
        .clone();
    let path = note["uri"].as_str().unwrap().trim_start_matches("file://");
    let file = std::fs::read_to_string(path).unwrap();
    let offset = note["offset"].as_u64().unwrap() as usize;
    assert!(
        file[offset..].starts_with(note["text"].as_str().unwrap()),
        "offset {offset} in {path}"
    );
}

#[test]
fn status_counts_documents_per_source_kind() {
    let (dir, report) = demo_index();
    let status = json(hearth(dir.path(), &["status", "--json"]));
    let documents = status["documents"].as_u64().unwrap();
    assert_eq!(documents, report["new"].as_u64().unwrap());
    assert_eq!(
        status["chunks"].as_u64().unwrap(),
        report["chunks"].as_u64().unwrap()
    );
    assert!(
        status["by_kind"]["mail"]["documents"].as_u64().unwrap() >= 30,
        "{status}"
    );
    assert!(
        status["by_kind"]["document"]["documents"].as_u64().unwrap() >= 8,
        "{status}"
    );
    assert_eq!(status["model_id"], "sentence-transformers/all-MiniLM-L6-v2");
    let human = ok(hearth(dir.path(), &["status"]));
    assert!(human.contains(&format!("{documents} documents")), "{human}");
}

#[test]
fn indexing_the_same_folder_twice_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let notes = PathBuf::from(DEMO).join("notes");
    let first = json(hearth(
        dir.path(),
        &["index", notes.to_str().unwrap(), "--json"],
    ));
    assert!(first["chunks"].as_u64().unwrap() > 0);
    let before = json(hearth(dir.path(), &["status", "--json"]));
    let second = json(hearth(
        dir.path(),
        &["index", notes.to_str().unwrap(), "--json"],
    ));
    assert_eq!(second["new"], 0, "{second}");
    assert_eq!(second["changed"], 0, "{second}");
    assert_eq!(second["chunks"], 0, "{second}");
    assert_eq!(
        second["unchanged_files"], first["files"],
        "nothing is read again: {second}"
    );
    assert_eq!(second["documents"], 0, "{second}");
    let after = json(hearth(dir.path(), &["status", "--json"]));
    assert_eq!(before["chunks"], after["chunks"]);
    assert_eq!(
        before["segments"], after["segments"],
        "no empty segment is written"
    );
}

#[test]
fn an_edited_file_replaces_its_chunks() {
    let data = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let note = src.path().join("allotment.md");
    std::fs::write(
        &note,
        "# Allotment\nPlot 14 gets the broad beans in March.\n",
    )
    .unwrap();
    json(hearth(
        data.path(),
        &["index", src.path().to_str().unwrap(), "--json"],
    ));
    std::fs::write(
        &note,
        "# Allotment\nPlot 14 gets the runner beans in May.\n",
    )
    .unwrap();
    let again = json(hearth(
        data.path(),
        &["index", src.path().to_str().unwrap(), "--json"],
    ));
    assert_eq!(again["changed"], 1, "{again}");
    let status = json(hearth(data.path(), &["status", "--json"]));
    assert_eq!(status["documents"], 1);
    assert_eq!(status["chunks"], 1, "old chunks are gone: {status}");
    let hits = json(hearth(
        data.path(),
        &["search", "which beans go in", "--json"],
    ));
    assert_eq!(hits.as_array().unwrap().len(), 1);
    assert!(hits[0]["text"].as_str().unwrap().contains("runner beans"));
}

#[test]
fn bad_items_are_reported_and_the_run_goes_on() {
    let data = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(
        src.path().join("good.txt"),
        "The spare key is under the blue flowerpot.\n",
    )
    .unwrap();
    std::fs::write(
        src.path().join("latin1.txt"),
        b"Caf\xe9 receipt: 4,50 \x80\n",
    )
    .unwrap();
    let mbox = "From a@example.com Wed Jan 14 09:12:00 2026\n\n\n\
From b@example.com Wed Jan 14 10:00:00 2026\nMessage-ID: <ok@example.com>\nFrom: b@example.com\nSubject: Boiler service\n\nThe boiler service is on Friday.\n";
    std::fs::write(src.path().join("inbox.mbox"), mbox).unwrap();
    let report = json(hearth(
        data.path(),
        &["index", src.path().to_str().unwrap(), "--json"],
    ));
    assert_eq!(report["new"], 3, "{report}");
    let failed = report["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{report}");
    assert!(
        failed[0]["reason"].as_str().unwrap().contains("message 0"),
        "{report}"
    );
    let hits = json(hearth(
        data.path(),
        &["search", "café receipt", "-k", "1", "--json"],
    ));
    assert!(
        hits[0]["text"]
            .as_str()
            .unwrap()
            .contains("Café receipt: 4,50 €"),
        "{hits}"
    );
}

#[test]
fn a_damaged_model_file_names_the_file_and_the_fix() {
    let data = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let installed = demo_model_dir();
    let broken = cache.path().join("models/all-minilm-l6-v2");
    std::fs::create_dir_all(&broken).unwrap();
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(installed.join(f), broken.join(f)).unwrap();
    }
    std::fs::write(broken.join("model.safetensors"), b"truncated").unwrap();
    let out = command(data.path())
        .args(["index", DEMO])
        .env("HEARTH_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("model.safetensors"), "{stderr}");
    assert!(stderr.contains("hearth models install --force"), "{stderr}");
}

#[test]
fn models_list_shows_the_pinned_set() {
    let data = tempfile::tempdir().unwrap();
    demo_model_dir();
    let list = json(hearth(data.path(), &["models", "list", "--json"]));
    assert_eq!(list.as_array().unwrap().len(), 4);
    let minilm = model_entry(&list, "all-minilm-l6-v2");
    assert_eq!(minilm["status"], "installed");
    assert_eq!(minilm["role"], "embedding");
    let larger = model_entry(&list, "qwen2.5-coder-1.5b-instruct");
    assert_eq!(larger["default"], false);
    assert_eq!(larger["size"], 1_117_320_768u64);
}

#[test]
fn searching_before_indexing_says_what_to_do() {
    let data = tempfile::tempdir().unwrap();
    let out = hearth(data.path(), &["search", "anything"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("hearth index"), "{stderr}");
}

/// Installs the embedding model into the default cache (idempotent) and returns it.
fn demo_model_dir() -> PathBuf {
    let data = tempfile::tempdir().unwrap();
    ok(hearth(
        data.path(),
        &["models", "install", "all-minilm-l6-v2"],
    ));
    let list = json(hearth(data.path(), &["models", "list", "--json"]));
    let minilm = model_entry(&list, "all-minilm-l6-v2");
    PathBuf::from(minilm["path"].as_str().unwrap())
}

#[test]
fn a_model_can_be_pointed_at_a_local_path() {
    let installed = demo_model_dir();
    let data = tempfile::tempdir().unwrap();
    let empty_cache = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("note.txt"), "The bike lock code is 4417.\n").unwrap();
    let config = data.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[models.all-minilm-l6-v2]\npath = {:?}\n",
            installed.to_str().unwrap()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        command(data.path())
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("HEARTH_CACHE_DIR", empty_cache.path())
            .output()
            .unwrap()
    };
    let list = json(run(&["models", "list", "--json"]));
    let minilm = model_entry(&list, "all-minilm-l6-v2");
    assert_eq!(minilm["status"], "local path");
    json(run(&["index", src.path().to_str().unwrap(), "--json"]));
    let hits = json(run(&["search", "bike lock code", "--json"]));
    assert!(hits[0]["text"].as_str().unwrap().contains("4417"));
    assert!(
        std::fs::read_dir(empty_cache.path())
            .unwrap()
            .next()
            .is_none(),
        "nothing was installed"
    );
}

#[test]
fn the_weight_format_comes_from_the_config() {
    let data = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("note.txt"), "The gate code is 2291.\n").unwrap();
    let config = data.path().join("config.toml");
    let run = |weights: &str, args: &[&str]| {
        std::fs::write(&config, format!("[embedding]\nweights = {weights:?}\n")).unwrap();
        command(data.path())
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap()
    };
    let bad = run("q3", &["status"]);
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("unknown weight format `q3`"), "{stderr}");
    // Vectors from the f32 encoder are searchable with the int8 one (same model).
    json(run(
        "f32",
        &["index", src.path().to_str().unwrap(), "--json"],
    ));
    let hits = json(run("int8", &["search", "gate code", "--json"]));
    assert!(hits[0]["text"].as_str().unwrap().contains("2291"));
}

/// Every connector fixture (`fixtures/connectors`: mail as .eml, Maildir and
/// mbox; DOCX and PDF documents, one scanned page read by OCR; an iMessage
/// database; and the malformed ones) indexed by the binary: status counts
/// each kind and names each failure with its reason.
#[test]
fn every_format_indexes_and_status_names_the_failures() {
    common::os::ensure_program("tesseract", &["tesseract-ocr", "tesseract-ocr-eng"]);
    common::os::ensure_program_probed("pdftoppm", "-v", &["poppler-utils"]);
    let data = tempfile::tempdir().unwrap();
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/connectors");
    let report = json(hearth(
        data.path(),
        &["index", fixtures.to_str().unwrap(), "--json"],
    ));
    let status = json(hearth(data.path(), &["status", "--json"]));
    // Mail: 5 from quote-forward.eml (mail, 3 readable attachments, the
    // forwarded mail), 1 html-only, 2 Maildir, 2 from the truncated mbox.
    let kinds = &status["by_kind"];
    assert!(
        kinds["mail"]["documents"].as_u64().unwrap() >= 6,
        "{status:#}"
    );
    assert!(
        kinds["document"]["documents"].as_u64().unwrap() >= 5,
        "{status:#}"
    );
    let failures = status["failures"].as_array().unwrap();
    let named = |file: &str, reason: &str| {
        failures.iter().any(|f| {
            f["path"].as_str().unwrap().ends_with(file)
                && f["reason"].as_str().unwrap().contains(reason)
        })
    };
    for (file, reason) in [
        ("broken/no-headers.eml", "no headers"),
        ("broken/not-a-zip.docx", "not a zip archive"),
        ("broken/no-body.docx", "no word/document.xml"),
        ("broken/truncated.pdf", "not a readable PDF"),
        ("broken/cyclic.pdf", "cyclic object graph"),
        ("broken/encrypted.pdf", "needs a password"),
        ("broken/blank-scan.pdf", "not even by OCR"),
        ("not-imessage/chat.db", "not an iMessage chat.db"),
        ("telegram/result.json", "EOF"),
        ("broken/sms-backup.xml", "at byte"),
    ] {
        assert!(
            named(file, reason),
            "no failure {file}: {reason} in {status:#}"
        );
    }
    assert_eq!(failures.len(), 10, "{status:#}");
    assert_eq!(report["failed"].as_array().unwrap().len(), 10, "{report:#}");
    assert!(
        kinds["message"]["documents"].as_u64().unwrap() >= 2,
        "{status:#}"
    );
    let human = ok(hearth(data.path(), &["status"]));
    assert!(
        human.contains("10 failure(s)") && human.contains("cyclic"),
        "{human}"
    );
    // What was read is searchable: a DOCX table cell, a PDF's second page, a
    // mail attachment.
    for (query, file) in [
        ("walnut worktop cabinets fitting", "kitchen-plan.docx"),
        ("outdoor unit north wall boundary", "heat-pump-survey.pdf"),
        ("service checklist burner flue", "quote-forward.eml"),
        ("pottery class studio apron", "imessage/chat.db"),
        ("brass hinges wood glue receipt", "scanned-receipt.pdf"),
    ] {
        let hits = json(hearth(data.path(), &["search", query, "--json", "-k", "3"]));
        let top = hits
            .as_array()
            .and_then(|h| h.first())
            .unwrap_or_else(|| panic!("{hits}"));
        assert!(
            top["uri"].as_str().unwrap().contains(file),
            "{query}: {hits:#}"
        );
    }
}

/// Without Tesseract a screenshot is still indexed (name, time), a warning
/// names the package once, and each screenshot is a failure to retry later.
#[test]
fn screenshots_without_ocr_are_indexed_and_marked_for_a_later_run() {
    let data = tempfile::tempdir().unwrap();
    let shots = PathBuf::from(DEMO).join("screenshots");
    let out = command(data.path())
        .args(["index", shots.to_str().unwrap(), "--json"])
        .env("HEARTH_TESSERACT", "/nonexistent/tesseract")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = json(out);
    assert_eq!(
        stderr
            .matches("screenshots are indexed without their text")
            .count(),
        1,
        "warned once: {stderr}"
    );
    assert_eq!(report["documents"], 3, "{report:#}");
    let status = json(hearth(data.path(), &["status", "--json"]));
    assert_eq!(
        status["by_kind"]["screenshot"]["documents"], 3,
        "{status:#}"
    );
    let failures = status["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 3, "{status:#}");
    assert!(
        failures.iter().all(|f| f["position"] == "ocr"
            && f["reason"]
                .as_str()
                .unwrap()
                .contains("read again on a later run")),
        "{status:#}"
    );
}
