//! The PoST prover, post-rs `Prover8_56` (proofs.md section 1.4), as a streaming state machine.
//!
//! For a pass over nonces `[start, start + nonces_per_pass)`, each group of 16 nonces gets a
//! k2pow and an AES-128 key `blake3(ch ‖ LE32 group ‖ LE64 pow)[..16]`. Encrypting a 16-byte
//! label with it gives one byte per nonce of the group: byte `j` is the top 8 bits of the score
//! of nonce `16·group + j`. A label is good for a nonce when that byte is below `d_msb`, or equal
//! to it and the low 56 bits of the first 8 output bytes (LE) of the nonce's own ("lazy") cipher,
//! keyed `blake3(ch ‖ LE32 group ‖ LE64 pow ‖ LE32 nonce)[..16]`, are below `d_lsb`. The first
//! nonce with K2 good labels wins.
//!
//! [`Prover`] is fed labels by the driver, which reads them from wherever they are. It performs
//! no I/O. Candidates of one batch are handled in (index, nonce) order, so the proof found does
//! not depend on how the driver cuts the labels into chunks.

use aes::Aes128;
use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockEncrypt, KeyInit};
use bytes::Bytes;
use thiserror::Error;

use super::config::{
    ConfigError, MetadataError, NONCES_MAX, NONCES_PER_AES, PostConfig, PostMetadata,
};
use super::difficulty::{proving_difficulty, scale_pow_difficulty, split_difficulty};
use super::label::LABEL_BYTES;
use super::pow::{PowError, PowSolver};
use super::proof::{Proof, pack_indices, required_bits};
use crate::codec::BoundedBytes;

/// Labels encrypted per AES call.
const BATCH_LABELS: usize = 64;

type Block = aes::Block;

/// Why no proof was produced.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProveError {
    /// The configuration is invalid.
    #[error("invalid PoST config: {0}")]
    Config(#[from] ConfigError),
    /// The metadata does not fit the configuration.
    #[error("invalid PoST metadata: {0}")]
    Metadata(#[from] MetadataError),
    /// The nonce range does not start at a multiple of 16 or ends past nonce 4096.
    #[error("nonce range starting at {0} is not 16-aligned or ends past {NONCES_MAX}")]
    BadNonceStart(u32),
    /// The k2pow of a group could not be found.
    #[error("k2pow for nonce group {group}: {source}")]
    Pow {
        /// The nonce group.
        group: u32,
        /// What went wrong.
        source: PowError,
    },
    /// Labels must come as whole 16-byte labels.
    #[error("{0} bytes is not a whole number of labels")]
    NotWholeLabels(usize),
    /// Labels must be fed in order, each once.
    #[error("labels fed from index {got}, expected {expected}")]
    OutOfOrder {
        /// The next index the prover expects.
        expected: u64,
        /// The first index fed.
        got: u64,
    },
    /// More labels than the identity has.
    #[error("labels up to index {end} fed, but there are only {num_labels}")]
    PastEnd {
        /// The end of the fed range.
        end: u64,
        /// The identity's label count.
        num_labels: u64,
    },
    /// The prover already returned its proof.
    #[error("the prover already found its proof")]
    Finished,
    /// `prove` got a label buffer of the wrong size.
    #[error("{got} label bytes given, the identity has {want}")]
    WrongLabelCount {
        /// Bytes given.
        got: usize,
        /// `16 · num_labels`.
        want: u64,
    },
    /// Every nonce up to 4096 was tried without success.
    #[error("no proof in {passes} passes: all {NONCES_MAX} nonces used")]
    NoncesExhausted {
        /// Passes run.
        passes: u32,
    },
}

/// AES-128 keyed for a nonce group: `blake3(ch ‖ LE32 group ‖ LE64 pow)[..16]`.
pub(crate) fn group_cipher(challenge: &[u8; 32], group: u32, pow: u64) -> Aes128 {
    let key = crate::crypto::hash_parts(&[challenge, &group.to_le_bytes(), &pow.to_le_bytes()]);
    Aes128::new(GenericArray::from_slice(&key.0[..16]))
}

/// AES-128 keyed for one nonce: `blake3(ch ‖ LE32 group ‖ LE64 pow ‖ LE32 nonce)[..16]`.
pub(crate) fn lazy_cipher(challenge: &[u8; 32], group: u32, pow: u64, nonce: u32) -> Aes128 {
    let key = crate::crypto::hash_parts(&[
        challenge,
        &group.to_le_bytes(),
        &pow.to_le_bytes(),
        &nonce.to_le_bytes(),
    ]);
    Aes128::new(GenericArray::from_slice(&key.0[..16]))
}

/// The low 56 bits of a label's score under a nonce's lazy cipher.
pub(crate) fn lazy_lsb(lazy: &Aes128, label: &[u8; LABEL_BYTES]) -> u64 {
    let mut block = Block::clone_from_slice(label);
    lazy.encrypt_block(&mut block);
    let mut first = [0u8; 8];
    first.copy_from_slice(&block[..8]);
    u64::from_le_bytes(first) & 0x00ff_ffff_ffff_ffff
}

/// Whether some byte of `block` is at most `d`: the scan's fast path. For `d < 128` this is the
/// word-parallel "has a byte below d + 1" test, exact in that range.
#[inline(always)]
fn any_byte_at_most(block: &Block, d: u8) -> bool {
    const ONES: u128 = u128::MAX / 255;
    if d < 128 {
        let x = u128::from_le_bytes((*block).into());
        x.wrapping_sub(ONES * (u128::from(d) + 1)) & !x & (ONES << 7) != 0
    } else {
        block.iter().any(|&b| b <= d)
    }
}

/// One nonce group's cipher and pow.
struct GroupCipher {
    group: u32,
    pow: u64,
    aes: Aes128,
}

/// A candidate found in a batch: label position in the batch, nonce offset in the pass, score
/// byte.
type Hit = (usize, usize, u8);

/// Scans labels for one pass of nonces and returns the first proof.
pub struct Prover {
    challenge: [u8; 32],
    nonce_start: u32,
    groups: Vec<GroupCipher>,
    lazy: Vec<Option<Aes128>>,
    d_msb: u8,
    d_lsb: u64,
    k2: usize,
    num_labels: u64,
    next_index: u64,
    good: Vec<Vec<u64>>,
    finished: bool,
    input: Vec<Block>,
    output: Vec<Block>,
    hits: Vec<Hit>,
}

impl std::fmt::Debug for Prover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prover")
            .field("nonce_start", &self.nonce_start)
            .field("groups", &self.groups.len())
            .field("next_index", &self.next_index)
            .field("num_labels", &self.num_labels)
            .finish_non_exhaustive()
    }
}

impl Prover {
    /// A prover for nonces `[nonce_start, nonce_start + cfg.nonces_per_pass)`; computes one k2pow
    /// per group with `pow` first.
    pub fn new(
        challenge: &[u8; 32],
        cfg: &PostConfig,
        meta: &PostMetadata,
        nonce_start: u32,
        pow: &dyn PowSolver,
    ) -> Result<Self, ProveError> {
        cfg.validate()?;
        let num_labels = meta.check(cfg)?;
        let end = nonce_start.checked_add(cfg.nonces_per_pass);
        if nonce_start % NONCES_PER_AES != 0 || end.is_none_or(|e| e > NONCES_MAX) {
            return Err(ProveError::BadNonceStart(nonce_start));
        }
        let target = scale_pow_difficulty(&cfg.pow_difficulty, meta.num_units);
        let ch8: [u8; 8] = challenge[..8].try_into().expect("8 bytes");
        let first_group = nonce_start / NONCES_PER_AES;
        let groups = (first_group..first_group + cfg.nonces_per_pass / NONCES_PER_AES)
            .map(|group| {
                let byte = u8::try_from(group).expect("group below 256 by the range check");
                let found = pow
                    .solve(byte, &ch8, &target, &meta.node_id)
                    .map_err(|source| ProveError::Pow { group, source })?;
                Ok(GroupCipher { group, pow: found, aes: group_cipher(challenge, group, found) })
            })
            .collect::<Result<Vec<_>, ProveError>>()?;
        let d = proving_difficulty(cfg.k1, num_labels).expect("checked by PostMetadata::check");
        let (d_msb, d_lsb) = split_difficulty(d);
        let nonces = cfg.nonces_per_pass as usize;
        Ok(Prover {
            challenge: *challenge,
            nonce_start,
            groups,
            lazy: (0..nonces).map(|_| None).collect(),
            d_msb,
            d_lsb,
            k2: cfg.k2 as usize,
            num_labels,
            next_index: 0,
            good: vec![Vec::new(); nonces],
            finished: false,
            input: vec![Block::default(); BATCH_LABELS],
            output: vec![Block::default(); BATCH_LABELS],
            hits: Vec::new(),
        })
    }

    /// The next label index the prover expects.
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    /// Scans `labels` (whole 16-byte labels, the first at `first_index`, which must be the next
    /// expected index) and returns the proof once a nonce has K2 good labels.
    pub fn feed(&mut self, first_index: u64, labels: &[u8]) -> Result<Option<Proof>, ProveError> {
        if self.finished {
            return Err(ProveError::Finished);
        }
        if labels.len() % LABEL_BYTES != 0 {
            return Err(ProveError::NotWholeLabels(labels.len()));
        }
        if first_index != self.next_index {
            return Err(ProveError::OutOfOrder { expected: self.next_index, got: first_index });
        }
        let end = first_index.saturating_add((labels.len() / LABEL_BYTES) as u64);
        if end > self.num_labels {
            return Err(ProveError::PastEnd { end, num_labels: self.num_labels });
        }
        for (b, batch) in labels.chunks(BATCH_LABELS * LABEL_BYTES).enumerate() {
            let base = first_index + (b * BATCH_LABELS) as u64;
            if let Some(proof) = self.scan_batch(base, batch) {
                self.finished = true;
                return Ok(Some(proof));
            }
        }
        self.next_index = end;
        Ok(None)
    }

    fn scan_batch(&mut self, base: u64, batch: &[u8]) -> Option<Proof> {
        let n = batch.len() / LABEL_BYTES;
        for (block, label) in self.input.iter_mut().zip(batch.chunks_exact(LABEL_BYTES)) {
            block.copy_from_slice(label);
        }
        self.hits.clear();
        let d_msb = self.d_msb;
        for (g, cipher) in self.groups.iter().enumerate() {
            let (input, output) = (&self.input[..n], &mut self.output[..n]);
            cipher.aes.encrypt_blocks_b2b(input, output).expect("equal lengths");
            for (i, out) in output.iter().enumerate() {
                if !any_byte_at_most(out, d_msb) {
                    continue;
                }
                for (j, &score) in out.iter().enumerate() {
                    if score <= d_msb {
                        self.hits.push((i, g * NONCES_PER_AES as usize + j, score));
                    }
                }
            }
        }
        self.hits.sort_unstable();
        for k in 0..self.hits.len() {
            let (i, offset, score) = self.hits[k];
            if score == d_msb && !self.lazy_good(i, offset) {
                continue;
            }
            let good = &mut self.good[offset];
            good.push(base + i as u64);
            if good.len() == self.k2 {
                return Some(self.proof(offset));
            }
        }
        None
    }

    fn lazy_good(&mut self, i: usize, offset: usize) -> bool {
        let nonce = self.nonce_start + offset as u32;
        let GroupCipher { group, pow, .. } = self.groups[offset / NONCES_PER_AES as usize];
        let challenge = &self.challenge;
        let lazy =
            self.lazy[offset].get_or_insert_with(|| lazy_cipher(challenge, group, pow, nonce));
        let label: [u8; LABEL_BYTES] = self.input[i].into();
        lazy_lsb(lazy, &label) < self.d_lsb
    }

    fn proof(&self, offset: usize) -> Proof {
        let packed = pack_indices(&self.good[offset], required_bits(self.num_labels));
        Proof {
            nonce: self.nonce_start + offset as u32,
            indices: BoundedBytes::new(Bytes::from(packed)).expect("size checked by validate"),
            pow: self.groups[offset / NONCES_PER_AES as usize].pow,
        }
    }
}

/// Proves over all of an identity's labels (`16 · num_labels` bytes in index order), running
/// passes over successive nonce ranges until one succeeds or the 4096 nonces are used up.
pub fn prove(
    challenge: &[u8; 32],
    cfg: &PostConfig,
    meta: &PostMetadata,
    labels: &[u8],
    pow: &dyn PowSolver,
) -> Result<Proof, ProveError> {
    cfg.validate()?;
    let num_labels = meta.check(cfg)?;
    if labels.len() as u64 != num_labels.saturating_mul(LABEL_BYTES as u64) {
        return Err(ProveError::WrongLabelCount {
            got: labels.len(),
            want: num_labels.saturating_mul(LABEL_BYTES as u64),
        });
    }
    let mut passes = 0;
    let mut start = 0u32;
    while start + cfg.nonces_per_pass <= NONCES_MAX {
        let mut prover = Prover::new(challenge, cfg, meta, start, pow)?;
        passes += 1;
        if let Some(proof) = prover.feed(0, labels)? {
            return Ok(proof);
        }
        start += cfg.nonces_per_pass;
    }
    Err(ProveError::NoncesExhausted { passes })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The word-parallel test agrees with a byte loop for every threshold.
        #[test]
        fn fast_path_is_exact(bytes: [u8; 16], d: u8) {
            let block = Block::from(bytes);
            prop_assert_eq!(any_byte_at_most(&block, d), bytes.iter().any(|&b| b <= d));
        }
    }

    /// Edge thresholds: 0 finds only zero bytes, 127 finds 127 and nothing above.
    #[test]
    fn fast_path_edges() {
        let mut bytes = [0xffu8; 16];
        assert!(!any_byte_at_most(&Block::from(bytes), 0));
        bytes[9] = 0;
        assert!(any_byte_at_most(&Block::from(bytes), 0));
        bytes[9] = 128;
        assert!(!any_byte_at_most(&Block::from(bytes), 127));
        bytes[15] = 127;
        assert!(any_byte_at_most(&Block::from(bytes), 127));
    }
}
