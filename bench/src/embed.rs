//! `hearth bench embed`: embedding throughput of every weight format on the demo
//! corpus's real chunk-length distribution, next to ONNX Runtime running the same
//! weights in the same invocation, with quality against the f32 model and the
//! fraction of this CPU's measured f32 peak each row reaches.

use crate::baseline::{self as bench_baseline, BaselineRun};
use crate::roofline;
use anyhow::Result;
use hearth_app::Hearth as Context;
use hearth_connectors::{discover, read_source};
use hearth_embed::{BertConfig, EMBEDDING_MODEL, Embedder, EmbedderOptions, WeightFormat};
use hearth_eval::agreement::{neighbour_overlap, row_cosines};
use hearth_eval::known_item::{KnownItemScores, KnownItemSuite};
use hearth_ingest::{CHUNK_OVERLAP_TOKENS, Chunker, MAX_CHUNK_TOKENS};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What `hearth bench embed` measures.
#[derive(Debug, clap::Args)]
pub struct EmbedBench {
    /// Weight formats to measure (f32 is always measured first, as the
    /// reference): f32, int8, or candle's candle-f32, candle-q8_0,
    /// candle-q4_0, candle-q4k.
    #[arg(long, value_delimiter = ',', default_value = "f32,int8")]
    pub formats: Vec<WeightFormat>,
    /// Chunks embedded per row (the demo's chunks, repeated).
    #[arg(long, default_value_t = 616)]
    pub chunks: usize,
    /// Texts per forward pass.
    #[arg(long, default_value_t = hearth_embed::EmbedderOptions::default().batch_size)]
    pub batch_size: usize,
    /// Skip the ONNX Runtime baseline.
    #[arg(long = "no-baseline", action = clap::ArgAction::SetFalse)]
    pub baseline: bool,
    /// Skip the known-item retrieval suite.
    #[arg(long = "no-quality", action = clap::ArgAction::SetFalse)]
    pub quality: bool,
    /// Corpus to chunk (default: the bundled demo).
    #[arg(long)]
    pub fixtures: Option<PathBuf>,
    /// Print the rows as JSON.
    #[arg(long)]
    pub json: bool,
}

/// One row of the table.
#[derive(Debug, Serialize)]
struct Row {
    name: String,
    load_secs: f64,
    secs: f64,
    chunks: usize,
    tokens: usize,
    /// Linear-layer weight bytes (None for the outside runtime).
    weight_bytes: Option<usize>,
    /// Against our f32 model on the workload: mean and minimum cosine.
    cos_mean: Option<f64>,
    cos_min: Option<f64>,
    /// Top-10 neighbour overlap with f32 over the distinct demo chunks.
    top10_overlap: Option<f64>,
    known_item: Option<KnownItemScores>,
}

impl Row {
    fn chunks_per_sec(&self) -> f64 {
        self.chunks as f64 / self.secs.max(1e-9)
    }
    fn tokens_per_sec(&self) -> f64 {
        self.tokens as f64 / self.secs.max(1e-9)
    }
}

/// Runs `hearth bench embed`.
pub fn run(ctx: &Context, args: EmbedBench) -> Result<()> {
    let dir = ctx.models().ensure(EMBEDDING_MODEL)?;
    let fixtures = args
        .fixtures
        .clone()
        .map_or_else(|| crate::share_path("fixtures/demo"), Ok)?;
    let options = |weights| EmbedderOptions {
        weights,
        batch_size: args.batch_size,
        ..EmbedderOptions::default()
    };
    let reference = Embedder::load(&dir, options(WeightFormat::F32))?;
    let distinct = demo_chunks(&fixtures, &reference)?;
    anyhow::ensure!(!distinct.is_empty(), "no chunks in {}", fixtures.display());
    let workload: Vec<&str> = distinct
        .iter()
        .cycle()
        .take(args.chunks.max(1))
        .map(String::as_str)
        .collect();
    let lengths: Vec<usize> = workload
        .iter()
        .map(|t| reference.token_ids(t).map(|ids| ids.len()))
        .collect::<Result<_, _>>()?;
    let tokens: usize = lengths.iter().sum();
    let flops = workload_flops(reference.config(), &lengths);
    drop(reference);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!(
        "workload: {} chunks ({} distinct from {}), {} tokens, mean {:.0} tokens/chunk; {} threads",
        workload.len(),
        distinct.len(),
        fixtures.display(),
        tokens,
        tokens as f64 / workload.len() as f64,
        threads
    );
    let peak = roofline::peak_f32_flops(threads, Duration::from_secs(1));
    eprintln!("measured f32 peak: {:.1} GFLOP/s", peak / 1e9);
    let suite = if args.quality {
        Some(KnownItemSuite::load(&crate::share_path(
            "fixtures/known-item/manpages.jsonl",
        )?)?)
    } else {
        None
    };

    let mut rows = Vec::new();
    let mut f32_vectors: Option<(Vec<f32>, Vec<f32>)> = None;
    let mut formats = args.formats.clone();
    // f32 goes first: it is what every other row is compared with.
    formats.sort_by_key(|f| *f != WeightFormat::F32);
    formats.dedup();
    for format in formats {
        eprintln!("measuring {format}…");
        let t = Instant::now();
        let embedder = Embedder::load(&dir, options(format))?;
        let load_secs = t.elapsed().as_secs_f64();
        embedder.embed(&workload[..workload.len().min(32)])?; // warm-up
        let t = Instant::now();
        let vectors = embed_in_slices(&embedder, &workload)?;
        let secs = t.elapsed().as_secs_f64();
        let distinct_vectors = embedder.embed(&distinct)?.data;
        let known_item = suite
            .as_ref()
            .map(|s| known_item_scores(&embedder, s))
            .transpose()?;
        let mut row = Row {
            name: format!("hearth {format}"),
            load_secs,
            secs,
            chunks: workload.len(),
            tokens,
            weight_bytes: Some(embedder.linear_weight_bytes()),
            cos_mean: None,
            cos_min: None,
            top10_overlap: None,
            known_item,
        };
        match &f32_vectors {
            Some((reference, reference_distinct)) => {
                compare(&mut row, reference, &vectors, embedder.dimension());
                row.top10_overlap = Some(neighbour_overlap(
                    reference_distinct,
                    &distinct_vectors,
                    embedder.dimension(),
                    10,
                ));
            }
            None if format == WeightFormat::F32 => {
                f32_vectors = Some((vectors, distinct_vectors));
            }
            None => {}
        }
        rows.push(row);
    }

    if args.baseline {
        match bench_baseline::run(&dir, &workload, args.batch_size, threads) {
            Ok(runs) => {
                for run in runs {
                    rows.push(baseline_row(
                        run,
                        tokens,
                        f32_vectors.as_ref().map(|v| &v.0),
                    )?);
                }
            }
            Err(err) => eprintln!("outside baseline not measured: {err:#}"),
        }
    }

    if args.json {
        let out = serde_json::json!({
            "chunks": workload.len(), "tokens": tokens, "flops": flops,
            "peak_flops": peak, "threads": threads, "rows": rows,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_table(&rows, flops, peak);
    }
    Ok(())
}

/// The distinct chunk texts of the demo corpus, chunked as `hearth index` does.
fn demo_chunks(fixtures: &Path, embedder: &Embedder) -> Result<Vec<String>> {
    let chunker = Chunker::new(
        embedder.sizing_tokenizer(),
        MAX_CHUNK_TOKENS,
        CHUNK_OVERLAP_TOKENS,
    )?;
    let found = discover(&[fixtures.to_path_buf()])?;
    let mut chunks = Vec::new();
    for file in &found.files {
        for doc in read_source(file).flatten() {
            chunks.extend(chunker.chunk(&doc).into_iter().map(|c| c.text));
        }
    }
    Ok(chunks)
}

/// Embeds in slices of 256 texts, as the ingest pipeline hands them over.
fn embed_in_slices(embedder: &Embedder, texts: &[&str]) -> Result<Vec<f32>> {
    let mut out = Vec::with_capacity(texts.len() * embedder.dimension());
    for slice in texts.chunks(256) {
        out.extend(embedder.embed(slice)?.data);
    }
    Ok(out)
}

fn known_item_scores(embedder: &Embedder, suite: &KnownItemSuite) -> Result<KnownItemScores> {
    let queries = embedder.embed(&suite.queries())?;
    let docs = embedder.embed(&suite.texts())?;
    Ok(suite.score(&queries.data, &docs.data, embedder.dimension(), 10))
}

fn compare(row: &mut Row, reference: &[f32], vectors: &[f32], dim: usize) {
    let cos = row_cosines(reference, vectors, dim);
    row.cos_mean = Some(cos.iter().sum::<f64>() / cos.len().max(1) as f64);
    row.cos_min = cos.iter().copied().reduce(f64::min);
}

fn baseline_row(run: BaselineRun, tokens: usize, reference: Option<&Vec<f32>>) -> Result<Row> {
    let mut row = Row {
        name: run.name,
        load_secs: run.load_secs,
        secs: run.secs,
        chunks: run.chunks,
        tokens,
        weight_bytes: None,
        cos_mean: None,
        cos_min: None,
        top10_overlap: None,
        known_item: None,
    };
    if let Some(reference) = reference {
        let dim = reference.len() / run.chunks.max(1);
        compare(&mut row, reference, &run.vectors, dim);
    }
    Ok(row)
}

/// Useful FLOPs of a BERT forward over texts of these token lengths (padding
/// excluded): per layer, the six linear layers (2·n·weights) plus attention
/// scores and context (2 · 2·n²·hidden).
pub fn workload_flops(cfg: &BertConfig, lengths: &[usize]) -> f64 {
    let h = cfg.hidden_size as f64;
    let linear = 4.0 * h * h + 2.0 * h * cfg.intermediate_size as f64;
    lengths
        .iter()
        .map(|&n| {
            let n = n as f64;
            cfg.num_hidden_layers as f64 * (2.0 * n * linear + 4.0 * n * n * h)
        })
        .sum()
}

fn print_table(rows: &[Row], flops: f64, peak: f64) {
    let opt = |v: Option<f64>, digits: usize| match v {
        Some(v) => format!("{v:.digits$}"),
        None => "—".to_owned(),
    };
    println!(
        "\n{:<26} {:>8} {:>9} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "embedder",
        "chunks/s",
        "tokens/s",
        "% f32 peak",
        "weights",
        "load s",
        "cos mean",
        "cos min",
        "top10",
        "nDCG@10",
        "R@10"
    );
    for r in rows {
        let achieved = flops / r.secs.max(1e-9);
        println!(
            "{:<26} {:>8.1} {:>9.0} {:>9.1}% {:>8} {:>8.2} {:>8} {:>8} {:>8} {:>8} {:>8}",
            r.name,
            r.chunks_per_sec(),
            r.tokens_per_sec(),
            100.0 * achieved / peak.max(1.0),
            r.weight_bytes
                .map_or("—".to_owned(), |b| format!("{:.1}MB", b as f64 / 1e6)),
            r.load_secs,
            opt(r.cos_mean, 4),
            opt(r.cos_min, 4),
            opt(r.top10_overlap, 3),
            opt(r.known_item.map(|k| k.ndcg), 4),
            opt(r.known_item.map(|k| k.recall), 3),
        );
    }
    println!(
        "\nworkload: {:.2} GFLOP useful work; measured f32 peak {:.1} GFLOP/s. cos/top10 are against hearth f32 \
         on the same texts; nDCG@10/R@10 on fixtures/known-item/manpages.jsonl.",
        flops / 1e9,
        peak / 1e9
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flops_of_minilm_per_token() {
        let cfg: BertConfig = serde_json::from_str(
            r#"{"vocab_size":30522,"hidden_size":384,"num_hidden_layers":6,"num_attention_heads":12,
            "intermediate_size":1536,"max_position_embeddings":512,"type_vocab_size":2,"layer_norm_eps":1e-12}"#,
        )
        .unwrap();
        // One token: 6 layers × 2 × (4·384² + 2·384·1536) + attention 6·4·384.
        let one = workload_flops(&cfg, &[1]);
        assert_eq!(
            one,
            6.0 * 2.0 * (4.0 * 384.0 * 384.0 + 2.0 * 384.0 * 1536.0) + 6.0 * 4.0 * 384.0
        );
        assert!(workload_flops(&cfg, &[100]) > 100.0 * one);
    }
}
