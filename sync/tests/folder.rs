//! Sync through a folder target: round trips between three devices,
//! incremental exports, recovery by passphrase, refusal of tampered,
//! truncated, incomplete and foreign snapshots (with the local index left
//! exactly as it was), and concurrent exports that keep each other's heads.

mod common;

use common::{Device, fleet, view};
use hearth_store::Index;
use hearth_sync::{OBJECTS_DIR, SNAPSHOT_FILE, SecretString, SyncError, Target};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn folder() -> (tempfile::TempDir, Target) {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::open(dir.path().join("snap").to_str().unwrap()).unwrap();
    (dir, target)
}

fn objects(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("snap").join(OBJECTS_DIR))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

#[test]
fn three_devices_round_trip_incrementally_and_converge() {
    let (dir, target) = folder();
    let mut f = fleet(3);
    for id in 0..3 {
        f[0].put(id, 0);
    }
    let first = f[0].export(&target).unwrap();
    assert_eq!(first.segments, 3);
    assert_eq!(first.objects_written, 9, "3 segments × 3 files");
    assert!(first.bytes_written > first.plain_bytes_written);
    // Nothing changed: nothing written but the manifest.
    let again = f[0].export(&target).unwrap();
    assert_eq!((again.objects_written, again.objects_present), (0, 9));
    assert_eq!(again.snapshot_version, first.snapshot_version + 1);
    assert_eq!(objects(dir.path()).len(), 9);

    let got = f[1].import(&target).unwrap();
    assert_eq!(got.devices, vec!["laptop".to_owned()]);
    assert_eq!((got.segments_added, got.documents_after), (3, 3));
    assert_eq!(f[1].view(), f[0].view());
    // Importing again adds nothing.
    let same = f[1].import(&target).unwrap();
    assert_eq!((same.segments_added, same.objects_fetched), (0, 0));

    // The phone edits one memo and deletes another; the desktop adds one.
    f[1].put(0, 1);
    assert!(f[1].delete(2));
    f[2].put(7, 3);
    let phone = f[1].export(&target).unwrap();
    assert_eq!(phone.objects_written, 3, "only the phone's new segment");
    f[2].export(&target).unwrap();
    for d in &mut f {
        d.import(&target).unwrap();
    }
    let expected: BTreeMap<String, String> = [
        ("doc-0", "memo-0-1"),
        ("doc-1", "memo-1-0"),
        ("doc-7", "memo-7-3"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(f[0].view().0, expected);
    assert_eq!(f[1].view(), f[0].view());
    assert_eq!(f[2].view(), f[0].view());

    // The index on disk is what the devices hold in memory.
    let reopened = Index::open(f[2].index.dir()).unwrap();
    assert_eq!(view(&reopened), f[0].view());

    let status =
        hearth_sync::status(&f[0].index, &f[0].keys, &f[0].sync_dir(), Some(&target)).unwrap();
    let t = status.target.unwrap();
    assert_eq!(t.heads.len(), 3);
    assert!(t.heads.iter().all(|h| !h.import_pending));
    assert!(t.export_pending, "the laptop merged since its export");
}

/// Runs `damage` on the target, asserts the phone's import fails as `check`
/// says, that the phone's index is untouched (in memory and on disk), and
/// restores the target.
fn refused(
    dir: &Path,
    phone: &mut Device,
    target: &Target,
    damage: impl Fn(&Path),
    check: impl Fn(&SyncError) -> bool,
) {
    let snap = dir.join("snap");
    let backup = dir.join("backup");
    copy_dir(&snap, &backup);
    let before = phone.view();
    let manifest = std::fs::read(phone.index.dir().join("manifest.json")).unwrap();
    damage(&snap);
    let err = phone
        .import(target)
        .expect_err("a damaged snapshot is refused");
    assert!(check(&err), "unexpected error: {err}");
    assert!(!err.to_string().is_empty());
    assert_eq!(phone.view(), before);
    assert_eq!(
        std::fs::read(phone.index.dir().join("manifest.json")).unwrap(),
        manifest,
        "the index manifest is untouched"
    );
    assert_eq!(view(&Index::open(phone.index.dir()).unwrap()), before);
    let staging: Vec<_> = std::fs::read_dir(phone.sync_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("staging"))
        .collect();
    assert!(staging.is_empty(), "staging is cleaned up");
    std::fs::remove_dir_all(&snap).unwrap();
    std::fs::rename(&backup, &snap).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// What is done to a target folder, and whether an import's error fits it.
type Case<'a> = (&'a str, Box<dyn Fn(&Path) + 'a>, fn(&SyncError) -> bool);

/// Rewrites the file at `path` through `edit`.
fn rewrite(path: &Path, edit: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = std::fs::read(path).unwrap();
    edit(&mut bytes);
    std::fs::write(path, bytes).unwrap();
}

/// Flips `mask` in the byte `from_end` bytes before the end.
fn flip(bytes: &mut [u8], from_end: usize, mask: u8) {
    let at = bytes.len() - from_end;
    bytes[at] ^= mask;
}

fn tampered(e: &SyncError) -> bool {
    matches!(e, SyncError::Tampered { .. })
}

#[test]
fn tampered_truncated_incomplete_and_foreign_snapshots_leave_the_index_untouched() {
    let (dir, target) = folder();
    let mut f = fleet(2);
    f[0].put(1, 0);
    f[0].put(2, 1);
    f[0].export(&target).unwrap();
    // The phone has its own memo, so "untouched" is not just "empty".
    f[1].put(9, 2);
    let objs = objects(dir.path());
    let first = objs[0].file_name().unwrap().to_owned();
    let second = objs[1].file_name().unwrap().to_owned();
    let phone = &mut f[1];

    let object = |snap: &Path| snap.join(OBJECTS_DIR).join(&first);
    let manifest = |snap: &Path| snap.join(SNAPSHOT_FILE);
    let cases: Vec<Case> = vec![
        (
            "one bit flipped inside an object's payload",
            Box::new(|snap| rewrite(&object(snap), |b| flip(b, 20, 0x10))),
            tampered,
        ),
        (
            "an object cut short",
            Box::new(|snap| rewrite(&object(snap), |b| b.truncate(b.len() / 2))),
            tampered,
        ),
        (
            "an object missing (an interrupted upload)",
            Box::new(|snap| std::fs::remove_file(object(snap)).unwrap()),
            |e| tampered(e) && e.to_string().contains("missing"),
        ),
        (
            "a valid object in another's place: it decrypts, its hash is wrong",
            Box::new(|snap| {
                std::fs::copy(snap.join(OBJECTS_DIR).join(&second), object(snap)).unwrap();
            }),
            |e| tampered(e) && e.to_string().contains("hash"),
        ),
        (
            "the manifest modified",
            Box::new(|snap| rewrite(&manifest(snap), |b| flip(b, 5, 1))),
            tampered,
        ),
        (
            "the manifest truncated",
            Box::new(|snap| rewrite(&manifest(snap), |b| b.truncate(b.len() - 40))),
            tampered,
        ),
        (
            "the manifest not age at all",
            Box::new(|snap| std::fs::write(manifest(snap), b"{\"format\": \"plain\"}").unwrap()),
            tampered,
        ),
    ];
    for (what, damage, check) in cases {
        eprintln!("{what}");
        refused(dir.path(), phone, &target, damage, check);
    }
    // Encrypted to other keys only: a device nobody enrolled.
    let mut stranger = Device::new("stranger");
    stranger.put(4, 4);
    let before = stranger.view();
    let err = stranger.import(&target).unwrap_err();
    assert!(
        matches!(err, SyncError::NotForThisDevice { .. }),
        "unexpected: {err}"
    );
    assert!(err.to_string().contains("hearth device add"));
    assert_eq!(stranger.view(), before);

    // Undamaged, the same snapshot imports.
    let ok = f[1].import(&target).unwrap();
    assert_eq!((ok.documents_before, ok.documents_after), (1, 3));
}

#[test]
fn a_new_device_reads_with_the_recovery_passphrase() {
    // A cheap scrypt work factor: this test is about the flow, not the KDF.
    // SAFETY: the only test in this binary that touches the environment, set
    // before any thread of it reads the variable.
    unsafe { std::env::set_var("HEARTH_SYNC_SCRYPT_LOG_N", "10") };
    let (_dir, target) = folder();
    let data = tempfile::tempdir().unwrap();
    let pass = || SecretString::from("correct horse battery staple".to_owned());
    let mut laptop = Device {
        index: Index::create_writer(&data.path().join("index"), &common::spec()).unwrap(),
        keys: hearth_sync::Keyring::init(&data.path().join("sync"), "laptop", Some(pass()))
            .unwrap(),
        data,
    };
    assert!(laptop.keys.recovery_key().is_some());
    laptop.put(3, 1);
    laptop.export(&target).unwrap();

    let mut new = Device::new("new-phone");
    assert!(matches!(
        new.import(&target),
        Err(SyncError::NotForThisDevice { .. })
    ));
    assert!(matches!(
        new.keys
            .unlock_recovery_from(&target, SecretString::from("wrong".to_owned())),
        Err(SyncError::BadPassphrase(_))
    ));
    new.keys.unlock_recovery_from(&target, pass()).unwrap();
    let got = new.import(&target).unwrap();
    assert_eq!(got.documents_after, 1);
    assert_eq!(new.view(), laptop.view());

    // Its own export is encrypted to itself only until it enrolls the
    // laptop: the laptop's import skips it and goes on.
    new.put(5, 0);
    new.export(&target).unwrap();
    let skipped = laptop.import(&target).unwrap();
    assert_eq!(skipped.skipped, vec!["new-phone".to_owned()]);
    assert_eq!(skipped.segments_added, 0);
    let laptop_key = laptop.keys.public_key();
    new.keys.add_device("laptop", &laptop_key).unwrap();
    new.export(&target).unwrap();
    let merged = laptop.import(&target).unwrap();
    assert!(merged.skipped.is_empty());
    assert_eq!(merged.documents_after, 2);
}

#[test]
fn concurrent_exports_keep_every_head() {
    let (dir, _) = folder();
    let spec = dir.path().join("snap").to_str().unwrap().to_owned();
    let mut f = fleet(3);
    let handles: Vec<_> = f
        .drain(..)
        .enumerate()
        .map(|(i, mut d)| {
            let spec = spec.clone();
            std::thread::spawn(move || {
                let target = Target::open(&spec).unwrap();
                for round in 0..4u8 {
                    d.put(i as u8 * 10 + round, round);
                    d.export(&target).unwrap();
                }
                d
            })
        })
        .collect();
    let mut f: Vec<Device> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let target = Target::open(&spec).unwrap();
    let snapshot = hearth_sync::read_snapshot(&f[0].keys, &target)
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.devices.len(), 3, "no export lost another's head");
    assert_eq!(
        snapshot.version, 12,
        "every export replaced the manifest once"
    );
    for d in &mut f {
        d.import(&target).unwrap();
    }
    assert_eq!(f[0].view().0.len(), 12);
    assert_eq!(f[1].view(), f[0].view());
    assert_eq!(f[2].view(), f[0].view());
}

#[test]
fn objects_no_head_references_are_collected_after_the_grace_period() {
    let (dir, target) = folder();
    let mut f = fleet(2);
    for id in 0..4 {
        f[0].put(id, 1);
    }
    f[0].export(&target).unwrap();
    assert_eq!(objects(dir.path()).len(), 12);
    // Compaction replaces the four segments by one: their objects are
    // unreferenced after the next export, but still young, so kept (an
    // export under way elsewhere may be about to name objects like them).
    f[0].index
        .compact(&hearth_store::CompactionPolicy::default())
        .unwrap();
    let kept = f[0].export(&target).unwrap();
    assert_eq!(kept.objects_removed, 0);
    assert_eq!(objects(dir.path()).len(), 15);
    let old = std::time::SystemTime::now()
        - std::time::Duration::from_secs(hearth_sync::GC_GRACE_SECS as u64 + 60);
    for p in objects(dir.path()) {
        std::fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let collected = f[0].export(&target).unwrap();
    assert_eq!(collected.objects_removed, 12);
    assert_eq!(objects(dir.path()).len(), 3);
    // What is left is complete.
    f[1].import(&target).unwrap();
    assert_eq!(f[1].view(), f[0].view());
}
