//! `hearth-testkit`: what Hearth's tests and benchmarks share.
//!
//! - [`corpus`]: a seeded generator of personal corpora (mbox archives,
//!   notes, MIME mails with attachments, multi-page PDFs) — the same seed
//!   always writes the same bytes.
//! - [`vectors`]: seeded clustered unit vectors and their exact top-k.
//! - [`os`]: the OS programs a test needs, failing it with the setup
//!   script to run when one is missing.
//!
//! A dev-dependency of the crates' tests, and a dependency of `hearth-bench`,
//! whose benchmarks run on the same generated data.

pub mod corpus;
pub mod os;
pub mod vectors;
