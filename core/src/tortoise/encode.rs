//! Encoding the node's own votes (protocol.md section 8; go-spacemesh `tortoise/tortoise.go`
//! `EncodeVotes`, `encodeVotes`, `getFullVote`).
//!
//! The votes of a ballot in layer `current` are a base ballot plus the exceptions that turn the
//! base's opinion into the local one. Candidates are tried from the newest layer down (ballots
//! of one layer in id order, malicious ones skipped, the genesis pseudo-ballot at the
//! effective genesis layer); the first that needs at most `max_exceptions` exceptions wins.

use crate::ballot::wire::{BlockVote, VOTES_MAX, Votes};
use crate::codec::BoundedVec;
use crate::types::{BallotId, LayerId};

use super::state::{BlockInfo, Sign, within_distance};
use super::threshold::crosses;
use super::votes::{Base, build_diff};
use super::{EncodeError, Opinion, Tortoise};

impl Tortoise {
    /// The local vote on a block for a ballot in `current`: against without its data; the
    /// hare's within hdist; its validity once verified; else the full tally against the local
    /// threshold, and the weak coin of `current - 1` when that is undecided.
    pub(super) fn full_vote(
        &self,
        lid: LayerId,
        block: &BlockInfo,
        current: LayerId,
    ) -> Result<bool, EncodeError> {
        if !block.data {
            return Ok(false);
        }
        if within_distance(self.cfg.hdist, lid, current) {
            return Ok(self.layer_at(lid).hare_sign(&block.key) == Sign::Support);
        }
        if lid <= self.verified && block.validity != Sign::Neutral {
            return Ok(block.validity == Sign::Support);
        }
        match crosses(block.margin, 1, self.local_threshold()) {
            Sign::Support => Ok(true),
            Sign::Against => Ok(false),
            Sign::Neutral => {
                let coin_layer = LayerId(current.0 - 1);
                self.layer(coin_layer)
                    .and_then(|l| l.coin)
                    .ok_or(EncodeError::MissingCoin { layer: coin_layer })
            }
        }
    }

    /// The candidates for a base ballot in `lid`.
    pub(super) fn base_candidates(&self, lid: LayerId) -> Vec<(BallotId, Base)> {
        if lid == self.genesis {
            return vec![(BallotId::default(), Base { layer: lid, tail: None, opinion: None })];
        }
        let Some(layer) = self.layer(lid) else { return Vec::new() };
        let mut out: Vec<(BallotId, Base)> = layer
            .ballots
            .iter()
            .filter(|b| !b.malicious)
            .map(|b| {
                (
                    b.header.id,
                    Base { layer: lid, tail: Some(b.votes), opinion: Some(b.header.opinion) },
                )
            })
            .collect();
        out.sort_by_key(|(id, _)| *id);
        out
    }

    /// See [`Tortoise::encode_votes`].
    pub(super) fn encode(&self, current: LayerId) -> Result<Opinion, EncodeError> {
        if !self.retriable.is_empty() {
            return Err(EncodeError::BallotsPending { count: self.retriable.len() });
        }
        if current <= self.genesis {
            return Err(EncodeError::NotAfterGenesis { layer: current });
        }
        let mut last_error = None;
        for lid in (self.evicted.0 + 1..current.0).rev() {
            for (id, base) in self.base_candidates(LayerId(lid)) {
                match self.encode_with(id, &base, current) {
                    Ok(opinion) => return Ok(opinion),
                    Err(e) => last_error = Some(e),
                }
            }
        }
        Err(last_error.unwrap_or(EncodeError::NoBaseBallot))
    }

    /// The exceptions that turn `base`'s opinion into the local one for a ballot in `current`.
    pub(super) fn encode_with(
        &self,
        id: BallotId,
        base: &Base,
        current: LayerId,
    ) -> Result<Opinion, EncodeError> {
        let (mut support, mut against, mut abstain) = (Vec::new(), Vec::new(), Vec::new());
        let vote_on = |lid: LayerId, b: &BlockInfo| BlockVote {
            id: b.key.id,
            layer: lid,
            height: b.key.height,
        };
        // Layers the base voted on: only differences.
        for r in self.chain(base.tail) {
            let vote = self.vote(r);
            let layer = self.layer_at(r.layer);
            match (vote.abstain, layer.hare_terminated()) {
                (true, true) => return Err(EncodeError::BaseAbstains { base: id, layer: r.layer }),
                (false, false) => {
                    abstain.push(r.layer);
                    continue;
                }
                (true, false) => continue,
                (false, true) => {}
            }
            for block in &layer.blocks {
                let local = self.full_vote(r.layer, block, current)?;
                if local == vote.supports(&block.key) {
                    continue;
                }
                if local {
                    support.push(vote_on(r.layer, block))
                } else {
                    against.push(vote_on(r.layer, block))
                }
            }
        }
        // Layers after the base: supports only, everything else is against by default.
        for lid in base.layer.0..current.0 {
            let lid = LayerId(lid);
            match self.layer(lid) {
                Some(layer) if layer.hare_terminated() => {
                    for block in &layer.blocks {
                        if self.full_vote(lid, block, current)? {
                            support.push(vote_on(lid, block));
                        }
                    }
                }
                _ => abstain.push(lid),
            }
        }
        let exceptions = support.len() + against.len();
        if exceptions > self.cfg.max_exceptions
            || support.len() > VOTES_MAX
            || against.len() > VOTES_MAX
            || abstain.len() > VOTES_MAX
        {
            return Err(EncodeError::TooManyExceptions {
                base: id,
                count: exceptions + abstain.len(),
            });
        }
        let order = |v: &BlockVote| (v.layer, v.height, v.id);
        support.sort_by_key(order);
        against.sort_by_key(order);
        abstain.sort();
        let votes = Votes {
            base: id,
            support: BoundedVec::new(support).expect("bounded above"),
            against: BoundedVec::new(against).expect("bounded above"),
            abstain: BoundedVec::new(abstain).expect("bounded above"),
        };
        let diff = build_diff(&votes, self.evicted, current).map_err(EncodeError::Inconsistent)?;
        let plan = self.plan_votes(base, current, &diff).map_err(EncodeError::Inconsistent)?;
        Ok(Opinion { hash: plan.opinion(), votes })
    }
}
