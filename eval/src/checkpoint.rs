//! Resumable runs: every row is appended to `<run>/<part>.rows.jsonl` the
//! moment it is measured (written, flushed and synced), so a run killed at
//! any point keeps every finished row; reopening the checkpoint hands those
//! rows back and the run measures only what is missing. The Parquet file is
//! written from the checkpoint at the end, and the checkpoint removed.
//!
//! A kill can leave a half-written last line: it is dropped (and cut from
//! the file) on reopening. Any other unreadable line is an error naming it.
//!
//! ```
//! use hearth_eval::checkpoint::Checkpoint;
//! let dir = tempfile::tempdir().unwrap();
//! let mut rows: Checkpoint<(String, f64)> = Checkpoint::open(dir.path(), "retrieval")?;
//! rows.push(("q1".into(), 0.5))?;
//! drop(rows); // the run is killed here
//! let rows: Checkpoint<(String, f64)> = Checkpoint::open(dir.path(), "retrieval")?;
//! assert_eq!(rows.rows(), &[("q1".to_owned(), 0.5)]);
//! # Ok::<(), hearth_eval::EvalError>(())
//! ```

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::EvalError;

/// The finished rows of one part of a run, on disk as they are measured.
#[derive(Debug)]
pub struct Checkpoint<R> {
    path: PathBuf,
    file: File,
    rows: Vec<R>,
}

impl<R: Serialize + DeserializeOwned> Checkpoint<R> {
    /// Opens (or creates) the checkpoint of `part` in the run folder `dir`,
    /// reading back the rows an earlier, interrupted attempt finished.
    pub fn open(dir: &Path, part: &str) -> Result<Self, EvalError> {
        let path = dir.join(format!("{part}.rows.jsonl"));
        let io = |source| EvalError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(e)),
        };
        // Only newline-terminated lines were written whole.
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let mut rows = Vec::new();
        for (n, line) in bytes[..complete].split(|&b| b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            rows.push(serde_json::from_slice(line).map_err(|e| EvalError::Parse {
                path: path.clone(),
                line: n + 1,
                reason: e.to_string(),
            })?);
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        if complete < bytes.len() {
            file.set_len(complete as u64).map_err(io)?;
        }
        Ok(Self { path, file, rows })
    }

    /// The rows finished so far, in the order they were measured.
    pub fn rows(&self) -> &[R] {
        &self.rows
    }

    /// The key of every finished row (what a resumed run skips).
    pub fn keys<K: Eq + std::hash::Hash>(&self, key: impl Fn(&R) -> K) -> HashSet<K> {
        self.rows.iter().map(key).collect()
    }

    /// Records a finished row: on disk (synced) before this returns.
    pub fn push(&mut self, row: R) -> Result<(), EvalError> {
        let mut line = serde_json::to_vec(&row)
            .map_err(|e| EvalError::Analytics(format!("checkpoint row: {e}")))?;
        line.push(b'\n');
        let io = |source| EvalError::Io {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(&line).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.rows.push(row);
        Ok(())
    }

    /// The rows, once their Parquet file is written: the checkpoint is
    /// removed (a run that is complete has nothing to resume).
    pub fn finish(self) -> Result<Vec<R>, EvalError> {
        std::fs::remove_file(&self.path).map_err(|source| EvalError::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok(self.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Row = (String, u32, f64);

    proptest! {
        /// Whatever prefix of the file a kill leaves, reopening keeps every
        /// whole row, drops the torn one, and appending goes on cleanly.
        #[test]
        fn a_torn_tail_loses_only_the_torn_row(
            rows in proptest::collection::vec(("[a-z0-9 \"\\\\]{0,8}", any::<u32>(), (-1_000_000i32..1_000_000).prop_map(|v| f64::from(v) / 64.0)), 1..12),
            cut in any::<prop::sample::Index>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut c: Checkpoint<Row> = Checkpoint::open(dir.path(), "p").unwrap();
            for r in &rows {
                c.push(r.clone()).unwrap();
            }
            drop(c);
            let path = dir.path().join("p.rows.jsonl");
            let bytes = std::fs::read(&path).unwrap();
            let at = cut.index(bytes.len() + 1);
            std::fs::write(&path, &bytes[..at]).unwrap();
            let whole = bytes[..at].iter().filter(|&&b| b == b'\n').count();

            let mut c: Checkpoint<Row> = Checkpoint::open(dir.path(), "p").unwrap();
            prop_assert_eq!(c.rows(), &rows[..whole]);
            c.push(("next".into(), 7, 1.5)).unwrap();
            drop(c);
            let c: Checkpoint<Row> = Checkpoint::open(dir.path(), "p").unwrap();
            prop_assert_eq!(c.rows().len(), whole + 1);
            prop_assert_eq!(&c.rows()[whole], &("next".to_owned(), 7, 1.5));
        }
    }

    #[test]
    fn a_corrupt_line_is_named_and_finish_removes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.rows.jsonl");
        std::fs::write(&path, "[\"a\",1,1.0]\nnot json\n").unwrap();
        let err = Checkpoint::<Row>::open(dir.path(), "p").unwrap_err();
        assert!(matches!(err, EvalError::Parse { line: 2, .. }), "{err}");
        std::fs::write(&path, "[\"a\",1,1.0]\n").unwrap();
        let c = Checkpoint::<Row>::open(dir.path(), "p").unwrap();
        assert_eq!(c.finish().unwrap().len(), 1);
        assert!(!path.exists());
    }
}
