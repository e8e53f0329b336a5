//! The hare3 state machine of one layer (protocol.md section 7; go-spacemesh
//! `hare3/protocol.go`).
//!
//! [`Protocol`] is pure: it holds the messages of one session, and the caller drives it with
//! [`Protocol::next`] once per round (at the round's start) and [`Protocol::on_input`] for every
//! validated message in between. It signs nothing, checks no eligibility and sends nothing:
//! [`RoundOutput::message`] is what a committee member *would* send in the round that just ran,
//! and the caller sends it only if the node is eligible (a node outside the committee still runs
//! the protocol and learns the result).
//!
//! # Rules, in the order the reference applies them
//!
//! - **Graded gossip** (paper protocol 1). Messages are kept per `(iter-round, sender)`. The first
//!   one is stored with the round that was [`current`](Protocol::current) when it arrived
//!   (`received`). The same message again is a [`Received::Duplicate`]. A different message from a
//!   sender not yet flagged is an [`Received::Equivocation`]: the copy with the higher ATX grade
//!   is kept (the older one on a tie) and flagged malicious, and the other copy's arrival round,
//!   count, ATX grade and value are kept beside it. Anything further from a flagged sender is
//!   [`Received::Ignored`].
//! - **Threshold gossip** (protocol 3) at `(round, grade g)`: a message counts if it arrived with
//!   grade ≥ g and its ATX grade is at least the lowest one among the non-malicious senders'
//!   messages that arrived with grade ≥ g. A sender known to be malicious by grade g — flagged on
//!   arrival with a counted message, or caught equivocating with both messages counted — adds its
//!   eligibility count to the total of *every* value; otherwise a counted message adds its count to
//!   its value's total (an equivocator's message whose twin does not count at g: to the total
//!   only), and, from a sender not flagged, to its valid support. A value (a proposal id, or a
//!   reference) passes when its total reaches the threshold and its valid support is not zero.
//!   This differs from the reference: see below.
//! - **Gradecast** (protocol 2) over the propose messages of an iteration: grade 2 for ATX grade 5,
//!   arrival delay ≤ 1 and no conflicting copy within 3 delays; grade 1 for ATX grade ≥ 4, delay
//!   ≤ 2 and no conflicting copy within 2 delays. Candidates are ordered by the leader's VRF proof.
//! - **Execution**: see [`Protocol::next`].
//!
//! # Details that follow the reference
//!
//! - VRF proofs are compared as go-spacemesh's `VrfSignature.Cmp` does: as little-endian numbers
//!   (the last byte is the most significant), for both the leader order and the coin. The weak
//!   coin is the lowest bit of byte 0 of the smallest preround proof (`VrfSignature.LSB`).
//! - Agreement rests on synchrony (see the test `asynchrony_alone_can_split_the_committee`).
//!
//! # Deviations from the reference
//!
//! - **Malicious senders count towards every value** in threshold gossip, as in the paper's
//!   thresh-gossip (a detected malicious party may be counted for any value). go keeps one
//!   message per sender and round and adds a flagged sender's count to that message's value
//!   only. Each member keeps the copy it saw first, so an equivocator that reaches two members
//!   first with different values is tallied differently by them even when both copies reach
//!   everyone within the round: one byzantine member of five can split a synchronous committee
//!   (the run is described at the test
//!   `equivocators_count_for_every_value_so_synchronous_committees_agree`). Here every member
//!   that has both copies by a grade tallies the same. The same holds for a sender already known
//!   to be malicious, whose second message go ignores and does not relay: it counts for every
//!   value from its first counted message. Counting an equivocator only for the values a member
//!   holds would not do: with three or more values, members hold different pairs (a third
//!   message is ignored and not relayed), and an adversary that echoes each member's own value
//!   to it splits the simulated committee that way. Gradecast and the weak coin are unchanged;
//!   an equivocator's second message is held (see [`Protocol::stored`]).
//! - Grades come from [`IterRound::grade`], which floors at 0: a message more than six rounds
//!   late has grade 0. go computes `6 − delay` in unsigned arithmetic, which wraps, so there a
//!   preround message arriving seven or more rounds late (iteration 1 on) gets a grade above 5
//!   and counts like a timely one in later iterations' propose and commit rules.
//! - When several references cross a threshold and more than one is a known valid set, go picks
//!   one in map order (random); here the smallest reference wins. Gradecast candidates with equal
//!   VRF proofs are ordered by sender.
//! - Tallies sum counts in `u32`, so an adversary cannot wrap a 16-bit total around.
//! - A value whose shape does not fit its round (see [`Value::fits`]) is [`Received::Ignored`]
//!   and not stored. Rejecting it (and penalising the peer) is the caller's job; this is only a
//!   safety net so that a malformed message can never reach the tallies (go would panic on a
//!   missing reference).
//! - In iteration 0, condition (g)'s "committed in the previous iteration" is simply false (go
//!   looks at iteration 255 after an unsigned underflow).
//! - [`Protocol::on_initial`] sorts and deduplicates the set it is given.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::sync::Arc;

use super::round::{Grade, IterRound, Round, Value, proposals_hash};
use crate::crypto::Signature;
use crate::types::{Hash32, NodeId, ProposalId};
use crate::vrf::VrfSignature;

/// The best ATX grade.
const GRADE_MAX: Grade = 5;

/// A validated message as the protocol sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The signing identity.
    pub sender: NodeId,
    /// The message's own iteration and round.
    pub iter_round: IterRound,
    /// The carried value; it must [fit](Value::fits) the round.
    pub value: Value,
    /// The sender's eligibility count in this round (its vote weight).
    pub count: u16,
    /// Its proof, hash and signature.
    pub signed: Arc<Signed>,
    /// The grade of the sender's ATX, 0..=5.
    pub atx_grade: Grade,
    /// Whether the sender is already known to be malicious.
    pub malicious: bool,
}

/// What a hare message carries that every receiver keeps alike: a runtime that hosts many nodes
/// may hand them one allocation of it (see [`crate::crypto::Verifier::share_hare_signed`]; a
/// copy at every node was 176 bytes of each message each node held).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The sender's eligibility proof for this round (orders leaders; the smallest preround one
    /// is the weak coin).
    pub vrf: VrfSignature,
    /// The message's hash: two messages of one sender and round are the same iff equal.
    pub msg_hash: Hash32,
    /// The message's signature (kept for equivocation proofs).
    pub signature: Signature,
}

impl Signed {
    /// The message's identity, for equivocation proofs.
    pub fn signed_ref(&self) -> SignedRef {
        SignedRef { msg_hash: self.msg_hash, signature: self.signature }
    }
}

/// One signed message's identity, for equivocation proofs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedRef {
    /// The message's hash.
    pub msg_hash: Hash32,
    /// The message's signature.
    pub signature: Signature,
}

/// What [`Protocol::on_input`] made of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// The first message of this sender in this round: stored, relay it.
    New,
    /// The same message again: drop it, do not relay.
    Duplicate,
    /// Nothing to do: the sender is already flagged malicious in this round and sent yet another
    /// message, or the value does not fit its round. Do not relay.
    Ignored,
    /// A second, different message of an unflagged sender in this round: the sender is now
    /// flagged. Relay it and build a malfeasance proof from the two messages (`first` is the
    /// one held before, `second` the one just received).
    Equivocation {
        /// The message held before this input.
        first: SignedRef,
        /// The message just received.
        second: SignedRef,
    },
}

impl Received {
    /// Whether the message should be relayed to peers ([`Received::New`] and
    /// [`Received::Equivocation`]).
    pub fn relay(&self) -> bool {
        matches!(self, Received::New | Received::Equivocation { .. })
    }
}

/// What one executed round produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundOutput {
    /// The weak coin, once per session: at the first round from iteration-0 softlock on in which
    /// some preround message is known.
    pub coin: Option<bool>,
    /// The agreed proposal set (sorted), once per session, at a hardlock round.
    pub result: Option<Vec<ProposalId>>,
    /// The session is over: a result was output one iteration ago (and notified since).
    pub terminated: bool,
    /// The message a committee member sends in this round, if any.
    pub message: Option<(IterRound, Value)>,
}

/// A stored message with its arrival round, and for an equivocator the other message.
#[derive(Debug, Clone)]
struct Stored {
    input: Input,
    /// The round that was current when this message arrived.
    received: IterRound,
    /// For an equivocator: what is kept of the message that is not `input`.
    other: Option<Other>,
}

/// The message of an equivocator that graded gossip did not keep: enough of it for threshold
/// gossip (when it arrived, and its value for grades that only it reached) and for gradecast
/// (when it arrived).
#[derive(Debug, Clone)]
struct Other {
    /// Its value, unless it equals the kept message's (then there is nothing more to count).
    value: Option<Value>,
    /// Its eligibility count.
    count: u16,
    /// Its sender's ATX grade as given with it.
    atx_grade: Grade,
    /// The round that was current when it arrived.
    received: IterRound,
}

/// Summed eligibility counts behind one value.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    /// All supporters, malicious ones included.
    total: u32,
    /// Non-malicious supporters only.
    valid: u32,
}

impl Tally {
    fn add(&mut self, count: u16, malicious: bool) {
        self.total += u32::from(count);
        if !malicious {
            self.valid += u32::from(count);
        }
    }
}

/// Distinct proposal sets a threshold tally sums before spreading the rest id by id (see
/// `Protocol::threshold_values`).
const SETS_GROUPED: usize = 8;

/// Distinct proposal sets a session shares between the messages carrying them.
const SETS_SHARED: usize = 8;

/// What one sender contributes to a threshold-gossip tally at some message grade.
#[derive(Debug, Clone, Copy)]
enum Support<'a> {
    /// One message's value: its count goes to the total of the value (of each id of a set), and
    /// to the valid support too unless the sender is malicious.
    Value { value: &'a Value, count: u16, malicious: bool },
    /// A sender known to be malicious by this grade: its count goes to the total of every value.
    Any(u16),
}

/// A gradecast proposal set.
#[derive(Debug, Clone, Copy)]
struct Graded<'a> {
    values: &'a [ProposalId],
    /// 1 or 2.
    grade: Grade,
    vrf: &'a VrfSignature,
    sender: &'a NodeId,
}

/// go-spacemesh's `VrfSignature.Cmp`: the proofs as little-endian numbers.
fn vrf_cmp(a: &VrfSignature, b: &VrfSignature) -> Ordering {
    a.0.iter().rev().cmp(b.0.iter().rev())
}

/// Whether every id of `sub` is in `set` (both sorted).
fn is_subset(sub: &[ProposalId], set: &[ProposalId]) -> bool {
    sub.iter().all(|id| set.binary_search(id).is_ok())
}

/// The hare3 protocol of one layer.
#[derive(Debug, Clone)]
pub struct Protocol {
    /// Summed count a value needs to pass threshold gossip.
    threshold: u16,
    /// The round the next [`Protocol::next`] executes.
    current: IterRound,
    /// S: this node's candidate proposals.
    initial: Vec<ProposalId>,
    /// The smallest preround VRF proof seen (the weak coin's source).
    coin: Option<VrfSignature>,
    /// Whether the coin was output.
    coin_out: bool,
    /// R: the reference of the output set, once known.
    result: Option<Hash32>,
    /// L: the locked reference.
    locked: Option<Hash32>,
    /// Whether the lock is a hard lock (taken at hardlock).
    hard_locked: bool,
    /// T: proposal sets known to be valid, by reference.
    valid_proposals: BTreeMap<Hash32, Vec<ProposalId>>,
    /// Graded-gossip state, by round first so that tallies only walk one round's messages.
    messages: BTreeMap<IterRound, BTreeMap<NodeId, Stored>>,
    /// Number of stored messages.
    stored: usize,
    /// Distinct proposal sets held, each one allocation shared by every stored message that
    /// carries it: most of a committee sends the same set, and a thousand-node run kept one
    /// copy per message at every node.
    sets: Vec<Arc<[ProposalId]>>,
}

impl Protocol {
    /// A session with the given threshold (go-spacemesh: `committee / 2 + 1`), at iteration 0
    /// preround, with an empty initial set.
    pub fn new(threshold: u16) -> Self {
        Protocol {
            threshold,
            current: IterRound::START,
            initial: Vec::new(),
            coin: None,
            coin_out: false,
            result: None,
            locked: None,
            hard_locked: false,
            valid_proposals: BTreeMap::new(),
            messages: BTreeMap::new(),
            stored: 0,
            sets: Vec::new(),
        }
    }

    /// Sets this node's initial proposal set S (sent at preround). Expected sorted and distinct;
    /// it is normalised to be so. The caller keeps it within [`super::PROPOSALS_MAX`].
    pub fn on_initial(&mut self, mut proposals: Vec<ProposalId>) {
        proposals.sort_unstable();
        proposals.dedup();
        #[cfg(feature = "canary")]
        if crate::canary::active(crate::canary::Canary::HareDropsLastProposal) {
            proposals.pop();
        }
        self.initial = proposals;
    }

    /// The round the next [`Protocol::next`] executes. Inputs arriving now are recorded as
    /// received in it.
    pub fn current(&self) -> IterRound {
        self.current
    }

    /// The threshold this session was created with.
    pub fn threshold(&self) -> u16 {
        self.threshold
    }

    /// Number of messages held: one per sender and round, plus the second message (its value,
    /// count, ATX grade and arrival round) of each sender caught equivocating in a round. At most
    /// two per sender and round, so at most `2 · senders · rounds` in a session; a third message
    /// is never held.
    pub fn stored(&self) -> usize {
        self.stored
    }

    /// Seats of the preround messages received (an equivocator's kept message only): what the
    /// preround's values were measured against. Below [`Protocol::threshold`] no proposal can
    /// pass it, so the output misses honest proposals however synchronous the network was.
    pub fn preround_seats(&self) -> u32 {
        self.messages
            .get(&IterRound::new(0, Round::Preround))
            .map_or(0, |m| m.values().map(|s| u32::from(s.input.count)).sum())
    }

    /// Graded gossip for one validated message (signature, eligibility and shape are the
    /// caller's checks). [`Received::New`] and [`Received::Equivocation`] mean "relay".
    pub fn on_input(&mut self, input: Input) -> Received {
        if !input.value.fits(input.iter_round.round) {
            return Received::Ignored;
        }
        let input = Input { value: self.share(input.value), ..input };
        let current = self.current;
        let preround_vrf = (input.iter_round.round == Round::Preround).then_some(input.signed.vrf);
        let round = self.messages.entry(input.iter_round).or_default();
        let verdict = match round.entry(input.sender) {
            Entry::Vacant(slot) => {
                slot.insert(Stored { input, received: current, other: None });
                self.stored += 1;
                Received::New
            }
            Entry::Occupied(mut slot) => {
                let held = slot.get_mut();
                if held.input.signed.msg_hash == input.signed.msg_hash {
                    return Received::Duplicate;
                }
                if held.input.malicious {
                    return Received::Ignored;
                }
                let first = held.input.signed.signed_ref();
                let second = input.signed.signed_ref();
                let (other, other_received) = if input.atx_grade > held.input.atx_grade {
                    let old = std::mem::replace(&mut held.input, input);
                    (old, std::mem::replace(&mut held.received, current))
                } else {
                    (input, current)
                };
                held.input.malicious = true;
                held.other = Some(Other {
                    value: (other.value != held.input.value).then_some(other.value),
                    count: other.count,
                    atx_grade: other.atx_grade,
                    received: other_received,
                });
                self.stored += 1;
                Received::Equivocation { first, second }
            }
        };
        if let Some(vrf) = preround_vrf
            && self.coin.as_ref().is_none_or(|c| vrf_cmp(&vrf, c) == Ordering::Less)
        {
            self.coin = Some(vrf);
        }
        verdict
    }

    /// `value`, as the allocation of an equal proposal set already held if there is one. A new
    /// set is remembered while fewer than [`SETS_SHARED`] are (a sender of many different sets
    /// then keeps its own copies, as before).
    fn share(&mut self, value: Value) -> Value {
        let Value::Proposals(ids) = value else { return value };
        if let Some(same) = self.sets.iter().find(|set| **set == ids) {
            return Value::Proposals(Arc::clone(same));
        }
        if self.sets.len() < SETS_SHARED {
            self.sets.push(Arc::clone(&ids));
        }
        Value::Proposals(ids)
    }

    /// Executes the [`current`](Protocol::current) round and advances to the next one
    /// (iteration 0 skips hardlock; notify is followed by the next iteration's hardlock).
    ///
    /// - preround: send S.
    /// - hardlock (iteration i > 0): terminate if a result was already output; else output the
    ///   valid set that notify(i−1) passed at grade 5, if any. Hard-lock on the valid set that
    ///   commit(i−1) passed at grade 4, else unlock.
    /// - softlock (i > 0, not hard-locked): lock on commit(i−1) at grade 3, else unlock.
    /// - propose: send the preround values passing at grade 4, or the valid set commit(i−1)
    ///   passed at grade 2.
    /// - commit: record the gradecast sets that are within the grade-2 preround values as valid.
    ///   If hard-locked, commit to the lock; else commit to the first gradecast set (by VRF) that
    ///   is valid, has gradecast grade 2, is within the grade-3 preround values, contains the
    ///   grade-5 preround values or passed commit(i−1) at grade 1, and equals the lock if any.
    /// - notify: send the result if known, else the valid set commit(i) passed at grade 5.
    ///
    /// The coin is output once, at the first round from softlock on with a preround message.
    // Named after the reference's `Next`; a session is not an iterator (it never ends by itself).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> RoundOutput {
        let mut out = RoundOutput::default();
        self.execute(&mut out);
        if self.current.round >= Round::Softlock
            && !self.coin_out
            && let Some(coin) = &self.coin
        {
            out.coin = Some(coin.0[0] & 1 == 1);
            self.coin_out = true;
        }
        self.current = self.current.next();
        out
    }

    fn execute(&mut self, out: &mut RoundOutput) {
        let ir = self.current;
        let iter = ir.iter;
        let previous = iter.checked_sub(1);
        match ir.round {
            Round::Preround => {
                out.message = Some((ir, Value::Proposals(self.initial.as_slice().into())));
            }
            Round::Hardlock => {
                let Some(prev) = previous else { return };
                if self.result.is_some() {
                    out.terminated = true;
                }
                if self.result.is_none()
                    && let Some((reference, values)) =
                        self.threshold_set(IterRound::new(prev, Round::Notify), 5)
                {
                    self.result = Some(reference);
                    out.result = Some(values);
                }
                self.locked =
                    self.threshold_set(IterRound::new(prev, Round::Commit), 4).map(|(r, _)| r);
                self.hard_locked = self.locked.is_some();
            }
            Round::Softlock => {
                if let Some(prev) = previous
                    && !self.hard_locked
                {
                    self.locked =
                        self.threshold_set(IterRound::new(prev, Round::Commit), 3).map(|(r, _)| r);
                }
            }
            Round::Propose => {
                let mut values = self.threshold_values(IterRound::START, 4);
                if let Some(prev) = previous
                    && let Some((_, set)) =
                        self.threshold_set(IterRound::new(prev, Round::Commit), 2)
                {
                    values = set;
                }
                out.message = Some((ir, Value::proposals(values)));
            }
            Round::Wait1 | Round::Wait2 => {}
            Round::Commit => {
                if let Some(reference) = self.commit(ir, previous) {
                    out.message = Some((ir, Value::Reference(reference)));
                }
            }
            Round::Notify => {
                let reference = self.result.or_else(|| {
                    self.threshold_set(IterRound::new(iter, Round::Commit), 5).map(|(r, _)| r)
                });
                if let Some(reference) = reference {
                    out.message = Some((ir, Value::Reference(reference)));
                }
            }
        }
    }

    /// The commit round: records valid sets and picks the reference to commit to.
    fn commit(&mut self, ir: IterRound, previous: Option<u8>) -> Option<Hash32> {
        let g2 = self.threshold_values(IterRound::START, 2);
        // (a), (b): a gradecast set within the grade-2 preround values is valid. Grade-0 sets
        // are not gradecast at all.
        let proposed: Vec<(Hash32, Grade, Vec<ProposalId>)> = self
            .gradecast(IterRound::new(ir.iter, Round::Propose))
            .into_iter()
            .map(|g| (proposals_hash(g.values), g.grade, g.values.to_vec()))
            .collect();
        for (reference, _, values) in &proposed {
            if is_subset(values, &g2) {
                self.valid_proposals.insert(*reference, values.clone());
            }
        }
        if self.hard_locked && self.locked.is_some() {
            return self.locked;
        }
        let g3 = self.threshold_values(IterRound::START, 3);
        let g5 = self.threshold_values(IterRound::START, 5);
        // Computed once, when a candidate first needs it.
        let mut committed_before: Option<Vec<Hash32>> = None;
        // (d): candidates are already in VRF order, the first one that qualifies wins.
        for (reference, grade, values) in proposed {
            let qualifies = self.valid_proposals.contains_key(&reference) // (c)
                && grade == 2 // (e)
                && is_subset(&values, &g3) // (f)
                && (is_subset(&g5, &values) // (g)
                    || previous.is_some_and(|p| {
                        committed_before
                            .get_or_insert_with(|| {
                                self.threshold_refs(IterRound::new(p, Round::Commit), 1)
                            })
                            .binary_search(&reference)
                            .is_ok()
                    }))
                && self.locked.is_none_or(|l| l == reference); // (h)
            if qualifies {
                return Some(reference);
            }
        }
        None
    }

    /// What each sender of `filter` contributes at message grade `grade`. A message counts if it
    /// arrived with grade ≥ `grade` and from an ATX at least as good as the worst non-malicious
    /// one among those. A sender known to be malicious by then (flagged with a counted message,
    /// or caught equivocating with both messages counted) supports every value; otherwise its
    /// counted message supports its value.
    fn counted(&self, filter: IterRound, grade: Grade) -> impl Iterator<Item = Support<'_>> + '_ {
        let round = self.messages.get(&filter);
        let timely = move |received: IterRound| received.grade(filter) >= grade;
        let min_atx = round
            .into_iter()
            .flat_map(|m| m.values())
            .filter(|s| timely(s.received) && !s.input.malicious)
            .map(|s| s.input.atx_grade)
            .fold(GRADE_MAX, Grade::min);
        let counts =
            move |received: IterRound, atx_grade: Grade| timely(received) && atx_grade >= min_atx;
        round.into_iter().flat_map(|m| m.values()).filter_map(move |s| {
            let kept = counts(s.received, s.input.atx_grade);
            let Some(other) = &s.other else {
                return match (kept, s.input.malicious) {
                    (false, _) => None,
                    (true, true) => Some(Support::Any(s.input.count)),
                    (true, false) => Some(Support::Value {
                        value: &s.input.value,
                        count: s.input.count,
                        malicious: false,
                    }),
                };
            };
            match (kept, counts(other.received, other.atx_grade)) {
                (true, true) => Some(Support::Any(s.input.count.max(other.count))),
                (true, false) => Some(Support::Value {
                    value: &s.input.value,
                    count: s.input.count,
                    malicious: true,
                }),
                (false, true) => Some(Support::Value {
                    value: other.value.as_ref().unwrap_or(&s.input.value),
                    count: other.count,
                    malicious: true,
                }),
                (false, false) => None,
            }
        })
    }

    /// The keys whose total, with every known-malicious sender's count (`any`), reaches the
    /// threshold and that have valid support.
    fn passing<K: Copy>(&self, tallies: BTreeMap<K, Tally>, any: u32) -> Vec<K> {
        let threshold = u32::from(self.threshold);
        tallies
            .into_iter()
            .filter(|(_, t)| t.total + any >= threshold && t.valid > 0)
            .map(|(k, _)| k)
            .collect()
    }

    /// Threshold gossip over proposal ids (preround, propose): the passing ids, sorted.
    ///
    /// Most senders send the same set, so the support is first summed per distinct set (a few
    /// slice comparisons per message) and only then spread over the ids of each set. Past
    /// [`SETS_GROUPED`] distinct sets a message's support goes to its ids directly, so senders of
    /// many different sets cost no more than a tally per id.
    fn threshold_values(&self, filter: IterRound, grade: Grade) -> Vec<ProposalId> {
        let mut sets: Vec<(&[ProposalId], Tally)> = Vec::new();
        let mut tallies: BTreeMap<ProposalId, Tally> = BTreeMap::new();
        let mut any = 0;
        for support in self.counted(filter, grade) {
            match support {
                Support::Value { value: Value::Proposals(ids), count, malicious } => {
                    let ids = &ids[..];
                    match sets.iter().position(|(set, _)| *set == ids) {
                        Some(i) => sets[i].1.add(count, malicious),
                        None if sets.len() < SETS_GROUPED => {
                            let mut tally = Tally::default();
                            tally.add(count, malicious);
                            sets.push((ids, tally));
                        }
                        None => {
                            for id in ids {
                                tallies.entry(*id).or_default().add(count, malicious);
                            }
                        }
                    }
                }
                Support::Value { value: Value::Reference(_), .. } => {}
                Support::Any(count) => any += u32::from(count),
            }
        }
        for (set, tally) in sets {
            for id in set {
                let t = tallies.entry(*id).or_default();
                t.total += tally.total;
                t.valid += tally.valid;
            }
        }
        self.passing(tallies, any)
    }

    /// Threshold gossip over references (commit, notify): the passing references, sorted.
    fn threshold_refs(&self, filter: IterRound, grade: Grade) -> Vec<Hash32> {
        let mut tallies: BTreeMap<Hash32, Tally> = BTreeMap::new();
        let mut any = 0;
        for support in self.counted(filter, grade) {
            match support {
                Support::Value { value: Value::Reference(r), count, malicious } => {
                    tallies.entry(*r).or_default().add(count, malicious);
                }
                Support::Value { value: Value::Proposals(_), .. } => {}
                Support::Any(count) => any += u32::from(count),
            }
        }
        self.passing(tallies, any)
    }

    /// The first passing reference of `filter` at `grade` that names a known valid set.
    fn threshold_set(&self, filter: IterRound, grade: Grade) -> Option<(Hash32, Vec<ProposalId>)> {
        self.threshold_refs(filter, grade)
            .into_iter()
            .find_map(|r| self.valid_proposals.get(&r).map(|set| (r, set.clone())))
    }

    /// Gradecast over the propose messages of `target`, ordered by the leaders' VRF proofs.
    fn gradecast(&self, target: IterRound) -> Vec<Graded<'_>> {
        let mut graded: Vec<Graded<'_>> = self
            .messages
            .get(&target)
            .into_iter()
            .flat_map(|m| m.iter())
            .filter(|(_, s)| !s.input.malicious || s.other.is_some())
            .filter_map(|(sender, s)| {
                let Value::Proposals(values) = &s.input.value else { return None };
                let delay = s.received.delay(target);
                let other = s.other.as_ref().map(|o| o.received.delay(target));
                let grade = if s.input.atx_grade == GRADE_MAX
                    && delay <= 1
                    && other.is_none_or(|d| d > 3)
                {
                    2
                } else if s.input.atx_grade >= 4 && delay <= 2 && other.is_none_or(|d| d > 2) {
                    1
                } else {
                    return None;
                };
                Some(Graded { values, grade, vrf: &s.input.signed.vrf, sender })
            })
            .collect();
        graded.sort_by(|a, b| vrf_cmp(a.vrf, b.vrf).then_with(|| a.sender.cmp(b.sender)));
        graded
    }
}

#[cfg(test)]
#[path = "protocol_tests.rs"]
mod tests;
