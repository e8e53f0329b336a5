//! The hare sessions of one node: a [`Protocol`] per layer, driven by the clock, fed with
//! validated messages, and the node's own committee messages signed and gossiped.
//!
//! A session starts at its layer's start (only if the node has the epoch's beacon and active
//! set, and only before the preround: a node that restarts mid-session sits it out, so it can
//! never sign two different messages for one round). Rounds run at `preround` and then every
//! round duration; the node asks the caller for its initial proposal set just before the
//! preround. A session ends when the protocol terminates after its output, or at the hardlock of
//! the iteration limit without one.
//!
//! Message validation, in order: shape (a value that fits the round, a message round, an
//! iteration below the limit) → session for the layer → signature → sender in the epoch's
//! active set → committee seats (VRF proof and binomial count) → graded gossip (duplicates are
//! dropped, a second different message of a sender is an equivocation and yields a malfeasance
//! proof).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;

use crate::codec::Encode;
use crate::crypto::{Signer, Verifier};
use crate::eligibility::hare::{OwnSeats, Sortition};
use crate::gossip::Verdict;
use crate::layers::LayerClock;
use crate::malfeasance::{MalfeasanceProof, SignedHareMetadata};
use crate::types::{Beacon, EpochId, GenesisId, Hash32, LayerId, NodeId, ProposalId, Time};

use super::config::{HareBehavior, HareConfig};
use super::protocol::{Input, Protocol, Received, RoundOutput, Signed, SignedRef};
use super::round::{IterRound, Round, Value};
use super::wire::{HareBody, HareEligibility, HareMessage, HareMetadata};

/// ATX grade of identities in the frozen active set (hare3 knows only 0 and 5; the active set
/// holds only ATXs received in time).
const ATX_GRADE: u8 = 5;

/// Who may sit on an epoch's committees: the epoch's beacon and active set weights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committee {
    /// The epoch.
    pub epoch: EpochId,
    /// Its beacon.
    pub beacon: Beacon,
    /// Summed weight of the active set.
    pub total_weight: u64,
    /// Weight per identity.
    pub weights: BTreeMap<NodeId, u64>,
}

impl Committee {
    /// The sortition of `layer`'s `round` for a committee of `size`.
    pub fn sortition(&self, layer: LayerId, round: u32, size: u32) -> Sortition {
        Sortition {
            beacon: self.beacon,
            layer,
            round,
            committee_size: size,
            total_weight: self.total_weight,
        }
    }
}

/// Why a hare message was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HareReject {
    /// The value does not fit the round, or the round or iteration is impossible.
    #[error("malformed hare message: {0}")]
    Malformed(&'static str),
    /// No session runs for the layer (not started yet, over, or this node sits it out).
    #[error("no hare session for layer {0:?}")]
    NoSession(LayerId),
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// The sender has no ATX in the epoch's active set.
    #[error("sender is not in the active set")]
    UnknownIdentity,
    /// The VRF proof or the claimed seat count is wrong.
    #[error("sender is not eligible for the round")]
    NotEligible,
    /// The same message again.
    #[error("duplicate")]
    Duplicate,
    /// A third message of an identity already caught equivocating.
    #[error("sender already equivocated in this round")]
    Equivocator,
}

impl HareReject {
    /// The gossip verdict: provably bad messages (malformed, forged) are rejected and their
    /// relayer penalized; the rest are ignored. Eligibility is judged against this node's
    /// beacon and active set, which a peer may not share (a partition that decided another
    /// beacon, a restart that lost received ATXs), so failing it is not proof of misbehaviour.
    pub fn verdict(&self) -> Verdict {
        match self {
            HareReject::Malformed(_) | HareReject::BadSignature => Verdict::Reject,
            _ => Verdict::Ignore,
        }
    }
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionEnd {
    /// The protocol terminated one iteration after its output.
    Terminated,
    /// The iteration limit passed without output.
    IterationLimit,
}

/// What the hare asks of the node.
#[derive(Debug, Clone, PartialEq)]
pub enum HareOutput {
    /// Gossip an own message.
    Publish(Bytes),
    /// An identity equivocated (proof to record and gossip).
    Malfeasance(MalfeasanceProof),
    /// The weak coin of a layer.
    Coin {
        /// Layer.
        layer: LayerId,
        /// Coin.
        coin: bool,
    },
    /// A layer's agreed proposal set (sorted).
    Output {
        /// Layer.
        layer: LayerId,
        /// The proposals.
        proposals: Vec<ProposalId>,
        /// The iteration whose hardlock produced it.
        iteration: u8,
        /// Seats of the preround messages received (see [`Protocol::preround_seats`]).
        preround_seats: u32,
        /// The session's threshold, in seats.
        threshold: u16,
    },
    /// This node (an adversary) signed two different messages for one round.
    Equivocated {
        /// Layer.
        layer: LayerId,
        /// Round.
        round: IterRound,
    },
    /// A session ended.
    Ended {
        /// Layer.
        layer: LayerId,
        /// How.
        end: SessionEnd,
        /// The iteration it ended in.
        iteration: u8,
    },
}

#[derive(Debug)]
struct Session {
    committee: Arc<Committee>,
    protocol: Protocol,
    preround_at: Time,
    initial_set: bool,
    output: bool,
}

/// The hare of one node.
#[derive(Debug)]
pub struct Hare {
    cfg: HareConfig,
    clock: LayerClock,
    genesis: GenesisId,
    seed: [u8; 32],
    /// The seat tables of this identity's own draws.
    own_seats: OwnSeats,
    signer: Signer,
    sessions: BTreeMap<LayerId, Session>,
    /// Messages this node signed, by (layer, round): the double-signing safety check.
    signed: BTreeMap<(LayerId, IterRound), Hash32>,
    /// Whether this node sends its own messages (false while its smeshing is stopped).
    sending: bool,
    outputs: VecDeque<HareOutput>,
}

impl Hare {
    /// The hare of the identity with secret `seed`.
    pub fn new(cfg: HareConfig, clock: LayerClock, genesis: GenesisId, seed: [u8; 32]) -> Self {
        Hare {
            signer: Signer::from_seed(seed, genesis),
            cfg,
            clock,
            genesis,
            seed,
            own_seats: OwnSeats::default(),
            sessions: BTreeMap::new(),
            signed: BTreeMap::new(),
            sending: true,
            outputs: VecDeque::new(),
        }
    }

    /// Whether this node signs and gossips its own messages. Off, it still runs every session
    /// on what it hears (outputs, coins, equivocation proofs), as a committee member that is
    /// offline would be seen by the others.
    pub fn set_sending(&mut self, sending: bool) {
        self.sending = sending;
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<HareOutput> {
        self.outputs.pop_front()
    }

    /// The sortition of `ir` in `layer`: leaders in propose rounds, the committee otherwise.
    fn sortition(&self, committee: &Committee, layer: LayerId, ir: IterRound) -> Sortition {
        let size =
            if ir.round == Round::Propose { self.cfg.leaders } else { self.cfg.committee_size };
        committee.sortition(layer, ir.absolute(), size)
    }

    fn preround_at(&self, layer: LayerId) -> Time {
        self.clock.layer_start(layer) + self.cfg.preround_delay
    }

    /// Starts `layer`'s session, unless its preround already passed (the node missed the start,
    /// for example after a restart) or it runs already. Returns whether it started.
    pub fn start(&mut self, now: Time, layer: LayerId, committee: Arc<Committee>) -> bool {
        let preround_at = self.preround_at(layer);
        if now > preround_at || self.sessions.contains_key(&layer) {
            return false;
        }
        let protocol = Protocol::new(self.cfg.threshold());
        self.sessions.insert(
            layer,
            Session { committee, protocol, preround_at, initial_set: false, output: false },
        );
        while self.sessions.len() > self.cfg.sessions_max {
            self.sessions.pop_first();
        }
        let oldest = self.sessions.keys().next().copied().unwrap_or(layer);
        self.signed = self.signed.split_off(&(oldest, IterRound::START));
        true
    }

    /// When the next round of any session starts.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.sessions.values().map(|s| self.round_at(s, s.protocol.current())).min()
    }

    fn round_at(&self, s: &Session, ir: IterRound) -> Time {
        // Iteration 0 skips hardlock: absolute round 2 (softlock) is one round after preround.
        let after = ir.absolute().saturating_sub(1);
        s.preround_at + self.cfg.round_duration * after
    }

    /// Runs every round that is due. `initial(layer)` gives the node's candidate proposals for
    /// a layer (sorted, distinct) when its preround is about to run.
    pub fn on_tick(&mut self, now: Time, mut initial: impl FnMut(LayerId) -> Vec<ProposalId>) {
        let layers: Vec<LayerId> = self.sessions.keys().copied().collect();
        for layer in layers {
            while let Some(s) = self.sessions.get(&layer) {
                let current = s.protocol.current();
                if self.round_at(s, current) > now {
                    break;
                }
                if !s.initial_set {
                    let ids = initial(layer);
                    let s = self.sessions.get_mut(&layer).expect("checked");
                    s.protocol.on_initial(ids);
                    s.initial_set = true;
                }
                let s = self.sessions.get_mut(&layer).expect("checked");
                let out = s.protocol.next();
                if self.on_round(layer, current, out) {
                    break;
                }
            }
        }
    }

    /// Acts on one executed round; returns whether the session ended.
    fn on_round(&mut self, layer: LayerId, ir: IterRound, out: RoundOutput) -> bool {
        if let Some(coin) = out.coin {
            self.outputs.push_back(HareOutput::Coin { layer, coin });
        }
        if let Some(proposals) = out.result {
            if ir.iter > 1 {
                crate::coverage::mark(crate::coverage::HARE_LATER_ITERATION);
            }
            let (preround_seats, threshold) = match self.sessions.get_mut(&layer) {
                Some(s) => {
                    s.output = true;
                    (s.protocol.preround_seats(), s.protocol.threshold())
                }
                None => (0, 0),
            };
            self.outputs.push_back(HareOutput::Output {
                layer,
                proposals,
                iteration: ir.iter,
                preround_seats,
                threshold,
            });
        }
        if let Some((msg_round, value)) = out.message {
            self.send(layer, msg_round, value);
        }
        let end = if out.terminated {
            Some(SessionEnd::Terminated)
        } else if ir.iter >= self.cfg.iterations_limit && ir.round == Round::Hardlock {
            let output = self.sessions.get(&layer).is_some_and(|s| s.output);
            if !output {
                crate::coverage::mark(crate::coverage::HARE_ITERATION_LIMIT);
            }
            Some(if output { SessionEnd::Terminated } else { SessionEnd::IterationLimit })
        } else {
            None
        };
        if let Some(end) = end {
            self.sessions.remove(&layer);
            self.outputs.push_back(HareOutput::Ended { layer, end, iteration: ir.iter });
        }
        end.is_some()
    }

    /// Signs and gossips the protocol's message for `ir` if this node holds seats in it.
    fn send(&mut self, layer: LayerId, ir: IterRound, value: Value) {
        if self.cfg.behavior == HareBehavior::Silent || !self.sending {
            return;
        }
        let Some(s) = self.sessions.get(&layer) else { return };
        let me = self.signer.node_id();
        let Some(&weight) = s.committee.weights.get(&me) else { return };
        let sortition = self.sortition(&s.committee, layer, ir);
        let Ok(Some((proof, count))) =
            sortition.draw_if_seated(&mut self.own_seats, &self.seed, &me.0, weight)
        else {
            return;
        };
        let eligibility = HareEligibility { proof, count };
        let msg = HareMessage::sign(
            &self.signer,
            HareBody { layer, iter_round: ir, value: value.clone(), eligibility },
        );
        let meta = msg.metadata();
        if self.cfg.behavior.equivocates(layer) {
            self.outputs.push_back(HareOutput::Equivocated { layer, round: ir });
            let twin = HareMessage::sign(
                &self.signer,
                HareBody { layer, iter_round: ir, value: conflicting(&value), eligibility },
            );
            self.outputs.push_back(HareOutput::Publish(twin.encode().into()));
        } else {
            // The safety rule: never two different signed messages for one layer and round.
            let first = *self.signed.entry((layer, ir)).or_insert(meta.msg_hash);
            assert_eq!(
                first, meta.msg_hash,
                "hare safety: a second, different message signed for layer {layer:?} round {ir}"
            );
        }
        self.outputs.push_back(HareOutput::Publish(msg.encode().into()));
        // Deliver to self like any other message (it counts towards thresholds here too).
        let signed = Arc::new(signed_of(&msg, &meta));
        let _ = self.deliver(&msg, meta, signed, false);
    }

    /// A message from gossip. `Ok` means accept and relay.
    pub fn on_message(
        &mut self,
        msg: &HareMessage,
        malicious: bool,
        verifier: &dyn Verifier,
    ) -> Result<(), HareReject> {
        let ir = msg.body.iter_round;
        if !ir.round.is_message_round() {
            return Err(HareReject::Malformed("not a message round"));
        }
        if ir.round == Round::Preround && ir.iter != 0 {
            return Err(HareReject::Malformed("preround outside iteration 0"));
        }
        if ir.iter >= self.cfg.iterations_limit {
            return Err(HareReject::Malformed("iteration over the limit"));
        }
        if !msg.body.value.fits(ir.round) {
            return Err(HareReject::Malformed("value does not fit the round"));
        }
        let layer = msg.body.layer;
        let Some(s) = self.sessions.get(&layer) else { return Err(HareReject::NoSession(layer)) };
        let metadata = msg.metadata_via(verifier);
        let check = msg.signature_check_of(&self.genesis, &metadata);
        if !verifier.verify(&check.public_key, &check.signed_message, &check.signature) {
            return Err(HareReject::BadSignature);
        }
        let Some(&weight) = s.committee.weights.get(&msg.sender) else {
            return Err(HareReject::UnknownIdentity);
        };
        let sortition = self.sortition(&s.committee, layer, ir);
        let e = &msg.body.eligibility;
        if !sortition.check(verifier, &msg.sender, weight, &e.proof, e.count) {
            return Err(HareReject::NotEligible);
        }
        let signed = verifier.share_hare_signed(signed_of(msg, &metadata));
        self.deliver(msg, metadata, signed, malicious)
    }

    fn deliver(
        &mut self,
        msg: &HareMessage,
        meta: HareMetadata,
        signed: Arc<Signed>,
        malicious: bool,
    ) -> Result<(), HareReject> {
        let layer = msg.body.layer;
        let Some(s) = self.sessions.get_mut(&layer) else {
            return Err(HareReject::NoSession(layer));
        };
        let input = Input {
            sender: msg.sender,
            iter_round: msg.body.iter_round,
            value: msg.body.value.clone(),
            count: msg.body.eligibility.count,
            signed,
            atx_grade: ATX_GRADE,
            malicious,
        };
        match s.protocol.on_input(input) {
            Received::New => Ok(()),
            Received::Duplicate => Err(HareReject::Duplicate),
            Received::Ignored => Err(HareReject::Equivocator),
            #[cfg(feature = "canary")]
            Received::Equivocation { .. }
                if crate::canary::active(crate::canary::Canary::HareEquivocationUnproven) =>
            {
                Ok(())
            }
            Received::Equivocation { first, second } => {
                let signed = |r: SignedRef| SignedHareMetadata {
                    metadata: HareMetadata { layer, round: meta.round, msg_hash: r.msg_hash },
                    signature: r.signature,
                };
                self.outputs.push_back(HareOutput::Malfeasance(
                    MalfeasanceProof::hare_equivocation(msg.sender, signed(first), signed(second)),
                ));
                Ok(())
            }
        }
    }

    /// Panics if a bound is broken.
    pub fn check_invariants(&self) {
        assert!(self.sessions.len() <= self.cfg.sessions_max, "hare sessions are bounded");
        let rounds = self.rounds_max();
        assert!(
            self.signed.len() <= self.cfg.sessions_max * rounds,
            "signed-message records are pruned with their sessions"
        );
    }

    /// Rounds a session can run through: every round of every iteration, plus the preround.
    fn rounds_max(&self) -> usize {
        usize::from(self.cfg.iterations_limit) * 8 + 1
    }

    /// [`Hare::check_invariants`] plus the per-session message bounds (a walk over every
    /// session's state).
    pub fn check_invariants_deep(&self) {
        self.check_invariants();
        let rounds = self.rounds_max();
        for s in self.sessions.values() {
            let senders = s.committee.weights.len();
            assert!(
                s.protocol.stored() <= 2 * senders * rounds,
                "a session stores at most two messages per sender and round (the second only for \
                 an equivocator)"
            );
        }
    }
}

/// A different value of the same shape (the equivocation adversary's second message).
fn conflicting(value: &Value) -> Value {
    match value {
        Value::Proposals(ids) if !ids.is_empty() => Value::Proposals(ids[1..].into()),
        Value::Proposals(_) => Value::proposals(vec![ProposalId([0xee; 20])]),
        Value::Reference(h) => {
            let mut other = h.0;
            other[0] ^= 0xff;
            Value::Reference(Hash32(other))
        }
    }
}

/// The parts of `msg` that every receiver keeps alike.
fn signed_of(msg: &HareMessage, meta: &HareMetadata) -> Signed {
    Signed { vrf: msg.body.eligibility.proof, msg_hash: meta.msg_hash, signature: msg.signature }
}

#[cfg(test)]
#[path = "sessions_tests.rs"]
mod tests;
