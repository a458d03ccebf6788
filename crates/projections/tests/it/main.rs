//! Integration tests of the read models: every shared scenario through the domain; worklist,
//! timeline, promises, metrics; incremental == rebuild == snapshot; time travel; what-if; the
//! runtime's restart from a snapshot.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aging_memo;
mod exposure_index;
mod read_models;
mod replay;
mod runtime;
mod scenarios;
mod snapshot;
mod statement;
mod support;
mod time_travel;
mod whatif;
mod worklist;
mod worklist_memo;
