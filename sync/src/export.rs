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
use hearth_store::IndexWriter;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// How often the manifest is re-read and re-written when another export
/// keeps winning the race.
const MANIFEST_TRIES: usize = 8;

/// An object no head references is deleted once it is this old (seconds):
/// younger ones may belong to an export still under way on another device,
/// which writes its objects before the manifest that names them.
pub const GC_GRACE_SECS: i64 = 3600;

/// What an export did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportReport {
    /// The target, as named (`s3://bucket/prefix` or a folder).
    pub target: String,
    /// Id of this device, whose head was exported.
    pub device: String,
    /// Segments of the local index exported.
    pub segments: usize,
    /// Objects written, and those the target already had.
    pub objects_written: usize,
    /// Objects the target already held, so not written again.
    pub objects_present: usize,
    /// Plaintext bytes of the objects written, and what they took encrypted.
    pub plain_bytes_written: u64,
    /// Encrypted bytes written, the snapshot manifest included.
    pub bytes_written: u64,
    /// Objects no device's head references any more (segments compacted
    /// away, keys changed), older than [`GC_GRACE_SECS`]: deleted.
    pub objects_removed: usize,
    /// Version of the snapshot manifest this export wrote.
    pub snapshot_version: u64,
}

/// Exports `index` to `target`, encrypted to every device of `keys`.
/// `state_dir` holds [`SyncState`].
pub fn export(
    index: &mut IndexWriter,
    keys: &Keyring,
    target: &Target,
    state_dir: &Path,
) -> Result<ExportReport, SyncError> {
    index.prepare_export()?;
    let mut state = SyncState::load(state_dir)?;
    let recipients = keys.recipient_keys();
    let fingerprint = keys_fingerprint(&recipients);
    // Object keys in the target (`objects/…`), with when each was written.
    let listed: Vec<(String, i64)> = target
        .list_dated(OBJECTS_DIR)?
        .into_iter()
        .map(|(name, at)| (format!("{OBJECTS_DIR}/{name}"), at))
        .collect();
    let present: std::collections::HashSet<&str> =
        listed.iter().map(|(key, _)| key.as_str()).collect();
    let manifest = index.manifest().clone();
    let mut report = ExportReport {
        target: target.display().to_owned(),
        device: manifest.device.clone(),
        segments: manifest.segments.len(),
        ..ExportReport::default()
    };
    let mut objects: BTreeMap<String, Vec<ObjectRef>> = BTreeMap::new();
    let object_key = |hash: &str| format!("{OBJECTS_DIR}/{hash}-{fingerprint}.age");
    for seg in &manifest.segments {
        let files = index.segment_files(seg.seq);
        let cached = state.hashes.get(&seg.id).cloned().unwrap_or_default();
        let mut hashes = Vec::new();
        let mut refs = Vec::new();
        for (n, rel) in files.iter().enumerate() {
            let file = n as u8;
            let known = cached.iter().find(|(f, _, _)| *f == file);
            // Hashed before and already in the target: nothing to read.
            if let Some((_, hash, bytes)) = known
                && present.contains(object_key(hash).as_str())
            {
                report.objects_present += 1;
                hashes.push((file, hash.clone(), *bytes));
                refs.push(ObjectRef {
                    file,
                    hash: hash.clone(),
                    bytes: *bytes,
                    key: object_key(hash),
                });
                continue;
            }
            // Otherwise the file is read once, to hash and to encrypt.
            let path = index.dir().join(rel);
            let plain = std::fs::read(&path).map_err(io_err(&path))?;
            let hash = blake3::hash(&plain).to_hex().to_string();
            if known.is_some_and(|(_, h, _)| *h != hash) {
                return Err(SyncError::Invalid(format!(
                    "{} changed since it was written (segments are immutable)",
                    path.display()
                )));
            }
            let key = object_key(&hash);
            if present.contains(key.as_str()) {
                report.objects_present += 1;
            } else {
                let sealed = encrypt_to(&recipients, &plain)?;
                report.plain_bytes_written += plain.len() as u64;
                report.bytes_written += sealed.len() as u64;
                target.put(&key, sealed)?;
                report.objects_written += 1;
            }
            hashes.push((file, hash.clone(), plain.len() as u64));
            refs.push(ObjectRef {
                file,
                hash,
                bytes: plain.len() as u64,
                key,
            });
        }
        state.hashes.insert(seg.id.clone(), hashes);
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
                report.objects_removed = collect_garbage(target, &snapshot, &listed)?;
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

/// Deletes the listed objects (by key) that no head of `snapshot` (as just written)
/// references and that are older than [`GC_GRACE_SECS`].
fn collect_garbage(
    target: &Target,
    snapshot: &SnapshotManifest,
    listed: &[(String, i64)],
) -> Result<usize, SyncError> {
    let keys: std::collections::HashSet<String> = snapshot
        .devices
        .values()
        .flat_map(|h| h.objects.values().flatten())
        .map(|o| o.key.clone())
        .collect();
    let cutoff = now_secs() - GC_GRACE_SECS;
    let mut removed = 0;
    for (key, modified) in listed {
        if *modified < cutoff && !keys.contains(key) {
            target.delete(key)?;
            removed += 1;
        }
    }
    Ok(removed)
}
