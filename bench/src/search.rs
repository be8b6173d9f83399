//! `hearth bench search`: vector search at 100k and 1M chunks, per codec,
//! through the real index — compressed scan of the resident codes, exact rerank
//! against the f32 vectors read back from the Parquet segments, chunk rows
//! materialised — next to faiss on the very same vectors in the same run.
//!
//! The vectors are synthetic (seeded clustered unit vectors, see
//! `hearth_testkit::vectors`): embedding a million real chunks takes hours on this
//! class of machine. Queries come from the same distribution; recall@k is
//! measured against an exact f32 scan.

use anyhow::{Context as _, Result, bail};
use hearth_store::codec::{CodecSpec, VectorCodec};
use hearth_store::{ChunkRecord, DocumentRecord, EmbeddingSpec, Index, SearchMode, SearchRequest};
use hearth_testkit::vectors::{clustered, exact_top_k, recall};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Options of `hearth bench search`.
#[derive(Debug, clap::Args)]
pub struct SearchBench {
    /// Index sizes in vectors.
    #[arg(long, value_delimiter = ',', default_value = "100000,1000000")]
    pub sizes: Vec<usize>,
    /// Vector dimension (all-MiniLM-L6-v2's is 384).
    #[arg(long, default_value_t = 384)]
    pub dim: usize,
    /// Queries per size (each timed on its own).
    #[arg(long, default_value_t = 200)]
    pub queries: usize,
    /// Codecs to measure (`f32`, `int8`, `tqB`, `tqB-qjl` for B = 1..4).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "f32,int8,tq2,tq3,tq4,tq2-qjl,tq3-qjl,tq4-qjl"
    )]
    pub codecs: Vec<String>,
    /// Candidates per hit for the exact rerank (each approximate codec is also
    /// measured without rerank).
    #[arg(long, default_value_t = 10)]
    pub rerank: usize,
    /// Hits per query (recall@k).
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Seed of the generated vectors and queries.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Skip the faiss baseline.
    #[arg(long)]
    pub no_baseline: bool,
    /// faiss configurations (see scripts/search_baseline.py; default: its own).
    #[arg(long)]
    pub baseline_configs: Option<String>,
    /// Work here instead of a temporary directory (kept afterwards).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Print the rows as JSON.
    #[arg(long)]
    pub json: bool,
}

/// One measured configuration.
#[derive(Debug, Serialize)]
struct Row {
    n: usize,
    engine: String,
    config: String,
    rerank: usize,
    recall_at_k: f64,
    p50_ms: f64,
    p95_ms: f64,
    bytes_per_vector: f64,
    build_s: f64,
}

/// Runs `hearth bench search`.
pub fn run(args: &SearchBench) -> Result<()> {
    let specs: Vec<CodecSpec> = args
        .codecs
        .iter()
        .map(|c| CodecSpec::parse(c))
        .collect::<Result<_, _>>()?;
    anyhow::ensure!(
        args.k > 0 && args.queries > 0,
        "--k and --queries must be positive"
    );
    let temp;
    let root = match &args.dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
    };
    eprintln!(
        "vectors: synthetic clustered unit vectors, d = {}, seed {} (see hearth_testkit::vectors)",
        args.dim, args.seed
    );
    let mut rows = Vec::new();
    for &n in &args.sizes {
        rows.extend(bench_size(args, &specs, n, &root.join(format!("n{n}")))?);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print_table(&rows, args.dim);
    }
    Ok(())
}

fn bench_size(args: &SearchBench, specs: &[CodecSpec], n: usize, dir: &Path) -> Result<Vec<Row>> {
    let dim = args.dim;
    eprintln!("n = {n}: generating vectors and the exact top-{}…", args.k);
    let mut all = clustered(n + args.queries, dim, args.seed);
    let queries = all.split_off(n * dim);
    let base = all;
    let truth = exact_top_k(&base, &queries, dim, args.k);

    std::fs::create_dir_all(dir)?;
    let index_dir = dir.join("index");
    let t = Instant::now();
    write_index(&index_dir, &base, dim)?;
    eprintln!(
        "n = {n}: wrote the index in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let mut rows = Vec::new();
    for spec in specs {
        {
            let mut index = Index::open_writer(&index_dir)?;
            index.set_codec(spec)?;
        }
        let index = Index::open(&index_dir)?;
        let t = Instant::now();
        index.search_memory_bytes()?;
        let build_s = t.elapsed().as_secs_f64();
        let bytes = VectorCodec::new(spec, dim)?.bytes_per_vector() as f64;
        let exact = spec.name() == "f32";
        let reranks: Vec<usize> = if exact { vec![1] } else { vec![1, args.rerank] };
        for rerank in reranks {
            let (recall_at_k, p50_ms, p95_ms) =
                measure(&index, &queries, &truth, dim, args.k, rerank)?;
            eprintln!(
                "n = {n}: {:<8} rerank {rerank:>2}: recall@{} {recall_at_k:.3}, p50 {p50_ms:.2} ms",
                spec.name(),
                args.k
            );
            rows.push(Row {
                n,
                engine: "hearth".into(),
                config: spec.name(),
                rerank,
                recall_at_k,
                p50_ms,
                p95_ms,
                bytes_per_vector: bytes,
                build_s,
            });
        }
    }
    if !args.no_baseline {
        rows.extend(faiss(args, n, dir, &base, &queries, &truth)?);
    }
    Ok(rows)
}

/// One document per ten chunks, one segment per 250k chunks (the size
/// compaction produces), chunk ids = base row numbers.
fn write_index(dir: &Path, base: &[f32], dim: usize) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let spec = EmbeddingSpec {
        model_id: "bench/synthetic-clustered".into(),
        dimension: dim,
    };
    let mut index = Index::create_writer(dir, &spec)?;
    const PER_DOC: usize = 10;
    const PER_SEGMENT: usize = 250_000;
    let n = base.len() / dim;
    for start in (0..n).step_by(PER_SEGMENT) {
        let end = (start + PER_SEGMENT).min(n);
        let mut docs = Vec::new();
        let mut chunks = Vec::with_capacity(end - start);
        for row in start..end {
            let doc = row / PER_DOC;
            if row % PER_DOC == 0 || row == start {
                docs.push(DocumentRecord {
                    doc_id: format!("d{doc}"),
                    kind: "document".into(),
                    uri: format!("bench://{doc}"),
                    title: format!("synthetic {doc}"),
                    participants: Vec::new(),
                    timestamp: None,
                    content_hash: String::new(),
                    thread: None,
                    parent: None,
                    origin_path: String::new(),
                    origin_item: None,
                    chunk_count: PER_DOC as u32,
                    text_bytes: 0,
                });
            }
            chunks.push(ChunkRecord {
                chunk_id: row.to_string(),
                doc_id: format!("d{doc}"),
                ordinal: (row % PER_DOC) as u32,
                text: format!("synthetic chunk {row}"),
                byte_start: 0,
                byte_end: 0,
                locator: None,
                embedding: base[row * dim..(row + 1) * dim].to_vec(),
            });
        }
        index.commit(docs, chunks, &[])?;
    }
    Ok(())
}

/// Recall@k and latency percentiles of single vector queries.
fn measure(
    index: &Index,
    queries: &[f32],
    truth: &[Vec<u32>],
    dim: usize,
    k: usize,
    rerank: usize,
) -> Result<(f64, f64, f64)> {
    let request = |q| SearchRequest {
        mode: SearchMode::Vector,
        rerank,
        ..SearchRequest::new("", Some(q), k)
    };
    for q in queries.chunks_exact(dim).take(5) {
        index.search_with(&request(q))?;
    }
    let mut times = Vec::with_capacity(truth.len());
    let mut total = 0.0;
    for (q, gt) in queries.chunks_exact(dim).zip(truth) {
        let t = Instant::now();
        let hits = index.search_with(&request(q))?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        let found: Vec<u32> = hits
            .iter()
            .filter_map(|h| h.chunk.chunk_id.parse().ok())
            .collect();
        total += recall(&found, gt);
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    Ok((total / truth.len() as f64, pct(0.5), pct(0.95)))
}

#[derive(serde::Deserialize)]
struct FaissLine {
    library: String,
    config: String,
    recall_at_k: f64,
    p50_ms: f64,
    p95_ms: f64,
    bytes_per_vector: f64,
    build_s: f64,
}

/// Runs scripts/search_baseline.py on the same vectors and exact top-k.
fn faiss(
    args: &SearchBench,
    n: usize,
    dir: &Path,
    base: &[f32],
    queries: &[f32],
    truth: &[Vec<u32>],
) -> Result<Vec<Row>> {
    let install = crate::share_path("scripts/install-search-baseline.sh")?;
    // Its own environment: the embed baseline's installer recreates its venv
    // from scratch, which would drop faiss.
    let venv = crate::baseline::venv_dir().with_file_name("search-baseline-venv");
    let status = Command::new("bash")
        .arg(&install)
        .arg(&venv)
        .status()
        .with_context(|| format!("running {}", install.display()))?;
    if !status.success() {
        bail!("{} failed ({status})", install.display());
    }
    let write_f32 = |name: &str, data: &[f32]| -> Result<PathBuf> {
        let path = dir.join(name);
        let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        std::fs::write(&path, bytes)?;
        Ok(path)
    };
    let base_path = write_f32("base.f32", base)?;
    let query_path = write_f32("queries.f32", queries)?;
    let gt_path = dir.join("gt.i32");
    let gt: Vec<u8> = truth
        .iter()
        .flatten()
        .flat_map(|&i| (i as i32).to_le_bytes())
        .collect();
    std::fs::write(&gt_path, gt)?;
    let script = crate::share_path("scripts/search_baseline.py")?;
    eprintln!("n = {n}: running faiss ({})…", script.display());
    let mut cmd = Command::new(venv.join("bin/python"));
    cmd.arg(&script)
        .arg("--base")
        .arg(&base_path)
        .arg("--queries")
        .arg(&query_path)
        .arg("--gt")
        .arg(&gt_path)
        .arg("--dim")
        .arg(args.dim.to_string())
        .arg("--k")
        .arg(args.k.to_string())
        .arg("--threads")
        .arg("2")
        .arg("--label")
        .arg(n.to_string());
    if let Some(configs) = &args.baseline_configs {
        cmd.arg("--configs").arg(configs);
    }
    let out = cmd.stderr(std::process::Stdio::inherit()).output()?;
    if !out.status.success() {
        bail!("{} failed ({})", script.display(), out.status);
    }
    let mut rows = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let l: FaissLine = serde_json::from_str(line)
            .with_context(|| format!("unexpected line from the faiss script: {line}"))?;
        rows.push(Row {
            n,
            engine: l.library,
            config: l.config,
            rerank: 1,
            recall_at_k: l.recall_at_k,
            p50_ms: l.p50_ms,
            p95_ms: l.p95_ms,
            bytes_per_vector: l.bytes_per_vector,
            build_s: l.build_s,
        });
    }
    Ok(rows)
}

fn print_table(rows: &[Row], dim: usize) {
    let f32_bytes = (dim * 4) as f64;
    println!(
        "{:>9}  {:<14} {:<20} {:>6}  {:>9}  {:>7}  {:>7}  {:>9}  {:>7}  {:>8}",
        "vectors",
        "engine",
        "config",
        "rerank",
        "recall@10",
        "p50 ms",
        "p95 ms",
        "bytes/vec",
        "÷ f32",
        "build s"
    );
    for r in rows {
        println!(
            "{:>9}  {:<14} {:<20} {:>6}  {:>9.3}  {:>7.2}  {:>7.2}  {:>9.1}  {:>7.1}  {:>8.1}",
            r.n,
            r.engine,
            r.config,
            if r.rerank > 1 {
                format!("×{}", r.rerank)
            } else {
                "—".into()
            },
            r.recall_at_k,
            r.p50_ms,
            r.p95_ms,
            r.bytes_per_vector,
            f32_bytes / r.bytes_per_vector,
            r.build_s
        );
    }
    println!(
        "hearth latency is a whole `Index::search_with` call (scan, rerank from Parquet, chunk rows read back); \
         bytes/vec for hearth is the resident codes (norms included), for faiss the serialized index."
    );
}
