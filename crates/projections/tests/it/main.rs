//! Integration tests of the read models: every shared scenario through the domain.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod scenarios;
