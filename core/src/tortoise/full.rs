//! The full tortoise, the self-healing path (protocol.md section 8; go-spacemesh
//! `tortoise/full.go`).
//!
//! Every ballot of a smesher not known malicious adds its weight to the margin of each block
//! it supports and subtracts it from each block it does not, on every layer it does not
//! abstain on, counting only blocks no higher than its ATX height; a layer where it supports
//! none of those gets its weight as an "empty" vote. A block is valid above the global
//! threshold, invalid below its negation; a layer without blocks verifies once the empty
//! votes cross. Ballots with a bad beacon count only `bad_beacon_vote_delay` layers later.

use crate::types::LayerId;

use super::Tortoise;
use super::state::{BallotRef, BlockKey, Sign};
use super::threshold::crosses;
use super::verifying::verify_layer;

impl Tortoise {
    /// Adds (`sign = 1`) or takes back (`sign = -1`) a ballot's votes in the full tally.
    fn full_apply(&mut self, r: BallotRef, sign: i128) {
        let ballot = self.ballot(r);
        let (w, height) = (ballot.header.weight * sign, ballot.header.atx.height());
        for v in self.chain(Some(ballot.votes)) {
            let layer = self.layer_at_mut(v.layer);
            let vote = &layer.votes[v.index as usize];
            if vote.abstain {
                continue;
            }
            let mut empty = true;
            for block in layer.blocks.iter_mut().filter(|b| b.key.height <= height) {
                if vote.supports(&block.key) {
                    empty = false;
                    block.margin += w;
                } else {
                    block.margin -= w;
                }
            }
            layer.empty += if empty { w } else { -w };
        }
    }

    /// Counts a ballot in the full tally, unless it is malicious or must wait for its
    /// bad-beacon delay (then it is queued for the layer it becomes countable in).
    pub(super) fn full_count(&mut self, r: BallotRef) {
        let ballot = self.ballot(r);
        if ballot.malicious || ballot.full_counted {
            return;
        }
        if ballot.bad_beacon == Some(true) {
            let due = LayerId(ballot.header.layer.0.saturating_add(self.cfg.bad_beacon_vote_delay));
            if due > self.last {
                self.delayed.entry(due).or_default().push(r);
                return;
            }
        }
        self.full_apply(r, 1);
        self.ballot_mut(r).full_counted = true;
    }

    /// Takes a counted ballot's votes back out of the full tally (its smesher turned out
    /// malicious).
    pub(super) fn full_uncount(&mut self, r: BallotRef) {
        if self.ballot(r).full_counted {
            self.full_apply(r, -1);
            self.ballot_mut(r).full_counted = false;
        }
    }

    /// Counts the bad-beacon ballots that became countable at `lid`.
    pub(super) fn full_count_delayed(&mut self, lid: LayerId) {
        for r in self.delayed.remove(&lid).unwrap_or_default() {
            self.full_count(r);
        }
    }

    /// A block appeared after ballots of later layers were counted: their silence on it was
    /// a vote against (unless they abstained on its layer or it is above their height).
    pub(super) fn count_for_late_block(&mut self, lid: LayerId, key: BlockKey) {
        let mut against = 0;
        for l in lid.0 + 1..=self.full_counted.0 {
            for r in self.ballot_refs(LayerId(l)) {
                let ballot = self.ballot(r);
                if !ballot.full_counted || key.height > ballot.header.atx.height() {
                    continue;
                }
                if self.vote_on(ballot.votes, lid).is_some_and(|v| !self.vote(v).abstain) {
                    against += ballot.header.weight;
                }
            }
        }
        if against != 0 {
            let layer = self.layer_at_mut(lid);
            let i = layer.block_index(&key).expect("the late block was just added");
            layer.blocks[i].margin -= against;
        }
    }

    /// Tries to verify `lid` from the full tally. Returns (verified, validity changed).
    pub(super) fn full_verify(&mut self, lid: LayerId) -> (bool, bool) {
        let threshold = self.global_threshold(lid);
        let layer = self.layer_at(lid);
        let empty = crosses(layer.empty, 1, threshold) == Sign::Support;
        if layer.blocks.is_empty() {
            return (empty, false);
        }
        let decisions = layer
            .blocks
            .iter()
            .map(|b| match crosses(b.margin, 1, threshold) {
                Sign::Neutral if empty => Sign::Against,
                d => d,
            })
            .collect();
        verify_layer(&mut self.layer_at_mut(lid).blocks, decisions)
    }
}
