//! The values nodes stored on one shared frame (the seen marks of a publish print), by node.

/// A nonzero `u64` per node index, 0 for none.
///
/// A frame allocation is printed again when it is sent after every earlier copy was handled
/// (the driver's print table then let it go), so a print may collect marks from a few nodes or
/// from nearly all of them. An array
/// indexed by node (8 bytes times the node count on every print) cost a gigabyte at 1,000 nodes;
/// this keeps a sorted list of `(node, value)` while few nodes stored one, and turns into the
/// indexed array once a quarter of them did, so a print costs at most what the array did.
#[derive(Debug, Default)]
pub(crate) enum NodeMarks {
    #[default]
    Empty,
    /// Ascending by node.
    Few(Vec<(u32, u64)>),
    /// Indexed by node.
    Many(Vec<u64>),
}

impl NodeMarks {
    /// The value `node` stored, 0 if none.
    pub(crate) fn get(&self, node: u32) -> u64 {
        match self {
            NodeMarks::Empty => 0,
            NodeMarks::Few(list) => {
                list.binary_search_by_key(&node, |(n, _)| *n).map_or(0, |i| list[i].1)
            }
            NodeMarks::Many(all) => all.get(node as usize).copied().unwrap_or(0),
        }
    }

    /// Stores `value` (nonzero) for `node`, one of `nodes`.
    pub(crate) fn set(&mut self, node: u32, value: u64, nodes: usize) {
        debug_assert!(value != 0 && (node as usize) < nodes, "a mark of no node");
        match self {
            NodeMarks::Empty => *self = NodeMarks::Few(vec![(node, value)]),
            NodeMarks::Few(list) => {
                match list.binary_search_by_key(&node, |(n, _)| *n) {
                    Ok(i) => list[i].1 = value,
                    Err(i) => list.insert(i, (node, value)),
                }
                // A pair takes twice an array cell: past a quarter of the nodes, the array.
                if list.len() * 4 > nodes {
                    let mut all = vec![0; nodes];
                    for (n, v) in list.iter() {
                        all[*n as usize] = *v;
                    }
                    *self = NodeMarks::Many(all);
                }
            }
            NodeMarks::Many(all) => {
                if all.len() < nodes {
                    all.resize(nodes, 0);
                }
                all[node as usize] = value;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Every node reads back what it stored last, and 0 where it stored nothing, through
        /// the change from the list to the array.
        #[test]
        fn reads_back_the_last_value(
            nodes in 1usize..64,
            sets in proptest::collection::vec((0u32..64, 1u64..u64::MAX), 0..100),
        ) {
            let mut marks = NodeMarks::default();
            let mut model = BTreeMap::new();
            for (node, value) in sets {
                let node = node % nodes as u32;
                marks.set(node, value, nodes);
                model.insert(node, value);
                for n in 0..nodes as u32 {
                    prop_assert_eq!(marks.get(n), model.get(&n).copied().unwrap_or(0));
                }
            }
            prop_assert_eq!(marks.get(nodes as u32 + 5), 0);
        }
    }
}
