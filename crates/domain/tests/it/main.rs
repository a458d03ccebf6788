//! The domain's one integration-test binary: commands, allocation, the clock, policy, values,
//! properties over random command sequences, the shared scenarios, `evolve` on events it cannot
//! apply, and tidy checks on the docs and the source.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod allocation;
mod binary_form;
mod bounds;
mod clock;
mod commands;
mod evolve;
mod exposure_steps;
mod fuzz;
mod ids;
mod policy;
mod properties;
mod reconcile;
mod scenarios;
mod snapshot_form;
mod support;
mod tidy;
mod values;
