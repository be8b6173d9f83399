//! This device's age identity and the devices it shares its index with.
//!
//! Kept under `<data-dir>/sync/`: `identity.txt` (the X25519 secret key,
//! readable by the owner only), `devices.json` (every enrolled device's
//! public key, this one included) and, when a recovery passphrase was set,
//! `recovery.age`: a second X25519 identity encrypted with the passphrase
//! (scrypt). Snapshots are encrypted to every enrolled device and to that
//! recovery key, so a new device holding only the passphrase can still read
//! them. (age cannot put a passphrase beside public keys in one file, hence
//! the indirection.)

use crate::error::{SyncError, io_err};
use age::secrecy::{ExposeSecret, SecretString};
use age::x25519;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

const IDENTITY_FILE: &str = "identity.txt";
const DEVICES_FILE: &str = "devices.json";
/// File name of the passphrase-protected recovery key, locally and in a target.
pub const RECOVERY_FILE: &str = "recovery.age";

/// An enrolled device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceEntry {
    /// The name the device was given, e.g. `laptop`; unique in the keyring.
    pub name: String,
    /// `age1…`.
    pub public_key: String,
    /// Unix seconds.
    pub added_at: i64,
    /// Whether this is the device the keyring belongs to.
    #[serde(default)]
    pub this_device: bool,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct DevicesFile {
    devices: Vec<DeviceEntry>,
    /// Public key of the passphrase-protected recovery identity.
    recovery: Option<String>,
}

/// This device's keys and its enrolled devices.
///
/// ```no_run
/// use hearth_sync::Keyring;
/// let dir = std::path::Path::new("/tmp/hearth-data/sync");
/// let keys = Keyring::init(dir, "laptop", None)?;
/// println!("{}", keys.public_key()); // age1…
/// # Ok::<(), hearth_sync::SyncError>(())
/// ```
pub struct Keyring {
    dir: PathBuf,
    identity: x25519::Identity,
    devices: DevicesFile,
    /// The recovery identity, once unlocked with the passphrase.
    recovery: Option<x25519::Identity>,
}

impl Keyring {
    /// Creates this device's identity in `dir` (refusing to replace one),
    /// enrolls it as `name`, and with a passphrase also a recovery key.
    pub fn init(
        dir: &Path,
        name: &str,
        passphrase: Option<SecretString>,
    ) -> Result<Self, SyncError> {
        let path = dir.join(IDENTITY_FILE);
        if path.exists() {
            return Err(SyncError::IdentityExists(path));
        }
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let identity = x25519::Identity::generate();
        let secret = identity.to_string();
        write_private(
            &path,
            format!(
                "# hearth device key of `{name}`: keep it private, back it up\n{}\n",
                secret.expose_secret()
            )
            .as_bytes(),
        )?;
        let mut devices = DevicesFile {
            devices: vec![DeviceEntry {
                name: name.to_owned(),
                public_key: identity.to_public().to_string(),
                added_at: now_secs(),
                this_device: true,
            }],
            recovery: None,
        };
        let mut recovery = None;
        if let Some(pass) = passphrase {
            let rec = x25519::Identity::generate();
            let blob = encrypt_with_passphrase(rec.to_string().expose_secret().as_bytes(), pass)?;
            write_private(&dir.join(RECOVERY_FILE), &blob)?;
            devices.recovery = Some(rec.to_public().to_string());
            recovery = Some(rec);
        }
        let keys = Self {
            dir: dir.to_path_buf(),
            identity,
            devices,
            recovery,
        };
        keys.save()?;
        Ok(keys)
    }

    /// Opens the keyring in `dir`.
    pub fn open(dir: &Path) -> Result<Self, SyncError> {
        let path = dir.join(IDENTITY_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SyncError::NoIdentity);
            }
            Err(e) => return Err(io_err(&path)(e)),
        };
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("AGE-SECRET-KEY-"))
            .ok_or_else(|| {
                SyncError::BadKey(format!("{}: no AGE-SECRET-KEY line", path.display()))
            })?;
        let identity = x25519::Identity::from_str(line)
            .map_err(|e| SyncError::BadKey(format!("{}: {e}", path.display())))?;
        let devices_path = dir.join(DEVICES_FILE);
        let devices: DevicesFile = match std::fs::read(&devices_path) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| SyncError::Invalid(format!("{}: {e}", devices_path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => DevicesFile::default(),
            Err(e) => return Err(io_err(&devices_path)(e)),
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            identity,
            devices,
            recovery: None,
        })
    }

    /// This device's public key (`age1…`).
    pub fn public_key(&self) -> String {
        self.identity.to_public().to_string()
    }

    /// This device's enrolled name.
    pub fn name(&self) -> String {
        self.devices
            .devices
            .iter()
            .find(|d| d.this_device)
            .map(|d| d.name.clone())
            .unwrap_or_else(|| "this device".into())
    }

    /// The enrolled devices, this one first.
    pub fn devices(&self) -> &[DeviceEntry] {
        &self.devices.devices
    }

    /// The recovery key's public key, when a passphrase was set.
    pub fn recovery_key(&self) -> Option<&str> {
        self.devices.recovery.as_deref()
    }

    /// Enrolls another device: every later export is encrypted to it too.
    pub fn add_device(&mut self, name: &str, public_key: &str) -> Result<(), SyncError> {
        let key = public_key.trim();
        x25519::Recipient::from_str(key).map_err(|e| {
            SyncError::BadKey(format!("`{key}` is not an age X25519 public key ({e})"))
        })?;
        if let Some(d) = self.devices.devices.iter().find(|d| d.public_key == key) {
            return Err(SyncError::Invalid(format!(
                "that key is already enrolled as `{}`",
                d.name
            )));
        }
        if self.devices.devices.iter().any(|d| d.name == name) {
            return Err(SyncError::Invalid(format!(
                "a device named `{name}` is already enrolled"
            )));
        }
        self.devices.devices.push(DeviceEntry {
            name: name.to_owned(),
            public_key: key.to_owned(),
            added_at: now_secs(),
            this_device: false,
        });
        self.save()
    }

    /// Every public key a snapshot is encrypted to, sorted: the enrolled
    /// devices and the recovery key.
    pub fn recipient_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .devices
            .devices
            .iter()
            .map(|d| d.public_key.clone())
            .chain(self.devices.recovery.clone())
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }

    /// Unlocks the recovery identity in `blob` (a `recovery.age`) with the
    /// passphrase, so snapshots encrypted to it can be read.
    pub fn unlock_recovery(
        &mut self,
        blob: &[u8],
        passphrase: SecretString,
        from: &str,
    ) -> Result<(), SyncError> {
        let decryptor = age::Decryptor::new_buffered(blob).map_err(|e| SyncError::Tampered {
            what: RECOVERY_FILE.into(),
            target: from.into(),
            reason: e.to_string(),
        })?;
        let identity = age::scrypt::Identity::new(passphrase);
        let mut reader = decryptor
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .map_err(|_| SyncError::BadPassphrase(from.into()))?;
        let mut secret = String::new();
        reader
            .read_to_string(&mut secret)
            .map_err(|e| SyncError::Tampered {
                what: RECOVERY_FILE.into(),
                target: from.into(),
                reason: e.to_string(),
            })?;
        let rec = x25519::Identity::from_str(secret.trim())
            .map_err(|e| SyncError::BadKey(format!("recovery key: {e}")))?;
        self.recovery = Some(rec);
        Ok(())
    }

    /// Unlocks the recovery key that `target` holds (`recovery.age`, put
    /// there by the export of a device that set a passphrase): how a device
    /// that no other device has enrolled yet reads its first snapshot.
    pub fn unlock_recovery_from(
        &mut self,
        target: &crate::Target,
        passphrase: SecretString,
    ) -> Result<(), SyncError> {
        let name = target.display();
        let blob = target.get(RECOVERY_FILE)?.ok_or_else(|| {
            SyncError::Invalid(format!(
                "{name} has no {RECOVERY_FILE}: no device exporting there set a recovery passphrase"
            ))
        })?;
        self.unlock_recovery(&blob.bytes, passphrase, name)
    }

    /// Whether something encrypted to `recipients` opens with this device's
    /// key or the unlocked recovery key.
    pub fn can_read(&self, recipients: &[String]) -> bool {
        let mine = self.public_key();
        let recovery = self.recovery.as_ref().map(|r| r.to_public().to_string());
        recipients
            .iter()
            .any(|r| *r == mine || Some(r) == recovery.as_ref())
    }

    /// The local `recovery.age`, when a passphrase was set.
    pub fn recovery_blob(&self) -> Result<Option<Vec<u8>>, SyncError> {
        let path = self.dir.join(RECOVERY_FILE);
        match std::fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// Encrypts `plaintext` to every key of [`Keyring::recipient_keys`].
    pub fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>, SyncError> {
        encrypt_to(&self.recipient_keys(), plaintext)
    }

    /// Decrypts `ciphertext` (named `what`, from `target` for messages) with
    /// this device's key or the unlocked recovery key.
    pub fn decrypt(
        &self,
        ciphertext: &[u8],
        what: &str,
        target: &str,
    ) -> Result<Vec<u8>, SyncError> {
        let damaged = |reason: String| SyncError::Tampered {
            what: what.into(),
            target: target.into(),
            reason,
        };
        let decryptor =
            age::Decryptor::new_buffered(ciphertext).map_err(|e| damaged(e.to_string()))?;
        let mut identities: Vec<&dyn age::Identity> = vec![&self.identity];
        if let Some(rec) = &self.recovery {
            identities.push(rec);
        }
        let mut reader = decryptor
            .decrypt(identities.into_iter())
            .map_err(|e| match e {
                age::DecryptError::NoMatchingKeys => SyncError::NotForThisDevice {
                    what: what.into(),
                    target: target.into(),
                },
                other => damaged(other.to_string()),
            })?;
        let mut out = Vec::new();
        reader
            .read_to_end(&mut out)
            .map_err(|e| damaged(format!("{e} (modified or truncated)")))?;
        Ok(out)
    }

    fn save(&self) -> Result<(), SyncError> {
        let path = self.dir.join(DEVICES_FILE);
        let json = serde_json::to_vec_pretty(&self.devices)
            .map_err(|e| SyncError::Invalid(e.to_string()))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json).map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io_err(&path))
    }
}

/// Encrypts `plaintext` with age to the X25519 public keys `keys`.
pub fn encrypt_to(keys: &[String], plaintext: &[u8]) -> Result<Vec<u8>, SyncError> {
    let recipients: Vec<x25519::Recipient> = keys
        .iter()
        .map(|k| x25519::Recipient::from_str(k).map_err(|e| SyncError::BadKey(format!("{k}: {e}"))))
        .collect::<Result<_, _>>()?;
    let encryptor =
        age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| SyncError::Invalid(format!("encrypting: {e}")))?;
    let mut out = Vec::with_capacity(plaintext.len() + 512);
    let mut writer = encryptor
        .wrap_output(&mut out)
        .map_err(|e| SyncError::Invalid(format!("encrypting: {e}")))?;
    writer
        .write_all(plaintext)
        .and_then(|()| writer.finish().map(drop))
        .map_err(|e| SyncError::Invalid(format!("encrypting: {e}")))?;
    Ok(out)
}

/// scrypt work factor (log2 N) for new recovery keys: age's default unless
/// `HEARTH_SYNC_SCRYPT_LOG_N` says otherwise (tests use a small one).
fn encrypt_with_passphrase(
    plaintext: &[u8],
    passphrase: SecretString,
) -> Result<Vec<u8>, SyncError> {
    let mut recipient = age::scrypt::Recipient::new(passphrase);
    if let Some(n) = std::env::var("HEARTH_SYNC_SCRYPT_LOG_N")
        .ok()
        .and_then(|v| v.parse::<u8>().ok())
    {
        recipient.set_work_factor(n);
    }
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .map_err(|e| SyncError::Invalid(format!("encrypting the recovery key: {e}")))?;
    let mut out = Vec::new();
    let mut writer = encryptor
        .wrap_output(&mut out)
        .map_err(|e| SyncError::Invalid(e.to_string()))?;
    writer
        .write_all(plaintext)
        .and_then(|()| writer.finish().map(drop))
        .map_err(|e| SyncError::Invalid(e.to_string()))?;
    Ok(out)
}

/// Writes `bytes` to `path`, readable and writable by the owner only.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), SyncError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_err(path))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io_err(path))
}

pub(crate) fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_enroll_encrypt_decrypt_and_refuse_strangers() {
        let a_dir = tempfile::tempdir().unwrap();
        let b_dir = tempfile::tempdir().unwrap();
        let c_dir = tempfile::tempdir().unwrap();
        let mut a = Keyring::init(a_dir.path(), "laptop", None).unwrap();
        let b = Keyring::init(b_dir.path(), "phone", None).unwrap();
        let c = Keyring::init(c_dir.path(), "stranger", None).unwrap();
        assert!(matches!(
            Keyring::init(a_dir.path(), "again", None),
            Err(SyncError::IdentityExists(_))
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(a_dir.path().join(IDENTITY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(a.public_key().starts_with("age1"));
        a.add_device("phone", &b.public_key()).unwrap();
        assert!(a.add_device("phone2", &b.public_key()).is_err());
        assert!(matches!(
            a.add_device("x", "age1nonsense"),
            Err(SyncError::BadKey(_))
        ));
        let a = Keyring::open(a_dir.path()).unwrap();
        assert_eq!(a.devices().len(), 2);
        let sealed = a.encrypt(b"the index").unwrap();
        assert_eq!(a.decrypt(&sealed, "x", "t").unwrap(), b"the index");
        assert_eq!(b.decrypt(&sealed, "x", "t").unwrap(), b"the index");
        assert!(matches!(
            c.decrypt(&sealed, "x", "t"),
            Err(SyncError::NotForThisDevice { .. })
        ));
        let mut cut = sealed.clone();
        cut.truncate(sealed.len() - 5);
        assert!(matches!(
            b.decrypt(&cut, "x", "t"),
            Err(SyncError::Tampered { .. })
        ));
        let mut flipped = sealed.clone();
        let last = flipped.len() - 3;
        flipped[last] ^= 1;
        assert!(matches!(
            b.decrypt(&flipped, "x", "t"),
            Err(SyncError::Tampered { .. })
        ));
    }
}
