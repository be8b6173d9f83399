//! The ingest manifest: a SQLite database (WAL) of configured sources, the items
//! (files) read from them with what they produced, failures, and runs. It is what
//! makes re-indexing cheap (size + mtime fast path, blake3 when in doubt) and
//! lets a failed item be retried with backoff.
//!
//! The store's manifest is the truth about documents; this database commits
//! *after* the store, so a crash between the two only makes the next run look at
//! a few files again and find their documents already indexed.

use crate::error::IngestError;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    path TEXT NOT NULL UNIQUE,
    added_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    hash TEXT NOT NULL,
    status TEXT NOT NULL,
    last_error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    manifest_version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (source_id, path)
);
CREATE TABLE IF NOT EXISTS item_docs (
    source_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    PRIMARY KEY (source_id, path, doc_id),
    FOREIGN KEY (source_id, path) REFERENCES items(source_id, path) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS item_docs_by_doc ON item_docs(doc_id);
CREATE TABLE IF NOT EXISTS failures (
    source_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    position TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (source_id, path, position),
    FOREIGN KEY (source_id, path) REFERENCES items(source_id, path) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    outcome TEXT,
    summary TEXT
);
";

/// Source kinds a source can be restricted to (`auto` reads every format).
pub const SOURCE_KINDS: [&str; 5] = ["auto", "mail", "document", "message", "screenshot"];

/// A configured source: a file or folder indexed by `hearth index`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// Row id of the source in the manifest.
    pub id: i64,
    /// Unique name of the source, used on the command line.
    pub name: String,
    /// `auto` or one source kind: only files of that kind are read.
    pub kind: String,
    /// Canonical absolute path of the file or folder.
    pub path: PathBuf,
}

/// How an item fared the last time it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    /// Every document of the item is indexed.
    Indexed,
    /// Some documents are indexed, some positions failed.
    Partial,
    /// Nothing could be read.
    Failed,
}

impl ItemStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Indexed => "indexed",
            Self::Partial => "partial",
            Self::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "indexed" => Self::Indexed,
            "partial" => Self::Partial,
            _ => Self::Failed,
        }
    }
}

/// What the manifest remembers of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemState {
    /// Size of the file in bytes when it was last read.
    pub size: u64,
    /// Its modification time then, in nanoseconds since the Unix epoch (0 if unknown).
    pub mtime_ns: i64,
    /// blake3 of the file's bytes, in hex (empty when the file could not be read).
    pub hash: String,
    /// How the last read fared.
    pub status: ItemStatus,
    /// Consecutive failing reads (0 after a read without errors).
    pub attempts: u32,
    /// Unix seconds before which a failed item is not retried; `None` if it did not fail.
    pub next_attempt_at: Option<i64>,
    /// Ids of the documents the item accounts for.
    pub doc_ids: Vec<String>,
}

/// One failed position of an item (a message number, a page), and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemError {
    /// Where in the item: `message 12`, `page 3`, or `file` for the whole file.
    pub position: String,
    /// Why that position could not be read.
    pub reason: String,
}

/// The new state of an item after it was read.
#[derive(Debug, Clone)]
pub struct ItemUpdate {
    /// Row id of the source the item belongs to.
    pub source_id: i64,
    /// The file's path, as the manifest keys it.
    pub path: String,
    /// Size of the file in bytes.
    pub size: u64,
    /// Modification time, in nanoseconds since the Unix epoch (0 if unknown).
    pub mtime_ns: i64,
    /// blake3 of the file's bytes, in hex (empty when the file could not be read).
    pub hash: String,
    /// Documents the item now accounts for.
    pub doc_ids: Vec<String>,
    /// Positions that failed in this read; empty when everything was read.
    pub errors: Vec<ItemError>,
    /// Consecutive failing reads before this one.
    pub previous_attempts: u32,
}

/// A failure as `hearth status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FailureRow {
    /// Name of the source the item belongs to.
    pub source: String,
    /// The file's path.
    pub path: String,
    /// Where in the file: `message 12`, `page 3`, or `file` for the whole file.
    pub position: String,
    /// Why that position could not be read.
    pub reason: String,
    /// Consecutive failing reads of the item.
    pub attempts: u32,
    /// Unix seconds before which the item is not retried (unless it changes).
    pub next_attempt_at: Option<i64>,
}

/// A finished or interrupted run.
#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    /// Row id of the run in the manifest.
    pub id: i64,
    /// Unix seconds when the run started.
    pub started_at: i64,
    /// Unix seconds when it finished; `None` while running or if it was interrupted.
    pub finished_at: Option<i64>,
    /// `ok`, `failed: …`, or null for a run that was interrupted.
    pub outcome: Option<String>,
}

/// Seconds to wait before retrying an item that failed `attempts` times in a
/// row: the next run retries at once, then 5 min, 10 min, … up to a day.
pub fn backoff_secs(attempts: u32) -> i64 {
    match attempts {
        0 | 1 => 0,
        n => (300i64 << (n - 2).min(10)).min(86_400),
    }
}

/// The ingest manifest database.
pub struct IngestState {
    conn: Connection,
    path: PathBuf,
}

fn db_err(path: &Path) -> impl Fn(rusqlite::Error) -> IngestError + '_ {
    move |e| IngestError::State {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

impl IngestState {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, IngestError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| IngestError::State {
                path: dir.to_path_buf(),
                reason: e.to_string(),
            })?;
        }
        let err = db_err(path);
        let conn = Connection::open(path).map_err(&err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(&err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(&err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(&err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(&err)?;
        conn.execute_batch(SCHEMA).map_err(&err)?;
        conn.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', '1')",
            [],
        )
        .map_err(&err)?;
        Ok(Self {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// The database file (open it again for a second connection).
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> IngestError + use<> {
        let path = self.path.clone();
        move |e| IngestError::State {
            path: path.clone(),
            reason: e.to_string(),
        }
    }

    /// Adds a source; the name defaults to the folder or file name, made unique.
    pub fn add_source(
        &self,
        name: Option<&str>,
        kind: &str,
        path: &Path,
    ) -> Result<Source, IngestError> {
        if !SOURCE_KINDS.contains(&kind) {
            return Err(IngestError::BadSource(format!(
                "unknown kind `{kind}` (one of {})",
                SOURCE_KINDS.join(", ")
            )));
        }
        let path = std::fs::canonicalize(path)
            .map_err(|e| IngestError::BadSource(format!("{}: {e}", path.display())))?;
        if let Some(existing) = self.sources()?.into_iter().find(|s| s.path == path) {
            return Err(IngestError::BadSource(format!(
                "{} is already the source `{}`",
                path.display(),
                existing.name
            )));
        }
        let name = match name {
            Some(n) if n.trim().is_empty() => {
                return Err(IngestError::BadSource("empty name".into()));
            }
            Some(n) => {
                if self.source(n)?.is_some() {
                    return Err(IngestError::BadSource(format!(
                        "a source named `{n}` exists"
                    )));
                }
                n.to_owned()
            }
            None => self.unique_name(&path)?,
        };
        self.conn
            .execute(
                "INSERT INTO sources(name, kind, path, added_at) VALUES (?1, ?2, ?3, ?4)",
                params![name, kind, path.to_string_lossy(), now()],
            )
            .map_err(self.err())?;
        Ok(Source {
            id: self.conn.last_insert_rowid(),
            name,
            kind: kind.to_owned(),
            path,
        })
    }

    fn unique_name(&self, path: &Path) -> Result<String, IngestError> {
        let base = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "root".into());
        let mut name = base.clone();
        let mut n = 2;
        while self.source(&name)?.is_some() {
            name = format!("{base}-{n}");
            n += 1;
        }
        Ok(name)
    }

    /// All sources, by name.
    pub fn sources(&self) -> Result<Vec<Source>, IngestError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, name, kind, path FROM sources ORDER BY name")
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Source {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    kind: r.get(2)?,
                    path: PathBuf::from(r.get::<_, String>(3)?),
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// The source called `name`.
    pub fn source(&self, name: &str) -> Result<Option<Source>, IngestError> {
        Ok(self.sources()?.into_iter().find(|s| s.name == name))
    }

    /// Document ids only `source` accounts for (to tombstone when it is removed).
    pub fn exclusive_docs(&self, source: &Source) -> Result<Vec<String>, IngestError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT doc_id FROM item_docs d WHERE source_id = ?1 AND NOT EXISTS
                 (SELECT 1 FROM item_docs o WHERE o.doc_id = d.doc_id AND o.source_id != ?1)",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map([source.id], |r| r.get(0))
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// Forgets a source and everything recorded about its items.
    pub fn remove_source(&mut self, source: &Source) -> Result<(), IngestError> {
        self.conn
            .execute("DELETE FROM sources WHERE id = ?1", [source.id])
            .map_err(self.err())?;
        Ok(())
    }

    /// The recorded items of a source, by path.
    pub fn items(&self, source_id: i64) -> Result<HashMap<String, ItemState>, IngestError> {
        let mut docs: HashMap<String, Vec<String>> = HashMap::new();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT path, doc_id FROM item_docs WHERE source_id = ?1")
                .map_err(self.err())?;
            let rows = stmt
                .query_map([source_id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(self.err())?;
            for row in rows {
                let (path, doc) = row.map_err(self.err())?;
                docs.entry(path).or_default().push(doc);
            }
        }
        let mut stmt = self
            .conn
            .prepare("SELECT path, size, mtime_ns, hash, status, attempts, next_attempt_at FROM items WHERE source_id = ?1")
            .map_err(self.err())?;
        let rows = stmt
            .query_map([source_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    ItemState {
                        size: r.get::<_, i64>(1)?.max(0) as u64,
                        mtime_ns: r.get(2)?,
                        hash: r.get(3)?,
                        status: ItemStatus::parse(&r.get::<_, String>(4)?),
                        attempts: r.get::<_, i64>(5)?.clamp(0, i64::from(u32::MAX)) as u32,
                        next_attempt_at: r.get(6)?,
                        doc_ids: Vec::new(),
                    },
                ))
            })
            .map_err(self.err())?;
        let mut out = HashMap::new();
        for row in rows {
            let (path, mut item) = row.map_err(self.err())?;
            item.doc_ids = docs.remove(&path).unwrap_or_default();
            out.insert(path, item);
        }
        Ok(out)
    }

    /// True when an item other than `(source_id, path)` accounts for `doc_id`.
    pub fn doc_held_elsewhere(
        &self,
        doc_id: &str,
        source_id: i64,
        path: &str,
    ) -> Result<bool, IngestError> {
        self.conn
            .query_row(
                "SELECT 1 FROM item_docs WHERE doc_id = ?1 AND NOT (source_id = ?2 AND path = ?3) LIMIT 1",
                params![doc_id, source_id, path],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
            .map_err(self.err())
    }

    /// Records, in one transaction, what a committed store segment contained:
    /// items read (`updates`), items whose mtime moved but content did not
    /// (`touched`), and items that no longer exist (`removed`).
    pub fn apply(
        &mut self,
        updates: &[ItemUpdate],
        touched: &[(i64, String, i64)],
        removed: &[(i64, String)],
        manifest_version: u64,
    ) -> Result<(), IngestError> {
        let err = self.err();
        let tx = self.conn.transaction().map_err(&err)?;
        let now = now();
        for u in updates {
            let status = match (u.errors.is_empty(), u.doc_ids.is_empty()) {
                (true, _) => ItemStatus::Indexed,
                (false, false) => ItemStatus::Partial,
                (false, true) => ItemStatus::Failed,
            };
            let attempts = if u.errors.is_empty() {
                0
            } else {
                u.previous_attempts + 1
            };
            let next = (!u.errors.is_empty()).then(|| now + backoff_secs(attempts));
            let last_error = u.errors.first().map(|e| e.reason.clone());
            tx.execute(
                "INSERT INTO items(source_id, path, size, mtime_ns, hash, status, last_error, attempts,
                                   next_attempt_at, manifest_version, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT(source_id, path) DO UPDATE SET size = ?3, mtime_ns = ?4, hash = ?5,
                    status = ?6, last_error = ?7, attempts = ?8, next_attempt_at = ?9,
                    manifest_version = ?10, updated_at = ?11",
                params![
                    u.source_id,
                    u.path,
                    u.size as i64,
                    u.mtime_ns,
                    u.hash,
                    status.as_str(),
                    last_error,
                    attempts,
                    next,
                    manifest_version as i64,
                    now
                ],
            )
            .map_err(&err)?;
            tx.execute(
                "DELETE FROM item_docs WHERE source_id = ?1 AND path = ?2",
                params![u.source_id, u.path],
            )
            .map_err(&err)?;
            for doc in &u.doc_ids {
                tx.execute(
                    "INSERT OR IGNORE INTO item_docs(source_id, path, doc_id) VALUES (?1, ?2, ?3)",
                    params![u.source_id, u.path, doc],
                )
                .map_err(&err)?;
            }
            tx.execute(
                "DELETE FROM failures WHERE source_id = ?1 AND path = ?2",
                params![u.source_id, u.path],
            )
            .map_err(&err)?;
            for e in &u.errors {
                tx.execute(
                    "INSERT OR REPLACE INTO failures(source_id, path, position, reason) VALUES (?1, ?2, ?3, ?4)",
                    params![u.source_id, u.path, e.position, e.reason],
                )
                .map_err(&err)?;
            }
        }
        for (source_id, path, mtime_ns) in touched {
            tx.execute(
                "UPDATE items SET mtime_ns = ?3, updated_at = ?4 WHERE source_id = ?1 AND path = ?2",
                params![source_id, path, mtime_ns, now],
            )
            .map_err(&err)?;
        }
        for (source_id, path) in removed {
            tx.execute(
                "DELETE FROM items WHERE source_id = ?1 AND path = ?2",
                params![source_id, path],
            )
            .map_err(&err)?;
        }
        tx.commit().map_err(&err)
    }

    /// Every recorded failure, oldest items first.
    pub fn failures(&self) -> Result<Vec<FailureRow>, IngestError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.name, f.path, f.position, f.reason, i.attempts, i.next_attempt_at
                 FROM failures f JOIN items i USING (source_id, path) JOIN sources s ON s.id = f.source_id
                 ORDER BY i.updated_at, f.path, f.position",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(FailureRow {
                    source: r.get(0)?,
                    path: r.get(1)?,
                    position: r.get(2)?,
                    reason: r.get(3)?,
                    attempts: r.get::<_, i64>(4)?.clamp(0, i64::from(u32::MAX)) as u32,
                    next_attempt_at: r.get(5)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// Starts a run record; an unfinished one means the run was interrupted.
    pub fn begin_run(&self) -> Result<i64, IngestError> {
        self.conn
            .execute("INSERT INTO runs(started_at) VALUES (?1)", [now()])
            .map_err(self.err())?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Closes a run record with its outcome and JSON summary.
    pub fn finish_run(&self, id: i64, outcome: &str, summary: &str) -> Result<(), IngestError> {
        self.conn
            .execute(
                "UPDATE runs SET finished_at = ?2, outcome = ?3, summary = ?4 WHERE id = ?1",
                params![id, now(), outcome, summary],
            )
            .map_err(self.err())?;
        Ok(())
    }

    /// The most recent run.
    pub fn last_run(&self) -> Result<Option<RunRow>, IngestError> {
        self.conn
            .query_row(
                "SELECT id, started_at, finished_at, outcome FROM runs ORDER BY id DESC LIMIT 1",
                [],
                |r| {
                    Ok(RunRow {
                        id: r.get(0)?,
                        started_at: r.get(1)?,
                        finished_at: r.get(2)?,
                        outcome: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(self.err())
    }
}

/// Unix seconds now.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(source_id: i64, path: &str, docs: &[&str], errors: usize, prev: u32) -> ItemUpdate {
        ItemUpdate {
            source_id,
            path: path.into(),
            size: 10,
            mtime_ns: 5,
            hash: "h".into(),
            doc_ids: docs.iter().map(|d| (*d).to_owned()).collect(),
            errors: (0..errors)
                .map(|i| ItemError {
                    position: format!("message {i}"),
                    reason: "bad".into(),
                })
                .collect(),
            previous_attempts: prev,
        }
    }

    #[test]
    fn sources_items_failures_roundtrip() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = IngestState::open(&dir.path().join("ingest.db")).unwrap();
        let a = state.add_source(None, "auto", dir.path()).unwrap();
        assert!(
            state.add_source(Some("again"), "auto", dir.path()).is_err(),
            "same path twice"
        );
        assert!(state.add_source(Some("x"), "video", dir.path()).is_err());
        state
            .apply(
                &[
                    update(a.id, "/m.mbox", &["d1", "d2"], 1, 0),
                    update(a.id, "/n.md", &["d3"], 0, 0),
                ],
                &[],
                &[],
                1,
            )
            .unwrap();
        let items = state.items(a.id).unwrap();
        assert_eq!(items["/m.mbox"].status, ItemStatus::Partial);
        assert_eq!(items["/m.mbox"].attempts, 1);
        assert_eq!(items["/n.md"].status, ItemStatus::Indexed);
        let mut docs = items["/m.mbox"].doc_ids.clone();
        docs.sort();
        assert_eq!(docs, ["d1", "d2"]);
        let failures = state.failures().unwrap();
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].position, "message 0");
        // A successful re-read clears the failure.
        state
            .apply(&[update(a.id, "/m.mbox", &["d1", "d2"], 0, 1)], &[], &[], 2)
            .unwrap();
        assert!(state.failures().unwrap().is_empty());
        assert!(state.doc_held_elsewhere("d1", a.id, "/n.md").unwrap());
        assert!(!state.doc_held_elsewhere("d1", a.id, "/m.mbox").unwrap());
        state
            .apply(&[], &[], &[(a.id, "/m.mbox".into())], 3)
            .unwrap();
        assert_eq!(state.items(a.id).unwrap().len(), 1);
        assert_eq!(state.exclusive_docs(&a).unwrap(), ["d3"]);
        state.remove_source(&a).unwrap();
        assert!(state.sources().unwrap().is_empty());
        assert!(
            state.items(a.id).unwrap().is_empty(),
            "items go with their source"
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff_secs(1), 0);
        assert_eq!(backoff_secs(2), 300);
        assert_eq!(backoff_secs(3), 600);
        assert_eq!(backoff_secs(40), 86_400);
    }

    #[test]
    fn runs_are_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let state = IngestState::open(&dir.path().join("ingest.db")).unwrap();
        let id = state.begin_run().unwrap();
        assert_eq!(state.last_run().unwrap().unwrap().outcome, None);
        state.finish_run(id, "ok", "{}").unwrap();
        assert_eq!(
            state.last_run().unwrap().unwrap().outcome.as_deref(),
            Some("ok")
        );
    }
}
