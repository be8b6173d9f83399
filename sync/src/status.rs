//! `hearth snapshot status`: this device, its enrolled devices, what it last
//! exported to and imported from each target, and — when a target is given
//! — what every device last exported there and whether it is still pending
//! here (or, for this device, whether local changes are pending export).

use crate::error::SyncError;
use crate::keys::{DeviceEntry, Keyring};
use crate::snapshot::{SNAPSHOT_FILE, SnapshotManifest, SyncState, TargetState};
use crate::target::Target;
use hearth_store::Index;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Everything `hearth snapshot status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct SyncStatus {
    /// Id of this device in its index manifest.
    pub device_id: String,
    /// This device's name in its keyring.
    pub device_name: String,
    /// This device's age public key (`age1…`), to enroll it on other devices.
    pub public_key: String,
    /// Public key of the recovery key; `None` when no passphrase was set.
    pub recovery_key: Option<String>,
    /// Every device in the keyring, this one included.
    pub enrolled: Vec<DeviceEntry>,
    /// Local index manifest version.
    pub index_version: u64,
    /// By target.
    pub targets: BTreeMap<String, TargetState>,
    /// The target asked about, read now.
    pub target: Option<TargetStatus>,
}

/// One target as read now.
#[derive(Debug, Clone, Serialize)]
pub struct TargetStatus {
    /// The target, as named (`s3://bucket/prefix` or a folder).
    pub target: String,
    /// Version of its snapshot manifest; 0 when it holds no snapshot yet.
    pub snapshot_version: u64,
    /// Each device's head in the snapshot, in device id order.
    pub heads: Vec<HeadStatus>,
    /// Local changes not yet exported there.
    pub export_pending: bool,
}

/// One device's head in a target.
#[derive(Debug, Clone, Serialize)]
pub struct HeadStatus {
    /// Id of the device that exported the head.
    pub device_id: String,
    /// That device's name.
    pub name: String,
    /// Whether the head is this device's own.
    pub this_device: bool,
    /// Unix seconds of the export.
    pub exported_at: i64,
    /// Segments in the exported index.
    pub segments: usize,
    /// Document rows across those segments, live or not.
    pub document_rows: u64,
    /// Tombstones in the exported index.
    pub tombstones: usize,
    /// Exported there since this device last imported it.
    pub import_pending: bool,
}

/// Gathers the status; reads `target` when given.
pub fn status(
    index: &Index,
    keys: &Keyring,
    state_dir: &Path,
    target: Option<&Target>,
) -> Result<SyncStatus, SyncError> {
    let state = SyncState::load(state_dir)?;
    let manifest = index.manifest();
    let target = match target {
        None => None,
        Some(t) => {
            let kept = state.targets.get(t.display());
            let export_pending = kept
                .and_then(|k| k.last_export.as_ref())
                .is_none_or(|e| e.index_version < manifest.version);
            let (snapshot_version, heads) = match t.get(SNAPSHOT_FILE)? {
                None => (0, Vec::new()),
                Some(f) => {
                    let snap = SnapshotManifest::parse(
                        &keys.decrypt(&f.bytes, SNAPSHOT_FILE, t.display())?,
                        t.display(),
                    )?;
                    let heads = snap
                        .devices
                        .iter()
                        .map(|(id, h)| {
                            let this_device = *id == manifest.device;
                            let imported = kept.and_then(|k| k.imported.get(id)).copied();
                            HeadStatus {
                                device_id: id.clone(),
                                name: h.name.clone(),
                                this_device,
                                exported_at: h.exported_at,
                                segments: h.index.segments.len(),
                                document_rows: h.documents(),
                                tombstones: h.index.tombstones.len(),
                                import_pending: !this_device
                                    && imported.is_none_or(|c| c < h.index.clock),
                            }
                        })
                        .collect();
                    (snap.version, heads)
                }
            };
            Some(TargetStatus {
                target: t.display().to_owned(),
                snapshot_version,
                heads,
                export_pending,
            })
        }
    };
    Ok(SyncStatus {
        device_id: manifest.device.clone(),
        device_name: keys.name(),
        public_key: keys.public_key(),
        recovery_key: keys.recovery_key().map(str::to_owned),
        enrolled: keys.devices().to_vec(),
        index_version: manifest.version,
        targets: state.targets,
        target,
    })
}
