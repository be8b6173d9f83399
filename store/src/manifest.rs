//! The manifest: the one file that says what the index is. It names the live
//! segments, the tombstones, the schema version and the embedding model, and is
//! replaced atomically (write to a temporary file, fsync, rename, fsync the
//! directory), so a reader or a crash sees either the old index or the new one.

use crate::bm25::TokenizerSpec;
use crate::clock::Version;
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
    /// Embedding model id, as the embedder names it.
    pub model_id: String,
    /// Length of each embedding vector.
    pub dimension: usize,
}

/// One committed segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentMeta {
    /// Local sequence number: names the segment's files in this index.
    pub seq: u64,
    /// Identity of the segment's contents wherever they travel (random, set
    /// when written; kept by a merge into another device's index). Empty in
    /// indexes written before sync existed until [`crate::IndexWriter::prepare_export`].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Documents stored in the segment.
    pub documents: u64,
    /// Chunk rows stored in the segment.
    pub chunks: u64,
    /// Unix seconds.
    pub created_at: i64,
}

/// A deleted document: hides every version of it older than the delete, by
/// [`Version`] (and, for data from before versions existed, by `seq`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tombstone {
    /// Id of the deleted document.
    pub doc_id: String,
    /// Local sequence number of the delete; hides segments with a lower `seq`.
    pub seq: u64,
    /// Clock reading of the delete.
    #[serde(default)]
    pub hlc: u64,
    /// Device that deleted it.
    #[serde(default)]
    pub device: String,
}

impl Tombstone {
    /// The delete's version.
    pub fn version(&self) -> Version {
        Version {
            hlc: self.hlc,
            device: self.device.clone(),
        }
    }
}

/// The index manifest (`manifest.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `hearth-index`.
    pub format: String,
    /// Version of the segment table schema ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Incremented by every commit.
    pub version: u64,
    /// The model that produced the stored vectors.
    pub embedding: EmbeddingSpec,
    /// How the resident codes are made (kind, bits, rotation, seed). Codes are
    /// derived data: changing this re-encodes on the next open, no re-embed.
    #[serde(default)]
    pub codec: CodecSpec,
    /// How chunk text is tokenized for BM25.
    #[serde(default)]
    pub keywords: TokenizerSpec,
    /// Live segments, oldest first.
    pub segments: Vec<SegmentMeta>,
    /// Deletes not yet dropped by compaction.
    pub tombstones: Vec<Tombstone>,
    /// Sequence number the next segment or tombstone gets.
    pub next_seq: u64,
    /// Id of the device this index lives on (random, set on creation).
    #[serde(default)]
    pub device: String,
    /// Highest clock reading this index has issued or merged.
    #[serde(default)]
    pub clock: u64,
    /// Whether this index has been exported or has merged another device's:
    /// then compaction keeps tombstones, so that a delete reaches every
    /// device and an old copy elsewhere cannot bring the document back.
    #[serde(default)]
    pub shared: bool,
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
            device: crate::clock::random_id(8),
            clock: 0,
            shared: false,
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
