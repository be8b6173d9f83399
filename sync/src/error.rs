//! The one error type of the sync crate.

use std::path::PathBuf;

/// Why a sync operation failed. Every variant leaves the local index as it was.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// A local file or folder could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The local index (or the staged copy of another device's) failed.
    #[error(transparent)]
    Store(#[from] hearth_store::StoreError),
    /// No device identity yet.
    #[error("this device has no sync identity: run `hearth device init` first")]
    NoIdentity,
    /// [`Keyring::init`](crate::Keyring::init) found an identity already at this file.
    #[error("a device identity already exists at {} (delete it to start over)", .0.display())]
    IdentityExists(PathBuf),
    /// A device key (an identity file, a public key, the recovery key) does not parse.
    #[error("invalid device key: {0}")]
    BadKey(String),
    /// The snapshot is not encrypted to any key this device holds.
    #[error(
        "{what} at {target} is not encrypted to this device's key: enroll this device on one that is (`hearth device add NAME PUBKEY`) and export again"
    )]
    NotForThisDevice {
        /// The object that could not be decrypted, e.g. the snapshot manifest.
        what: String,
        /// The target it was read from, as named.
        target: String,
    },
    /// Decryption or verification failed: modified, truncated or not a snapshot.
    #[error("{what} at {target} is damaged or tampered with: {reason}")]
    Tampered {
        /// The object that failed: the snapshot manifest, an object key, the recovery file.
        what: String,
        /// Where it was read from: the target as named, or a local file.
        target: String,
        /// What was wrong with it.
        reason: String,
    },
    /// The passphrase does not open the recovery key stored at this target.
    #[error("wrong passphrase for the recovery key at {0}")]
    BadPassphrase(String),
    /// The target could not be opened or an object store request failed.
    #[error("object store {target}: {reason}")]
    Target {
        /// The target, as named (`s3://bucket/prefix` or a folder).
        target: String,
        /// What went wrong, usually the object store's own error.
        reason: String,
    },
    /// Another export changed the target's manifest meanwhile, every retry.
    #[error("{0}: the snapshot manifest kept changing under this export; try again")]
    Contended(String),
    /// Anything else that stops the operation; the message says what and why.
    #[error("{0}")]
    Invalid(String),
}

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> SyncError {
    let path = path.into();
    move |source| SyncError::Io { path, source }
}
