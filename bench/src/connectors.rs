//! `hearth bench connectors`: how fast the connectors read mail and PDFs,
//! next to reference readers run in the same invocation on the same files —
//! Python's standard `mailbox` + `email` modules for the mbox (through
//! `scripts/mbox_baseline.py`) and poppler's `pdftotext` for the PDFs — and
//! how far the PDF text agrees with poppler's (word overlap).
//!
//! The mbox is generated (MIME mails with HTML alternatives and base64
//! attachments, `hearth_testkit::corpus::formats`) and can be grown with
//! `--mbox-mb` to show that reading a multi-gigabyte mailbox takes memory
//! for one message only: the peak resident set size of the read is printed
//! beside the file size. The PDFs are generated multi-page text PDFs, plus
//! any real ones found under `--pdf-dir`.

use anyhow::{Context as _, Result, bail};
use hearth_assistant::meter::{peak_rss_bytes, reset_peak_rss};
use hearth_connectors::{Format, MboxReader, discover, pdf_text};
use hearth_testkit::corpus::{Rng, formats};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Options of `hearth bench connectors`.
#[derive(Debug, clap::Args)]
pub struct ConnectorsBench {
    /// Generated mails in the mbox (at least).
    #[arg(long, default_value_t = 10_000)]
    pub mails: usize,
    /// Grow the mbox to at least this many MiB (5000 for a 5 GB mailbox).
    #[arg(long, default_value_t = 0)]
    pub mbox_mb: u64,
    /// Generated PDFs…
    #[arg(long, default_value_t = 40)]
    pub pdfs: usize,
    /// …of this many pages each.
    #[arg(long, default_value_t = 25)]
    pub pages: usize,
    /// Also read every PDF under these folders (real-world files).
    #[arg(long)]
    pub pdf_dir: Vec<PathBuf>,
    /// Seed of the generated corpus.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Skip the reference readers (Python, pdftotext).
    #[arg(long)]
    pub no_baseline: bool,
    /// Work here instead of a temporary directory (kept afterwards).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Print the rows as JSON.
    #[arg(long)]
    pub json: bool,
}

/// One measured reader.
#[derive(Debug, Serialize)]
struct Row {
    input: &'static str,
    reader: String,
    files: usize,
    items: usize,
    failures: usize,
    mib: f64,
    secs: f64,
    mib_per_sec: f64,
    /// PDF pages per second (PDF rows only).
    pages_per_sec: Option<f64>,
    peak_rss_mib: Option<f64>,
}

/// Text agreement of our PDF text with pdftotext's.
#[derive(Debug, Serialize)]
struct Agreement {
    set: &'static str,
    files: usize,
    mean_word_overlap: f64,
    min_word_overlap: f64,
}

/// Runs `hearth bench connectors`.
pub fn run(args: &ConnectorsBench) -> Result<()> {
    let temp;
    let root = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let mut rows = Vec::new();

    let mbox = root.join("bench.mbox");
    let (mails, bytes) = formats::write_mbox(&mbox, args.seed, args.mails, args.mbox_mb << 20)
        .context("writing the mbox")?;
    eprintln!("mbox: {mails} mails, {:.1} MiB", mib(bytes));
    rows.push(read_mbox(&mbox, bytes)?);
    if !args.no_baseline {
        rows.push(python_mbox(&root, &mbox, bytes)?);
    }

    let mut generated = Vec::new();
    let mut rng = Rng::new(args.seed);
    std::fs::create_dir_all(root.join("pdf"))?;
    for i in 0..args.pdfs {
        let path = root.join(format!("pdf/report-{i:03}.pdf"));
        std::fs::write(
            &path,
            formats::pdf(&mut rng, &format!("Report {i}"), args.pages),
        )?;
        generated.push(path);
    }
    let real = if args.pdf_dir.is_empty() {
        Vec::new()
    } else {
        discover(&args.pdf_dir)?
            .files
            .into_iter()
            .filter(|f| f.format == Format::Pdf)
            .map(|f| f.path)
            .collect()
    };
    let mut agreements = Vec::new();
    for (set, files) in [("generated", &generated), ("real", &real)] {
        if files.is_empty() {
            continue;
        }
        let ours = read_pdfs(files);
        rows.push(ours.row(set, "hearth pdf_text"));
        if !args.no_baseline {
            let theirs = pdftotext(files)?;
            rows.push(theirs.row(set, "poppler pdftotext"));
            let overlaps: Vec<f64> = files
                .iter()
                .filter_map(|f| Some(word_overlap(ours.texts.get(f)?, theirs.texts.get(f)?)))
                .collect();
            if !overlaps.is_empty() {
                agreements.push(Agreement {
                    set,
                    files: overlaps.len(),
                    mean_word_overlap: overlaps.iter().sum::<f64>() / overlaps.len() as f64,
                    min_word_overlap: overlaps.iter().copied().fold(1.0, f64::min),
                });
            }
        }
    }

    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "rows": rows, "agreement": agreements })
            )?
        );
        return Ok(());
    }
    println!(
        "{:<16} {:<24} {:>6} {:>8} {:>6} {:>9} {:>8} {:>8} {:>9} {:>9}",
        "input", "reader", "files", "items", "fail", "MiB", "secs", "MiB/s", "pages/s", "peak MiB"
    );
    for r in &rows {
        println!(
            "{:<16} {:<24} {:>6} {:>8} {:>6} {:>9.1} {:>8.2} {:>8.1} {:>9} {:>9}",
            r.input,
            r.reader,
            r.files,
            r.items,
            r.failures,
            r.mib,
            r.secs,
            r.mib_per_sec,
            r.pages_per_sec
                .map(|p| format!("{p:.0}"))
                .unwrap_or_default(),
            r.peak_rss_mib
                .map(|p| format!("{p:.0}"))
                .unwrap_or_default(),
        );
    }
    for a in &agreements {
        println!(
            "PDF text agreement with pdftotext ({} PDFs, {}): word overlap mean {:.3}, min {:.3}",
            a.files, a.set, a.mean_word_overlap, a.min_word_overlap
        );
    }
    Ok(())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 20) as f64
}

/// Streams the mbox through [`MboxReader`]; the peak RSS is that of the read alone.
fn read_mbox(path: &Path, bytes: u64) -> Result<Row> {
    let resettable = reset_peak_rss();
    let start = Instant::now();
    let (mut mails, mut failures, mut chars) = (0, 0, 0usize);
    for item in MboxReader::open(path)? {
        match item {
            Ok(doc) => {
                chars += doc.text.len();
                mails += usize::from(doc.parent.is_none());
            }
            Err(_) => failures += 1,
        }
    }
    let secs = start.elapsed().as_secs_f64();
    std::hint::black_box(chars);
    Ok(Row {
        input: "mbox",
        reader: "hearth MboxReader".into(),
        files: 1,
        items: mails,
        failures,
        mib: mib(bytes),
        secs,
        mib_per_sec: mib(bytes) / secs,
        pages_per_sec: None,
        peak_rss_mib: resettable.then(peak_rss_bytes).flatten().map(mib),
    })
}

fn python_mbox(root: &Path, mbox: &Path, bytes: u64) -> Result<Row> {
    let script = root.join("mbox_baseline.py");
    std::fs::write(&script, include_str!("../../scripts/mbox_baseline.py"))?;
    let out = Command::new("python3")
        .arg(&script)
        .arg(mbox)
        .output()
        .context("running python3 (the mbox reference reader)")?;
    if !out.status.success() {
        bail!(
            "mbox_baseline.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let secs = v["secs"].as_f64().unwrap_or(f64::NAN);
    Ok(Row {
        input: "mbox",
        reader: "python mailbox + email".into(),
        files: 1,
        items: v["messages"].as_u64().unwrap_or(0) as usize,
        failures: v["failures"].as_u64().unwrap_or(0) as usize,
        mib: mib(bytes),
        secs,
        mib_per_sec: mib(bytes) / secs,
        pages_per_sec: None,
        peak_rss_mib: v["peak_rss_bytes"].as_u64().map(mib),
    })
}

/// The text of a set of PDFs read by one reader, page by page joined.
#[derive(Default)]
struct PdfRun {
    texts: HashMap<PathBuf, String>,
    pages: usize,
    failures: usize,
    bytes: u64,
    secs: f64,
}

impl PdfRun {
    fn row(&self, set: &'static str, reader: &str) -> Row {
        Row {
            input: if set == "real" {
                "PDF (real)"
            } else {
                "PDF (generated)"
            },
            reader: reader.into(),
            files: self.texts.len() + self.failures,
            items: self.pages,
            failures: self.failures,
            mib: mib(self.bytes),
            secs: self.secs,
            mib_per_sec: mib(self.bytes) / self.secs,
            pages_per_sec: Some(self.pages as f64 / self.secs),
            peak_rss_mib: None,
        }
    }
}

fn read_pdfs(files: &[PathBuf]) -> PdfRun {
    let mut run = PdfRun::default();
    let start = Instant::now();
    for f in files {
        let Ok(bytes) = std::fs::read(f) else {
            run.failures += 1;
            continue;
        };
        run.bytes += bytes.len() as u64;
        match pdf_text(bytes) {
            Ok(pdf) => {
                run.pages += pdf.pages.len();
                run.texts.insert(f.clone(), pdf.pages.join("\n"));
            }
            Err(_) => run.failures += 1,
        }
    }
    run.secs = start.elapsed().as_secs_f64();
    run
}

/// poppler's `pdftotext FILE -`, one process per file as a user would run it.
fn pdftotext(files: &[PathBuf]) -> Result<PdfRun> {
    let mut run = PdfRun::default();
    let start = Instant::now();
    for f in files {
        run.bytes += std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
        let out = Command::new("pdftotext")
            .args(["-q", "-enc", "UTF-8"])
            .arg(f)
            .arg("-")
            .output()
            .context("running pdftotext (install the poppler-utils package)")?;
        if !out.status.success() {
            run.failures += 1;
            continue;
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        // A form feed ends each page.
        run.pages += text.matches('\u{c}').count();
        run.texts.insert(f.clone(), text);
    }
    run.secs = start.elapsed().as_secs_f64();
    Ok(run)
}

/// Multiset word overlap of two texts: Σ min(count) / Σ max(count) over
/// lowercased alphanumeric words (1.0: the same words, as often).
fn word_overlap(a: &str, b: &str) -> f64 {
    fn counts(text: &str) -> HashMap<String, usize> {
        let mut out = HashMap::new();
        for w in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            *out.entry(w.to_lowercase()).or_insert(0) += 1;
        }
        out
    }
    let (a, b) = (counts(a), counts(b));
    let (mut min, mut max) = (0usize, 0usize);
    for (w, &n) in &a {
        let m = b.get(w).copied().unwrap_or(0);
        min += n.min(m);
        max += n.max(m);
    }
    max += b
        .iter()
        .filter(|(w, _)| !a.contains_key(*w))
        .map(|(_, &n)| n)
        .sum::<usize>();
    if max == 0 {
        1.0
    } else {
        min as f64 / max as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_overlap_counts_words_as_often_as_they_occur() {
        assert_eq!(word_overlap("a b c", "C, b; a!"), 1.0);
        assert_eq!(word_overlap("a a b", "a b"), 2.0 / 3.0);
        assert_eq!(word_overlap("x", "y"), 0.0);
        assert_eq!(word_overlap("", ""), 1.0);
    }
}
