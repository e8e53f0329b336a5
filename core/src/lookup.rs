//! [`Lookup`]: a map for keyed lookups only, in a hash table that is never iterated; and
//! [`Positions`], the same for entries that hold their own keys.
//!
//! Every node keeps every ATX, ballot and beacon vote it sees, and looks each up by id many
//! times per message: with 1,000 nodes these stores hold thousands of entries each, and a B-tree
//! search through them (a chain of dependent cache misses over 32-byte key comparisons) was
//! the largest single kind of work in a large simulation. A hash table finds an entry with one
//! or two cache misses.
//!
//! Determinism: a hash table's iteration order depends on its hasher and history, so this type
//! offers no iteration at all; lookups, inserts and removals give the same answers whatever the
//! layout. Where a store also needs an ordered view it keeps one beside it (usually a B-tree of
//! the few entries it walks). Positions are mixed with a seed: a per-node secret where the keys
//! come from peers, so that a sender cannot grind keys into one probe chain.

// The one place core holds a hashbrown map (clippy.toml bans it elsewhere): wrapped, so that it
// is never iterated.
#![allow(clippy::disallowed_types)]

use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, Hash};

use foldhash::fast::FixedState;

/// Keys to values, for lookups only (see the module documentation).
#[derive(Clone)]
pub struct Lookup<K, V> {
    map: hashbrown::HashMap<K, V, FixedState>,
}

impl<K, V> Lookup<K, V> {
    /// An empty map whose table positions are mixed with `seed`.
    pub fn new(seed: u64) -> Self {
        Lookup { map: hashbrown::HashMap::with_hasher(FixedState::with_seed(seed)) }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Drops every entry.
    pub fn clear(&mut self) {
        self.map.clear();
    }
}

impl<K: Hash + Eq, V> Lookup<K, V> {
    /// The value under `key`.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get(key)
    }

    /// The value under `key`, to change.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get_mut(key)
    }

    /// Whether `key` has a value.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.contains_key(key)
    }

    /// Sets `key` to `value`; returns the value it replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.map.insert(key, value)
    }

    /// Takes the value under `key`.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.remove(key)
    }

    /// The value under `key`, inserting `make()` first if there is none.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        self.map.entry(key).or_insert_with(make)
    }

    /// Keeps the entries `keep` accepts. `keep` sees them in no defined order, so it must decide
    /// each from that entry alone (it is `Fn`, which rules out the plain ways of recording the
    /// visiting order).
    pub fn retain(&mut self, keep: impl Fn(&K, &V) -> bool) {
        self.map.retain(|k, v| keep(k, v));
    }
}

/// `map[&key]`: the value under `key`; panics if there is none.
impl<K: Hash + Eq + Borrow<Q>, Q: Hash + Eq + ?Sized, V> std::ops::Index<&Q> for Lookup<K, V> {
    type Output = V;

    fn index(&self, key: &Q) -> &V {
        self.get(key).expect("no value under the key")
    }
}

/// Equal when they hold the same entries (the seeds may differ).
impl<K: Hash + Eq, V: PartialEq> PartialEq for Lookup<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.map.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl<K: Hash + Eq, V: Eq> Eq for Lookup<K, V> {}

/// Only the size: the entries have no order to show them in.
impl<K, V> fmt::Debug for Lookup<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lookup").field("len", &self.len()).finish_non_exhaustive()
    }
}

/// Positions in a list the caller keeps, found by a key the caller reads from the entry at each
/// position: a hash table of positions (`u32`s by default: five bytes a slot with its control
/// byte) where a [`Lookup`] would hold a copy of the key beside each value. For stores that
/// every node keeps an entry of per identity or ballot, whose keys (20- or 32-byte ids) are
/// already inside the entries.
///
/// The caller answers, for a position, whether its entry has the key asked for (`is`) and what
/// its key is (`key_of`, read again when the table grows): an entry must keep its key while its
/// position is filed. Like [`Lookup`], it offers no iteration.
#[derive(Clone)]
pub struct Positions<P = u32> {
    table: hashbrown::HashTable<P>,
    state: FixedState,
}

impl<P: Copy> Positions<P> {
    /// An empty table whose slots are mixed with `seed`.
    pub fn new(seed: u64) -> Self {
        Positions { table: hashbrown::HashTable::new(), state: FixedState::with_seed(seed) }
    }

    /// Positions filed.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether nothing is filed.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The filed position of `key`: the one whose entry `is` accepts.
    pub fn find<K: Hash + ?Sized>(&self, key: &K, is: impl Fn(P) -> bool) -> Option<P> {
        self.table.find(self.state.hash_one(key), |&p| is(p)).copied()
    }

    /// Files `position`, whose entry's key `key_of` reads (the caller has checked that the key
    /// is not filed yet).
    pub fn insert<K: Hash>(&mut self, position: P, key_of: impl Fn(P) -> K) {
        let state = &self.state;
        let hash = state.hash_one(key_of(position));
        self.table.insert_unique(hash, position, |&p| state.hash_one(key_of(p)));
    }

    /// Takes out the filed position of `key` (the one whose entry `is` accepts).
    pub fn remove<K: Hash + ?Sized>(&mut self, key: &K, is: impl Fn(P) -> bool) -> Option<P> {
        let hash = self.state.hash_one(key);
        self.table.find_entry(hash, |&p| is(p)).ok().map(|e| e.remove().0)
    }
}

/// Only the size, as [`Lookup`]'s.
impl<P: Copy> fmt::Debug for Positions<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Positions").field("len", &self.len()).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        // Any sequence of inserts and removals answers every lookup as a B-tree map does,
        // whatever the seed.
        #[test]
        fn answers_as_an_ordered_map(
            seed in any::<u64>(),
            ops in proptest::collection::vec((any::<bool>(), 0u16..64, any::<u32>()), 0..400),
        ) {
            let mut ours = Lookup::new(seed);
            let mut model = BTreeMap::new();
            for (insert, key, value) in ops {
                if insert {
                    prop_assert_eq!(ours.insert(key, value), model.insert(key, value));
                } else {
                    prop_assert_eq!(ours.remove(&key), model.remove(&key));
                }
                prop_assert_eq!(ours.len(), model.len());
            }
            for key in 0u16..64 {
                prop_assert_eq!(ours.get(&key), model.get(&key));
                prop_assert_eq!(ours.contains_key(&key), model.contains_key(&key));
            }
            ours.retain(|k, _| k % 3 != 0);
            model.retain(|k, _| k % 3 != 0);
            prop_assert_eq!(ours.len(), model.len());
            for key in 0u16..64 {
                prop_assert_eq!(ours.get(&key), model.get(&key));
            }
        }
    }

    proptest! {
        // Positions into a list of keys answer every lookup as a B-tree map from key to
        // position does, through growth and removals, whatever the seed.
        #[test]
        fn positions_answer_as_an_ordered_map(
            seed in any::<u64>(),
            ops in proptest::collection::vec((any::<bool>(), 0u16..200), 0..600),
        ) {
            let mut keys: Vec<u16> = Vec::new();
            let mut ours = Positions::new(seed);
            let mut model = BTreeMap::new();
            for (insert, key) in ops {
                let found = ours.find(&key, |p| keys[p as usize] == key);
                prop_assert_eq!(found, model.get(&key).copied());
                if insert && found.is_none() {
                    keys.push(key);
                    let at = (keys.len() - 1) as u32;
                    ours.insert(at, |p| keys[p as usize]);
                    model.insert(key, at);
                } else if !insert {
                    let taken = ours.remove(&key, |p| keys[p as usize] == key);
                    prop_assert_eq!(taken, model.remove(&key));
                }
                prop_assert_eq!(ours.len(), model.len());
            }
            for key in 0u16..200 {
                let found = ours.find(&key, |p| keys[p as usize] == key);
                prop_assert_eq!(found, model.get(&key).copied());
            }
        }
    }

    // Equality ignores the seed and the insertion order; the debug form shows only the size.
    #[test]
    fn equality_and_debug_do_not_depend_on_layout() {
        let mut a = Lookup::new(1);
        let mut b = Lookup::new(2);
        for k in 0..100u32 {
            a.insert(k, k * 2);
            b.insert(99 - k, (99 - k) * 2);
        }
        assert_eq!(a, b);
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        *b.get_or_insert_with(7, || 0) += 1;
        assert_ne!(a, b);
    }
}
