//! The verifying tortoise, the fast path (protocol.md section 8; go-spacemesh
//! `tortoise/verifying.go`).
//!
//! A ballot is *good* when its beacon is the epoch's, its smesher is not malicious, its opinion
//! of the layer below equals the local opinion, and its ATX height is at least that layer's
//! reference height. A hare-terminated layer is verified when the good weight after it, less
//! the weight still expected but not counted, crosses the global threshold; its blocks then take
//! their local votes.

use crate::types::LayerId;

use super::Tortoise;
use super::state::{BallotRef, BlockInfo, Sign, within_distance};
use super::threshold::crosses;

/// Applies the decisions on a layer's blocks (sorted by height, `decisions[i]` for
/// `blocks[i]`): the layer is verified when every block is decided, except that undecided
/// blocks higher than a supported one are against. Returns (verified, validity changed) and
/// writes the decisions only when verified (go-spacemesh `verifyLayer`).
pub(super) fn verify_layer(blocks: &mut [BlockInfo], mut decisions: Vec<Sign>) -> (bool, bool) {
    debug_assert_eq!(blocks.len(), decisions.len());
    let mut supported_height: Option<u64> = None;
    for (block, decision) in blocks.iter().zip(decisions.iter_mut()) {
        match *decision {
            Sign::Neutral => match supported_height {
                Some(h) if block.key.height > h => *decision = Sign::Against,
                _ => return (false, false),
            },
            Sign::Support => supported_height = Some(block.key.height),
            Sign::Against => {}
        }
    }
    let mut changed = false;
    for (block, decision) in blocks.iter_mut().zip(decisions) {
        changed |= block.validity != decision;
        block.validity = decision;
    }
    (true, changed)
}

impl Tortoise {
    /// The local vote on a block: within hdist the hare's, else its validity once verified,
    /// else neutral (go-spacemesh `getLocalVote`).
    pub(super) fn local_vote(&self, lid: LayerId, block: &BlockInfo, last: LayerId) -> Sign {
        if within_distance(self.cfg.hdist, lid, last) {
            return self.layer_at(lid).hare_sign(&block.key);
        }
        if lid > self.verified { Sign::Neutral } else { block.validity }
    }

    /// Counts a ballot of a processed layer if it is good.
    pub(super) fn verifying_count(&mut self, r: BallotRef) {
        let ballot = self.ballot(r);
        let Some(prev) = self.layer(LayerId(ballot.header.layer.0 - 1)) else { return };
        let good = ballot.bad_beacon == Some(false)
            && !ballot.malicious
            && prev.opinion == ballot.header.opinion
            && prev.reference_height <= ballot.header.atx.height();
        if !good {
            return;
        }
        let (w, from) = (ballot.header.weight, ballot.header.layer);
        for l in from.0..=self.processed.0 {
            self.layer_at_mut(LayerId(l)).good_uncounted += w;
        }
        self.total_good += w;
    }

    /// Forgets the good weight of ballots after `voted` (whose goodness may have changed) and
    /// counts them again.
    pub(super) fn verifying_recount_after(&mut self, voted: LayerId) {
        let base = self.layer_at(voted).good_uncounted;
        self.total_good = base;
        for l in voted.0 + 1..=self.processed.0 {
            self.layer_at_mut(LayerId(l)).good_uncounted = base;
        }
        for l in voted.0 + 1..=self.processed.0 {
            for r in self.ballot_refs(LayerId(l)) {
                self.verifying_count(r);
            }
        }
    }

    /// Forgets all good weight and counts every processed ballot again.
    pub(super) fn verifying_recount_all(&mut self) {
        self.total_good = 0;
        for layer in self.layers.iter_mut() {
            layer.good_uncounted = 0;
        }
        for l in self.evicted.0 + 1..=self.processed.0 {
            for r in self.ballot_refs(LayerId(l)) {
                self.verifying_count(r);
            }
        }
    }

    /// Tries to verify `lid` from good weight. Returns (verified, validity changed).
    pub(super) fn verifying_verify(&mut self, lid: LayerId) -> (bool, bool) {
        let layer = self.layer_at(lid);
        if !layer.hare_terminated() {
            return (false, false);
        }
        // All in units of 1/LPE so that the prorated expected weight stays exact.
        let lpe = i128::from(self.cfg.layers_per_epoch);
        let mut margin = (self.total_good - layer.good_uncounted) * lpe;
        let uncounted = self.expected_weight(lid) - margin;
        if uncounted > 0 {
            margin -= uncounted;
        }
        if crosses(margin, lpe, self.global_threshold(lid)) != Sign::Support {
            return (false, false);
        }
        let reference_height = layer.reference_height;
        let last = self.last;
        let decisions: Vec<Sign> = layer
            .blocks
            .iter()
            .map(|b| {
                if b.key.height > reference_height {
                    Sign::Neutral
                } else {
                    self.local_vote(lid, b, last)
                }
            })
            .collect();
        verify_layer(&mut self.layer_at_mut(lid).blocks, decisions)
    }
}
