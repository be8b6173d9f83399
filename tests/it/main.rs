//! All of the hearth binary's and the application layer's integration tests in
//! one binary: one link, one process for the shared helpers, one module per
//! concern.

// Tests and their helpers may print what they saw (shown on failure).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;

mod ask;
mod bench;
mod cli;
mod embed_quality;
mod eval;
mod generate;
mod ingest;
mod readme;
mod serve;
mod sync;
