//! The reading stage: walks the sources, decides per file whether anything must
//! be read (size + mtime, blake3 on doubt, retry backoff), reads and chunks the
//! documents that are new or changed, and hands them on in [`Batch`]es of about
//! `commit_chunks` chunks, together with the item records and tombstones that
//! must be committed with them.

use crate::chunker::Chunker;
use crate::error::IngestError;
use crate::pipeline::{IndexReport, ItemFailure, ProgressEvent};
use crate::state::{IngestState, ItemError, ItemState, ItemStatus, ItemUpdate, Source, now};
use hearth_connectors::{Document, SourceFile, discover, read_source};
use hearth_store::{ChunkRecord, DocumentRecord};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// Work read but not yet committed: the unit passed between stages.
#[derive(Default)]
pub(crate) struct Batch {
    /// Records of the new or changed documents read.
    pub docs: Vec<DocumentRecord>,
    /// Their chunks, with embeddings filled in by the embed stage.
    pub chunks: Vec<ChunkRecord>,
    /// Embedder input per chunk (title + chunk text), parallel to `chunks`.
    pub inputs: Vec<String>,
    /// Documents whose content is indexed but whose URI moved (a mail filed in
    /// another mailbox): re-recorded with their existing chunks, not re-embedded.
    pub relocated: Vec<DocumentRecord>,
    /// Document ids to tombstone.
    pub deleted: Vec<String>,
    /// Manifest records of the items read, committed with their documents.
    pub items: Vec<ItemUpdate>,
    /// Items whose mtime moved but whose content did not.
    pub touched: Vec<(i64, String, i64)>,
    /// Items that no longer exist.
    pub removed: Vec<(i64, String)>,
}

impl Batch {
    /// Whether the batch holds nothing to commit.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
            && self.relocated.is_empty()
            && self.deleted.is_empty()
            && self.items.is_empty()
            && self.touched.is_empty()
            && self.removed.is_empty()
    }

    fn remove_doc(&mut self, doc_id: &str) {
        self.docs.retain(|d| d.doc_id != doc_id);
        let keep: Vec<bool> = self.chunks.iter().map(|c| c.doc_id != doc_id).collect();
        let mut flags = keep.iter();
        self.chunks.retain(|_| *flags.next().unwrap_or(&true));
        let mut flags = keep.iter();
        self.inputs.retain(|_| *flags.next().unwrap_or(&true));
    }
}

/// Stage one of a run. Owns its own connection to the ingest manifest and a
/// snapshot of the index's document hashes, so it never waits for the writer.
pub(crate) struct Reader {
    /// Splits each document read into chunks.
    pub chunker: Arc<Chunker>,
    /// This stage's own connection to the ingest manifest.
    pub state: IngestState,
    /// Content hash and URI of every live document (as of the run's start, plus
    /// what this run queued).
    pub indexed: HashMap<String, (String, String)>,
    /// Chunks gathered before a batch is handed on.
    pub commit_chunks: usize,
    /// What the reading stage counted so far.
    pub report: IndexReport,
    batch: Batch,
    /// Tombstones, removed items and the items whose documents they concern,
    /// committed last — once every file has been read, a document that turned
    /// up elsewhere (a moved mail) is no longer tombstoned.
    finale: Batch,
    /// Content hash of each document queued in the current batch.
    queued: HashMap<String, String>,
    /// Documents some item read in this run accounts for: never tombstoned.
    held: HashSet<String>,
}

impl Reader {
    /// A reader over `indexed` that hands on batches of about `commit_chunks` chunks.
    pub fn new(
        chunker: Arc<Chunker>,
        state: IngestState,
        indexed: HashMap<String, (String, String)>,
        commit_chunks: usize,
    ) -> Self {
        Self {
            chunker,
            state,
            indexed,
            commit_chunks,
            report: IndexReport::default(),
            batch: Batch::default(),
            finale: Batch::default(),
            queued: HashMap::new(),
            held: HashSet::new(),
        }
    }

    /// Reads every source, calling `emit` with each full batch (and the last one).
    pub fn run(
        &mut self,
        sources: &[Source],
        progress: &(dyn Fn(ProgressEvent<'_>) + Sync),
        emit: &mut dyn FnMut(Batch) -> Result<(), IngestError>,
    ) -> Result<(), IngestError> {
        self.report.sources = sources.len();
        for source in sources {
            if !source.path.exists() {
                // An unmounted disk is not a deletion: keep everything.
                tracing::warn!(source = %source.name, path = %source.path.display(), "source path is missing; keeping its documents");
                self.report.missing_sources.push(source.name.clone());
                continue;
            }
            let t = std::time::Instant::now();
            let found = discover(std::slice::from_ref(&source.path))?;
            let files: Vec<&SourceFile> = found
                .files
                .iter()
                .filter(|f| source.kind == "auto" || f.format.kind().as_str() == source.kind)
                .collect();
            self.report.files += files.len();
            self.report.unsupported_files += found.unsupported.len();
            let mut known = self.state.items(source.id)?;
            self.report.discover_secs += t.elapsed().as_secs_f64();
            progress(ProgressEvent::Discovered {
                files: files.len(),
                bytes: files.iter().map(|f| f.size).sum(),
            });
            for file in files {
                let t = std::time::Instant::now();
                let key = file.path.to_string_lossy().into_owned();
                let previous = known.remove(&key);
                self.visit(source, file, &key, previous)?;
                self.report.read_secs += t.elapsed().as_secs_f64();
                progress(ProgressEvent::FileRead {
                    path: &file.path,
                    bytes: file.size,
                });
                if self.batch.chunks.len() >= self.commit_chunks {
                    self.emit(emit)?;
                }
            }
            // What the manifest knows but discovery no longer found was deleted.
            for (path, item) in known {
                self.report.deleted_files += 1;
                for doc in item.doc_ids {
                    if !self.state.doc_held_elsewhere(&doc, source.id, &path)? {
                        self.finale.deleted.push(doc);
                    }
                }
                self.finale.removed.push((source.id, path));
            }
        }
        self.emit(emit)?;
        // Every file has been read: whatever some file still holds stays.
        let mut finale = std::mem::take(&mut self.finale);
        finale.deleted.retain(|d| !self.held.contains(d));
        if finale.is_empty() {
            Ok(())
        } else {
            emit(finale)
        }
    }

    fn emit(
        &mut self,
        emit: &mut dyn FnMut(Batch) -> Result<(), IngestError>,
    ) -> Result<(), IngestError> {
        self.queued.clear();
        let batch = std::mem::take(&mut self.batch);
        if batch.is_empty() {
            Ok(())
        } else {
            emit(batch)
        }
    }

    /// Decides what to do with one file and queues its documents.
    fn visit(
        &mut self,
        source: &Source,
        file: &SourceFile,
        key: &str,
        previous: Option<ItemState>,
    ) -> Result<(), IngestError> {
        let mtime_ns = mtime_ns(&file.path);
        let same_stat = previous
            .as_ref()
            .is_some_and(|p| p.size == file.size && p.mtime_ns == mtime_ns);
        if let Some(prev) = &previous {
            if same_stat && prev.status == ItemStatus::Indexed {
                self.report.unchanged_files += 1;
                self.held.extend(prev.doc_ids.iter().cloned());
                return Ok(());
            }
            if same_stat && prev.next_attempt_at.is_some_and(|t| t > now()) {
                self.report.deferred_files += 1;
                self.held.extend(prev.doc_ids.iter().cloned());
                return Ok(());
            }
        }
        let hash = match hash_file(&file.path) {
            Ok(h) => h,
            Err(e) => {
                let error = ItemError {
                    position: "file".into(),
                    reason: format!("cannot read {}: {e}", file.path.display()),
                };
                let doc_ids = previous
                    .as_ref()
                    .map(|p| p.doc_ids.clone())
                    .unwrap_or_default();
                self.fail(source, file, &error);
                self.held.extend(doc_ids.iter().cloned());
                self.batch.items.push(ItemUpdate {
                    source_id: source.id,
                    path: key.to_owned(),
                    size: file.size,
                    mtime_ns,
                    hash: String::new(),
                    doc_ids,
                    errors: vec![error],
                    previous_attempts: previous.map_or(0, |p| p.attempts),
                });
                return Ok(());
            }
        };
        if let Some(prev) = &previous
            && prev.hash == hash
            && prev.status == ItemStatus::Indexed
        {
            // Touched, not changed: remember the new mtime, read nothing.
            self.report.unchanged_files += 1;
            self.held.extend(prev.doc_ids.iter().cloned());
            self.batch
                .touched
                .push((source.id, key.to_owned(), mtime_ns));
            return Ok(());
        }
        let mut doc_ids = Vec::new();
        let mut errors = Vec::new();
        for item in read_source(file) {
            let doc = match item {
                Ok(doc) => doc,
                Err(err) => {
                    let error = ItemError {
                        position: err.position(),
                        reason: err.to_string(),
                    };
                    self.fail(source, file, &error);
                    errors.push(error);
                    continue;
                }
            };
            self.report.documents += 1;
            doc_ids.push(doc.id.0.clone());
            self.held.insert(doc.id.0.clone());
            if let Some(hash) = self.queued.get(&doc.id.0) {
                if *hash == doc.content_hash.0 {
                    continue;
                }
                // A different item with the same id: the later one wins.
                self.batch.remove_doc(&doc.id.0);
            } else {
                match self.indexed.get(&doc.id.0) {
                    Some((hash, uri)) if *hash == doc.content_hash.0 => {
                        if *uri != doc.uri {
                            // Same content, filed elsewhere: re-record, don't re-embed.
                            self.report.relocated += 1;
                            self.batch.relocated.push(document_record(&doc, 0));
                            self.indexed.insert(
                                doc.id.0.clone(),
                                (doc.content_hash.0.clone(), doc.uri.clone()),
                            );
                        } else {
                            self.report.unchanged += 1;
                        }
                        continue;
                    }
                    Some(_) => self.report.changed += 1,
                    None => self.report.new += 1,
                }
            }
            self.queued
                .insert(doc.id.0.clone(), doc.content_hash.0.clone());
            self.indexed.insert(
                doc.id.0.clone(),
                (doc.content_hash.0.clone(), doc.uri.clone()),
            );
            self.queue(&doc);
        }
        let previous_docs = previous
            .as_ref()
            .map(|p| p.doc_ids.clone())
            .unwrap_or_default();
        let mut stale = Vec::new();
        if errors.is_empty() {
            // Documents the file no longer holds (a mail removed from an mbox).
            let now_held: HashSet<&String> = doc_ids.iter().collect();
            for doc in previous_docs.iter().filter(|d| !now_held.contains(d)) {
                if !self.state.doc_held_elsewhere(doc, source.id, key)? {
                    stale.push(doc.clone());
                }
            }
        } else {
            // Part of the file could not be read: keep what it held before.
            for doc in previous_docs {
                if !doc_ids.contains(&doc) {
                    self.held.insert(doc.clone());
                    doc_ids.push(doc);
                }
            }
        }
        let update = ItemUpdate {
            source_id: source.id,
            path: key.to_owned(),
            size: file.size,
            mtime_ns,
            hash,
            doc_ids,
            errors,
            previous_attempts: previous.map_or(0, |p| p.attempts),
        };
        // The item is recorded with its tombstones, so a crash between the two
        // can't leave a stale document that no later run would notice.
        if stale.is_empty() {
            self.batch.items.push(update);
        } else {
            self.finale.deleted.extend(stale);
            self.finale.items.push(update);
        }
        Ok(())
    }

    fn fail(&mut self, source: &Source, file: &SourceFile, error: &ItemError) {
        // The run's report lists every failure (grouped by reason on a
        // terminal); a log line per item would repeat it.
        tracing::debug!(path = %file.path.display(), position = %error.position, "{}", error.reason);
        self.report.failed.push(ItemFailure {
            source: source.name.clone(),
            path: file.path.clone(),
            position: error.position.clone(),
            reason: error.reason.clone(),
        });
    }

    fn queue(&mut self, doc: &Document) {
        let chunks = self.chunker.chunk(doc);
        let title: String = doc.title.chars().take(120).collect();
        for c in &chunks {
            self.batch.inputs.push(format!("{title}\n{}", c.text));
            self.batch.chunks.push(ChunkRecord {
                chunk_id: chunk_id(&doc.id.0, &doc.content_hash.0, c.ordinal),
                doc_id: doc.id.0.clone(),
                ordinal: c.ordinal,
                text: c.text.clone(),
                byte_start: c.byte_start as u64,
                byte_end: c.byte_end as u64,
                locator: c.locator.clone(),
                embedding: Vec::new(),
            });
        }
        self.batch.docs.push(document_record(
            doc,
            u32::try_from(chunks.len()).unwrap_or(u32::MAX),
        ));
    }
}

/// The store's record of a document with `chunk_count` chunks.
fn document_record(doc: &Document, chunk_count: u32) -> DocumentRecord {
    DocumentRecord {
        doc_id: doc.id.0.clone(),
        kind: doc.kind.as_str().to_owned(),
        uri: doc.uri.clone(),
        title: doc.title.clone(),
        participants: doc.participants.iter().map(|p| p.display()).collect(),
        timestamp: doc.timestamp,
        content_hash: doc.content_hash.0.clone(),
        thread: doc.thread.clone(),
        parent: doc.parent.as_ref().map(|p| p.0.clone()),
        origin_path: doc.origin.path.display().to_string(),
        origin_item: doc.origin.item.clone(),
        chunk_count,
        text_bytes: doc.text.len() as u64,
    }
}

/// Content-addressed chunk id: a new document version gets new chunk ids.
fn chunk_id(doc_id: &str, content_hash: &str, ordinal: u32) -> String {
    let mut h = blake3::Hasher::new();
    h.update(doc_id.as_bytes());
    h.update(&[0]);
    h.update(content_hash.as_bytes());
    h.update(&ordinal.to_le_bytes());
    h.finalize().to_hex()[..32].to_owned()
}

/// blake3 of a file's bytes, streamed.
fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().to_hex().to_string())
}

fn mtime_ns(path: &Path) -> i64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}
