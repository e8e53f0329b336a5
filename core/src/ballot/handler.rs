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
use crate::ballot::wire::{Proposal, Votes};
use crate::codec::{Encode, decode_shared};
use crate::crypto::Verifier;
use crate::eligibility::ballot::slot_layer;
use crate::layers::LayerClock;
use crate::lookup::Positions;
use crate::malfeasance::{MalfeasanceProof, MaliciousSet, SignedBallotMetadata};
use crate::types::{BallotId, EpochId, GenesisId, Hash32, LayerId, NodeId, ProposalId, Time};

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
    /// The declared active set is not known here yet (ignored: the ballot waits while the set
    /// and its ATXs are fetched).
    #[error("unknown active set")]
    UnknownActiveSet,
    /// The declared active set weighs less than half of this node's set of the epoch: it would
    /// give its declarer more slots than the network's weight allows (ignored, not penalized:
    /// a side of a partition declares such a set honestly).
    #[error("declared active set too light")]
    LightActiveSet,
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

/// A ballot [`BallotHandler::on_proposal`] accepted.
#[derive(Debug)]
pub struct AcceptedBallot {
    /// Its layer.
    pub layer: LayerId,
    /// What is kept of it.
    pub record: Arc<BallotRecord>,
    /// Its votes, handed over once (for the tortoise).
    pub votes: Votes,
    /// The active set a ref ballot declares (`None` for the smesher's later ballots).
    pub declared: Option<Hash32>,
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
    pub tx_ids: Vec<Hash32>,
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
    /// Seed of the tables' hashes (a per-node secret: ballot ids and identities come from
    /// peers).
    seed: u64,
    /// Ballots per layer, by id and by smesher (for equivocation detection).
    layers: BTreeMap<LayerId, Ballots>,
    /// Each smesher's ref ballot per epoch: its beacon and slot count are what the smesher's
    /// later ballots of the epoch go by (its declared active set hash was checked against this
    /// node's active set when it came).
    refs: BTreeMap<EpochId, Ballots>,
    /// Layers below this are pruned.
    pruned_below: LayerId,
    outputs: VecDeque<BallotOutput>,
}

/// Ballot records in arrival order, found by id and by smesher (at most one each). Records are
/// shared allocations (see [`Verifier::share_ballot_record`]) holding their own id and smesher,
/// so the tables hold positions: every node keeps every ballot of its window and every ref
/// ballot, and B-trees keyed by (layer, smesher) and by id took about 160 B a ballot.
#[derive(Debug)]
pub struct Ballots {
    records: Vec<Arc<BallotRecord>>,
    by_id: Positions,
    by_smesher: Positions,
}

impl Ballots {
    fn new(seed: u64) -> Self {
        Ballots {
            records: Vec::new(),
            by_id: Positions::new(seed),
            by_smesher: Positions::new(seed.rotate_left(32)),
        }
    }

    /// The ballot `id`.
    pub fn get(&self, id: &BallotId) -> Option<&Arc<BallotRecord>> {
        let at = self.by_id.find(id, |p| self.records[p as usize].id == *id)?;
        Some(&self.records[at as usize])
    }

    /// The ballot of `smesher`.
    pub fn of_smesher(&self, smesher: &NodeId) -> Option<&Arc<BallotRecord>> {
        let at = self.by_smesher.find(smesher, |p| self.records[p as usize].smesher == *smesher)?;
        Some(&self.records[at as usize])
    }

    /// Every ballot, in arrival order.
    pub fn records(&self) -> impl Iterator<Item = &Arc<BallotRecord>> {
        self.records.iter()
    }

    /// Number of ballots.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Keeps `record`, in place of its smesher's if there is one.
    fn put(&mut self, record: Arc<BallotRecord>) {
        let smesher = record.smesher;
        let at =
            match self.by_smesher.find(&smesher, |p| self.records[p as usize].smesher == smesher) {
                Some(at) => {
                    let old = self.records[at as usize].id;
                    let records = &self.records;
                    self.by_id.remove(&old, |p| records[p as usize].id == old);
                    self.records[at as usize] = record;
                    at
                }
                None => {
                    let at = u32::try_from(self.records.len()).expect("fewer than 2^32 ballots");
                    self.records.push(record);
                    let records = &self.records;
                    self.by_smesher.insert(at, |p| records[p as usize].smesher);
                    at
                }
            };
        let records = &self.records;
        self.by_id.insert(at, |p| records[p as usize].id);
    }

    fn check_invariants(&self) {
        assert_eq!(self.by_id.len(), self.records.len(), "id table and records disagree");
        assert_eq!(self.by_smesher.len(), self.records.len(), "smesher table and records disagree");
        for r in &self.records {
            assert!(
                self.get(&r.id).is_some_and(|f| Arc::ptr_eq(f, r)),
                "id table points elsewhere"
            );
            let by_smesher = self.of_smesher(&r.smesher);
            assert!(
                by_smesher.is_some_and(|f| Arc::ptr_eq(f, r)),
                "smesher table points elsewhere"
            );
        }
    }
}

impl BallotHandler {
    /// A handler whose tables are mixed with `seed` (a per-node secret).
    pub fn new(cfg: BallotConfig, clock: LayerClock, genesis: GenesisId, seed: u64) -> Self {
        BallotHandler {
            cfg,
            clock,
            genesis,
            seed,
            layers: BTreeMap::new(),
            refs: BTreeMap::new(),
            pruned_below: LayerId(0),
            outputs: VecDeque::new(),
        }
    }

    /// Ballots of a layer.
    pub fn layer(&self, layer: LayerId) -> Option<&Ballots> {
        self.layers.get(&layer)
    }

    /// The ref ballot of `smesher` in `epoch`.
    fn declared(&self, epoch: EpochId, smesher: &NodeId) -> Option<&Arc<BallotRecord>> {
        self.refs.get(&epoch).and_then(|r| r.of_smesher(smesher))
    }

    /// The ballot of `smesher` in `layer`.
    fn of_smesher(&self, layer: LayerId, smesher: &NodeId) -> Option<&Arc<BallotRecord>> {
        self.layers.get(&layer).and_then(|l| l.of_smesher(smesher))
    }

    /// Keeps `record` as a ballot of `layer`, and as its smesher's ref ballot of `epoch` if
    /// `is_ref`.
    fn keep(&mut self, layer: LayerId, epoch: EpochId, is_ref: bool, record: Arc<BallotRecord>) {
        let seed = self.seed;
        if is_ref {
            self.refs.entry(epoch).or_insert_with(|| Ballots::new(seed)).put(record.clone());
        }
        self.layers.entry(layer).or_insert_with(|| Ballots::new(seed)).put(record);
    }

    /// The ballot with the lowest id in `layer`: the base of this node's next opinion.
    pub fn base_ballot(&self, layer: LayerId) -> Option<BallotId> {
        self.layers.get(&layer).and_then(|l| l.records().map(|r| r.id).min())
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<BallotOutput> {
        self.outputs.pop_front()
    }

    /// Validates a proposal; on success stores its ballot and returns it. A ref ballot's
    /// eligibility count is checked against the weight of the active set it declares, which
    /// `set_weight(epoch, hash)` gives (go-spacemesh validates a ballot against its declared
    /// set too, so that nodes whose own sets differ still accept each other's ballots).
    #[allow(clippy::too_many_arguments)]
    pub fn on_proposal(
        &mut self,
        now: Time,
        bytes: &Bytes,
        atxs: &AtxStore,
        malicious: &MaliciousSet,
        set_weight: impl Fn(EpochId, &Hash32) -> Result<u64, BallotReject>,
        verifier: &dyn Verifier,
    ) -> Result<AcceptedBallot, BallotReject> {
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
        if let Some(existing) = self.of_smesher(layer, &b.smesher)
            && existing.id == id
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
        let (beacon, slots) = match (&b.inner.epoch_data, b.inner.ref_ballot == BallotId::default())
        {
            (Some(data), true) => {
                let total = set_weight(epoch, &data.active_set_hash)?;
                let expected = slot_count(&self.cfg, lpe, atx.weight, total);
                if data.eligibility_count != expected {
                    return Err(BallotReject::BadCount {
                        declared: data.eligibility_count,
                        expected,
                    });
                }
                (data.beacon, data.eligibility_count)
            }
            (None, false) => {
                let declared =
                    self.declared(epoch, &b.smesher).ok_or(BallotReject::UnknownRefBallot)?;
                if declared.id != b.inner.ref_ballot {
                    return Err(BallotReject::UnknownRefBallot);
                }
                (declared.beacon, declared.slots)
            }
            _ => return Err(BallotReject::EpochData),
        };
        let first = epoch.first_layer(lpe);
        let mut last_j = None;
        if b.eligibilities.is_empty() {
            return Err(BallotReject::BadEligibility);
        }
        for e in b.eligibilities.iter() {
            if last_j.is_some_and(|j| e.j <= j) || e.j >= slots {
                return Err(BallotReject::BadEligibility);
            }
            last_j = Some(e.j);
            if slot_layer(&e.sig, first, lpe) != Some(layer) {
                return Err(BallotReject::BadEligibility);
            }
            let msg = slot_message(beacon, epoch, atx.vrf_nonce, e.j);
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
        if let Some(existing) = self.of_smesher(layer, &b.smesher) {
            let first: Proposal = decode_shared(&existing.raw).expect("a stored proposal decodes");
            let first = SignedBallotMetadata {
                metadata: first.ballot.metadata(),
                signature: first.ballot.signature,
            };
            self.outputs.push_back(BallotOutput::Malfeasance(MalfeasanceProof::multiple_ballots(
                b.smesher, first, signed,
            )));
            return Err(BallotReject::Equivocation);
        }
        let record = verifier.share_ballot_record(BallotRecord {
            smesher: b.smesher,
            proposal: p.id(),
            atx: b.inner.atx,
            tx_ids: p.tx_ids.to_vec(),
            eligibilities: b.eligibilities.len() as u32,
            beacon,
            slots,
            id,
            raw: bytes.clone(),
        });
        self.keep(layer, epoch, b.inner.epoch_data.is_some(), record.clone());
        self.prune(current);
        let declared = b.inner.epoch_data.map(|d| d.active_set_hash);
        Ok(AcceptedBallot { layer, record, votes: p.ballot.votes, declared })
    }

    /// Records this node's own ballot (it was built valid).
    pub fn insert_own(&mut self, proposal: &Proposal) {
        let b = &proposal.ballot;
        let layer = b.inner.layer;
        let epoch = layer.epoch(self.clock.layers_per_epoch);
        let (beacon, slots) = match &b.inner.epoch_data {
            Some(data) => (data.beacon, data.eligibility_count),
            None => self
                .declared(epoch, &b.smesher)
                .map_or((Default::default(), 0), |d| (d.beacon, d.slots)),
        };
        let record = Arc::new(BallotRecord {
            smesher: b.smesher,
            proposal: proposal.id(),
            atx: b.inner.atx,
            tx_ids: proposal.tx_ids.to_vec(),
            eligibilities: b.eligibilities.len() as u32,
            beacon,
            slots,
            id: b.id(),
            raw: proposal.encode().into(),
        });
        self.keep(layer, epoch, b.inner.epoch_data.is_some(), record);
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
        self.declared(epoch, smesher).map(|d| d.id)
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
        let oldest_epoch = oldest.epoch(self.clock.layers_per_epoch);
        self.refs.retain(|e, _| *e >= oldest_epoch);
    }

    /// Panics if the indexes disagree.
    pub fn check_invariants(&self) {
        for ballots in self.layers.values().chain(self.refs.values()) {
            ballots.check_invariants();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::store::{ActiveSet, AtxHeader, HashedActiveSet};
    use crate::ballot::eligibility::{EpochInfo, OwnEligibility};
    use crate::ballot::wire::{Ballot, EpochData, InnerBallot, Votes, opinion_hash};
    use crate::codec::{BoundedVec, Encode};
    use crate::crypto::{Ed25519Verifier, Signer};
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
        let header = AtxHeader::sample(Hash32([7; 32]), signer.node_id(), EpochId(1));
        atxs.insert(std::sync::Arc::new(header), Time::ZERO);
        let set = ActiveSet { atxs: vec![Hash32([7; 32])], weight: 40 };
        let info = EpochInfo {
            epoch: EpochId(2),
            beacon: Beacon([1, 2, 3, 4]),
            active_set: HashedActiveSet::new(set),
        };
        let own = OwnEligibility::compute(&cfg, 8, &info, &[1; 32], 10, 5);
        Fixture { handler: BallotHandler::new(cfg, clock, GENESIS, 7), atxs, info, signer, own }
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
        let (hash, weight) = (f.info.active_set.hash(), f.info.active_set.set().weight);
        let malicious = MaliciousSet::default();
        let set_weight = |_: EpochId, h: &Hash32| {
            if *h == hash { Ok(weight) } else { Err(BallotReject::UnknownActiveSet) }
        };
        f.handler
            .on_proposal(now, bytes, &f.atxs, &malicious, set_weight, &Ed25519Verifier)
            .map(|a| (a.layer, a.record, a.votes))
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
