//! The snapshot format and this device's record of its syncs.
//!
//! A target holds:
//!
//! ```text
//! snapshot.age                 the snapshot manifest (JSON), encrypted
//! objects/<blake3>-<keys>.age  segment files (Parquet), encrypted, named by
//!                              the hash of their plaintext and of the set of
//!                              keys they are encrypted to
//! recovery.age                 the passphrase-protected recovery key, if any
//! ```
//!
//! The manifest has one head per device: that device's index manifest (its
//! segments with their ids, its tombstones, its clock) and, per segment,
//! the objects holding its three files. Decrypted, every object is the very
//! Parquet file of the exporting index and the head its `manifest.json`:
//! open formats that polars or DuckDB read directly.

use crate::error::{SyncError, io_err};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Name of the encrypted snapshot manifest in a target.
pub const SNAPSHOT_FILE: &str = "snapshot.age";
/// Folder of the encrypted objects in a target.
pub const OBJECTS_DIR: &str = "objects";
const FORMAT: &str = "hearth-snapshot";
const FORMAT_VERSION: u32 = 1;

/// The decrypted `snapshot.age`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotManifest {
    /// Always `hearth-snapshot`.
    pub format: String,
    /// Version of the format; this build reads only version 1.
    pub format_version: u32,
    /// Incremented by every export.
    pub version: u64,
    /// By device id.
    pub devices: BTreeMap<String, DeviceHead>,
}

impl Default for SnapshotManifest {
    fn default() -> Self {
        Self {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            version: 0,
            devices: BTreeMap::new(),
        }
    }
}

impl SnapshotManifest {
    /// Parses a decrypted manifest, checking its format.
    pub fn parse(bytes: &[u8], target: &str) -> Result<Self, SyncError> {
        let damaged = |reason: String| SyncError::Tampered {
            what: SNAPSHOT_FILE.into(),
            target: target.into(),
            reason,
        };
        let manifest: Self = serde_json::from_slice(bytes)
            .map_err(|e| damaged(format!("not a snapshot manifest: {e}")))?;
        if manifest.format != FORMAT {
            return Err(damaged(format!(
                "format `{}` is not {FORMAT}",
                manifest.format
            )));
        }
        if manifest.format_version != FORMAT_VERSION {
            return Err(SyncError::Invalid(format!(
                "{target}: snapshot format version {} is not supported (this build reads {FORMAT_VERSION})",
                manifest.format_version
            )));
        }
        Ok(manifest)
    }
}

/// What one device last exported.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceHead {
    /// The device's name in its own keyring (`this device` when it has none).
    pub name: String,
    /// The device's own public key.
    pub public_key: String,
    /// Every key its objects are encrypted to.
    pub recipients: Vec<String>,
    /// Unix seconds.
    pub exported_at: i64,
    /// The device's index manifest at the export.
    pub index: hearth_store::Manifest,
    /// The objects of each segment, by segment id.
    pub objects: BTreeMap<String, Vec<ObjectRef>>,
}

impl DeviceHead {
    /// Live-or-not document rows across the head's segments.
    pub fn documents(&self) -> u64 {
        self.index.segments.iter().map(|s| s.documents).sum()
    }
}

/// One file of a segment, as stored in a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    /// Which of the segment's files: 0 documents, 1 chunks, 2 postings.
    pub file: u8,
    /// blake3 of the plaintext, hex.
    pub hash: String,
    /// Plaintext length.
    pub bytes: u64,
    /// Object key under the target, `objects/….age`.
    pub key: String,
}

/// This device's record of its syncs (`<data-dir>/sync/state.json`).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct SyncState {
    /// By target, as named on the command line.
    #[serde(default)]
    pub targets: BTreeMap<String, TargetState>,
    /// Plaintext hashes of this index's segment files, by segment id
    /// (segments are immutable, so each is hashed once).
    #[serde(default)]
    pub hashes: BTreeMap<String, Vec<(u8, String, u64)>>,
}

/// What happened with one target.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct TargetState {
    /// This device's last export to the target; `None` if it never exported there.
    pub last_export: Option<ExportRecord>,
    /// This device's last import from the target; `None` if it never imported.
    pub last_import: Option<ImportRecord>,
    /// Per device id: the clock of the head last merged from it.
    #[serde(default)]
    pub imported: BTreeMap<String, u64>,
}

/// A finished export.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportRecord {
    /// Unix seconds when the export finished.
    pub at: i64,
    /// Local index manifest version exported.
    pub index_version: u64,
    /// Version of the snapshot manifest it wrote.
    pub snapshot_version: u64,
}

/// A finished import.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportRecord {
    /// Unix seconds when the import finished.
    pub at: i64,
    /// Version of the snapshot manifest it read.
    pub snapshot_version: u64,
    /// Segments the merge added to the local index.
    pub segments_added: usize,
    /// Tombstones the merge added to the local index.
    pub tombstones_added: usize,
}

impl SyncState {
    fn path(dir: &Path) -> PathBuf {
        dir.join("state.json")
    }

    /// Loads `dir/state.json` (empty when absent).
    pub fn load(dir: &Path) -> Result<Self, SyncError> {
        let path = Self::path(dir);
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| SyncError::Invalid(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// Writes it atomically.
    pub fn save(&self, dir: &Path) -> Result<(), SyncError> {
        let path = Self::path(dir);
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let tmp = path.with_extension("json.tmp");
        let json =
            serde_json::to_vec_pretty(self).map_err(|e| SyncError::Invalid(e.to_string()))?;
        std::fs::write(&tmp, json).map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io_err(&path))
    }
}

/// Short fingerprint of a set of public keys (part of object names, so a
/// changed set of devices gets freshly encrypted objects).
pub(crate) fn keys_fingerprint(keys: &[String]) -> String {
    let mut sorted = keys.to_vec();
    sorted.sort();
    let hash = blake3::hash(sorted.join("\n").as_bytes());
    hash.to_hex()[..12].to_owned()
}
