//! The exposure index of the accounts the ledger is asked about: each account's exposure as a
//! step function of the date (`domain::exposure_steps`), so `exposure` on any date is a binary
//! search instead of a walk over every invoice and payment (issue 18: ~1,000 facts an account
//! at 10M events).
//!
//! An account's index depends on that account alone, so `Ledger::apply` drops the index of the
//! account each event touches (`ExposureIndex::touch`), and the next question about it builds
//! it again. Building costs a few walks (the facts are sorted by date), so an account is indexed
//! only on the second question since it last changed: an account asked once after each command
//! (the exposure a command returns) is walked, as before; one asked again and again is indexed.
//!
//! Like the memos (`memo.rs`) it is a cache, not state: a clone starts empty, it compares equal
//! to any other, it is never serialised, and it holds at most [`EXPOSURE_INDEX_BYTES_MAX`].

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::NaiveDate;
use domain::exposure_steps::ExposureSteps;
use domain::{Account, CustomerId};
use rust_decimal::Decimal;

/// Most bytes of steps the index keeps (about 1,500 accounts of 1,000 facts); past it, indexes
/// are dropped, an arbitrary one at a time, to make room.
pub const EXPOSURE_INDEX_BYTES_MAX: usize = 32 << 20;

/// What is known of one account since it last changed.
enum Known {
    /// Asked once, and walked: the next question builds the index.
    Asked,
    /// Its steps.
    Indexed(ExposureSteps),
    /// Amounts too large for exact sums (beyond the 10^15 bound): always walked.
    Walked,
}

#[derive(Default)]
struct Indexes {
    accounts: HashMap<CustomerId, Known>,
    /// Heap bytes of every `Known::Indexed` held.
    bytes: usize,
}

/// The accounts' exposure indexes, built on demand and dropped when their account changes.
#[derive(Default)]
pub struct ExposureIndex {
    indexes: Mutex<Indexes>,
}

impl ExposureIndex {
    /// `account`'s exposure on `date`: what `Account::exposure_on` gives, from the account's
    /// index when it has one.
    pub(crate) fn exposure_on(&self, account: &Account, date: NaiveDate) -> Decimal {
        let customer = &account.customer_id;
        {
            let mut indexes = self.lock();
            match indexes.accounts.get(customer) {
                Some(Known::Indexed(steps)) => return steps.on(date),
                Some(Known::Walked) => return account.exposure_on(date),
                Some(Known::Asked) => {}
                None => {
                    indexes.accounts.insert(customer.clone(), Known::Asked);
                    drop(indexes);
                    return account.exposure_on(date);
                }
            }
        }
        // Built without the lock: other accounts' questions need not wait for it.
        let Some(steps) = account.exposure_steps() else {
            self.lock().accounts.insert(customer.clone(), Known::Walked);
            return account.exposure_on(date);
        };
        let exposure = steps.on(date);
        self.lock().keep(customer, steps);
        exposure
    }

    /// Drops the index of the account `customer` (an event was applied to it).
    pub(crate) fn touch(&mut self, customer: &str) {
        let indexes = self
            .indexes
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        // Nothing to do while nothing was asked, as during a rebuild.
        if indexes.accounts.is_empty() {
            return;
        }
        if let Some(Known::Indexed(steps)) = indexes.accounts.remove(customer) {
            indexes.bytes = indexes.bytes.saturating_sub(steps.heap_bytes());
        }
    }

    /// Forgets every index.
    pub(crate) fn clear(&mut self) {
        *self
            .indexes
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner) = Indexes::default();
    }

    /// Accounts with an index now.
    pub fn indexed(&self) -> usize {
        self.lock()
            .accounts
            .values()
            .filter(|k| matches!(k, Known::Indexed(_)))
            .count()
    }

    /// Heap bytes of the indexes held now.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// The indexes, locked. A panic while they were held may have left them half updated: then
    /// every index is forgotten rather than trusted.
    fn lock(&self) -> MutexGuard<'_, Indexes> {
        match self.indexes.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                *guard = Indexes::default();
                self.indexes.clear_poison();
                guard
            }
        }
    }
}

impl Indexes {
    /// Keeps `steps` as `customer`'s index, dropping others while the total would exceed
    /// [`EXPOSURE_INDEX_BYTES_MAX`]; an index larger than that alone is not kept.
    fn keep(&mut self, customer: &CustomerId, steps: ExposureSteps) {
        let bytes = steps.heap_bytes();
        if bytes > EXPOSURE_INDEX_BYTES_MAX {
            return;
        }
        if let Some(Known::Indexed(old)) = self.accounts.remove(customer) {
            self.bytes = self.bytes.saturating_sub(old.heap_bytes());
        }
        while self.bytes.saturating_add(bytes) > EXPOSURE_INDEX_BYTES_MAX {
            let Some(victim) = self
                .accounts
                .iter()
                .find(|(_, k)| matches!(k, Known::Indexed(_)))
                .map(|(c, _)| c.clone())
            else {
                break;
            };
            if let Some(Known::Indexed(old)) = self.accounts.remove(&victim) {
                self.bytes = self.bytes.saturating_sub(old.heap_bytes());
            }
        }
        self.bytes = self.bytes.saturating_add(bytes);
        self.accounts
            .insert(customer.clone(), Known::Indexed(steps));
    }
}

impl Clone for ExposureIndex {
    fn clone(&self) -> Self {
        ExposureIndex::default()
    }
}

impl PartialEq for ExposureIndex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for ExposureIndex {}

impl std::fmt::Debug for ExposureIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never waits for the lock: a ledger may be printed while its index is in use.
        let accounts = self.indexes.try_lock().map(|i| i.accounts.len()).ok();
        f.debug_struct("ExposureIndex")
            .field("accounts", &accounts)
            .finish()
    }
}
