//! The sequential work of a PoET round (proofs.md 2.4-2.5): leaves appended one after another
//! to a Merkle tree, each leaf a chain of SHA-256 that depends on the leaves before it.
//!
//! - Leaf `i` is `SHA-256(statement || i as big-endian u64 || parked nodes bottom-up)`, hashed
//!   again until `nesting_depth` hashes in total. The parked node at height `h` exists when bit
//!   `h` of `i` is set and is the left sibling of `i`'s ancestor at that height: Cohen and
//!   Pietrzak's extra edges.
//! - Internal nodes are `SHA-256(statement || left || right)`, padded as in [`super::tree`].
//! - The proof opens the leaves that Fiat-Shamir picks from the root (see [`fiat_shamir`]).
//!
//! Memory: the parked nodes (one per height) plus the *kept layer*: every node at height
//! `keep_height`, 32 bytes per `2^keep_height` leaves. Height 0 keeps every leaf, which suits
//! simulation-sized rounds (thousands of leaves) and makes [`SequentialWork::finish`] cheap.
//! A larger height divides memory by `2^keep_height`, and `finish` then recomputes the
//! `2^keep_height` leaves of each subtree that holds an opened leaf (at most `t` subtrees; the
//! time/memory trade-off Cohen and Pietrzak describe). The reference server instead stores every
//! layer on disk.

use sha2::digest::generic_array::GenericArray;
use sha2::digest::typenum::U64;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::codec::BoundedVec;
use crate::impl_codec_struct;
use crate::types::Hash32;

use super::proof::{MerkleProof, PROVEN_LEAVES_MAX};
use super::tree::{self, Node, NodeHash, PADDING};

/// Highest supported kept-layer height.
pub const KEEP_HEIGHT_MAX: u32 = 40;

/// Why sequential work cannot produce a proof or be restored.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SeqWorkError {
    /// Fewer leaves than the proof must open.
    #[error("{leaves} leaves, a proof opens {t}")]
    TooFewLeaves {
        /// Leaves appended.
        leaves: u64,
        /// Leaves a proof opens.
        t: usize,
    },
    /// `t` is zero or above the wire limit.
    #[error("a proof opens between 1 and {PROVEN_LEAVES_MAX} leaves, not {0}")]
    BadT(usize),
    /// Fiat-Shamir did not find `t` distinct leaves (cannot happen for `t <= leaves` in
    /// practice).
    #[error("Fiat-Shamir found no {0} distinct leaves")]
    FiatShamir(usize),
    /// A snapshot or kept layer that does not describe a consistent tree.
    #[error("inconsistent sequential-work state: {0}")]
    Inconsistent(&'static str),
}

/// SHA-256's initial state.
const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// Replaces `x` by `SHA-256^n(x)`: each step is one compression of a single padded block, the
/// latency floor of a chained hash.
pub(crate) fn chain(x: &mut Node, n: u32) {
    let mut block: GenericArray<u8, U64> = GenericArray::default();
    block[..32].copy_from_slice(x);
    block[32] = 0x80;
    // Message length: 256 bits, big-endian in the last 8 bytes.
    block[62] = 0x01;
    for _ in 0..n {
        let mut state = IV;
        sha2::compress256(&mut state, std::slice::from_ref(&block));
        for (k, word) in state.iter().enumerate() {
            block[4 * k..4 * k + 4].copy_from_slice(&word.to_be_bytes());
        }
    }
    x.copy_from_slice(&block[..32]);
}

/// The label of leaf `index`: `nesting_depth` nested SHA-256 over the statement, the index and
/// the parked left siblings bottom-up.
pub(crate) fn label<'a>(
    statement: &Node,
    index: u64,
    left_siblings: impl IntoIterator<Item = &'a Node>,
    nesting_depth: u32,
) -> Node {
    assert!(nesting_depth >= 1, "a label is at least one hash");
    let mut h = Sha256::new();
    h.update(statement);
    h.update(index.to_be_bytes());
    for s in left_siblings {
        h.update(s);
    }
    let mut out: Node = h.finalize().into();
    chain(&mut out, nesting_depth - 1);
    out
}

/// The sequential work's node hash: `SHA-256(statement || left || right)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WorkHash(pub(crate) Node);

impl NodeHash for WorkHash {
    fn parent(&self, left: &Node, right: &Node) -> Node {
        Sha256::new().chain_update(self.0).chain_update(left).chain_update(right).finalize().into()
    }
}

/// The leaves a proof opens: for `j = 0, 1, ...`, `BE-u64(SHA-256(root || BE-u32 j)[..8]) mod
/// leaves`, until `t` are distinct; sorted. `None` when `t` is zero, above `leaves`, or not
/// reached before `j` runs out.
pub fn fiat_shamir(root: &Hash32, leaves: u64, t: usize) -> Option<Vec<u64>> {
    if t == 0 || t as u64 > leaves {
        return None;
    }
    let mut ids = std::collections::BTreeSet::new();
    for j in 0..=u32::MAX {
        let digest = Sha256::new().chain_update(root.0).chain_update(j.to_be_bytes()).finalize();
        let id = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) % leaves;
        ids.insert(id);
        if ids.len() == t {
            return Some(ids.into_iter().collect());
        }
    }
    None
}

/// What a host persists to resume sequential work after a crash, besides the kept layer:
/// the position and the parked nodes (one per set bit of `leaves`, bottom-up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeqWorkSnapshot {
    /// The round's statement.
    pub statement: Hash32,
    /// Hashes per leaf.
    pub nesting_depth: u32,
    /// Height of the kept layer.
    pub keep_height: u32,
    /// Leaves appended so far.
    pub leaves: u64,
    /// Parked nodes at the set bits of `leaves`, bottom-up.
    pub parked: BoundedVec<Hash32, 64>,
}
impl_codec_struct!(SeqWorkSnapshot { statement, nesting_depth, keep_height, leaves, parked });

/// Resumable sequential work for one statement. Pure and single-threaded: a host calls
/// [`step`](Self::step) from a worker thread until its deadline, or all at once in simulation.
#[derive(Debug, Clone)]
pub struct SequentialWork {
    statement: Node,
    nesting_depth: u32,
    keep_height: u32,
    leaves: u64,
    /// Parked node per height; meaningful where the bit of `leaves` is set.
    parked: Vec<Node>,
    /// Every complete node at `keep_height`, left to right.
    kept: Vec<Hash32>,
}

impl SequentialWork {
    /// New work on `statement`, keeping every leaf (kept height 0).
    pub fn new(statement: [u8; 32], nesting_depth: u32) -> SequentialWork {
        SequentialWork::with_keep_height(statement, nesting_depth, 0)
    }

    /// New work that keeps only the nodes at `keep_height` (see the module docs).
    pub fn with_keep_height(
        statement: [u8; 32],
        nesting_depth: u32,
        keep_height: u32,
    ) -> SequentialWork {
        assert!(nesting_depth >= 1, "nesting depth must be at least 1");
        assert!(keep_height <= KEEP_HEIGHT_MAX, "keep height above {KEEP_HEIGHT_MAX}");
        SequentialWork {
            statement,
            nesting_depth,
            keep_height,
            leaves: 0,
            parked: Vec::new(),
            kept: Vec::new(),
        }
    }

    /// Leaves appended so far.
    pub fn leaves(&self) -> u64 {
        self.leaves
    }

    /// The kept layer (every complete node at the kept height, left to right), for persistence.
    pub fn kept_nodes(&self) -> &[Hash32] {
        &self.kept
    }

    /// Appends up to `max_leaves` leaves; returns the leaves so far.
    pub fn step(&mut self, max_leaves: u64) -> u64 {
        for _ in 0..max_leaves {
            self.append();
        }
        self.leaves
    }

    fn append(&mut self) {
        let i = self.leaves;
        assert!(i < u64::MAX, "leaf count overflow");
        let parked = &self.parked;
        let siblings = (0..parked.len()).filter(|&h| (i >> h) & 1 == 1).map(|h| &parked[h]);
        let mut node = label(&self.statement, i, siblings, self.nesting_depth);
        let hash = WorkHash(self.statement);
        let mut h = 0usize;
        if self.keep_height == 0 {
            self.kept.push(Hash32(node));
        }
        while h < 64 && (i >> h) & 1 == 1 {
            node = hash.parent(&self.parked[h], &node);
            h += 1;
            if h == self.keep_height as usize {
                self.kept.push(Hash32(node));
            }
        }
        if self.parked.len() <= h {
            self.parked.resize(h + 1, PADDING);
        }
        self.parked[h] = node;
        self.leaves = i + 1;
    }

    /// The node at height `k` that covers the last, incomplete run of leaves (padded), or
    /// `None` when the leaves fill whole subtrees of height `k`.
    fn partial_node(&self, k: u32) -> Option<Node> {
        let hash = WorkHash(self.statement);
        let mut ephemeral: Option<Node> = None;
        for h in 0..k as usize {
            let parked = ((self.leaves >> h) & 1 == 1).then(|| self.parked[h]);
            ephemeral = match (parked, ephemeral) {
                (Some(p), Some(e)) => Some(hash.parent(&p, &e)),
                (Some(p), None) => Some(hash.parent(&p, &PADDING)),
                (None, Some(e)) => Some(hash.parent(&e, &PADDING)),
                (None, None) => None,
            };
        }
        ephemeral
    }

    /// The current root (zero before the first leaf).
    pub fn root(&self) -> Hash32 {
        if self.leaves == 0 {
            return Hash32(PADDING);
        }
        let height = tree::root_height(self.leaves);
        Hash32(self.partial_node(height).unwrap_or_else(|| self.parked[height as usize]))
    }

    /// The crash-recovery state (persist it together with the kept layer).
    pub fn snapshot(&self) -> SeqWorkSnapshot {
        let parked = (0..self.parked.len())
            .filter(|&h| (self.leaves >> h) & 1 == 1)
            .map(|h| Hash32(self.parked[h]))
            .collect();
        SeqWorkSnapshot {
            statement: Hash32(self.statement),
            nesting_depth: self.nesting_depth,
            keep_height: self.keep_height,
            leaves: self.leaves,
            parked: BoundedVec::new(parked).expect("at most 64 set bits"),
        }
    }

    /// Resumes from a snapshot and the kept layer persisted with it. Checks that the parked
    /// nodes at and above the kept height agree with the kept layer.
    pub fn restore(snapshot: &SeqWorkSnapshot, kept: Vec<Hash32>) -> Result<Self, SeqWorkError> {
        let s = snapshot;
        if s.nesting_depth == 0 || s.keep_height > KEEP_HEIGHT_MAX {
            return Err(SeqWorkError::Inconsistent("nesting depth or keep height out of range"));
        }
        if s.parked.len() != s.leaves.count_ones() as usize {
            return Err(SeqWorkError::Inconsistent("parked nodes do not match the leaf count"));
        }
        if kept.len() as u64 != s.leaves >> s.keep_height {
            return Err(SeqWorkError::Inconsistent("kept layer does not match the leaf count"));
        }
        let mut parked = vec![PADDING; 64 - s.leaves.leading_zeros() as usize];
        let set_bits = (0..64).filter(|h| (s.leaves >> h) & 1 == 1);
        for (h, node) in set_bits.zip(s.parked.iter()) {
            parked[h] = node.0;
        }
        let work = SequentialWork {
            statement: s.statement.0,
            nesting_depth: s.nesting_depth,
            keep_height: s.keep_height,
            leaves: s.leaves,
            parked,
            kept,
        };
        work.check_kept_against_parked()?;
        Ok(work)
    }

    /// Every parked node at or above the kept height is the root of its run of kept nodes.
    fn check_kept_against_parked(&self) -> Result<(), SeqWorkError> {
        let k = self.keep_height as usize;
        let hash = WorkHash(self.statement);
        for h in k..self.parked.len() {
            if (self.leaves >> h) & 1 == 0 {
                continue;
            }
            let run = 1usize << (h - k);
            let start = ((self.leaves >> h) as usize - 1) * run;
            let mut layer: Vec<Node> = self.kept[start..start + run].iter().map(|n| n.0).collect();
            while layer.len() > 1 {
                layer = tree::parent_layer(&layer, &hash);
            }
            if layer[0] != self.parked[h] {
                return Err(SeqWorkError::Inconsistent("parked node disagrees with kept layer"));
            }
        }
        Ok(())
    }

    /// The proof opening `t` Fiat-Shamir leaves of the tree as it is now.
    pub fn finish(&self, t: usize) -> Result<MerkleProof, SeqWorkError> {
        if t == 0 || t > PROVEN_LEAVES_MAX {
            return Err(SeqWorkError::BadT(t));
        }
        let n = self.leaves;
        if n < t as u64 {
            return Err(SeqWorkError::TooFewLeaves { leaves: n, t });
        }
        let height = tree::root_height(n);
        let k = self.keep_height.min(height);
        let hash = WorkHash(self.statement);
        // Layers from height k up to the root.
        let mut base: Vec<Node> = if k == self.keep_height {
            self.kept.iter().map(|n| n.0).collect()
        } else {
            // The tree is lower than the kept height: no kept node is complete except a root
            // that is itself parked.
            (n >> k == 1).then(|| self.parked[k as usize]).into_iter().collect()
        };
        base.extend(self.partial_node(k));
        let upper = tree::build_layers(base, &hash);
        let root = Hash32(upper.last().expect("root layer")[0]);
        assert_eq!(root, self.root(), "kept layer and parked nodes agree on the root");
        let indices = fiat_shamir(&root, n, t).ok_or(SeqWorkError::FiatShamir(t))?;
        // Subtrees of height k that hold an opened leaf, recomputed leaf by leaf.
        let mut lower: Vec<(u64, Vec<Vec<Node>>)> = Vec::new();
        if k > 0 {
            for &i in &indices {
                let s = i >> k;
                if lower.last().is_none_or(|(last, _)| *last != s) {
                    let layers = self.recompute_subtree(s, k, &upper);
                    if layers[k as usize][0] != upper[0][s as usize] {
                        return Err(SeqWorkError::Inconsistent("recomputed subtree disagrees"));
                    }
                    lower.push((s, layers));
                }
            }
        }
        let node = |h: u32, j: u64| -> Node {
            if tree::is_padding(h, j, n) {
                PADDING
            } else if h >= k {
                upper[(h - k) as usize][j as usize]
            } else {
                let s = j >> (k - h);
                let at = lower.binary_search_by_key(&s, |e| e.0).expect("subtree recomputed");
                lower[at].1[h as usize][(j - (s << (k - h))) as usize]
            }
        };
        let proven: Vec<Hash32> = indices.iter().map(|&i| Hash32(node(0, i))).collect();
        let nodes: Vec<Hash32> = tree::proof_positions(&indices, height)
            .into_iter()
            .map(|(h, j)| Hash32(node(h, j)))
            .collect();
        Ok(MerkleProof {
            root,
            proven_leaves: BoundedVec::new(proven).expect("t is within the limit"),
            proof_nodes: BoundedVec::new(nodes).expect("at most 64 siblings per opened leaf"),
        })
    }

    /// Recomputes the leaves of subtree `s` at height `k` and returns its layers 0..=k.
    fn recompute_subtree(&self, s: u64, k: u32, upper: &[Vec<Node>]) -> Vec<Vec<Node>> {
        let start = s << k;
        let end = ((s + 1) << k).min(self.leaves);
        // Left siblings at heights >= k are the same for every leaf of the subtree.
        let high: Vec<Node> = (k..64)
            .filter(|&h| (start >> h) & 1 == 1)
            .map(|h| upper[(h - k) as usize][((start >> h) - 1) as usize])
            .collect();
        let hash = WorkHash(self.statement);
        let mut parked = vec![PADDING; k as usize];
        let mut leaves = Vec::with_capacity((end - start) as usize);
        for i in start..end {
            let r = i - start;
            let low = (0..k as usize).filter(|&h| (r >> h) & 1 == 1).map(|h| &parked[h]);
            let leaf = label(&self.statement, i, low.chain(high.iter()), self.nesting_depth);
            leaves.push(leaf);
            let mut node = leaf;
            let mut h = 0usize;
            while h < k as usize && (r >> h) & 1 == 1 {
                node = hash.parent(&parked[h], &node);
                h += 1;
            }
            if h < k as usize {
                parked[h] = node;
            }
        }
        let mut layers = vec![leaves];
        for _ in 0..k {
            let next = tree::parent_layer(layers.last().expect("a layer"), &hash);
            layers.push(next);
        }
        layers
    }
}

#[cfg(test)]
mod tests;
