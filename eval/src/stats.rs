//! Analytics over an index's Parquet segments with polars (read-only: the store
//! is the only writer): live documents per source kind per month, the chunk
//! length distribution, and the index's size by component.
//!
//! Liveness is the store's own ([`hearth_store::Index::live_documents`]:
//! which segment holds each live document's live version), joined onto the
//! scanned tables, so the figures agree with `hearth status`, on a merged
//! index too.

use crate::EvalError;
use hearth_store::{Index, Manifest, StoreError};
use polars::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Chunk lengths are bucketed by this many characters in the histogram.
pub const LENGTH_BUCKET: u32 = 200;

/// Live documents of one source kind dated in one month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceMonth {
    /// Source kind (`mail`, `document`, `message`, `screenshot`).
    pub kind: String,
    /// `YYYY-MM` (UTC), or `undated`.
    pub month: String,
    /// Live documents of this kind in this month.
    pub documents: u64,
}

/// Distribution of live chunk lengths, in characters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LengthDistribution {
    /// Live chunks measured.
    pub chunks: u64,
    /// Mean chunk length, in characters.
    pub mean: f64,
    /// Median chunk length, in characters.
    pub p50: f64,
    /// 90th-percentile chunk length, in characters.
    pub p90: f64,
    /// 99th-percentile chunk length, in characters.
    pub p99: f64,
    /// Longest chunk, in characters.
    pub max: u64,
    /// `(bucket start, chunks)` for buckets of [`LENGTH_BUCKET`] characters.
    pub histogram: Vec<(u64, u64)>,
}

/// Bytes on disk of one part of the index.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Component {
    /// What the part is: `documents`, `chunk vectors (f32)`, `manifest`, ...
    pub name: String,
    /// Its size on disk, in bytes.
    pub bytes: u64,
}

/// What `hearth stats` shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexAnalytics {
    /// Live documents per source kind and month, sorted by kind then month.
    pub by_source_month: Vec<SourceMonth>,
    /// Distribution of the live chunks' lengths.
    pub chunk_lengths: LengthDistribution,
    /// On disk, by component (Parquet column sizes as stored, compressed).
    pub size_on_disk: Vec<Component>,
    /// Resident vector codes in memory: live and dead rows until compaction.
    pub codes_in_memory_bytes: u64,
}

use crate::polars_error as pl;

/// Computes the analytics of the index at `dir`.
///
/// ```no_run
/// let a = hearth_eval::stats::analyse("/home/me/.local/share/hearth/index".as_ref())?;
/// for row in &a.by_source_month {
///     println!("{} {} {}", row.kind, row.month, row.documents);
/// }
/// # Ok::<(), hearth_eval::EvalError>(())
/// ```
pub fn analyse(dir: &Path) -> Result<IndexAnalytics, EvalError> {
    let index = match Index::open(dir) {
        Ok(index) => index,
        Err(StoreError::NoIndex(_)) => {
            return Err(EvalError::Analytics(format!(
                "no index at {}",
                dir.display()
            )));
        }
        Err(e) => return Err(EvalError::Analytics(e.to_string())),
    };
    let manifest = index.manifest();
    let seg_dir = dir.join("segments");
    let path = |seq: u64, table: &str| seg_dir.join(format!("{seq:08}.{table}.parquet"));
    let scan = |p: PathBuf| {
        LazyFrame::scan_parquet(
            PlRefPath::try_from_path(&p).map_err(pl)?,
            ScanArgsParquet::default(),
        )
        .map_err(pl)
    };
    if manifest.segments.is_empty() {
        return Ok(IndexAnalytics {
            by_source_month: Vec::new(),
            chunk_lengths: LengthDistribution {
                chunks: 0,
                mean: 0.0,
                p50: 0.0,
                p90: 0.0,
                p99: 0.0,
                max: 0,
                histogram: Vec::new(),
            },
            size_on_disk: size_on_disk(dir, manifest),
            codes_in_memory_bytes: 0,
        });
    }
    let mut docs = Vec::new();
    let mut chunks = Vec::new();
    for seg in &manifest.segments {
        let seq = lit(seg.seq as i64).alias("seq");
        docs.push(scan(path(seg.seq, "documents"))?.select([
            col("doc_id"),
            col("kind"),
            col("timestamp"),
            seq.clone(),
        ]));
        chunks.push(scan(path(seg.seq, "chunks"))?.select([col("doc_id"), col("text"), seq]));
    }
    // Each live document in the segment holding its live version, as the
    // store decides it.
    let (ids, seqs): (Vec<&str>, Vec<i64>) = index
        .live_documents()
        .map(|(id, seq)| (id, seq as i64))
        .unzip();
    let live_keys = df!("doc_id" => ids, "seq" => seqs).map_err(pl)?.lazy();
    let live = concat(docs, UnionArgs::default())
        .map_err(pl)?
        .join(
            live_keys,
            [col("doc_id"), col("seq")],
            [col("doc_id"), col("seq")],
            JoinArgs::new(JoinType::Inner),
        )
        .select([col("doc_id"), col("kind"), col("timestamp"), col("seq")])
        .cache();

    let month = (col("timestamp") * lit(1000i64))
        .cast(DataType::Datetime(TimeUnit::Milliseconds, None))
        .dt()
        .strftime("%Y-%m")
        .fill_null(lit("undated"))
        .alias("month");
    let by_month = live
        .clone()
        .with_column(month)
        .group_by([col("kind"), col("month")])
        .agg([len().alias("documents")])
        .sort(["kind", "month"], SortMultipleOptions::default())
        .collect()
        .map_err(pl)?;
    let kinds = by_month.column("kind").map_err(pl)?.str().map_err(pl)?;
    let months = by_month.column("month").map_err(pl)?.str().map_err(pl)?;
    let counts = by_month
        .column("documents")
        .map_err(pl)?
        .cast(&DataType::UInt64)
        .map_err(pl)?;
    let counts = counts.u64().map_err(pl)?;
    let by_source_month = (0..by_month.height())
        .map(|i| SourceMonth {
            kind: kinds.get(i).unwrap_or_default().to_owned(),
            month: months.get(i).unwrap_or_default().to_owned(),
            documents: counts.get(i).unwrap_or_default(),
        })
        .collect();

    let lengths = concat(chunks, UnionArgs::default())
        .map_err(pl)?
        .join(
            live.select([col("doc_id"), col("seq")]),
            [col("doc_id"), col("seq")],
            [col("doc_id"), col("seq")],
            JoinArgs::new(JoinType::Inner),
        )
        .select([col("text")
            .str()
            .len_chars()
            .cast(DataType::UInt64)
            .alias("len")])
        .cache();
    let summary = lengths
        .clone()
        .select([
            len().cast(DataType::UInt64).alias("chunks"),
            col("len").cast(DataType::Float64).mean().alias("mean"),
            col("len")
                .cast(DataType::Float64)
                .quantile(lit(0.5), QuantileMethod::Linear)
                .alias("p50"),
            col("len")
                .cast(DataType::Float64)
                .quantile(lit(0.9), QuantileMethod::Linear)
                .alias("p90"),
            col("len")
                .cast(DataType::Float64)
                .quantile(lit(0.99), QuantileMethod::Linear)
                .alias("p99"),
            col("len").max().alias("max"),
        ])
        .collect()
        .map_err(pl)?;
    let f = |name: &str| -> Result<f64, EvalError> {
        Ok(summary
            .column(name)
            .map_err(pl)?
            .cast(&DataType::Float64)
            .map_err(pl)?
            .f64()
            .map_err(pl)?
            .get(0)
            .unwrap_or(0.0))
    };
    let bucket = u64::from(LENGTH_BUCKET);
    let histogram_df = lengths
        .select([((col("len") / lit(bucket)) * lit(bucket)).alias("bucket")])
        .group_by([col("bucket")])
        .agg([len().cast(DataType::UInt64).alias("chunks")])
        .sort(["bucket"], SortMultipleOptions::default())
        .collect()
        .map_err(pl)?;
    let b = histogram_df
        .column("bucket")
        .map_err(pl)?
        .u64()
        .map_err(pl)?;
    let c = histogram_df
        .column("chunks")
        .map_err(pl)?
        .u64()
        .map_err(pl)?;
    let histogram = (0..histogram_df.height())
        .filter_map(|i| Some((b.get(i)?, c.get(i)?)))
        .collect();
    let chunk_count = f("chunks")? as u64;
    let stored: u64 = manifest.segments.iter().map(|s| s.chunks).sum();
    let codes_in_memory_bytes =
        hearth_store::codec::VectorCodec::new(&manifest.codec, manifest.embedding.dimension)
            .map_or(0, |c| c.bytes_per_vector() as u64 * stored);
    Ok(IndexAnalytics {
        by_source_month,
        chunk_lengths: LengthDistribution {
            chunks: chunk_count,
            mean: f("mean")?,
            p50: f("p50")?,
            p90: f("p90")?,
            p99: f("p99")?,
            max: f("max")? as u64,
            histogram,
        },
        size_on_disk: size_on_disk(dir, manifest),
        codes_in_memory_bytes,
    })
}

/// Bytes of each component: document tables, chunk text and ids, chunk
/// vectors, keyword postings, manifest (Parquet column chunk sizes as stored).
fn size_on_disk(dir: &Path, manifest: &Manifest) -> Vec<Component> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let seg_dir = dir.join("segments");
    let file_len = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let (mut documents, mut text, mut vectors, mut postings) = (0, 0, 0, 0);
    for seg in &manifest.segments {
        let name = |t: &str| seg_dir.join(format!("{:08}.{t}.parquet", seg.seq));
        documents += file_len(&name("documents"));
        postings += file_len(&name("postings"));
        let chunks = name("chunks");
        let total = file_len(&chunks);
        let embedding = std::fs::File::open(&chunks)
            .ok()
            .and_then(|f| SerializedFileReader::new(f).ok())
            .map_or(0, |r| {
                r.metadata()
                    .row_groups()
                    .iter()
                    .flat_map(|g| g.columns())
                    .filter(|c| {
                        c.column_path()
                            .parts()
                            .first()
                            .is_some_and(|p| p == "embedding")
                    })
                    .map(|c| c.compressed_size().max(0) as u64)
                    .sum()
            });
        vectors += embedding;
        text += total.saturating_sub(embedding);
    }
    vec![
        Component {
            name: "documents".into(),
            bytes: documents,
        },
        Component {
            name: "chunk text and ids".into(),
            bytes: text,
        },
        Component {
            name: "chunk vectors (f32)".into(),
            bytes: vectors,
        },
        Component {
            name: "keyword postings".into(),
            bytes: postings,
        },
        Component {
            name: "manifest".into(),
            bytes: file_len(&dir.join("manifest.json")),
        },
    ]
}
