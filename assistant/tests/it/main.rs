//! All of the assistant's integration tests in one binary: one link, one
//! process for the shared helpers, one module per concern.

// Tests and their helpers may print what they saw (shown on failure).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod cloud;
mod engine;
mod generate;
mod redact;
mod task;
