//! Time travel (SPEC §7 `knownAt`): the ledger as it was known at an instant — only the events
//! recorded at or before it, replayed into a fresh ledger that never touches the live one.
//!
//! Built ledgers are cached (least recently used first out). A ledger known at an instant is
//! final once the log holds an event recorded after that instant; before that (an instant in the
//! future, or "just now") it is reused only while the log's head has not moved. A new instant is
//! built from the latest cached ledger known at or before it, replaying only the difference.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use store::Store;

use crate::error::ProjectionError;
use crate::ledger::Ledger;
use crate::replay::replay;

/// Only events recorded at or before `known_at`, into a fresh ledger.
pub fn ledger_known_at(store: &Store, known_at: DateTime<Utc>) -> Result<Ledger, ProjectionError> {
    let mut ledger = Ledger::new();
    replay(store, &mut ledger, Some(known_at), &mut |_, _| {})?;
    Ok(ledger)
}

struct Cached {
    known_at: DateTime<Utc>,
    ledger: Arc<Ledger>,
    /// The log held an event recorded after `known_at`: nothing appended later can change it.
    final_: bool,
    /// The head when it was built.
    head: u64,
}

/// A cache of ledgers known at instants.
pub struct KnownAtCache {
    capacity: usize,
    entries: Mutex<VecDeque<Cached>>,
}

impl KnownAtCache {
    /// Keeps at most `capacity` ledgers (at least one).
    pub fn new(capacity: usize) -> Self {
        KnownAtCache {
            capacity: capacity.max(1),
            entries: Mutex::new(VecDeque::new()),
        }
    }

    /// Ledgers held now.
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ledger known at `known_at`, from the cache or built (and cached).
    pub fn get_or_build(
        &self,
        store: &Store,
        known_at: DateTime<Utc>,
    ) -> Result<Arc<Ledger>, ProjectionError> {
        let head = store.head();
        let base = {
            let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
            entries.retain(|c| c.final_ || c.head == head || c.known_at != known_at);
            if let Some(i) = entries
                .iter()
                .position(|c| c.known_at == known_at && (c.final_ || c.head == head))
            {
                if let Some(hit) = entries.remove(i) {
                    let ledger = hit.ledger.clone();
                    entries.push_back(hit);
                    return Ok(ledger);
                }
            }
            // Every event a ledger known earlier holds was recorded before `known_at` too.
            entries
                .iter()
                .filter(|c| c.known_at <= known_at)
                .max_by_key(|c| (c.known_at, c.ledger.checkpoint))
                .map(|c| c.ledger.clone())
        };
        let mut ledger = base.map(|b| (*b).clone()).unwrap_or_default();
        let replayed = replay(store, &mut ledger, Some(known_at), &mut |_, _| {})?;
        let ledger = Arc::new(ledger);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|c| c.known_at != known_at);
        entries.push_back(Cached {
            known_at,
            ledger: ledger.clone(),
            final_: replayed.reached_known_at,
            head,
        });
        while entries.len() > self.capacity {
            entries.pop_front();
        }
        Ok(ledger)
    }
}
