//! Merging another device's index into this one, the core of sync.
//!
//! An index directory is already a snapshot: a manifest naming immutable
//! segments, each document version stamped with its [`Version`], and
//! tombstones stamped likewise. Merging is a union: every segment of the
//! other index this one lacks (by segment id) is copied in under a fresh
//! local sequence number, every tombstone is added, and the clock moves past
//! everything seen — all in one atomic manifest commit. Which version of a
//! document is live is then decided the same way on every device
//! (last-writer-wins by version, a delete winning over the versions it
//! follows), so devices that have seen the same writes hold the same index,
//! in whatever order they merged.

use crate::error::{StoreError, io_err};
use crate::index::{Index, SEGMENTS_DIR};
use crate::manifest::{Manifest, SegmentMeta, sync_dir};
use crate::segment;
use serde::Serialize;
use std::collections::HashSet;
use std::path::Path;

/// What [`IndexWriter::merge_from`](crate::IndexWriter::merge_from) changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MergeSummary {
    /// Segments copied in.
    pub segments_added: usize,
    /// Segments the other index had that this one already held.
    pub segments_known: usize,
    /// Tombstones of the other index that this one did not have yet.
    pub tombstones_added: usize,
    /// Live documents before and after.
    pub documents_before: u64,
    /// Live documents after the merge.
    pub documents_after: u64,
}

impl Index {
    /// Makes this index ready to leave the device: every segment gets an id
    /// and the index is marked shared (compaction keeps tombstones from now
    /// on). One manifest commit when anything changed.
    pub(crate) fn prepare_export(&mut self) -> Result<(), StoreError> {
        let mut next = self.manifest.clone();
        let mut changed = !next.shared;
        next.shared = true;
        if next.device.is_empty() {
            next.device = crate::clock::random_id(8);
            changed = true;
        }
        for seg in next.segments.iter_mut().filter(|s| s.id.is_empty()) {
            seg.id = crate::clock::random_id(16);
            changed = true;
        }
        if changed {
            next.version += 1;
            next.commit(self.dir())?;
            self.manifest = next;
        }
        Ok(())
    }

    /// The files of segment `seq` (documents, chunks, postings), relative to
    /// the index directory.
    pub fn segment_files(&self, seq: u64) -> [String; 3] {
        let (docs, chunks) = segment::file_names(seq);
        [
            format!("{SEGMENTS_DIR}/{docs}"),
            format!("{SEGMENTS_DIR}/{chunks}"),
            format!("{SEGMENTS_DIR}/{seq:08}.postings.parquet"),
        ]
    }

    /// Merges the index at `other` (another device's, or a decrypted
    /// snapshot of one) into this one in a single atomic commit. Only the
    /// files of segments this index lacks need to be present under `other`.
    ///
    /// Refuses an index of another embedding model or keyword tokenizer;
    /// on any error this index is left as it was.
    pub(crate) fn merge_from(&mut self, other: &Path) -> Result<MergeSummary, StoreError> {
        let theirs =
            Manifest::load(other)?.ok_or_else(|| StoreError::NoIndex(other.to_path_buf()))?;
        self.check_model(&theirs.embedding)?;
        if theirs.keywords != self.manifest.keywords {
            return Err(StoreError::Manifest {
                path: other.join(crate::MANIFEST_FILE),
                reason: "its keyword tokenizer differs from this index's".into(),
            });
        }
        let documents_before = self.docs.len() as u64;
        let mut next = self.manifest.clone();
        let known: HashSet<String> = next.segments.iter().map(|s| s.id.clone()).collect();
        let seg_dir = self.dir().join(SEGMENTS_DIR);
        let mut summary = MergeSummary {
            documents_before,
            ..MergeSummary::default()
        };
        let mut copied: Vec<u64> = Vec::new();
        let result = (|| {
            for seg in &theirs.segments {
                if seg.id.is_empty() {
                    return Err(StoreError::Manifest {
                        path: other.join(crate::MANIFEST_FILE),
                        reason: format!("segment {} has no id (not exported?)", seg.seq),
                    });
                }
                if known.contains(&seg.id) {
                    summary.segments_known += 1;
                    continue;
                }
                let seq = next.next_seq;
                next.next_seq += 1;
                copied.push(seq);
                for (from, to) in self
                    .segment_files(seg.seq)
                    .iter()
                    .zip(self.segment_files(seq))
                {
                    copy_durable(&other.join(from), &self.dir().join(to))?;
                }
                next.segments.push(SegmentMeta { seq, ..seg.clone() });
                summary.segments_added += 1;
            }
            Ok(())
        })();
        if let Err(e) = result {
            remove_files(self, &copied);
            return Err(e);
        }
        sync_dir(&seg_dir)?;
        let have: HashSet<(String, u64, String)> = next
            .tombstones
            .iter()
            .map(|t| (t.doc_id.clone(), t.hlc, t.device.clone()))
            .collect();
        for t in &theirs.tombstones {
            if !have.contains(&(t.doc_id.clone(), t.hlc, t.device.clone())) {
                let seq = next.next_seq;
                next.next_seq += 1;
                next.tombstones
                    .push(crate::manifest::Tombstone { seq, ..t.clone() });
                summary.tombstones_added += 1;
            }
        }
        let seen = theirs
            .tombstones
            .iter()
            .map(|t| t.hlc)
            .chain([theirs.clock])
            .max()
            .unwrap_or(0);
        next.clock = next.clock.max(seen);
        next.shared = true;
        if summary.segments_added == 0 && summary.tombstones_added == 0 {
            summary.documents_after = documents_before;
            if next.clock == self.manifest.clock && self.manifest.shared {
                return Ok(summary);
            }
        }
        next.version += 1;
        // Read the merged view before it becomes the index: a bad copied
        // segment fails here, with the old manifest still in place.
        let merged = match Index::from_manifest(self.dir(), next.clone()) {
            Ok(m) => m,
            Err(e) => {
                remove_files(self, &copied);
                return Err(e);
            }
        };
        next.commit(self.dir())?;
        *self = merged;
        summary.documents_after = self.docs.len() as u64;
        Ok(summary)
    }
}

/// Copies `from` to `to` through a temporary file, fsynced, then renamed.
fn copy_durable(from: &Path, to: &Path) -> Result<(), StoreError> {
    let tmp = to.with_extension("parquet.tmp");
    std::fs::copy(from, &tmp).map_err(io_err(from))?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, to).map_err(io_err(to))
}

/// Removes the files of segments copied in by a merge that did not commit.
fn remove_files(index: &Index, seqs: &[u64]) {
    for &seq in seqs {
        for f in index.segment_files(seq) {
            let path = index.dir().join(&f);
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_file(path.with_extension("parquet.tmp"));
        }
    }
}
