//! A list that keeps its only item in place. Most invoices get one entry (the payment that
//! settled them) and most payments settle one invoice; in a `Vec` each of those single items costs
//! a heap allocation and its allocator overhead, and the `Vec` itself 24 bytes. Here an item with
//! a spare bit pattern (a date, an id) makes the whole list the size of that item
//! (docs/decisions/0052-compact-account-state.md).

use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Reads as a slice; `push` moves the items to the heap when a second one comes.
#[derive(Clone)]
pub enum OneOrMany<T> {
    Empty,
    One(T),
    /// Two or more (behind one pointer, so that the list stays the size of one item).
    Many(Box<Vec<T>>),
}

// Not derived: the derive would ask `T: Default` of every item type.
#[allow(clippy::derivable_impls)]
impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany::Empty
    }
}

impl<T> OneOrMany<T> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, item: T) {
        match self {
            OneOrMany::Empty => *self = OneOrMany::One(item),
            OneOrMany::Many(items) => items.push(item),
            OneOrMany::One(_) => {
                if let OneOrMany::One(first) = std::mem::take(self) {
                    *self = OneOrMany::Many(Box::new(vec![first, item]));
                }
            }
        }
    }

    /// Removes and returns the item at `index`, if there is one.
    pub fn remove(&mut self, index: usize) -> Option<T> {
        match self {
            OneOrMany::One(_) if index == 0 => match std::mem::take(self) {
                OneOrMany::One(only) => Some(only),
                _ => None,
            },
            OneOrMany::Many(items) if index < items.len() => {
                let removed = items.remove(index);
                self.settle();
                Some(removed)
            }
            _ => None,
        }
    }

    /// Gives back the room the heap list keeps for growth. Changes no item.
    pub fn shrink_to_fit(&mut self) {
        if let OneOrMany::Many(items) = self {
            items.shrink_to_fit();
        }
    }

    /// Moves fewer than two items off the heap.
    fn settle(&mut self) {
        if matches!(self, OneOrMany::Many(items) if items.len() < 2) {
            if let OneOrMany::Many(items) = std::mem::take(self) {
                *self = OneOrMany::from(*items);
            }
        }
    }

    /// Heap bytes held (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        match self {
            OneOrMany::Empty | OneOrMany::One(_) => 0,
            OneOrMany::Many(items) => {
                std::mem::size_of::<Vec<T>>() + items.capacity() * std::mem::size_of::<T>()
            }
        }
    }
}

/// Equal when the items are, wherever they are kept.
impl<T: PartialEq> PartialEq for OneOrMany<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Eq> Eq for OneOrMany<T> {}

impl<T> From<Vec<T>> for OneOrMany<T> {
    fn from(mut items: Vec<T>) -> Self {
        match items.len() {
            0 => OneOrMany::Empty,
            1 => items.pop().map_or(OneOrMany::Empty, OneOrMany::One),
            _ => OneOrMany::Many(Box::new(items)),
        }
    }
}

impl<T> FromIterator<T> for OneOrMany<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        OneOrMany::from(iter.into_iter().collect::<Vec<T>>())
    }
}

impl<T> Deref for OneOrMany<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            OneOrMany::Empty => &[],
            OneOrMany::One(item) => std::slice::from_ref(item),
            OneOrMany::Many(items) => items,
        }
    }
}

impl<T> DerefMut for OneOrMany<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            OneOrMany::Empty => &mut [],
            OneOrMany::One(item) => std::slice::from_mut(item),
            OneOrMany::Many(items) => items,
        }
    }
}

impl<'a, T> IntoIterator for &'a OneOrMany<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, T> IntoIterator for &'a mut OneOrMany<T> {
    type Item = &'a mut T;
    type IntoIter = std::slice::IterMut<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for OneOrMany<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Serialize> Serialize for OneOrMany<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<T>::deserialize(d).map(OneOrMany::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_as_the_items_pushed_whatever_their_count() {
        let mut list = OneOrMany::new();
        assert!(list.is_empty());
        for n in 1..=4u32 {
            list.push(n);
            assert_eq!(&*list, (1..=n).collect::<Vec<_>>().as_slice());
        }
        assert_eq!(OneOrMany::Many(Box::new(vec![1u32])), OneOrMany::One(1));
        let mut one = OneOrMany::from(vec![7u32]);
        assert!(matches!(one, OneOrMany::One(7)));
        one[0] = 8;
        assert_eq!(&*one, &[8]);
        assert_eq!(one.remove(1), None);
        assert_eq!(one.remove(0), Some(8));
        assert!(one.is_empty());
        let mut three: OneOrMany<u32> = (1..=3).collect();
        assert_eq!(three.remove(1), Some(2));
        assert_eq!(&*three, &[1, 3]);
        assert_eq!(three.remove(0), Some(1));
        assert!(matches!(three, OneOrMany::One(3)));
    }

    /// What the type is for (a compiler that lays enums out differently fails this, and the
    /// memory figures in docs/performance.md with it).
    #[test]
    fn a_list_of_entries_is_the_size_of_one_entry() {
        use std::mem::size_of;
        let (entry, list) = (
            size_of::<crate::invoice::Entry>(),
            size_of::<OneOrMany<crate::invoice::Entry>>(),
        );
        assert_eq!(list, entry);
    }
}
