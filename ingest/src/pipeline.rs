//! One indexing run: discover files → read documents → skip what the index already
//! holds unchanged → chunk → embed in batches → commit segments.
//!
//! Each commit is atomic (see `hearth-store`), so a run stopped at any point leaves
//! a consistent index and the next run redoes only what was not committed.

use crate::chunker::{CHUNK_OVERLAP_TOKENS, Chunker, MAX_CHUNK_TOKENS};
use crate::error::IngestError;
use hearth_connectors::{Document, discover, read_source};
use hearth_embed::Embedder;
use hearth_store::{ChunkRecord, DocumentRecord, Index};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Chunks buffered before they are embedded and committed as one segment; bounds
/// the memory of a run whatever the size of the corpus.
pub const COMMIT_CHUNKS: usize = 4096;

/// Something the run reports as it goes, for progress display.
#[derive(Debug, Clone)]
pub enum ProgressEvent<'a> {
    /// Discovery is done: this many readable files, with this many bytes.
    Discovered { files: usize, bytes: u64 },
    /// A file has been read (its documents chunked or skipped).
    FileRead { path: &'a Path, bytes: u64 },
    /// This many chunks were embedded.
    Embedded { chunks: usize },
    /// A segment was committed.
    Committed { documents: u64, chunks: u64 },
}

/// An item that could not be indexed, and why.
#[derive(Debug, Clone, Serialize)]
pub struct ItemFailure {
    pub path: PathBuf,
    pub reason: String,
}

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IndexReport {
    pub files: usize,
    pub unsupported_files: usize,
    /// Documents read from the files.
    pub documents: usize,
    /// Documents not in the index before.
    pub new: usize,
    /// Documents whose content changed since they were indexed.
    pub changed: usize,
    /// Documents already indexed with the same content (skipped).
    pub unchanged: usize,
    pub chunks: usize,
    pub segments: usize,
    pub failed: Vec<ItemFailure>,
    pub read_secs: f64,
    pub embed_secs: f64,
    pub write_secs: f64,
    pub total_secs: f64,
}

/// Runs indexing with one embedder.
///
/// ```no_run
/// use hearth_embed::{Embedder, EmbedderOptions};
/// use hearth_ingest::Indexer;
/// use hearth_store::{EmbeddingSpec, Index};
///
/// let embedder = Embedder::load("/models/all-minilm-l6-v2".as_ref(), EmbedderOptions::default())?;
/// let spec = EmbeddingSpec { model_id: embedder.model_id().into(), dimension: embedder.dimension() };
/// let mut index = Index::open_or_create("/tmp/index".as_ref(), &spec)?;
/// let report = Indexer::new(&embedder)?.run(&mut index, &["fixtures/demo".into()], &mut |_| {})?;
/// println!("{} new documents", report.new);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Indexer<'e> {
    embedder: &'e Embedder,
    chunker: Chunker,
}

struct Pending {
    docs: Vec<DocumentRecord>,
    chunks: Vec<ChunkRecord>,
    /// Embedder input per chunk (title + chunk text), parallel to `chunks`.
    inputs: Vec<String>,
}

impl Pending {
    fn remove(&mut self, doc_id: &str) {
        self.docs.retain(|d| d.doc_id != doc_id);
        let keep: Vec<bool> = self.chunks.iter().map(|c| c.doc_id != doc_id).collect();
        let mut flags = keep.iter();
        self.chunks.retain(|_| *flags.next().unwrap_or(&true));
        let mut flags = keep.iter();
        self.inputs.retain(|_| *flags.next().unwrap_or(&true));
    }
}

impl<'e> Indexer<'e> {
    /// An indexer chunking with the embedder's own tokenizer.
    pub fn new(embedder: &'e Embedder) -> Result<Self, IngestError> {
        let chunker = Chunker::new(
            embedder.sizing_tokenizer(),
            MAX_CHUNK_TOKENS,
            CHUNK_OVERLAP_TOKENS,
        )?;
        Ok(Self { embedder, chunker })
    }

    /// Indexes every readable file under `roots` into `index`.
    pub fn run(
        &self,
        index: &mut Index,
        roots: &[PathBuf],
        progress: &mut dyn FnMut(ProgressEvent<'_>),
    ) -> Result<IndexReport, IngestError> {
        let started = Instant::now();
        let found = discover(roots)?;
        let mut report = IndexReport {
            files: found.files.len(),
            unsupported_files: found.unsupported.len(),
            ..IndexReport::default()
        };
        progress(ProgressEvent::Discovered {
            files: found.files.len(),
            bytes: found.files.iter().map(|f| f.size).sum(),
        });
        let mut pending = Pending {
            docs: Vec::new(),
            chunks: Vec::new(),
            inputs: Vec::new(),
        };
        // Content hash of each document queued since the last commit, so an item
        // read twice (the same Message-ID in two mailboxes) is indexed once.
        let mut queued: HashMap<String, String> = HashMap::new();
        let mut timers = [Duration::ZERO; 3];
        for file in &found.files {
            let t = Instant::now();
            for item in read_source(file) {
                let doc = match item {
                    Ok(doc) => doc,
                    Err(err) => {
                        report.failed.push(ItemFailure {
                            path: file.path.clone(),
                            reason: err.to_string(),
                        });
                        continue;
                    }
                };
                report.documents += 1;
                if let Some(hash) = queued.get(&doc.id.0) {
                    if *hash == doc.content_hash.0 {
                        continue;
                    }
                    // A different item with the same id: the later one wins.
                    pending.remove(&doc.id.0);
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
                queued.insert(doc.id.0.clone(), doc.content_hash.0.clone());
                self.queue(&doc, &mut pending);
            }
            timers[0] += t.elapsed();
            progress(ProgressEvent::FileRead {
                path: &file.path,
                bytes: file.size,
            });
            if pending.chunks.len() >= COMMIT_CHUNKS {
                self.flush(index, &mut pending, &mut report, &mut timers, progress)?;
                queued.clear();
            }
        }
        self.flush(index, &mut pending, &mut report, &mut timers, progress)?;
        report.read_secs = timers[0].as_secs_f64();
        report.embed_secs = timers[1].as_secs_f64();
        report.write_secs = timers[2].as_secs_f64();
        report.total_secs = started.elapsed().as_secs_f64();
        Ok(report)
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

    fn flush(
        &self,
        index: &mut Index,
        pending: &mut Pending,
        report: &mut IndexReport,
        timers: &mut [Duration; 3],
        progress: &mut dyn FnMut(ProgressEvent<'_>),
    ) -> Result<(), IngestError> {
        if pending.docs.is_empty() {
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
                c.embedding = vectors.data[i * dim..(i + 1) * dim].to_vec();
            }
            progress(ProgressEvent::Embedded {
                chunks: batch_chunks.len(),
            });
        }
        timers[1] += t.elapsed();
        let t = Instant::now();
        let summary = index.commit(
            std::mem::take(&mut pending.docs),
            std::mem::take(&mut pending.chunks),
            &[],
        )?;
        pending.inputs.clear();
        timers[2] += t.elapsed();
        report.chunks += summary.chunks as usize;
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
