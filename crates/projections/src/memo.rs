//! Memos of whole-ledger read models (aging, worklist). A report over every account depends on
//! each account separately, so an event makes stale only its own account's part: the ledger
//! tells every memo which account each applied event touched ([`Memo::touch`]), and the next
//! request recomputes just those parts instead of every account.
//!
//! A memo is a cache, not state: a clone starts empty, it compares equal to any other memo, and
//! it is never serialised.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Most reports a memo keeps (distinct dates, rules, filters); the least recently used goes
/// first.
pub const MEMO_ENTRIES_MAX: usize = 8;
/// Accounts touched since a memoised report was brought up to date beyond which the report is
/// dropped and rebuilt from every account instead of patched one account at a time.
pub const MEMO_TOUCHED_MAX: usize = 1_024;

/// A memoised report: what it was asked with, the report, and the accounts touched since it was
/// last brought up to date.
pub(crate) struct Entry<K, V> {
    pub key: K,
    pub value: V,
    /// Customer ids of accounts an event was applied to since `value` was brought up to date.
    pub touched: HashSet<String>,
}

/// Reports already computed, least recently used first, at most [`MEMO_ENTRIES_MAX`].
pub struct Memo<K, V> {
    entries: Mutex<Vec<Entry<K, V>>>,
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo {
            entries: Mutex::new(Vec::new()),
        }
    }
}

impl<K: PartialEq, V> Memo<K, V> {
    /// The report for `key`: memoised and brought up to date by `refresh` (given the accounts
    /// touched since, to drain) if there is one, else made by `build` and kept. `share` takes
    /// what the caller gets while the memo is held. Concurrent callers of a cold key wait for one
    /// computation instead of each doing it.
    pub(crate) fn serve<R>(
        &self,
        key: K,
        build: impl FnOnce(&K) -> V,
        refresh: impl FnOnce(&K, &mut V, &mut HashSet<String>),
        share: impl FnOnce(&V) -> R,
    ) -> R {
        let mut entries = self.lock();
        if let Some(i) = entries.iter().position(|e| e.key == key) {
            let mut entry = entries.remove(i);
            if !entry.touched.is_empty() {
                refresh(&entry.key, &mut entry.value, &mut entry.touched);
                entry.touched.clear();
            }
            let shared = share(&entry.value);
            entries.push(entry);
            return shared;
        }
        let value = build(&key);
        let shared = share(&value);
        entries.push(Entry {
            key,
            value,
            touched: HashSet::new(),
        });
        if entries.len() > MEMO_ENTRIES_MAX {
            entries.remove(0);
        }
        shared
    }

    /// Marks the account `customer` as changed in every memoised report; a report with more
    /// than [`MEMO_TOUCHED_MAX`] touched accounts is dropped.
    pub(crate) fn touch(&mut self, customer: &str) {
        let entries = self
            .entries
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        entries.retain_mut(|e| {
            if !e.touched.contains(customer) {
                e.touched.insert(customer.to_owned());
            }
            e.touched.len() <= MEMO_TOUCHED_MAX
        });
    }

    /// Forgets every report.
    pub(crate) fn clear(&mut self) {
        self.entries
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Reports held now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entries, locked. A panic while they were held may have left a report half patched:
    /// then every report is forgotten rather than trusted.
    fn lock(&self) -> MutexGuard<'_, Vec<Entry<K, V>>> {
        match self.entries.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                let mut guard = poisoned.into_inner();
                guard.clear();
                self.entries.clear_poison();
                guard
            }
        }
    }
}

impl<K, V> Clone for Memo<K, V> {
    fn clone(&self) -> Self {
        Memo::default()
    }
}

impl<K, V> PartialEq for Memo<K, V> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<K, V> Eq for Memo<K, V> {}

impl<K, V> std::fmt::Debug for Memo<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never waits for the lock: a ledger may be printed while its memo is in use.
        let reports = self.entries.try_lock().map(|e| e.len()).ok();
        f.debug_struct("Memo").field("reports", &reports).finish()
    }
}
