//! The PoET service as a state machine (proofs.md 2.2, 4.3): registration of challenges for the
//! open round, the round's membership tree, and the proofs the host's sequential work produces.
//!
//! A host drives it: [`PoetService::submit`] for each registration,
//! [`PoetService::on_tick`] when [`PoetService::next_timeout`] is due (ask again after every
//! call), and [`PoetService::proof_ready`] when the sequential work of an ended round is done.
//! On [`ServiceEvent::RoundExecuting`] a real host starts [`super::SequentialWork`] on the
//! statement on a worker thread and stops it at the round's end; a simulating host waits for
//! [`ServiceEvent::RoundEnded`] and appends `rate * round duration` leaves at once.
//!
//! Rules, in the order they are checked for a submission:
//! 1. The ed25519 signature of `genesis_id || Domain::Poet || challenge` by the node id.
//! 2. With a deadline, the open round must end by it (`TooLate`).
//! 3. The round must still be open: a round the service has closed takes no members.
//! 4. One challenge per node per round: the same challenge again is accepted (idempotent), a
//!    different one is a conflict.
//! 5. At most `members_max` members per round.
//!
//! Invariants (see [`PoetService::check_invariants`]):
//! 1. Every open round is later than every closed round.
//! 2. A round's statement is the membership root over its challenges sorted by node id.
//! 3. At most `rounds_kept` rounds with a proof, and as many waiting for one, are kept; older
//!    ones are forgotten.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::codec::{BoundedVec, Decode, DecodeError, Encode, Reader};
use crate::crypto::{Domain, Signature, Signer, Verifier, signed_message};
use crate::impl_codec_struct;
use crate::types::{GenesisId, Hash32, NodeId, Time};

use super::membership::{MembershipProof, MembershipTree};
use super::proof::PoetProof;
use super::round::{RoundSchedule, ScheduleError};

/// Most members of one round that the codec carries (a bound for `members_max`).
pub const ROUND_MEMBERS_MAX: usize = 1 << 20;
/// Most rounds in a snapshot (a bound for `rounds_kept`).
pub const ROUNDS_MAX: usize = 1024;

/// Bounds and schedule of a PoET service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoetServiceConfig {
    /// The network whose nodes register (prefix of the signed message).
    pub genesis_id: GenesisId,
    /// When rounds start and end.
    pub schedule: RoundSchedule,
    /// Most members per round (at most [`ROUND_MEMBERS_MAX`]).
    pub members_max: usize,
    /// Rounds with a proof kept for queries, and rounds kept waiting for their proof; older
    /// ones are forgotten.
    pub rounds_kept: usize,
}

impl Default for PoetServiceConfig {
    /// poet's server defaults: 30 s epochs, 15 s phase shift, 10 s cycle gap.
    fn default() -> Self {
        PoetServiceConfig {
            genesis_id: GenesisId::default(),
            schedule: RoundSchedule {
                genesis: Time::ZERO,
                epoch_duration: std::time::Duration::from_secs(30),
                phase_shift: std::time::Duration::from_secs(15),
                cycle_gap: std::time::Duration::from_secs(10),
            },
            members_max: ROUND_MEMBERS_MAX,
            rounds_kept: 16,
        }
    }
}

/// Why a configuration is unusable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// The schedule is unusable.
    #[error("schedule: {0}")]
    Schedule(#[from] ScheduleError),
    /// `members_max` is zero or above [`ROUND_MEMBERS_MAX`].
    #[error("members_max {0} must be between 1 and {ROUND_MEMBERS_MAX}")]
    MembersMax(usize),
    /// `rounds_kept` is zero or leaves no room in a snapshot.
    #[error("rounds_kept {0} must be between 1 and {max}", max = ROUNDS_MAX / 4)]
    RoundsKept(usize),
}

impl PoetServiceConfig {
    /// Checks every bound.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.schedule.validate()?;
        if self.members_max == 0 || self.members_max > ROUND_MEMBERS_MAX {
            return Err(ConfigError::MembersMax(self.members_max));
        }
        if self.rounds_kept == 0 || self.rounds_kept > ROUNDS_MAX / 4 {
            return Err(ConfigError::RoundsKept(self.rounds_kept));
        }
        Ok(())
    }
}

/// A registration: a node asks that its challenge be a leaf of the open round's membership tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submit {
    /// The challenge (the hash of the node's NIPoST challenge).
    pub challenge: Hash32,
    /// The registering identity.
    pub node_id: NodeId,
    /// The node's signature of the challenge under [`Domain::Poet`].
    pub signature: Signature,
    /// Latest acceptable round end, if the node has one.
    pub deadline: Option<Time>,
}
impl_codec_struct!(Submit { challenge, node_id, signature, deadline });

impl Submit {
    /// A registration of `challenge` signed by `signer`.
    pub fn sign(signer: &Signer, challenge: Hash32, deadline: Option<Time>) -> Submit {
        Submit {
            challenge,
            node_id: signer.node_id(),
            signature: signer.sign(Domain::Poet, &challenge.0),
            deadline,
        }
    }
}

/// Where a registration landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmitResponse {
    /// The round the challenge is a member of.
    pub round: u64,
    /// When that round ends (its proof follows soon after).
    pub round_end: Time,
}
impl_codec_struct!(SubmitResponse { round, round_end });

/// Why a registration was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SubmitError {
    /// The signature does not verify.
    #[error("invalid signature")]
    InvalidSignature,
    /// The open round ends after the node's deadline.
    #[error("round {round} ends at {round_end}, after the deadline {deadline}")]
    TooLate {
        /// The open round.
        round: u64,
        /// Its end.
        round_end: Time,
        /// The node's deadline.
        deadline: Time,
    },
    /// The round is no longer open (the caller's clock is behind the service's).
    #[error("round {0} is closed")]
    RoundClosed(u64),
    /// The node already registered a different challenge in this round.
    #[error("node registered another challenge in round {0}")]
    Conflicting(u64),
    /// The round has `members_max` members.
    #[error("round {round} is full ({members_max} members)")]
    RoundFull {
        /// The open round.
        round: u64,
        /// The cap.
        members_max: usize,
    },
}

/// Why a proof was not accepted for a round.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofReadyError {
    /// The service has no such round (never had members, or forgotten).
    #[error("unknown round {0}")]
    UnknownRound(u64),
    /// The round has not ended yet (tick the service first).
    #[error("round {0} has not ended")]
    NotEnded(u64),
    /// The round already has a different proof.
    #[error("round {0} already has a proof")]
    AlreadyProven(u64),
    /// The proof came so late that `rounds_kept` newer rounds are proven: it is not kept.
    #[error("round {0} is older than the rounds kept")]
    TooOld(u64),
}

/// What the service tells its host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceEvent {
    /// Registration closed and the sequential work on `statement` should run until `end`.
    RoundExecuting {
        /// The round.
        round: u64,
        /// The membership root, input of the sequential work.
        statement: Hash32,
        /// Members of the round.
        members: u64,
        /// When the work stops.
        end: Time,
    },
    /// Registration closed with no member; the round is dropped without work.
    RoundSkipped {
        /// The round.
        round: u64,
    },
    /// The round's time is up: finish (or, in simulation, perform) the sequential work and call
    /// [`PoetService::proof_ready`].
    RoundEnded {
        /// The round.
        round: u64,
        /// The statement the work ran on.
        statement: Hash32,
    },
}

impl ServiceEvent {
    /// The round the event is about.
    pub fn round(&self) -> u64 {
        match self {
            ServiceEvent::RoundExecuting { round, .. }
            | ServiceEvent::RoundSkipped { round }
            | ServiceEvent::RoundEnded { round, .. } => *round,
        }
    }
}

/// A member of a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// The registered identity.
    pub node_id: NodeId,
    /// Its challenge.
    pub challenge: Hash32,
}
impl_codec_struct!(Member { node_id, challenge });

/// Where a round stands, as persisted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoundPhase {
    /// Taking registrations.
    Open,
    /// Sequential work running.
    Executing,
    /// Time is up, waiting for the proof.
    Ended,
    /// The proof is available.
    ProofReady(PoetProof),
}

impl Encode for RoundPhase {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            RoundPhase::Open => out.push(0),
            RoundPhase::Executing => out.push(1),
            RoundPhase::Ended => out.push(2),
            RoundPhase::ProofReady(proof) => {
                out.push(3);
                proof.encode_to(out);
            }
        }
    }
}

impl Decode for RoundPhase {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.byte()? {
            0 => Ok(RoundPhase::Open),
            1 => Ok(RoundPhase::Executing),
            2 => Ok(RoundPhase::Ended),
            3 => Ok(RoundPhase::ProofReady(PoetProof::decode(r)?)),
            tag => Err(DecodeError::InvalidTag { what: "RoundPhase", tag }),
        }
    }
}

/// One round, as persisted: members sorted by node id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundSnapshot {
    /// The round id.
    pub round: u64,
    /// Its phase.
    pub phase: RoundPhase,
    /// Its members in node-id order.
    pub members: BoundedVec<Member, ROUND_MEMBERS_MAX>,
}
impl_codec_struct!(RoundSnapshot { round, phase, members });

/// Everything a service needs to resume after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSnapshot {
    /// The latest round the service closed.
    pub closed_through: Option<u64>,
    /// Rounds in increasing id order.
    pub rounds: BoundedVec<RoundSnapshot, ROUNDS_MAX>,
}
impl_codec_struct!(ServiceSnapshot { closed_through, rounds });

/// Why a snapshot cannot be restored.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RestoreError {
    /// The configuration is unusable.
    #[error("config: {0}")]
    Config(#[from] ConfigError),
    /// Rounds are not in increasing order, or an open round is not after every closed one.
    #[error("rounds are out of order")]
    RoundOrder,
    /// A round's members are not in strictly increasing node-id order.
    #[error("members of round {0} are not sorted by node id")]
    UnsortedMembers(u64),
    /// A closed round without members, or an open round over `members_max`.
    #[error("round {0} has no members or more than members_max")]
    MemberCount(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    Executing,
    Ended,
    ProofReady(PoetProof),
}

#[derive(Debug, Clone)]
struct ClosedRound {
    /// Member identities in node-id order; `tree`'s leaves are their challenges.
    node_ids: Vec<NodeId>,
    tree: MembershipTree,
    phase: Phase,
}

#[derive(Debug, Clone)]
enum RoundEntry {
    Open(BTreeMap<NodeId, Hash32>),
    Closed(ClosedRound),
}

/// A PoET service: registration, round schedule and proofs. Pure: time is an argument.
#[derive(Debug, Clone)]
pub struct PoetService {
    config: PoetServiceConfig,
    rounds: BTreeMap<u64, RoundEntry>,
    closed_through: Option<u64>,
}

impl PoetService {
    /// A service with no rounds.
    pub fn new(config: PoetServiceConfig) -> Result<PoetService, ConfigError> {
        config.validate()?;
        Ok(PoetService { config, rounds: BTreeMap::new(), closed_through: None })
    }

    /// The configuration.
    pub fn config(&self) -> &PoetServiceConfig {
        &self.config
    }

    /// The round open for registration at `now`.
    pub fn open_round(&self, now: Time) -> u64 {
        self.config.schedule.open_round(now)
    }

    /// Registers `req`'s challenge in the round open at `now` (rules in the module docs).
    pub fn submit(
        &mut self,
        now: Time,
        req: &Submit,
        verifier: &dyn Verifier,
    ) -> Result<SubmitResponse, SubmitError> {
        let message = signed_message(&self.config.genesis_id, Domain::Poet, &req.challenge.0);
        if !verifier.verify(&req.node_id.0, &message, &req.signature) {
            return Err(SubmitError::InvalidSignature);
        }
        let round = self.open_round(now);
        let round_end = self.config.schedule.round_end(round);
        if let Some(deadline) = req.deadline
            && round_end > deadline
        {
            return Err(SubmitError::TooLate { round, round_end, deadline });
        }
        if self.closed_through.is_some_and(|c| round <= c) {
            return Err(SubmitError::RoundClosed(round));
        }
        let entry = self.rounds.entry(round).or_insert_with(|| RoundEntry::Open(BTreeMap::new()));
        let RoundEntry::Open(members) = entry else {
            unreachable!("rounds after closed_through are open");
        };
        match members.get(&req.node_id) {
            Some(c) if *c == req.challenge => return Ok(SubmitResponse { round, round_end }),
            Some(_) => return Err(SubmitError::Conflicting(round)),
            None => {}
        }
        if members.len() >= self.config.members_max {
            return Err(SubmitError::RoundFull { round, members_max: self.config.members_max });
        }
        members.insert(req.node_id, req.challenge);
        Ok(SubmitResponse { round, round_end })
    }

    /// Moves rounds whose start or end has passed: open rounds close (membership root
    /// computed) and execute, executing rounds end. Events come in round order, a round's
    /// start before its end.
    pub fn on_tick(&mut self, now: Time) -> Vec<ServiceEvent> {
        let schedule = self.config.schedule;
        let mut events = Vec::new();
        let due: Vec<u64> = self
            .rounds
            .iter()
            .filter(|(id, e)| matches!(e, RoundEntry::Open(_)) && schedule.round_start(**id) <= now)
            .map(|(id, _)| *id)
            .collect();
        for round in due {
            let Some(RoundEntry::Open(members)) = self.rounds.remove(&round) else {
                unreachable!("listed as open");
            };
            self.closed_through = Some(self.closed_through.map_or(round, |c| c.max(round)));
            if members.is_empty() {
                events.push(ServiceEvent::RoundSkipped { round });
                continue;
            }
            let (node_ids, challenges): (Vec<NodeId>, Vec<Hash32>) = members.into_iter().unzip();
            let tree = MembershipTree::new(&challenges);
            events.push(ServiceEvent::RoundExecuting {
                round,
                statement: tree.root(),
                members: node_ids.len() as u64,
                end: schedule.round_end(round),
            });
            let closed = ClosedRound { node_ids, tree, phase: Phase::Executing };
            self.rounds.insert(round, RoundEntry::Closed(closed));
        }
        for (&round, entry) in self.rounds.iter_mut() {
            if let RoundEntry::Closed(c) = entry
                && c.phase == Phase::Executing
                && schedule.round_end(round) <= now
            {
                c.phase = Phase::Ended;
                events.push(ServiceEvent::RoundEnded { round, statement: c.tree.root() });
            }
        }
        self.prune();
        // A tick so late that rounds ended beyond `rounds_kept` at once reports none of those.
        events.retain(|e| {
            matches!(e, ServiceEvent::RoundSkipped { .. }) || self.rounds.contains_key(&e.round())
        });
        events
    }

    /// Stores the proof of an ended round. The same proof twice is accepted.
    pub fn proof_ready(&mut self, round: u64, proof: PoetProof) -> Result<(), ProofReadyError> {
        let Some(RoundEntry::Closed(c)) = self.rounds.get_mut(&round) else {
            return Err(ProofReadyError::UnknownRound(round));
        };
        match &c.phase {
            Phase::Executing => Err(ProofReadyError::NotEnded(round)),
            Phase::ProofReady(p) if *p == proof => Ok(()),
            Phase::ProofReady(_) => Err(ProofReadyError::AlreadyProven(round)),
            Phase::Ended => {
                c.phase = Phase::ProofReady(proof);
                self.prune();
                if self.rounds.contains_key(&round) {
                    Ok(())
                } else {
                    Err(ProofReadyError::TooOld(round))
                }
            }
        }
    }

    /// The proof of `round` and its members' challenges in membership-tree order.
    pub fn proof(&self, round: u64) -> Option<(&PoetProof, Vec<Hash32>)> {
        let c = self.closed(round)?;
        match &c.phase {
            Phase::ProofReady(p) => Some((p, c.tree.leaves().collect())),
            _ => None,
        }
    }

    /// The statement (membership root) of a closed round.
    pub fn statement(&self, round: u64) -> Option<Hash32> {
        self.closed(round).map(|c| c.tree.root())
    }

    /// The proof that `node_id`'s challenge is a member of closed round `round`.
    pub fn membership_proof(&self, round: u64, node_id: &NodeId) -> Option<MembershipProof> {
        let c = self.closed(round)?;
        let index = c.node_ids.binary_search(node_id).ok()?;
        c.tree.proof(index as u64)
    }

    /// The challenge `node_id` registered in `round`, open or closed.
    pub fn registered(&self, round: u64, node_id: &NodeId) -> Option<Hash32> {
        match self.rounds.get(&round)? {
            RoundEntry::Open(m) => m.get(node_id).copied(),
            RoundEntry::Closed(c) => {
                let index = c.node_ids.binary_search(node_id).ok()?;
                c.tree.leaves().nth(index)
            }
        }
    }

    fn closed(&self, round: u64) -> Option<&ClosedRound> {
        match self.rounds.get(&round)? {
            RoundEntry::Closed(c) => Some(c),
            RoundEntry::Open(_) => None,
        }
    }

    /// When [`on_tick`](Self::on_tick) next has something to do: the earliest start of an open
    /// round or end of an executing one.
    pub fn next_timeout(&self) -> Option<Time> {
        let schedule = &self.config.schedule;
        self.rounds
            .iter()
            .filter_map(|(&round, e)| match e {
                RoundEntry::Open(_) => Some(schedule.round_start(round)),
                RoundEntry::Closed(c) if c.phase == Phase::Executing => {
                    Some(schedule.round_end(round))
                }
                RoundEntry::Closed(_) => None,
            })
            .min()
    }

    /// Forgets the oldest rounds beyond `rounds_kept` among those with a proof, and among those
    /// still waiting for one (a host that never delivers cannot grow the service).
    fn prune(&mut self) {
        for with_proof in [true, false] {
            let ids: Vec<u64> = self
                .rounds
                .iter()
                .filter(|(_, e)| match e {
                    RoundEntry::Closed(c) => match c.phase {
                        Phase::ProofReady(_) => with_proof,
                        Phase::Ended => !with_proof,
                        Phase::Executing => false,
                    },
                    RoundEntry::Open(_) => false,
                })
                .map(|(id, _)| *id)
                .collect();
            let excess = ids.len().saturating_sub(self.config.rounds_kept);
            for id in &ids[..excess] {
                self.rounds.remove(id);
            }
        }
    }

    /// Everything needed to resume after a restart.
    pub fn snapshot(&self) -> ServiceSnapshot {
        let rounds = self
            .rounds
            .iter()
            .map(|(&round, e)| {
                let (phase, members): (RoundPhase, Vec<Member>) = match e {
                    RoundEntry::Open(m) => (
                        RoundPhase::Open,
                        m.iter()
                            .map(|(&node_id, &challenge)| Member { node_id, challenge })
                            .collect(),
                    ),
                    RoundEntry::Closed(c) => (
                        match &c.phase {
                            Phase::Executing => RoundPhase::Executing,
                            Phase::Ended => RoundPhase::Ended,
                            Phase::ProofReady(p) => RoundPhase::ProofReady(p.clone()),
                        },
                        c.node_ids
                            .iter()
                            .zip(c.tree.leaves())
                            .map(|(&node_id, challenge)| Member { node_id, challenge })
                            .collect(),
                    ),
                };
                RoundSnapshot {
                    round,
                    phase,
                    members: BoundedVec::new(members).expect("members_max is within the bound"),
                }
            })
            .collect();
        ServiceSnapshot {
            closed_through: self.closed_through,
            rounds: BoundedVec::new(rounds).expect("open rounds and rounds_kept fit"),
        }
    }

    /// A service resumed from `snapshot`; tick it at once to catch up with the clock.
    pub fn restore(
        config: PoetServiceConfig,
        snapshot: &ServiceSnapshot,
    ) -> Result<PoetService, RestoreError> {
        config.validate()?;
        let mut rounds = BTreeMap::new();
        let mut previous: Option<u64> = None;
        for r in snapshot.rounds.iter() {
            if previous.is_some_and(|p| p >= r.round) {
                return Err(RestoreError::RoundOrder);
            }
            previous = Some(r.round);
            if !r.members.windows(2).all(|w| w[0].node_id < w[1].node_id) {
                return Err(RestoreError::UnsortedMembers(r.round));
            }
            let is_closed = snapshot.closed_through.is_some_and(|c| r.round <= c);
            let over_cap = !is_closed && r.members.len() > config.members_max;
            if over_cap || (is_closed && r.members.is_empty()) {
                return Err(RestoreError::MemberCount(r.round));
            }
            let entry = match (&r.phase, is_closed) {
                (RoundPhase::Open, false) => {
                    RoundEntry::Open(r.members.iter().map(|m| (m.node_id, m.challenge)).collect())
                }
                (RoundPhase::Open, true) | (_, false) => return Err(RestoreError::RoundOrder),
                (phase, true) => {
                    let challenges: Vec<Hash32> = r.members.iter().map(|m| m.challenge).collect();
                    RoundEntry::Closed(ClosedRound {
                        node_ids: r.members.iter().map(|m| m.node_id).collect(),
                        tree: MembershipTree::new(&challenges),
                        phase: match phase {
                            RoundPhase::Executing => Phase::Executing,
                            RoundPhase::Ended => Phase::Ended,
                            RoundPhase::ProofReady(p) => Phase::ProofReady(p.clone()),
                            RoundPhase::Open => unreachable!("matched above"),
                        },
                    })
                }
            };
            rounds.insert(r.round, entry);
        }
        let mut service = PoetService { config, rounds, closed_through: snapshot.closed_through };
        service.prune();
        Ok(service)
    }

    /// Panics when an invariant (module docs) is broken.
    pub fn check_invariants(&self) {
        let (mut waiting, mut proven) = (0, 0);
        for (&round, e) in &self.rounds {
            let closed = self.closed_through.is_some_and(|c| round <= c);
            match e {
                RoundEntry::Open(m) => {
                    assert!(!closed, "open round {round} at or before a closed round");
                    assert!(m.len() <= self.config.members_max, "round {round} over the cap");
                }
                RoundEntry::Closed(c) => {
                    assert!(closed, "closed round {round} after closed_through");
                    assert!(c.node_ids.windows(2).all(|w| w[0] < w[1]), "members unsorted");
                    assert_eq!(c.node_ids.len(), c.tree.len(), "one leaf per member");
                    assert!(!c.node_ids.is_empty(), "empty rounds are skipped");
                    waiting += usize::from(c.phase == Phase::Ended);
                    proven += usize::from(matches!(c.phase, Phase::ProofReady(_)));
                }
            }
        }
        assert!(waiting <= self.config.rounds_kept, "{waiting} rounds wait for proofs");
        assert!(proven <= self.config.rounds_kept, "{proven} rounds with proofs kept");
    }
}

#[cfg(test)]
mod tests;
