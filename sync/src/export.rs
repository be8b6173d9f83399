//! `hearth snapshot export`: this device's index into a target, encrypted,
//! incrementally. Only objects the target lacks are written (segments are
//! immutable and content-addressed, so a re-export after a small change
//! writes a few objects); the snapshot manifest goes last, conditionally on
//! the version read, and is retried when another device exported meanwhile.

use crate::error::{SyncError, io_err};
use crate::keys::{Keyring, RECOVERY_FILE, encrypt_to, now_secs};
use crate::snapshot::{
    DeviceHead, ExportRecord, OBJECTS_DIR, ObjectRef, SNAPSHOT_FILE, SnapshotManifest, SyncState,
    keys_fingerprint,
};
use crate::target::{Replaced, Target};
use hearth_store::Index;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// How often the manifest is re-read and re-written when another export
/// keeps winning the race.
const MANIFEST_TRIES: usize = 8;

/// What an export did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportReport {
    pub target: String,
    pub device: String,
    pub segments: usize,
    /// Objects written, and those the target already had.
    pub objects_written: usize,
    pub objects_present: usize,
    /// Plaintext bytes of the objects written, and what they took encrypted.
    pub plain_bytes_written: u64,
    pub bytes_written: u64,
    pub snapshot_version: u64,
}

/// Exports `index` to `target`, encrypted to every device of `keys`.
/// `state_dir` holds [`SyncState`].
pub fn export(
    index: &mut Index,
    keys: &Keyring,
    target: &Target,
    state_dir: &Path,
) -> Result<ExportReport, SyncError> {
    index.prepare_export()?;
    let mut state = SyncState::load(state_dir)?;
    let recipients = keys.recipient_keys();
    let fingerprint = keys_fingerprint(&recipients);
    let present = target.list(OBJECTS_DIR)?;
    let manifest = index.manifest().clone();
    let mut report = ExportReport {
        target: target.display().to_owned(),
        device: manifest.device.clone(),
        segments: manifest.segments.len(),
        ..ExportReport::default()
    };
    let mut objects: BTreeMap<String, Vec<ObjectRef>> = BTreeMap::new();
    for seg in &manifest.segments {
        let files = index.segment_files(seg.seq);
        let hashes = match state.hashes.get(&seg.id) {
            Some(h) => h.clone(),
            None => {
                let mut h = Vec::new();
                for (n, rel) in files.iter().enumerate() {
                    let path = index.dir().join(rel);
                    let bytes = std::fs::read(&path).map_err(io_err(&path))?;
                    h.push((
                        n as u8,
                        blake3::hash(&bytes).to_hex().to_string(),
                        bytes.len() as u64,
                    ));
                }
                state.hashes.insert(seg.id.clone(), h.clone());
                h
            }
        };
        let mut refs = Vec::new();
        for (file, hash, bytes) in hashes {
            let name = format!("{hash}-{fingerprint}.age");
            let key = format!("{OBJECTS_DIR}/{name}");
            if present.contains(&name) {
                report.objects_present += 1;
            } else {
                let path = index.dir().join(&files[usize::from(file)]);
                let plain = std::fs::read(&path).map_err(io_err(&path))?;
                if blake3::hash(&plain).to_hex().as_str() != hash {
                    return Err(SyncError::Invalid(format!(
                        "{} changed since it was written (segments are immutable)",
                        path.display()
                    )));
                }
                let sealed = encrypt_to(&recipients, &plain)?;
                report.plain_bytes_written += plain.len() as u64;
                report.bytes_written += sealed.len() as u64;
                target.put(&key, sealed)?;
                report.objects_written += 1;
            }
            refs.push(ObjectRef {
                file,
                hash,
                bytes,
                key,
            });
        }
        objects.insert(seg.id.clone(), refs);
    }
    // Drop cached hashes of segments that are gone (compacted away).
    let live: std::collections::HashSet<&str> =
        manifest.segments.iter().map(|s| s.id.as_str()).collect();
    state.hashes.retain(|id, _| live.contains(id.as_str()));

    if let Some(blob) = keys.recovery_blob()?
        && target.get(RECOVERY_FILE)?.is_none()
    {
        target.put(RECOVERY_FILE, blob)?;
    }

    let head = DeviceHead {
        name: keys.name(),
        public_key: keys.public_key(),
        recipients: recipients.clone(),
        exported_at: now_secs(),
        index: manifest.clone(),
        objects,
    };
    let mut written = None;
    for _ in 0..MANIFEST_TRIES {
        let current = target.get(SNAPSHOT_FILE)?;
        let (mut snapshot, e_tag) = match &current {
            Some(f) => {
                let plain = keys.decrypt(&f.bytes, SNAPSHOT_FILE, target.display())?;
                (
                    SnapshotManifest::parse(&plain, target.display())?,
                    f.e_tag.clone(),
                )
            }
            None => (SnapshotManifest::default(), None),
        };
        snapshot.version += 1;
        snapshot
            .devices
            .insert(manifest.device.clone(), head.clone());
        // Readable by every device any head encrypts to.
        let mut readers: Vec<String> = snapshot
            .devices
            .values()
            .flat_map(|h| h.recipients.iter().cloned())
            .collect();
        readers.sort();
        readers.dedup();
        let plain = serde_json::to_vec(&snapshot).map_err(|e| SyncError::Invalid(e.to_string()))?;
        let sealed = encrypt_to(&readers, &plain)?;
        report.bytes_written += sealed.len() as u64;
        if current.is_some() && e_tag.is_none() {
            return Err(SyncError::Target {
                target: target.display().into(),
                reason: "the object store gives no version tag for conditional updates".into(),
            });
        }
        match target.replace(SNAPSHOT_FILE, sealed, e_tag.as_deref())? {
            Replaced::Done => {
                written = Some(snapshot.version);
                break;
            }
            Replaced::Conflict => continue,
        }
    }
    let version = written.ok_or_else(|| SyncError::Contended(target.display().into()))?;
    report.snapshot_version = version;
    let entry = state
        .targets
        .entry(target.display().to_owned())
        .or_default();
    entry.last_export = Some(ExportRecord {
        at: now_secs(),
        index_version: manifest.version,
        snapshot_version: version,
    });
    state.save(state_dir)?;
    Ok(report)
}
