//! Where snapshots go: a folder, or an S3-compatible bucket (`s3://bucket/prefix`),
//! both through the `object_store` crate, driven from synchronous code on a
//! small current-thread Tokio runtime.
//!
//! The snapshot manifest is replaced conditionally, so two devices exporting
//! at once cannot lose each other's update: on S3 with a conditional put on
//! the previous version's ETag (`If-Match`; `If-None-Match` for the first);
//! on a folder, whose object store has no conditional update, under a lock
//! object created exclusively, with the ETag compared inside it. S3 settings
//! come from the standard `AWS_*` environment variables (`AWS_ENDPOINT`,
//! `AWS_ALLOW_HTTP`, `AWS_ACCESS_KEY_ID`, …).

use crate::error::SyncError;
use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A snapshot destination.
pub struct Target {
    store: Arc<dyn ObjectStore>,
    prefix: StorePath,
    display: String,
    local: bool,
    runtime: tokio::runtime::Runtime,
}

/// The outcome of [`Target::replace`].
#[derive(Debug, PartialEq, Eq)]
pub enum Replaced {
    /// The object was written.
    Done,
    /// Someone else changed the object since `expected` was read.
    Conflict,
}

/// An object read from a target with its version tag.
pub struct Fetched {
    /// The object's contents.
    pub bytes: Vec<u8>,
    /// Its version tag (ETag), to pass to [`Target::replace`]; `None` if the store gives none.
    pub e_tag: Option<String>,
}

impl Target {
    /// Opens `spec`: `s3://bucket[/prefix]`, or a folder (created if missing).
    pub fn open(spec: &str) -> Result<Self, SyncError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| SyncError::Invalid(format!("starting the I/O runtime: {e}")))?;
        let target = |reason: String| SyncError::Target {
            target: spec.to_owned(),
            reason,
        };
        if let Some(rest) = spec.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(target("no bucket name".into()));
            }
            let store = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map_err(|e| target(e.to_string()))?;
            return Ok(Self {
                store: Arc::new(store),
                prefix: StorePath::from(prefix.trim_matches('/')),
                display: spec.to_owned(),
                local: false,
                runtime,
            });
        }
        let dir = std::path::Path::new(spec);
        std::fs::create_dir_all(dir).map_err(crate::error::io_err(dir))?;
        let store = LocalFileSystem::new_with_prefix(dir).map_err(|e| target(e.to_string()))?;
        Ok(Self {
            store: Arc::new(store),
            prefix: StorePath::default(),
            display: spec.to_owned(),
            local: true,
            runtime,
        })
    }

    /// How the target was named.
    pub fn display(&self) -> &str {
        &self.display
    }

    fn path(&self, rel: &str) -> StorePath {
        let mut p = self.prefix.clone();
        for part in rel.split('/').filter(|s| !s.is_empty()) {
            p = p.clone().join(part);
        }
        p
    }

    fn fail(&self, e: object_store::Error) -> SyncError {
        SyncError::Target {
            target: self.display.clone(),
            reason: e.to_string(),
        }
    }

    /// The object at `rel`, or `None` when there is none.
    pub fn get(&self, rel: &str) -> Result<Option<Fetched>, SyncError> {
        let path = self.path(rel);
        self.runtime.block_on(async {
            match self.store.get(&path).await {
                Ok(got) => {
                    let e_tag = got.meta.e_tag.clone();
                    let bytes = got.bytes().await.map_err(|e| self.fail(e))?;
                    Ok(Some(Fetched {
                        bytes: bytes.to_vec(),
                        e_tag,
                    }))
                }
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(self.fail(e)),
            }
        })
    }

    /// Writes `bytes` to `rel` (content-addressed objects: any writer writes
    /// the same bytes, so a plain put is safe).
    pub fn put(&self, rel: &str, bytes: Vec<u8>) -> Result<(), SyncError> {
        let path = self.path(rel);
        self.runtime
            .block_on(self.store.put(&path, PutPayload::from(bytes)))
            .map(drop)
            .map_err(|e| self.fail(e))
    }

    /// Names of the objects under the folder `rel`, with when each was last
    /// written (Unix seconds).
    pub fn list_dated(&self, rel: &str) -> Result<Vec<(String, i64)>, SyncError> {
        let path = self.path(rel);
        self.runtime.block_on(async {
            let listed: Vec<_> = match self.store.list(Some(&path)).try_collect().await {
                Ok(l) => l,
                Err(object_store::Error::NotFound { .. }) => Vec::new(),
                Err(e) => return Err(self.fail(e)),
            };
            Ok(listed
                .into_iter()
                .filter_map(|m| {
                    let name = m.location.filename()?.to_owned();
                    Some((name, m.last_modified.timestamp()))
                })
                .collect())
        })
    }

    /// Deletes the object at `rel` (gone already is fine).
    pub fn delete(&self, rel: &str) -> Result<(), SyncError> {
        let path = self.path(rel);
        match self.runtime.block_on(self.store.delete(&path)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// Replaces `rel` with `bytes` if it is still at version `expected`
    /// (`None`: if it does not exist yet).
    pub fn replace(
        &self,
        rel: &str,
        bytes: Vec<u8>,
        expected: Option<&str>,
    ) -> Result<Replaced, SyncError> {
        if self.local {
            return self.replace_locked(rel, bytes, expected);
        }
        let path = self.path(rel);
        let mode = match expected {
            None => PutMode::Create,
            Some(tag) => PutMode::Update(UpdateVersion {
                e_tag: Some(tag.to_owned()),
                version: None,
            }),
        };
        match self.runtime.block_on(self.store.put_opts(
            &path,
            PutPayload::from(bytes),
            PutOptions::from(mode),
        )) {
            Ok(_) => Ok(Replaced::Done),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => Ok(Replaced::Conflict),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// [`Target::replace`] on a folder: under `rel.lock`, created exclusively
    /// (a lock older than two minutes is a crashed writer's and is broken).
    fn replace_locked(
        &self,
        rel: &str,
        bytes: Vec<u8>,
        expected: Option<&str>,
    ) -> Result<Replaced, SyncError> {
        let lock = self.path(&format!("{rel}.lock"));
        let path = self.path(rel);
        let started = Instant::now();
        self.runtime.block_on(async {
            loop {
                let created = self
                    .store
                    .put_opts(
                        &lock,
                        PutPayload::from(std::process::id().to_string().into_bytes()),
                        PutOptions::from(PutMode::Create),
                    )
                    .await;
                match created {
                    Ok(_) => break,
                    Err(object_store::Error::AlreadyExists { .. }) => {
                        let stale = match self.store.head(&lock).await {
                            Ok(meta) => (chrono_now() - meta.last_modified.timestamp()) > 120,
                            Err(_) => false,
                        };
                        if stale {
                            let _ = self.store.delete(&lock).await;
                            continue;
                        }
                        if started.elapsed() > Duration::from_secs(30) {
                            return Err(SyncError::Contended(self.display.clone()));
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err(e) => return Err(self.fail(e)),
                }
            }
            let current = match self.store.head(&path).await {
                Ok(meta) => meta.e_tag,
                Err(object_store::Error::NotFound { .. }) => None,
                Err(e) => {
                    let _ = self.store.delete(&lock).await;
                    return Err(self.fail(e));
                }
            };
            let outcome = if current.as_deref() == expected {
                self.store
                    .put(&path, PutPayload::from(bytes))
                    .await
                    .map(|_| Replaced::Done)
                    .map_err(|e| self.fail(e))
            } else {
                Ok(Replaced::Conflict)
            };
            let _ = self.store.delete(&lock).await;
            outcome
        })
    }
}

fn chrono_now() -> i64 {
    crate::keys::now_secs()
}
