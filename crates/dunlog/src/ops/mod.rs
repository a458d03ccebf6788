//! Ledger operations a person starts from the command line: the demo generator, CSV import and
//! the scenario runner. Each goes through the domain's own commands; none writes events itself.

pub mod demo;
pub mod import;
pub mod scenario;
