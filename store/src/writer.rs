//! [`IndexWriter`]: the one process allowed to change an index directory. It
//! holds an OS advisory lock on `<index>/writer.lock` for as long as it lives
//! (released by the OS even when the process is killed), and it is the only
//! way to commit, compact, merge or change the codec; [`Index::open`] is
//! read-only.

use crate::codec::CodecSpec;
use crate::compact::{CompactionPolicy, CompactionSummary};
use crate::error::{StoreError, io_err};
use crate::index::{CommitSummary, Index};
use crate::manifest::EmbeddingSpec;
use crate::merge::MergeSummary;
use crate::record::{ChunkRecord, DocumentRecord};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::ops::Deref;
use std::path::{Path, PathBuf};

/// The lock file inside an index directory.
pub const WRITER_LOCK_FILE: &str = "writer.lock";

/// An [`Index`] opened for writing. Dereferences to the index for reading;
/// dropping it releases the lock.
///
/// ```no_run
/// use hearth_store::{EmbeddingSpec, Index};
/// let spec = EmbeddingSpec { model_id: "m".into(), dimension: 384 };
/// let mut writer = Index::create_writer("/tmp/hearth-index".as_ref(), &spec)?;
/// writer.commit(Vec::new(), Vec::new(), &["gone".to_owned()])?;
/// // A second writer is refused while the first lives.
/// assert!(Index::open_writer("/tmp/hearth-index".as_ref()).is_err());
/// # Ok::<(), hearth_store::StoreError>(())
/// ```
pub struct IndexWriter {
    index: Index,
    lock: DirLock,
}

impl Index {
    /// Opens the existing index at `dir` for writing, or fails at once with
    /// [`StoreError::Locked`] when another writer holds it.
    pub fn open_writer(dir: &Path) -> Result<IndexWriter, StoreError> {
        if !dir.join(crate::manifest::MANIFEST_FILE).is_file() {
            return Err(StoreError::NoIndex(dir.to_path_buf()));
        }
        let lock = DirLock::acquire(dir)?;
        let index = Index::open(dir)?;
        Ok(IndexWriter { index, lock })
    }

    /// Opens the index at `dir` for writing if it was built with `spec`'s
    /// model, or creates an empty one; an index built with another model is
    /// an error. The lock is taken before anything is created.
    pub fn create_writer(dir: &Path, spec: &EmbeddingSpec) -> Result<IndexWriter, StoreError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let lock = DirLock::acquire(dir)?;
        let index = Index::open_or_create(dir, spec)?;
        Ok(IndexWriter { index, lock })
    }
}

impl IndexWriter {
    /// The index as it stands after this writer's last change.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// The lock file this writer holds.
    pub fn lock_path(&self) -> &Path {
        &self.lock.path
    }

    /// Adds a segment with `docs` and their `chunks` (superseding older
    /// versions of the same documents) and tombstones `deleted`, in one atomic
    /// manifest commit.
    pub fn commit(
        &mut self,
        docs: Vec<DocumentRecord>,
        chunks: Vec<ChunkRecord>,
        deleted: &[String],
    ) -> Result<CommitSummary, StoreError> {
        self.index.commit(docs, chunks, deleted)
    }

    /// Records `codec` as the index's vector codec (a manifest commit when it
    /// changes); nothing is re-embedded. Returns whether it changed.
    pub fn set_codec(&mut self, codec: &CodecSpec) -> Result<bool, StoreError> {
        self.index.set_codec(codec)
    }

    /// Rewrites every live row into new segments and drops everything dead.
    pub fn compact(&mut self, policy: &CompactionPolicy) -> Result<CompactionSummary, StoreError> {
        self.index.compact(policy)
    }

    /// Compacts when `policy` says so.
    pub fn maybe_compact(
        &mut self,
        policy: &CompactionPolicy,
    ) -> Result<Option<CompactionSummary>, StoreError> {
        self.index.maybe_compact(policy)
    }

    /// Makes the index ready to leave the device (segment ids, shared flag).
    pub fn prepare_export(&mut self) -> Result<(), StoreError> {
        self.index.prepare_export()
    }

    /// Merges the index at `other` into this one (union of segments,
    /// last-writer-wins tombstones).
    pub fn merge_from(&mut self, other: &Path) -> Result<MergeSummary, StoreError> {
        self.index.merge_from(other)
    }
}

impl Deref for IndexWriter {
    type Target = Index;

    fn deref(&self) -> &Index {
        &self.index
    }
}

/// The advisory lock file of one index directory, holding the owner's pid.
struct DirLock {
    _file: File,
    path: PathBuf,
}

impl DirLock {
    fn acquire(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join(WRITER_LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                return Err(StoreError::Locked {
                    path,
                    pid: holder.trim().parse().ok(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io_err(&path)(e)),
        }
        file.set_len(0).map_err(io_err(&path))?;
        file.rewind().map_err(io_err(&path))?;
        write!(file, "{}", std::process::id()).map_err(io_err(&path))?;
        Ok(Self { _file: file, path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> EmbeddingSpec {
        EmbeddingSpec {
            model_id: "test".into(),
            dimension: 4,
        }
    }

    #[test]
    fn second_writer_is_refused_until_the_first_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let first = Index::create_writer(dir.path(), &spec()).unwrap();
        let err = Index::open_writer(dir.path()).err().unwrap();
        assert!(
            matches!(err, StoreError::Locked { pid: Some(p), .. } if p == std::process::id()),
            "{err}"
        );
        let err = Index::create_writer(dir.path(), &spec()).err().unwrap();
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
        // Readers are never blocked.
        Index::open(dir.path()).unwrap();
        drop(first);
        Index::open_writer(dir.path()).unwrap();
    }

    #[test]
    fn a_missing_index_is_not_created_by_open_writer() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("index");
        let err = Index::open_writer(&missing).err().unwrap();
        assert!(matches!(err, StoreError::NoIndex(_)), "{err}");
        assert!(!missing.exists());
    }
}
