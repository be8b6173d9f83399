//! `hearth bench sync`: snapshot export and import of an index built from
//! the generated mail corpus — a full snapshot, then an incremental one after
//! a share of the corpus changed — each next to its unencrypted baseline in
//! the same run: export next to a plain copy of the same segment files,
//! import next to a plain `Index::merge_from` of the laptop's index folder.

use anyhow::{Context as _, Result};
use hearth_app::{DataDir, Hearth as Context};
use hearth_store::{Index, IndexWriter};
use hearth_sync::{Keyring, Target};
use hearth_testkit::corpus::{CorpusSpec, change, generate};
use serde::Serialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Options of `hearth bench sync`.
#[derive(Debug, clap::Args)]
pub struct SyncBench {
    /// Generated mails (in mbox files of 1,000).
    #[arg(long, default_value_t = 10_000)]
    pub mails: usize,
    /// Generated Markdown notes besides the mails.
    #[arg(long, default_value_t = 0)]
    pub docs: usize,
    /// Seed of the generated corpus.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Share of the corpus changed before the incremental snapshot, in percent.
    #[arg(long, default_value_t = 1.0)]
    pub change_percent: f64,
    /// Work here instead of a temporary directory, and keep it: an index
    /// already built there is reused (each run changes it once more).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Print the rows as JSON.
    #[arg(long)]
    pub json: bool,
}

/// One measured step and its baseline.
#[derive(Debug, Serialize)]
struct Row {
    step: String,
    secs: f64,
    objects: usize,
    /// Encrypted bytes written or fetched.
    bytes: u64,
    /// The plaintext they hold.
    plain_bytes: u64,
    baseline: &'static str,
    baseline_secs: f64,
    baseline_bytes: u64,
}

/// Runs `hearth bench sync`.
pub fn run(ctx: &Context, args: &SyncBench) -> Result<()> {
    let temp;
    let root = match &args.dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    let spec = CorpusSpec {
        mails: args.mails,
        mails_per_mbox: 1_000,
        documents: args.docs,
        seed: args.seed,
    };
    let corpus = root.join("corpus");
    let laptop = root.join("laptop");
    let (laptop_data, phone_data) = (DataDir::new(&laptop), DataDir::new(root.join("phone")));
    ctx.models().ensure(hearth_embed::EMBEDDING_MODEL)?;
    if laptop_data
        .index()
        .join(hearth_store::MANIFEST_FILE)
        .exists()
        && corpus.exists()
    {
        eprintln!("reusing the index in {}", laptop.display());
    } else {
        let _ = std::fs::remove_dir_all(&laptop);
        let _ = std::fs::remove_dir_all(&corpus);
        let generated = generate(&corpus, spec)?;
        eprintln!(
            "generated {} mails and {} notes ({:.1} MB); indexing them (the embedding model runs on every chunk: minutes)…",
            spec.mails,
            generated.documents.len(),
            generated.bytes as f64 / 1e6
        );
        let first = crate::ingest::index_run("index", &laptop, &corpus)?;
        eprintln!("indexed in {:.1}s", first.wall_secs);
    }
    let keys_dir = laptop_data.sync();
    // Both keyrings are kept between runs; the phone's index starts empty.
    let _ = std::fs::remove_dir_all(phone_data.index());
    let _ = std::fs::remove_file(phone_data.sync().join("state.json"));
    let phone_keys = open_or_init(&phone_data.sync(), "phone")?;
    let mut keys = open_or_init(&keys_dir, "laptop")?;
    if !keys
        .devices()
        .iter()
        .any(|d| d.public_key == phone_keys.public_key())
    {
        keys.add_device("phone", &phone_keys.public_key())?;
    }
    // A full export hashes every file: forget the hashes of earlier runs.
    let _ = std::fs::remove_file(keys_dir.join("state.json"));
    let target_dir = root.join("target");
    let plain_dir = root.join("plain-copy");
    for d in [&target_dir, &plain_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
    let laptop_index = Index::open_writer(&laptop_data.index())?;
    let embedding = laptop_index.manifest().embedding.clone();
    let mut bench = Devices {
        target: Target::open(target_dir.to_str().context("a UTF-8 path")?)?,
        laptop_index: Some(laptop_index),
        laptop_keys: keys,
        laptop_state: keys_dir,
        plain_dir,
        phone: Index::create_writer(&phone_data.index(), &embedding)?,
        phone_keys,
        phone_state: phone_data.sync(),
        plain_phone: Index::create_writer(&root.join("phone-plain").join("index"), &embedding)?,
    };
    let mut rows = vec![
        bench.export("full export", &HashSet::new())?,
        bench.import("full import")?,
    ];

    // Incremental: change the corpus, re-index, export and import again.
    let round = next_round(&root)?;
    let changed = change(&corpus, spec, args.change_percent, round)?;
    // `hearth index` takes the laptop's writer: let go of it meanwhile.
    bench.laptop_index = None;
    let reindex = crate::ingest::index_run("re-index", &laptop, &corpus)?;
    eprintln!(
        "{}% changed ({changed} items), re-indexed in {:.1}s",
        args.change_percent, reindex.wall_secs
    );
    bench.laptop_index = Some(Index::open_writer(&laptop_data.index())?);
    let exported: HashSet<String> = bench
        .plain_phone
        .manifest()
        .segments
        .iter()
        .map(|s| s.id.clone())
        .collect();
    let step = format!("{}% changed", args.change_percent);
    rows.push(bench.export(&format!("{step}: export"), &exported)?);
    rows.push(bench.import(&format!("{step}: import"))?);
    let _ = std::fs::remove_dir_all(root.join("phone-plain"));
    print(&rows, args.json)
}

/// The two devices of the benchmark and the target between them; the
/// baselines write to `plain_dir` and merge into `plain_phone`.
struct Devices {
    target: Target,
    /// None while `hearth index` re-indexes the laptop.
    laptop_index: Option<IndexWriter>,
    laptop_keys: Keyring,
    laptop_state: PathBuf,
    plain_dir: PathBuf,
    phone: IndexWriter,
    phone_keys: Keyring,
    phone_state: PathBuf,
    plain_phone: IndexWriter,
}

impl Devices {
    /// Times the laptop's export, then a plain copy of its segment files
    /// not in `skip`.
    fn export(&mut self, step: &str, skip: &HashSet<String>) -> Result<Row> {
        let laptop = self
            .laptop_index
            .as_mut()
            .context("the laptop's index is open")?;
        let t = Instant::now();
        let report =
            hearth_sync::export(laptop, &self.laptop_keys, &self.target, &self.laptop_state)?;
        let secs = t.elapsed().as_secs_f64();
        std::fs::create_dir_all(&self.plain_dir)?;
        let index: &Index = laptop;
        let t = Instant::now();
        let mut baseline_bytes = 0;
        for seg in index
            .manifest()
            .segments
            .iter()
            .filter(|s| !skip.contains(&s.id))
        {
            for (n, rel) in index.segment_files(seg.seq).iter().enumerate() {
                let to = self.plain_dir.join(format!("{}-{n}.parquet", seg.id));
                baseline_bytes += std::fs::copy(index.dir().join(rel), &to)?;
            }
        }
        Ok(Row {
            step: step.to_owned(),
            secs,
            objects: report.objects_written,
            bytes: report.bytes_written,
            plain_bytes: report.plain_bytes_written,
            baseline: "plain copy",
            baseline_secs: t.elapsed().as_secs_f64(),
            baseline_bytes,
        })
    }

    /// Times the phone's import, then a plain merge of the laptop's index.
    fn import(&mut self, step: &str) -> Result<Row> {
        let t = Instant::now();
        let report = hearth_sync::import(
            &mut self.phone,
            &self.phone_keys,
            &self.target,
            &self.phone_state,
        )?;
        let secs = t.elapsed().as_secs_f64();
        let segments = self.plain_phone.dir().join("segments");
        let size_before = dir_bytes(&segments);
        let t = Instant::now();
        let laptop = self
            .laptop_index
            .as_ref()
            .context("the laptop's index is open")?;
        self.plain_phone.merge_from(laptop.dir())?;
        Ok(Row {
            step: step.to_owned(),
            secs,
            objects: report.objects_fetched,
            bytes: report.bytes_fetched,
            plain_bytes: report.plain_bytes_fetched,
            baseline: "plain merge",
            baseline_secs: t.elapsed().as_secs_f64(),
            baseline_bytes: dir_bytes(&segments).saturating_sub(size_before),
        })
    }
}

fn open_or_init(dir: &Path, name: &str) -> Result<Keyring> {
    match Keyring::open(dir) {
        Ok(k) => Ok(k),
        Err(hearth_sync::SyncError::NoIdentity) => Ok(Keyring::init(dir, name, None)?),
        Err(e) => Err(e.into()),
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// A new change round per run, so a reused corpus changes each time.
fn next_round(root: &Path) -> Result<u32> {
    let path = root.join("bench-sync-round");
    let round = std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(0)
        + 1;
    std::fs::write(&path, round.to_string())?;
    Ok(round)
}

fn print(rows: &[Row], json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(rows)?);
        return Ok(());
    }
    println!(
        "\n{:<22} {:>8} {:>8} {:>11} {:>9} | {:<12} {:>8} {:>11} {:>9} | {:>8}",
        "step", "wall s", "objects", "MB", "MB/s", "baseline", "wall s", "MB", "MB/s", "overhead"
    );
    for r in rows {
        let mb = r.bytes as f64 / 1e6;
        let base_mb = r.baseline_bytes as f64 / 1e6;
        println!(
            "{:<22} {:>8.3} {:>8} {:>11.2} {:>9.1} | {:<12} {:>8.3} {:>11.2} {:>9.1} | {:>7.2}×",
            r.step,
            r.secs,
            r.objects,
            mb,
            mb / r.secs.max(1e-9),
            r.baseline,
            r.baseline_secs,
            base_mb,
            base_mb / r.baseline_secs.max(1e-9),
            r.secs / r.baseline_secs.max(1e-9)
        );
    }
    if let Some(full) = rows.first() {
        println!(
            "\nencryption adds {:.2}% bytes ({} objects, {:.2} MB plaintext → {:.2} MB age)",
            100.0 * (full.bytes as f64 / full.plain_bytes.max(1) as f64 - 1.0),
            full.objects,
            full.plain_bytes as f64 / 1e6,
            full.bytes as f64 / 1e6
        );
    }
    if rows.len() == 4 {
        println!(
            "incremental export wrote {:.2}% of the full export's bytes; incremental import fetched {:.2}% of the full import's",
            100.0 * rows[2].bytes as f64 / rows[0].bytes.max(1) as f64,
            100.0 * rows[3].bytes as f64 / rows[1].bytes.max(1) as f64
        );
    }
    Ok(())
}
