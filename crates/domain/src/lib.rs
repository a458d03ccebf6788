//! The pure domain of dunlog: values, events, commands, the account aggregate, the policy and
//! the clock.
//!
//! Invariants, stated as absences: this crate does no I/O, reads no clock, spawns nothing, and
//! depends on no tokio, sled, axum or async-graphql. Time, the actor and the policy come in as
//! arguments (`Context`), so every decision can be replayed exactly.

pub mod account;
pub mod binary_form;
pub mod bounds;
pub mod clock;
pub mod command;
pub mod context;
pub mod decide;
pub mod error;
pub mod event;
pub mod exposure_steps;
pub mod id;
mod id_index;
pub mod invoice;
pub mod iso4217;
pub mod money;
pub mod one_or_many;
pub mod packed_amount;
pub mod policy;
pub mod promise;
pub mod reconcile;
pub mod scale;
pub mod snapshot_form;

pub use account::{evolve, Account};
pub use clock::tick;
pub use command::Command;
pub use context::Context;
pub use decide::decide;
pub use error::{DomainError, ErrorKind};
pub use event::Event;
pub use id::{CreditNoteId, CustomerId, InvoiceId, PaymentId, PlanId, PromiseId};
pub use money::{Currency, Money};
pub use policy::Policy;
