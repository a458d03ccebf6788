//! The ledger read model: every account's state and the policies adopted, built by applying
//! recorded events in position order. Incremental application equals a rebuild from position 1
//! because `apply` is the only way state changes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::{evolve, Account, CustomerId, Event, Policy};
use serde::{Deserialize, Serialize};

/// What the read side needs of an envelope besides the event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMeta {
    pub position: u64,
    pub stream: String,
    pub version: u64,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub actor: String,
}

/// A policy adopted into the `policy` stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdoptedPolicy {
    pub version: u32,
    pub name: String,
    pub document: String,
    pub adopted_at: DateTime<Utc>,
    pub position: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// Ordered by customer id, as every read model lists accounts.
    pub accounts: BTreeMap<CustomerId, Account>,
    pub policies: Vec<AdoptedPolicy>,
    /// The last position applied.
    pub checkpoint: u64,
    #[serde(skip)]
    policy_in_force: Option<Policy>,
}

/// The stream name of an account's events.
pub fn account_stream(customer_id: &CustomerId) -> String {
    customer_id.stream()
}

/// The customer id of an account stream name (`account-ACME` → `ACME`).
pub fn customer_of_stream(stream: &str) -> Option<CustomerId> {
    stream
        .strip_prefix("account-")
        .and_then(|id| CustomerId::parse(id).ok())
}

impl Ledger {
    pub fn new() -> Ledger {
        Ledger::default()
    }

    /// Applies one recorded event. Events at or below the checkpoint were applied already.
    pub fn apply(&mut self, meta: &EventMeta, event: &Event) {
        if meta.position <= self.checkpoint && self.checkpoint != 0 {
            return;
        }
        self.checkpoint = meta.position;
        if let Event::PolicyAdopted(p) = event {
            self.policies.push(AdoptedPolicy {
                version: p.version,
                name: p.name.clone(),
                document: p.document.clone(),
                adopted_at: meta.recorded_at,
                position: meta.position,
            });
            self.policy_in_force = Policy::parse(&p.document).ok();
            return;
        }
        let Some(customer_id) = customer_of_stream(&meta.stream) else {
            return;
        };
        let mut state = self.accounts.remove(&customer_id);
        evolve(&mut state, event);
        if let Some(account) = state {
            self.accounts.insert(customer_id, account);
        }
    }

    /// The policy in force: the last adopted, or the default before any adoption.
    pub fn policy(&self) -> Policy {
        if let Some(p) = &self.policy_in_force {
            return p.clone();
        }
        self.policies
            .last()
            .and_then(|p| Policy::parse(&p.document).ok())
            .unwrap_or_else(Policy::default_policy)
    }

    /// Version number of the policy in force (0 before any adoption).
    pub fn policy_version(&self) -> u32 {
        self.policies.last().map(|p| p.version).unwrap_or(0)
    }

    /// Re-derives what `serde(skip)` left out after a snapshot is decoded.
    pub fn restore_derived(&mut self) {
        self.policy_in_force = self
            .policies
            .last()
            .and_then(|p| Policy::parse(&p.document).ok());
    }

    pub fn account(&self, customer_id: &CustomerId) -> Option<&Account> {
        self.accounts.get(customer_id)
    }
}
