//! [`IndexSession`]: one indexing transaction — the index's writer lock, the
//! ingest manifest, the sources, the run and its record, then compaction when
//! the index needs it. `hearth index`, `watch`, `demo`, the evals and the
//! router fit all index through it.

use crate::data_dir::DataDir;
use crate::error::AppError;
use hearth_embed::Embedder;
use hearth_ingest::{COMMIT_CHUNKS, IndexReport, Indexer, IngestState, Progress, Source};
use hearth_store::codec::CodecSpec;
use hearth_store::{CompactionPolicy, EmbeddingSpec, Index};
use std::path::PathBuf;
use std::sync::Arc;

/// How an [`IndexSession`] runs.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Commit a segment every this many chunks.
    pub commit_chunks: usize,
    /// Switch the index to this codec first (None: keep the index's own).
    pub codec: Option<CodecSpec>,
    /// When to compact after the run.
    pub compaction: CompactionPolicy,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            commit_chunks: COMMIT_CHUNKS,
            codec: None,
            compaction: CompactionPolicy::default(),
        }
    }
}

/// Indexes sources into one data directory.
pub struct IndexSession {
    embedder: Arc<Embedder>,
    data: DataDir,
    options: SessionOptions,
}

/// The embedding spec an index built by `embedder` records.
pub fn embedding_spec(embedder: &Embedder) -> EmbeddingSpec {
    EmbeddingSpec {
        model_id: embedder.model_id().to_owned(),
        dimension: embedder.dimension(),
    }
}

impl IndexSession {
    /// A session with the default options.
    pub fn new(embedder: Arc<Embedder>, data: DataDir) -> Self {
        Self {
            embedder,
            data,
            options: SessionOptions::default(),
        }
    }

    /// Switches the index to `codec` (when given) before the run.
    pub fn with_codec(mut self, codec: Option<CodecSpec>) -> Self {
        self.options.codec = codec;
        self
    }

    /// Commits a segment every `chunks` chunks.
    pub fn with_commit_chunks(mut self, chunks: usize) -> Self {
        self.options.commit_chunks = chunks;
        self
    }

    /// The data directory indexed into.
    pub fn data(&self) -> &DataDir {
        &self.data
    }

    /// Indexes the sources for `paths` (adding new paths as sources), or
    /// every configured source when `paths` is empty. Fails at once when
    /// another writer holds the index ([`AppError::is_locked`]). The run is
    /// recorded in the ingest manifest whether it succeeds or not.
    pub fn run(
        &self,
        paths: &[PathBuf],
        progress: Option<Progress>,
    ) -> Result<IndexReport, AppError> {
        let mut index = Index::create_writer(&self.data.index(), &embedding_spec(&self.embedder))?;
        let mut state = IngestState::open(&self.data.ingest_db())?;
        let sources = resolve_sources(&state, paths)?;
        if let Some(codec) = &self.options.codec {
            index.set_codec(codec)?;
        }
        let run_id = state.begin_run()?;
        let indexer = Indexer::new(Arc::clone(&self.embedder))?
            .with_commit_chunks(self.options.commit_chunks);
        let progress = progress.unwrap_or_else(|| Arc::new(|_| {}));
        let result = indexer.run(&mut index, &mut state, &sources, progress);
        match &result {
            Ok(report) => state.finish_run(run_id, "ok", &serde_json::to_string(report)?)?,
            Err(err) => state.finish_run(run_id, &format!("failed: {err}"), "{}")?,
        }
        let report = result?;
        if let Some(c) = index.maybe_compact(&self.options.compaction)? {
            tracing::info!(
                "compacted {} segments into {} ({} → {} rows)",
                c.segments_before,
                c.segments_after,
                c.rows_before,
                c.rows_after
            );
        }
        Ok(report)
    }
}

fn resolve_sources(state: &IngestState, paths: &[PathBuf]) -> Result<Vec<Source>, AppError> {
    if paths.is_empty() {
        let sources = state.sources()?;
        if sources.is_empty() {
            return Err(AppError::NoSources);
        }
        return Ok(sources);
    }
    let known = state.sources()?;
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let canonical = std::fs::canonicalize(path).map_err(|source| AppError::SourcePath {
            path: path.clone(),
            source,
        })?;
        match known.iter().find(|s| s.path == canonical) {
            Some(source) => out.push(source.clone()),
            None => out.push(state.add_source(None, "auto", &canonical)?),
        }
    }
    Ok(out)
}
