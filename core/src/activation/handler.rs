//! ATX validation: from gossiped or fetched bytes to a stored [`AtxHeader`], or a typed reject.
//!
//! Pipeline (protocol.md section 2):
//! 1. Decode and syntactic rules (initial ATXs carry the initial PoST, node id, VRF nonce and
//!    commitment; others carry none of them; units within bounds; labels per unit as
//!    configured; publish epoch not beyond the next one).
//! 2. Dependencies: previous, positioning and commitment ATX, and the PoET proof the PoST was
//!    made on. Missing ones are fetched from the peer that sent the ATX (bounded wait).
//! 3. Contextual rules: previous ATX of the same identity with sequence − 1 and an earlier
//!    epoch; positioning ATX from an earlier epoch; the challenge is a member of the PoET
//!    round (Merkle proof against the proof's statement).
//! 4. Heavy checks as one job: signature, PoST (all indices, or a K3 subset), initial PoST and
//!    VRF nonce of initial ATXs.
//! 5. Store. A second ATX of an identity in one epoch yields a `MultipleAtxs` malfeasance proof,
//!    a PoST index that fails yields an `InvalidPostIndex` proof.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::activation::pending::{Pending, PendingAtxs};
use crate::activation::store::{AtxHeader, AtxStore};
use crate::activation::wire::{Atx, AtxId, golden_atx};
use crate::codec::decode_shared;
use crate::crypto::Verifier;
use crate::fetch::Hint;
use crate::gossip::{MsgId, Verdict};
use crate::layers::LayerClock;
use crate::malfeasance::{Evidence, MalfeasanceProof, SignedAtxMetadata};
use crate::poet::PoetProof;
use crate::post::PostConfig;
use crate::types::{EpochId, GenesisId, Hash32, PeerId, Time};

/// PoET parameters every node checks proofs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PoetParams {
    /// Leaves opened by a proof (T).
    pub t: u32,
    /// Hashes per leaf label.
    pub nesting_depth: u32,
    /// Leaves per tick.
    pub tick_size: u64,
}

impl PoetParams {
    /// Simulation parameters (proofs.md section 4.3): tiny constants, same construction.
    pub fn sim() -> Self {
        PoetParams { t: 8, nesting_depth: 2, tick_size: 50 }
    }
}

/// Validation settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerConfig {
    /// PoST parameters of the network.
    pub post: PostConfig,
    /// PoET parameters of the network.
    pub poet: PoetParams,
    /// Check every PoST index (true) or a K3 subset chosen by this node.
    pub verify_all_indices: bool,
    /// Most ATXs waiting for dependencies or checks.
    pub pending_max: usize,
    /// How long an ATX waits for its dependencies.
    pub dependency_timeout: Duration,
    /// Publish epochs of headers kept (older ones are pruned).
    pub epochs_kept: u32,
}

impl HandlerConfig {
    /// Defaults around the given PoST and PoET parameters.
    pub fn new(post: PostConfig, poet: PoetParams) -> Self {
        HandlerConfig {
            post,
            poet,
            verify_all_indices: false,
            pending_max: 4096,
            dependency_timeout: Duration::from_secs(10),
            epochs_kept: 4,
        }
    }
}

/// Why an ATX is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AtxReject {
    /// The bytes do not decode.
    #[error("undecodable ATX: {0}")]
    Decode(String),
    /// A syntactic rule is broken.
    #[error("malformed ATX: {0}")]
    Malformed(&'static str),
    /// A rule about the referenced ATXs is broken.
    #[error("bad reference: {0}")]
    BadReference(&'static str),
    /// The challenge is not in the PoET round's membership tree.
    #[error("challenge is not a member of the PoET round")]
    NotMember,
    /// The heavy checks failed.
    #[error("{0}")]
    Proof(String),
}

/// Outcome of the heavy checks of one ATX (a job result).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AtxCheckOutcome {
    /// Everything verified.
    Valid,
    /// The signature is not the smesher's.
    BadSignature,
    /// A structural PoST problem (pow, length, units...).
    BadPost(String),
    /// The PoST index at this position is not a good label: a malfeasance.
    InvalidIndex(u32),
    /// The VRF nonce label is above the difficulty.
    BadVrfNonce,
}

/// The heavy checks of one ATX, to run as a job.
#[derive(Debug, Clone, PartialEq)]
pub struct AtxCheck {
    /// The ATX id (computed once by the handler).
    pub id: AtxId,
    /// The ATX.
    pub atx: Atx,
    /// The identity's commitment ATX.
    pub commitment_atx: AtxId,
    /// Seed of the K3 subset (`None`: check all indices).
    pub subset_seed: Option<[u8; 32]>,
}

/// What the handler asks its owner to do.
#[derive(Debug, Clone, PartialEq)]
pub enum HandlerOutput {
    /// Gossip verdict of a message.
    Verdict(MsgId, Verdict),
    /// Fetch an object by hash from a peer (answer with [`AtxHandler::on_fetched`]).
    Fetch {
        /// What.
        hint: Hint,
        /// Its hash.
        hash: Hash32,
        /// Preferred peer.
        peer: Option<PeerId>,
    },
    /// Run the heavy checks (answer with [`AtxHandler::on_checked`]).
    Check(Box<AtxCheck>),
    /// Verify a PoET proof (answer with [`AtxHandler::on_poet_verified`]).
    VerifyPoet {
        /// Reference.
        reference: Hash32,
        /// The proof.
        proof: Box<PoetProof>,
        /// Statement.
        statement: Hash32,
    },
    /// A valid ATX was stored.
    Accepted(Arc<AtxHeader>),
    /// An ATX was rejected (for the trace; the verdict is separate).
    Rejected {
        /// Its id.
        id: AtxId,
        /// Why.
        reason: AtxReject,
    },
    /// A malfeasance was detected.
    Malfeasance(MalfeasanceProof),
}

#[derive(Debug, Clone)]
struct PoetRecord {
    statement: Hash32,
    leaves: u64,
    verified: bool,
    bytes: Bytes,
}

/// Validates and stores ATXs.
#[derive(Debug)]
pub struct AtxHandler {
    cfg: HandlerConfig,
    clock: LayerClock,
    golden: AtxId,
    subset_seed: [u8; 32],
    store: AtxStore,
    /// Where headers are allocated ([`Verifier::share_atx_header`]).
    shared: Arc<dyn Verifier>,
    /// Signatures of stored ATXs, for double-publish proofs.
    poet_proofs: BTreeMap<Hash32, PoetRecord>,
    pending: PendingAtxs,
    fetching: BTreeSet<(Hint, Hash32)>,
    /// The epoch raw bytes were last pruned at.
    pruned_at: EpochId,
    outputs: VecDeque<HandlerOutput>,
}

impl AtxHandler {
    /// A handler for the network `genesis`; `subset_seed` seeds this node's K3 choice;
    /// `shared` allocates the stored headers.
    pub fn new(
        cfg: HandlerConfig,
        clock: LayerClock,
        genesis: &GenesisId,
        subset_seed: [u8; 32],
        shared: Arc<dyn Verifier>,
    ) -> Self {
        AtxHandler {
            cfg,
            clock,
            golden: golden_atx(genesis),
            subset_seed,
            store: AtxStore::new(u64::from_le_bytes(subset_seed[..8].try_into().expect("8 bytes"))),
            shared,
            poet_proofs: BTreeMap::new(),
            pending: PendingAtxs::default(),
            fetching: BTreeSet::new(),
            pruned_at: EpochId(0),
            outputs: VecDeque::new(),
        }
    }

    /// The stored ATXs.
    pub fn store(&self) -> &AtxStore {
        &self.store
    }

    /// The stored ATXs, writable: tests of other parts put ATX headers here directly instead
    /// of building and checking whole ATXs.
    #[cfg(test)]
    pub(crate) fn store_mut(&mut self) -> &mut AtxStore {
        &mut self.store
    }

    /// The golden ATX id.
    pub fn golden(&self) -> AtxId {
        self.golden
    }

    /// The raw bytes of a stored ATX.
    pub fn raw(&self, id: &AtxId) -> Option<&Bytes> {
        self.store.raw(id)
    }

    /// The statement and encoded PoET proof with this reference, if held and verified.
    pub fn poet_proof_bytes(&self, reference: &Hash32) -> Option<(Hash32, &Bytes)> {
        self.poet_proofs.get(reference).filter(|r| r.verified).map(|r| (r.statement, &r.bytes))
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<HandlerOutput> {
        self.outputs.pop_front()
    }

    /// When the oldest pending ATX times out.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.pending.oldest_waiting().map(|since| since + self.cfg.dependency_timeout)
    }

    /// Number of ATXs waiting.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// An ATX from gossip (`gossip: Some`), a fetch, or this node's own builder.
    pub fn on_atx(&mut self, now: Time, bytes: Bytes, gossip: Option<MsgId>, peer: Option<PeerId>) {
        if bytes.len() > crate::activation::wire::ATX_MAX {
            let reason = AtxReject::Decode(format!(
                "{} bytes, over {}",
                bytes.len(),
                crate::activation::wire::ATX_MAX
            ));
            return self.reject(gossip, Hash32::default(), reason);
        }
        let atx: Atx = match decode_shared(&bytes) {
            Ok(a) => a,
            Err(e) => {
                return self.reject(gossip, Hash32::default(), AtxReject::Decode(e.to_string()));
            }
        };
        let id = self.shared.atx_id(&atx);
        self.fetching.remove(&(Hint::Atx, id));
        if self.store.contains(&id) || self.pending.contains(&id) {
            return self.verdict(gossip, Verdict::Ignore);
        }
        if let Err(reason) = self.syntactic(now, &atx) {
            return self.reject(gossip, id, reason);
        }
        if self.pending.len() >= self.cfg.pending_max {
            return self.verdict(gossip, Verdict::Ignore);
        }
        self.pending.insert(Pending { id, atx, bytes, gossip, peer, since: now, checking: false });
        self.advance(now, id);
    }

    /// A PoET proof arrived (fetched from a peer, or from the node's own PoET).
    pub fn on_poet_proof(&mut self, now: Time, bytes: Bytes, statement: Hash32, verified: bool) {
        let Ok(proof) = decode_shared::<PoetProof>(&bytes) else { return };
        let reference = proof.reference();
        self.fetching.remove(&(Hint::PoetProof, reference));
        if self.poet_proofs.contains_key(&reference) {
            return;
        }
        let leaves = proof.leaves;
        self.poet_proofs.insert(reference, PoetRecord { statement, leaves, verified, bytes });
        if !verified {
            self.outputs.push_back(HandlerOutput::VerifyPoet {
                reference,
                proof: Box::new(proof),
                statement,
            });
        } else {
            self.retry_waiting(now);
        }
    }

    /// A PoET proof was verified.
    pub fn on_poet_verified(&mut self, now: Time, reference: Hash32, valid: bool) {
        if valid {
            if let Some(r) = self.poet_proofs.get_mut(&reference) {
                r.verified = true;
            }
        } else {
            self.poet_proofs.remove(&reference);
        }
        self.retry_waiting(now);
    }

    /// A fetch for `(hint, hash)` failed for good.
    pub fn on_fetch_failed(&mut self, now: Time, hint: Hint, hash: Hash32) {
        self.fetching.remove(&(hint, hash));
        let _ = now;
        let waiting: Vec<AtxId> = self
            .pending
            .waiting()
            .filter(|p| self.missing(&p.atx).contains(&(hint, hash)))
            .map(|p| p.id)
            .collect();
        for id in waiting {
            let p = self.pending.remove(&id).expect("listed");
            self.verdict(p.gossip, Verdict::Ignore);
        }
    }

    /// Time passed: drop ATXs that waited too long for dependencies.
    pub fn on_tick(&mut self, now: Time) {
        let timeout = self.cfg.dependency_timeout;
        let expired = self.pending.expired(now, timeout);
        for id in expired {
            let p = self.pending.remove(&id).expect("listed");
            self.verdict(p.gossip, Verdict::Ignore);
        }
        // Prune raw bytes of old epochs (linear: only when the epoch changes).
        let current = self.clock.epoch_at(now);
        if current.0 > self.cfg.epochs_kept && current > self.pruned_at {
            self.pruned_at = current;
            let oldest = EpochId(current.0 - self.cfg.epochs_kept);
            self.store.prune_raw_before(oldest);
        }
    }

    fn retry_waiting(&mut self, now: Time) {
        let ids: Vec<AtxId> = self.pending.waiting().map(|p| p.id).collect();
        for id in ids {
            self.advance(now, id);
        }
    }

    fn syntactic(&self, now: Time, atx: &Atx) -> Result<(), AtxReject> {
        let c = &atx.inner.challenge;
        let current = self.clock.epoch_at(now);
        if c.publish_epoch.0 > current.0 + 1 {
            return Err(AtxReject::Malformed("publish epoch is in the future"));
        }
        if c.publish_epoch.0 == 0 {
            return Err(AtxReject::Malformed("no ATX can be published in epoch 0"));
        }
        if c.positioning_atx == Hash32::default() {
            return Err(AtxReject::Malformed("empty positioning ATX"));
        }
        let post = &self.cfg.post;
        if atx.inner.num_units < post.min_units || atx.inner.num_units > post.max_units {
            return Err(AtxReject::Malformed("number of units out of bounds"));
        }
        if atx.inner.nipost.post_metadata.labels_per_unit != post.labels_per_unit {
            return Err(AtxReject::Malformed("labels per unit differ from the network's"));
        }
        if c.sequence == 0 {
            if c.initial_post.is_none()
                || c.commitment_atx.is_none()
                || atx.inner.node_id != Some(atx.smesher)
                || atx.inner.vrf_nonce.is_none()
            {
                return Err(AtxReject::Malformed(
                    "initial ATX needs initial PoST, commitment ATX, node id and VRF nonce",
                ));
            }
            if c.prev_atx != Hash32::default() {
                return Err(AtxReject::Malformed("initial ATX has a previous ATX"));
            }
        } else if c.initial_post.is_some()
            || c.commitment_atx.is_some()
            || atx.inner.node_id.is_some()
        {
            return Err(AtxReject::Malformed("non-initial ATX carries initial fields"));
        }
        Ok(())
    }

    /// Dependencies not held yet.
    fn missing(&self, atx: &Atx) -> Vec<(Hint, Hash32)> {
        let c = &atx.inner.challenge;
        let mut out = Vec::new();
        let mut need = |id: AtxId| {
            if id != self.golden && id != Hash32::default() && !self.store.contains(&id) {
                out.push((Hint::Atx, id));
            }
        };
        need(c.prev_atx);
        need(c.positioning_atx);
        if let Some(commit) = c.commitment_atx {
            need(commit);
        }
        let reference = atx.inner.nipost.post_metadata.challenge;
        if !self.poet_proofs.contains_key(&reference) {
            out.push((Hint::PoetProof, reference));
        }
        out
    }

    fn advance(&mut self, now: Time, id: AtxId) {
        let Some(p) = self.pending.get(&id) else { return };
        let missing = self.missing(&p.atx);
        if !missing.is_empty() {
            let peer = p.peer;
            for (hint, hash) in missing {
                if self.fetching.insert((hint, hash)) {
                    self.outputs.push_back(HandlerOutput::Fetch { hint, hash, peer });
                }
            }
            return;
        }
        let reference = p.atx.inner.nipost.post_metadata.challenge;
        if !self.poet_proofs[&reference].verified {
            return; // its verification job is running
        }
        let atx = p.atx.clone();
        match self.contextual(&atx) {
            Ok(commitment_atx) => {
                self.pending.start_checking(&id);
                let subset_seed = (!self.cfg.verify_all_indices).then_some(self.subset_seed);
                self.outputs.push_back(HandlerOutput::Check(Box::new(AtxCheck {
                    id,
                    atx,
                    commitment_atx,
                    subset_seed,
                })));
            }
            Err(reason) => {
                let p = self.pending.remove(&id).expect("pending");
                self.reject(p.gossip, id, reason);
            }
        }
        let _ = now;
    }

    /// Reference rules; returns the identity's commitment ATX.
    fn contextual(&self, atx: &Atx) -> Result<AtxId, AtxReject> {
        let c = &atx.inner.challenge;
        if c.positioning_atx != self.golden {
            let pos = self.store.get(&c.positioning_atx).expect("dependency present");
            if pos.publish_epoch >= c.publish_epoch {
                return Err(AtxReject::BadReference(
                    "positioning ATX is not from an earlier epoch",
                ));
            }
        }
        let commitment = match c.commitment_atx {
            Some(commit) => {
                if commit != self.golden {
                    let h = self.store.get(&commit).expect("dependency present");
                    if h.publish_epoch >= c.publish_epoch {
                        return Err(AtxReject::BadReference("commitment ATX is not older"));
                    }
                }
                commit
            }
            None => {
                let prev = self.store.get(&c.prev_atx).expect("dependency present");
                if prev.smesher != atx.smesher {
                    return Err(AtxReject::BadReference("previous ATX is another identity's"));
                }
                if prev.publish_epoch >= c.publish_epoch {
                    return Err(AtxReject::BadReference(
                        "previous ATX is not from an earlier epoch",
                    ));
                }
                if prev.sequence + 1 != c.sequence {
                    return Err(AtxReject::BadReference(
                        "sequence does not follow the previous ATX",
                    ));
                }
                prev.commitment_atx
            }
        };
        let record = &self.poet_proofs[&atx.inner.nipost.post_metadata.challenge];
        let leaf = c.poet_leaf();
        if !self.shared.verify_membership(&atx.inner.nipost.membership, &leaf, &record.statement) {
            return Err(AtxReject::NotMember);
        }
        Ok(commitment)
    }

    /// The heavy checks of `id` finished.
    pub fn on_checked(&mut self, now: Time, id: AtxId, outcome: AtxCheckOutcome) {
        let Some(p) = self.pending.remove(&id) else { return };
        match outcome {
            AtxCheckOutcome::Valid => self.store_valid(p),
            AtxCheckOutcome::InvalidIndex(position) => {
                let smesher = p.atx.smesher;
                self.outputs.push_back(HandlerOutput::Malfeasance(MalfeasanceProof {
                    smesher,
                    evidence: Evidence::InvalidPostIndex { atx: Box::new(p.atx), position },
                }));
                self.reject(
                    p.gossip,
                    id,
                    AtxReject::Proof(format!("invalid PoST index at {position}")),
                );
            }
            AtxCheckOutcome::BadSignature => {
                self.reject(p.gossip, id, AtxReject::Proof("bad signature".into()))
            }
            AtxCheckOutcome::BadPost(e) => self.reject(p.gossip, id, AtxReject::Proof(e)),
            AtxCheckOutcome::BadVrfNonce => {
                self.reject(p.gossip, id, AtxReject::Proof("VRF nonce above difficulty".into()))
            }
        }
        self.retry_waiting(now);
    }

    fn store_valid(&mut self, p: Pending) {
        let atx = &p.atx;
        let c = &atx.inner.challenge;
        let id = p.id;
        let record = &self.poet_proofs[&atx.inner.nipost.post_metadata.challenge];
        let ticks = record.leaves / self.cfg.poet.tick_size.max(1);
        let base_height = self.store.get(&c.positioning_atx).map_or(0, |h| h.height());
        let (num_units, vrf_nonce, commitment_atx) = match self.store.get(&c.prev_atx) {
            Some(prev) if c.sequence > 0 => (
                prev.num_units.min(atx.inner.num_units),
                atx.inner.vrf_nonce.unwrap_or(prev.vrf_nonce),
                prev.commitment_atx,
            ),
            _ => (
                atx.inner.num_units,
                atx.inner.vrf_nonce.unwrap_or_default(),
                c.commitment_atx.unwrap_or(self.golden),
            ),
        };
        let header = AtxHeader {
            id,
            smesher: atx.smesher,
            publish_epoch: c.publish_epoch,
            sequence: c.sequence,
            coinbase: atx.inner.coinbase,
            num_units,
            base_height,
            ticks,
            weight: u64::from(num_units).saturating_mul(ticks),
            vrf_nonce,
            commitment_atx,
            signature: atx.signature,
        };
        let header = self.shared.share_atx_header(header);
        // Graded by when it arrived, not by when its proofs were checked (as go-spacemesh):
        // an ATX that arrives in time is on time however long the checks queue.
        let first = self.store.insert(header.clone(), p.since);
        #[cfg(feature = "canary")]
        let first =
            first.filter(|_| !crate::canary::active(crate::canary::Canary::DoubleAtxUnproven));
        if let Some(first) = first {
            let first_sig = self.store.get(&first).expect("stored").signature;
            let first_meta =
                crate::activation::wire::AtxMetadata { publish_epoch: c.publish_epoch, id: first };
            self.outputs.push_back(HandlerOutput::Malfeasance(MalfeasanceProof::multiple_atxs(
                atx.smesher,
                SignedAtxMetadata { metadata: first_meta, signature: first_sig },
                SignedAtxMetadata {
                    metadata: crate::activation::wire::AtxMetadata {
                        publish_epoch: c.publish_epoch,
                        id,
                    },
                    signature: atx.signature,
                },
            )));
        }
        self.store.keep_raw(&id, self.shared.share_atx_raw(id, p.bytes));
        self.verdict(p.gossip, Verdict::Accept);
        self.outputs.push_back(HandlerOutput::Accepted(header));
    }

    fn verdict(&mut self, gossip: Option<MsgId>, verdict: Verdict) {
        if let Some(id) = gossip {
            self.outputs.push_back(HandlerOutput::Verdict(id, verdict));
        }
    }

    fn reject(&mut self, gossip: Option<MsgId>, id: AtxId, reason: AtxReject) {
        self.verdict(gossip, Verdict::Reject);
        self.outputs.push_back(HandlerOutput::Rejected { id, reason });
    }

    /// Panics if a bound is broken (constant time).
    pub fn check_bounds(&self) {
        assert!(self.pending.len() <= self.cfg.pending_max, "too many pending ATXs");
    }

    /// Panics if a bound or an index is broken (linear time).
    pub fn check_invariants(&self) {
        self.check_bounds();
        self.store.check_invariants();
        self.pending.check_invariants();
    }
}
