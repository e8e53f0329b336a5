//! The node's tortoise and mesh: what every ballot, block, hare output and weak coin feeds
//! into the tortoise, how this node's ballots take their votes from it, and how its layer
//! updates are applied to (or reverted from) the mesh.
//!
//! - ATXs are given to the tortoise when accepted, beacons when decided, malfeasance when
//!   proven; ballots when accepted (a ballot whose base ballot is not known yet waits for it,
//!   bounded); blocks when built from a hare output or fetched; hare outputs and certificates
//!   as the layer's hare block; weak coins as they come.
//! - At each layer start the finished layer is tallied and the updates are applied: a verified
//!   layer applies its valid block (the lowest by height and id when several are valid, none
//!   when none is); an unverified layer applies the block this node built from the hare output
//!   (optimistically), and the mesh stops at the first layer with no decision yet. When a
//!   decision changes for an applied layer, the mesh reverts to the layer before it and
//!   re-applies. A valid block this node does not hold is fetched by id.
//! - Blocks that ballots vote for and this node lacks are fetched by id (after a partition
//!   each side lacks the other's hare blocks, and the tortoise votes against a block it does
//!   not hold).
//! - This node's ballot votes are the tortoise's encoded opinion; a balancing attacker (see
//!   [`Voting`]) turns its support of the previous layer's blocks into votes against on every
//!   other layer.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Consensus, ConsensusEvent, ConsensusOutput, Voting};
use crate::ballot::handler::BallotRecord;
use crate::ballot::wire::Votes;
use crate::block::Block;
use crate::codec::{BoundedVec, Encode, decode_exact};
use crate::fetch::Hint;
use crate::mesh::{ApplyEnv, MeshError};
use crate::tortoise::{LayerUpdate, TortoiseReject};
use crate::types::{BallotId, BlockId, Hash32, LayerId, PeerId, ProposalId};

/// Ballots waiting for their base ballot, at most.
pub(super) const WAITING_MAX: usize = 4096;

/// What the mesh applies at a layer: `Some(block or None for empty)`, or undecided.
type Decision = Option<Option<BlockId>>;

impl Consensus {
    /// Gives an accepted ballot and its votes to the tortoise; one whose base is unknown waits
    /// for it (and is asked of `peer`).
    pub(super) fn feed_ballot(
        &mut self,
        layer: LayerId,
        record: &BallotRecord,
        votes: Votes,
        peer: Option<PeerId>,
    ) {
        let mut work = vec![(layer, record.clone(), votes)];
        while let Some((layer, r, votes)) = work.pop() {
            let input = crate::tortoise::BallotInput {
                id: r.id,
                layer,
                atx: r.atx,
                smesher: r.smesher,
                eligibilities: r.eligibilities,
                slots: r.slots,
                beacon: r.beacon,
                votes: &votes,
                verifier: &*self.verifier,
            };
            match self.tortoise.on_ballot(input) {
                Ok(()) => {
                    // A block voted for that this node lacks is fetched: the tortoise votes
                    // against blocks without data, which would keep a healed split apart.
                    for v in votes.support.iter() {
                        if !self.block_data.contains_key(&(v.layer, v.id)) {
                            self.fetcher.want(Hint::Block, block_key(&v.id), peer);
                        }
                    }
                    if let Some(waiting) = self.waiting_ballots.remove(&r.id) {
                        work.extend(waiting);
                    }
                }
                Err(TortoiseReject::UnknownBase { base }) => {
                    if self.waiting_ballots.values().map(Vec::len).sum::<usize>() < WAITING_MAX {
                        self.waiting_ballots.entry(base).or_default().push((layer, r, votes));
                        self.fetcher.want(Hint::Ballot, ballot_key(&base), peer);
                    }
                }
                Err(_) => {}
            }
        }
    }

    /// A block this node holds (built or fetched).
    pub(super) fn keep_block(&mut self, block: Block) {
        let (id, layer) = (block.id(), block.inner.layer);
        self.tortoise.on_block(id, layer, block.inner.tick_height);
        self.block_data.insert((layer, id), self.verifier.share_block(id, block));
        let oldest = LayerId(self.mesh.applied().0.saturating_sub(self.cfg.layers_kept));
        while self.block_data.first_key_value().is_some_and(|((l, _), _)| *l < oldest) {
            self.block_data.pop_first();
        }
    }

    /// The hare's (or a certificate's) block of a layer.
    pub(super) fn hare_block(&mut self, layer: LayerId, block: Option<BlockId>) {
        self.hare_blocks.insert(layer, block);
        while self.hare_blocks.len() > self.layers_kept() {
            self.hare_blocks.pop_first();
        }
        self.tortoise.on_hare_output(layer, block);
    }

    /// Tallies every layer up to `last` and applies what changed.
    pub(super) fn tally_layers(&mut self, last: LayerId) {
        self.tortoise.tally_votes(last);
        self.take_updates();
    }

    /// Takes the tortoise's updates into the decisions and brings the mesh in line.
    pub(super) fn take_updates(&mut self) {
        let updates = self.tortoise.updates();
        for u in &updates {
            let d = self.decide(u);
            self.decisions.insert(u.layer, d);
        }
        let verified = self.tortoise.latest_verified();
        let keep_from = LayerId(verified.0.saturating_sub(self.cfg.tortoise.window));
        while self.decisions.first_key_value().is_some_and(|(l, _)| *l < keep_from) {
            self.decisions.pop_first();
        }
        // Apply first, then report: a layer verified for the first time may revert what the
        // hare's block applied optimistically, and that revert belongs to the layers before
        // they are verified, not after.
        self.apply_decisions(updates.first().map(|u| u.layer));
        if verified != self.verified {
            self.verified = verified;
            let opinion = self.tortoise.opinion(verified).unwrap_or_default();
            self.outputs.push_back(ConsensusOutput::Event(ConsensusEvent::Verified {
                layer: verified,
                opinion,
                settled: self.tortoise.settled_opinion(),
            }));
        }
    }

    fn decide(&self, u: &LayerUpdate) -> Decision {
        if u.verified {
            return Some(u.blocks.iter().find(|b| b.valid).map(|b| b.id));
        }
        // Not verified yet: the hare's block, optimistically (the tortoise may revert it).
        self.hare_blocks.get(&u.layer).copied()
    }

    /// Reverts applied layers whose decision changed (from `changed` on) and applies decided
    /// layers in order while their blocks are at hand.
    pub(super) fn apply_decisions(&mut self, changed: Option<LayerId>) {
        let applied = self.mesh.applied();
        if let Some(from) = changed {
            let mut l = from;
            while l <= applied {
                let held = self.mesh.layer(l).map(|a| a.block);
                let want = self.decisions.get(&l).copied().flatten();
                if held.is_some() && want.is_some() && held != want {
                    self.revert_to(LayerId(l.0 - 1));
                    break;
                }
                l = LayerId(l.0 + 1);
            }
        }
        loop {
            let next = LayerId(self.mesh.applied().0 + 1);
            let Some(Some(decision)) = self.decisions.get(&next).copied() else { break };
            let block = match decision {
                None => None,
                Some(id) => match self.block_data.get(&(next, id)) {
                    Some(b) => Some(Arc::clone(b)),
                    None => {
                        self.fetcher.want(Hint::Block, block_key(&id), None);
                        break;
                    }
                },
            };
            let store = self.atxs.store();
            let coinbase =
                |atx: &crate::activation::wire::AtxId| store.get(atx).map(|h| h.coinbase);
            let kept = &self.tx_bytes;
            let tx_bytes = |id: &Hash32| kept.get(id).map(|(raw, _)| raw.clone());
            let env = ApplyEnv {
                coinbase: &coinbase,
                tx: &tx_bytes,
                genesis: self.genesis,
                verifier: self.verifier.as_ref(),
            };
            match self.mesh.apply(next, block.as_deref(), &env) {
                Ok(applied) => {
                    let layer = applied.layer;
                    self.outputs.push_back(ConsensusOutput::Persist(applied.batch));
                    let opinion = self.tortoise.opinion(next).unwrap_or_default();
                    self.outputs.push_back(ConsensusOutput::Event(ConsensusEvent::LayerApplied {
                        layer: next,
                        block: layer.block,
                        state: layer.state,
                        root: layer.root,
                        opinion,
                        issued: layer.issued,
                        fees: layer.fees,
                    }));
                    self.after_apply(next, &applied.txs, &applied.changes);
                }
                Err(MeshError::MissingTx { tx, .. }) => {
                    // Fetched from whoever has it; the apply is tried again when it arrives.
                    self.fetcher.want(Hint::Tx, tx, None);
                    break;
                }
                Err(e) => {
                    self.outputs.push_back(ConsensusOutput::Event(ConsensusEvent::BlockFailed {
                        layer: next,
                        reason: format!("mesh: {e}"),
                    }));
                    break;
                }
            }
        }
    }

    fn revert_to(&mut self, to: LayerId) {
        crate::coverage::mark(crate::coverage::MESH_REVERT);
        let from = self.mesh.applied();
        match self.mesh.revert(to) {
            Ok((batch, restored)) => {
                self.outputs.push_back(ConsensusOutput::Persist(batch));
                self.after_revert(to, &restored);
                self.outputs.push_back(ConsensusOutput::Event(ConsensusEvent::Reverted {
                    from: LayerId(to.0 + 1),
                    to: from,
                }));
            }
            Err(e) => panic!("the mesh cannot revert to {to}: {e}"),
        }
    }

    /// A block fetched by id: kept if it hashes to the id asked for.
    pub(super) fn on_fetched_block(&mut self, hash: Hash32, data: &[u8]) -> bool {
        let Ok(block) = decode_exact::<Block>(data) else { return false };
        if block_key(&block.id()) != hash {
            return false;
        }
        self.keep_block(block);
        self.apply_decisions(None);
        true
    }

    /// This node's votes for a ballot in `layer`, and their hash.
    pub(super) fn own_votes(&self, layer: LayerId) -> Option<Votes> {
        let mut votes = match self.tortoise.encode_votes(layer) {
            Ok(o) => o.votes,
            Err(_) => return None,
        };
        if let Voting::Balancing { until } = self.cfg.voting
            && layer < until
            && layer.0.is_multiple_of(2)
        {
            let prev = LayerId(layer.0 - 1);
            let (moved, kept): (Vec<_>, Vec<_>) =
                votes.support.iter().cloned().partition(|v| v.layer == prev);
            let mut against = votes.against.to_vec();
            against.extend(moved);
            against.sort_by_key(|v| (v.layer, v.height, v.id));
            votes.support = BoundedVec::truncating(kept);
            votes.against = BoundedVec::truncating(against);
        }
        Some(votes)
    }

    /// Served to peers: an encoded block this node holds.
    pub(super) fn served_block(&self, hash: &Hash32) -> Option<Vec<u8>> {
        self.block_data.iter().find(|((_, id), _)| block_key(id) == *hash).map(|(_, b)| b.encode())
    }
}

/// A block id as a fetch hash (zero-padded).
pub(super) fn block_key(id: &BlockId) -> Hash32 {
    let mut h = [0u8; 32];
    h[..BlockId::LEN].copy_from_slice(&id.0);
    Hash32(h)
}

/// A ballot id as a fetch hash (zero-padded).
pub(super) fn ballot_key(id: &BallotId) -> Hash32 {
    let mut h = [0u8; 32];
    h[..20].copy_from_slice(&id.0);
    Hash32(h)
}

/// The fetch key of the proposal `id` of `layer` ([`Hint::Proposal`]): the layer lets a peer
/// look it up among that layer's ballots.
pub(super) fn proposal_key(layer: LayerId, id: &ProposalId) -> Hash32 {
    let mut h = [0u8; 32];
    h[..20].copy_from_slice(&id.0);
    h[20..24].copy_from_slice(&layer.0.to_be_bytes());
    Hash32(h)
}

/// The layer and proposal id of a [`proposal_key`]; `None` when its padding is not zero.
pub(super) fn proposal_of_key(hash: &Hash32) -> Option<(LayerId, ProposalId)> {
    if hash.0[24..] != [0; 8] {
        return None;
    }
    let mut id = [0u8; 20];
    id.copy_from_slice(&hash.0[..20]);
    let layer = u32::from_be_bytes(hash.0[20..24].try_into().expect("4 bytes"));
    Some((LayerId(layer), ProposalId(id)))
}

/// The blocks kept per layer.
pub(super) type BlockData = BTreeMap<(LayerId, BlockId), Arc<Block>>;

/// The ballot id a fetch hash names.
pub(super) fn ballot_id(hash: &Hash32) -> BallotId {
    let mut id = [0u8; 20];
    id.copy_from_slice(&hash.0[..20]);
    BallotId(id)
}
