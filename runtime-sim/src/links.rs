//! A node's open connections in the simulated network.

use spacemesh_sim::NodeIdx;

/// The nodes one node holds a connection to, in ascending order.
///
/// A sorted vector rather than a `BTreeSet`: a node keeps a dozen or so connections (a PoET
/// server or a bootstrap node some hundreds), and the driver asks whether a link exists for
/// every frame it carries, so a binary search over one contiguous array beats walking tree
/// nodes. Iteration is ascending, as the set's was, so traces do not change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Links(Vec<NodeIdx>);

impl Links {
    /// Whether `n` is linked.
    pub fn contains(&self, n: &NodeIdx) -> bool {
        self.0.binary_search(n).is_ok()
    }

    /// Adds `n`; false if it was linked already.
    pub fn insert(&mut self, n: NodeIdx) -> bool {
        match self.0.binary_search(&n) {
            Ok(_) => false,
            Err(at) => {
                self.0.insert(at, n);
                true
            }
        }
    }

    /// Removes `n`; false if it was not linked.
    pub fn remove(&mut self, n: &NodeIdx) -> bool {
        match self.0.binary_search(n) {
            Ok(at) => {
                self.0.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    /// The linked nodes, ascending.
    pub fn iter(&self) -> std::slice::Iter<'_, NodeIdx> {
        self.0.iter()
    }

    /// How many nodes are linked.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no node is linked.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl IntoIterator for Links {
    type Item = NodeIdx;
    type IntoIter = std::vec::IntoIter<NodeIdx>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
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
            prop_assert!(links.into_iter().eq(model));
        }
    }
}
