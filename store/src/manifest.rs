//! The manifest: the one file that says what the index is. It names the live
//! segments, the tombstones, the schema version and the embedding model, and is
//! replaced atomically (write to a temporary file, fsync, rename, fsync the
//! directory), so a reader or a crash sees either the old index or the new one.

use crate::bm25::TokenizerSpec;
use crate::codec::CodecSpec;
use crate::error::{StoreError, io_err};
use crate::record::SCHEMA_VERSION;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// File name of the manifest inside an index directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The model that produced an index's vectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbeddingSpec {
    pub model_id: String,
    pub dimension: usize,
}

/// One committed segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentMeta {
    /// Sequence number: later segments supersede earlier versions of a document.
    pub seq: u64,
    pub documents: u64,
    pub chunks: u64,
    /// Unix seconds.
    pub created_at: i64,
}

/// A deleted document: hidden in every segment up to and including `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    pub doc_id: String,
    pub seq: u64,
}

/// The index manifest (`manifest.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `hearth-index`.
    pub format: String,
    pub schema_version: u32,
    /// Incremented by every commit.
    pub version: u64,
    pub embedding: EmbeddingSpec,
    /// How the resident codes are made (kind, bits, rotation, seed). Codes are
    /// derived data: changing this re-encodes on the next open, no re-embed.
    #[serde(default)]
    pub codec: CodecSpec,
    /// How chunk text is tokenized for BM25.
    #[serde(default)]
    pub keywords: TokenizerSpec,
    pub segments: Vec<SegmentMeta>,
    pub tombstones: Vec<Tombstone>,
    /// Sequence number the next segment or tombstone gets.
    pub next_seq: u64,
}

impl Manifest {
    /// The manifest of an empty index.
    pub fn new(embedding: EmbeddingSpec) -> Self {
        Self {
            format: "hearth-index".into(),
            schema_version: SCHEMA_VERSION,
            version: 0,
            embedding,
            codec: CodecSpec::default(),
            keywords: TokenizerSpec::default(),
            segments: Vec::new(),
            tombstones: Vec::new(),
            next_seq: 1,
        }
    }

    /// Reads and validates `dir/manifest.json`; `Ok(None)` when there is none.
    pub fn load(dir: &Path) -> Result<Option<Self>, StoreError> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path)(e)),
        };
        let bad = |reason: String| StoreError::Manifest {
            path: path.clone(),
            reason,
        };
        let manifest: Self = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        if manifest.format != "hearth-index" {
            return Err(bad(format!(
                "format `{}` is not hearth-index",
                manifest.format
            )));
        }
        if manifest.schema_version != SCHEMA_VERSION {
            return Err(bad(format!(
                "schema version {} is not supported (this build reads {SCHEMA_VERSION})",
                manifest.schema_version
            )));
        }
        Ok(Some(manifest))
    }

    /// Atomically replaces `dir/manifest.json` with this manifest.
    pub fn commit(&self, dir: &Path) -> Result<(), StoreError> {
        let path = dir.join(MANIFEST_FILE);
        let tmp = dir.join(format!("{MANIFEST_FILE}.tmp"));
        let json = serde_json::to_vec_pretty(self).map_err(|e| StoreError::Manifest {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        {
            use std::io::Write;
            let mut file = std::fs::File::create(&tmp).map_err(io_err(&tmp))?;
            file.write_all(&json).map_err(io_err(&tmp))?;
            file.sync_all().map_err(io_err(&tmp))?;
        }
        std::fs::rename(&tmp, &path).map_err(io_err(&path))?;
        sync_dir(dir)
    }
}

/// fsyncs a directory so a rename inside it is durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}
