//! Watch mode's event source: file-system notifications on the source folders,
//! debounced. Events are only hints — the indexer still compares every file with
//! the manifest — so a missed or coalesced event costs nothing but latency, and a
//! periodic full rescan (driven by the caller) catches anything missed.

use crate::error::IngestError;
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// Debounced change notifications for a set of folders.
pub struct ChangeFeed {
    _watcher: RecommendedWatcher,
    events: Receiver<notify::Result<notify::Event>>,
    roots: Vec<PathBuf>,
}

impl ChangeFeed {
    /// Watches `roots` recursively (roots that do not exist are skipped).
    pub fn new(roots: &[PathBuf]) -> Result<Self, IngestError> {
        let (tx, events) = channel();
        let err = |e: notify::Error| IngestError::BadSource(format!("watch: {e}"));
        let mut watcher = notify::recommended_watcher(tx).map_err(err)?;
        for root in roots.iter().filter(|r| r.exists()) {
            watcher.watch(root, RecursiveMode::Recursive).map_err(err)?;
        }
        Ok(Self {
            _watcher: watcher,
            events,
            roots: roots.to_vec(),
        })
    }

    /// Waits up to `timeout` for a change, then until no event has come for
    /// `quiet`, and returns the paths touched (empty on timeout).
    pub fn wait(&self, timeout: Duration, quiet: Duration) -> Vec<PathBuf> {
        let mut paths = BTreeSet::new();
        match self.events.recv_timeout(timeout) {
            Ok(event) => self.collect(event, &mut paths),
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return Vec::new(),
        }
        let mut last = Instant::now();
        while last.elapsed() < quiet {
            match self
                .events
                .recv_timeout(quiet.saturating_sub(last.elapsed()))
            {
                Ok(event) => {
                    self.collect(event, &mut paths);
                    last = Instant::now();
                }
                Err(_) => break,
            }
        }
        paths.into_iter().collect()
    }

    fn collect(&self, event: notify::Result<notify::Event>, paths: &mut BTreeSet<PathBuf>) {
        if let Ok(event) = event
            && !matches!(event.kind, notify::EventKind::Access(_))
        {
            paths.extend(event.paths.into_iter().filter(|p| !self.is_hidden(p)));
        }
    }

    /// Dot-files below a root (editor swap files, `.git`) are not indexed, so
    /// they wake nobody. (The root itself may well live under a dot-folder.)
    fn is_hidden(&self, path: &Path) -> bool {
        let below = self
            .roots
            .iter()
            .find_map(|r| path.strip_prefix(r).ok())
            .unwrap_or(path);
        below
            .components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_a_new_file_after_the_burst_settles() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let feed = ChangeFeed::new(std::slice::from_ref(&root)).unwrap();
        std::fs::write(root.join("a.txt"), "one").unwrap();
        std::fs::write(root.join("a.txt"), "two").unwrap();
        let paths = feed.wait(Duration::from_secs(10), Duration::from_millis(200));
        assert!(paths.contains(&root.join("a.txt")), "{paths:?}");
        assert!(
            feed.wait(Duration::from_millis(300), Duration::from_millis(100))
                .is_empty()
        );
        std::fs::create_dir(root.join(".git")).unwrap();
        std::fs::write(root.join(".git/index"), "x").unwrap();
        let hidden = feed.wait(Duration::from_millis(500), Duration::from_millis(100));
        assert!(hidden.is_empty(), "{hidden:?}");
    }
}
