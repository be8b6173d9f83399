//! The one error type of the sync crate.

use std::path::PathBuf;

/// Why a sync operation failed. Every variant leaves the local index as it was.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] hearth_store::StoreError),
    /// No device identity yet.
    #[error("this device has no sync identity: run `hearth device init` first")]
    NoIdentity,
    #[error("a device identity already exists at {} (delete it to start over)", .0.display())]
    IdentityExists(PathBuf),
    #[error("invalid device key: {0}")]
    BadKey(String),
    /// The snapshot is not encrypted to any key this device holds.
    #[error(
        "{what} at {target} is not encrypted to this device's key: enroll this device on one that is (`hearth device add NAME PUBKEY`) and export again"
    )]
    NotForThisDevice { what: String, target: String },
    /// Decryption or verification failed: modified, truncated or not a snapshot.
    #[error("{what} at {target} is damaged or tampered with: {reason}")]
    Tampered {
        what: String,
        target: String,
        reason: String,
    },
    #[error("wrong passphrase for the recovery key at {0}")]
    BadPassphrase(String),
    #[error("object store {target}: {reason}")]
    Target { target: String, reason: String },
    /// Another export changed the target's manifest meanwhile, every retry.
    #[error("{0}: the snapshot manifest kept changing under this export; try again")]
    Contended(String),
    #[error("{0}")]
    Invalid(String),
}

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> SyncError {
    let path = path.into();
    move |source| SyncError::Io { path, source }
}
