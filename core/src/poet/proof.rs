//! The PoET proof as go-spacemesh carries it (`types.PoetProof`: poet's `shared.MerkleProof`
//! followed by the leaf count) and its reference, the PoST challenge of the ATX that uses it.
//!
//! Wire format (bit-exact with go-spacemesh, proofs.md 2.5 and 2.7): the root, each proven leaf
//! and each proof node is a length-prefixed byte string (compact length, always 32 here); the two
//! lists have compact lengths capped at 150 and 5,400; the leaf count is a compact integer.
//! Go's decoder accepts shorter byte strings; ours requires exactly 32 bytes, which every
//! honest proof has.

use crate::codec::{BoundedVec, Compact, Decode, DecodeError, Encode, Reader, encode_compact};
use crate::crypto::hash;
use crate::types::Hash32;

/// Most proven leaves in a proof (the security parameter T of mainnet).
pub const PROVEN_LEAVES_MAX: usize = 150;
/// Most proof nodes (36 per proven leaf).
pub const PROOF_NODES_MAX: usize = 5400;

/// A non-interactive Merkle proof of sequential work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleProof {
    /// The tree's root.
    pub root: Hash32,
    /// The leaves Fiat-Shamir picked, in increasing index order.
    pub proven_leaves: BoundedVec<Hash32, PROVEN_LEAVES_MAX>,
    /// The siblings the proven leaves need, in the reference builder's order.
    pub proof_nodes: BoundedVec<Hash32, PROOF_NODES_MAX>,
}

/// A PoET proof: the Merkle proof and the number of leaves of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoetProof {
    /// The Merkle proof.
    pub merkle: MerkleProof,
    /// Leaves in the tree (the measure of elapsed time).
    pub leaves: u64,
}

impl PoetProof {
    /// The proof's reference: `blake3(SCALE(proof))`, go-spacemesh's `PoetProofRef`.
    pub fn reference(&self) -> Hash32 {
        hash(&self.encode())
    }

    /// Ticks the proof is worth: `leaves / tick_size` (go-spacemesh's ATX tick count).
    pub fn ticks(&self, tick_size: u64) -> u64 {
        assert!(tick_size > 0, "tick size must be positive");
        self.leaves / tick_size
    }
}

fn encode_node(node: &Hash32, out: &mut Vec<u8>) {
    encode_compact(32, out);
    out.extend_from_slice(&node.0);
}

fn decode_node(r: &mut Reader<'_>) -> Result<Hash32, DecodeError> {
    if r.length("PoET proof node", 32)? != 32 {
        return Err(DecodeError::InvalidValue("PoET proof node must be 32 bytes"));
    }
    r.array().map(Hash32)
}

fn encode_nodes(nodes: &[Hash32], out: &mut Vec<u8>) {
    encode_compact(nodes.len() as u64, out);
    for n in nodes {
        encode_node(n, out);
    }
}

fn decode_nodes<const MAX: usize>(
    r: &mut Reader<'_>,
    what: &'static str,
) -> Result<BoundedVec<Hash32, MAX>, DecodeError> {
    let len = r.length(what, MAX)?;
    // Every node takes 33 bytes, so the input bounds the allocation.
    let mut nodes = Vec::with_capacity(len.min(r.remaining() / 33));
    for _ in 0..len {
        nodes.push(decode_node(r)?);
    }
    Ok(BoundedVec::new(nodes).expect("length checked against MAX"))
}

impl Encode for MerkleProof {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_node(&self.root, out);
        encode_nodes(&self.proven_leaves, out);
        encode_nodes(&self.proof_nodes, out);
    }
}

impl Decode for MerkleProof {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(MerkleProof {
            root: decode_node(r)?,
            proven_leaves: decode_nodes(r, "proven leaves")?,
            proof_nodes: decode_nodes(r, "proof nodes")?,
        })
    }
}

impl Encode for PoetProof {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.merkle.encode_to(out);
        Compact(self.leaves).encode_to(out);
    }
}

impl Decode for PoetProof {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let merkle = MerkleProof::decode(r)?;
        let Compact(leaves) = Compact::decode(r)?;
        Ok(PoetProof { merkle, leaves })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::codec::decode_exact;

    fn small_proof() -> PoetProof {
        PoetProof {
            merkle: MerkleProof {
                root: Hash32([0xaa; 32]),
                proven_leaves: BoundedVec::new(vec![Hash32([1; 32]), Hash32([2; 32])]).unwrap(),
                proof_nodes: BoundedVec::new(vec![Hash32([3; 32])]).unwrap(),
            },
            leaves: 1000,
        }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The encoding of a small proof is pinned: length-prefixed nodes, compact leaf count.
    #[test]
    fn golden_encoding() {
        let enc = small_proof().encode();
        assert_eq!(enc.len(), 33 + 1 + 2 * 33 + 1 + 33 + 2);
        assert_eq!(enc[0], 0x80, "a 32-byte string has compact length 0x80");
        insta::assert_snapshot!(hex(&enc));
        assert_eq!(decode_exact::<PoetProof>(&enc), Ok(small_proof()));
        assert_eq!(small_proof().reference(), hash(&enc), "the reference hashes the encoding");
    }

    /// Nodes of other lengths, lists over their caps and truncated input are typed errors.
    #[test]
    fn malformed_rejected() {
        let mut enc = small_proof().encode();
        enc[0] = 31 << 2;
        assert_eq!(
            decode_exact::<PoetProof>(&enc),
            Err(DecodeError::InvalidValue("PoET proof node must be 32 bytes"))
        );
        let mut over = Vec::new();
        encode_node(&Hash32::default(), &mut over);
        encode_compact(151, &mut over);
        assert!(matches!(
            decode_exact::<PoetProof>(&over),
            Err(DecodeError::LengthOverLimit { max: 150, .. })
        ));
        let enc = small_proof().encode();
        for cut in 0..enc.len() {
            assert!(decode_exact::<PoetProof>(&enc[..cut]).is_err(), "cut at {cut}");
        }
    }

    /// Ticks are whole multiples of the tick size.
    #[test]
    fn ticks_round_down() {
        assert_eq!(small_proof().ticks(100), 10);
        assert_eq!(small_proof().ticks(999), 1);
        assert_eq!(small_proof().ticks(1001), 0);
    }

    fn arb_nodes(max: usize) -> impl Strategy<Value = Vec<Hash32>> {
        prop::collection::vec(any::<[u8; 32]>().prop_map(Hash32), 0..max)
    }

    proptest! {
        /// Any proof encodes and decodes back to itself, and the reference changes with it.
        #[test]
        fn codec_round_trip(
            root in any::<[u8; 32]>(),
            leaves in arb_nodes(20),
            nodes in arb_nodes(60),
            count in any::<u64>(),
        ) {
            let proof = PoetProof {
                merkle: MerkleProof {
                    root: Hash32(root),
                    proven_leaves: BoundedVec::new(leaves).unwrap(),
                    proof_nodes: BoundedVec::new(nodes).unwrap(),
                },
                leaves: count,
            };
            let enc = proof.encode();
            prop_assert_eq!(decode_exact::<PoetProof>(&enc), Ok(proof.clone()));
            let mut other = proof.clone();
            other.leaves = count.wrapping_add(1);
            prop_assert_ne!(other.reference(), proof.reference());
        }

        /// Arbitrary bytes never panic the decoder.
        #[test]
        fn decode_garbage(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode_exact::<PoetProof>(&bytes);
        }
    }
}
