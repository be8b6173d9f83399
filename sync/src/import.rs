//! `hearth snapshot import`: every other device's head from a target,
//! decrypted and verified into a staging folder, then merged into the local
//! index in one atomic commit ([`hearth_store::IndexWriter::merge_from`]). Any
//! failure — a key that does not open it, a modified or truncated object, a
//! missing one, another embedding model — happens before the merge and
//! leaves the local index untouched.

use crate::error::{SyncError, io_err};
use crate::keys::{Keyring, now_secs};
use crate::snapshot::{ImportRecord, SNAPSHOT_FILE, SnapshotManifest, SyncState};
use crate::target::Target;
use hearth_store::{IndexWriter, Manifest, SegmentMeta, Tombstone};
use serde::Serialize;
use std::collections::HashSet;
use std::path::Path;

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// The target, as named (`s3://bucket/prefix` or a folder).
    pub target: String,
    /// Version of the snapshot manifest read.
    pub snapshot_version: u64,
    /// Names of the devices whose heads were merged.
    pub devices: Vec<String>,
    /// Names of the devices whose heads are not encrypted to this device
    /// (they have not enrolled it): left out, nothing else affected.
    pub skipped: Vec<String>,
    /// Encrypted objects downloaded (segments this index already held are skipped).
    pub objects_fetched: usize,
    /// Encrypted bytes fetched, and the plaintext they held.
    pub bytes_fetched: u64,
    /// Plaintext bytes those objects decrypted to.
    pub plain_bytes_fetched: u64,
    /// Segments the merge added to the local index.
    pub segments_added: usize,
    /// Tombstones the merge added that the local index did not have.
    pub tombstones_added: usize,
    /// Live documents in the local index before the merge.
    pub documents_before: u64,
    /// Live documents in the local index after the merge.
    pub documents_after: u64,
}

/// Reads and decrypts the snapshot manifest of `target` (`None` when the
/// target holds no snapshot yet): what a new device needs to create its
/// index with the same embedding model before its first import.
pub fn read_snapshot(
    keys: &Keyring,
    target: &Target,
) -> Result<Option<SnapshotManifest>, SyncError> {
    let name = target.display();
    match target.get(SNAPSHOT_FILE)? {
        None => Ok(None),
        Some(fetched) => Ok(Some(SnapshotManifest::parse(
            &keys.decrypt(&fetched.bytes, SNAPSHOT_FILE, name)?,
            name,
        )?)),
    }
}

/// Imports `target` into `index`: every other device's head that is
/// encrypted to this device (heads that are not — a device that has not
/// enrolled this one — are skipped and named in the report). A device not
/// yet enrolled anywhere unlocks the target's recovery key first
/// ([`Keyring::unlock_recovery_from`]). `state_dir` holds [`SyncState`];
/// staging happens under it.
pub fn import(
    index: &mut IndexWriter,
    keys: &Keyring,
    target: &Target,
    state_dir: &Path,
) -> Result<ImportReport, SyncError> {
    let name = target.display().to_owned();
    let snapshot = read_snapshot(keys, target)?
        .ok_or_else(|| SyncError::Invalid(format!("no snapshot at {name} (export one first)")))?;
    let local = index.manifest().clone();
    let mut report = ImportReport {
        target: name.clone(),
        snapshot_version: snapshot.version,
        ..ImportReport::default()
    };
    let staging = state_dir.join(format!("staging-{}", hearth_store::random_id(6)));
    let result = stage_and_merge(
        index,
        keys,
        target,
        &snapshot,
        &local,
        &staging,
        &mut report,
    );
    let _ = std::fs::remove_dir_all(&staging);
    result?;
    let mut state = SyncState::load(state_dir)?;
    let entry = state.targets.entry(name).or_default();
    for (id, head) in &snapshot.devices {
        if *id != local.device && keys.can_read(&head.recipients) {
            entry.imported.insert(id.clone(), head.index.clock);
        }
    }
    entry.last_import = Some(ImportRecord {
        at: now_secs(),
        snapshot_version: snapshot.version,
        segments_added: report.segments_added,
        tombstones_added: report.tombstones_added,
    });
    state.save(state_dir)?;
    Ok(report)
}

fn stage_and_merge(
    index: &mut IndexWriter,
    keys: &Keyring,
    target: &Target,
    snapshot: &SnapshotManifest,
    local: &Manifest,
    staging: &Path,
    report: &mut ImportReport,
) -> Result<(), SyncError> {
    let name = target.display();
    std::fs::create_dir_all(staging.join("segments")).map_err(io_err(staging))?;
    let mut known: HashSet<String> = local.segments.iter().map(|s| s.id.clone()).collect();
    let mut combined = Manifest::new(local.embedding.clone());
    combined.keywords = local.keywords;
    combined.codec = local.codec.clone();
    combined.clock = 0;
    let mut seen_tombstones: HashSet<(String, u64, String)> = HashSet::new();
    for (id, head) in &snapshot.devices {
        if *id == local.device {
            continue;
        }
        if head.index.embedding != local.embedding {
            return Err(SyncError::Invalid(format!(
                "device `{}` indexes with {} ({}-d), this one with {} ({}-d): the indexes cannot be merged",
                head.name,
                head.index.embedding.model_id,
                head.index.embedding.dimension,
                local.embedding.model_id,
                local.embedding.dimension
            )));
        }
        if !keys.can_read(&head.recipients) {
            report.skipped.push(head.name.clone());
            continue;
        }
        report.devices.push(head.name.clone());
        combined.clock = combined.clock.max(head.index.clock);
        for seg in &head.index.segments {
            if seg.id.is_empty() || !known.insert(seg.id.clone()) {
                continue;
            }
            let refs = head
                .objects
                .get(&seg.id)
                .ok_or_else(|| SyncError::Tampered {
                    what: SNAPSHOT_FILE.into(),
                    target: name.into(),
                    reason: format!("segment {} of `{}` lists no objects", seg.id, head.name),
                })?;
            let seq = combined.next_seq;
            combined.next_seq += 1;
            let files = index.segment_files(seq);
            for r in refs {
                let missing = || SyncError::Tampered {
                    what: r.key.clone(),
                    target: name.into(),
                    reason: "the object is missing (an interrupted or truncated snapshot)".into(),
                };
                let sealed = target.get(&r.key)?.ok_or_else(missing)?;
                report.objects_fetched += 1;
                report.bytes_fetched += sealed.bytes.len() as u64;
                let plain = keys.decrypt(&sealed.bytes, &r.key, name)?;
                if plain.len() as u64 != r.bytes || blake3::hash(&plain).to_hex().as_str() != r.hash
                {
                    return Err(SyncError::Tampered {
                        what: r.key.clone(),
                        target: name.into(),
                        reason: "its contents do not match the hash the manifest gives".into(),
                    });
                }
                let rel = files
                    .get(usize::from(r.file))
                    .ok_or_else(|| SyncError::Tampered {
                        what: r.key.clone(),
                        target: name.into(),
                        reason: format!("unknown segment file number {}", r.file),
                    })?;
                report.plain_bytes_fetched += plain.len() as u64;
                let path = staging.join(rel);
                std::fs::write(&path, plain).map_err(io_err(&path))?;
            }
            combined.segments.push(SegmentMeta { seq, ..seg.clone() });
        }
        for t in &head.index.tombstones {
            if seen_tombstones.insert((t.doc_id.clone(), t.hlc, t.device.clone())) {
                let seq = combined.next_seq;
                combined.next_seq += 1;
                combined.tombstones.push(Tombstone { seq, ..t.clone() });
            }
        }
    }
    combined.device = String::new();
    combined.commit(staging)?;
    let merged = index.merge_from(staging)?;
    report.segments_added = merged.segments_added;
    report.tombstones_added = merged.tombstones_added;
    report.documents_before = merged.documents_before;
    report.documents_after = merged.documents_after;
    Ok(())
}
