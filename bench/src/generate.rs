//! `hearth bench generate`: the local generator tiers on this CPU — load time,
//! memory added by the loaded model, prefill and decode tokens/s — set against
//! the memory-bandwidth bound on decoding (every decoded token reads all the
//! weights once, so tok/s ≤ bandwidth / weight bytes per token), next to
//! llama.cpp's `llama-bench` on the very same GGUF files in the same run.
//!
//! llama.cpp is no package any registry here ships prebuilt, so
//! `scripts/install-generate-baseline.sh` builds `llama-bench` (CPU only) on
//! first use from the llama.cpp sources vendored in the pinned
//! `llama-cpp-python` sdist from PyPI. A baseline that cannot be built or run is
//! reported, and Hearth's rows are printed all the same.

use crate::roofline::{self, MemoryBandwidth};
use anyhow::{Context as _, Result, bail};
use hearth_app::Hearth as Context;
use hearth_assistant::{Engine, Generator, GeneratorConfig, Tier};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Options of `hearth bench generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateBench {
    /// Tiers to measure, e.g. `micro,local` [default: micro and local, plus
    /// larger when it is installed]. Tiers named here are installed if missing.
    #[arg(long, value_delimiter = ',')]
    pub tiers: Option<Vec<String>>,
    /// Prompt tokens prefilled per run.
    #[arg(long, default_value_t = 400)]
    pub prompt_tokens: usize,
    /// Tokens decoded greedily per run, after the prompt (stop tokens ignored).
    #[arg(long, default_value_t = 128)]
    pub gen_tokens: usize,
    /// Runs per tier and engine; medians are reported.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Hearth's engines to measure: `hearth` (its own runtime, the default
    /// engine) and `candle` (the reference, with slow weight types converted
    /// to Q8_0 as before the own runtime).
    #[arg(long, value_delimiter = ',', default_value = "hearth,candle")]
    pub engines: Vec<String>,
    /// Skip the llama.cpp baseline.
    #[arg(long)]
    pub no_baseline: bool,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

/// One engine on one tier.
#[derive(Debug, Serialize)]
struct Row {
    engine: String,
    tier: Tier,
    model: String,
    load_secs: Option<f64>,
    /// Resident memory the loaded model added (VmRSS after − before).
    rss_added_bytes: Option<u64>,
    prompt_tokens: usize,
    prefill_tokens_per_sec: f64,
    gen_tokens: usize,
    decode_tokens_per_sec: f64,
    /// Weight bytes read per decoded token: Hearth's tensors as loaded (Q8_0
    /// where converted); llama.cpp's `model_size`.
    weight_bytes_per_token: Option<u64>,
    /// Time to the first token's logits for the prompt plus a question, on
    /// an empty cache.
    ttft_cold_ms: Option<f64>,
    /// The same prompt with another question right after: what prompt-prefix
    /// reuse leaves (candle recomputes everything).
    ttft_warm_ms: Option<f64>,
    /// Prompt tokens the warm call reused.
    reused_tokens: Option<usize>,
    /// Bandwidth / weight bytes per token.
    decode_bound_tokens_per_sec: Option<f64>,
    percent_of_bound: Option<f64>,
}

impl Row {
    fn set_bound(&mut self, bandwidth: f64) {
        if let Some(bytes) = self.weight_bytes_per_token.filter(|&b| b > 0) {
            let bound = bandwidth / bytes as f64;
            self.decode_bound_tokens_per_sec = Some(bound);
            self.percent_of_bound = Some(100.0 * self.decode_tokens_per_sec / bound.max(1e-9));
        }
    }
}

/// The whole report (`--json`).
#[derive(Debug, Serialize)]
struct Report {
    bandwidth_bytes_per_sec: MemoryBandwidth,
    bandwidth_working_set_bytes: usize,
    bandwidth_threads: usize,
    generator_threads: usize,
    prompt_tokens: usize,
    gen_tokens: usize,
    repeats: usize,
    rows: Vec<Row>,
    /// The llama.cpp build used, or why there is none.
    baseline: Option<String>,
    baseline_error: Option<String>,
}

/// Runs `hearth bench generate`.
pub fn run(ctx: &Context, args: &GenerateBench) -> Result<()> {
    anyhow::ensure!(args.prompt_tokens > 0, "--prompt-tokens must be at least 1");
    anyhow::ensure!(args.gen_tokens > 0, "--gen-tokens must be at least 1");
    let repeats = args.repeats.max(1);
    let tiers = pick_tiers(ctx, args.tiers.as_deref())?;
    let mut models = Vec::new();
    for tier in tiers {
        let dir = ctx.models().ensure(tier.model_name())?;
        models.push((tier, dir.join(tier.gguf_file())));
    }
    let threads = Generator::compute_threads();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    // The machine's ceiling first, before any model is resident.
    let working_set = roofline::default_working_set();
    eprintln!(
        "measuring memory bandwidth ({cores} threads, {} MB working set)…",
        working_set >> 20
    );
    let bandwidth = roofline::memory_bandwidth(cores, working_set, Duration::from_secs(1));
    eprintln!(
        "memory bandwidth: copy {:.1} GB/s, triad {:.1} GB/s",
        bandwidth.copy / 1e9,
        bandwidth.triad / 1e9
    );

    let engines = args
        .engines
        .iter()
        .map(|e| {
            Engine::parse(e).with_context(|| format!("--engines {e}: expected hearth or candle"))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut rows = Vec::new();
    for (tier, path) in &models {
        for &engine in &engines {
            eprintln!("measuring {engine} {tier} ({})…", path.display());
            rows.push(measure_hearth(*tier, path, args, repeats, engine)?);
        }
    }

    let (mut baseline, mut baseline_error) = (None, None);
    if !args.no_baseline {
        match llama_bench() {
            Ok(bench) => {
                baseline = Some(format!("llama.cpp {}", bench.display()));
                for (tier, path) in &models {
                    eprintln!("measuring llama.cpp {tier}…");
                    match measure_llama(&bench, *tier, path, args, repeats, threads) {
                        Ok(row) => rows.push(row),
                        Err(err) => {
                            eprintln!("llama.cpp on {tier} not measured: {err:#}");
                            baseline_error.get_or_insert_with(|| format!("{tier}: {err:#}"));
                        }
                    }
                }
            }
            Err(err) => {
                eprintln!("outside baseline not measured: {err:#}");
                baseline_error = Some(format!("{err:#}"));
            }
        }
    }
    // Hearth and llama.cpp side by side per tier.
    rows.sort_by_key(|r| r.tier);
    for row in &mut rows {
        row.set_bound(bandwidth.best());
    }

    let report = Report {
        bandwidth_bytes_per_sec: bandwidth,
        bandwidth_working_set_bytes: working_set,
        bandwidth_threads: cores,
        generator_threads: threads,
        prompt_tokens: args.prompt_tokens,
        gen_tokens: args.gen_tokens,
        repeats,
        rows,
        baseline,
        baseline_error,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

/// The tiers named (installed if missing), else micro + local and larger when
/// it is already installed.
fn pick_tiers(ctx: &Context, named: Option<&[String]>) -> Result<Vec<Tier>> {
    let mut tiers = match named {
        Some(names) => names
            .iter()
            .map(|n| n.parse::<Tier>().with_context(|| format!("--tiers {n}")))
            .collect::<Result<Vec<_>>>()?,
        None => {
            let mut t = vec![Tier::Micro, Tier::Local];
            let larger = ctx.models().catalog().get(Tier::Larger.model_name())?;
            if ctx.models().registry().locate(larger).is_ok() {
                t.push(Tier::Larger);
            }
            t
        }
    };
    tiers.sort();
    tiers.dedup();
    anyhow::ensure!(!tiers.is_empty(), "no tiers to measure");
    Ok(tiers)
}

/// Loads the tier's model (timing it and the resident memory it adds), then
/// prefills the fixed prompt and decodes greedily `repeats` times.
fn measure_hearth(
    tier: Tier,
    path: &Path,
    args: &GenerateBench,
    repeats: usize,
    engine: Engine,
) -> Result<Row> {
    let mut generator = Generator::from_path(path).with_config(GeneratorConfig {
        engine,
        ..GeneratorConfig::default()
    });
    let before = resident_bytes();
    let t = Instant::now();
    generator.load()?;
    let load_secs = t.elapsed().as_secs_f64();
    let after = resident_bytes();
    let prompt = fixed_prompt(&mut generator, args.prompt_tokens)?;
    // Warm-up: first-use allocations and thread start-up are not measured.
    generator.time_forward(&prompt[..prompt.len().min(32)], 4)?;
    let mut prefill = Vec::with_capacity(repeats);
    let mut decode = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let (p, d) = generator.time_forward(&prompt, args.gen_tokens)?;
        prefill.push(rate(prompt.len(), p));
        decode.push(rate(args.gen_tokens, d));
    }
    // Prefix reuse: the prompt as a shared context, then two questions.
    let tokenizer = generator.tokenizer()?;
    let ask = |q: &str| -> Result<Vec<u32>> {
        let mut p = prompt.clone();
        p.extend(tokenizer.encode_plain(q)?);
        Ok(p)
    };
    let (first, second) = (
        ask(" Question: when did the remodel start?")?,
        ask(" Question: who replaced the consumer unit?")?,
    );
    let (mut cold, mut warm, mut reused) = (Vec::new(), Vec::new(), 0);
    for _ in 0..repeats {
        generator.clear_cache();
        cold.push(generator.time_prefill(&first)?.0.as_secs_f64() * 1e3);
        let (t, n) = generator.time_prefill(&second)?;
        warm.push(t.as_secs_f64() * 1e3);
        reused = n;
    }
    Ok(Row {
        ttft_cold_ms: Some(median(&mut cold)),
        ttft_warm_ms: Some(median(&mut warm)),
        reused_tokens: Some(reused),
        engine: match engine {
            Engine::Hearth => "hearth".to_owned(),
            Engine::Candle => "hearth/candle".to_owned(),
        },
        tier,
        model: tier.model_name().to_owned(),
        load_secs: Some(load_secs),
        rss_added_bytes: before.zip(after).map(|(b, a)| a.saturating_sub(b)),
        prompt_tokens: prompt.len(),
        prefill_tokens_per_sec: median(&mut prefill),
        gen_tokens: args.gen_tokens,
        decode_tokens_per_sec: median(&mut decode),
        weight_bytes_per_token: generator.weight_bytes(),
        decode_bound_tokens_per_sec: None,
        percent_of_bound: None,
    })
}

/// Fixed English prose, repeated as needed: the prompt every tier prefills.
const PROMPT_TEXT: &str = "The kitchen remodel started in March. The contractor measured the \
room twice, once before the old cabinets came out and once after, because the wall behind the \
sink was not straight. The quote covered new cabinets, a quartz worktop, tiling to the ceiling \
on the window wall and moving the boiler flue, and it was valid for thirty days. The tiles were \
ordered from a supplier in the next town; delivery was promised for the second week of April, \
then moved to the third because one pallet arrived cracked. Meanwhile the electrician replaced \
the consumer unit, added two circuits for the oven and the induction hob, and left a note \
asking for the under-cabinet lights to be chosen before the plasterer came. The boiler service \
was booked for the same week, which meant two vans in a narrow street and a neighbour who was \
not pleased. Invoices came in three parts: a deposit, a payment when the carcasses were fitted, \
and the balance after the snagging list was cleared. ";

/// Exactly `n` token ids of [`PROMPT_TEXT`] under the model's tokenizer.
fn fixed_prompt(generator: &mut Generator, n: usize) -> Result<Vec<u32>> {
    let tokenizer = generator.tokenizer()?;
    let once = tokenizer.encode_plain(PROMPT_TEXT)?.len();
    anyhow::ensure!(once > 0, "the prompt text encodes to no tokens");
    let text = PROMPT_TEXT.repeat(n.div_ceil(once) + 1);
    let mut ids = tokenizer.encode_plain(&text)?;
    anyhow::ensure!(ids.len() >= n, "prompt of {} tokens, {n} wanted", ids.len());
    ids.truncate(n);
    Ok(ids)
}

/// This process's resident set (`VmRSS`), on Linux.
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_rss(&status)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

fn rate(tokens: usize, time: Duration) -> f64 {
    let secs = time.as_secs_f64();
    if secs > 0.0 {
        tokens as f64 / secs
    } else {
        0.0
    }
}

/// Median of `values` (NaNs last; 0 when empty).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// `$HEARTH_LLAMA_BENCH`, else the cached build, built first if needed by
/// `scripts/install-generate-baseline.sh` (which prints its path last).
fn llama_bench() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("HEARTH_LLAMA_BENCH") {
        return Ok(PathBuf::from(p));
    }
    let dir = hearth_embed::ModelRegistry::default_root()
        .parent()
        .map_or_else(|| PathBuf::from(".cache/hearth"), Path::to_path_buf)
        .join("llama.cpp");
    let script = crate::share_path("scripts/install-generate-baseline.sh")?;
    eprintln!(
        "checking the llama.cpp baseline in {} ({}; the first build takes a while)…",
        dir.display(),
        script.display()
    );
    let out = Command::new("bash")
        .arg(&script)
        .arg(&dir)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!("{} failed ({})", script.display(), out.status);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let path = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| PathBuf::from(l.trim()))
        .with_context(|| format!("{} printed no path", script.display()))?;
    anyhow::ensure!(path.is_file(), "{} is not a file", path.display());
    Ok(path)
}

/// One result object of `llama-bench -o json` (see its README: `n_prompt`,
/// `n_gen`, `avg_ts`, `samples_ts`, `model_size`, …).
#[derive(Debug, Deserialize)]
struct LlamaResult {
    #[serde(default)]
    build_commit: String,
    #[serde(default)]
    build_number: i64,
    n_prompt: usize,
    n_gen: usize,
    avg_ts: f64,
    #[serde(default)]
    samples_ts: Vec<f64>,
    #[serde(default)]
    model_size: u64,
}

impl LlamaResult {
    fn median_ts(&self) -> f64 {
        let mut s = self.samples_ts.clone();
        if s.is_empty() {
            self.avg_ts
        } else {
            median(&mut s)
        }
    }
}

/// llama-bench on the tier's file: prefill of the prompt length at depth 0,
/// then decoding at the prompt's depth (as Hearth decodes after its prompt).
fn measure_llama(
    bench: &Path,
    tier: Tier,
    path: &Path,
    args: &GenerateBench,
    repeats: usize,
    threads: usize,
) -> Result<Row> {
    let p = args.prompt_tokens.to_string();
    let n = args.gen_tokens.to_string();
    let prefill = run_llama(bench, path, &["-p", &p, "-n", "0"], repeats, threads)?;
    let decode = run_llama(
        bench,
        path,
        &["-p", "0", "-n", &n, "-d", &p],
        repeats,
        threads,
    )?;
    let pp = prefill
        .iter()
        .find(|r| r.n_prompt > 0 && r.n_gen == 0)
        .context("llama-bench reported no prompt-processing test")?;
    let tg = decode
        .iter()
        .find(|r| r.n_gen > 0 && r.n_prompt == 0)
        .context("llama-bench reported no generation test")?;
    Ok(Row {
        engine: format!("llama.cpp {}", build_label(tg)),
        tier,
        model: tier.model_name().to_owned(),
        load_secs: None,
        rss_added_bytes: None,
        prompt_tokens: pp.n_prompt,
        prefill_tokens_per_sec: pp.median_ts(),
        gen_tokens: tg.n_gen,
        decode_tokens_per_sec: tg.median_ts(),
        weight_bytes_per_token: Some(tg.model_size).filter(|&b| b > 0),
        ttft_cold_ms: None,
        ttft_warm_ms: None,
        reused_tokens: None,
        decode_bound_tokens_per_sec: None,
        percent_of_bound: None,
    })
}

/// The llama.cpp commit (what the sdist vendors), else its build number.
fn build_label(r: &LlamaResult) -> String {
    match (r.build_commit.as_str(), r.build_number) {
        ("", n) => format!("b{n}"),
        (c, _) => c.chars().take(8).collect(),
    }
}

fn run_llama(
    bench: &Path,
    model: &Path,
    test: &[&str],
    repeats: usize,
    threads: usize,
) -> Result<Vec<LlamaResult>> {
    let out = Command::new(bench)
        .arg("-m")
        .arg(model)
        .args(test)
        .arg("-t")
        .arg(threads.to_string())
        .arg("-r")
        .arg(repeats.to_string())
        .args(["-o", "json"])
        .output()
        .with_context(|| format!("running {}", bench.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        bail!(
            "llama-bench failed ({}): {}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        );
    }
    parse_llama_json(&String::from_utf8_lossy(&out.stdout))
}

/// llama-bench's `-o json` output: one array of result objects.
fn parse_llama_json(text: &str) -> Result<Vec<LlamaResult>> {
    // Anything printed before the array (a warning) is skipped.
    let start = text
        .find('[')
        .context("llama-bench printed no JSON array")?;
    serde_json::from_str(&text[start..]).context("parsing llama-bench JSON")
}

fn print_table(report: &Report) {
    let opt = |v: Option<f64>, digits: usize| match v {
        Some(v) => format!("{v:.digits$}"),
        None => "—".to_owned(),
    };
    println!(
        "\n{:<18} {:<6} {:>7} {:>8} {:>9} {:>10} {:>10} {:>10} {:>8} {:>9} {:>9}",
        "engine",
        "tier",
        "load s",
        "+RSS MB",
        "MB/token",
        "prefill/s",
        "decode/s",
        "bound/s",
        "% bound",
        "ttft ms",
        "reuse ms"
    );
    for r in &report.rows {
        println!(
            "{:<18} {:<6} {:>7} {:>8} {:>9} {:>10.1} {:>10.1} {:>10} {:>8} {:>9} {:>9}",
            r.engine,
            r.tier.as_str(),
            opt(r.load_secs, 2),
            opt(r.rss_added_bytes.map(|b| b as f64 / 1e6), 0),
            opt(r.weight_bytes_per_token.map(|b| b as f64 / 1e6), 1),
            r.prefill_tokens_per_sec,
            r.decode_tokens_per_sec,
            opt(r.decode_bound_tokens_per_sec, 1),
            r.percent_of_bound
                .map_or("—".to_owned(), |p| format!("{p:.1}%")),
            opt(r.ttft_cold_ms, 0),
            opt(r.ttft_warm_ms, 0),
        );
    }
    let bw = &report.bandwidth_bytes_per_sec;
    println!(
        "\nprompt {} tokens, then {} greedy tokens decoded after it (stop tokens ignored); median of {} runs; \
         generators on {} threads.",
        report.prompt_tokens, report.gen_tokens, report.repeats, report.generator_threads
    );
    println!(
        "ttft ms: prefill of the prompt + a question on an empty cache; reuse ms: the same prompt + \
         another question right after (Hearth's engine reuses the cached prompt prefix)."
    );
    println!(
        "memory bandwidth (measured now, {} threads, {} MB): copy {:.1} GB/s, triad {:.1} GB/s; \
         bound/s = {:.1} GB/s ÷ weight bytes per token.",
        report.bandwidth_threads,
        report.bandwidth_working_set_bytes >> 20,
        bw.copy / 1e9,
        bw.triad / 1e9,
        bw.best() / 1e9
    );
    match (&report.baseline, &report.baseline_error) {
        (_, Some(err)) => println!("llama.cpp baseline: not (fully) measured: {err}"),
        (Some(b), None) => println!("baseline: {b} (MB/token is its model_size)."),
        (None, None) => println!("llama.cpp baseline skipped (--no-baseline)."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_rates() {
        assert_eq!(median(&mut []), 0.0);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(rate(10, Duration::ZERO), 0.0);
        assert_eq!(rate(10, Duration::from_secs(2)), 5.0);
    }

    #[test]
    fn vm_rss_is_read_in_bytes() {
        let status = "Name:\thearth\nVmPeak:\t  2000 kB\nVmRSS:\t  1500 kB\n";
        assert_eq!(parse_vm_rss(status), Some(1500 * 1024));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
    }

    #[test]
    fn llama_bench_json_is_parsed() {
        let text = r#"warning: something
[
  {"build_commit": "8cf427ff", "build_number": 5163, "model_size": 4677120000,
   "n_prompt": 512, "n_gen": 0, "n_depth": 0, "avg_ts": 7100.0, "stddev_ts": 140.3,
   "samples_ts": [ 6863.1, 7147.55, 7136.37 ]},
  {"build_commit": "8cf427ff", "build_number": 0, "model_size": 4677120000,
   "n_prompt": 0, "n_gen": 128, "avg_ts": 118.9},
  {"build_commit": "", "build_number": 42, "n_prompt": 0, "n_gen": 1, "avg_ts": 1.0}
]"#;
        let rows = parse_llama_json(text).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].median_ts(), 7136.37);
        assert_eq!(rows[1].median_ts(), 118.9);
        assert_eq!(build_label(&rows[0]), "8cf427ff");
        assert_eq!(build_label(&rows[2]), "b42");
        assert!(parse_llama_json("no json").is_err());
    }

    #[test]
    fn the_bound_follows_bandwidth_and_bytes() {
        let mut row = Row {
            engine: "hearth".into(),
            tier: Tier::Micro,
            model: "m".into(),
            load_secs: None,
            rss_added_bytes: None,
            prompt_tokens: 400,
            prefill_tokens_per_sec: 1.0,
            gen_tokens: 128,
            decode_tokens_per_sec: 50.0,
            weight_bytes_per_token: Some(100_000_000),
            ttft_cold_ms: None,
            ttft_warm_ms: None,
            reused_tokens: None,
            decode_bound_tokens_per_sec: None,
            percent_of_bound: None,
        };
        row.set_bound(10e9);
        assert_eq!(row.decode_bound_tokens_per_sec, Some(100.0));
        assert_eq!(row.percent_of_bound, Some(50.0));
    }
}
