//! The per-layer agreement of a node: hare sessions, the block built from each hare output,
//! and the certificate of that block.
//!
//! - At a layer's start the node starts its hare session (when the epoch's beacon and active
//!   set are known); just before the preround it hands the protocol its candidate proposals:
//!   the layer's valid proposals with the epoch beacon, of identities not known malicious, one
//!   per ATX.
//! - Hare messages from gossip are validated by [`Hare::on_message`]; an equivocation becomes
//!   a malfeasance proof that is recorded and gossiped like any other.
//! - A hare output becomes a block (every honest node derives the same one; blocks are never
//!   gossiped). A non-empty block is certified: identities drawn into the certifier committee
//!   sign its id, and the messages gossiped add up to a certificate once they reach the
//!   threshold.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;

use super::{Consensus, ConsensusEvent, ConsensusOutput};
use crate::block::{self, ProposalInfo};
use crate::certifier::{CERTIFY_ROUND, CertifyMessage};
use crate::codec::{Encode, decode_shared};
use crate::fetch::Hint;
use crate::gossip::{MsgId, Topic, Verdict};
use crate::hare::wire::{HARE_MESSAGE_MAX, HareMessage};
use crate::hare::{Committee, HareOutput};
use crate::types::{EpochId, Hash32, LayerId, ProposalId, Time};

impl Consensus {
    /// The committee of `epoch`: its beacon and active set weights, once both are known.
    pub(super) fn committee(&mut self, epoch: EpochId) -> Option<Arc<Committee>> {
        if let Some(c) = self.committees.get(&epoch) {
            return Some(c.clone());
        }
        let set = self.active_sets.get(&epoch)?.set();
        let beacon = *self.beacons.get(&epoch)?;
        let weights = set
            .atxs
            .iter()
            .filter_map(|id| self.atxs.store().get(id))
            .map(|h| (h.smesher, h.weight))
            .collect();
        let committee = self.verifier.share_committee(Committee {
            epoch,
            beacon,
            total_weight: set.weight,
            weights,
        });
        self.committees.insert(epoch, committee.clone());
        while self.committees.len() > 3 {
            self.committees.pop_first();
        }
        Some(committee)
    }

    /// Starts the hare session of a layer that just began.
    pub(super) fn start_hare(&mut self, now: Time, layer: LayerId) {
        let epoch = self.cfg.clock.epoch_of(layer);
        if let Some(committee) = self.committee(epoch)
            && committee.total_weight > 0
        {
            self.hare.start(now, layer, committee);
        }
    }

    /// Runs due hare rounds.
    pub(super) fn tick_hare(&mut self, now: Time) {
        let (ballots, malicious, beacons, clock) =
            (&self.ballots, &self.malicious, &self.beacons, self.cfg.clock);
        self.hare.on_tick(now, |layer| {
            let beacon = beacons.get(&clock.epoch_of(layer)).copied();
            candidates(ballots, malicious, beacon, layer)
        });
        self.drain_hare(now);
    }

    pub(super) fn on_hare_gossip(&mut self, now: Time, id: MsgId, data: &Bytes) {
        let verdict = if data.len() > HARE_MESSAGE_MAX {
            Verdict::Reject
        } else {
            match decode_shared::<HareMessage>(data) {
                Err(_) => Verdict::Reject,
                Ok(msg) => {
                    let malicious = self.malicious.contains(&msg.sender);
                    match self.hare.on_message(&msg, malicious, self.verifier.as_ref()) {
                        Ok(()) => Verdict::Accept,
                        Err(e) => e.verdict(),
                    }
                }
            }
        };
        self.outputs.push_back(ConsensusOutput::Verdict(id, verdict));
        self.drain_hare(now);
    }

    fn drain_hare(&mut self, now: Time) {
        while let Some(out) = self.hare.poll_output() {
            match out {
                HareOutput::Publish(bytes) => {
                    self.outputs.push_back(ConsensusOutput::Publish(Topic::Hare, bytes))
                }
                HareOutput::Malfeasance(proof) => self.on_detected(now, proof),
                HareOutput::Coin { layer, coin } => {
                    self.tortoise.on_weak_coin(layer, coin);
                    self.outputs
                        .push_back(ConsensusOutput::Event(ConsensusEvent::WeakCoin { layer, coin }))
                }
                HareOutput::Output { layer, proposals, iteration, preround_seats, threshold } => {
                    self.outputs.push_back(ConsensusOutput::Event(ConsensusEvent::HareOutput {
                        layer,
                        proposals: proposals.clone(),
                        iteration,
                        preround_seats,
                        threshold,
                    }));
                    self.build_block(now, layer, &proposals);
                }
                HareOutput::Equivocated { layer, .. } => self
                    .outputs
                    .push_back(ConsensusOutput::Event(ConsensusEvent::Equivocated { layer })),
                HareOutput::Ended { layer, end, iteration } => {
                    self.outputs.push_back(ConsensusOutput::Event(ConsensusEvent::HareEnded {
                        layer,
                        end,
                        iteration,
                    }))
                }
            }
        }
    }

    /// Builds the layer's block from the hare output and certifies it.
    pub(super) fn build_block(&mut self, now: Time, layer: LayerId, proposals: &[ProposalId]) {
        let by_proposal: BTreeMap<ProposalId, &crate::ballot::handler::BallotRecord> = self
            .ballots
            .layer(layer)
            .into_iter()
            .flat_map(|r| r.records())
            .map(|r| (r.proposal, &**r))
            .collect();
        let mut infos = Vec::with_capacity(proposals.len());
        let mut missing = 0;
        for id in proposals {
            let record = by_proposal.get(id).copied();
            if record.is_none() {
                // Asked of peers by its own id, as go-spacemesh's block generator does; it is
                // validated as from gossip and the block is built again when it is accepted.
                self.fetcher.want(Hint::Proposal, super::mesh::proposal_key(layer, id), None);
            }
            let header = record.and_then(|r| self.atxs.store().get(&r.atx));
            match (record, header) {
                (Some(r), Some(h)) => infos.push(ProposalInfo {
                    id: *id,
                    atx: r.atx,
                    atx_weight: h.weight,
                    atx_base_height: h.base_height,
                    slots: r.slots,
                    eligibilities: r.eligibilities,
                    tx_ids: r.tx_ids.clone(),
                }),
                _ => missing += 1,
            }
        }
        // Every node orders the block's transactions by their bytes (each account's by nonce),
        // so a block is built only once all of them are here; missing ones are fetched.
        let unknown: Vec<Hash32> = infos
            .iter()
            .flat_map(|p| p.tx_ids.iter())
            .filter(|id| !self.tx_bytes.contains_key(*id))
            .copied()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if missing == 0 && !unknown.is_empty() {
            self.want_txs(&unknown, None);
            self.unbuilt.insert(layer, proposals.to_vec());
            while self.unbuilt.len() > self.layers_kept() {
                self.unbuilt.pop_first();
            }
            let reason = format!("{} transactions of the output unknown", unknown.len());
            return self
                .outputs
                .push_back(ConsensusOutput::Event(ConsensusEvent::BlockFailed { layer, reason }));
        }
        if missing > 0 {
            // Built again when the missing proposals arrive (sync, or a late ballot).
            self.unbuilt.insert(layer, proposals.to_vec());
            while self.unbuilt.len() > self.layers_kept() {
                self.unbuilt.pop_first();
            }
            let reason =
                format!("{missing} of {} proposals of the output unknown", proposals.len());
            return self
                .outputs
                .push_back(ConsensusOutput::Event(ConsensusEvent::BlockFailed { layer, reason }));
        }
        let kept = &self.tx_bytes;
        let header = |id: &Hash32| kept.get(id).and_then(|(raw, _)| crate::tx::nonce_of(raw).ok());
        let built = match block::build(&self.cfg.block, layer, &infos, header) {
            Ok(b) => b,
            Err(e) => {
                return self.outputs.push_back(ConsensusOutput::Event(
                    ConsensusEvent::BlockFailed { layer, reason: e.to_string() },
                ));
            }
        };
        self.unbuilt.remove(&layer);
        let id = built.as_ref().map(|b| b.id());
        let rewards = built.as_ref().map_or(0, |b| b.inner.rewards.len() as u32);
        if let Some(b) = built {
            self.keep_block(b);
        }
        self.hare_block(layer, id);
        self.outputs.push_back(ConsensusOutput::Event(ConsensusEvent::Block {
            layer,
            block: id,
            proposals: proposals.len() as u32,
            rewards,
        }));
        if let Some(block) = id {
            self.certify(now, layer, block);
        }
        self.apply_decisions(None);
    }

    /// Signs a certify message for the layer's block if this node is in the committee.
    fn certify(&mut self, now: Time, layer: LayerId, block: crate::types::BlockId) {
        if !self.sync.synced || !self.smeshing {
            return;
        }
        let epoch = self.cfg.clock.epoch_of(layer);
        let Some(committee) = self.committee(epoch) else { return };
        let me = self.signer.node_id();
        let Some(&weight) = committee.weights.get(&me) else { return };
        if self.malicious.contains(&me) {
            return;
        }
        let size = self.cfg.certifier.committee_size;
        let sortition = committee.sortition(layer, CERTIFY_ROUND, size);
        let Ok(Some((proof, count))) =
            sortition.draw_if_seated(&mut self.own_seats, &self.seed, &me.0, weight)
        else {
            return;
        };
        let msg = CertifyMessage::sign(&self.signer, layer, block, count, proof);
        self.outputs.push_back(ConsensusOutput::Publish(Topic::Certify, msg.encode().into()));
        let _ = self.take_certify(now, msg);
    }

    pub(super) fn on_certify_gossip(&mut self, now: Time, id: MsgId, data: &Bytes) {
        let verdict = match decode_shared::<CertifyMessage>(data) {
            Err(_) => Verdict::Reject,
            Ok(msg) => match self.take_certify(now, msg) {
                Ok(()) => Verdict::Accept,
                Err(v) => v,
            },
        };
        self.outputs.push_back(ConsensusOutput::Verdict(id, verdict));
    }

    /// Counts a certify message; `Err` carries the verdict of a message that does not count.
    fn take_certify(&mut self, now: Time, msg: CertifyMessage) -> Result<(), Verdict> {
        let clock = self.cfg.clock;
        let epoch = clock.epoch_of(msg.layer);
        let Some(committee) = self.committee(epoch) else { return Err(Verdict::Ignore) };
        let sortition =
            committee.sortition(msg.layer, CERTIFY_ROUND, self.cfg.certifier.committee_size);
        let weight = committee.weights.get(&msg.smesher).copied();
        let malicious = self.malicious.contains(&msg.smesher);
        let current = clock.layer_at(now);
        match self.certifier.on_message(
            current,
            msg,
            &sortition,
            weight,
            malicious,
            self.verifier.as_ref(),
        ) {
            Ok(Some(cert)) => {
                self.hare_block(cert.layer, Some(cert.block));
                self.outputs.push_back(ConsensusOutput::Event(ConsensusEvent::Certified {
                    layer: cert.layer,
                    block: cert.block,
                    signatures: cert.signatures.len() as u32,
                }));
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(e) if e.penalize() => Err(Verdict::Reject),
            Err(_) => Err(Verdict::Ignore),
        }
    }
}

/// A layer's hare candidates: valid proposals with the epoch beacon, of identities not known
/// malicious, at most one per ATX (an ATX with two proposals contributes none), sorted.
fn candidates(
    ballots: &crate::ballot::handler::BallotHandler,
    malicious: &crate::malfeasance::MaliciousSet,
    beacon: Option<crate::types::Beacon>,
    layer: LayerId,
) -> Vec<ProposalId> {
    let Some(records) = ballots.layer(layer) else { return Vec::new() };
    let mut seen = BTreeSet::new();
    let mut doubled = BTreeSet::new();
    for r in records.records() {
        if !seen.insert(r.atx) {
            doubled.insert(r.atx);
        }
    }
    let mut ids: Vec<ProposalId> = records
        .records()
        .filter(|r| Some(r.beacon) == beacon)
        .filter(|r| !malicious.contains(&r.smesher) && !doubled.contains(&r.atx))
        .map(|r| r.proposal)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}
