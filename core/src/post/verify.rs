//! PoST proof verification (proofs.md section 1.6).
//!
//! Order of checks: metadata against the config (units range, labels per unit, more labels than
//! K1), nonce group at most 255, k2pow against the unit-scaled target, packed length, then our
//! own rules (every index below `num_labels` and all indices distinct; post-rs checks neither),
//! and finally the label of each chosen index. Only the last step names a position:
//! [`VerifyError::InvalidIndex`] is the evidence of an "invalid post index" malfeasance proof;
//! everything before it is a structural reject.

use std::collections::BTreeSet;

use thiserror::Error;

use super::config::{MetadataError, NONCES_PER_AES, PostConfig, PostMetadata};
use super::difficulty::{proving_difficulty, scale_pow_difficulty, split_difficulty};
use super::label::{Labeler, stored};
use super::pow::PowVerifier;
use super::proof::{Proof, packed_len, required_bits, unpack_indices};
use super::prove::{group_cipher, lazy_cipher, lazy_lsb};
use crate::types::NodeId;
use aes::cipher::BlockEncrypt;

/// Which of the K2 indices to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyMode {
    /// Every index (initial posts, certifier requests).
    All,
    /// `k3` indices chosen by the post-rs subset RNG from `seed ‖ node_id ‖ challenge`.
    Subset {
        /// How many to check.
        k3: usize,
        /// The verifier's own seed (go-spacemesh uses its peer id), so that nodes check
        /// different subsets.
        seed: [u8; 32],
    },
}

/// Why a proof is rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// The metadata does not fit the config.
    #[error("metadata: {0}")]
    Metadata(#[from] MetadataError),
    /// The nonce's group does not fit a byte.
    #[error("nonce {0} is in a group above 255")]
    NonceGroupOutOfRange(u32),
    /// The k2pow does not meet the target.
    #[error("invalid k2pow {pow} for nonce group {group}")]
    InvalidPow {
        /// The pow in the proof.
        pow: u64,
        /// The nonce group.
        group: u32,
    },
    /// The packed indices have the wrong length.
    #[error("indices are {got} bytes, expected {expected}")]
    IndicesLength {
        /// Expected bytes.
        expected: usize,
        /// Bytes in the proof.
        got: usize,
    },
    /// An index is not below `num_labels` (our rule).
    #[error("index {index} at position {position} is not below the label count {num_labels}")]
    IndexOutOfRange {
        /// Position in the proof.
        position: usize,
        /// The index.
        index: u64,
        /// The identity's label count.
        num_labels: u64,
    },
    /// An index is listed twice (our rule).
    #[error("index {index} is listed twice")]
    DuplicateIndex {
        /// The repeated index.
        index: u64,
    },
    /// The label at a listed index is not good for the nonce: malfeasance evidence.
    #[error("label at index {index} (position {position}) does not meet the difficulty")]
    InvalidIndex {
        /// Position in the proof (0-based, below K2).
        position: usize,
        /// The index.
        index: u64,
    },
}

/// The checked, unpacked proof, ready for label checks.
struct Checked {
    num_labels: u64,
    indices: Vec<u64>,
}

/// Verifies `proof` for `challenge` and the identity in `meta`.
pub fn verify(
    proof: &Proof,
    challenge: &[u8; 32],
    meta: &PostMetadata,
    cfg: &PostConfig,
    mode: VerifyMode,
    pow: &dyn PowVerifier,
) -> Result<(), VerifyError> {
    let checked = check_structure(proof, challenge, meta, cfg, pow)?;
    let positions: Vec<usize> = match mode {
        VerifyMode::All => (0..checked.indices.len()).collect(),
        VerifyMode::Subset { k3, seed } => {
            subset_positions(checked.indices.len(), k3, &seed, &meta.node_id, challenge)
        }
    };
    let mut labels = LabelCheck::new(proof, challenge, meta, cfg, checked.num_labels);
    for position in positions {
        let index = checked.indices[position];
        if !labels.is_good(index) {
            return Err(VerifyError::InvalidIndex { position, index });
        }
    }
    Ok(())
}

/// Whether the label at `position` of an otherwise well-formed proof is good. `false` means an
/// "invalid post index" claim about that position holds: the position exists and its label
/// fails (or the proof is not well-formed at all). The k2pow is not checked here.
pub fn verify_index(
    proof: &Proof,
    position: usize,
    challenge: &[u8; 32],
    meta: &PostMetadata,
    cfg: &PostConfig,
) -> bool {
    let Ok(num_labels) = meta.check(cfg) else { return false };
    let bits = required_bits(num_labels);
    if proof.nonce / NONCES_PER_AES > 255 || position >= cfg.k2 as usize {
        return false;
    }
    let Some(indices) = unpack_indices(&proof.indices, bits, position + 1) else { return false };
    LabelCheck::new(proof, challenge, meta, cfg, num_labels).is_good(indices[position])
}

fn check_structure(
    proof: &Proof,
    challenge: &[u8; 32],
    meta: &PostMetadata,
    cfg: &PostConfig,
    pow: &dyn PowVerifier,
) -> Result<Checked, VerifyError> {
    let num_labels = meta.check(cfg)?;
    let group = proof.nonce / NONCES_PER_AES;
    let group_byte =
        u8::try_from(group).map_err(|_| VerifyError::NonceGroupOutOfRange(proof.nonce))?;
    let target = scale_pow_difficulty(&cfg.pow_difficulty, meta.num_units);
    let ch8: [u8; 8] = challenge[..8].try_into().expect("8 bytes");
    if !pow.verify(proof.pow, group_byte, &ch8, &target, &meta.node_id) {
        return Err(VerifyError::InvalidPow { pow: proof.pow, group });
    }
    let bits = required_bits(num_labels);
    let k2 = cfg.k2 as usize;
    let expected = packed_len(bits, k2);
    if proof.indices.len() != expected {
        return Err(VerifyError::IndicesLength { expected, got: proof.indices.len() });
    }
    let indices = unpack_indices(&proof.indices, bits, k2).expect("length checked");
    let mut seen = BTreeSet::new();
    for (position, &index) in indices.iter().enumerate() {
        if index >= num_labels {
            return Err(VerifyError::IndexOutOfRange { position, index, num_labels });
        }
        if !seen.insert(index) {
            return Err(VerifyError::DuplicateIndex { index });
        }
    }
    Ok(Checked { num_labels, indices })
}

/// Recomputes labels and scores them for the proof's nonce.
struct LabelCheck {
    labeler: Labeler,
    group: aes::Aes128,
    lazy: aes::Aes128,
    byte: usize,
    d_msb: u8,
    d_lsb: u64,
}

impl LabelCheck {
    fn new(
        proof: &Proof,
        challenge: &[u8; 32],
        meta: &PostMetadata,
        cfg: &PostConfig,
        num_labels: u64,
    ) -> Self {
        let group = proof.nonce / NONCES_PER_AES;
        let d = proving_difficulty(cfg.k1, num_labels).expect("checked by PostMetadata::check");
        let (d_msb, d_lsb) = split_difficulty(d);
        LabelCheck {
            labeler: Labeler::new(meta.commitment(), cfg.scrypt),
            group: group_cipher(challenge, group, proof.pow),
            lazy: lazy_cipher(challenge, group, proof.pow, proof.nonce),
            byte: (proof.nonce % NONCES_PER_AES) as usize,
            d_msb,
            d_lsb,
        }
    }

    fn is_good(&mut self, index: u64) -> bool {
        let label = stored(&self.labeler.label(index));
        let mut block = aes::Block::from(label);
        self.group.encrypt_block(&mut block);
        let msb = block[self.byte];
        msb < self.d_msb || (msb == self.d_msb && lazy_lsb(&self.lazy, &label) < self.d_lsb)
    }
}

/// The positions (into the K2 indices) that subset mode checks: post-rs's partial Fisher–Yates
/// shuffle driven by a BLAKE3 XOF of `seed ‖ node_id ‖ challenge`, u16 LE draws with rejection
/// sampling. Returns `min(k3, k2)` distinct positions below `k2`.
pub fn subset_positions(
    k2: usize,
    k3: usize,
    seed: &[u8; 32],
    node_id: &NodeId,
    challenge: &[u8; 32],
) -> Vec<usize> {
    if k3 >= k2 {
        // post-rs checks all indices in order when K3 equals K2.
        return (0..k2).collect();
    }
    shuffled_prefix(k2, k3, &[seed, &node_id.0, challenge])
}

/// The first `k` items of the partial Fisher–Yates shuffle of `0..n` seeded by `seed_parts`.
fn shuffled_prefix(n: usize, k: usize, seed_parts: &[&[u8]]) -> Vec<usize> {
    assert!(n <= usize::from(u16::MAX), "at most 65535 items can be shuffled");
    let mut hasher = blake3::Hasher::new();
    for part in seed_parts {
        hasher.update(part);
    }
    let mut xof = hasher.finalize_xof();
    let mut items: Vec<usize> = (0..n).collect();
    for i in 0..k.min(n) {
        let remaining = (n - i) as u16;
        let limit = u16::MAX - u16::MAX % remaining;
        loop {
            let mut buf = [0u8; 2];
            xof.fill(&mut buf);
            let draw = u16::from_le_bytes(buf);
            if draw < limit {
                items.swap(i, i + usize::from(draw % remaining));
                break;
            }
        }
    }
    items.truncate(k.min(n));
    items
}

#[cfg(test)]
mod tests;
