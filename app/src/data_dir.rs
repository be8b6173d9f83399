//! [`DataDir`]: the layout of Hearth's data directory. Every path under it is
//! spelled here and nowhere else.

use hearth_assistant::meter::{METERING_DIR, MeterLog};
use std::path::{Path, PathBuf};

/// A data directory: the index, the ingest manifest, metering, eval runs,
/// the sync keyring and the router's fit. Nested data directories (the demo's,
/// the router fit's, each eval suite's) have the same layout.
///
/// ```
/// use hearth_app::DataDir;
/// let data = DataDir::new("/home/me/.local/share/hearth");
/// assert!(data.index().ends_with("index"));
/// assert!(data.demo().index().ends_with("demo/index"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The data directory at `root` (nothing is created).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `index/`: the store (segments, manifest, writer lock).
    pub fn index(&self) -> PathBuf {
        self.root.join("index")
    }

    /// `ingest.db`: sources, items, failures and runs.
    pub fn ingest_db(&self) -> PathBuf {
        self.root.join("ingest.db")
    }

    /// `metering/`: Parquet files of answer and generation records, one per
    /// append (a request's records).
    pub fn metering(&self) -> PathBuf {
        self.root.join(METERING_DIR)
    }

    /// The metering log writing into [`DataDir::metering`].
    pub fn meter_log(&self) -> MeterLog {
        MeterLog::new(&self.root)
    }

    /// `router.toml`: the router's fitted thresholds.
    pub fn router_fit(&self) -> PathBuf {
        self.root.join("router.toml")
    }

    /// `task_classifier.json`: the trained task-type classifier, cached.
    pub fn classifier_cache(&self) -> PathBuf {
        self.root.join("task_classifier.json")
    }

    /// `sync/`: this device's keyring, sync state and import staging.
    pub fn sync(&self) -> PathBuf {
        self.root.join("sync")
    }

    /// `eval/runs/`: one folder per eval run.
    pub fn eval_runs(&self) -> PathBuf {
        self.root.join("eval/runs")
    }

    /// `eval/suites/<key>/`: the data directory an eval suite's corpus is
    /// indexed into.
    pub fn eval_suite(&self, key: &str) -> DataDir {
        DataDir::new(self.root.join("eval/suites").join(key))
    }

    /// `demo/`: the data directory of `hearth demo` (and of `router fit` on
    /// the bundled questions).
    pub fn demo(&self) -> DataDir {
        DataDir::new(self.root.join("demo"))
    }

    /// `router-fit/`: the data directory `router fit` indexes other
    /// labelled corpora into.
    pub fn router_fit_corpus(&self) -> DataDir {
        DataDir::new(self.root.join("router-fit"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_data_dirs_share_the_layout() {
        let data = DataDir::new("/d");
        assert_eq!(data.index(), Path::new("/d/index"));
        assert_eq!(data.ingest_db(), Path::new("/d/ingest.db"));
        assert_eq!(data.metering(), Path::new("/d/metering"));
        assert_eq!(data.router_fit(), Path::new("/d/router.toml"));
        assert_eq!(data.sync(), Path::new("/d/sync"));
        assert_eq!(data.eval_runs(), Path::new("/d/eval/runs"));
        assert_eq!(
            data.eval_suite("demo-1").index(),
            Path::new("/d/eval/suites/demo-1/index")
        );
        assert_eq!(data.demo().ingest_db(), Path::new("/d/demo/ingest.db"));
    }
}
