//! Sync: one memory across a person's devices, without a server that can
//! read it.
//!
//! Each device has an age X25519 identity ([`Keyring`]); the devices it
//! shares with are enrolled by public key. [`export`] writes the local
//! index to a [`Target`] — a folder or an S3-compatible bucket — as
//! content-addressed objects encrypted to every enrolled device, writing only
//! what the target lacks, with the snapshot manifest replaced last and
//! conditionally. [`import`] decrypts and verifies every other device's head
//! into a staging folder and merges it into the local index in one atomic
//! commit; the store resolves edits and deletes last-writer-wins by
//! (hybrid logical clock, device id), so devices converge whatever the order
//! of their syncs.
//!
//! ```no_run
//! use hearth_sync::{Keyring, Target, export, import};
//! use hearth_store::Index;
//! let data = std::path::Path::new("/tmp/hearth-data");
//! let mut index = Index::open_writer(&data.join("index"))?;
//! let keys = Keyring::open(&data.join("sync"))?;
//! let target = Target::open("/mnt/usb/hearth")?;
//! export(&mut index, &keys, &target, &data.join("sync"))?;
//! import(&mut index, &keys, &target, &data.join("sync"))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod export;
mod import;
mod keys;
mod snapshot;
mod status;
mod target;

pub use age::secrecy::SecretString;
pub use error::SyncError;
pub use export::{ExportReport, GC_GRACE_SECS, export};
pub use import::{ImportReport, import, read_snapshot};
pub use keys::{DeviceEntry, Keyring, RECOVERY_FILE, encrypt_to};
pub use snapshot::{
    DeviceHead, ExportRecord, ImportRecord, OBJECTS_DIR, ObjectRef, SNAPSHOT_FILE,
    SnapshotManifest, SyncState, TargetState,
};
pub use status::{HeadStatus, SyncStatus, TargetStatus, status};
pub use target::{Fetched, Replaced, Target};
