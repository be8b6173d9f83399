//! Sync through the binary: two devices index different notes, enroll each
//! other, export to and import from one folder, and then both find both
//! notes; a deletion travels too; a device nobody enrolled is refused with
//! the fix in the message; `snapshot status` shows heads and what is
//! pending; and the decrypted snapshot is plain Parquet + JSON that polars
//! reads.

use crate::common;

use common::{command, hearth, json, ok};
use hearth_sync::{Keyring, SnapshotManifest, Target};
use polars::prelude::{ParquetReader, SerReader};
use std::path::Path;

fn note(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), text).unwrap();
}

fn init(data: &Path, name: &str) -> String {
    let key = ok(hearth(data, &["device", "init", "--name", name]));
    let key = key.trim().to_owned();
    assert!(key.starts_with("age1"), "{key}");
    key
}

fn search_titles(data: &Path, query: &str) -> Vec<String> {
    let hits = json(hearth(data, &["search", query, "-k", "3", "--json"]));
    hits.as_array()
        .unwrap()
        .iter()
        .map(|h| h["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn two_devices_share_one_memory_through_an_encrypted_folder() {
    let work = tempfile::tempdir().unwrap();
    let (laptop, phone) = (work.path().join("laptop"), work.path().join("phone"));
    let target = work.path().join("usb-stick");
    let target_s = target.to_str().unwrap();
    let (laptop_notes, phone_notes) = (work.path().join("ln"), work.path().join("pn"));
    note(
        &laptop_notes,
        "allotment.md",
        "# Allotment\nPlot 14 gets the broad beans in March, after the frost.\n",
    );
    note(
        &laptop_notes,
        "boiler.md",
        "# Boiler\nThe boiler service is due in October; the engineer is called Priya.\n",
    );
    note(
        &phone_notes,
        "bike.md",
        "# Bicycle\nThe rear derailleur needs a new cable; the shop on Mill Road fits them.\n",
    );
    ok(hearth(&laptop, &["index", laptop_notes.to_str().unwrap()]));
    ok(hearth(&phone, &["index", phone_notes.to_str().unwrap()]));

    let laptop_key = init(&laptop, "laptop");
    let phone_key = init(&phone, "phone");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(laptop.join("sync/identity.txt"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the secret key is the owner's only");
    }
    ok(hearth(&laptop, &["device", "add", "phone", &phone_key]));
    ok(hearth(&phone, &["device", "add", "laptop", &laptop_key]));
    let listed = json(hearth(&laptop, &["device", "list", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 2);

    let exported = json(hearth(
        &laptop,
        &["snapshot", "export", "--to", target_s, "--json"],
    ));
    assert!(exported["objects_written"].as_u64().unwrap() >= 3);
    ok(hearth(&phone, &["snapshot", "export", "--to", target_s]));
    let imported = json(hearth(
        &phone,
        &["snapshot", "import", "--from", target_s, "--json"],
    ));
    assert_eq!(imported["devices"][0], "laptop", "{imported}");
    assert_eq!(imported["documents_after"], 3, "{imported}");
    ok(hearth(&laptop, &["snapshot", "import", "--from", target_s]));
    for data in [&laptop, &phone] {
        assert!(search_titles(data, "when do the broad beans go in")[0].contains("broad beans"));
        assert!(search_titles(data, "bicycle derailleur cable")[0].contains("derailleur"));
    }

    // Nothing in the target is readable without a key.
    for entry in walk(&target) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(bytes.starts_with(b"age-encryption.org/v1"), "{entry:?}");
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("Priya") && !text.contains("derailleur"));
    }

    // The phone's own re-index keeps the laptop's notes; a note deleted on
    // the laptop disappears from the phone after the next sync.
    ok(hearth(&phone, &["index", phone_notes.to_str().unwrap()]));
    std::fs::remove_file(laptop_notes.join("boiler.md")).unwrap();
    ok(hearth(&laptop, &["index", laptop_notes.to_str().unwrap()]));
    ok(hearth(&laptop, &["snapshot", "export", "--to", target_s]));
    let status = json(hearth(
        &phone,
        &["snapshot", "status", "--target", target_s, "--json"],
    ));
    let heads = status["target"]["heads"].as_array().unwrap();
    let laptop_head = heads.iter().find(|h| h["name"] == "laptop").unwrap();
    assert_eq!(laptop_head["import_pending"], true, "{status}");
    let text = ok(hearth(
        &phone,
        &["snapshot", "status", "--target", target_s],
    ));
    assert!(text.contains("import pending"), "{text}");
    ok(hearth(&phone, &["snapshot", "import", "--from", target_s]));
    let phone_status = json(hearth(&phone, &["status", "--json"]));
    assert_eq!(phone_status["documents"], 2, "{phone_status}");
    let hits = search_titles(&phone, "boiler service engineer");
    assert!(hits.iter().all(|h| !h.contains("Priya")), "{hits:?}");

    // A device nobody enrolled cannot read it, and says what to do.
    let stranger = work.path().join("stranger");
    init(&stranger, "stranger");
    let out = hearth(&stranger, &["snapshot", "import", "--from", target_s]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not encrypted to this device"), "{err}");
    assert!(err.contains("hearth device add"), "{err}");
    assert!(!stranger.join("index/manifest.json").exists());

    // Decrypted, a snapshot is the index's own open formats.
    let keys = Keyring::open(&phone.join("sync")).unwrap();
    let t = Target::open(target_s).unwrap();
    let snapshot: SnapshotManifest = hearth_sync::read_snapshot(&keys, &t).unwrap().unwrap();
    let head = snapshot
        .devices
        .values()
        .find(|h| h.name == "laptop")
        .unwrap();
    let seg = &head.index.segments[0];
    let documents = head.objects[&seg.id].iter().find(|o| o.file == 0).unwrap();
    let sealed = t.get(&documents.key).unwrap().unwrap();
    let plain = keys
        .decrypt(&sealed.bytes, &documents.key, target_s)
        .unwrap();
    let file = work.path().join("documents.parquet");
    std::fs::write(&file, plain).unwrap();
    let df = ParquetReader::new(std::fs::File::open(&file).unwrap())
        .finish()
        .unwrap();
    assert!(df.height() >= 1);
    let titles = df.column("title").unwrap().str().unwrap().clone();
    let titles: Vec<String> = (0..titles.len())
        .filter_map(|i| titles.get(i).map(str::to_owned))
        .collect();
    assert!(
        titles.iter().any(|t| t == "Allotment" || t == "Boiler"),
        "{titles:?}"
    );
}

#[test]
fn a_new_device_joins_with_the_recovery_passphrase() {
    let work = tempfile::tempdir().unwrap();
    let (laptop, tablet) = (work.path().join("laptop"), work.path().join("tablet"));
    let target = work.path().join("snap");
    let target_s = target.to_str().unwrap();
    let notes = work.path().join("notes");
    note(
        &notes,
        "passport.md",
        "# Passport\nThe passport renewal form went off on the 3rd; expect it in six weeks.\n",
    );
    ok(hearth(&laptop, &["index", notes.to_str().unwrap()]));
    let with_pass = |data: &Path, args: &[&str], pass: &str| {
        command(data)
            .args(args)
            .env("HEARTH_SYNC_PASSPHRASE", pass)
            .env("HEARTH_SYNC_SCRYPT_LOG_N", "10")
            .output()
            .unwrap()
    };
    ok(with_pass(
        &laptop,
        &["device", "init", "--name", "laptop", "--passphrase"],
        "plum orchard ladder",
    ));
    ok(hearth(&laptop, &["snapshot", "export", "--to", target_s]));
    init(&tablet, "tablet");
    let wrong = with_pass(
        &tablet,
        &["snapshot", "import", "--from", target_s, "--passphrase"],
        "pear orchard ladder",
    );
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong passphrase"));
    ok(with_pass(
        &tablet,
        &["snapshot", "import", "--from", target_s, "--passphrase"],
        "plum orchard ladder",
    ));
    assert!(search_titles(&tablet, "passport renewal")[0].contains("passport renewal"));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
