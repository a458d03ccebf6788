//! Read models of the ledger (SPEC §7), fed from the log in position order: aging, exposure,
//! credit check, and the scenario runner that checks them against worked examples.
//!
//! Invariants, stated as absences: nothing here decides a command or writes to the log; every
//! money figure comes from `domain::Account`'s as-of functions, so the command side and the
//! read side can never disagree on what is open.

pub mod aging;
pub mod credit;
pub mod exposure;
pub mod ledger;
pub mod scenario;

pub use aging::{AgingReport, AgingRow, AgingTotal};
pub use credit::CreditCheck;
pub use exposure::{Exposure, ExposureStatus};
pub use ledger::{EventMeta, Ledger};
