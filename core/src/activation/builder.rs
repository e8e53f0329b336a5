//! The NIPoST builder: turns PoST data and PoET rounds into one ATX per epoch.
//!
//! For publish epoch P (times from [`LayerClock`]):
//! 1. A grace period before the PoET round starts (`poet_round_start(P)`), build the NIPoST
//!    challenge (previous ATX, positioning ATX = highest known ATX before P, or golden; the
//!    initial PoST for the first ATX), persist it, and register its hash with every configured
//!    PoET, retrying until the round starts. No registration by then: skip to the next epoch.
//! 2. After the round ends, ask the PoETs for the round's proof, retrying until a deadline;
//!    verify each proof (a job) and keep the one with the most leaves that includes the
//!    challenge.
//! 3. Prove PoST against that proof's reference (a job), then sign the ATX, persist it, and only
//!    then publish it. A restarted node re-publishes the persisted ATX instead of building a
//!    second one (which would be a double publish, a malfeasance).
//!
//! Everything the builder needs across restarts is persisted under `nipost/`: the PoST
//! initialization result, the current challenge with its registrations, the chosen proof, and
//! the last published ATX.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use crate::activation::wire::{
    Address, Atx, AtxId, InnerAtx, Nipost, NipostChallenge, PostMetadataWire,
};
use crate::codec::{BoundedVec, DecodeError, Encode, decode_exact};
use crate::crypto::{Signer, Verifier};
use crate::impl_codec_struct;
use crate::layers::LayerClock;
use crate::poet::PoetProof;
use crate::poet::api::{PoetRequest, PoetResponse};
use crate::poet::service::Submit;
use crate::post::{PostConfig, Proof};
use crate::store::{Batch, Snapshot};
use crate::types::{EpochId, Hash32, NodeId, Time};

/// Store key of the PoST initialization result.
pub const INIT_KEY: &[u8] = b"nipost/init";
/// Store key of the in-progress NIPoST.
pub const STATE_KEY: &[u8] = b"nipost/state";
/// Store key of the last ATX this node published.
pub const LAST_ATX_KEY: &[u8] = b"nipost/last_atx";

/// Builder settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BuilderConfig {
    /// Space units to commit.
    pub num_units: u32,
    /// PoET services to register with (their public keys).
    pub poets: Vec<NodeId>,
    /// How long to wait for a PoET's answer before asking again.
    pub poet_request_timeout: Duration,
    /// Pause between retries of a failed PoET request.
    pub poet_retry_interval: Duration,
    /// Where rewards go (default: derived from the identity).
    pub coinbase: Option<[u8; 24]>,
    /// Adversary knob for simulations: in this publish epoch the builder signs and publishes a
    /// second, different ATX (a double publish, which honest nodes must turn into a malfeasance
    /// proof). Always `None` on a real node.
    pub double_publish: Option<EpochId>,
}

impl Default for BuilderConfig {
    fn default() -> Self {
        BuilderConfig {
            num_units: 1,
            poets: Vec::new(),
            poet_request_timeout: Duration::from_secs(5),
            poet_retry_interval: Duration::from_secs(2),
            coinbase: None,
            double_publish: None,
        }
    }
}

/// What PoST initialization produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostInitResult {
    /// The ATX the data commits to.
    pub commitment_atx: AtxId,
    /// Index of the VRF nonce label.
    pub vrf_nonce: u64,
    /// PoST proof against the all-zero challenge, for the initial ATX.
    pub initial_post: Proof,
}
impl_codec_struct!(PostInitResult { commitment_atx, vrf_nonce, initial_post });

/// One PoET's round proof as the builder holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenProof {
    /// Which PoET.
    pub poet: NodeId,
    /// Its round.
    pub round: u64,
    /// The proof.
    pub proof: PoetProof,
    /// The statement (membership root) it proves work on.
    pub statement: Hash32,
    /// Our leaf's membership proof.
    pub membership: crate::poet::MembershipProof,
}
impl_codec_struct!(ChosenProof { poet, round, proof, statement, membership });

/// Phases of one epoch's NIPoST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Registering the challenge with PoETs (until the round starts).
    Registering,
    /// Registered; waiting for the round to end.
    WaitingRound,
    /// Fetching and verifying round proofs.
    FetchingProof,
    /// PoST proving on the chosen proof.
    Proving,
}

/// A PoET that accepted the registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Registration {
    /// The PoET.
    pub poet: NodeId,
    /// The round the challenge is a member of.
    pub round: u64,
}
impl_codec_struct!(Registration { poet, round });

/// The persisted NIPoST in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NipostState {
    /// The challenge.
    pub challenge: NipostChallenge,
    /// PoETs that accepted the registration, with their round ids.
    pub registered: BoundedVec<Registration, 16>,
    /// The proof chosen so far.
    pub chosen: Option<ChosenProof>,
}
impl_codec_struct!(NipostState { challenge, registered, chosen });

/// What the builder asks its owner (the node) to do.
#[derive(Debug, Clone, PartialEq)]
pub enum BuilderOutput {
    /// Start PoST initialization (answer with [`Builder::on_init_done`]).
    Initialize {
        /// Commitment ATX of the data.
        commitment_atx: AtxId,
    },
    /// Send a request to a PoET (answer with [`Builder::on_poet_response`] or nothing).
    Poet {
        /// The PoET.
        poet: NodeId,
        /// Request id.
        id: u64,
        /// The request.
        request: PoetRequest,
    },
    /// Verify a PoET proof (answer with [`Builder::on_proof_verified`]).
    VerifyPoetProof {
        /// Request id it came from.
        id: u64,
        /// The proof.
        proof: Box<PoetProof>,
        /// Its statement.
        statement: Hash32,
    },
    /// Prove PoST on `challenge` (answer with [`Builder::on_post_proved`]).
    Prove {
        /// The challenge (a PoET proof reference).
        challenge: Hash32,
        /// Commitment ATX of the data.
        commitment_atx: AtxId,
        /// The chosen PoET proof (validators will need it).
        proof: Box<PoetProof>,
        /// Its statement.
        statement: Hash32,
    },
    /// Persist before any later output.
    Persist(Batch),
    /// Publish this ATX (already persisted).
    Publish(Box<Atx>),
    /// Something worth reporting.
    Event(BuilderEvent),
}

/// Builder facts for the trace and checkers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BuilderEvent {
    /// Registered with a PoET for a publish epoch.
    Registered {
        /// Publish epoch.
        epoch: EpochId,
        /// The PoET.
        poet: NodeId,
    },
    /// No PoET accepted the registration in time; the epoch is skipped.
    MissedRound {
        /// Publish epoch.
        epoch: EpochId,
    },
    /// No usable proof arrived before the deadline.
    NoProof {
        /// Publish epoch.
        epoch: EpochId,
    },
    /// PoST initialization failed (the label source could not compute or read the labels):
    /// this identity publishes no ATX until the node is restarted with usable PoST data.
    InitFailed {
        /// What went wrong.
        reason: String,
    },
    /// A PoET answered with an error or an invalid proof.
    PoetFailed {
        /// The PoET.
        poet: NodeId,
        /// What went wrong.
        reason: String,
    },
}

#[derive(Debug, Clone)]
struct Request {
    poet: NodeId,
    sent: Time,
    request: PoetRequest,
}

/// The NIPoST builder of one identity.
#[derive(Debug)]
pub struct Builder {
    cfg: BuilderConfig,
    post: PostConfig,
    clock: LayerClock,
    signer: Signer,
    golden: AtxId,
    init: Option<PostInitResult>,
    initializing: bool,
    state: Option<NipostState>,
    phase: Option<Phase>,
    last_atx: Option<Atx>,
    requests: BTreeMap<u64, Request>,
    retry_at: BTreeMap<NodeId, Time>,
    verifying: BTreeMap<u64, (NodeId, u64, PoetResponse)>,
    proving: bool,
    next_request: u64,
    outputs: VecDeque<BuilderOutput>,
}

impl Builder {
    /// A builder for `signer`'s identity.
    pub fn new(
        cfg: BuilderConfig,
        post: PostConfig,
        clock: LayerClock,
        signer: Signer,
        golden: AtxId,
    ) -> Self {
        Builder {
            cfg,
            post,
            clock,
            signer,
            golden,
            init: None,
            initializing: false,
            state: None,
            phase: None,
            last_atx: None,
            requests: BTreeMap::new(),
            retry_at: BTreeMap::new(),
            verifying: BTreeMap::new(),
            proving: false,
            next_request: 0,
            outputs: VecDeque::new(),
        }
    }

    /// Restores persisted progress.
    pub fn restore(&mut self, snapshot: &Snapshot) -> Result<(), DecodeError> {
        if let Some(v) = snapshot.get(INIT_KEY) {
            self.init = Some(decode_exact(v)?);
        }
        if let Some(v) = snapshot.get(LAST_ATX_KEY) {
            let atx: Atx = decode_exact(v)?;
            // Re-publish: peers that missed it before the restart still need it.
            self.outputs.push_back(BuilderOutput::Publish(Box::new(atx.clone())));
            self.last_atx = Some(atx);
        }
        if let Some(v) = snapshot.get(STATE_KEY) {
            let state: NipostState = decode_exact(v)?;
            self.phase = Some(if state.chosen.is_some() {
                Phase::Proving
            } else if state.registered.is_empty() {
                Phase::Registering
            } else {
                Phase::WaitingRound
            });
            self.state = Some(state);
        }
        Ok(())
    }

    /// Where the rewards of the ATXs this builder publishes from now on go: the configured
    /// coinbase, or the address derived from the identity.
    pub fn coinbase(&self) -> Address {
        Address(self.cfg.coinbase.unwrap_or(Address::of_node(&self.signer.node_id()).0))
    }

    /// Sends the rewards of the ATXs published from now on to `coinbase` (an ATX already
    /// published keeps its own). Not persisted: a restarted builder uses its configuration's.
    pub fn set_coinbase(&mut self, coinbase: Address) {
        self.cfg.coinbase = Some(coinbase.0);
    }

    /// The ATX this identity published last.
    pub fn last_atx(&self) -> Option<&Atx> {
        self.last_atx.as_ref()
    }

    /// The PoST initialization result, once done.
    pub fn init(&self) -> Option<&PostInitResult> {
        self.init.as_ref()
    }

    /// The current phase.
    pub fn phase(&self) -> Option<&Phase> {
        self.phase.as_ref()
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<BuilderOutput> {
        self.outputs.pop_front()
    }

    /// When the builder wants a tick.
    pub fn poll_timeout(&self, now: Time) -> Option<Time> {
        if self.init.is_none() {
            return (!self.initializing).then_some(now);
        }
        // Called after every input of every node: no allocation.
        let requests = self.requests.values().map(|r| r.sent + self.cfg.poet_request_timeout);
        // Past retry times only matter at the next phase deadline: never ask for a tick now.
        let retries = self.retry_at.values().copied().filter(|t| *t > now);
        let phase = match (&self.state, &self.phase) {
            (None, _) => Some(self.registration_time(self.next_epoch(now))),
            (Some(s), Some(Phase::Registering)) => {
                Some(self.clock.poet_round_start(s.challenge.publish_epoch))
            }
            (Some(s), Some(Phase::WaitingRound)) => {
                Some(self.clock.poet_round_end(s.challenge.publish_epoch))
            }
            (Some(s), Some(Phase::FetchingProof)) => Some(self.proof_deadline(s)),
            _ => None,
        };
        requests.chain(retries).chain(phase).min()
    }

    fn registration_time(&self, epoch: EpochId) -> Time {
        self.clock.poet_round_start(epoch) - self.clock.poet_grace_period
    }

    fn proof_deadline(&self, s: &NipostState) -> Time {
        let next_round = self.clock.poet_round_start(EpochId(s.challenge.publish_epoch.0 + 1));
        next_round - self.clock.poet_grace_period
    }

    /// The first epoch this builder can still publish in.
    fn next_epoch(&self, now: Time) -> EpochId {
        let after_last =
            self.last_atx.as_ref().map_or(EpochId(1), |a| EpochId(a.publish_epoch().0 + 1));
        let mut e = self.clock.next_publish_epoch(now).max(after_last);
        // Registration must happen before the round starts.
        while self.clock.poet_round_start(e) <= now {
            e = EpochId(e.0 + 1);
        }
        e
    }

    /// Time passed. `positioning` is the highest valid ATX published before a given epoch.
    pub fn on_tick(&mut self, now: Time, positioning: impl Fn(EpochId) -> Option<(AtxId, u64)>) {
        if self.init.is_none() {
            if !self.initializing {
                self.initializing = true;
                self.outputs.push_back(BuilderOutput::Initialize { commitment_atx: self.golden });
            }
            return;
        }
        self.expire_requests(now);
        self.retry_at.retain(|_, t| *t > now);
        match self.phase.clone() {
            None => {
                let epoch = self.next_epoch(now);
                if now >= self.registration_time(epoch) {
                    self.start_epoch(now, epoch, &positioning);
                }
            }
            Some(Phase::Registering) => {
                let state = self.state.as_ref().expect("registering has a state");
                let epoch = state.challenge.publish_epoch;
                if now >= self.clock.poet_round_start(epoch) {
                    if state.registered.is_empty() {
                        self.outputs
                            .push_back(BuilderOutput::Event(BuilderEvent::MissedRound { epoch }));
                        self.drop_state();
                    } else {
                        self.phase = Some(Phase::WaitingRound);
                    }
                } else {
                    self.send_registrations(now);
                }
            }
            Some(Phase::WaitingRound) => {
                let epoch = self.state.as_ref().expect("state").challenge.publish_epoch;
                if now >= self.clock.poet_round_end(epoch) {
                    self.phase = Some(Phase::FetchingProof);
                    self.fetch_proofs(now);
                }
            }
            Some(Phase::FetchingProof) => {
                let state = self.state.as_ref().expect("state");
                if now >= self.proof_deadline(state) {
                    self.finish_fetching(now);
                } else {
                    self.fetch_proofs(now);
                }
            }
            Some(Phase::Proving) => self.start_proving(),
        }
    }

    fn start_epoch(
        &mut self,
        now: Time,
        epoch: EpochId,
        positioning: &impl Fn(EpochId) -> Option<(AtxId, u64)>,
    ) {
        let init = self.init.clone().expect("initialized");
        let own = self.last_atx.as_ref().map(|a| (a.id(), a.inner.challenge.sequence));
        let positioning_atx = positioning(epoch).map_or(self.golden, |(id, _)| id);
        let challenge = match own {
            Some((prev, seq)) => NipostChallenge {
                publish_epoch: epoch,
                sequence: seq + 1,
                prev_atx: prev,
                positioning_atx,
                commitment_atx: None,
                initial_post: None,
            },
            None => NipostChallenge {
                publish_epoch: epoch,
                sequence: 0,
                prev_atx: AtxId::default(),
                positioning_atx,
                commitment_atx: Some(init.commitment_atx),
                initial_post: Some(init.initial_post.clone()),
            },
        };
        self.state =
            Some(NipostState { challenge, registered: BoundedVec::default(), chosen: None });
        self.phase = Some(Phase::Registering);
        self.persist_state();
        self.send_registrations(now);
    }

    fn send_registrations(&mut self, now: Time) {
        let state = self.state.as_ref().expect("state");
        let leaf = state.challenge.poet_leaf();
        let registered: Vec<NodeId> = state.registered.iter().map(|r| r.poet).collect();
        let deadline = Some(self.clock.poet_round_end(state.challenge.publish_epoch));
        for poet in self.cfg.poets.clone() {
            if registered.contains(&poet) || self.busy(&poet, now) {
                continue;
            }
            let submit = Submit::sign(&self.signer, leaf, deadline);
            self.request(now, poet, PoetRequest::Submit(submit));
        }
    }

    fn busy(&self, poet: &NodeId, now: Time) -> bool {
        self.requests.values().any(|r| r.poet == *poet)
            || self.retry_at.get(poet).is_some_and(|t| now < *t)
    }

    fn request(&mut self, now: Time, poet: NodeId, request: PoetRequest) {
        let id = self.next_request;
        self.next_request += 1;
        self.requests.insert(id, Request { poet, sent: now, request: request.clone() });
        self.outputs.push_back(BuilderOutput::Poet { poet, id, request });
    }

    fn expire_requests(&mut self, now: Time) {
        let timeout = self.cfg.poet_request_timeout;
        let expired: Vec<u64> = self
            .requests
            .iter()
            .filter(|(_, r)| now >= r.sent + timeout)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            let r = self.requests.remove(&id).expect("listed");
            self.retry_at.insert(r.poet, now + self.cfg.poet_retry_interval);
        }
    }

    fn fetch_proofs(&mut self, now: Time) {
        let state = self.state.as_ref().expect("state");
        if state.chosen.is_some() {
            return;
        }
        for r in state.registered.clone().iter() {
            if self.busy(&r.poet, now) || self.verifying.values().any(|(p, _, _)| *p == r.poet) {
                continue;
            }
            self.request(now, r.poet, PoetRequest::Proof { round: r.round });
        }
    }

    fn finish_fetching(&mut self, _now: Time) {
        let state = self.state.as_ref().expect("state");
        if state.chosen.is_some() {
            self.phase = Some(Phase::Proving);
            self.start_proving();
        } else {
            let epoch = state.challenge.publish_epoch;
            self.outputs.push_back(BuilderOutput::Event(BuilderEvent::NoProof { epoch }));
            self.drop_state();
        }
    }

    /// A PoET answered request `id`.
    /// `verifier` builds the PoET's membership tree ([`Verifier::membership_tree`]).
    pub fn on_poet_response(
        &mut self,
        now: Time,
        id: u64,
        response: PoetResponse,
        verifier: &dyn Verifier,
    ) {
        let Some(req) = self.requests.remove(&id) else { return };
        let Some(state) = self.state.as_mut() else { return };
        match (req.request, response) {
            (PoetRequest::Submit(_), PoetResponse::Submitted { round, .. }) => {
                if !state.registered.iter().any(|r| r.poet == req.poet) {
                    let mut list = state.registered.clone().into_inner();
                    list.push(Registration { poet: req.poet, round });
                    state.registered = BoundedVec::truncating(list);
                    let epoch = state.challenge.publish_epoch;
                    self.persist_state();
                    self.outputs.push_back(BuilderOutput::Event(BuilderEvent::Registered {
                        epoch,
                        poet: req.poet,
                    }));
                }
            }
            (PoetRequest::Proof { round }, response @ PoetResponse::Proof { .. }) => {
                let PoetResponse::Proof { proof, members, .. } = &response else { unreachable!() };
                let statement = verifier.membership_tree(members).root();
                self.outputs.push_back(BuilderOutput::VerifyPoetProof {
                    id,
                    proof: Box::new(proof.clone()),
                    statement,
                });
                self.verifying.insert(id, (req.poet, round, response));
            }
            (_, PoetResponse::Error { message, .. }) => {
                self.poet_failed(now, req.poet, String::from_utf8_lossy(&message).into_owned());
            }
            (_, other) => {
                self.poet_failed(now, req.poet, format!("unexpected answer {other:?}"));
            }
        }
    }

    fn poet_failed(&mut self, now: Time, poet: NodeId, reason: String) {
        self.retry_at.insert(poet, now + self.cfg.poet_retry_interval);
        self.outputs.push_back(BuilderOutput::Event(BuilderEvent::PoetFailed { poet, reason }));
    }

    /// The proof of request `id` was verified (`verifier` builds the membership tree again:
    /// keeping each node's tree between the two would hold one per node and PoET meanwhile).
    pub fn on_proof_verified(&mut self, now: Time, id: u64, valid: bool, verifier: &dyn Verifier) {
        let Some((poet, round, response)) = self.verifying.remove(&id) else { return };
        let PoetResponse::Proof { proof, members, .. } = response else { return };
        if !valid {
            self.poet_failed(now, poet, "invalid proof".into());
            return;
        }
        let Some(state) = self.state.as_mut() else { return };
        let leaf = state.challenge.poet_leaf();
        let members = members.into_inner();
        let Some(index) = members.iter().position(|m| *m == leaf) else {
            self.poet_failed(now, poet, "our challenge is not a member".into());
            return;
        };
        let tree = verifier.membership_tree(&members);
        let statement = tree.root();
        let Some(membership) = tree.proof(index as u64) else {
            self.poet_failed(now, poet, "membership proof out of range".into());
            return;
        };
        let better = state.chosen.as_ref().is_none_or(|c| proof.leaves > c.proof.leaves);
        if better {
            state.chosen = Some(ChosenProof { poet, round, proof, statement, membership });
            self.persist_state();
        }
        // Every registered PoET answered: no reason to wait for the deadline.
        let state = self.state.as_ref().expect("state");
        let all = state.registered.iter().all(|r| {
            state.chosen.as_ref().is_some_and(|c| c.poet == r.poet)
                || self.retry_at.contains_key(&r.poet)
                    && !self.requests.values().any(|q| q.poet == r.poet)
        });
        if all || state.registered.len() == 1 {
            self.phase = Some(Phase::Proving);
            self.start_proving();
        }
    }

    fn start_proving(&mut self) {
        if self.proving {
            return;
        }
        let (Some(state), Some(init)) = (&self.state, &self.init) else { return };
        let Some(chosen) = &state.chosen else { return };
        self.proving = true;
        self.outputs.push_back(BuilderOutput::Prove {
            challenge: chosen.proof.reference(),
            commitment_atx: init.commitment_atx,
            proof: Box::new(chosen.proof.clone()),
            statement: chosen.statement,
        });
    }

    /// PoST initialization finished.
    pub fn on_init_done(&mut self, result: PostInitResult) {
        self.initializing = false;
        let mut batch = Batch::default();
        batch.put(INIT_KEY, &result.encode());
        self.outputs.push_back(BuilderOutput::Persist(batch));
        self.init = Some(result);
    }

    /// PoST proving finished: build, persist and publish the ATX.
    pub fn on_post_proved(&mut self, post: Result<Proof, String>) {
        self.proving = false;
        let Some(state) = self.state.take() else { return };
        self.phase = None;
        let Some(chosen) = state.chosen else { return };
        let post = match post {
            Ok(p) => p,
            Err(reason) => {
                self.outputs.push_back(BuilderOutput::Event(BuilderEvent::PoetFailed {
                    poet: chosen.poet,
                    reason: format!("PoST proving failed: {reason}"),
                }));
                self.clear_persisted_state();
                return;
            }
        };
        let init = self.init.as_ref().expect("initialized");
        let initial = state.challenge.sequence == 0;
        let node = self.signer.node_id();
        let inner = InnerAtx {
            challenge: state.challenge,
            coinbase: self.coinbase(),
            num_units: self.cfg.num_units,
            nipost: Nipost {
                membership: chosen.membership,
                post,
                post_metadata: PostMetadataWire {
                    challenge: chosen.proof.reference(),
                    labels_per_unit: self.post.labels_per_unit,
                },
            },
            node_id: initial.then_some(node),
            vrf_nonce: initial.then_some(init.vrf_nonce),
        };
        let twin = (self.cfg.double_publish == Some(inner.challenge.publish_epoch)).then(|| {
            let mut other = inner.clone();
            other.coinbase = Address([0xee; 24]);
            Atx::sign(&self.signer, other)
        });
        let atx = Atx::sign(&self.signer, inner);
        let mut batch = Batch::default();
        batch.put(LAST_ATX_KEY, &atx.encode());
        batch.delete(STATE_KEY);
        self.outputs.push_back(BuilderOutput::Persist(batch));
        self.outputs.push_back(BuilderOutput::Publish(Box::new(atx.clone())));
        if let Some(twin) = twin {
            self.outputs.push_back(BuilderOutput::Publish(Box::new(twin)));
        }
        self.last_atx = Some(atx);
    }

    fn persist_state(&mut self) {
        let state = self.state.as_ref().expect("state");
        let mut batch = Batch::default();
        batch.put(STATE_KEY, &state.encode());
        self.outputs.push_back(BuilderOutput::Persist(batch));
    }

    fn drop_state(&mut self) {
        self.state = None;
        self.phase = None;
        self.clear_persisted_state();
    }

    fn clear_persisted_state(&mut self) {
        let mut batch = Batch::default();
        batch.delete(STATE_KEY);
        self.outputs.push_back(BuilderOutput::Persist(batch));
    }

    /// Panics if a bound is broken.
    pub fn check_invariants(&self) {
        assert!(self.requests.len() <= 2 * self.cfg.poets.len().max(1), "too many PoET requests");
        assert_eq!(self.state.is_some(), self.phase.is_some(), "phase without state or back");
    }
}
