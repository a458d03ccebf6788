//! `IdIndex`: finds an item of one of an account's vectors (invoices, payments, promises) by its
//! id, without a second copy of every id.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::sync::OnceLock;

use hashbrown::HashTable;

/// Positions into a vector, found by the id of the item there: 4 bytes and a control byte per
/// item, where a `HashMap<Id, usize>` also kept a copy of the id. Derived data: not part of a
/// snapshot, built from the vector on the first lookup, and equal to any other index (two
/// accounts are equal when their vectors are).
///
/// Built lazily because most accounts of a restored ledger are only read (aging, exposure and
/// the worklist look nothing up by id): a restart then neither hashes every id nor holds the
/// tables (about 10 bytes per event at 10M) until an account is written to or asked about by
/// id (docs/performance.md, "Session 8").
#[derive(Clone, Default)]
pub(crate) struct IdIndex {
    table: OnceLock<HashTable<u32>>,
    hasher: RandomState,
}

impl IdIndex {
    /// The position of the item whose `key` is `id` (building the index first if it is not).
    pub(crate) fn get<T, K>(&self, items: &[T], id: &K, key: impl Fn(&T) -> &K) -> Option<usize>
    where
        K: Hash + Eq + ?Sized,
    {
        let table = self.table.get_or_init(|| build(items, &key, &self.hasher));
        let hash = self.hasher.hash_one(id);
        table
            .find(hash, |&i| {
                item_at(items, i).is_some_and(|item| key(item) == id)
            })
            .and_then(|&i| usize::try_from(i).ok())
    }

    /// Indexes `items[index]` (already in `items`) under its key; an earlier item with the same
    /// key is no longer found, as with `HashMap::insert`. An index not built yet is left so: it
    /// will be built from `items`, this item included.
    pub(crate) fn insert<T, K>(&mut self, items: &[T], index: usize, key: impl Fn(&T) -> &K)
    where
        K: Hash + Eq + ?Sized,
    {
        if let Some(table) = self.table.get_mut() {
            insert_into(table, &self.hasher, items, index, &key);
        }
    }

    /// Forgets the table: the next lookup builds it from the vector as it is then.
    pub(crate) fn reset(&mut self) {
        self.table = OnceLock::new();
    }

    /// Gives back what growing left unused.
    pub(crate) fn shrink_to_fit<T, K>(&mut self, items: &[T], key: impl Fn(&T) -> &K)
    where
        K: Hash + Eq + ?Sized,
    {
        let hasher = &self.hasher;
        if let Some(table) = self.table.get_mut() {
            table
                .shrink_to_fit(|&i| item_at(items, i).map_or(0, |item| hasher.hash_one(key(item))));
        }
    }

    /// Whether the table has been built (for tests and memory accounting).
    pub(crate) fn is_built(&self) -> bool {
        self.table.get().is_some()
    }
}

/// A table of every item of `items`, later items winning over earlier ones with the same key.
fn build<T, K>(items: &[T], key: &impl Fn(&T) -> &K, hasher: &RandomState) -> HashTable<u32>
where
    K: Hash + Eq + ?Sized,
{
    let mut table = HashTable::with_capacity(items.len());
    for i in 0..items.len() {
        insert_into(&mut table, hasher, items, i, key);
    }
    table
}

fn insert_into<T, K>(
    table: &mut HashTable<u32>,
    hasher: &RandomState,
    items: &[T],
    index: usize,
    key: &impl Fn(&T) -> &K,
) where
    K: Hash + Eq + ?Sized,
{
    let Some(item) = items.get(index) else {
        return;
    };
    let id = key(item);
    let hash = hasher.hash_one(id);
    // An account would need more than 4 billion items (hundreds of GB) to get here.
    let Ok(index) = u32::try_from(index) else {
        return;
    };
    let same = |&i: &u32| item_at(items, i).is_some_and(|other| key(other) == id);
    if let Some(slot) = table.find_mut(hash, same) {
        *slot = index;
        return;
    }
    let rehash = |&i: &u32| item_at(items, i).map_or(0, |other| hasher.hash_one(key(other)));
    table.insert_unique(hash, index, rehash);
}

fn item_at<T>(items: &[T], index: u32) -> Option<&T> {
    items.get(usize::try_from(index).ok()?)
}

impl PartialEq for IdIndex {
    fn eq(&self, _: &IdIndex) -> bool {
        true
    }
}

impl Eq for IdIndex {}

impl fmt::Debug for IdIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.table.get() {
            Some(table) => write!(f, "IdIndex({} ids)", table.len()),
            None => f.write_str("IdIndex(not built)"),
        }
    }
}
