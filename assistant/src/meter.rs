//! Metering: one record per generation call, local or cloud, written as
//! Parquet under the data directory for the eval harness.
//!
//! A record says which tier served the call and why, how many tokens went in
//! and out, the time to first token and in total, the process's peak resident
//! memory, what the call cost by the configured [`PriceTable`], and — for
//! cloud calls — how many bytes left the machine and how many values the
//! redactor replaced. Each [`MeterLog::append`] writes one immutable file
//! (`metering/<millis>-<pid>-<n>.parquet`, renamed into place), so a crash
//! never leaves a half-written log and readers glob the directory.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::builder::{Float64Builder, StringBuilder, UInt32Builder, UInt64Builder};
use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};

use crate::AssistantError;

/// Directory of the metering log inside the data directory.
pub const METERING_DIR: &str = "metering";

/// One generation call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeterRecord {
    /// Shared by every call made for one request (a cascade makes several).
    pub request_id: String,
    /// Unix time in milliseconds when the call started.
    pub started_ms: i64,
    /// `micro`, `local`, `larger` or `cloud`.
    pub tier: String,
    /// Model id (file or cloud model name).
    pub model: String,
    /// Why the router sent the request to this tier.
    pub route_reason: String,
    /// What happened: `answered`, `escalated` (a later tier took over) or
    /// `error: …`.
    pub outcome: String,
    /// Tokens of the prompt (the endpoint's count, or an estimate, for the cloud).
    pub prompt_tokens: u32,
    /// Tokens generated (the endpoint's count, or an estimate, for the cloud).
    pub completion_tokens: u32,
    /// Time to first token, milliseconds.
    pub ttft_ms: f64,
    /// Whole call, milliseconds.
    pub latency_ms: f64,
    /// Peak resident set size of the process after the call, bytes (0 where
    /// the platform does not report it).
    pub peak_rss_bytes: u64,
    /// Cost of the call by the price table, US dollars.
    pub cost_usd: f64,
    /// Bytes sent to a cloud endpoint (0 for local tiers).
    pub bytes_sent: u64,
    /// Values the redactor replaced before the call (0 for local tiers).
    pub redactions: u32,
    /// The exact request body sent to a cloud endpoint — already redacted,
    /// so the log shows what left the machine without holding personal data
    /// (empty for local tiers).
    pub payload: String,
}

/// What a tier costs.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Price {
    /// Dollars per million prompt tokens.
    #[serde(default)]
    pub input_per_mtok: f64,
    /// Dollars per million completion tokens.
    #[serde(default)]
    pub output_per_mtok: f64,
    /// Dollars per second of generation: the energy price of a local tier
    /// (watts × price per joule), zero by default.
    #[serde(default)]
    pub per_second: f64,
}

impl Price {
    /// The cost of one call.
    pub fn cost(&self, prompt_tokens: u32, completion_tokens: u32, seconds: f64) -> f64 {
        self.input_per_mtok * f64::from(prompt_tokens) / 1e6
            + self.output_per_mtok * f64::from(completion_tokens) / 1e6
            + self.per_second * seconds
    }
}

/// Prices per tier name (`[prices.cloud]` etc. in the config); a tier that
/// is not listed costs nothing.
///
/// ```
/// use hearth_assistant::meter::{Price, PriceTable};
/// let mut prices = PriceTable::default();
/// prices.set("cloud", Price { input_per_mtok: 0.15, output_per_mtok: 0.60, per_second: 0.0 });
/// let cost = prices.cost("cloud", 1_000, 200, 1.5);
/// assert!((cost - (0.15e-3 + 0.12e-3)).abs() < 1e-12);
/// assert_eq!(prices.cost("micro", 1_000, 200, 1.5), 0.0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PriceTable(BTreeMap<String, Price>);

impl PriceTable {
    /// Sets `tier`'s price.
    pub fn set(&mut self, tier: &str, price: Price) {
        self.0.insert(tier.to_owned(), price);
    }

    /// `tier`'s price (zero when unlisted).
    pub fn price(&self, tier: &str) -> Price {
        self.0.get(tier).copied().unwrap_or_default()
    }

    /// The cost of one call on `tier`.
    pub fn cost(&self, tier: &str, prompt: u32, completion: u32, seconds: f64) -> f64 {
        self.price(tier).cost(prompt, completion, seconds)
    }
}

/// The process's peak resident set size in bytes, where the OS reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Starts a new peak: after this, [`peak_rss_bytes`] reports the highest
/// resident set size from now on (Linux: `5` to `/proc/self/clear_refs`).
/// Returns whether the OS supports it.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The metering log of one data directory.
#[derive(Debug, Clone)]
pub struct MeterLog {
    dir: PathBuf,
}

/// Files written by this process, to keep names distinct within a millisecond.
static WRITTEN: AtomicU64 = AtomicU64::new(0);

impl MeterLog {
    /// The log under `data_dir/metering` (created on first append).
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join(METERING_DIR),
        }
    }

    /// The directory holding the log's Parquet files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The Arrow schema of the log.
    pub fn schema() -> SchemaRef {
        let s = |name| Field::new(name, DataType::Utf8, false);
        let u32f = |name| Field::new(name, DataType::UInt32, false);
        let u64f = |name| Field::new(name, DataType::UInt64, false);
        let f64f = |name| Field::new(name, DataType::Float64, false);
        Arc::new(Schema::new(vec![
            s("request_id"),
            Field::new("started_ms", DataType::Int64, false),
            s("tier"),
            s("model"),
            s("route_reason"),
            s("outcome"),
            u32f("prompt_tokens"),
            u32f("completion_tokens"),
            f64f("ttft_ms"),
            f64f("latency_ms"),
            u64f("peak_rss_bytes"),
            f64f("cost_usd"),
            u64f("bytes_sent"),
            u32f("redactions"),
            s("payload"),
        ]))
    }

    /// Writes `records` as one new Parquet file and returns its path.
    pub fn append(&self, records: &[MeterRecord]) -> Result<PathBuf, AssistantError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| AssistantError::Io { path, source }
        };
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let n = WRITTEN.fetch_add(1, Ordering::Relaxed);
        let now = chrono::Utc::now().timestamp_millis();
        let path = self
            .dir
            .join(format!("{now:013}-{}-{n}.parquet", std::process::id()));
        let tmp = path.with_extension("parquet.tmp");
        let batch = to_batch(records)?;
        let file = File::create(&tmp).map_err(io(&tmp))?;
        let mut writer = ArrowWriter::try_new(file, Self::schema(), None).map_err(meter_err)?;
        writer.write(&batch).map_err(meter_err)?;
        let file = writer.into_inner().map_err(meter_err)?;
        file.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        Ok(path)
    }

    /// Every record in the log, oldest file first.
    pub fn read_all(&self) -> Result<Vec<MeterRecord>, AssistantError> {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(AssistantError::Io {
                    path: self.dir.clone(),
                    source,
                });
            }
        };
        files.sort();
        let mut out = Vec::new();
        for path in files {
            let file = File::open(&path).map_err(|source| AssistantError::Io {
                path: path.clone(),
                source,
            })?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .and_then(|b| b.build())
                .map_err(meter_err)?;
            for batch in reader {
                out.extend(from_batch(&batch.map_err(|e| meter_err(e.into()))?)?);
            }
        }
        Ok(out)
    }
}

fn meter_err(e: parquet::errors::ParquetError) -> AssistantError {
    AssistantError::Metering(e.to_string())
}

fn to_batch(records: &[MeterRecord]) -> Result<RecordBatch, AssistantError> {
    let strings = |f: fn(&MeterRecord) -> &str| -> ArrayRef {
        let mut b = StringBuilder::new();
        records.iter().for_each(|r| b.append_value(f(r)));
        Arc::new(b.finish())
    };
    let u32s = |f: fn(&MeterRecord) -> u32| -> ArrayRef {
        let mut b = UInt32Builder::new();
        records.iter().for_each(|r| b.append_value(f(r)));
        Arc::new(b.finish())
    };
    let u64s = |f: fn(&MeterRecord) -> u64| -> ArrayRef {
        let mut b = UInt64Builder::new();
        records.iter().for_each(|r| b.append_value(f(r)));
        Arc::new(b.finish())
    };
    let f64s = |f: fn(&MeterRecord) -> f64| -> ArrayRef {
        let mut b = Float64Builder::new();
        records.iter().for_each(|r| b.append_value(f(r)));
        Arc::new(b.finish())
    };
    let columns: Vec<ArrayRef> = vec![
        strings(|r| &r.request_id),
        Arc::new(Int64Array::from_iter_values(
            records.iter().map(|r| r.started_ms),
        )),
        strings(|r| &r.tier),
        strings(|r| &r.model),
        strings(|r| &r.route_reason),
        strings(|r| &r.outcome),
        u32s(|r| r.prompt_tokens),
        u32s(|r| r.completion_tokens),
        f64s(|r| r.ttft_ms),
        f64s(|r| r.latency_ms),
        u64s(|r| r.peak_rss_bytes),
        f64s(|r| r.cost_usd),
        u64s(|r| r.bytes_sent),
        u32s(|r| r.redactions),
        strings(|r| &r.payload),
    ];
    RecordBatch::try_new(MeterLog::schema(), columns)
        .map_err(|e| AssistantError::Metering(e.to_string()))
}

fn from_batch(batch: &RecordBatch) -> Result<Vec<MeterRecord>, AssistantError> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type, UInt32Type, UInt64Type};
    let col = |name: &str| {
        batch
            .column_by_name(name)
            .ok_or_else(|| AssistantError::Metering(format!("metering file lacks `{name}`")))
    };
    let bad = |name: &str| {
        AssistantError::Metering(format!("metering column `{name}` has the wrong type"))
    };
    let s = |name: &str| col(name)?.as_string_opt::<i32>().ok_or_else(|| bad(name));
    let u32c = |name: &str| {
        col(name)?
            .as_primitive_opt::<UInt32Type>()
            .ok_or_else(|| bad(name))
    };
    let u64c = |name: &str| {
        col(name)?
            .as_primitive_opt::<UInt64Type>()
            .ok_or_else(|| bad(name))
    };
    let f64c = |name: &str| {
        col(name)?
            .as_primitive_opt::<Float64Type>()
            .ok_or_else(|| bad(name))
    };
    let (request_id, tier, model, reason, outcome) = (
        s("request_id")?,
        s("tier")?,
        s("model")?,
        s("route_reason")?,
        s("outcome")?,
    );
    let started = col("started_ms")?
        .as_primitive_opt::<Int64Type>()
        .ok_or_else(|| bad("started_ms"))?;
    let (prompt, completion, redactions) = (
        u32c("prompt_tokens")?,
        u32c("completion_tokens")?,
        u32c("redactions")?,
    );
    let (rss, sent) = (u64c("peak_rss_bytes")?, u64c("bytes_sent")?);
    let (ttft, latency, cost) = (f64c("ttft_ms")?, f64c("latency_ms")?, f64c("cost_usd")?);
    // Logs written before the payload column existed read as empty payloads.
    let payload = match batch.column_by_name("payload") {
        Some(c) => Some(c.as_string_opt::<i32>().ok_or_else(|| bad("payload"))?),
        None => None,
    };
    Ok((0..batch.num_rows())
        .map(|i| MeterRecord {
            request_id: request_id.value(i).to_owned(),
            started_ms: started.value(i),
            tier: tier.value(i).to_owned(),
            model: model.value(i).to_owned(),
            route_reason: reason.value(i).to_owned(),
            outcome: outcome.value(i).to_owned(),
            prompt_tokens: prompt.value(i),
            completion_tokens: completion.value(i),
            ttft_ms: ttft.value(i),
            latency_ms: latency.value(i),
            peak_rss_bytes: rss.value(i),
            cost_usd: cost.value(i),
            bytes_sent: sent.value(i),
            redactions: redactions.value(i),
            payload: payload.map_or_else(String::new, |p| p.value(i).to_owned()),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(tier: &str, n: u32) -> MeterRecord {
        MeterRecord {
            request_id: format!("req-{n}"),
            started_ms: 1_764_000_000_000 + i64::from(n),
            tier: tier.into(),
            model: "m".into(),
            route_reason: "forced".into(),
            outcome: "answered".into(),
            prompt_tokens: 100 + n,
            completion_tokens: 20,
            ttft_ms: 12.5,
            latency_ms: 250.0,
            peak_rss_bytes: 1 << 20,
            cost_usd: 0.0,
            bytes_sent: 0,
            redactions: n,
            payload: if tier == "cloud" {
                "{\"model\":\"m\"}".into()
            } else {
                String::new()
            },
        }
    }

    #[test]
    fn records_round_trip_through_parquet_files() {
        let dir = tempfile::tempdir().unwrap();
        let log = MeterLog::new(dir.path());
        assert!(log.read_all().unwrap().is_empty());
        let first = vec![record("micro", 1), record("local", 2)];
        let second = vec![record("cloud", 3)];
        log.append(&first).unwrap();
        log.append(&second).unwrap();
        let all = log.read_all().unwrap();
        assert_eq!(all, [first, second].concat());
        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(log.dir()).unwrap().collect();
        assert_eq!(names.len(), 2);
    }

    #[test]
    fn peak_rss_is_reported_and_reset_on_linux() {
        if cfg!(target_os = "linux") {
            // Large against what other tests in this process may allocate meanwhile.
            let big = vec![1u8; 256 << 20];
            std::hint::black_box(&big);
            let before = peak_rss_bytes().unwrap();
            drop(big);
            assert!(reset_peak_rss());
            let after = peak_rss_bytes().unwrap();
            assert!(after > 1 << 20);
            assert!(after + (128 << 20) < before, "{after} vs {before}");
        }
    }
}
