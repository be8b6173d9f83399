//! Helpers shared by the integration tests: run the `hearth` binary and read
//! its output.

#![allow(dead_code)] // each test crate uses a different subset

pub mod http;
pub use hearth_testkit::os;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

/// The bundled demo corpus.
pub const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo");

/// `hearth --data-dir DATA ARGS…`, ignoring any user config.
pub fn hearth(data_dir: &Path, args: &[&str]) -> Output {
    command(data_dir).args(args).output().expect("run hearth")
}

/// A `hearth --data-dir DATA` command to add arguments and environment to.
pub fn command(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hearth"));
    cmd.arg("--data-dir")
        .arg(data_dir)
        .env_remove("HEARTH_CONFIG");
    cmd
}

/// Stdout of a successful run; panics with stdout and stderr otherwise.
pub fn ok(out: Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "hearth failed: {}\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Stdout of a successful run, parsed as JSON.
pub fn json(out: Output) -> Value {
    let text = ok(out);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON ({e}): {text}"))
}

/// The entry of `models list --json` for model `name`.
pub fn model_entry(list: &Value, name: &str) -> Value {
    list.as_array()
        .and_then(|l| l.iter().find(|m| m["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("no model {name} in {list}"))
}

/// Starts `hearth --data-dir DATA ARGS…` and kills it (SIGKILL) as soon as
/// a line of its stderr contains `marker`; returns the stderr read until then.
pub fn kill_when(data_dir: &Path, args: &[&str], marker: &str) -> String {
    use std::io::BufRead;
    let mut child = command(data_dir)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start hearth");
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut seen = String::new();
    for line in std::io::BufReader::new(stderr).lines() {
        let line = line.expect("read stderr");
        seen.push_str(&line);
        seen.push('\n');
        if line.contains(marker) {
            child.kill().expect("kill hearth");
            child.wait().expect("reap hearth");
            return seen;
        }
    }
    let status = child.wait().expect("reap hearth");
    panic!("hearth ended ({status}) before printing {marker:?}:\n{seen}");
}
