//! What the fuzz targets share: the readers that take a path get the fuzzer's
//! bytes as a file in a per-process scratch folder (on `/dev/shm` when there
//! is one, so no disk is touched), and the panic hook that lets a panic the
//! connectors isolate on purpose (pdf-extract under `catch_unwind`) pass,
//! while any panic that escapes a reader still aborts the run as a finding.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The scratch folder, made once per process.
fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let made = if shm.is_dir() {
            tempfile::Builder::new()
                .prefix("hearth-fuzz")
                .tempdir_in(shm)
        } else {
            tempfile::Builder::new().prefix("hearth-fuzz").tempdir()
        };
        made.expect("a scratch folder for the fuzz inputs")
    })
    .path()
}

/// Writes `data` to the scratch file `name` and returns its path.
pub fn input_file(name: &str, data: &[u8]) -> PathBuf {
    let path = scratch().join(name);
    std::fs::write(&path, data).expect("the fuzz input written to the scratch folder");
    path
}

/// Lets panics caught inside the connectors pass silently. libfuzzer-sys's
/// hook aborts on every panic, caught or not; the target body still runs
/// under libfuzzer-sys's own `catch_unwind`, which aborts on a panic that
/// reaches it, so an uncaught panic stays a finding.
pub fn allow_caught_panics() {
    std::panic::set_hook(Box::new(|_| {}));
}
