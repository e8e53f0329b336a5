//! The values nodes stored on one shared frame (the seen marks of a publish print), by node.

/// A nonzero `u64` per node index, 0 for none.
///
/// A frame allocation is printed again when it is sent after every earlier copy was handled
/// (the driver's print table then let it go), so a print may collect marks from a few nodes or
/// from nearly all of them. An array indexed by node (8 bytes times the node count on every
/// print) cost a gigabyte at 1,000 nodes; this keeps a sorted list of `(node, value)` while few
/// nodes stored one, and turns into the indexed array once a quarter of them did, so a print
/// costs at most what the array did.
///
/// Beside them, one bit per node says whether it stored a value at all. Most reads are for a
/// node that did not (a sender asks about each receiver, most of which have not handled the
/// message yet): the bits of a print are a few cache lines that every sender of it shares
/// (128 bytes at 1,000 nodes), where the list's search or the array's cell was a miss of its own.
#[derive(Debug, Default)]
pub(crate) struct NodeMarks {
    /// Bit `node % 64` of word `node / 64` is set when `node` stored a value; empty until the
    /// first one.
    held: Vec<u64>,
    values: Values,
}

/// The stored values, by node.
#[derive(Debug)]
enum Values {
    /// Ascending by node.
    Few(Vec<(u32, u64)>),
    /// Indexed by node.
    Many(Vec<u64>),
}

impl Default for Values {
    fn default() -> Self {
        Values::Few(Vec::new())
    }
}

impl NodeMarks {
    /// The value `node` stored, 0 if none.
    pub(crate) fn get(&self, node: u32) -> u64 {
        let held = self.held.get((node / 64) as usize).is_some_and(|w| w >> (node % 64) & 1 != 0);
        if !held {
            return 0;
        }
        match &self.values {
            Values::Few(list) => {
                list.binary_search_by_key(&node, |(n, _)| *n).map_or(0, |i| list[i].1)
            }
            Values::Many(all) => all.get(node as usize).copied().unwrap_or(0),
        }
    }

    /// Stores `value` (nonzero) for `node`, one of `nodes`.
    pub(crate) fn set(&mut self, node: u32, value: u64, nodes: usize) {
        debug_assert!(value != 0 && (node as usize) < nodes, "a mark of no node");
        let words = nodes.div_ceil(64).max((node / 64) as usize + 1);
        if self.held.len() < words {
            self.held.resize(words, 0);
        }
        self.held[(node / 64) as usize] |= 1 << (node % 64);
        match &mut self.values {
            Values::Few(list) => {
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
                    self.values = Values::Many(all);
                }
            }
            Values::Many(all) => {
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
