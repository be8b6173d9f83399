//! Eval run folders under `<data-dir>/eval/runs/`: finding one by id or
//! path, starting one (its `run.json` with the machine, git revision and
//! options), resuming an unfinished one, and marking one finished.

use std::path::{Path, PathBuf};

use crate::results::{RunInfo, read_run_info, write_run_info};
use anyhow::{Context as _, Result};

use super::{Context, LATEST};

/// The suite name of routing runs (`hearth eval routing`).
pub const ROUTING_SUITE: &str = "routing";

fn runs(ctx: &Context) -> PathBuf {
    ctx.data().eval_runs()
}

/// A run's folder: `run` as a path, else as an id under
/// `<data-dir>/eval/runs/`; the latest run when none is named.
pub fn run_dir(ctx: &Context, run: Option<&str>) -> Result<PathBuf> {
    let runs = runs(ctx);
    match run {
        Some(r) if Path::new(r).join("run.json").exists() => Ok(PathBuf::from(r)),
        Some(r) if runs.join(r).join("run.json").exists() => Ok(runs.join(r)),
        Some(r) => anyhow::bail!(
            "no run `{r}` (neither a run folder nor an id in {})",
            runs.display()
        ),
        None => all_runs(ctx)?
            .pop()
            .with_context(|| format!("no runs in {} yet", runs.display())),
    }
}

/// Every run folder, oldest first (ids start with their start time).
fn all_runs(ctx: &Context) -> Result<Vec<PathBuf>> {
    let runs = runs(ctx);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&runs)
        .with_context(|| {
            format!(
                "no runs in {} yet: run `hearth eval run` first",
                runs.display()
            )
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("run.json").exists())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// Starts a run of `suite`: a new folder with its `run.json`.
pub fn new_run(
    ctx: &Context,
    suite: &str,
    embedding_model: &str,
    seed: u64,
    options: serde_json::Value,
) -> Result<(PathBuf, RunInfo)> {
    let started = chrono::Utc::now();
    let run_id = format!("{}-{suite}", started.format("%Y%m%d-%H%M%S%.3f"));
    let info = RunInfo {
        run_id: run_id.clone(),
        suite: suite.to_owned(),
        started: started.to_rfc3339(),
        git_revision: git_revision(),
        machine: machine(),
        embedding_model: embedding_model.to_owned(),
        hearth_version: env!("CARGO_PKG_VERSION").to_owned(),
        seed,
        options,
        finished: None,
    };
    let dir = runs(ctx).join(&run_id);
    write_run_info(&dir, &info)?;
    Ok((dir, info))
}

/// The options a run goes with: `cli`'s own for a new run; with `--resume`
/// (`which`), the resumed run's stored options, `keep` carrying over from
/// `cli` what only shapes the output. The resumed run comes back with them.
pub fn resume_options<A: Clone + serde::de::DeserializeOwned>(
    ctx: &Context,
    which: Option<&str>,
    cli: &A,
    kind: impl Fn(&RunInfo) -> bool,
    keep: impl FnOnce(&A, &mut A),
) -> Result<(A, Option<(PathBuf, RunInfo)>)> {
    let Some(which) = which else {
        return Ok((cli.clone(), None));
    };
    let (dir, info) = resumable(ctx, which, kind)?;
    let mut stored: A = serde_json::from_value(info.options.clone())
        .with_context(|| format!("the options of run {}", info.run_id))?;
    keep(cli, &mut stored);
    Ok((stored, Some((dir, info))))
}

/// The unfinished run `--resume` names: `which` as an id or folder, or for
/// [`LATEST`] the newest unfinished run that `kind` accepts.
fn resumable(
    ctx: &Context,
    which: &str,
    kind: impl Fn(&RunInfo) -> bool,
) -> Result<(PathBuf, RunInfo)> {
    let (dir, info) = if which == LATEST {
        let mut unfinished = Vec::new();
        for dir in all_runs(ctx)? {
            let info = read_run_info(&dir)?;
            if info.finished.is_none() && kind(&info) {
                unfinished.push((dir, info));
            }
        }
        unfinished
            .pop()
            .with_context(|| format!("no unfinished run to resume in {}", runs(ctx).display()))?
    } else {
        let dir = run_dir(ctx, Some(which))?;
        let info = read_run_info(&dir)?;
        anyhow::ensure!(
            kind(&info),
            "run {} is of another kind (suite {})",
            info.run_id,
            info.suite
        );
        (dir, info)
    };
    if let Some(at) = &info.finished {
        anyhow::bail!("run {} finished at {at}: nothing to resume", info.run_id);
    }
    let now = git_revision();
    if info.git_revision != now {
        eprintln!(
            "warning: run {} was started at revision {}; this build is {now}",
            info.run_id, info.git_revision
        );
    }
    eprintln!("resuming run {}", info.run_id);
    Ok((dir, info))
}

/// Marks the run in `dir` finished (every row written).
pub fn finish_run(dir: &Path, info: &mut RunInfo) -> Result<()> {
    info.finished = Some(chrono::Utc::now().to_rfc3339());
    Ok(write_run_info(dir, info)?)
}

/// `git describe --always --dirty` of the source checkout, or `unknown`.
fn git_revision() -> String {
    std::process::Command::new("git")
        .args([
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "describe",
            "--always",
            "--dirty",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// CPU model and logical cores.
fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|l| l.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    format!("{model}, {cores} cores")
}
