//! All of the connectors's integration tests in one binary: one link, one
//! process for the shared helpers, one module per concern.

// Tests and their helpers may print what they saw (shown on failure).
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;

mod chats;
mod documents;
mod mail;
mod mbox_roundtrip;
mod screenshots;
