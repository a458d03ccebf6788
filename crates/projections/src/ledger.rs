//! The ledger read model: every account's state and the policies adopted, built by applying
//! recorded events in position order. Incremental application equals a rebuild from position 1
//! because `apply` is the only way state changes.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use domain::{evolve, Account, CustomerId, Event, Policy};
use serde::{Deserialize, Serialize};

use crate::aging::AgingMemo;
use crate::exposure_index::ExposureIndex;
use crate::worklist::WorklistMemo;

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

/// The envelope fields `apply` reads, borrowed. The timeline is not kept here: it is read from
/// the account's stream when asked for (`crate::timeline`).
struct Envelope<'a> {
    position: u64,
    stream: &'a str,
    recorded_at: DateTime<Utc>,
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
    /// A policy the analyst asked for (`rebuild --policy`), used instead of the adopted one.
    #[serde(skip)]
    policy_override: Option<Policy>,
    /// Aging reports already computed; `apply` tells it which account each event touched.
    #[serde(skip)]
    pub(crate) aging_memo: AgingMemo,
    /// Worklists already computed, told of every account like the aging memo.
    #[serde(skip)]
    pub(crate) worklist_memo: WorklistMemo,
    /// Each account's exposure by date, built on demand; `apply` drops the touched account's.
    #[serde(skip)]
    pub(crate) exposure_index: ExposureIndex,
}

/// The shipped default policy, parsed once.
fn default_policy() -> &'static Policy {
    static DEFAULT: OnceLock<Policy> = OnceLock::new();
    DEFAULT.get_or_init(Policy::default_policy)
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
        self.apply_parts(
            Envelope {
                position: meta.position,
                stream: &meta.stream,
                recorded_at: meta.recorded_at,
            },
            event,
        );
    }

    /// Applies an event as the store hands it out, without copying its envelope.
    pub fn apply_recorded(&mut self, recorded: &store::RecordedEvent) {
        self.apply_parts(
            Envelope {
                position: recorded.position,
                stream: &recorded.stream,
                recorded_at: recorded.recorded_at,
            },
            &recorded.event,
        );
    }

    fn apply_parts(&mut self, envelope: Envelope<'_>, event: &Event) {
        if envelope.position <= self.checkpoint && self.checkpoint != 0 {
            return;
        }
        self.checkpoint = envelope.position;
        if let Event::PolicyAdopted(p) = event {
            self.policies.push(AdoptedPolicy {
                version: p.version,
                name: p.name.clone(),
                document: p.document.clone(),
                adopted_at: envelope.recorded_at,
                position: envelope.position,
            });
            self.policy_in_force = Policy::parse(&p.document).ok();
            return;
        }
        let Some(customer) = envelope.stream.strip_prefix("account-") else {
            return;
        };
        self.aging_memo.touch(customer);
        self.worklist_memo.touch(customer);
        self.exposure_index.touch(customer);
        // The replay hot path: evolve in place; an id is parsed only when an account opens.
        match self.accounts.get_mut(customer.as_bytes()) {
            // With its position: reconciliation names the events it reverses by position.
            Some(account) => account.evolve_at(event, Some(envelope.position)),
            None => {
                let mut state = None;
                evolve(&mut state, event);
                if let (Some(account), Some(customer_id)) =
                    (state, customer_of_stream(envelope.stream))
                {
                    self.accounts.insert(customer_id, account);
                }
            }
        }
    }

    /// The policy in force: an override if one is set, else the last adopted, or the default
    /// before any adoption.
    pub fn policy(&self) -> Policy {
        self.policy_in_use().into_owned()
    }

    /// The policy in force as [`Ledger::policy`] finds it, borrowed when it can be: read models
    /// answering one request should not copy the policy.
    pub fn policy_in_use(&self) -> Cow<'_, Policy> {
        if let Some(p) = &self.policy_override {
            return Cow::Borrowed(p);
        }
        if let Some(p) = &self.policy_in_force {
            return Cow::Borrowed(p);
        }
        match self.policies.last() {
            Some(p) => Policy::parse(&p.document)
                .map(Cow::Owned)
                .unwrap_or_else(|_| Cow::Borrowed(default_policy())),
            None => Cow::Borrowed(default_policy()),
        }
    }

    /// Makes every read model use `policy` instead of the adopted one (`None`: back to the
    /// adopted policy). Recorded facts are unchanged; only how they are read changes.
    pub fn set_policy_override(&mut self, policy: Option<Policy>) {
        self.policy_override = policy;
    }

    /// The override set by [`Ledger::set_policy_override`], if any.
    pub fn policy_override(&self) -> Option<&Policy> {
        self.policy_override.as_ref()
    }

    /// Version number of the policy in force (0 before any adoption).
    pub fn policy_version(&self) -> u32 {
        self.policies.last().map(|p| p.version).unwrap_or(0)
    }

    /// Re-derives what `serde(skip)` left out after a snapshot is decoded.
    pub fn restore_derived(&mut self) {
        self.restore_ledger_derived();
        for account in self.accounts.values_mut() {
            account.restore_indexes();
        }
    }

    /// What [`Ledger::restore_derived`] re-derives for the whole ledger, leaving out the
    /// accounts' id indexes.
    fn restore_ledger_derived(&mut self) {
        self.aging_memo.clear();
        self.worklist_memo.clear();
        self.exposure_index.clear();
        self.policy_in_force = self
            .policies
            .last()
            .and_then(|p| Policy::parse(&p.document).ok());
    }

    /// A ledger from a decoded snapshot's parts, with what `serde(skip)` left out re-derived —
    /// except the accounts' id indexes: the snapshot decoder has restored them already, on the
    /// threads that decoded the accounts.
    pub(crate) fn from_snapshot_parts(
        checkpoint: u64,
        accounts: BTreeMap<CustomerId, Account>,
        policies: Vec<AdoptedPolicy>,
    ) -> Ledger {
        let mut ledger = Ledger {
            accounts,
            policies,
            checkpoint,
            ..Ledger::default()
        };
        ledger.restore_ledger_derived();
        ledger
    }

    /// Gives back the room vectors keep for growth, after a replay. Changes no value.
    pub fn shrink_to_fit(&mut self) {
        for account in self.accounts.values_mut() {
            account.shrink_to_fit();
        }
    }

    pub fn account(&self, customer_id: &CustomerId) -> Option<&Account> {
        self.accounts.get(customer_id)
    }

    /// The accounts' exposure indexes (a cache: what it holds changes no answer).
    pub fn exposure_index(&self) -> &ExposureIndex {
        &self.exposure_index
    }
}

/// Below this many accounts a read model runs on the calling thread alone.
pub const PARALLEL_ACCOUNTS_MIN: usize = 2_048;

impl Ledger {
    /// `f` over every account in customer-id order, results concatenated in that order. Large
    /// ledgers are split over the machine's cores (SPEC §10: aging of 10,000 accounts in 50 ms);
    /// the answer is the same either way.
    pub fn map_accounts<T, F>(&self, f: F) -> Vec<T>
    where
        T: Send,
        F: Fn(&Account) -> Vec<T> + Sync,
    {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(8);
        if threads < 2 || self.accounts.len() < PARALLEL_ACCOUNTS_MIN {
            return self.accounts.values().flat_map(&f).collect();
        }
        let accounts: Vec<&Account> = self.accounts.values().collect();
        let chunk = accounts.len().div_ceil(threads);
        let f = &f;
        std::thread::scope(|scope| {
            let parts: Vec<_> = accounts
                .chunks(chunk)
                .map(|part| scope.spawn(move || part.iter().flat_map(|a| f(a)).collect::<Vec<T>>()))
                .collect();
            parts
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    }
}
