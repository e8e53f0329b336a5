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

/// Labels scanned per batch (64 KiB): large enough that the lazy-cipher ties of one nonce can be
/// encrypted together, small enough to stay in L2 with the output.
const BATCH_LABELS: usize = 4096;

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
    lsb56(&block)
}

/// The low 56 bits of the first 8 bytes (LE) of a lazy-cipher output.
fn lsb56(block: &Block) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&block[..8]);
    u64::from_le_bytes(first) & 0x00ff_ffff_ffff_ffff
}

/// Bit `j` is set when byte `j` of `block` is at most `d` (compiles to a vector compare and a
/// byte-mask extraction).
#[inline(always)]
fn at_most_mask(block: &Block, d: u8) -> u16 {
    let mut mask = 0u16;
    for (j, &b) in block.iter().enumerate() {
        mask |= u16::from(b.min(d) == b) << j;
    }
    mask
}

/// The positions of the set bits of `mask`, lowest first.
fn bits(mut mask: u16) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        (mask != 0).then(|| {
            let j = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            j
        })
    })
}

/// The blocks of `output` with some byte at most `d`, with their positions. The test runs
/// branch-free over 64 blocks at a time, so the rare candidates cost no mispredicted branch each.
fn candidates(output: &[Block], d: u8) -> impl Iterator<Item = (usize, &Block)> {
    output.chunks(64).enumerate().flat_map(move |(c, chunk)| {
        let mut mask = 0u64;
        for (k, block) in chunk.iter().enumerate() {
            mask |= u64::from(at_most_mask(block, d) != 0) << k;
        }
        std::iter::from_fn(move || {
            (mask != 0).then(|| {
                let k = mask.trailing_zeros() as usize;
                mask &= mask - 1;
                (c * 64 + k, &chunk[k])
            })
        })
    })
}

/// One nonce group's cipher and pow.
struct GroupCipher {
    group: u32,
    pow: u64,
    aes: Aes128,
}

/// A good label found in a batch: its position in the batch and the nonce's offset in the pass.
type Hit = (usize, usize);

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
    /// Per nonce of the current group: batch positions whose score byte equals `d_msb`.
    ties: Vec<Vec<usize>>,
    tie_blocks: Vec<Block>,
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
        if !nonce_start.is_multiple_of(NONCES_PER_AES) || end.is_none_or(|e| e > NONCES_MAX) {
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
            ties: vec![Vec::new(); NONCES_PER_AES as usize],
            tie_blocks: Vec::new(),
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
        if !labels.len().is_multiple_of(LABEL_BYTES) {
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
        let (d_msb, d_lsb) = (self.d_msb, self.d_lsb);
        let input = &self.input[..n];
        for (g, cipher) in self.groups.iter().enumerate() {
            let output = &mut self.output[..n];
            cipher.aes.encrypt_blocks_b2b(input, output).expect("equal lengths");
            for (i, out) in candidates(output, d_msb) {
                let (mut below, mut equal) = (0u16, 0u16);
                for (j, &score) in out.iter().enumerate() {
                    below |= u16::from(score < d_msb) << j;
                    equal |= u16::from(score == d_msb) << j;
                }
                for j in bits(below) {
                    self.hits.push((i, g * NONCES_PER_AES as usize + j));
                }
                for j in bits(equal) {
                    self.ties[j].push(i);
                }
            }
            // A tie on the top byte is settled by the nonce's own cipher. With d_msb = 0 (any
            // large identity) that is one block in sixteen, so the ties of a whole batch are
            // encrypted together per nonce, where AES pipelines.
            for (j, ties) in self.ties.iter_mut().enumerate().filter(|(_, t)| !t.is_empty()) {
                let offset = g * NONCES_PER_AES as usize + j;
                let nonce = self.nonce_start + offset as u32;
                let lazy = self.lazy[offset].get_or_insert_with(|| {
                    lazy_cipher(&self.challenge, cipher.group, cipher.pow, nonce)
                });
                self.tie_blocks.clear();
                self.tie_blocks.extend(ties.iter().map(|&i| input[i]));
                lazy.encrypt_blocks(&mut self.tie_blocks);
                for (&i, out) in ties.iter().zip(&self.tie_blocks) {
                    if lsb56(out) < d_lsb {
                        self.hits.push((i, offset));
                    }
                }
                ties.clear();
            }
        }
        // Good labels of one batch are counted in (index, nonce) order, whatever the grouping.
        self.hits.sort_unstable();
        for &(i, offset) in &self.hits {
            let good = &mut self.good[offset];
            good.push(base + i as u64);
            if good.len() == self.k2 {
                return Some(self.proof(offset));
            }
        }
        None
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

/// Why a proof read in chunks ([`prove_chunked`]) was not produced.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChunkedProveError<E> {
    /// Proving failed as [`prove()`] would have.
    #[error(transparent)]
    Prove(#[from] ProveError),
    /// The driver could not read a chunk of labels.
    #[error("reading labels from index {first_index}: {error}")]
    Read {
        /// The first label of the chunk.
        first_index: u64,
        /// What the driver reported.
        error: E,
    },
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
    run_passes(challenge, cfg, meta, pow, |prover| prover.feed(0, labels))
}

/// Proves like [`prove()`], but reads the labels through `read(first_index, buf)` in chunks of
/// at most `chunk_labels` labels, one chunk in memory at a time, once per pass. The proof is
/// the one [`prove()`] finds over the same labels, whatever the chunk size: the prover takes
/// good labels in (index, nonce) order.
pub fn prove_chunked<E>(
    challenge: &[u8; 32],
    cfg: &PostConfig,
    meta: &PostMetadata,
    pow: &dyn PowSolver,
    chunk_labels: u64,
    mut read: impl FnMut(u64, &mut [u8]) -> Result<(), E>,
) -> Result<Proof, ChunkedProveError<E>> {
    cfg.validate().map_err(ProveError::from)?;
    let num_labels = meta.check(cfg).map_err(ProveError::from)?;
    let chunk = chunk_labels.clamp(1, num_labels.max(1));
    let mut buf = vec![0u8; usize::try_from(chunk).expect("a chunk fits in memory") * LABEL_BYTES];
    run_passes(challenge, cfg, meta, pow, |prover| {
        let mut index = 0;
        while index < num_labels {
            let n = chunk.min(num_labels - index) as usize;
            let labels = &mut buf[..n * LABEL_BYTES];
            read(index, labels)
                .map_err(|error| ChunkedProveError::Read { first_index: index, error })?;
            if let Some(proof) = prover.feed(index, labels)? {
                return Ok(Some(proof));
            }
            index += n as u64;
        }
        Ok(None)
    })
}

/// Runs passes over successive nonce ranges, each scanning the labels with `scan`, until one
/// finds a proof or the nonces are used up.
fn run_passes<E: From<ProveError>>(
    challenge: &[u8; 32],
    cfg: &PostConfig,
    meta: &PostMetadata,
    pow: &dyn PowSolver,
    mut scan: impl FnMut(&mut Prover) -> Result<Option<Proof>, E>,
) -> Result<Proof, E> {
    let mut passes = 0;
    let mut start = 0u32;
    while start + cfg.nonces_per_pass <= NONCES_MAX {
        let mut prover = Prover::new(challenge, cfg, meta, start, pow)?;
        passes += 1;
        if let Some(proof) = scan(&mut prover)? {
            return Ok(proof);
        }
        start += cfg.nonces_per_pass;
    }
    Err(ProveError::NoncesExhausted { passes }.into())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The candidate filter finds exactly the blocks with a byte at most `d`.
        #[test]
        fn candidates_are_exact(bytes in proptest::collection::vec(any::<[u8; 16]>(), 0..200), d: u8) {
            let blocks: Vec<Block> = bytes.iter().map(|b| Block::from(*b)).collect();
            let got: Vec<usize> = candidates(&blocks, d).map(|(i, _)| i).collect();
            let want: Vec<usize> =
                (0..bytes.len()).filter(|&i| bytes[i].iter().any(|&x| x <= d)).collect();
            prop_assert_eq!(got, want);
        }
    }

    /// `len` pseudo-random label bytes from `seed` (the prover accepts any bytes as labels).
    fn random_labels(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Proving over labels read in chunks of any size gives the proof (or the error) that
        /// proving over all labels in memory gives, across batch boundaries and several passes.
        #[test]
        fn chunked_equals_in_memory(
            challenge: [u8; 32],
            seed: u64,
            labels_per_unit in 200u64..3000,
            units in 1u32..4,
            k2 in 2u32..13,
            nonces_per_pass in prop_oneof![Just(16u32), Just(32)],
            chunk_labels in 1u64..9000,
        ) {
            let cfg = PostConfig {
                labels_per_unit,
                min_units: 1,
                max_units: 4,
                k2,
                k3: 1,
                nonces_per_pass,
                ..PostConfig::fastnet()
            };
            let meta = PostMetadata {
                node_id: crate::types::NodeId([1; 32]),
                commitment_atx_id: crate::types::Hash32([2; 32]),
                num_units: units,
                labels_per_unit,
            };
            let labels = random_labels(seed, (u64::from(units) * labels_per_unit) as usize * 16);
            let pow = crate::post::Blake3Pow::default();
            let whole = prove(&challenge, &cfg, &meta, &labels, &pow);
            let mut reads = 0;
            let mut read = |first: u64, buf: &mut [u8]| -> Result<(), ()> {
                assert!(buf.len() as u64 <= chunk_labels * 16, "chunk of {} bytes", buf.len());
                let at = first as usize * 16;
                buf.copy_from_slice(&labels[at..at + buf.len()]);
                reads += 1;
                Ok(())
            };
            let chunked = prove_chunked(&challenge, &cfg, &meta, &pow, chunk_labels, &mut read)
                .map_err(|e| match e {
                    ChunkedProveError::Prove(e) => e,
                    ChunkedProveError::Read { .. } => unreachable!("no read fails here"),
                });
            prop_assert_eq!(chunked, whole);
            prop_assert!(reads >= 1);
        }
    }

    /// A failed read stops proving with an error that names the chunk's first label.
    #[test]
    fn read_errors_name_the_chunk() {
        let cfg = PostConfig::fastnet();
        let meta = PostMetadata {
            node_id: crate::types::NodeId([1; 32]),
            commitment_atx_id: crate::types::Hash32([2; 32]),
            num_units: 2,
            labels_per_unit: cfg.labels_per_unit,
        };
        let pow = crate::post::Blake3Pow::default();
        // One label per chunk: K2 = 4 good labels cannot be among the three read before.
        let e = prove_chunked(&[0; 32], &cfg, &meta, &pow, 1, |first, buf: &mut [u8]| {
            buf.copy_from_slice(&random_labels(first, buf.len()));
            if first < 3 { Ok(()) } else { Err("file gone") }
        })
        .unwrap_err();
        assert_eq!(e, ChunkedProveError::Read { first_index: 3, error: "file gone" });
        assert_eq!(e.to_string(), "reading labels from index 3: file gone");
    }

    /// Edge thresholds: 0 finds only zero bytes, 255 finds every byte.
    #[test]
    fn mask_edges() {
        let mut bytes = [0xffu8; 16];
        assert_eq!(at_most_mask(&Block::from(bytes), 0), 0);
        assert_eq!(at_most_mask(&Block::from(bytes), 255), 0xffff);
        bytes[9] = 0;
        assert_eq!(at_most_mask(&Block::from(bytes), 0), 1 << 9);
    }
}
