//! Who can talk to whom: symmetric partitions and one-way blocks.
//!
//! Two labels per node keep the check cheap whatever the shape of the split:
//!
//! - `group`: a symmetric partition. Nodes with different groups cannot talk at all. A new
//!   partition replaces the previous one (it describes the whole split), and costs O(nodes).
//! - `side` plus a set of blocked `(side, side)` pairs: one-way blocks. Each block *refines* the
//!   sides (a node's new side is its old side together with its membership in the new block's
//!   two groups), so blocks compose with each other and with the partition.
//!
//! The check is two array reads, and a `BTreeSet` lookup only when some block is active.

use std::collections::{BTreeMap, BTreeSet};

use crate::idx::NodeIdx;

/// The reachability state of the network.
#[derive(Debug, Clone)]
pub(crate) struct Partitions {
    group: Vec<u32>,
    side: Vec<u32>,
    blocked: BTreeSet<(u32, u32)>,
    /// Whether any partition or block is in force: when not, the check reads nothing else.
    active: bool,
}

/// Membership bits of a node in a block's two groups.
const IN_FROM: u32 = 1;
const IN_TO: u32 = 2;

impl Partitions {
    /// A fully connected network of `nodes`.
    pub(crate) fn new(nodes: usize) -> Self {
        Partitions {
            group: vec![0; nodes],
            side: vec![0; nodes],
            blocked: BTreeSet::new(),
            active: false,
        }
    }

    /// Whether a message from `from` may reach `to`. A node can always reach itself.
    pub(crate) fn allows(&self, from: NodeIdx, to: NodeIdx) -> bool {
        if !self.active {
            return true;
        }
        let (f, t) = (from.index(), to.index());
        if self.group[f] != self.group[t] {
            return false;
        }
        self.blocked.is_empty()
            || self.side[f] == self.side[t]
            || !self.blocked.contains(&(self.side[f], self.side[t]))
    }

    /// Splits the nodes into `groups` that cannot reach each other; nodes not listed form one
    /// more group. A node listed twice belongs to the first group listing it. Replaces any
    /// earlier partition; one-way blocks stay.
    pub(crate) fn partition(&mut self, groups: &[Vec<NodeIdx>]) {
        self.group.fill(0);
        for (g, members) in groups.iter().enumerate().rev() {
            for n in members {
                self.group[n.index()] = g as u32 + 1;
            }
        }
        self.update_active();
    }

    /// From now on messages from any node of `from` to any node of `to` are dropped; the other
    /// direction is untouched. Adds to earlier blocks and to the partition.
    pub(crate) fn block(&mut self, from: &[NodeIdx], to: &[NodeIdx]) {
        let mut class = vec![0u32; self.side.len()];
        for n in from {
            class[n.index()] |= IN_FROM;
        }
        for n in to {
            class[n.index()] |= IN_TO;
        }
        // Intern (old side, class) pairs as the new sides, in node order (deterministic).
        let mut interned: BTreeMap<(u32, u32), u32> = BTreeMap::new();
        for (side, c) in self.side.iter_mut().zip(&class) {
            let next = interned.len() as u32;
            *side = *interned.entry((*side, *c)).or_insert(next);
        }
        let mut blocked = BTreeSet::new();
        for (&(old_a, class_a), &a) in &interned {
            for (&(old_b, class_b), &b) in &interned {
                let was = old_a != old_b && self.blocked.contains(&(old_a, old_b));
                let now = class_a & IN_FROM != 0 && class_b & IN_TO != 0;
                if a != b && (was || now) {
                    blocked.insert((a, b));
                }
            }
        }
        self.blocked = blocked;
        self.update_active();
    }

    /// Everyone can reach everyone again.
    pub(crate) fn heal(&mut self) {
        self.group.fill(0);
        self.side.fill(0);
        self.blocked.clear();
        self.active = false;
    }

    fn update_active(&mut self) {
        self.active = !self.blocked.is_empty() || self.group.iter().any(|g| *g != 0);
    }

    /// Whether any partition or block is active.
    pub(crate) fn is_split(&self) -> bool {
        self.active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(i: u32) -> NodeIdx {
        NodeIdx(i)
    }

    // A symmetric partition separates groups both ways; unlisted nodes form their own group.
    #[test]
    fn symmetric_partition() {
        let mut p = Partitions::new(5);
        p.partition(&[vec![n(0), n(1)], vec![n(2)]]);
        assert!(p.allows(n(0), n(1)) && p.allows(n(1), n(0)));
        assert!(p.allows(n(3), n(4)), "unlisted nodes talk among themselves");
        for (a, b) in [(0, 2), (2, 0), (0, 3), (4, 1), (2, 4)] {
            assert!(!p.allows(n(a), n(b)), "{a} -> {b} crosses the partition");
        }
        assert!(p.is_split());
        p.heal();
        assert!(p.allows(n(0), n(2)) && !p.is_split());
    }

    // A block drops one direction only and leaves unrelated pairs alone.
    #[test]
    fn one_way_block() {
        let mut p = Partitions::new(4);
        p.block(&[n(0), n(1)], &[n(2)]);
        assert!(!p.allows(n(0), n(2)) && !p.allows(n(1), n(2)));
        assert!(p.allows(n(2), n(0)) && p.allows(n(2), n(1)));
        assert!(p.allows(n(0), n(1)) && p.allows(n(0), n(3)) && p.allows(n(3), n(2)));
    }

    // Blocks compose with each other and with a partition; a new partition keeps the blocks.
    #[test]
    fn blocks_compose() {
        let mut p = Partitions::new(4);
        p.block(&[n(0)], &[n(1)]);
        p.block(&[n(1)], &[n(2)]);
        assert!(!p.allows(n(0), n(1)) && !p.allows(n(1), n(2)));
        assert!(p.allows(n(1), n(0)) && p.allows(n(2), n(1)) && p.allows(n(0), n(2)));
        p.partition(&[vec![n(3)]]);
        assert!(!p.allows(n(0), n(3)) && !p.allows(n(3), n(2)));
        assert!(!p.allows(n(0), n(1)), "the partition kept the earlier block");
        assert!(p.allows(n(2), n(0)));
        p.partition(&[]);
        assert!(p.allows(n(0), n(3)), "an empty partition lifts the previous split");
    }

    // A node in both groups of a block can still reach itself.
    #[test]
    fn self_is_always_reachable() {
        let mut p = Partitions::new(2);
        p.block(&[n(0)], &[n(0), n(1)]);
        assert!(p.allows(n(0), n(0)));
        assert!(!p.allows(n(0), n(1)));
    }
}
