//! The membership tree of a PoET round (proofs.md 2.3): its leaves are the registered
//! challenges in the order the service lists its members (ascending node id), internal nodes are
//! `blake3(0x01 || left || right)`, and a missing right sibling at any height is 32 zero bytes.
//! The root is the round's statement, the input of the sequential work.

use crate::codec::{BoundedVec, Compact, Decode, DecodeError, Encode, Reader};
use crate::types::Hash32;

use super::tree::{self, Node, NodeHash, PADDING};

/// Most sibling nodes in a membership proof (go-spacemesh's `MerkleProofV1` limit).
pub const MEMBERSHIP_PROOF_NODES_MAX: usize = 32;

/// The membership tree's node hash: `blake3(0x01 || left || right)`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MembershipHash;

impl NodeHash for MembershipHash {
    fn parent(&self, left: &Node, right: &Node) -> Node {
        let mut h = blake3::Hasher::new();
        h.update(&[0x01]);
        h.update(left);
        h.update(right);
        *h.finalize().as_bytes()
    }
}

/// A membership tree with all its layers, so any member's proof is a lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipTree {
    layers: Vec<Vec<Node>>,
}

impl MembershipTree {
    /// Builds the tree over `leaves` in the given order.
    pub fn new(leaves: &[Hash32]) -> MembershipTree {
        let leaves = leaves.iter().map(|h| h.0).collect();
        MembershipTree { layers: tree::build_layers(leaves, &MembershipHash) }
    }

    /// The root (the round's statement); zero for an empty tree.
    pub fn root(&self) -> Hash32 {
        Hash32(self.layers.last().and_then(|l| l.first()).copied().unwrap_or(PADDING))
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.layers[0].len()
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.layers[0].is_empty()
    }

    /// The leaves in order.
    pub fn leaves(&self) -> impl ExactSizeIterator<Item = Hash32> + '_ {
        self.layers[0].iter().map(|n| Hash32(*n))
    }

    /// The proof of the leaf at `leaf_index`, or `None` when there is no such leaf.
    pub fn proof(&self, leaf_index: u64) -> Option<MembershipProof> {
        let index = usize::try_from(leaf_index).ok().filter(|&i| i < self.len())?;
        let nodes = self.layers[..self.layers.len() - 1]
            .iter()
            .enumerate()
            .map(|(h, layer)| Hash32(layer.get((index >> h) ^ 1).copied().unwrap_or(PADDING)))
            .collect();
        let nodes = BoundedVec::new(nodes).expect("a tree of at most 2^64 leaves has 64 levels");
        Some(MembershipProof { leaf_index, nodes })
    }
}

/// A proof that one challenge is a leaf of a membership tree: the sibling of each node on the
/// path from the leaf to the root, bottom-up. Encoded as go-spacemesh's `MerkleProofV1`: nodes
/// first, then the leaf index as a compact integer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipProof {
    /// Position of the leaf.
    pub leaf_index: u64,
    /// Siblings from the leaf's up to the root's children.
    pub nodes: BoundedVec<Hash32, MEMBERSHIP_PROOF_NODES_MAX>,
}

impl MembershipProof {
    /// Whether `leaf` at `leaf_index` hashes up to `root` through `nodes`. The index must fit
    /// the proof's height, so one proof names exactly one position.
    pub fn verify(&self, leaf: &Hash32, root: &Hash32) -> bool {
        let height = self.nodes.len() as u32;
        if height < 64 && self.leaf_index >> height != 0 {
            return false;
        }
        let computed = self.nodes.iter().enumerate().fold(leaf.0, |cur, (h, sibling)| {
            if (self.leaf_index >> h) & 1 == 1 {
                MembershipHash.parent(&sibling.0, &cur)
            } else {
                MembershipHash.parent(&cur, &sibling.0)
            }
        });
        computed == root.0
    }
}

impl Encode for MembershipProof {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.nodes.encode_to(out);
        Compact(self.leaf_index).encode_to(out);
    }
}

impl Decode for MembershipProof {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let nodes = Decode::decode(r)?;
        let Compact(leaf_index) = Decode::decode(r)?;
        Ok(MembershipProof { leaf_index, nodes })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::codec::decode_exact;

    fn leaves(n: usize) -> Vec<Hash32> {
        (0..n).map(|i| crate::crypto::hash(&(i as u64).to_le_bytes())).collect()
    }

    /// Every leaf of every tree of 1 to 40 leaves proves against the root.
    #[test]
    fn round_trips_all_sizes() {
        for n in 1..=40 {
            let l = leaves(n);
            let tree = MembershipTree::new(&l);
            assert_eq!(tree.len(), n);
            for (i, leaf) in l.iter().enumerate() {
                let proof = tree.proof(i as u64).unwrap();
                assert_eq!(proof.nodes.len() as u32, tree::root_height(n as u64));
                assert!(proof.verify(leaf, &tree.root()), "n {n} i {i}");
            }
            assert!(tree.proof(n as u64).is_none());
        }
    }

    /// A proof fails for another leaf, another index, a changed node or another root.
    #[test]
    fn tampering_rejected() {
        let l = leaves(13);
        let tree = MembershipTree::new(&l);
        let root = tree.root();
        let proof = tree.proof(6).unwrap();
        assert!(proof.verify(&l[6], &root));
        assert!(!proof.verify(&l[7], &root));
        assert!(!proof.verify(&l[6], &Hash32([9; 32])));
        let mut moved = proof.clone();
        moved.leaf_index = 7;
        assert!(!moved.verify(&l[6], &root));
        let mut aliased = proof.clone();
        aliased.leaf_index = 6 + 16;
        assert!(!aliased.verify(&l[6], &root), "an index beyond the proof height is refused");
        for k in 0..proof.nodes.len() {
            let mut nodes = proof.nodes.to_vec();
            nodes[k].0[0] ^= 1;
            let bad = MembershipProof { leaf_index: 6, nodes: BoundedVec::new(nodes).unwrap() };
            assert!(!bad.verify(&l[6], &root), "node {k}");
        }
    }

    /// Single-leaf and two-leaf trees: the root is the leaf, then blake3(0x01 || a || b); an
    /// unbalanced tree pads with zeros, not with hashes of zero subtrees.
    #[test]
    fn small_shapes() {
        let l = leaves(3);
        assert_eq!(MembershipTree::new(&l[..1]).root(), l[0]);
        let two = crate::crypto::hash_parts(&[&[1], &l[0].0, &l[1].0]);
        assert_eq!(MembershipTree::new(&l[..2]).root(), two);
        let right = crate::crypto::hash_parts(&[&[1], &l[2].0, &[0; 32]]);
        let three = crate::crypto::hash_parts(&[&[1], &two.0, &right.0]);
        assert_eq!(MembershipTree::new(&l).root(), three);
        assert_eq!(MembershipTree::new(&[]).root(), Hash32::default());
    }

    proptest! {
        /// Any leaf of any tree proves, survives encoding, and a flipped leaf bit fails.
        #[test]
        fn prove_verify_encode(n in 1usize..300, pick in any::<u64>(), bit in 0usize..256) {
            let l = leaves(n);
            let tree = MembershipTree::new(&l);
            let i = (pick % n as u64) as usize;
            let proof = tree.proof(i as u64).unwrap();
            prop_assert!(proof.verify(&l[i], &tree.root()));
            let decoded: MembershipProof = decode_exact(&proof.encode()).unwrap();
            prop_assert_eq!(&decoded, &proof);
            let mut other = l[i];
            other.0[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(!proof.verify(&other, &tree.root()));
        }
    }
}
