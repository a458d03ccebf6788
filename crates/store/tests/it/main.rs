//! The store's one integration-test binary (see CONVENTIONS.md: one binary per crate).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod append;
mod concurrency;
mod crash;
mod disk;
mod examples;
mod golden;
mod migrate;
mod payload_binary;
mod roundtrip;
mod subscription;
mod support;
mod tamper;
mod tamper_log;
mod wal;
