//! The state root: a compact sparse Merkle tree (blake3) over accounts, keyed by
//! blake3(address), so the root depends only on the set of accounts, never on the order of
//! updates. A subtree holding one account is that account's leaf; an empty one is all zeros;
//! any other is `blake3(0x01 ‖ left ‖ right)`. Leaves are `blake3(0x00 ‖ key ‖ account)`.
//!
//! Internal nodes are cached, so an update recomputes only the paths of the touched accounts
//! (about log2(accounts) hashes each). A proof is the sibling hashes down to where the account
//! (or its absence) stands alone, which a light client checks against the root alone.

use std::collections::{BTreeMap, BTreeSet};

use crate::account::Address;
use crate::types::Hash32;

use super::Account;

/// The root of no accounts.
pub const EMPTY_ROOT: Hash32 = Hash32([0; 32]);

/// Where an account sits in the tree.
pub fn key_of(address: &Address) -> [u8; 32] {
    *blake3::hash(&address.0).as_bytes()
}

/// The leaf of `account` at `key`.
pub fn leaf_hash(key: &[u8; 32], account: &Account) -> Hash32 {
    let mut h = blake3::Hasher::new();
    h.update(&[0]);
    h.update(key);
    h.update(&account.balance.to_le_bytes());
    h.update(&account.next_nonce.to_le_bytes());
    match &account.spawned {
        None => h.update(&[0]),
        Some(s) => {
            h.update(&[1, s.template as u8]);
            h.update(&s.args.encode())
        }
    };
    Hash32(*h.finalize().as_bytes())
}

fn node_hash(left: &Hash32, right: &Hash32) -> Hash32 {
    let mut h = blake3::Hasher::new();
    h.update(&[1]);
    h.update(&left.0);
    h.update(&right.0);
    Hash32(*h.finalize().as_bytes())
}

/// How many leading bits `a` and `b` have in common.
fn common_bits(a: &[u8; 32], b: &[u8; 32]) -> usize {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => i * 8 + (a[i] ^ b[i]).leading_zeros() as usize,
        None => 256,
    }
}

fn bit(key: &[u8; 32], depth: usize) -> bool {
    key[depth / 8] >> (7 - depth % 8) & 1 == 1
}

/// `key` with every bit from `depth` on cleared: the subtree of depth `depth` holding it.
fn prefix(key: &[u8; 32], depth: usize) -> [u8; 32] {
    let mut p = *key;
    for (i, byte) in p.iter_mut().enumerate() {
        let keep = depth.saturating_sub(i * 8).min(8);
        *byte &= if keep == 0 { 0 } else { 0xffu8 << (8 - keep) };
    }
    p
}

/// The last key of the subtree `(depth, prefix)`.
fn last_key(prefix: &[u8; 32], depth: usize) -> [u8; 32] {
    let mut p = *prefix;
    for (i, byte) in p.iter_mut().enumerate() {
        let keep = depth.saturating_sub(i * 8).min(8);
        *byte |= if keep >= 8 { 0 } else { 0xffu8 >> keep };
    }
    p
}

/// The prefix of the other child of `(depth, prefix)`'s parent.
fn sibling(key: &[u8; 32], depth: usize) -> [u8; 32] {
    let mut p = prefix(key, depth + 1);
    p[depth / 8] ^= 1 << (7 - depth % 8);
    p
}

/// The tree over a set of accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateTree {
    leaves: BTreeMap<[u8; 32], Hash32>,
    /// Subtrees with two or more leaves, by depth and prefix.
    nodes: BTreeMap<(u16, [u8; 32]), Hash32>,
}

/// Sibling hashes from the root down to where the account's key stands alone, and what is
/// there: its leaf, another account's leaf (`(key, leaf)`), or nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountProof {
    /// One per level, from the root down.
    pub siblings: Vec<Hash32>,
    /// Another account's leaf where this one would be, if any (absence proofs only).
    pub other: Option<([u8; 32], Hash32)>,
}

impl StateTree {
    /// An empty tree.
    pub fn new() -> Self {
        StateTree::default()
    }

    /// The root.
    pub fn root(&self) -> Hash32 {
        self.subtree(0, &[0; 32])
    }

    /// Accounts in the tree.
    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    /// Whether it holds no account.
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    fn count(&self, depth: usize, prefix: &[u8; 32]) -> (usize, Option<Hash32>) {
        let mut range = self.leaves.range(*prefix..=last_key(prefix, depth));
        match (range.next(), range.next()) {
            (None, _) => (0, None),
            (Some((_, h)), None) => (1, Some(*h)),
            _ => (2, None),
        }
    }

    /// The hash of subtree `(depth, prefix)`. Exactly the subtrees of two or more leaves are
    /// cached (also while [`StateTree::update`] rehashes, deepest first): any other is its one
    /// leaf or empty.
    fn subtree(&self, depth: usize, prefix: &[u8; 32]) -> Hash32 {
        if let Some(h) = self.nodes.get(&(depth as u16, *prefix)) {
            return *h;
        }
        match self.count(depth, prefix) {
            (0, _) => EMPTY_ROOT,
            (1, Some(h)) => h,
            _ => panic!("subtree ({depth}, {prefix:?}) of two or more leaves is not cached"),
        }
    }

    /// How deep `key`'s path runs through subtrees of two or more leaves (counting `key`'s own
    /// leaf if present): those at depths `0..shared_depth(key)`. The leaves sharing a prefix
    /// with `key` sit next to it in key order, and the further from it the fewer bits they
    /// share, so the two nearest on each side decide it: one lookup instead of one per depth.
    fn shared_depth(&self, key: &[u8; 32]) -> usize {
        let (mut shared, mut n) = ([0usize; 4], 0);
        let near = self.leaves.range(..*key).rev().take(2).chain(self.leaves.range(*key..).take(2));
        for (k, _) in near {
            shared[n] = common_bits(k, key);
            n += 1;
        }
        shared[..n].sort_unstable_by(|a, b| b.cmp(a));
        // The second-best sharer: two leaves share that many bits, so subtrees down to that
        // depth (inclusive) hold both.
        if n < 2 { 0 } else { (shared[1] + 1).min(256) }
    }

    /// Sets the accounts at `changes` (`None`: removed, for an empty account) and recomputes
    /// the paths they touch.
    pub fn update<'a>(
        &mut self,
        changes: impl IntoIterator<Item = (&'a Address, Option<&'a Account>)>,
    ) {
        // One key at a time, so that the cached nodes along each key's path are those of a
        // consistent tree when its stale ones are removed: subtrees of two or more leaves,
        // contiguous from the root down.
        let mut dirty = BTreeSet::new();
        for (address, account) in changes {
            let key = key_of(address);
            match account {
                Some(a) => self.leaves.insert(key, leaf_hash(&key, a)),
                None => self.leaves.remove(&key),
            };
            let mut depth = self.shared_depth(&key);
            for d in 0..depth {
                dirty.insert((std::cmp::Reverse(d as u16), prefix(&key, d)));
            }
            // Below that the key's subtree holds at most one leaf: no cached node remains.
            while depth < 256 && self.nodes.remove(&(depth as u16, prefix(&key, depth))).is_some() {
                depth += 1;
            }
        }
        // Deepest first, so children are current; a node a later change left with fewer than
        // two leaves is not one.
        for (std::cmp::Reverse(depth), p) in dirty {
            let d = usize::from(depth);
            if self.count(d, &p).0 < 2 {
                continue;
            }
            let left = self.subtree(d + 1, &p);
            let right = self.subtree(d + 1, &sibling(&p, d));
            self.nodes.insert((depth, p), node_hash(&left, &right));
        }
    }

    /// The proof for the account at `address` (present or absent).
    pub fn prove(&self, address: &Address) -> AccountProof {
        let key = key_of(address);
        let depth = self.shared_depth(&key);
        let siblings = (0..depth).map(|d| self.subtree(d + 1, &sibling(&key, d))).collect();
        let other = match self.count(depth, &prefix(&key, depth)) {
            (1, Some(h)) if !self.leaves.contains_key(&key) => {
                let (k, _) = self
                    .leaves
                    .range(prefix(&key, depth)..=last_key(&prefix(&key, depth), depth))
                    .next()
                    .expect("one leaf");
                Some((*k, h))
            }
            _ => None,
        };
        AccountProof { siblings, other }
    }
}

/// Whether `proof` shows that `address` holds `account` (`None`: no account) under `root`.
pub fn verify_proof(
    root: &Hash32,
    address: &Address,
    account: Option<&Account>,
    proof: &AccountProof,
) -> bool {
    let key = key_of(address);
    let depth = proof.siblings.len();
    if depth > 256 {
        return false;
    }
    let mut hash = match (account, &proof.other) {
        (Some(a), None) => leaf_hash(&key, a),
        (None, None) => EMPTY_ROOT,
        (None, Some((other, leaf))) => {
            if *other == key || prefix(other, depth) != prefix(&key, depth) {
                return false;
            }
            *leaf
        }
        (Some(_), Some(_)) => return false,
    };
    for d in (0..depth).rev() {
        let s = &proof.siblings[d];
        hash = if bit(&key, d) { node_hash(s, &hash) } else { node_hash(&hash, s) };
    }
    hash == *root
}
