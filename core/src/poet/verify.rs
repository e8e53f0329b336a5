//! Verification of a PoET proof against its statement (proofs.md 2.6).
//!
//! 1. The proof opens exactly `t` leaves, and the tree has at least `t` leaves.
//! 2. The opened indices are recomputed by Fiat-Shamir from the root and the leaf count.
//! 3. The root is recomputed from the opened leaves and the proof nodes, which must be exactly
//!    the nodes those leaves need (zero where a sibling lies outside the tree).
//! 4. Every opened leaf's label is recomputed from the statement, its index and its left
//!    siblings, which step 3 yields.
//!
//! Cost: `t * nesting_depth` SHA-256 compressions plus a few per proof node (about 3.4 ms for
//! mainnet's 150 x 400 on one core).
//!
//! Two checks are stricter than the reference verifier, and only dishonest proofs fail them:
//! the proof must carry exactly the nodes of the tree height that `leaves` implies (the
//! reference climbs until the nodes run out), and siblings outside the tree must be zero.

use thiserror::Error;

use super::proof::{PROVEN_LEAVES_MAX, PoetProof};
use super::seqwork::{WorkHash, fiat_shamir, label};
use super::tree::{self, Node, TreeError};

/// Why a PoET proof is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PoetVerifyError {
    /// The verifier's own parameters are unusable (`t` zero or above 150, depth zero).
    #[error("bad verification parameters: t {t}, nesting depth {nesting_depth}")]
    BadParams {
        /// Leaves a proof must open.
        t: usize,
        /// Hashes per leaf.
        nesting_depth: u32,
    },
    /// The proof opens a different number of leaves than `t`.
    #[error("proof opens {got} leaves, must open exactly {t}")]
    LeafCount {
        /// Leaves a proof must open.
        t: usize,
        /// Leaves this proof opens.
        got: usize,
    },
    /// The tree has fewer leaves than a proof opens.
    #[error("tree of {leaves} leaves is smaller than the {t} a proof opens")]
    TooFewLeaves {
        /// Claimed leaf count.
        leaves: u64,
        /// Leaves a proof must open.
        t: usize,
    },
    /// Fiat-Shamir did not find `t` distinct indices.
    #[error("Fiat-Shamir found no {0} distinct leaves")]
    FiatShamir(usize),
    /// The Merkle proof does not open.
    #[error("merkle proof: {0}")]
    Tree(#[from] TreeError),
    /// The recomputed root differs from the proof's root.
    #[error("recomputed root differs from the proof's root")]
    RootMismatch,
    /// An opened leaf is not the label its position and left siblings give.
    #[error("leaf {index} is not its label")]
    LabelMismatch {
        /// The leaf's index in the tree.
        index: u64,
    },
}

/// Checks `proof` against `statement` (the round's membership root) for security parameter
/// `t` and `nesting_depth` hashes per leaf.
pub fn verify(
    proof: &PoetProof,
    statement: &[u8; 32],
    t: usize,
    nesting_depth: u32,
) -> Result<(), PoetVerifyError> {
    if t == 0 || t > PROVEN_LEAVES_MAX || nesting_depth == 0 {
        return Err(PoetVerifyError::BadParams { t, nesting_depth });
    }
    let merkle = &proof.merkle;
    if merkle.proven_leaves.len() != t {
        return Err(PoetVerifyError::LeafCount { t, got: merkle.proven_leaves.len() });
    }
    if proof.leaves < t as u64 {
        return Err(PoetVerifyError::TooFewLeaves { leaves: proof.leaves, t });
    }
    let indices =
        fiat_shamir(&merkle.root, proof.leaves, t).ok_or(PoetVerifyError::FiatShamir(t))?;
    let leaves: Vec<Node> = merkle.proven_leaves.iter().map(|h| h.0).collect();
    let nodes: Vec<Node> = merkle.proof_nodes.iter().map(|h| h.0).collect();
    let hash = WorkHash(*statement);
    let opened = tree::open(&indices, &leaves, &nodes, proof.leaves, &hash, true)?;
    if opened.root != merkle.root.0 {
        return Err(PoetVerifyError::RootMismatch);
    }
    for ((&index, leaf), siblings) in indices.iter().zip(&leaves).zip(&opened.left_siblings) {
        if label(statement, index, siblings, nesting_depth) != *leaf {
            return Err(PoetVerifyError::LabelMismatch { index });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::BoundedVec;
    use crate::poet::seqwork::SequentialWork;
    use crate::types::Hash32;

    const STATEMENT: [u8; 32] = [7; 32];

    fn proof(leaves: u64, t: usize, depth: u32) -> PoetProof {
        let mut work = SequentialWork::new(STATEMENT, depth);
        work.step(leaves);
        PoetProof { merkle: work.finish(t).unwrap(), leaves }
    }

    /// Honest proofs verify for many tree sizes, opened-leaf counts and depths.
    #[test]
    fn round_trips() {
        let sizes = [8u64, 9, 15, 16, 17, 31, 33, 100, 255, 256, 257, 1000, 1023, 3000];
        for (k, &leaves) in sizes.iter().enumerate() {
            let t = 8 + k % 9;
            let depth = 1 + (k % 4) as u32;
            let p = proof(leaves, t, depth);
            assert_eq!(p.merkle.proven_leaves.len(), t);
            assert_eq!(verify(&p, &STATEMENT, t, depth), Ok(()), "leaves {leaves} t {t}");
            assert!(verify(&p, &STATEMENT, t, depth + 1).is_err(), "depth is bound");
            assert!(verify(&p, &[8; 32], t, depth).is_err(), "statement is bound");
        }
    }

    /// t equal to the leaf count opens every leaf.
    #[test]
    fn t_equals_leaves() {
        for leaves in 1..=12u64 {
            let p = proof(leaves, leaves as usize, 2);
            assert_eq!(verify(&p, &STATEMENT, leaves as usize, 2), Ok(()));
            assert!(p.merkle.proof_nodes.iter().all(|n| n.0 == [0; 32]), "only padding");
        }
    }

    /// Changing the root, any leaf, any node or the leaf count breaks the proof.
    #[test]
    fn tampering_rejected() {
        let (t, depth) = (10, 3);
        let p = proof(500, t, depth);
        assert_eq!(verify(&p, &STATEMENT, t, depth), Ok(()));
        let mut bad = p.clone();
        bad.merkle.root.0[0] ^= 1;
        assert!(verify(&bad, &STATEMENT, t, depth).is_err());
        for k in 0..t {
            let mut leaves = p.merkle.proven_leaves.to_vec();
            leaves[k].0[5] ^= 0x10;
            let mut bad = p.clone();
            bad.merkle.proven_leaves = BoundedVec::new(leaves).unwrap();
            assert!(verify(&bad, &STATEMENT, t, depth).is_err(), "leaf {k}");
        }
        for k in 0..p.merkle.proof_nodes.len() {
            let mut nodes = p.merkle.proof_nodes.to_vec();
            nodes[k].0[31] ^= 1;
            let mut bad = p.clone();
            bad.merkle.proof_nodes = BoundedVec::new(nodes).unwrap();
            assert!(verify(&bad, &STATEMENT, t, depth).is_err(), "node {k}");
        }
        for leaves in [499, 501, 1000, 10] {
            let mut bad = p.clone();
            bad.leaves = leaves;
            assert!(verify(&bad, &STATEMENT, t, depth).is_err(), "leaves {leaves}");
        }
        let mut short = p.clone();
        short.merkle.proof_nodes = BoundedVec::new(p.merkle.proof_nodes[1..].to_vec()).unwrap();
        assert!(matches!(
            verify(&short, &STATEMENT, t, depth),
            Err(PoetVerifyError::Tree(TreeError::NodeCount { .. }))
        ));
    }

    /// A root whose leaves were not computed from their left siblings fails the label check
    /// even though the Merkle part is consistent.
    #[test]
    fn consistent_tree_of_wrong_labels_rejected() {
        let (t, depth, n) = (8, 2, 64u64);
        // Leaves that are valid labels of index only (no left siblings): a prover that skipped
        // the dependency on earlier leaves.
        let leaves: Vec<Node> =
            (0..n).map(|i| label(&STATEMENT, i, std::iter::empty(), depth)).collect();
        let hash = WorkHash(STATEMENT);
        let layers = tree::build_layers(leaves, &hash);
        let root = Hash32(layers.last().unwrap()[0]);
        let indices = fiat_shamir(&root, n, t).unwrap();
        let nodes: Vec<Hash32> = tree::proof_positions(&indices, tree::root_height(n))
            .iter()
            .map(|&(h, j)| Hash32(layers[h as usize][j as usize]))
            .collect();
        let leaves: Vec<Hash32> = indices.iter().map(|&i| Hash32(layers[0][i as usize])).collect();
        let forged = PoetProof {
            merkle: crate::poet::MerkleProof {
                root,
                proven_leaves: BoundedVec::new(leaves).unwrap(),
                proof_nodes: BoundedVec::new(nodes).unwrap(),
            },
            leaves: n,
        };
        let err = verify(&forged, &STATEMENT, t, depth).unwrap_err();
        assert!(matches!(err, PoetVerifyError::LabelMismatch { .. }), "{err}");
    }

    proptest::proptest! {
        /// Random proofs of any claimed size get a verdict, never a panic.
        #[test]
        fn garbage_gets_a_verdict(
            t in 1usize..12,
            leaves in proptest::prelude::any::<u64>(),
            nodes in 0usize..300,
            seed in proptest::prelude::any::<u8>(),
        ) {
            let h = |k: usize| Hash32([seed.wrapping_add(k as u8); 32]);
            let p = PoetProof {
                merkle: crate::poet::MerkleProof {
                    root: h(0),
                    proven_leaves: BoundedVec::new((0..t).map(h).collect()).unwrap(),
                    proof_nodes: BoundedVec::new((0..nodes).map(h).collect()).unwrap(),
                },
                leaves: leaves.max(t as u64),
            };
            proptest::prop_assert!(verify(&p, &STATEMENT, t, 1).is_err());
        }
    }

    /// Too few opened leaves, a tree smaller than t and bad parameters are typed errors.
    #[test]
    fn counts_and_params() {
        let p = proof(50, 12, 1);
        assert_eq!(
            verify(&p, &STATEMENT, 13, 1),
            Err(PoetVerifyError::LeafCount { t: 13, got: 12 })
        );
        let mut small = p.clone();
        small.leaves = 11;
        assert_eq!(
            verify(&small, &STATEMENT, 12, 1),
            Err(PoetVerifyError::TooFewLeaves { leaves: 11, t: 12 })
        );
        assert!(matches!(verify(&p, &STATEMENT, 0, 1), Err(PoetVerifyError::BadParams { .. })));
        assert!(matches!(verify(&p, &STATEMENT, 12, 0), Err(PoetVerifyError::BadParams { .. })));
    }
}
