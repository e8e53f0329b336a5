//! A node's open connections in the simulated network.

use spacemesh_core::sorted_map::SortedMap;
use spacemesh_sim::NodeIdx;

/// The nodes one node holds a connection to, in ascending order.
///
/// A sorted vector ([`SortedMap`]) rather than a `BTreeSet`: a node keeps a dozen or so
/// connections (a PoET server some hundreds), and the driver asks whether a link exists for
/// every frame it carries. Iteration is ascending, as the set's was, so traces do not change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Links(SortedMap<NodeIdx, ()>);

impl Links {
    /// Whether `n` is linked.
    pub fn contains(&self, n: &NodeIdx) -> bool {
        self.0.contains_key(n)
    }

    /// Adds `n`; false if it was linked already.
    pub fn insert(&mut self, n: NodeIdx) -> bool {
        self.0.insert(n, ()).is_none()
    }

    /// Removes `n`; false if it was not linked.
    pub fn remove(&mut self, n: &NodeIdx) -> bool {
        self.0.remove(n).is_some()
    }

    /// The linked nodes, ascending.
    pub fn iter(&self) -> impl Iterator<Item = &NodeIdx> + '_ {
        self.0.keys()
    }

    /// How many nodes are linked.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no node is linked.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The linked nodes, ascending, taking the links apart.
    pub fn into_nodes(self) -> impl Iterator<Item = NodeIdx> {
        self.0.into_keys()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::*;

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u32),
        Remove(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        // A small id range, so that inserts meet existing links and removes find them.
        prop_oneof![(0u32..40).prop_map(Op::Insert), (0u32..40).prop_map(Op::Remove)]
    }

    proptest! {
        /// Every answer, and the order of iteration, is the `BTreeSet`'s it replaces.
        #[test]
        fn behaves_as_an_ordered_set(ops in proptest::collection::vec(op(), 0..200)) {
            let mut links = Links::default();
            let mut model = BTreeSet::new();
            for op in ops {
                match op {
                    Op::Insert(n) => {
                        prop_assert_eq!(links.insert(NodeIdx(n)), model.insert(NodeIdx(n)))
                    }
                    Op::Remove(n) => {
                        prop_assert_eq!(links.remove(&NodeIdx(n)), model.remove(&NodeIdx(n)))
                    }
                }
                for n in 0..40 {
                    prop_assert_eq!(links.contains(&NodeIdx(n)), model.contains(&NodeIdx(n)));
                }
                prop_assert_eq!(links.len(), model.len());
                prop_assert!(links.iter().eq(model.iter()));
            }
            prop_assert!(links.into_nodes().eq(model));
        }
    }
}
