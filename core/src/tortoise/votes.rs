//! Decoded votes and opinion hashes (protocol.md section 8; go-spacemesh `tortoise/state.go`
//! `decodeVotes`, `tortoise/opinionhash`).
//!
//! A ballot in layer `l` has a vote on every layer below `l` inside the window. The votes form a
//! chain of [`LayerVote`]s, one per layer, each linked to the one of the layer below; a
//! ballot stores only the head (its vote on `l - 1`). The chain nodes live in an arena per
//! layer ([`super::state::LayerInfo::votes`]), deduplicated by their opinion hash, which
//! commits to the whole chain below: ballots that agree share nodes, and evicting a layer
//! drops its nodes with it.
//!
//! Decoding a ballot (base ballot + exceptions) copies the base's nodes from the lowest layer an
//! exception touches up to the base's layer, applies the exceptions, and appends one node per
//! layer from the base's layer to `l - 1`: there, every block not supported is voted against,
//! unless the layer is listed as abstained.

use std::collections::BTreeMap;

use crate::ballot::wire::Votes;
use crate::crypto::hash;
use crate::types::{BallotId, BlockId, Hash32, LayerId};

use super::state::BlockKey;
use super::{Tortoise, TortoiseReject};

/// The byte an abstaining (or undecided) layer contributes to its opinion hash.
const ABSTAIN_SENTINEL: u8 = 0;

/// Where a layer vote is stored: the layer voted on and its index in that layer's arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct VoteRef {
    pub(super) layer: LayerId,
    pub(super) index: u32,
}

/// A ballot's vote on one layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LayerVote {
    /// Blocks voted for, sorted; every other block of the layer is voted against.
    pub(super) supported: Vec<BlockKey>,
    /// Abstain on the layer (then `supported` is empty).
    pub(super) abstain: bool,
    /// The chained opinion hash up to and including this layer.
    pub(super) opinion: Hash32,
    /// The vote on the layer below (`None` at the start of the chain: the genesis layer). The
    /// ref may point into an evicted layer; it is never followed there.
    pub(super) prev: Option<VoteRef>,
    /// The opinion of `prev`, kept so that copies can be hashed after `prev` is evicted.
    pub(super) prev_opinion: Option<Hash32>,
}

impl LayerVote {
    pub(super) fn supports(&self, key: &BlockKey) -> bool {
        self.supported.binary_search(key).is_ok()
    }
}

/// The opinion hash of one layer: `H(prev || content)` where content is the supported blocks
/// (`id || height` as u64 little-endian, in block order), or the abstain sentinel, or nothing
/// (against every block). The genesis layer has no `prev`.
pub(super) fn opinion_hash(prev: Option<&Hash32>, supported: &[BlockKey], abstain: bool) -> Hash32 {
    let mut buf = Vec::with_capacity(32 + supported.len() * 28 + 1);
    if let Some(prev) = prev {
        buf.extend_from_slice(&prev.0);
    }
    if !supported.is_empty() {
        for block in supported {
            buf.extend_from_slice(&block.id.0);
            buf.extend_from_slice(&block.height.to_le_bytes());
        }
    } else if abstain {
        buf.push(ABSTAIN_SENTINEL);
    }
    hash(&buf)
}

/// What a ballot's exceptions say about one layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum LayerDiff {
    /// The layer is abstained on.
    Abstain,
    /// Block id → (height, support?).
    Blocks(BTreeMap<BlockId, (u64, bool)>),
}

/// The exceptions of a ballot in `ballot_layer`, by layer, checked for bounds and conflicts.
pub(super) fn build_diff(
    votes: &Votes,
    evicted: LayerId,
    ballot_layer: LayerId,
) -> Result<BTreeMap<LayerId, LayerDiff>, TortoiseReject> {
    let check = |layer: LayerId| {
        if layer <= evicted {
            Err(TortoiseReject::VoteOutsideWindow { layer })
        } else if layer >= ballot_layer {
            Err(TortoiseReject::VoteNotBefore { layer, ballot_layer })
        } else {
            Ok(())
        }
    };
    let mut diff: BTreeMap<LayerId, LayerDiff> = BTreeMap::new();
    let blocks =
        votes.against.iter().map(|v| (v, false)).chain(votes.support.iter().map(|v| (v, true)));
    for (vote, support) in blocks {
        check(vote.layer)?;
        let entry = diff.entry(vote.layer).or_insert_with(|| LayerDiff::Blocks(BTreeMap::new()));
        let LayerDiff::Blocks(map) = entry else { unreachable!("abstains are added last") };
        if map.insert(vote.id, (vote.height, support)).is_some() {
            return Err(TortoiseReject::ConflictingVotes { layer: vote.layer, block: vote.id });
        }
    }
    for &layer in votes.abstain.iter() {
        check(layer)?;
        if diff.insert(layer, LayerDiff::Abstain).is_some() {
            return Err(TortoiseReject::AbstainConflict { layer });
        }
    }
    Ok(diff)
}

/// The start of a decode: a base ballot's layer, the head of its votes and their opinion
/// (`None` for the genesis pseudo-ballot, which has no votes).
#[derive(Debug, Clone, Copy)]
pub(super) struct Base {
    pub(super) layer: LayerId,
    pub(super) tail: Option<VoteRef>,
    pub(super) opinion: Option<Hash32>,
}

/// New chain nodes for layers `start..`, each linked to the one before; the first one to
/// `first_prev`.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub(super) start: LayerId,
    pub(super) first_prev: Option<VoteRef>,
    pub(super) nodes: Vec<LayerVote>,
}

impl Plan {
    /// The opinion of the decoded ballot (of its last layer).
    pub(super) fn opinion(&self) -> Hash32 {
        self.nodes.last().expect("a plan has a node for the layer below the ballot").opinion
    }
}

/// Applies one layer's exceptions to a copy of the base's vote on that layer.
fn apply_diff(
    old: &LayerVote,
    diff: Option<&LayerDiff>,
) -> Result<(Vec<BlockKey>, bool), TortoiseReject> {
    match diff {
        None => Ok((old.supported.clone(), old.abstain)),
        Some(LayerDiff::Abstain) => Ok((Vec::new(), true)),
        Some(LayerDiff::Blocks(map)) => {
            let mut supported = Vec::with_capacity(old.supported.len() + map.len());
            for block in &old.supported {
                match map.get(&block.id) {
                    None => supported.push(*block),
                    Some(&(height, false)) if height != block.height => {
                        return Err(TortoiseReject::AgainstWrongHeight { block: block.id });
                    }
                    Some(_) => {}
                }
            }
            supported.extend(
                map.iter()
                    .filter(|(_, (_, s))| *s)
                    .map(|(&id, &(height, _))| BlockKey { height, id }),
            );
            supported.sort_unstable();
            // Deviation: explicit block votes on a layer the base abstained on make the vote
            // explicit (go-spacemesh keeps the abstain flag, so such a vote hashes as support
            // but is not counted).
            Ok((supported, false))
        }
    }
}

/// A fresh vote on a layer after the base's layer: only supports and abstains matter.
fn fresh_vote(diff: Option<&LayerDiff>) -> (Vec<BlockKey>, bool) {
    match diff {
        None => (Vec::new(), false),
        Some(LayerDiff::Abstain) => (Vec::new(), true),
        Some(LayerDiff::Blocks(map)) => {
            let mut supported: Vec<BlockKey> = map
                .iter()
                .filter(|(_, (_, s))| *s)
                .map(|(&id, &(height, _))| BlockKey { height, id })
                .collect();
            supported.sort_unstable();
            (supported, false)
        }
    }
}

impl Tortoise {
    pub(super) fn vote(&self, r: VoteRef) -> &LayerVote {
        &self.layer_at(r.layer).votes[r.index as usize]
    }

    /// The refs of a chain from `tail` down, stopping at the window.
    pub(super) fn chain(&self, tail: Option<VoteRef>) -> Vec<VoteRef> {
        self.chain_down_to(tail, LayerId(0))
    }

    /// The refs of a chain from `tail` down to layer `floor` (inclusive), stopping at the window
    /// earlier: each step is a dependent load from another layer's votes, so a caller that needs
    /// only the top of a chain should not walk the rest.
    pub(super) fn chain_down_to(&self, tail: Option<VoteRef>, floor: LayerId) -> Vec<VoteRef> {
        let mut out = Vec::new();
        let mut cur = tail;
        while let Some(r) = cur {
            if r.layer <= self.evicted || r.layer < floor {
                break;
            }
            out.push(r);
            cur = self.vote(r).prev;
        }
        out
    }

    /// The vote on `lid` in the chain from `tail` (`None` outside the window or the chain).
    pub(super) fn vote_on(&self, tail: VoteRef, lid: LayerId) -> Option<VoteRef> {
        let mut cur = Some(tail);
        while let Some(r) = cur {
            if r.layer <= self.evicted || r.layer < lid {
                return None;
            }
            if r.layer == lid {
                return Some(r);
            }
            cur = self.vote(r).prev;
        }
        None
    }

    /// Plans the decode of a ballot in `ballot_layer` from `base` and its exceptions, without
    /// changing any state (the encoder uses it to compute the opinion it is about to sign).
    pub(super) fn plan_votes(
        &self,
        base: &Base,
        ballot_layer: LayerId,
        diff: &BTreeMap<LayerId, LayerDiff>,
    ) -> Result<Plan, TortoiseReject> {
        debug_assert!(base.layer < ballot_layer);
        let from = diff.keys().next().map_or(base.layer, |&l| l.min(base.layer));
        // The base's votes that exceptions may change, lowest first.
        let mut copied = self.chain_down_to(base.tail, from);
        copied.reverse();
        let (start, first_prev, mut prev_opinion) = match copied.first() {
            Some(&r) => (r.layer, self.vote(r).prev, self.vote(r).prev_opinion),
            None => (base.layer, base.tail, base.opinion),
        };
        let mut nodes = Vec::with_capacity(copied.len() + (ballot_layer.0 - base.layer.0) as usize);
        let mut push = |supported: Vec<BlockKey>, abstain: bool| {
            let opinion = opinion_hash(prev_opinion.as_ref(), &supported, abstain);
            nodes.push(LayerVote { supported, abstain, opinion, prev: None, prev_opinion });
            prev_opinion = Some(opinion);
        };
        for r in copied {
            let (supported, abstain) = apply_diff(self.vote(r), diff.get(&r.layer))?;
            push(supported, abstain);
        }
        for l in base.layer.0..ballot_layer.0 {
            let (supported, abstain) = fresh_vote(diff.get(&LayerId(l)));
            push(supported, abstain);
        }
        Ok(Plan { start, first_prev, nodes })
    }

    /// Stores the planned nodes (reusing equal ones) and returns the head of the chain.
    pub(super) fn commit_votes(&mut self, plan: Plan) -> VoteRef {
        let mut prev = plan.first_prev;
        for (i, mut node) in plan.nodes.into_iter().enumerate() {
            let lid = LayerId(plan.start.0 + i as u32);
            node.prev = prev;
            let layer = self.ensure_layer(lid);
            let index = match layer.vote_index.get(&node.opinion) {
                Some(&index) => index,
                None => {
                    let index = layer.votes.len() as u32;
                    layer.vote_index.insert(node.opinion, index);
                    layer.votes.push(node);
                    index
                }
            };
            prev = Some(VoteRef { layer: lid, index });
        }
        prev.expect("a plan has at least one node")
    }
}

impl Tortoise {
    /// The base ballot named by a ballot in `layer` (the zero id: the genesis pseudo-ballot).
    pub(super) fn resolve_base(
        &self,
        id: BallotId,
        layer: LayerId,
    ) -> Result<Base, TortoiseReject> {
        let base = if id == BallotId::default() {
            if self.genesis <= self.evicted {
                return Err(TortoiseReject::UnknownBase { base: id });
            }
            Base { layer: self.genesis, tail: None, opinion: None }
        } else {
            let r = self.find_ballot(&id).ok_or(TortoiseReject::UnknownBase { base: id })?;
            let b = self.ballot(r);
            Base { layer: b.header.layer, tail: Some(b.votes), opinion: Some(b.header.opinion) }
        };
        if base.layer >= layer {
            return Err(TortoiseReject::BaseNotBefore { base_layer: base.layer, layer });
        }
        Ok(base)
    }

    /// The blocks the supports name that the tortoise does not know yet, within the bound.
    pub(super) fn new_blocks(
        &self,
        diff: &BTreeMap<LayerId, LayerDiff>,
    ) -> Result<Vec<(LayerId, BlockKey)>, TortoiseReject> {
        let mut out = Vec::new();
        for (&lid, d) in diff {
            let LayerDiff::Blocks(map) = d else { continue };
            let layer = self.layer(lid);
            let known = |k: &BlockKey| layer.is_some_and(|l| l.block_index(k).is_ok());
            let fresh: Vec<BlockKey> = map
                .iter()
                .filter(|(_, (_, s))| *s)
                .map(|(&id, &(height, _))| BlockKey { height, id })
                .filter(|k| !known(k))
                .collect();
            if fresh.is_empty() {
                continue;
            }
            if layer.map_or(0, |l| l.blocks.len()) + fresh.len() > self.cfg.blocks_per_layer_max {
                return Err(TortoiseReject::TooManyBlocks { layer: lid });
            }
            out.extend(fresh.into_iter().map(|k| (lid, k)));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ballot::wire::BlockVote;
    use crate::codec::BoundedVec;

    fn key(b: u8, height: u64) -> BlockKey {
        BlockKey { height, id: BlockId([b; 20]) }
    }

    /// The opinion hash chains the previous one and distinguishes support, against-all and
    /// abstain; the block encoding is `id || height (u64 LE)`.
    #[test]
    fn opinion_hash_layout() {
        let prev = Hash32([7; 32]);
        let against = opinion_hash(Some(&prev), &[], false);
        let abstain = opinion_hash(Some(&prev), &[], true);
        let support = opinion_hash(Some(&prev), &[key(1, 5)], false);
        assert_eq!(against, hash(&prev.0));
        assert_eq!(abstain, hash(&[prev.0.as_slice(), &[0]].concat()));
        let mut bytes = prev.0.to_vec();
        bytes.extend_from_slice(&[1; 20]);
        bytes.extend_from_slice(&5u64.to_le_bytes());
        assert_eq!(support, hash(&bytes));
        assert_ne!(against, abstain);
        assert_eq!(opinion_hash(None, &[], false), hash(&[]), "genesis: empty, no prev");
        // Support wins over the abstain flag in the hash (the flag is never set with supports).
        assert_eq!(opinion_hash(Some(&prev), &[key(1, 5)], true), support);
    }

    fn votes(support: &[(u8, u32, u64)], against: &[(u8, u32, u64)], abstain: &[u32]) -> Votes {
        let bv = |&(b, l, h): &(u8, u32, u64)| BlockVote {
            id: BlockId([b; 20]),
            layer: LayerId(l),
            height: h,
        };
        Votes {
            base: Default::default(),
            support: BoundedVec::new(support.iter().map(bv).collect()).unwrap(),
            against: BoundedVec::new(against.iter().map(bv).collect()).unwrap(),
            abstain: BoundedVec::new(abstain.iter().map(|&l| LayerId(l)).collect()).unwrap(),
        }
    }

    /// Exceptions are checked against the window and the ballot's layer, and conflicting
    /// entries for one block or one layer are refused.
    #[test]
    fn diff_bounds_and_conflicts() {
        let (ev, bl) = (LayerId(4), LayerId(10));
        assert!(build_diff(&votes(&[(1, 5, 0)], &[(2, 9, 0)], &[6]), ev, bl).is_ok());
        assert_eq!(
            build_diff(&votes(&[(1, 4, 0)], &[], &[]), ev, bl),
            Err(TortoiseReject::VoteOutsideWindow { layer: LayerId(4) })
        );
        assert_eq!(
            build_diff(&votes(&[], &[], &[10]), ev, bl),
            Err(TortoiseReject::VoteNotBefore { layer: LayerId(10), ballot_layer: bl })
        );
        assert_eq!(
            build_diff(&votes(&[(1, 5, 0)], &[(1, 5, 3)], &[]), ev, bl),
            Err(TortoiseReject::ConflictingVotes { layer: LayerId(5), block: BlockId([1; 20]) })
        );
        assert_eq!(
            build_diff(&votes(&[(1, 5, 0)], &[], &[5]), ev, bl),
            Err(TortoiseReject::AbstainConflict { layer: LayerId(5) })
        );
        assert_eq!(
            build_diff(&votes(&[], &[], &[6, 6]), ev, bl),
            Err(TortoiseReject::AbstainConflict { layer: LayerId(6) })
        );
    }

    /// Applying exceptions to a base vote: support adds, against removes (only at the same
    /// height), abstain clears, untouched layers copy the base.
    #[test]
    fn apply_exceptions_to_base_vote() {
        let base = LayerVote {
            supported: vec![key(1, 5), key(2, 6)],
            abstain: false,
            opinion: Hash32::default(),
            prev: None,
            prev_opinion: None,
        };
        assert_eq!(apply_diff(&base, None).unwrap(), (base.supported.clone(), false));
        assert_eq!(apply_diff(&base, Some(&LayerDiff::Abstain)).unwrap(), (vec![], true));
        let mut m = BTreeMap::new();
        m.insert(BlockId([1; 20]), (5, false));
        m.insert(BlockId([3; 20]), (1, true));
        assert_eq!(
            apply_diff(&base, Some(&LayerDiff::Blocks(m))).unwrap(),
            (vec![key(3, 1), key(2, 6)], false)
        );
        let mut wrong = BTreeMap::new();
        wrong.insert(BlockId([1; 20]), (9, false));
        assert_eq!(
            apply_diff(&base, Some(&LayerDiff::Blocks(wrong))),
            Err(TortoiseReject::AgainstWrongHeight { block: BlockId([1; 20]) })
        );
        let mut m = BTreeMap::new();
        m.insert(BlockId([4; 20]), (2, true));
        m.insert(BlockId([5; 20]), (2, false));
        assert_eq!(fresh_vote(Some(&LayerDiff::Blocks(m))), (vec![key(4, 2)], false));
        assert_eq!(fresh_vote(None), (vec![], false), "implicit against");
    }
}
