//! `hearth-app`: the application layer between Hearth's libraries and its
//! command line, usable by any program that embeds Hearth.
//!
//! - [`DataDir`]: the one type that knows the data directory's layout.
//! - [`Config`]: the config file's schema and its precedence (flag > env >
//!   file > default), resolved once per invocation.
//! - [`Hearth`]: the session facade — config, data directory and models.
//! - [`IndexSession`]: one indexing transaction (writer lock → ingest
//!   manifest → sources → run → run record → compaction).
//! - [`AssistantSetup`]: the assistant as the config assembles it (tiers,
//!   fitted router, task classifier, cloud tier, metering).
//! - [`ShareDir`]: bundled data (demo fixtures, eval suites, scripts) found on
//!   an explicit search path.

mod config;
mod data_dir;
mod error;
mod hearth;
mod models;
mod session;
mod setup;
mod share;

pub use config::{
    AssistantSection, CloudSection, Config, ConfigFile, EmbeddingSection, ModelSection, Overrides,
    SearchSection,
};
pub use data_dir::DataDir;
pub use error::AppError;
pub use hearth::Hearth;
pub use models::{ModelEvent, Models};
pub use session::{IndexSession, SessionOptions};
pub use setup::{AssistantSetup, parse_tier};
pub use share::{SHARE_DIR_ENV, ShareDir};
