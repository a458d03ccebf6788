//! Read models of the ledger (SPEC §7), fed from the log in position order: aging, exposure,
//! credit check, worklist, timeline, promises, metrics, the statement of account; the runtime
//! that keeps them current (checkpoint, catch-up, live follow, snapshots); time travel, rebuild
//! and what-if; and the scenario runner that checks them against worked examples.
//!
//! Invariants, stated as absences: nothing here decides a command or writes to the log; every
//! money figure comes from `domain::Account`'s as-of functions, so the command side and the
//! read side can never disagree on what is open.

pub mod aging;
pub mod credit;
pub mod error;
pub mod exposure;
pub mod exposure_index;
pub mod ledger;
pub mod memo;
pub mod metrics;
pub mod promises;
pub mod rebuild;
pub mod replay;
pub mod runtime;
pub mod scenario;
pub mod snapshot;
pub mod statement;
pub mod synthetic;
pub mod time_travel;
pub mod timeline;
pub mod whatif;
pub mod worklist;

pub use aging::{AgingReport, AgingRow, AgingTotal};
pub use credit::CreditCheck;
pub use error::ProjectionError;
pub use exposure::{Exposure, ExposureStatus};
pub use ledger::{EventMeta, Ledger};
pub use metrics::Metrics;
pub use promises::PromiseView;
pub use rebuild::{rebuild, RebuildStats};
pub use runtime::Projector;
pub use statement::{Statement, StatementKind, StatementLine};
pub use time_travel::{ledger_known_at, KnownAtCache};
pub use timeline::TimelineEntry;
pub use whatif::{whatif, WhatIfAccount, WhatIfReport};
pub use worklist::WorkItem;
