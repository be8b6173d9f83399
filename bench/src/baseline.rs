//! The outside baseline of `hearth bench embed`: ONNX Runtime (PyPI
//! `onnxruntime`) running the very same `model.safetensors`, driven by
//! `scripts/embed_baseline.py` in a virtual environment that
//! `scripts/install-embed-baseline.sh` creates from PyPI on first use.

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One runtime configuration measured by the script.
pub struct BaselineRun {
    /// The runtime and its settings, as the table names it.
    pub name: String,
    /// Seconds to load the model.
    pub load_secs: f64,
    /// Seconds to embed the whole workload.
    pub secs: f64,
    /// Chunks embedded.
    pub chunks: usize,
    /// Row-major unit vectors of the workload, in input order.
    pub vectors: Vec<f32>,
}

#[derive(Deserialize)]
struct ScriptLine {
    name: String,
    load_secs: f64,
    secs: f64,
    chunks: usize,
    vectors: PathBuf,
}

/// `$HEARTH_BASELINE_PYTHON`, else the interpreter of the cached virtual environment.
pub(crate) fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("HEARTH_BASELINE_PYTHON") {
        return PathBuf::from(p);
    }
    venv_dir().join("bin/python")
}

/// `<cache root>/baseline-venv`, beside the model cache.
pub(crate) fn venv_dir() -> PathBuf {
    let models = hearth_embed::ModelRegistry::default_root();
    models
        .parent()
        .map_or_else(|| PathBuf::from(".cache/hearth"), Path::to_path_buf)
        .join("baseline-venv")
}

/// Installs the baseline if needed, runs it over `texts` with `threads` threads
/// and returns its runs.
pub fn run(
    model_dir: &Path,
    texts: &[&str],
    batch_size: usize,
    threads: usize,
) -> Result<Vec<BaselineRun>> {
    let python = python();
    if !python.exists() {
        let script = crate::share_path("scripts/install-embed-baseline.sh")?;
        eprintln!(
            "installing the ONNX Runtime baseline into {} ({})…",
            venv_dir().display(),
            script.display()
        );
        let status = Command::new("bash")
            .arg(&script)
            .arg(venv_dir())
            .status()
            .with_context(|| format!("running {}", script.display()))?;
        if !status.success() {
            bail!("{} failed ({status})", script.display());
        }
    }
    let work = tempfile::tempdir()?;
    let texts_path = work.path().join("texts.json");
    std::fs::write(&texts_path, serde_json::to_vec(texts)?)?;
    let script = crate::share_path("scripts/embed_baseline.py")?;
    eprintln!("measuring ONNX Runtime ({})…", script.display());
    let out = Command::new(&python)
        .arg(&script)
        .arg("--model-dir")
        .arg(model_dir)
        .arg("--texts")
        .arg(&texts_path)
        .arg("--out-dir")
        .arg(work.path())
        .arg("--threads")
        .arg(threads.to_string())
        .arg("--batch-size")
        .arg(batch_size.to_string())
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut runs = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let line: ScriptLine = serde_json::from_str(line)
            .with_context(|| format!("unexpected line from the baseline script: {line}"))?;
        let bytes = std::fs::read(&line.vectors)?;
        let vectors = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        runs.push(BaselineRun {
            name: line.name,
            load_secs: line.load_secs,
            secs: line.secs,
            chunks: line.chunks,
            vectors,
        });
    }
    Ok(runs)
}
