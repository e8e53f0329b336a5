//! Proposal validation and the per-layer ballot store.
//!
//! A proposal is accepted when it decodes; its layer is after the effective genesis and not in
//! the future; its ATX is known, is the smesher's and targets the layer's epoch; the smesher is
//! not known malicious; a ref ballot declares epoch data whose eligibility count matches the
//! declared active set (or a later ballot points at a known ref ballot); every eligibility proof
//! is a valid VRF for a slot below the count that falls in this layer, in increasing slot order;
//! both signatures verify and the votes match the opinion hash. A second ballot of one smesher
//! in one layer is a malfeasance (`MultipleBallots`).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;

use crate::activation::store::AtxStore;
use crate::ballot::BallotConfig;
use crate::ballot::eligibility::{slot_count, slot_message};
use crate::ballot::wire::{EpochData, Proposal, Votes};
use crate::codec::{Encode, decode_shared};
use crate::crypto::Verifier;
use crate::eligibility::ballot::slot_layer;
use crate::layers::LayerClock;
use crate::malfeasance::{MalfeasanceProof, MaliciousSet, SignedBallotMetadata};
use crate::types::{BallotId, EpochId, GenesisId, LayerId, NodeId, ProposalId, Time};

/// Why a proposal was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BallotReject {
    /// Undecodable.
    #[error("undecodable proposal: {0}")]
    Decode(String),
    /// In a genesis layer.
    #[error("ballot in a genesis layer")]
    GenesisLayer,
    /// Too far ahead of the local clock or too old to matter (ignored, not penalized).
    #[error("ballot outside the accepted layer window")]
    OutOfWindow,
    /// The ATX is unknown here (ignored: it may still arrive).
    #[error("unknown ATX")]
    UnknownAtx,
    /// The ATX belongs to someone else or to another epoch.
    #[error("ATX is not the smesher's ATX for this epoch")]
    WrongAtx,
    /// The smesher is known malicious (ignored).
    #[error("smesher is malicious")]
    Malicious,
    /// Ref ballot without epoch data, or a later ballot with it.
    #[error("epoch data missing or misplaced")]
    EpochData,
    /// The declared active set is not the one this node knows (ignored until active-set sync).
    #[error("unknown active set")]
    UnknownActiveSet,
    /// The ref ballot is unknown (ignored: it may still arrive).
    #[error("unknown ref ballot")]
    UnknownRefBallot,
    /// The declared eligibility count is wrong.
    #[error("eligibility count {declared} differs from {expected}")]
    BadCount {
        /// Declared.
        declared: u32,
        /// Computed.
        expected: u32,
    },
    /// An eligibility proof is invalid, out of order, or for another layer.
    #[error("bad eligibility proof")]
    BadEligibility,
    /// A signature or the opinion hash does not verify.
    #[error("bad signature or opinion hash")]
    BadSignature,
    /// Already have this ballot.
    #[error("duplicate")]
    Duplicate,
    /// A second, different ballot of the smesher in this layer.
    #[error("second ballot of the smesher in this layer")]
    Equivocation,
}

impl BallotReject {
    /// Whether the sender should be penalized (the message is invalid, not merely early,
    /// redundant or unverifiable here).
    pub fn penalize(&self) -> bool {
        matches!(
            self,
            BallotReject::Decode(_)
                | BallotReject::GenesisLayer
                | BallotReject::WrongAtx
                | BallotReject::EpochData
                | BallotReject::BadCount { .. }
                | BallotReject::BadEligibility
                | BallotReject::BadSignature
        )
    }
}

/// What is kept of an accepted ballot. Its votes are not kept: [`BallotHandler::on_proposal`]
/// hands them over once, for the tortoise, which keeps its own deduplicated form; `raw` still
/// holds them for peers, and the signed metadata that an equivocation proof needs. (Every node
/// keeps every ballot of the window, so decoded copies per record were a large share of a
/// simulation's memory.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BallotRecord {
    /// The smesher.
    pub smesher: NodeId,
    /// Proposal id.
    pub proposal: ProposalId,
    /// The ATX the ballot votes with.
    pub atx: crate::activation::wire::AtxId,
    /// The proposal's transactions.
    pub tx_ids: Vec<crate::types::Hash32>,
    /// Eligibilities in this layer.
    pub eligibilities: u32,
    /// The beacon its ref ballot declared.
    pub beacon: crate::types::Beacon,
    /// The smesher's slot count in the epoch (from its ref ballot).
    pub slots: u32,
    /// The ballot id.
    pub id: BallotId,
    /// The encoded proposal, as received (served to syncing peers).
    pub raw: Bytes,
}

/// Facts the handler reports.
#[derive(Debug, Clone, PartialEq)]
pub enum BallotOutput {
    /// A malfeasance was detected.
    Malfeasance(MalfeasanceProof),
}

/// Validates proposals and keeps the ballots of recent layers.
#[derive(Debug)]
pub struct BallotHandler {
    cfg: BallotConfig,
    clock: LayerClock,
    genesis: GenesisId,
    /// Ballots per layer.
    /// (Records are shared allocations: see [`Verifier::share_ballot_record`].)
    layers: BTreeMap<LayerId, BTreeMap<BallotId, Arc<BallotRecord>>>,
    /// (layer, smesher) → ballot, for equivocation detection.
    by_smesher: BTreeMap<(LayerId, NodeId), BallotId>,
    /// What each smesher's ref ballot declared, per (epoch, smesher).
    refs: BTreeMap<(EpochId, NodeId), Declared>,
    /// Layers below this are pruned.
    pruned_below: LayerId,
    outputs: VecDeque<BallotOutput>,
}

/// What a ref ballot declared that its smesher's later ballots of the epoch go by: the epoch
/// data without the active set hash, which was checked against this node's active set when the
/// ref ballot came (an entry per identity and epoch at every node, so 32 bytes less each).
#[derive(Debug, Clone, Copy)]
struct Declared {
    /// The ref ballot.
    ballot: BallotId,
    beacon: crate::types::Beacon,
    /// Slots of the identity in the epoch.
    slots: u32,
}

impl Declared {
    fn of(ballot: BallotId, data: &EpochData) -> Self {
        Declared { ballot, beacon: data.beacon, slots: data.eligibility_count }
    }
}

impl BallotHandler {
    /// A handler.
    pub fn new(cfg: BallotConfig, clock: LayerClock, genesis: GenesisId) -> Self {
        BallotHandler {
            cfg,
            clock,
            genesis,
            layers: BTreeMap::new(),
            by_smesher: BTreeMap::new(),
            refs: BTreeMap::new(),
            pruned_below: LayerId(0),
            outputs: VecDeque::new(),
        }
    }

    /// Ballots of a layer.
    pub fn layer(&self, layer: LayerId) -> Option<&BTreeMap<BallotId, Arc<BallotRecord>>> {
        self.layers.get(&layer)
    }

    /// The ballot with the lowest id in `layer`: the base of this node's next opinion.
    pub fn base_ballot(&self, layer: LayerId) -> Option<BallotId> {
        self.layers.get(&layer).and_then(|l| l.keys().next().copied())
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<BallotOutput> {
        self.outputs.pop_front()
    }

    /// Validates a proposal; on success stores its ballot and returns its layer, its record and
    /// its votes.
    #[allow(clippy::too_many_arguments)]
    pub fn on_proposal(
        &mut self,
        now: Time,
        bytes: &Bytes,
        atxs: &AtxStore,
        malicious: &MaliciousSet,
        active_set: impl Fn(EpochId) -> Option<(crate::types::Hash32, u64)>,
        verifier: &dyn Verifier,
    ) -> Result<(LayerId, Arc<BallotRecord>, Votes), BallotReject> {
        let p: Proposal = decode_shared(bytes).map_err(|e| BallotReject::Decode(e.to_string()))?;
        let b = &p.ballot;
        let layer = b.inner.layer;
        let lpe = self.clock.layers_per_epoch;
        if layer <= self.clock.effective_genesis() {
            return Err(BallotReject::GenesisLayer);
        }
        let current = self.clock.layer_at(now);
        if layer.0 > current.0 + self.cfg.future_layers
            || layer.0 + self.cfg.window_layers < current.0
        {
            return Err(BallotReject::OutOfWindow);
        }
        let meta = b.metadata();
        let id = BallotId(meta.msg_hash.0[..20].try_into().expect("20 bytes"));
        if let Some(existing) = self.by_smesher.get(&(layer, b.smesher))
            && *existing == id
        {
            return Err(BallotReject::Duplicate);
        }
        let epoch = layer.epoch(lpe);
        let atx = atxs.get(&b.inner.atx).ok_or(BallotReject::UnknownAtx)?;
        if atx.smesher != b.smesher || atx.target_epoch() != epoch {
            return Err(BallotReject::WrongAtx);
        }
        if malicious.contains(&b.smesher) {
            return Err(BallotReject::Malicious);
        }
        let declared = match (&b.inner.epoch_data, b.inner.ref_ballot == BallotId::default()) {
            (Some(data), true) => {
                let (hash, total) = active_set(epoch).ok_or(BallotReject::UnknownActiveSet)?;
                if data.active_set_hash != hash {
                    return Err(BallotReject::UnknownActiveSet);
                }
                let expected = slot_count(&self.cfg, lpe, atx.weight, total);
                if data.eligibility_count != expected {
                    return Err(BallotReject::BadCount {
                        declared: data.eligibility_count,
                        expected,
                    });
                }
                Declared::of(id, data)
            }
            (None, false) => {
                let declared =
                    self.refs.get(&(epoch, b.smesher)).ok_or(BallotReject::UnknownRefBallot)?;
                if declared.ballot != b.inner.ref_ballot {
                    return Err(BallotReject::UnknownRefBallot);
                }
                *declared
            }
            _ => return Err(BallotReject::EpochData),
        };
        let first = epoch.first_layer(lpe);
        let mut last_j = None;
        if b.eligibilities.is_empty() {
            return Err(BallotReject::BadEligibility);
        }
        for e in b.eligibilities.iter() {
            if last_j.is_some_and(|j| e.j <= j) || e.j >= declared.slots {
                return Err(BallotReject::BadEligibility);
            }
            last_j = Some(e.j);
            if slot_layer(&e.sig, first, lpe) != Some(layer) {
                return Err(BallotReject::BadEligibility);
            }
            let msg = slot_message(declared.beacon, epoch, atx.vrf_nonce, e.j);
            if !verifier.verify_vrf(&b.smesher.0, &msg, &e.sig) {
                return Err(BallotReject::BadEligibility);
            }
        }
        let ok = |c: crate::job::SignatureCheck| {
            verifier.verify(&c.public_key, &c.signed_message, &c.signature)
        };
        if !b.votes_match()
            || !ok(b.signature_check(&self.genesis))
            || !ok(p.signature_check(&self.genesis))
        {
            return Err(BallotReject::BadSignature);
        }
        let signed = SignedBallotMetadata { metadata: meta, signature: b.signature };
        if let Some(existing) = self.by_smesher.get(&(layer, b.smesher)) {
            let first: Proposal = decode_shared(&self.layers[&layer][existing].raw)
                .expect("a stored proposal decodes");
            let first = SignedBallotMetadata {
                metadata: first.ballot.metadata(),
                signature: first.ballot.signature,
            };
            self.outputs.push_back(BallotOutput::Malfeasance(MalfeasanceProof::multiple_ballots(
                b.smesher, first, signed,
            )));
            return Err(BallotReject::Equivocation);
        }
        if b.inner.epoch_data.is_some() {
            self.refs.insert((epoch, b.smesher), declared);
        }
        let record = verifier.share_ballot_record(BallotRecord {
            smesher: b.smesher,
            proposal: p.id(),
            atx: b.inner.atx,
            tx_ids: p.tx_ids.to_vec(),
            eligibilities: b.eligibilities.len() as u32,
            beacon: declared.beacon,
            slots: declared.slots,
            id,
            raw: bytes.clone(),
        });
        self.by_smesher.insert((layer, b.smesher), id);
        self.layers.entry(layer).or_default().insert(id, record.clone());
        self.prune(current);
        Ok((layer, record, p.ballot.votes))
    }

    /// Records this node's own ballot (it was built valid).
    pub fn insert_own(&mut self, proposal: &Proposal) {
        let b = &proposal.ballot;
        let layer = b.inner.layer;
        let id = b.id();
        let epoch = layer.epoch(self.clock.layers_per_epoch);
        if let Some(data) = &b.inner.epoch_data {
            self.refs.insert((epoch, b.smesher), Declared::of(id, data));
        }
        let declared = self.refs.get(&(epoch, b.smesher));
        let beacon = declared.map(|d| d.beacon).unwrap_or_default();
        let slots = declared.map_or(0, |d| d.slots);
        self.by_smesher.insert((layer, b.smesher), id);
        self.layers.entry(layer).or_default().insert(
            id,
            Arc::new(BallotRecord {
                smesher: b.smesher,
                proposal: proposal.id(),
                atx: b.inner.atx,
                tx_ids: proposal.tx_ids.to_vec(),
                eligibilities: b.eligibilities.len() as u32,
                beacon,
                slots,
                id,
                raw: proposal.encode().into(),
            }),
        );
    }

    /// Whether ballots of `layer` are still kept (not pruned).
    pub fn holds_layer(&self, layer: LayerId) -> bool {
        layer >= self.pruned_below
    }

    /// The encoded proposal of a ballot this node holds.
    pub fn raw(&self, id: &BallotId) -> Option<&Bytes> {
        self.layers.values().rev().find_map(|l| l.get(id)).map(|r| &r.raw)
    }

    /// The ref ballot id of `smesher` in `epoch`.
    pub fn ref_ballot(&self, epoch: EpochId, smesher: &NodeId) -> Option<BallotId> {
        self.refs.get(&(epoch, *smesher)).map(|d| d.ballot)
    }

    fn prune(&mut self, current: LayerId) {
        let Some(oldest) = current.0.checked_sub(self.cfg.window_layers) else { return };
        let oldest = LayerId(oldest);
        // Linear in the kept ballots: only when the window moves.
        if self.pruned_below >= oldest {
            return;
        }
        self.pruned_below = oldest;
        while let Some((&l, _)) = self.layers.first_key_value() {
            if l >= oldest {
                break;
            }
            self.layers.remove(&l);
        }
        self.by_smesher.retain(|(l, _), _| *l >= oldest);
        let oldest_epoch = oldest.epoch(self.clock.layers_per_epoch);
        self.refs.retain(|(e, _), _| *e >= oldest_epoch);
    }

    /// Panics if the indexes disagree.
    pub fn check_invariants(&self) {
        for ((layer, smesher), id) in &self.by_smesher {
            let r = self.layers.get(layer).and_then(|l| l.get(id));
            assert!(r.is_some_and(|r| r.smesher == *smesher), "ballot index points nowhere");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::store::{ActiveSet, AtxHeader, HashedActiveSet};
    use crate::activation::wire::Address;
    use crate::ballot::eligibility::{EpochInfo, OwnEligibility};
    use crate::ballot::wire::{Ballot, InnerBallot, Votes, opinion_hash};
    use crate::codec::{BoundedVec, Encode};
    use crate::crypto::{Ed25519Verifier, Signature, Signer};
    use crate::types::{Beacon, Hash32};

    const GENESIS: GenesisId = GenesisId([3; 20]);

    struct Fixture {
        handler: BallotHandler,
        atxs: AtxStore,
        info: EpochInfo,
        signer: Signer,
        own: OwnEligibility,
    }

    fn fixture() -> Fixture {
        let clock = LayerClock::sim(Time::ZERO);
        let cfg = BallotConfig { layer_avg_size: 50, ..BallotConfig::sim(10, 8) };
        let signer = Signer::from_seed([1; 32], GENESIS);
        let mut atxs = AtxStore::new(0);
        let header = AtxHeader {
            id: Hash32([7; 32]),
            smesher: signer.node_id(),
            publish_epoch: EpochId(1),
            sequence: 0,
            coinbase: Address::default(),
            num_units: 1,
            base_height: 0,
            ticks: 10,
            weight: 10,
            vrf_nonce: 5,
            commitment_atx: Hash32::default(),
            signature: Signature([0; 64]),
        };
        atxs.insert(std::sync::Arc::new(header), Time::ZERO);
        let set = ActiveSet { atxs: vec![Hash32([7; 32])], weight: 40 };
        let info = EpochInfo {
            epoch: EpochId(2),
            beacon: Beacon([1, 2, 3, 4]),
            active_set: HashedActiveSet::new(set),
        };
        let own = OwnEligibility::compute(&cfg, 8, &info, &[1; 32], 10, 5);
        Fixture { handler: BallotHandler::new(cfg, clock, GENESIS), atxs, info, signer, own }
    }

    fn proposal(f: &Fixture, layer: LayerId, base: u8) -> Bytes {
        let votes = Votes { base: BallotId([base; 20]), ..Votes::default() };
        let inner = InnerBallot {
            layer,
            atx: Hash32([7; 32]),
            opinion_hash: opinion_hash(&votes),
            ref_ballot: BallotId::default(),
            epoch_data: Some(EpochData {
                active_set_hash: f.info.active_set.hash(),
                beacon: f.info.beacon,
                eligibility_count: f.own.count,
            }),
        };
        let eligibilities = BoundedVec::new(f.own.layers[&layer].clone()).unwrap();
        let ballot = Ballot::sign(&f.signer, inner, votes, eligibilities);
        Proposal::sign(&f.signer, ballot, BoundedVec::default(), Hash32::default()).encode().into()
    }

    fn judge(
        f: &mut Fixture,
        layer: LayerId,
        bytes: &Bytes,
    ) -> Result<(LayerId, Arc<BallotRecord>, Votes), BallotReject> {
        let now = f.handler.clock.layer_start(layer);
        let set = (f.info.active_set.hash(), f.info.active_set.set().weight);
        let malicious = MaliciousSet::default();
        f.handler.on_proposal(now, bytes, &f.atxs, &malicious, |_| Some(set), &Ed25519Verifier)
    }

    /// A valid proposal is accepted once; a second, different ballot of the smesher in the same
    /// layer is an equivocation whose proof verifies; forged eligibilities are rejected.
    #[test]
    fn accepts_then_proves_double_ballot() {
        let mut f = fixture();
        assert_eq!(f.own.count, 100, "w·L·E/W = 10·50·8/40");
        let layer = *f.own.layers.keys().next().expect("some slot");
        let first = proposal(&f, layer, 1);
        let (l, record, _) = judge(&mut f, layer, &first).unwrap();
        assert_eq!(l, layer);
        assert_eq!(record.slots, f.own.count);
        assert_eq!(judge(&mut f, layer, &first), Err(BallotReject::Duplicate));
        let second = proposal(&f, layer, 2);
        assert_eq!(judge(&mut f, layer, &second), Err(BallotReject::Equivocation));
        let Some(BallotOutput::Malfeasance(proof)) = f.handler.poll_output() else {
            panic!("no malfeasance proof")
        };
        assert_eq!(proof.smesher, f.signer.node_id());
        assert_eq!(proof.verify_signatures(&GENESIS, &Ed25519Verifier), Ok(()));
        f.handler.check_invariants();
    }

    /// Eligibility proofs for another layer, a wrong count and genesis layers are rejected.
    #[test]
    fn rejects_bad_eligibility() {
        let mut f = fixture();
        let layers: Vec<LayerId> = f.own.layers.keys().copied().collect();
        let layer = layers[0];
        let other = LayerId(if layer.0 == 16 { 17 } else { 16 });
        // Proofs of `layer` presented in `other`.
        let mut shifted = f.own.clone();
        shifted.layers.insert(other, f.own.layers[&layer].clone());
        let g = Fixture { own: shifted, ..fixture() };
        let bytes = proposal(&g, other, 1);
        assert_eq!(judge(&mut f, other, &bytes), Err(BallotReject::BadEligibility));
        // A declared count that does not match the active set.
        let mut inflated = f.own.clone();
        inflated.count += 1;
        let g = Fixture { own: inflated, ..fixture() };
        assert!(matches!(
            judge(&mut f, layer, &proposal(&g, layer, 1)),
            Err(BallotReject::BadCount { .. })
        ));
    }
}
