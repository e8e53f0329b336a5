//! The connected peers of one node, each with a value: a map kept as a sorted vector.
//!
//! A node holds a few connections (`peers_max`, 16 by default) and looks one up for every frame it receives
//! (gossip's per-peer budget, p2p's connection record). A `BTreeMap` search is a chain of
//! dependent loads through tree nodes; a binary search over one contiguous array of
//! `(PeerId, V)` touches a cache line or two. Iteration is in peer id order, as the map's was,
//! so behaviour does not change.

use crate::types::PeerId;

/// Peers to values, in peer id order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerMap<V> {
    entries: Vec<(PeerId, V)>,
}

impl<V> Default for PeerMap<V> {
    fn default() -> Self {
        PeerMap { entries: Vec::new() }
    }
}

impl<V> PeerMap<V> {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    fn position(&self, peer: &PeerId) -> Result<usize, usize> {
        self.entries.binary_search_by(|(p, _)| p.cmp(peer))
    }

    /// The value of `peer`.
    pub fn get(&self, peer: &PeerId) -> Option<&V> {
        self.position(peer).ok().map(|i| &self.entries[i].1)
    }

    /// The value of `peer`, to change.
    pub fn get_mut(&mut self, peer: &PeerId) -> Option<&mut V> {
        self.position(peer).ok().map(|i| &mut self.entries[i].1)
    }

    /// Whether `peer` has a value.
    pub fn contains_key(&self, peer: &PeerId) -> bool {
        self.position(peer).is_ok()
    }

    /// Sets `peer`'s value; the one it replaces, if any.
    pub fn insert(&mut self, peer: PeerId, value: V) -> Option<V> {
        match self.position(&peer) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (peer, value));
                None
            }
        }
    }

    /// `peer`'s value, set to `make()` first if it has none.
    pub fn get_or_insert_with(&mut self, peer: PeerId, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.position(&peer) {
            Ok(i) => i,
            Err(i) => {
                self.entries.insert(i, (peer, make()));
                i
            }
        };
        &mut self.entries[i].1
    }

    /// Takes `peer`'s value out.
    pub fn remove(&mut self, peer: &PeerId) -> Option<V> {
        self.position(peer).ok().map(|i| self.entries.remove(i).1)
    }

    /// The peers, in id order.
    pub fn keys(&self) -> impl Iterator<Item = &PeerId> + '_ {
        self.entries.iter().map(|(p, _)| p)
    }

    /// The values, in peer id order, to change.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// Peers and values, in peer id order.
    pub fn iter(&self) -> impl Iterator<Item = (&PeerId, &V)> + '_ {
        self.entries.iter().map(|(p, v)| (p, v))
    }

    /// How many peers have a value.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no peer has a value.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

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
            let mut map = PeerMap::new();
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
