//! [`ShareDir`]: where Hearth's bundled data lives — the demo corpus, the eval
//! suites and the project scripts the benchmarks and evals run — found on an
//! explicit search path, never in the working directory.

use crate::error::AppError;
use std::path::{Path, PathBuf};

/// The environment variable naming the folder of bundled data (it holds
/// `fixtures/` and `scripts/`); searched first.
pub const SHARE_DIR_ENV: &str = "HEARTH_SHARE_DIR";

/// The folders searched for bundled data, in order:
/// 1. `$HEARTH_SHARE_DIR`;
/// 2. next to the binary: `<bin>/share/hearth`, then `<bin>/../share/hearth`
///    (an installed layout);
/// 3. the source checkout the binary was built from, while it exists (a
///    build from the checkout, as `cargo run` makes).
#[derive(Debug, Clone)]
pub struct ShareDir {
    roots: Vec<PathBuf>,
}

impl ShareDir {
    /// The search path for this process.
    pub fn discover() -> Self {
        let mut roots = Vec::new();
        if let Some(dir) = std::env::var_os(SHARE_DIR_ENV).filter(|v| !v.is_empty()) {
            roots.push(PathBuf::from(dir));
        }
        if let Some(bin) = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
        {
            roots.push(bin.join("share/hearth"));
            if let Some(prefix) = bin.parent() {
                roots.push(prefix.join("share/hearth"));
            }
        }
        roots.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
        Self { roots }
    }

    /// A search path of exactly `roots` (tests, embedding programs).
    pub fn with_roots(roots: Vec<PathBuf>) -> Self {
        Self { roots }
    }

    /// The folders searched, in order.
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// The first existing `rel` (e.g. `fixtures/demo`) on the search path, or
    /// an error naming it and every folder searched.
    pub fn find(&self, rel: &str) -> Result<PathBuf, AppError> {
        self.roots
            .iter()
            .map(|root| root.join(rel))
            .find(|p| p.exists())
            .ok_or_else(|| AppError::ShareMissing {
                what: rel.to_owned(),
                searched: self.roots.clone(),
            })
    }

    /// The bundled demo corpus (`fixtures/demo`).
    pub fn demo_fixtures(&self) -> Result<PathBuf, AppError> {
        self.find("fixtures/demo")
    }

    /// A project script (`scripts/NAME`).
    pub fn script(&self, name: &str) -> Result<PathBuf, AppError> {
        self.find(&format!("scripts/{name}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_root_holding_the_path_wins_and_a_miss_names_every_root() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        std::fs::create_dir_all(b.path().join("fixtures/demo")).unwrap();
        std::fs::create_dir_all(a.path().join("scripts")).unwrap();
        std::fs::write(a.path().join("scripts/x.sh"), "").unwrap();
        let share = ShareDir::with_roots(vec![a.path().into(), b.path().into()]);
        assert_eq!(
            share.demo_fixtures().unwrap(),
            b.path().join("fixtures/demo")
        );
        assert_eq!(share.script("x.sh").unwrap(), a.path().join("scripts/x.sh"));
        let err = share.script("missing.sh").unwrap_err().to_string();
        assert!(err.contains("scripts/missing.sh"), "{err}");
        assert!(err.contains(&a.path().display().to_string()), "{err}");
        assert!(err.contains(&b.path().display().to_string()), "{err}");
        assert!(err.contains(SHARE_DIR_ENV), "{err}");
    }

    #[test]
    fn the_checkout_is_on_the_default_path() {
        let share = ShareDir::discover();
        assert!(
            share
                .demo_fixtures()
                .unwrap()
                .join("questions.jsonl")
                .exists()
        );
    }
}
