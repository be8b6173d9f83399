//! One indexing run over configured sources, as three stages on tokio (reading
//! and embedding on its blocking pool, writing on the calling thread) joined by
//! bounded channels (so at most a few batches are in memory,
//! whatever the corpus size):
//!
//! 1. **read** ([`crate::reader`]): discover files, skip unchanged ones (size +
//!    mtime, blake3 on doubt), read and chunk new or changed documents;
//! 2. **embed**: the embedder, which itself spreads each batch over all cores;
//! 3. **write**: commit a store segment (with tombstones for deleted files and
//!    vanished documents), *then* record the items in the ingest manifest.
//!
//! The store commit is atomic and the manifest is written after it, so a run
//! killed at any point leaves a consistent index, and the next run redoes only
//! what was not committed — without duplicating anything.

use crate::chunker::{CHUNK_OVERLAP_TOKENS, Chunker, MAX_CHUNK_TOKENS};
use crate::error::IngestError;
use crate::reader::{Batch, Reader};
use crate::state::{IngestState, Source};
use hearth_embed::Embedder;
use hearth_store::IndexWriter;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;

/// Chunks buffered before they are embedded and committed as one segment.
pub const COMMIT_CHUNKS: usize = 4096;

/// Texts per embedder call; progress is reported after each. Smaller slices
/// cost throughput (64: 18.6 s, 256: 15.7 s for the demo's 154 chunks).
const EMBED_SLICE: usize = 256;

/// Something the run reports as it goes, for progress display. Sent from the
/// stage threads, so the callback must be `Sync`.
#[derive(Debug, Clone)]
pub enum ProgressEvent<'a> {
    /// Discovery of a source is done: this many readable files, with this many bytes.
    Discovered {
        /// Readable files found in the source.
        files: usize,
        /// Their total size, in bytes.
        bytes: u64,
    },
    /// A file has been looked at (read, or skipped as unchanged).
    FileRead {
        /// The file.
        path: &'a Path,
        /// Its size, in bytes.
        bytes: u64,
    },
    /// This many chunks were queued for embedding.
    Queued {
        /// Chunks in the batch handed to the embedder.
        chunks: usize,
    },
    /// This many chunks were embedded.
    Embedded {
        /// Chunks in the slice just embedded.
        chunks: usize,
    },
    /// A segment was committed.
    Committed {
        /// Documents written in the segment (new or new versions).
        documents: u64,
        /// Chunks written in the segment.
        chunks: u64,
    },
}

/// An item position that could not be indexed, and why.
#[derive(Debug, Clone, Serialize)]
pub struct ItemFailure {
    /// Name of the source the file belongs to.
    pub source: String,
    /// The file holding the item.
    pub path: PathBuf,
    /// Where in the file: `message 12`, `page 3`, `ocr`, or `file` for the whole file.
    pub position: String,
    /// Why the item could not be indexed.
    pub reason: String,
}

/// What a run did. Serialised as the `--json` run summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IndexReport {
    /// Sources the run was given, including missing ones.
    pub sources: usize,
    /// Sources whose path is missing (their documents are kept).
    pub missing_sources: Vec<String>,
    /// Readable files found in the sources (of each source's kind).
    pub files: usize,
    /// Files found that no connector reads.
    pub unsupported_files: usize,
    /// Files skipped because size and mtime (or content hash) are unchanged.
    pub unchanged_files: usize,
    /// Files that failed before and wait for their backoff to expire.
    pub deferred_files: usize,
    /// Files that were gone: their documents were deleted.
    pub deleted_files: usize,
    /// Documents read from the files that were read.
    pub documents: usize,
    /// Documents not in the index before: embedded and added.
    pub new: usize,
    /// Documents whose content changed: embedded again as new versions.
    pub changed: usize,
    /// Documents read whose content (and URI) the index already holds.
    pub unchanged: usize,
    /// Documents whose content was indexed but whose file changed (a mail moved
    /// to another mailbox): re-recorded without re-embedding.
    pub relocated: usize,
    /// Documents tombstoned (deleted files, items gone from a container).
    pub deleted: usize,
    /// Chunks written to the store (embedded ones and re-recorded moved ones).
    pub chunks: usize,
    /// Chunks that went through the embedder.
    pub embedded: usize,
    /// Segments committed to the index.
    pub segments: usize,
    /// Every item that could not be indexed, and why.
    pub failed: Vec<ItemFailure>,
    /// Busy time of each stage (the stages overlap, so these can sum to more
    /// than `total_secs`).
    pub discover_secs: f64,
    /// Seconds spent reading and chunking files.
    pub read_secs: f64,
    /// Seconds spent embedding chunks.
    pub embed_secs: f64,
    /// Seconds spent committing to the index and the ingest manifest.
    pub write_secs: f64,
    /// Wall-clock seconds of the whole run.
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
/// use std::sync::Arc;
///
/// let embedder = Arc::new(Embedder::load("/models/all-minilm-l6-v2".as_ref(), EmbedderOptions::default())?);
/// let spec = EmbeddingSpec { model_id: embedder.model_id().into(), dimension: embedder.dimension() };
/// let mut index = Index::create_writer("/tmp/hearth/index".as_ref(), &spec)?;
/// let mut state = IngestState::open("/tmp/hearth/ingest.db".as_ref())?;
/// let notes = state.add_source(None, "auto", "fixtures/demo/notes".as_ref())?;
/// let report = Indexer::new(embedder)?.run(&mut index, &mut state, &[notes], Arc::new(|_| {}))?;
/// println!("{} new documents", report.new);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Indexer {
    embedder: Arc<Embedder>,
    chunker: Arc<Chunker>,
    commit_chunks: usize,
}

/// The progress callback, shared by the stages.
pub type Progress = Arc<dyn Fn(ProgressEvent<'_>) + Send + Sync>;

impl Indexer {
    /// An indexer chunking with the embedder's own tokenizer.
    pub fn new(embedder: Arc<Embedder>) -> Result<Self, IngestError> {
        let chunker = Chunker::new(
            embedder.sizing_tokenizer(),
            MAX_CHUNK_TOKENS,
            CHUNK_OVERLAP_TOKENS,
        )?;
        Ok(Self {
            embedder,
            chunker: Arc::new(chunker),
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
        index: &mut IndexWriter,
        state: &mut IngestState,
        sources: &[Source],
        progress: Progress,
    ) -> Result<IndexReport, IngestError> {
        let started = Instant::now();
        let stage_err = |what: &str| IngestError::Pipeline(what.to_owned());
        let indexed = index
            .documents()
            .map(|d| (d.doc_id.clone(), (d.content_hash.clone(), d.uri.clone())))
            .collect();
        let mut reader = Reader::new(
            Arc::clone(&self.chunker),
            IngestState::open(state.path())?,
            indexed,
            self.commit_chunks,
        );
        // Reading and embedding are blocking, CPU-bound work: they run on tokio's
        // blocking pool; the writer runs on this thread, which owns the index.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| IngestError::Pipeline(format!("runtime: {e}")))?;
        // One batch waiting between stages: read ahead of embedding, embed ahead
        // of writing, never more.
        let (to_embed, mut embed_rx) = mpsc::channel::<Batch>(1);
        let (to_write, mut write_rx) = mpsc::channel::<Batch>(1);
        let sources = sources.to_vec();
        let read_progress = Arc::clone(&progress);
        let read = runtime.spawn_blocking(move || {
            let result = reader.run(&sources, &*read_progress, &mut |batch| {
                read_progress(ProgressEvent::Queued {
                    chunks: batch.chunks.len(),
                });
                // A closed channel means a later stage failed; it reports why.
                to_embed
                    .blocking_send(batch)
                    .map_err(|_| IngestError::Pipeline("stopped".into()))
            });
            (reader.report, result)
        });
        let embedder = Arc::clone(&self.embedder);
        let embed_progress = Arc::clone(&progress);
        let embed = runtime.spawn_blocking(move || {
            let (mut secs, mut embedded) = (0.0, 0);
            while let Some(mut batch) = embed_rx.blocking_recv() {
                let t = Instant::now();
                embed_batch(&embedder, &mut batch, &*embed_progress)?;
                secs += t.elapsed().as_secs_f64();
                embedded += batch.chunks.len();
                if to_write.blocking_send(batch).is_err() {
                    break;
                }
            }
            Ok::<(f64, usize), IngestError>((secs, embedded))
        });
        let mut written = IndexReport::default();
        let (write_result, embed_result, read_result) = runtime.block_on(async {
            let mut write_result = Ok(());
            while let Some(batch) = write_rx.recv().await {
                let t = Instant::now();
                if let Err(e) = commit_batch(index, state, batch, &mut written, &*progress) {
                    write_result = Err(e);
                    break;
                }
                written.write_secs += t.elapsed().as_secs_f64();
            }
            // Unblock the upstream stages if writing stopped early.
            write_rx.close();
            drop(write_rx);
            let embed_result = embed
                .await
                .unwrap_or_else(|_| Err(stage_err("embed stage panicked")));
            let read_result = read.await.map_err(|_| stage_err("read stage panicked"));
            (write_result, embed_result, read_result)
        });
        // The first real failure wins over the "stopped" it caused upstream.
        write_result?;
        let (embed_secs, embedded) = embed_result?;
        let (mut report, read_outcome) = read_result?;
        read_outcome?;
        report.chunks = written.chunks;
        report.deleted = written.deleted;
        report.segments = written.segments;
        report.write_secs = written.write_secs;
        report.embed_secs = embed_secs;
        report.embedded = embedded;
        report.total_secs = started.elapsed().as_secs_f64();
        report.peak_rss_bytes = peak_rss_bytes();
        Ok(report)
    }
}

/// Embeds a batch's chunks in slices of similar length (so little is padded),
/// reporting progress after each slice.
fn embed_batch(
    embedder: &Embedder,
    batch: &mut Batch,
    progress: &(dyn Fn(ProgressEvent<'_>) + Sync),
) -> Result<(), IngestError> {
    let mut order: Vec<usize> = (0..batch.chunks.len()).collect();
    order.sort_by_key(|&i| batch.inputs[i].len());
    for slice in order.chunks(EMBED_SLICE) {
        let texts: Vec<&str> = slice.iter().map(|&i| batch.inputs[i].as_str()).collect();
        let vectors = embedder.embed(&texts)?;
        for (row, &i) in slice.iter().enumerate() {
            batch.chunks[i].embedding = vectors.row(row).to_vec();
        }
        progress(ProgressEvent::Embedded {
            chunks: slice.len(),
        });
    }
    batch.inputs = Vec::new();
    Ok(())
}

/// Commits one batch: the store segment (with moved documents' existing chunks
/// and the tombstones) first, then the item rows.
fn commit_batch(
    index: &mut IndexWriter,
    state: &mut IngestState,
    batch: Batch,
    written: &mut IndexReport,
    progress: &(dyn Fn(ProgressEvent<'_>) + Sync),
) -> Result<(), IngestError> {
    let mut deleted = batch.deleted;
    deleted.sort();
    deleted.dedup();
    let (mut docs, mut chunks) = (batch.docs, batch.chunks);
    if !batch.relocated.is_empty() {
        let ids: Vec<String> = batch.relocated.iter().map(|d| d.doc_id.clone()).collect();
        let moved = index.chunks_with_vectors(&ids)?;
        for mut doc in batch.relocated {
            doc.chunk_count = moved.iter().filter(|c| c.doc_id == doc.doc_id).count() as u32;
            docs.push(doc);
        }
        chunks.extend(moved);
    }
    let summary = index.commit(docs, chunks, &deleted)?;
    state.apply(
        &batch.items,
        &batch.touched,
        &batch.removed,
        index.manifest().version,
    )?;
    written.chunks += summary.chunks as usize;
    written.deleted += summary.deleted as usize;
    written.segments += usize::from(summary.segment.is_some());
    tracing::info!(
        segment = ?summary.segment,
        documents = summary.documents,
        chunks = summary.chunks,
        deleted = summary.deleted,
        "committed"
    );
    progress(ProgressEvent::Committed {
        documents: summary.documents,
        chunks: summary.chunks,
    });
    Ok(())
}

/// Peak resident set size (`VmHWM`) on Linux; `None` elsewhere.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
