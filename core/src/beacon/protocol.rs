//! [`EpochBeacon`]: the beacon protocol of one epoch (protocol.md section 4, go-spacemesh
//! `beacon/beacon.go`, `handlers.go`, `votes_calc.go`, `weakcoin/`).
//!
//! Timeline, all relative to the epoch start `S` (P, F, V, C are the configured durations and
//! `T_r = S + P + F + (r − 1)(V + C)` is the start of following round `r`):
//!
//! | time | step |
//! |---|---|
//! | `S` | publish own proposal |
//! | `S + P` | publish own first-round vote (valid and potentially valid lists) |
//! | `T_1` | own votes from the margins; publish round 1 vote (or decide if one round) |
//! | `T_r + V` | own votes from the margins; publish own weak coin for round `r` |
//! | `T_r + V + C` | undecided proposals take round `r`'s coin; publish round `r + 1` vote or decide |
//!
//! Margins accumulate over all rounds, as in go-spacemesh: a vote received during a weak coin
//! round counts towards the next round's own votes.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use thiserror::Error;

use super::config::{BeaconConfig, BeaconConfigError};
use super::message::{
    Beacon, BeaconMessage, FirstVotingMessage, FollowingVotingMessage, Proposal, ProposalMessage,
    WeakCoinMessage, encode_votes, fingerprint, proposal_vrf_message, weak_coin_vrf_message,
};
use super::threshold::proposal_threshold;
use crate::codec::{BoundedBytes, BoundedVec};
use crate::crypto::{Signer, Verifier, hash};
use crate::gossip::Verdict;
use crate::types::{EpochId, GenesisId, Hash32, NodeId, Time};
use crate::vrf::{self, VrfSignature};

mod handlers;
mod margins;
mod members;

use handlers::le_less;
use margins::{Margins, RefList};
use members::{Member, Members};

/// An identity with an ATX targeting the epoch, as the node's ATX store knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// The identity.
    pub node_id: NodeId,
    /// Its ATX targeting the epoch.
    pub atx_id: Hash32,
    /// The ATX weight: its vote weight.
    pub weight: u64,
    /// The ATX's VRF nonce: part of every VRF input.
    pub vrf_nonce: u64,
    /// PoST units of the ATX: weak coin VRFs are computed per unit.
    pub num_units: u32,
    /// When this node received the ATX (its local clock).
    pub atx_received: Time,
    /// Whether a malfeasance proof against the identity is known: weight 0, proposals at best
    /// potentially valid, no weak coin.
    pub malicious: bool,
}

/// The local smeshing identity: its ed25519 seed signs votes and proves VRFs (one key, as in
/// go-spacemesh).
pub struct LocalIdentity {
    signer: Signer,
    seed: [u8; 32],
}

impl LocalIdentity {
    /// The identity with secret `seed` on network `genesis`.
    pub fn new(seed: [u8; 32], genesis: GenesisId) -> LocalIdentity {
        LocalIdentity { signer: Signer::from_seed(seed, genesis), seed }
    }

    /// Its public key.
    pub fn node_id(&self) -> NodeId {
        self.signer.node_id()
    }
}

impl fmt::Debug for LocalIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        write!(f, "LocalIdentity({:?})", self.node_id())
    }
}

/// Where the protocol is at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BeaconPhase {
    /// Before the epoch start.
    Waiting,
    /// Collecting proposals.
    Proposal,
    /// Collecting first-round votes.
    FirstVoting,
    /// Collecting following-round votes of this round.
    Voting(u32),
    /// Collecting weak coin proposals of this round.
    WeakCoin(u32),
    /// The last round has ended.
    Done,
}

/// Why the protocol ended without a beacon (the node then relies on the fallbacks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum BeaconFailure {
    /// No proposal ended up supported.
    #[error("no proposal is supported after the last round")]
    NoSupportedProposals,
    /// No weak coin proposal was received for a round.
    #[error("no weak coin for round {round}")]
    NoWeakCoin {
        /// The round.
        round: u32,
    },
}

/// What an [`EpochBeacon`] asks of the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeaconOutput {
    /// Gossip this message on the beacon topic (it is already applied locally).
    Publish(BeaconMessage),
    /// The protocol decided; persist and use `beacon` for `epoch` (the running epoch + 1).
    Decided {
        /// The epoch the beacon is for.
        epoch: EpochId,
        /// The beacon.
        beacon: Beacon,
    },
    /// The protocol ended without a beacon for `epoch` (the running epoch + 1).
    Failed {
        /// The epoch the beacon would have been for.
        epoch: EpochId,
        /// Why.
        reason: BeaconFailure,
    },
}

/// Why an [`EpochBeacon`] cannot be created.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BeaconSetupError {
    /// The configuration is invalid or disables the protocol.
    #[error(transparent)]
    Config(#[from] BeaconConfigError),
    /// No participant has weight: go-spacemesh does not run the protocol then.
    #[error("the epoch's participants have zero total weight")]
    ZeroEpochWeight,
    /// More participants than `participants_max`.
    #[error("{count} participants exceed the limit {max}")]
    TooManyParticipants {
        /// Participants offered.
        count: usize,
        /// The limit.
        max: usize,
    },
}

/// Why a beacon message was not accepted. [`BeaconReject::verdict`] tells the gossip layer
/// whether the relaying peer is at fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BeaconReject {
    /// The message is for another epoch.
    #[error("message for {got}, this protocol runs {expected}")]
    WrongEpoch {
        /// This protocol's epoch.
        expected: EpochId,
        /// The message's epoch.
        got: EpochId,
    },
    /// The message's phase or round has not started yet (beyond the grace period).
    #[error("message too early")]
    TooEarly,
    /// The message's phase or round is over.
    #[error("message too late")]
    TooLate,
    /// The round is outside `1..rounds_number`.
    #[error("round {round} is out of range")]
    RoundOutOfRange {
        /// The round.
        round: u32,
    },
    /// The origin has no ATX targeting the epoch.
    #[error("{0:?} is not a participant of the epoch")]
    UnknownSmesher(NodeId),
    /// A weak coin from a malicious identity (its allowance is 0).
    #[error("{0:?} is malicious")]
    MaliciousSmesher(NodeId),
    /// A weak coin for a unit the identity does not have.
    #[error("unit {unit} is not below the identity's {num_units} units")]
    UnitOutOfRange {
        /// The unit.
        unit: u32,
        /// The identity's units.
        num_units: u32,
    },
    /// The signature does not verify.
    #[error("invalid signature")]
    InvalidSignature,
    /// The VRF proof does not verify.
    #[error("invalid VRF proof")]
    InvalidVrf,
    /// A first-round list is not strictly increasing.
    #[error("first-round proposal lists must be strictly increasing")]
    UnsortedProposals,
    /// The proposal is neither valid nor potentially valid (threshold or timing).
    #[error("proposal is not eligible (threshold or timing)")]
    ProposalIneligible,
    /// `proposals_max` proposals of this class are already kept.
    #[error("proposal limit reached")]
    ProposalsFull,
    /// A following-round vote from an identity whose first-round vote is unknown.
    #[error("no first-round vote of {0:?}")]
    NoFirstVote(NodeId),
    /// The identity signed two different votes for one round: a malfeasance the node should
    /// penalize. The first vote stays counted.
    #[error("{smesher:?} equivocated in round {round}")]
    Equivocation {
        /// The equivocating identity.
        smesher: NodeId,
        /// The round (0 = first voting round).
        round: u32,
    },
}

impl BeaconReject {
    /// [`Verdict::Reject`] when the message is invalid for every node (bad signature, bad VRF,
    /// malformed content); [`Verdict::Ignore`] when it depends on timing or local knowledge.
    pub fn verdict(&self) -> Verdict {
        match self {
            BeaconReject::InvalidSignature
            | BeaconReject::InvalidVrf
            | BeaconReject::UnsortedProposals
            | BeaconReject::RoundOutOfRange { .. } => Verdict::Reject,
            _ => Verdict::Ignore,
        }
    }
}

/// The next scheduled step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Propose,
    FirstVote,
    EndFirstRound,
    EndVoting(u32),
    EndCoin(u32),
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Valid,
    PotentiallyValid,
    Invalid,
}

/// The beacon protocol of one epoch.
#[derive(Debug)]
pub struct EpochBeacon {
    cfg: BeaconConfig,
    genesis: GenesisId,
    epoch: EpochId,
    start: Time,
    local: Option<LocalIdentity>,
    /// Whether the local identity signs: it has a non-malicious ATX and the instance was created
    /// before the proposal phase ended (a node restarted later must not sign again).
    signing: bool,
    participants: Members,
    epoch_weight: u128,
    threshold_strict: [u8; 80],
    threshold_loose: [u8; 80],
    vote_threshold: i128,
    step: Step,
    valid: BTreeSet<Proposal>,
    potentially_valid: BTreeSet<Proposal>,
    /// The cumulative margin of every proposal classified valid or potentially valid.
    margins: Margins,
    /// Proposals in the order they arrived (only for [`crate::canary::Canary::BeaconArrivalOrder`]).
    #[cfg(feature = "canary")]
    arrival: Vec<Proposal>,
    lists: Vec<RefList>,
    list_ids: BTreeMap<Vec<Proposal>, u32>,
    /// Smallest weak coin VRF seen per round (index 0 unused).
    coin_smallest: Vec<Option<VrfSignature>>,
    own_support: BTreeSet<Proposal>,
    undecided: Vec<Proposal>,
    own_signed: BTreeMap<u32, u64>,
    /// Set when a round ended without a weak coin; reported at the end.
    failure: Option<BeaconFailure>,
    result: Option<Result<Beacon, BeaconFailure>>,
    outputs: VecDeque<BeaconOutput>,
}

impl EpochBeacon {
    /// The protocol for `epoch`, which starts at `epoch_start`, created at `now`.
    ///
    /// `participants` are the identities with an ATX targeting `epoch` known at `now` (the first
    /// entry per identity counts); they fix the epoch weight and the eligibility thresholds.
    /// `local` signs if it is a non-malicious participant and `now` is before the end of the
    /// proposal phase; otherwise the node only listens (and still computes the beacon).
    ///
    /// Panics if `local` was made for another network than `genesis` (a wiring bug).
    pub fn new(
        cfg: BeaconConfig,
        genesis: GenesisId,
        epoch: EpochId,
        epoch_start: Time,
        participants: Vec<Participant>,
        local: Option<LocalIdentity>,
        now: Time,
    ) -> Result<EpochBeacon, BeaconSetupError> {
        cfg.validate()?;
        if participants.len() > cfg.participants_max {
            let (count, max) = (participants.len(), cfg.participants_max);
            return Err(BeaconSetupError::TooManyParticipants { count, max });
        }
        let mut members = Members::new(cfg.rounds_number);
        for p in &participants {
            members.add(Member::from(p));
        }
        let epoch_weight: u128 =
            members.iter().filter(|m| !m.malicious).map(|m| u128::from(m.weight)).sum();
        if epoch_weight == 0 {
            return Err(BeaconSetupError::ZeroEpochWeight);
        }
        // go-spacemesh counts ATXs received δ before the epoch start (loose threshold) and
        // before the start (strict threshold).
        let early = epoch_start - cfg.grace_period;
        let n_early = members.iter().filter(|m| m.atx_received < early).count() as u64;
        let n_all = members.iter().filter(|m| m.atx_received < epoch_start).count() as u64;
        let threshold_strict = proposal_threshold(cfg.kappa, cfg.q, n_all);
        let threshold_loose = proposal_threshold(cfg.kappa, cfg.q, n_early);
        // θ·W rounded down, as go-spacemesh's `votingThreshold`.
        let vote_threshold = (epoch_weight * u128::from(cfg.theta.num) / u128::from(cfg.theta.den))
            .try_into()
            .unwrap_or(i128::MAX);
        let signing = local.as_ref().is_some_and(|l| {
            members.get(&l.node_id()).is_some_and(|m| !m.malicious)
                && now < epoch_start + cfg.proposal_duration
        });
        if let Some(l) = &local {
            assert_eq!(l.signer.genesis(), genesis, "local identity signs for another network");
        }
        let rounds = cfg.rounds_number as usize;
        Ok(EpochBeacon {
            cfg,
            genesis,
            epoch,
            start: epoch_start,
            local,
            signing,
            participants: members,
            epoch_weight,
            threshold_strict,
            threshold_loose,
            vote_threshold,
            step: Step::Propose,
            valid: BTreeSet::new(),
            potentially_valid: BTreeSet::new(),
            margins: Margins::default(),
            #[cfg(feature = "canary")]
            arrival: Vec::new(),
            lists: Vec::new(),
            list_ids: BTreeMap::new(),
            coin_smallest: vec![None; rounds],
            own_support: BTreeSet::new(),
            undecided: Vec::new(),
            own_signed: BTreeMap::new(),
            failure: None,
            result: None,
            outputs: VecDeque::new(),
        })
    }

    /// Adds an identity whose ATX arrived after creation. It can propose (at best potentially
    /// valid) and vote with its weight; the epoch weight and thresholds stay as created, as in
    /// go-spacemesh. A second ATX of a known identity is ignored.
    pub fn add_participant(&mut self, p: Participant) -> Result<(), BeaconSetupError> {
        if self.participants.contains(&p.node_id) {
            return Ok(());
        }
        if self.participants.len() >= self.cfg.participants_max {
            let (count, max) = (self.participants.len() + 1, self.cfg.participants_max);
            return Err(BeaconSetupError::TooManyParticipants { count, max });
        }
        self.participants.add(Member::from(&p));
        Ok(())
    }

    /// Marks an identity malicious (a malfeasance proof arrived): its later messages weigh 0.
    /// Returns whether it is a participant.
    pub fn mark_malicious(&mut self, node_id: &NodeId) -> bool {
        match self.participants.get_mut(node_id) {
            Some(m) => {
                m.malicious = true;
                true
            }
            None => false,
        }
    }

    /// Runs every step due at `now`.
    pub fn on_tick(&mut self, now: Time) {
        self.advance(now);
    }

    /// When [`EpochBeacon::on_tick`] must be called next; `None` once done.
    pub fn next_timeout(&self) -> Option<Time> {
        self.step_time(self.step)
    }

    /// The next output, if any. Drain after every call.
    pub fn poll_output(&mut self) -> Option<BeaconOutput> {
        self.outputs.pop_front()
    }

    /// Judges a gossiped beacon message received at `now` and applies it. `Ok(Accept)`:
    /// forward it; `Ok(Ignore)`: a repeat or a weak coin that is not the smallest, drop it
    /// without penalty; `Err`: see [`BeaconReject::verdict`] (and penalize the smesher on
    /// [`BeaconReject::Equivocation`]).
    pub fn on_message(
        &mut self,
        now: Time,
        msg: &BeaconMessage,
        verifier: &dyn Verifier,
    ) -> Result<Verdict, BeaconReject> {
        self.advance(now);
        if msg.epoch() != self.epoch {
            return Err(BeaconReject::WrongEpoch { expected: self.epoch, got: msg.epoch() });
        }
        if now < self.start - self.cfg.grace_period {
            return Err(BeaconReject::TooEarly);
        }
        if self.step == Step::Done {
            return Err(BeaconReject::TooLate);
        }
        match msg {
            BeaconMessage::Proposal(m) => self.on_proposal(now, m, verifier),
            BeaconMessage::FirstVoting(m) => self.on_first_vote(now, m, verifier),
            BeaconMessage::FollowingVoting(m) => self.on_following_vote(now, m, verifier),
            BeaconMessage::WeakCoin(m) => self.on_weak_coin(now, m, verifier),
        }
    }

    /// The epoch the protocol runs in.
    pub fn epoch(&self) -> EpochId {
        self.epoch
    }

    /// The phase at `now` (a function of time only).
    pub fn phase(&self, now: Time) -> BeaconPhase {
        let cfg = &self.cfg;
        if now < self.start {
            return BeaconPhase::Waiting;
        }
        if now < self.start + cfg.proposal_duration {
            return BeaconPhase::Proposal;
        }
        if now < self.round_start(1) {
            return BeaconPhase::FirstVoting;
        }
        if now >= self.end() {
            return BeaconPhase::Done;
        }
        let r = self.round_in_progress(now);
        if now < self.round_start(r) + cfg.voting_round_duration {
            BeaconPhase::Voting(r)
        } else {
            BeaconPhase::WeakCoin(r)
        }
    }

    /// The outcome, once the last round has ended.
    pub fn result(&self) -> Option<Result<Beacon, BeaconFailure>> {
        self.result
    }

    /// The cumulative vote margin of a proposal this node classified valid or potentially valid.
    pub fn margin(&self, proposal: &Proposal) -> Option<i128> {
        self.margins.get(proposal)
    }

    /// Proposals classified valid, sorted.
    pub fn valid_proposals(&self) -> impl Iterator<Item = &Proposal> {
        self.valid.iter()
    }

    /// Proposals classified potentially valid, sorted.
    pub fn potentially_valid_proposals(&self) -> impl Iterator<Item = &Proposal> {
        self.potentially_valid.iter()
    }

    /// The total weight of the non-malicious participants at creation.
    pub fn epoch_weight(&self) -> u128 {
        self.epoch_weight
    }

    /// Whether the local identity takes part (signs and proves).
    pub fn is_signing(&self) -> bool {
        self.signing
    }

    /// Panics if an invariant of the module documentation is broken.
    pub fn check_invariants(&self) {
        let cfg = &self.cfg;
        assert!(self.participants.len() <= cfg.participants_max, "participants over the limit");
        assert!(self.valid.len() <= cfg.proposals_max, "valid proposals over the limit");
        assert!(self.potentially_valid.len() <= cfg.proposals_max, "pv proposals over the limit");
        self.margins.check_invariants();
        assert!(
            self.margins
                .iter()
                .all(|(p, _)| self.valid.contains(p) || self.potentially_valid.contains(p)),
            "margin without a proposal"
        );
        assert!(
            self.valid.iter().chain(&self.potentially_valid).all(|p| self.margins.contains(p)),
            "proposal without a margin"
        );
        assert_eq!(self.lists.len(), self.list_ids.len(), "interned lists out of sync");
        assert!(
            self.lists.iter().all(|l| l.proposals.len() <= cfg.votes_limit as usize),
            "reference list over votes_limit"
        );
        self.lists.iter().for_each(|l| l.check_invariants(&self.margins));
        self.participants.check_invariants();
        assert!(
            self.participants
                .iter()
                .all(|m| m.first_list.is_none_or(|l| (l as usize) < self.lists.len())),
            "first-round vote of an unknown list"
        );
        assert_eq!(self.participants.rounds(), cfg.rounds_number as usize, "votes per round");
        assert!(self.own_signed.keys().all(|r| *r < cfg.rounds_number), "own round out of range");
        assert_eq!(self.coin_smallest.len(), cfg.rounds_number as usize);
        assert!(self.coin_smallest[0].is_none(), "no weak coin in the first round");
        assert_eq!(self.result.is_some(), self.step == Step::Done, "result exactly when done");
        let total: u128 = self.participants.iter().map(|m| u128::from(m.weight)).sum();
        let bound = 2 * total * u128::from(cfg.rounds_number);
        assert!(
            self.margins.iter().all(|(_, m)| m.unsigned_abs() <= bound),
            "margin beyond the weight that could have voted"
        );
        assert!(self.signing || self.own_signed.is_empty(), "signed without signing rights");
    }

    // ---- time ----

    /// Start of following round `r ≥ 1` (`T_r`); `T_1` is the end of the first voting round.
    fn round_start(&self, r: u32) -> Time {
        let cfg = &self.cfg;
        let following = cfg.voting_round_duration + cfg.weak_coin_round_duration;
        self.start
            + cfg.proposal_duration
            + cfg.first_voting_round_duration
            + following * r.saturating_sub(1)
    }

    fn end(&self) -> Time {
        self.start + self.cfg.protocol_duration()
    }

    /// go-spacemesh's `roundInProgress`: 0 until `T_1`, then the following round whose voting or
    /// weak coin phase contains `now` (the last round after the end).
    fn round_in_progress(&self, now: Time) -> u32 {
        let cfg = &self.cfg;
        let t1 = self.round_start(1);
        if now < t1 || cfg.rounds_number < 2 {
            return 0;
        }
        let per = (cfg.voting_round_duration + cfg.weak_coin_round_duration).as_micros() as u64;
        let r = 1 + (now.0 - t1.0) / per;
        r.min(u64::from(cfg.rounds_number - 1)) as u32
    }

    fn step_time(&self, step: Step) -> Option<Time> {
        let cfg = &self.cfg;
        match step {
            Step::Propose => Some(self.start),
            Step::FirstVote => Some(self.start + cfg.proposal_duration),
            Step::EndFirstRound => Some(self.round_start(1)),
            Step::EndVoting(r) => Some(self.round_start(r) + cfg.voting_round_duration),
            Step::EndCoin(r) => Some(self.round_start(r + 1)),
            Step::Done => None,
        }
    }

    fn advance(&mut self, now: Time) {
        while let Some(t) = self.step_time(self.step) {
            if t > now {
                break;
            }
            self.step = match self.step {
                Step::Propose => {
                    self.propose(now);
                    Step::FirstVote
                }
                Step::FirstVote => {
                    self.send_first_vote();
                    Step::EndFirstRound
                }
                Step::EndFirstRound => {
                    self.calc_votes();
                    if self.cfg.rounds_number == 1 {
                        self.finish()
                    } else {
                        self.send_following_vote(1);
                        Step::EndVoting(1)
                    }
                }
                Step::EndVoting(r) => {
                    self.calc_votes();
                    self.publish_weak_coin(r);
                    Step::EndCoin(r)
                }
                Step::EndCoin(r) => self.end_coin_round(r),
                Step::Done => unreachable!("step_time(Done) is None"),
            };
        }
    }

    // ---- own steps ----

    fn propose(&mut self, now: Time) {
        if !self.signing {
            return;
        }
        let Some(local) = &self.local else { return };
        let id = local.node_id();
        let at = self.participants.find(&id).expect("a signing identity is a participant");
        let member = self.participants.at(at).clone();
        if member.malicious {
            return;
        }
        let vrf = vrf::prove(&local.seed, &proposal_vrf_message(member.vrf_nonce, self.epoch));
        let class = self.classify(&member, &vrf, now);
        if class == Class::Invalid || member.proposed {
            return;
        }
        if self.add_proposal(Proposal::from_vrf(&vrf), class).is_ok() {
            self.participants.at_mut(at).proposed = true;
            let msg = ProposalMessage { epoch: self.epoch, node_id: id, vrf_signature: vrf };
            self.outputs.push_back(BeaconOutput::Publish(BeaconMessage::Proposal(msg)));
        }
    }

    fn send_first_vote(&mut self) {
        if !self.signing {
            return;
        }
        let Some(local) = &self.local else { return };
        let at =
            self.participants.find(&local.node_id()).expect("a signing identity is a participant");
        // Both sets are bounded by proposals_max ≤ PROPOSALS_MAX.
        if self.participants.vote(at, 0).is_some() {
            // A twin with our key voted first; signing a different vote would equivocate.
            return;
        }
        let valid = BoundedVec::truncating(self.valid.iter().copied().collect());
        let pv = BoundedVec::truncating(self.potentially_valid.iter().copied().collect());
        let msg = FirstVotingMessage::sign(&local.signer, self.epoch, valid, pv);
        let fp = fingerprint(&msg.body());
        self.record_own_signature(0, fp);
        let weight = self.participants.at(at).vote_weight();
        self.apply_first_vote(at, weight, &msg, fp);
        self.outputs.push_back(BeaconOutput::Publish(BeaconMessage::FirstVoting(msg)));
    }

    fn send_following_vote(&mut self, round: u32) {
        if !self.signing || self.failure.is_some() {
            return;
        }
        let Some(local) = &self.local else { return };
        let at =
            self.participants.find(&local.node_id()).expect("a signing identity is a participant");
        let Some(list) = self.participants.at(at).first_list else { return };
        if self.participants.vote(at, round).is_some() {
            return;
        }
        let bits =
            encode_votes(&self.lists[list as usize].proposals, |p| self.own_support.contains(p));
        let bits = BoundedBytes::new(bits.into()).expect("votes_limit ≤ 1024 bits");
        let msg = FollowingVotingMessage::sign(&local.signer, self.epoch, round, bits);
        let fp = fingerprint(&msg.body());
        self.record_own_signature(round, fp);
        self.participants.set_vote(at, round, fp);
        let weight = self.participants.at(at).vote_weight();
        self.apply_following_vote(list, weight, &msg.votes_bit_vector);
        self.outputs.push_back(BeaconOutput::Publish(BeaconMessage::FollowingVoting(msg)));
    }

    fn publish_weak_coin(&mut self, round: u32) {
        if !self.signing || self.failure.is_some() {
            return;
        }
        let Some(local) = &self.local else { return };
        let id = local.node_id();
        let member = self.participants.get(&id).expect("a signing identity is a participant");
        let mut best: Option<(u32, VrfSignature)> = None;
        for unit in 0..member.num_units {
            let input = weak_coin_vrf_message(member.vrf_nonce, self.epoch, round, unit);
            let vrf = vrf::prove(&local.seed, &input);
            if best.as_ref().is_none_or(|(_, b)| le_less(&vrf, b)) {
                best = Some((unit, vrf));
            }
        }
        let Some((unit, vrf)) = best else { return };
        let slot = &mut self.coin_smallest[round as usize];
        if slot.as_ref().is_some_and(|s| !le_less(&vrf, s)) {
            return;
        }
        *slot = Some(vrf);
        let msg =
            WeakCoinMessage { epoch: self.epoch, round, unit, node_id: id, vrf_signature: vrf };
        self.outputs.push_back(BeaconOutput::Publish(BeaconMessage::WeakCoin(msg)));
    }

    fn end_coin_round(&mut self, round: u32) -> Step {
        match self.coin_smallest[round as usize] {
            // go-spacemesh aborts the epoch without a coin; here the node stops taking part and
            // the failure is reported at the protocol end, like every outcome.
            None => {
                self.failure.get_or_insert(BeaconFailure::NoWeakCoin { round });
            }
            // go-spacemesh's `VrfSignature.LSB`: the low bit of the first byte.
            Some(smallest) if smallest.0[0] & 1 == 1 => {
                self.own_support.extend(self.undecided.drain(..));
            }
            Some(_) => self.undecided.clear(),
        }
        if round + 1 < self.cfg.rounds_number {
            self.send_following_vote(round + 1);
            Step::EndVoting(round + 1)
        } else {
            self.finish()
        }
    }

    /// Own votes from the cumulative margins: support at `≥ θ·W`, against at `≤ −θ·W`.
    fn calc_votes(&mut self) {
        self.own_support.clear();
        self.undecided.clear();
        for (p, m) in self.margins.iter() {
            if m >= self.vote_threshold {
                self.own_support.insert(*p);
            } else if m > -self.vote_threshold {
                self.undecided.push(*p);
            }
        }
    }

    fn finish(&mut self) -> Step {
        let target = EpochId(self.epoch.0.saturating_add(1));
        let result = match self.failure {
            Some(f) => Err(f),
            None if self.own_support.is_empty() => Err(BeaconFailure::NoSupportedProposals),
            #[cfg(feature = "canary")]
            None if crate::canary::active(crate::canary::Canary::BeaconArrivalOrder) => {
                let support = &self.own_support;
                let bytes: Vec<u8> =
                    self.arrival.iter().filter(|p| support.contains(p)).flat_map(|p| p.0).collect();
                let h = hash(&bytes);
                Ok(Beacon([h.0[0], h.0[1], h.0[2], h.0[3]]))
            }
            None => Ok(beacon_of(&self.own_support)),
        };
        assert!(self.result.is_none(), "the protocol decides once");
        self.result = Some(result);
        self.outputs.push_back(match result {
            Ok(beacon) => BeaconOutput::Decided { epoch: target, beacon },
            Err(reason) => BeaconOutput::Failed { epoch: target, reason },
        });
        Step::Done
    }

    /// Never sign two different votes for one round, whatever the caller does.
    fn record_own_signature(&mut self, round: u32, fp: u64) {
        let prev = self.own_signed.insert(round, fp);
        assert!(prev.is_none_or(|p| p == fp), "signed two different votes for round {round}");
    }
}

/// `beacon = BLAKE3(sorted proposals)[0..4]` (go-spacemesh `calcBeacon`).
fn beacon_of(support: &BTreeSet<Proposal>) -> Beacon {
    let mut bytes = Vec::with_capacity(4 * support.len());
    support.iter().for_each(|p| bytes.extend_from_slice(&p.0));
    let h = hash(&bytes);
    Beacon([h.0[0], h.0[1], h.0[2], h.0[3]])
}
