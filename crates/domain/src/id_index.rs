//! `IdIndex`: finds an item of one of an account's vectors (invoices, payments, promises) by its
//! id, without a second copy of every id.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hash};

use hashbrown::HashTable;

/// Positions into a vector, found by the id of the item there: 4 bytes and a control byte per
/// item, where a `HashMap<Id, usize>` also kept a copy of the id. Derived data: not part of a
/// snapshot, rebuilt from the vector ([`IdIndex::rebuild`]), and equal to any other index (two
/// accounts are equal when their vectors are).
#[derive(Clone, Default)]
pub(crate) struct IdIndex {
    table: HashTable<u32>,
    hasher: RandomState,
}

impl IdIndex {
    /// The position of the item whose `key` is `id`.
    pub(crate) fn get<T, K>(&self, items: &[T], id: &K, key: impl Fn(&T) -> &K) -> Option<usize>
    where
        K: Hash + Eq + ?Sized,
    {
        let hash = self.hasher.hash_one(id);
        self.table
            .find(hash, |&i| {
                item_at(items, i).is_some_and(|item| key(item) == id)
            })
            .and_then(|&i| usize::try_from(i).ok())
    }

    /// Indexes `items[index]` (already in `items`) under its key; an earlier item with the same
    /// key is no longer found, as with `HashMap::insert`.
    pub(crate) fn insert<T, K>(&mut self, items: &[T], index: usize, key: impl Fn(&T) -> &K)
    where
        K: Hash + Eq + ?Sized,
    {
        let Some(item) = items.get(index) else {
            return;
        };
        let id = key(item);
        let hasher = &self.hasher;
        let hash = hasher.hash_one(id);
        // An account would need more than 4 billion items (hundreds of GB) to get here.
        let Ok(index) = u32::try_from(index) else {
            return;
        };
        let same = |&i: &u32| item_at(items, i).is_some_and(|other| key(other) == id);
        if let Some(slot) = self.table.find_mut(hash, same) {
            *slot = index;
            return;
        }
        let rehash = |&i: &u32| item_at(items, i).map_or(0, |other| hasher.hash_one(key(other)));
        self.table.insert_unique(hash, index, rehash);
    }

    /// An index of every item of `items`, later items winning over earlier ones with the same key.
    pub(crate) fn rebuild<T, K>(items: &[T], key: impl Fn(&T) -> &K) -> IdIndex
    where
        K: Hash + Eq + ?Sized,
    {
        let mut index = IdIndex {
            table: HashTable::with_capacity(items.len()),
            hasher: RandomState::new(),
        };
        for i in 0..items.len() {
            index.insert(items, i, &key);
        }
        index
    }

    /// Gives back what growing left unused.
    pub(crate) fn shrink_to_fit<T, K>(&mut self, items: &[T], key: impl Fn(&T) -> &K)
    where
        K: Hash + Eq + ?Sized,
    {
        let hasher = &self.hasher;
        self.table
            .shrink_to_fit(|&i| item_at(items, i).map_or(0, |item| hasher.hash_one(key(item))));
    }
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
        write!(f, "IdIndex({} ids)", self.table.len())
    }
}
