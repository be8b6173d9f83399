//! One indexing run over configured sources: discover files → skip unchanged ones
//! (size + mtime, blake3 on doubt) → read documents → skip documents the index
//! already holds → chunk → embed in batches → commit a store segment, then record
//! the items in the ingest manifest. Deleted files and vanished documents become
//! tombstones in the same commit.
//!
//! The store commit is atomic and the manifest is written after it, so a run
//! killed at any point leaves a consistent index, and the next run redoes only
//! what was not committed — without duplicating anything.

use crate::chunker::{CHUNK_OVERLAP_TOKENS, Chunker, MAX_CHUNK_TOKENS};
use crate::error::IngestError;
use crate::state::{IngestState, ItemError, ItemState, ItemStatus, ItemUpdate, Source, now};
use hearth_connectors::{Document, SourceFile, discover, read_source};
use hearth_embed::Embedder;
use hearth_store::{ChunkRecord, DocumentRecord, Index};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Chunks buffered before they are embedded and committed as one segment; bounds
/// the memory of a run whatever the size of the corpus.
pub const COMMIT_CHUNKS: usize = 4096;

/// Something the run reports as it goes, for progress display.
#[derive(Debug, Clone)]
pub enum ProgressEvent<'a> {
    /// Discovery of a source is done: this many readable files, with this many bytes.
    Discovered { files: usize, bytes: u64 },
    /// A file has been looked at (read, or skipped as unchanged).
    FileRead { path: &'a Path, bytes: u64 },
    /// This many chunks were embedded.
    Embedded { chunks: usize },
    /// A segment was committed.
    Committed { documents: u64, chunks: u64 },
}

/// An item position that could not be indexed, and why.
#[derive(Debug, Clone, Serialize)]
pub struct ItemFailure {
    pub source: String,
    pub path: PathBuf,
    pub position: String,
    pub reason: String,
}

/// What a run did. Serialised as the `--json` run summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IndexReport {
    pub sources: usize,
    /// Sources whose path is missing (their documents are kept).
    pub missing_sources: Vec<String>,
    pub files: usize,
    pub unsupported_files: usize,
    /// Files skipped because size and mtime (or content hash) are unchanged.
    pub unchanged_files: usize,
    /// Files that failed before and wait for their backoff to expire.
    pub deferred_files: usize,
    /// Files that were gone: their documents were deleted.
    pub deleted_files: usize,
    /// Documents read from the files that were read.
    pub documents: usize,
    pub new: usize,
    pub changed: usize,
    pub unchanged: usize,
    /// Documents tombstoned (deleted files, items gone from a container).
    pub deleted: usize,
    pub chunks: usize,
    pub segments: usize,
    pub failed: Vec<ItemFailure>,
    pub discover_secs: f64,
    pub read_secs: f64,
    pub embed_secs: f64,
    pub write_secs: f64,
    pub total_secs: f64,
    /// Peak resident memory of the process, where the OS reports it.
    pub peak_rss_bytes: Option<u64>,
}

/// Runs indexing with one embedder.
///
/// ```no_run
/// use hearth_embed::{Embedder, EmbedderOptions};
/// use hearth_ingest::{IngestState, Indexer};
/// use hearth_store::{EmbeddingSpec, Index};
///
/// let embedder = Embedder::load("/models/all-minilm-l6-v2".as_ref(), EmbedderOptions::default())?;
/// let spec = EmbeddingSpec { model_id: embedder.model_id().into(), dimension: embedder.dimension() };
/// let mut index = Index::open_or_create("/tmp/hearth/index".as_ref(), &spec)?;
/// let mut state = IngestState::open("/tmp/hearth/ingest.db".as_ref())?;
/// let notes = state.add_source(None, "auto", "fixtures/demo/notes".as_ref())?;
/// let report = Indexer::new(&embedder)?.run(&mut index, &mut state, &[notes], &mut |_| {})?;
/// println!("{} new documents", report.new);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Indexer<'e> {
    embedder: &'e Embedder,
    chunker: Chunker,
    commit_chunks: usize,
}

/// Work read but not yet committed.
#[derive(Default)]
struct Pending {
    docs: Vec<DocumentRecord>,
    chunks: Vec<ChunkRecord>,
    /// Embedder input per chunk (title + chunk text), parallel to `chunks`.
    inputs: Vec<String>,
    /// Content hash of each queued document, to index an item read twice once.
    queued: HashMap<String, String>,
    deleted: Vec<String>,
    items: Vec<ItemUpdate>,
    touched: Vec<(i64, String, i64)>,
    removed: Vec<(i64, String)>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.docs.is_empty()
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

struct Timers {
    discover: Duration,
    read: Duration,
    embed: Duration,
    write: Duration,
}

impl<'e> Indexer<'e> {
    /// An indexer chunking with the embedder's own tokenizer.
    pub fn new(embedder: &'e Embedder) -> Result<Self, IngestError> {
        let chunker = Chunker::new(
            embedder.sizing_tokenizer(),
            MAX_CHUNK_TOKENS,
            CHUNK_OVERLAP_TOKENS,
        )?;
        Ok(Self {
            embedder,
            chunker,
            commit_chunks: COMMIT_CHUNKS,
        })
    }

    /// Commits a segment every `chunks` chunks (default [`COMMIT_CHUNKS`]); small
    /// values make many small segments, which crash tests use.
    pub fn with_commit_chunks(mut self, chunks: usize) -> Self {
        self.commit_chunks = chunks.max(1);
        self
    }

    /// Brings `index` up to date with `sources`.
    pub fn run(
        &self,
        index: &mut Index,
        state: &mut IngestState,
        sources: &[Source],
        progress: &mut dyn FnMut(ProgressEvent<'_>),
    ) -> Result<IndexReport, IngestError> {
        let started = Instant::now();
        let mut report = IndexReport {
            sources: sources.len(),
            ..IndexReport::default()
        };
        let mut timers = Timers {
            discover: Duration::ZERO,
            read: Duration::ZERO,
            embed: Duration::ZERO,
            write: Duration::ZERO,
        };
        let mut pending = Pending::default();
        for source in sources {
            if !source.path.exists() {
                // An unmounted disk is not a deletion: keep everything.
                report.missing_sources.push(source.name.clone());
                continue;
            }
            let t = Instant::now();
            let found = discover(std::slice::from_ref(&source.path))?;
            let files: Vec<&SourceFile> = found
                .files
                .iter()
                .filter(|f| source.kind == "auto" || f.format.kind().as_str() == source.kind)
                .collect();
            report.files += files.len();
            report.unsupported_files += found.unsupported.len();
            let mut known = state.items(source.id)?;
            timers.discover += t.elapsed();
            progress(ProgressEvent::Discovered {
                files: files.len(),
                bytes: files.iter().map(|f| f.size).sum(),
            });
            for file in files {
                let t = Instant::now();
                let key = file.path.to_string_lossy().into_owned();
                let previous = known.remove(&key);
                self.visit(
                    source,
                    file,
                    &key,
                    previous,
                    index,
                    state,
                    &mut pending,
                    &mut report,
                )?;
                timers.read += t.elapsed();
                progress(ProgressEvent::FileRead {
                    path: &file.path,
                    bytes: file.size,
                });
                if pending.chunks.len() >= self.commit_chunks {
                    self.flush(
                        index,
                        state,
                        &mut pending,
                        &mut report,
                        &mut timers,
                        progress,
                    )?;
                }
            }
            // What the manifest knows but discovery no longer found was deleted.
            for (path, item) in known {
                report.deleted_files += 1;
                for doc in item.doc_ids {
                    if !state.doc_held_elsewhere(&doc, source.id, &path)? {
                        pending.deleted.push(doc);
                    }
                }
                pending.removed.push((source.id, path));
            }
        }
        self.flush(
            index,
            state,
            &mut pending,
            &mut report,
            &mut timers,
            progress,
        )?;
        report.discover_secs = timers.discover.as_secs_f64();
        report.read_secs = timers.read.as_secs_f64();
        report.embed_secs = timers.embed.as_secs_f64();
        report.write_secs = timers.write.as_secs_f64();
        report.total_secs = started.elapsed().as_secs_f64();
        report.peak_rss_bytes = peak_rss_bytes();
        Ok(report)
    }

    /// Decides what to do with one file and queues its documents.
    #[allow(clippy::too_many_arguments)]
    fn visit(
        &self,
        source: &Source,
        file: &SourceFile,
        key: &str,
        previous: Option<ItemState>,
        index: &Index,
        state: &IngestState,
        pending: &mut Pending,
        report: &mut IndexReport,
    ) -> Result<(), IngestError> {
        let mtime_ns = mtime_ns(&file.path);
        let same_stat = previous
            .as_ref()
            .is_some_and(|p| p.size == file.size && p.mtime_ns == mtime_ns);
        if let Some(prev) = &previous {
            if same_stat && prev.status == ItemStatus::Indexed {
                report.unchanged_files += 1;
                return Ok(());
            }
            if same_stat && prev.next_attempt_at.is_some_and(|t| t > now()) {
                report.deferred_files += 1;
                return Ok(());
            }
        }
        let hash = match hash_file(&file.path) {
            Ok(h) => h,
            Err(e) => {
                let reason = format!("cannot read {}: {e}", file.path.display());
                self.record_failure(
                    source, file, key, previous, mtime_ns, reason, pending, report,
                );
                return Ok(());
            }
        };
        if let Some(prev) = &previous
            && prev.hash == hash
            && prev.status == ItemStatus::Indexed
        {
            // Touched, not changed: remember the new mtime, read nothing.
            report.unchanged_files += 1;
            pending.touched.push((source.id, key.to_owned(), mtime_ns));
            return Ok(());
        }
        let mut doc_ids = Vec::new();
        let mut errors = Vec::new();
        for item in read_source(file) {
            let doc = match item {
                Ok(doc) => doc,
                Err(err) => {
                    report.failed.push(ItemFailure {
                        source: source.name.clone(),
                        path: file.path.clone(),
                        position: err.position(),
                        reason: err.to_string(),
                    });
                    errors.push(ItemError {
                        position: err.position(),
                        reason: err.to_string(),
                    });
                    continue;
                }
            };
            report.documents += 1;
            doc_ids.push(doc.id.0.clone());
            if let Some(hash) = pending.queued.get(&doc.id.0) {
                if *hash == doc.content_hash.0 {
                    continue;
                }
                // A different item with the same id: the later one wins.
                pending.remove_doc(&doc.id.0);
            } else {
                match index.document(&doc.id.0) {
                    Some(old) if old.content_hash == doc.content_hash.0 => {
                        report.unchanged += 1;
                        continue;
                    }
                    Some(_) => report.changed += 1,
                    None => report.new += 1,
                }
            }
            pending
                .queued
                .insert(doc.id.0.clone(), doc.content_hash.0.clone());
            self.queue(&doc, pending);
        }
        let previous_docs = previous
            .as_ref()
            .map(|p| p.doc_ids.clone())
            .unwrap_or_default();
        if errors.is_empty() {
            // Documents the file no longer holds (a mail removed from an mbox).
            let now_held: HashSet<&String> = doc_ids.iter().collect();
            for doc in previous_docs.iter().filter(|d| !now_held.contains(d)) {
                if !state.doc_held_elsewhere(doc, source.id, key)? {
                    pending.deleted.push(doc.clone());
                }
            }
        } else {
            // Part of the file could not be read: keep what it held before.
            for doc in previous_docs {
                if !doc_ids.contains(&doc) {
                    doc_ids.push(doc);
                }
            }
        }
        pending.items.push(ItemUpdate {
            source_id: source.id,
            path: key.to_owned(),
            size: file.size,
            mtime_ns,
            hash,
            doc_ids,
            errors,
            previous_attempts: previous.map_or(0, |p| p.attempts),
        });
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn record_failure(
        &self,
        source: &Source,
        file: &SourceFile,
        key: &str,
        previous: Option<ItemState>,
        mtime_ns: i64,
        reason: String,
        pending: &mut Pending,
        report: &mut IndexReport,
    ) {
        report.failed.push(ItemFailure {
            source: source.name.clone(),
            path: file.path.clone(),
            position: "file".into(),
            reason: reason.clone(),
        });
        pending.items.push(ItemUpdate {
            source_id: source.id,
            path: key.to_owned(),
            size: file.size,
            mtime_ns,
            hash: String::new(),
            doc_ids: previous
                .as_ref()
                .map(|p| p.doc_ids.clone())
                .unwrap_or_default(),
            errors: vec![ItemError {
                position: "file".into(),
                reason,
            }],
            previous_attempts: previous.map_or(0, |p| p.attempts),
        });
    }

    fn queue(&self, doc: &Document, pending: &mut Pending) {
        let chunks = self.chunker.chunk(doc);
        let title: String = doc.title.chars().take(120).collect();
        for c in &chunks {
            pending.inputs.push(format!("{title}\n{}", c.text));
            pending.chunks.push(ChunkRecord {
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
        pending.docs.push(DocumentRecord {
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
            chunk_count: u32::try_from(chunks.len()).unwrap_or(u32::MAX),
            text_bytes: doc.text.len() as u64,
        });
    }

    /// Embeds what is queued, commits it to the store, then records the items.
    fn flush(
        &self,
        index: &mut Index,
        state: &mut IngestState,
        pending: &mut Pending,
        report: &mut IndexReport,
        timers: &mut Timers,
        progress: &mut dyn FnMut(ProgressEvent<'_>),
    ) -> Result<(), IngestError> {
        if pending.is_empty() {
            return Ok(());
        }
        let t = Instant::now();
        let dim = self.embedder.dimension();
        for (batch_chunks, batch_inputs) in pending
            .chunks
            .chunks_mut(256)
            .zip(pending.inputs.chunks(256))
        {
            let vectors = self.embedder.embed(batch_inputs)?;
            for (i, c) in batch_chunks.iter_mut().enumerate() {
                c.embedding = vectors.row(i).to_vec();
            }
            progress(ProgressEvent::Embedded {
                chunks: batch_chunks.len(),
            });
        }
        debug_assert!(pending.chunks.iter().all(|c| c.embedding.len() == dim));
        timers.embed += t.elapsed();
        let t = Instant::now();
        let batch = std::mem::take(pending);
        let mut deleted = batch.deleted;
        deleted.sort();
        deleted.dedup();
        let summary = index.commit(batch.docs, batch.chunks, &deleted)?;
        state.apply(
            &batch.items,
            &batch.touched,
            &batch.removed,
            index.manifest().version,
        )?;
        timers.write += t.elapsed();
        report.chunks += summary.chunks as usize;
        report.deleted += summary.deleted as usize;
        report.segments += usize::from(summary.segment.is_some());
        progress(ProgressEvent::Committed {
            documents: summary.documents,
            chunks: summary.chunks,
        });
        Ok(())
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

/// Peak resident set size (`VmHWM`) on Linux; `None` elsewhere.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
