//! [`ensure_program`]: the OS programs the tests need (Debian's Chromium for the report charts,
//! Tesseract for OCR, poppler's pdftoppm to render scanned PDF pages). They
//! are installed by `scripts/setup-test-deps.sh`, which the README's test
//! command and `.ci/run` call; a test never installs anything itself, and a
//! missing program fails it naming that script. Never a silent skip.

use std::process::Command;

/// The one setup step that installs what the tests need.
pub const SETUP: &str = "scripts/setup-test-deps.sh";

/// Makes sure `program --version` runs, failing the test with the fix
/// otherwise. Returns `program`.
pub fn ensure_program(program: &'static str, packages: &[&str]) -> &'static str {
    ensure_program_probed(program, "--version", packages)
}

/// As [`ensure_program`], for a program whose version flag is `version_flag`.
pub fn ensure_program_probed(
    program: &'static str,
    version_flag: &str,
    packages: &[&str],
) -> &'static str {
    let found = Command::new(program)
        .arg(version_flag)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "this test needs `{program}` (Debian's {packages:?}): run `bash {SETUP}` first"
    );
    program
}
