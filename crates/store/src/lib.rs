//! The append-only event log of dunlog on sled (SPEC §6): envelopes, the codec, the hash chain,
//! group-committed durable appends, reads, subscriptions, verification and export.
//!
//! Invariants, stated as absences: nothing here knows GraphQL, projections or policy; bincode
//! appears only in [`codec`]; no append is acknowledged before it is on stable storage; no
//! reader ever sees an event that a crash could take back; no record read from disk can make
//! the store panic (it is a [`StoreError::Corrupt`] naming its position).

mod anchor;
mod append;
mod block;
pub mod chain;
pub mod codec;
mod db;
mod durability;
mod error;
pub mod hex;
mod import;
mod keys;
mod migrate;
mod reader;
mod reclaim;
mod recorded;
mod store;
mod subscription;
mod verify;
mod wal;
mod writer;

pub use append::{
    AppendOutcome, AppendRequest, ExpectedVersion, Idempotency, IdempotencyRecord, NewEvent,
    EVENTS_PER_APPEND_MAX, PAYLOAD_BYTES_MAX, STREAM_LEN_MAX, TEXT_LEN_MAX,
};
pub use block::LogIter;
pub use db::FORMAT_VERSION;
pub use error::StoreError;
pub use recorded::RecordedEvent;
pub use store::Store;
pub use subscription::{Subscription, SUBSCRIPTION_PAGE_EVENTS};
pub use verify::Verification;
