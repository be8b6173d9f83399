//! Incremental, resumable indexing through the `hearth` binary: sources, edits,
//! deletions, failures with retry, the writer lock, and kill -9 at random points.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common;

use common::{DEMO, command, hearth, json};

fn index(data: &Path, paths: &[&Path]) -> Value {
    let mut args = vec!["index", "--json"];
    let paths: Vec<String> = paths
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    args.extend(paths.iter().map(String::as_str));
    json(hearth(data, &args))
}

const MBOX: &str = "From a@example.com Wed Jan 14 09:12:00 2026
Message-ID: <one@example.com>
From: Ana <a@example.com>
Subject: Gutter repair

The gutter repair is booked for the 3rd.

From b@example.com Wed Jan 14 10:00:00 2026
Message-ID: <two@example.com>
From: Ben <b@example.com>
Subject: Piano lesson

Piano lessons move to Thursdays at five.
";

#[test]
fn sources_edits_and_deletions_keep_the_index_exact() {
    let data = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(
        src.path().join("a.txt"),
        "The water meter reading was 4471.\n",
    )
    .unwrap();
    std::fs::write(
        src.path().join("b.md"),
        "# Bins\nRecycling goes out on Tuesdays.\n",
    )
    .unwrap();
    std::fs::write(src.path().join("mail.mbox"), MBOX).unwrap();
    let out = hearth(
        data.path(),
        &[
            "source",
            "add",
            "auto",
            src.path().to_str().unwrap(),
            "--name",
            "home",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first = json(hearth(data.path(), &["index", "--json"]));
    assert_eq!(first["new"], 4, "{first}");
    let sources = json(hearth(data.path(), &["source", "list", "--json"]));
    assert_eq!(sources[0]["name"], "home");

    // Unchanged: nothing is read. Touched but unchanged: hashed, not re-read.
    let again = json(hearth(data.path(), &["index", "--json"]));
    assert_eq!(
        (
            again["unchanged_files"].as_u64(),
            again["documents"].as_u64()
        ),
        (Some(3), Some(0)),
        "{again}"
    );
    let content = std::fs::read(src.path().join("a.txt")).unwrap();
    std::fs::write(src.path().join("a.txt"), content).unwrap();
    let touched = json(hearth(data.path(), &["index", "--json"]));
    assert_eq!(touched["documents"], 0, "{touched}");

    // A mail removed from the mbox and a deleted file become tombstones.
    let one_mail = MBOX.split("\nFrom b@").next().unwrap().to_owned() + "\n";
    std::fs::write(src.path().join("mail.mbox"), one_mail).unwrap();
    std::fs::remove_file(src.path().join("b.md")).unwrap();
    let third = json(hearth(data.path(), &["index", "--json"]));
    assert_eq!(third["deleted"], 2, "{third}");
    assert_eq!(third["deleted_files"], 1, "{third}");
    assert_eq!(third["new"], 0, "{third}");
    let status = json(hearth(data.path(), &["status", "--json"]));
    assert_eq!(status["documents"], 2, "{status}");
    let hits = json(hearth(data.path(), &["search", "piano lessons", "--json"]));
    assert!(
        hits.as_array()
            .unwrap()
            .iter()
            .all(|h| !h["text"].as_str().unwrap().contains("Piano")),
        "{hits}"
    );

    // A source whose path vanished (an unmounted disk) keeps its documents.
    let moved = data.path().join("moved");
    std::fs::rename(src.path(), &moved).unwrap();
    let missing = json(hearth(data.path(), &["index", "--json"]));
    assert_eq!(missing["missing_sources"][0], "home", "{missing}");
    assert_eq!(
        json(hearth(data.path(), &["status", "--json"]))["documents"],
        2
    );
    std::fs::rename(&moved, src.path()).unwrap();

    // Removing the source deletes its documents.
    let out = hearth(data.path(), &["source", "remove", "home"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = json(hearth(data.path(), &["status", "--json"]));
    assert_eq!(status["documents"], 0, "{status}");
    assert!(status["sources"].as_array().unwrap().is_empty());
}

#[test]
fn a_mail_moved_to_another_mailbox_is_not_embedded_again() {
    let data = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("inbox.mbox"), MBOX).unwrap();
    let first = index(data.path(), &[src.path()]);
    assert_eq!(first["new"], 2, "{first}");
    let chunks = json(hearth(data.path(), &["status", "--json"]))["chunks"].clone();
    // File the piano mail away: it leaves the inbox and lands in an archive,
    // which is read after the inbox (deletion first, then the move is seen).
    let (one, two) = MBOX.split_at(MBOX.find("\nFrom b@").unwrap() + 1);
    std::fs::write(src.path().join("inbox.mbox"), one).unwrap();
    std::fs::write(src.path().join("z-archive.mbox"), two).unwrap();
    let moved = index(data.path(), &[src.path()]);
    assert_eq!(moved["relocated"], 1, "{moved}");
    assert_eq!(moved["embedded"], 0, "nothing is embedded again: {moved}");
    assert_eq!(
        moved["chunks"], 1,
        "the moved mail's chunk is re-recorded: {moved}"
    );
    assert_eq!(moved["deleted"], 0, "{moved}");
    assert_eq!(
        (moved["new"].as_u64(), moved["changed"].as_u64()),
        (Some(0), Some(0)),
        "{moved}"
    );
    let status = json(hearth(data.path(), &["status", "--json"]));
    assert_eq!(status["documents"], 2, "{status}");
    assert_eq!(status["chunks"], chunks);
    let hits = json(hearth(
        data.path(),
        &["search", "piano lessons", "-k", "1", "--json"],
    ));
    assert!(
        hits[0]["uri"]
            .as_str()
            .unwrap()
            .ends_with("z-archive.mbox#two@example.com"),
        "{hits}"
    );
    let again = index(data.path(), &[src.path()]);
    assert_eq!(
        (again["chunks"].as_u64(), again["relocated"].as_u64()),
        (Some(0), Some(0)),
        "{again}"
    );
}

#[test]
fn failures_are_shown_and_retried_until_fixed() {
    let data = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let broken = format!("From x@example.com Wed Jan 14 09:00:00 2026\n\n\n{MBOX}");
    std::fs::write(src.path().join("mail.mbox"), &broken).unwrap();
    let first = index(data.path(), &[src.path()]);
    assert_eq!(first["new"], 2, "the good mails are indexed: {first}");
    assert_eq!(first["failed"].as_array().unwrap().len(), 1);
    let status = json(hearth(data.path(), &["status", "--json"]));
    let failure = &status["failures"][0];
    assert_eq!(failure["position"], "message 0", "{status}");
    assert_eq!(failure["attempts"], 1);
    let human = String::from_utf8_lossy(&hearth(data.path(), &["status"]).stdout).into_owned();
    assert!(
        human.contains("message 0") && human.contains("retry on next run"),
        "{human}"
    );
    // The next run retries the unchanged file at once…
    let second = index(data.path(), &[src.path()]);
    assert_eq!(second["failed"].as_array().unwrap().len(), 1, "{second}");
    assert_eq!(
        json(hearth(data.path(), &["status", "--json"]))["failures"][0]["attempts"],
        2
    );
    // …then backs off while the file stays the same.
    let third = index(data.path(), &[src.path()]);
    assert_eq!(third["deferred_files"], 1, "{third}");
    // Fixing the file clears the failure on the next run.
    std::fs::write(src.path().join("mail.mbox"), MBOX).unwrap();
    let fixed = index(data.path(), &[src.path()]);
    assert!(fixed["failed"].as_array().unwrap().is_empty(), "{fixed}");
    let status = json(hearth(data.path(), &["status", "--json"]));
    assert!(
        status["failures"].as_array().unwrap().is_empty(),
        "{status}"
    );
    assert_eq!(status["documents"], 2);
}

#[test]
fn a_second_writer_is_refused_and_readers_keep_working() {
    let data = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(
        src.path().join("n.txt"),
        "The allotment plot number is 14.\n",
    )
    .unwrap();
    index(data.path(), &[src.path()]);
    let _held = hearth_store::Index::open_writer(&data.path().join("index")).unwrap();
    let started = Instant::now();
    let out = hearth(data.path(), &["index", src.path().to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("another `hearth index` is running"),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "refused at once"
    );
    let hits = json(hearth(data.path(), &["search", "allotment plot", "--json"]));
    assert!(hits[0]["text"].as_str().unwrap().contains("14"));
}

/// Everything that defines the index's content: live documents with their
/// content hashes (`.0`), and every live chunk with its text and offset (`.1`).
#[derive(Debug, PartialEq)]
struct Fingerprint(BTreeSet<(String, String)>, BTreeSet<(String, String, u64)>);

fn fingerprint(data: &Path) -> Fingerprint {
    let index = hearth_store::Index::open(&data.join("index")).unwrap();
    let docs = index
        .documents()
        .map(|d| (d.doc_id.clone(), d.content_hash.clone()))
        .collect();
    let all = index.stats().chunks as usize;
    let chunks = index
        .search(&vec![0.0; index.manifest().embedding.dimension], all + 10)
        .unwrap()
        .into_iter()
        .map(|h| (h.chunk.chunk_id, h.chunk.text, h.chunk.byte_start))
        .collect::<BTreeSet<_>>();
    assert_eq!(chunks.len(), all);
    Fingerprint(docs, chunks)
}

#[test]
fn kill_9_at_random_points_then_rerun_equals_a_clean_run() {
    let clean = tempfile::tempdir().unwrap();
    let demo = Path::new(DEMO);
    let start = Instant::now();
    json(hearth(
        clean.path(),
        &["index", DEMO, "--json", "--commit-chunks", "12"],
    ));
    let clean_secs = start.elapsed().as_secs_f64();
    let expected = fingerprint(clean.path());
    assert!(expected.1.len() > 100);

    let crashed = tempfile::tempdir().unwrap();
    let mut seed: u64 = 0x5eed_4ea7;
    let mut kills = 0;
    for _ in 0..8 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        // Each run resumes where the last one died, so later runs have less
        // to do: kill within the first 30% of a clean run's time.
        let delay = (seed >> 11) as f64 / (1u64 << 53) as f64 * clean_secs * 0.3;
        let mut child = command(crashed.path())
            .args(["index", DEMO, "--commit-chunks", "12"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_secs_f64(delay));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
        // Whatever state it died in, the index opens and is searchable.
        if crashed.path().join("index/manifest.json").exists() {
            hearth_store::Index::open(&crashed.path().join("index")).unwrap();
        }
    }
    assert!(kills >= 4, "most runs were killed mid-way ({kills})");
    let last = index(crashed.path(), &[demo]);
    assert!(last["failed"].as_array().unwrap().is_empty(), "{last}");
    let got = fingerprint(crashed.path());
    assert_eq!(
        got.0, expected.0,
        "same documents and versions as a clean run"
    );
    assert_eq!(
        got.1, expected.1,
        "same chunks as a clean run: nothing lost, nothing twice"
    );
    let status = json(hearth(crashed.path(), &["status", "--json"]));
    assert_eq!(
        status["chunks"].as_u64().unwrap() as usize,
        expected.1.len()
    );
    let rerun = index(crashed.path(), &[demo]);
    assert_eq!(
        rerun["documents"], 0,
        "a finished index reads nothing again: {rerun}"
    );
}

#[test]
fn schedule_writes_valid_timer_units_and_removes_them() {
    let data = tempfile::tempdir().unwrap();
    let config = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = command(data.path())
            .args(args)
            .env("XDG_CONFIG_HOME", config.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["schedule", "install", "--interval", "15m", "--no-activate"]);
    let units = config.path().join("systemd/user");
    let service = std::fs::read_to_string(units.join("hearth-index.service")).unwrap();
    let timer = std::fs::read_to_string(units.join("hearth-index.timer")).unwrap();
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_hearth")).unwrap();
    let data_dir = std::fs::canonicalize(data.path()).unwrap();
    assert!(
        service.contains(&format!(
            "ExecStart={} --data-dir {} index",
            exe.display(),
            data_dir.display()
        )),
        "{service}"
    );
    assert!(
        timer.contains("OnCalendar=*-*-* *:0/15:00") && timer.contains("Persistent=true"),
        "{timer}"
    );
    assert!(run(&["schedule", "status"]).contains("schedule: installed"));
    // systemd's own checker, where this machine has it.
    if let Ok(out) = Command::new("systemd-analyze")
        .arg("verify")
        .arg(units.join("hearth-index.timer"))
        .arg(units.join("hearth-index.service"))
        .output()
    {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("hearth-index"),
            "systemd-analyze verify: {stderr}"
        );
    }
    run(&["schedule", "uninstall", "--no-activate"]);
    assert!(!units.join("hearth-index.timer").exists());
    assert!(run(&["schedule", "status"]).contains("not installed"));
}

#[test]
fn watch_indexes_new_and_deleted_files() {
    let data = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(
        src.path().join("first.txt"),
        "The hallway paint is Farrow green.\n",
    )
    .unwrap();
    let out = hearth(
        data.path(),
        &["source", "add", "auto", src.path().to_str().unwrap()],
    );
    assert!(out.status.success());
    let mut watch = command(data.path())
        .args(["watch", "--debounce-ms", "300"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let wait_for = |what: &str, ok: &dyn Fn(&Value) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let out = hearth(data.path(), &["status", "--json"]);
            if out.status.success() {
                let status: Value = serde_json::from_slice(&out.stdout).unwrap();
                if ok(&status) {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(250));
        }
    };
    wait_for("the initial pass", &|s| s["documents"] == 1);
    std::fs::write(src.path().join("second.txt"), "The boiler code is 7731.\n").unwrap();
    wait_for("the new file", &|s| s["documents"] == 2);
    std::fs::remove_file(src.path().join("first.txt")).unwrap();
    wait_for("the deletion", &|s| s["documents"] == 1);
    watch.kill().unwrap();
    watch.wait().unwrap();
    let hits = json(hearth(data.path(), &["search", "boiler code", "--json"]));
    assert!(hits[0]["text"].as_str().unwrap().contains("7731"));
}
