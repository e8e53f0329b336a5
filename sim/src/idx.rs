//! Node indices.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The index of a simulated node: `0..nodes` of the [`Sim`](crate::engine::Sim).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct NodeIdx(pub u32);

impl NodeIdx {
    /// Stands for "no particular node" in trace records of engine-wide events (a partition, a
    /// link change). It is never a valid node: `Sim::new` rejects `u32::MAX` nodes.
    pub const NONE: NodeIdx = NodeIdx(u32::MAX);

    /// The index as a `usize`, for indexing per-node vectors.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NodeIdx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == NodeIdx::NONE { f.write_str("node -") } else { write!(f, "node {}", self.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Display names real nodes by number and marks the engine-wide placeholder.
    #[test]
    fn display() {
        assert_eq!(NodeIdx(7).to_string(), "node 7");
        assert_eq!(NodeIdx::NONE.to_string(), "node -");
        assert_eq!(NodeIdx(3).index(), 3);
    }
}
