//! OS programs the tests need (Debian's Chromium for the report charts,
//! Tesseract for OCR, poppler's pdftoppm to render scanned PDF pages): installed from the OS packages on first
//! use when the tests run as root, as the models are installed on first
//! use; otherwise a clear failure naming the package. Never a silent skip.

use std::process::Command;
use std::sync::Mutex;

/// Makes sure `program --version` runs, installing `packages` with apt-get
/// when it does not (as root). Returns `program`.
pub fn ensure_program(program: &'static str, packages: &[&str]) -> &'static str {
    ensure_program_probed(program, "--version", packages)
}

/// As [`ensure_program`], for a program whose version flag is `version_flag`.
pub fn ensure_program_probed(
    program: &'static str,
    version_flag: &str,
    packages: &[&str],
) -> &'static str {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let found = || {
        Command::new(program)
            .arg(version_flag)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if found() {
        return program;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
    assert!(
        root,
        "this test needs `{program}`: install Debian's {packages:?}"
    );
    eprintln!("installing {packages:?} from the OS packages for the tests…");
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    let install: Vec<&str> = ["install", "-y", "-q"]
        .iter()
        .chain(packages)
        .copied()
        .collect();
    let installed = apt(&install) || (apt(&["update", "-q"]) && apt(&install));
    assert!(
        installed && found(),
        "could not install {packages:?} with apt-get"
    );
    program
}
