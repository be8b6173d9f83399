//! The indexing pipeline: configured sources → discover → read (connectors) →
//! chunk → embed → write (store), recording every item in a SQLite manifest so a
//! re-run only looks at what changed.
//!
//! - [`IngestState`]: sources, items (size, mtime, blake3, status, attempts,
//!   documents produced), failures and runs.
//! - [`Indexer`]: one run through the store's [`hearth_store::IndexWriter`]
//!   (one writer per index; readers keep working meanwhile); bad items never stop it — each failure is recorded with
//!   its reason and retried on later runs with backoff.
//! - [`ChangeFeed`] and [`ScheduleTarget`]: watch mode and scheduled runs
//!   (systemd user timer, launchd agent).

mod chunker;
mod error;
mod pipeline;
mod reader;
mod schedule;
mod state;
mod watch;

pub use chunker::{CHUNK_OVERLAP_TOKENS, Chunk, Chunker, MAX_CHUNK_TOKENS};
pub use error::IngestError;
pub use pipeline::{
    COMMIT_CHUNKS, IndexReport, Indexer, ItemFailure, Progress, ProgressEvent, peak_rss_bytes,
};
pub use schedule::{
    LAUNCHD_LABEL, Schedule, ScheduleTarget, SchedulerKind, UNIT_NAME, parse_interval,
};
pub use state::{
    FailureRow, IngestState, ItemError, ItemState, ItemStatus, ItemUpdate, RunRow, SOURCE_KINDS,
    Source, backoff_secs,
};
pub use watch::ChangeFeed;
