//! A map kept as a sorted vector, for the few entries a node looks up per frame.
//!
//! A node holds a few connections (`peers_max`, 16 by default) and looks one up for every frame
//! it receives (gossip's per-peer budget, p2p's connection record, the simulator's links). A
//! `BTreeMap` search is a chain of dependent loads through tree nodes; a binary search over one
//! contiguous array of `(K, V)` touches a cache line or two. Iteration is in key order, as the
//! map's was, so behaviour does not change. Inserts and removals shift the entries after them:
//! this is for maps of tens or hundreds of entries, not thousands.

/// Keys to values, in key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortedMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> Self {
        SortedMap { entries: Vec::new() }
    }
}

impl<K: Ord, V> SortedMap<K, V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    fn position(&self, key: &K) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.cmp(key))
    }

    /// The value of `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.position(key).ok().map(|i| &self.entries[i].1)
    }

    /// The value of `key`, to change.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.position(key).ok().map(|i| &mut self.entries[i].1)
    }

    /// Whether `key` has a value.
    pub fn contains_key(&self, key: &K) -> bool {
        self.position(key).is_ok()
    }

    /// Sets `key`'s value; the one it replaces, if any.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.position(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    /// `key`'s value, set to `make()` first if it has none.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.position(&key) {
            Ok(i) => i,
            Err(i) => {
                self.entries.insert(i, (key, make()));
                i
            }
        };
        &mut self.entries[i].1
    }

    /// Takes `key`'s value out.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.position(key).ok().map(|i| self.entries.remove(i).1)
    }
}

impl<K, V> SortedMap<K, V> {
    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &K> + '_ {
        self.entries.iter().map(|(k, _)| k)
    }

    /// The keys, in order, taking the map apart.
    pub fn into_keys(self) -> impl Iterator<Item = K> {
        self.entries.into_iter().map(|(k, _)| k)
    }

    /// The values, in key order, to change.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// Keys and values, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// How many keys have a value.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no key has a value.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::types::PeerId;

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u8, u32),
        Bump(u8),
        Remove(u8),
    }

    fn peer(n: u8) -> PeerId {
        // Ids that differ in the last byte too, so that order is decided past the first byte.
        let mut id = [n / 4; 32];
        id[31] = n;
        PeerId(id)
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..24, any::<u32>()).prop_map(|(p, v)| Op::Insert(p, v)),
            (0u8..24).prop_map(Op::Bump),
            (0u8..24).prop_map(Op::Remove),
        ]
    }

    proptest! {
        /// Every answer, and the order of iteration, is the `BTreeMap`'s it replaces.
        #[test]
        fn behaves_as_an_ordered_map(ops in proptest::collection::vec(op(), 0..200)) {
            let mut map = SortedMap::new();
            let mut model = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Insert(p, v) => {
                        prop_assert_eq!(map.insert(peer(p), v), model.insert(peer(p), v))
                    }
                    Op::Bump(p) => {
                        *map.get_or_insert_with(peer(p), || 7) += 1;
                        *model.entry(peer(p)).or_insert(7) += 1;
                    }
                    Op::Remove(p) => prop_assert_eq!(map.remove(&peer(p)), model.remove(&peer(p))),
                }
                for p in 0..24 {
                    prop_assert_eq!(map.get(&peer(p)), model.get(&peer(p)));
                    prop_assert_eq!(map.contains_key(&peer(p)), model.contains_key(&peer(p)));
                }
                prop_assert_eq!(map.len(), model.len());
                prop_assert!(map.iter().eq(model.iter()));
            }
            for v in map.values_mut() {
                *v = v.wrapping_mul(3);
            }
            for v in model.values_mut() {
                *v = v.wrapping_mul(3);
            }
            prop_assert!(map.keys().eq(model.keys()));
            prop_assert!(map.iter().eq(model.iter()));
        }
    }
}
