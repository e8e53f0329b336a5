//! Merkle arithmetic shared by the membership tree and the sequential work: the tree that
//! spacemeshos/merkle-tree builds incrementally, described level by level (proofs.md 2.3-2.5).
//!
//! Shape: a tree of `width` leaves has height `ceil(log2 width)`. At every height where a node
//! lacks a right sibling, the sibling is [`PADDING`] (32 zero bytes, the same value at every
//! height, not a hash of zero subtrees). Building the layers bottom-up with that padding gives the
//! same root as the reference's incremental builder, whose right edge is padded the same way.
//!
//! Multi-leaf proofs carry the siblings that cannot be derived from the proven leaves. Their
//! order is the reference's: the builder emits a sibling when it computes the parent, so the
//! order is the post-order of the parents (by the parent's last leaf, then bottom-up). The
//! reference verifier consumes them in the same order by a depth-first walk.

use thiserror::Error;

/// A tree node.
pub(crate) type Node = [u8; 32];

/// The padding node used wherever a right sibling is missing.
pub(crate) const PADDING: Node = [0; 32];

/// How two children become their parent.
pub(crate) trait NodeHash {
    /// The parent of `left` and `right`.
    fn parent(&self, left: &Node, right: &Node) -> Node;
}

/// Why a multi-leaf proof does not open.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TreeError {
    /// The proof has the wrong number of sibling nodes for its leaves and tree width.
    #[error("proof has {got} nodes, the proven leaves need exactly {expected}")]
    NodeCount {
        /// Nodes the proof must carry.
        expected: usize,
        /// Nodes it carries.
        got: usize,
    },
    /// A sibling that lies wholly outside the tree is not the zero padding node.
    #[error("padding node at height {height}, index {index} is not zero")]
    PaddingNotZero {
        /// Height of the node.
        height: u32,
        /// Index of the node within its layer.
        index: u64,
    },
    /// Leaf indices are not strictly increasing, do not match the leaves, or lie outside the tree.
    #[error("leaf indices are unsorted, duplicated, out of range or do not match the leaves")]
    BadIndices,
}

/// Height of the root of a tree with `width` leaves: `ceil(log2 width)`, 0 for one leaf.
pub(crate) fn root_height(width: u64) -> u32 {
    if width <= 1 { 0 } else { 64 - (width - 1).leading_zeros() }
}

/// The layer above `layer`, padding an odd last node with [`PADDING`].
pub(crate) fn parent_layer(layer: &[Node], hash: &impl NodeHash) -> Vec<Node> {
    layer.chunks(2).map(|pair| hash.parent(&pair[0], pair.get(1).unwrap_or(&PADDING))).collect()
}

/// All layers from `leaves` up to the one-node root layer: `root_height + 1` layers.
pub(crate) fn build_layers(leaves: Vec<Node>, hash: &impl NodeHash) -> Vec<Vec<Node>> {
    let height = root_height(leaves.len() as u64);
    let mut layers = Vec::with_capacity(height as usize + 1);
    layers.push(leaves);
    for _ in 0..height {
        let next = parent_layer(layers.last().expect("at least the leaf layer"), hash);
        layers.push(next);
    }
    layers
}

/// Whether node `index` at `height` lies wholly to the right of a tree with `width` leaves.
pub(crate) fn is_padding(height: u32, index: u64, width: u64) -> bool {
    (u128::from(index) << height) >= u128::from(width)
}

/// Positions `(height, index)` of the sibling nodes a proof of the sorted, distinct leaf
/// `indices` carries in a tree of root height `height`, in the reference's order.
pub(crate) fn proof_positions(indices: &[u64], height: u32) -> Vec<(u32, u64)> {
    // (last leaf of the parent, height, sibling index): sorting by the first two is post-order.
    let mut out: Vec<(u128, u32, u64)> = Vec::new();
    let mut path: Vec<u64> = indices.to_vec();
    for h in 0..height {
        for (k, &p) in path.iter().enumerate() {
            let sibling = p ^ 1;
            let derivable = if p & 1 == 0 {
                path.get(k + 1) == Some(&sibling)
            } else {
                k > 0 && path[k - 1] == sibling
            };
            if !derivable {
                let parent_last_leaf = ((u128::from(p >> 1) + 1) << (h + 1)) - 1;
                out.push((parent_last_leaf, h, sibling));
            }
        }
        path = path.iter().map(|p| p >> 1).collect();
        path.dedup();
    }
    out.sort_unstable();
    out.into_iter().map(|(_, h, index)| (h, index)).collect()
}

/// A proof opened: its root, and for each proven leaf its left siblings bottom-up (the nodes
/// that were parked when the leaf was appended).
#[derive(Debug)]
pub(crate) struct Opened {
    /// The recomputed root.
    pub(crate) root: Node,
    /// Per proven leaf, its left siblings from the bottom up (empty unless asked for).
    pub(crate) left_siblings: Vec<Vec<Node>>,
}

/// Recomputes the root of a tree with `width` leaves from proven `leaves` at sorted, distinct
/// `indices` and the sibling `nodes` in the reference's order. Requires exactly the nodes the
/// leaves need (the reference stops when nodes run out; honest proofs always have them all) and
/// zero padding outside the tree.
pub(crate) fn open(
    indices: &[u64],
    leaves: &[Node],
    nodes: &[Node],
    width: u64,
    hash: &impl NodeHash,
    want_siblings: bool,
) -> Result<Opened, TreeError> {
    let sorted = indices.windows(2).all(|w| w[0] < w[1]);
    let in_range = indices.last().is_some_and(|&last| last < width);
    if indices.len() != leaves.len() || !sorted || !in_range {
        return Err(TreeError::BadIndices);
    }
    let height = root_height(width);
    let positions = proof_positions(indices, height);
    if positions.len() != nodes.len() {
        return Err(TreeError::NodeCount { expected: positions.len(), got: nodes.len() });
    }
    // Given siblings per height; post-order lists each height's nodes left to right.
    let mut given: Vec<Vec<(u64, Node)>> = vec![Vec::new(); height as usize];
    for (&(h, index), node) in positions.iter().zip(nodes) {
        if is_padding(h, index, width) && *node != PADDING {
            return Err(TreeError::PaddingNotZero { height: h, index });
        }
        given[h as usize].push((index, *node));
    }
    let mut levels: Vec<Vec<(u64, Node)>> = Vec::with_capacity(height as usize + 1);
    levels.push(indices.iter().copied().zip(leaves.iter().copied()).collect());
    for h in 0..height as usize {
        let cur = &levels[h];
        let lookup = |index: u64| find(&given[h], index).expect("positions cover every sibling");
        let mut next = Vec::with_capacity(cur.len());
        let mut k = 0;
        while k < cur.len() {
            let (p, v) = cur[k];
            let (left, right) = if p & 1 == 1 {
                (lookup(p - 1), v)
            } else if cur.get(k + 1).is_some_and(|n| n.0 == p + 1) {
                k += 1;
                (v, cur[k].1)
            } else {
                (v, lookup(p + 1))
            };
            next.push((p >> 1, hash.parent(&left, &right)));
            k += 1;
        }
        levels.push(next);
    }
    let root = levels[height as usize][0].1;
    let mut left_siblings = Vec::new();
    if want_siblings {
        for &i in indices {
            let siblings = (0..height as usize)
                .filter(|&h| (i >> h) & 1 == 1)
                .map(|h| {
                    let index = (i >> h) - 1;
                    find(&levels[h], index)
                        .or_else(|| find(&given[h], index))
                        .expect("a left sibling is on a path or in the proof")
                })
                .collect();
            left_siblings.push(siblings);
        }
    }
    Ok(Opened { root, left_siblings })
}

fn find(sorted: &[(u64, Node)], index: u64) -> Option<Node> {
    sorted.binary_search_by_key(&index, |e| e.0).ok().map(|k| sorted[k].1)
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    /// merkle-tree's default test hash: SHA-256(left || right), no prefix.
    struct PlainSha256;
    impl NodeHash for PlainSha256 {
        fn parent(&self, left: &Node, right: &Node) -> Node {
            Sha256::new().chain_update(left).chain_update(right).finalize().into()
        }
    }

    /// merkle-tree's test leaves: the index as a little-endian u64 in 32 bytes.
    fn leaf(i: u64) -> Node {
        let mut n = [0; 32];
        n[..8].copy_from_slice(&i.to_le_bytes());
        n
    }

    fn root_of(width: u64) -> String {
        let layers = build_layers((0..width).map(leaf).collect(), &PlainSha256);
        hex(&layers.last().unwrap()[0])
    }

    fn hex(n: &[u8]) -> String {
        n.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Our level-wise padding reproduces the roots published in merkle-tree's tests.
    #[test]
    fn reference_roots() {
        assert_eq!(root_of(8), "89a0f1577268cc19b0a39c7a69f804fd140640c699585eb635ebb03c06154cce");
        assert_eq!(root_of(9), "cb71c80ee780788eedb819ec125a41e0cde57bd0955cdd3157ca363193ab5ff1");
        assert_eq!(root_of(10), "59f32a43534fe4c4c0966421aef624267cdf65bd11f74998c60f27c7caccb12d");
        assert_eq!(root_of(15), "b9746fb884ed07041c5cbb3bb5526e1383928e832a8385e08db995966889b5a8");
    }

    /// The proof of leaves {0, 4, 7} in a 10-leaf tree lists the reference's nodes in its order.
    #[test]
    fn reference_proof_order() {
        let layers = build_layers((0..10).map(leaf).collect(), &PlainSha256);
        let positions = proof_positions(&[0, 4, 7], root_height(10));
        assert_eq!(positions, vec![(0, 1), (1, 1), (0, 5), (0, 6), (3, 1)]);
        let nodes: Vec<String> =
            positions.iter().map(|&(h, j)| hex(&layers[h as usize][j as usize])).collect();
        assert_eq!(nodes[0], hex(&leaf(1)));
        assert!(nodes[1].starts_with("0094579cfc7b716038d416a311465309"));
        assert_eq!(nodes[2], hex(&leaf(5)));
        assert_eq!(nodes[3], hex(&leaf(6)));
        assert_eq!(nodes[4], "bc68417a8495de6e22d95b980fca5a1183f29eff0e2a9b7ddde91ed5bcbea952");
    }

    /// Opening a proof built from the layers gives the root and the parked left siblings.
    #[test]
    fn open_round_trip_with_siblings() {
        for width in 1..=40u64 {
            let layers = build_layers((0..width).map(leaf).collect(), &PlainSha256);
            let root = layers.last().unwrap()[0];
            let indices: Vec<u64> = (0..width).filter(|i| i % 3 == 0 || i + 1 == width).collect();
            let height = root_height(width);
            let value =
                |h: u32, j: u64| layers[h as usize].get(j as usize).copied().unwrap_or(PADDING);
            let nodes: Vec<Node> =
                proof_positions(&indices, height).iter().map(|&(h, j)| value(h, j)).collect();
            let leaves: Vec<Node> = indices.iter().map(|&i| leaf(i)).collect();
            let opened = open(&indices, &leaves, &nodes, width, &PlainSha256, true).unwrap();
            assert_eq!(opened.root, root, "width {width}");
            for (k, &i) in indices.iter().enumerate() {
                let expected: Vec<Node> = (0..height)
                    .filter(|h| (i >> h) & 1 == 1)
                    .map(|h| value(h, (i >> h) - 1))
                    .collect();
                assert_eq!(opened.left_siblings[k], expected, "width {width} leaf {i}");
            }
        }
    }

    /// Wrong node counts, non-zero padding and bad indices are typed errors.
    #[test]
    fn open_rejects_malformed() {
        let layers = build_layers((0..5).map(leaf).collect(), &PlainSha256);
        let positions = proof_positions(&[4], 3);
        assert_eq!(positions, vec![(0, 5), (1, 3), (2, 0)]);
        let mut nodes = vec![PADDING, PADDING, layers[2][0]];
        let leaves = [leaf(4)];
        assert_eq!(open(&[4], &leaves, &nodes, 5, &PlainSha256, false).unwrap().root, layers[3][0]);
        assert!(matches!(
            open(&[4], &leaves, &nodes[..2], 5, &PlainSha256, false),
            Err(TreeError::NodeCount { expected: 3, got: 2 })
        ));
        nodes[0][0] = 1;
        assert_eq!(
            open(&[4], &leaves, &nodes, 5, &PlainSha256, false).unwrap_err(),
            TreeError::PaddingNotZero { height: 0, index: 5 }
        );
        assert_eq!(
            open(&[5], &leaves, &nodes, 5, &PlainSha256, false).unwrap_err(),
            TreeError::BadIndices
        );
        assert_eq!(
            open(&[1, 1], &[leaf(1), leaf(1)], &[], 5, &PlainSha256, false).unwrap_err(),
            TreeError::BadIndices
        );
    }

    /// Root heights are ceil(log2 width).
    #[test]
    fn heights() {
        let got: Vec<u32> =
            [1u64, 2, 3, 4, 5, 8, 9, 1 << 40, (1 << 40) + 1].map(root_height).to_vec();
        assert_eq!(got, vec![0, 1, 2, 2, 3, 3, 4, 40, 41]);
    }
}
