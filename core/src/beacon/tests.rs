//! Beacon protocol tests: single-instance scenarios with hand-made messages, a deterministic
//! in-test cluster exchanging messages through a delayed bus, and a proptest over arbitrary
//! interleavings.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::message::{encode_votes, proposal_vrf_message, vote_bit, weak_coin_vrf_message};
use super::threshold::proposal_threshold;
use super::*;
use crate::codec::{BoundedBytes, BoundedVec};
use crate::crypto::{Ed25519Verifier, Signature, Signer, Verifier, hash};
use crate::gossip::Verdict;
use crate::types::{EpochId, GenesisId, Hash32, NodeId, Time};
use crate::vrf::{self, VrfSignature};

const EPOCH: EpochId = EpochId(7);
const GENESIS: GenesisId = GenesisId([7; 20]);

fn start() -> Time {
    Time::from_secs(1_000)
}

fn seed_of(i: usize) -> [u8; 32] {
    let mut s = [0xbe; 32];
    s[..8].copy_from_slice(&(i as u64).to_le_bytes());
    s
}

fn id_of(i: usize) -> NodeId {
    Signer::from_seed(seed_of(i), GENESIS).node_id()
}

/// A test double for the runtime's verifier: real ed25519, and a "VRF" check that recomputes
/// [`vrf::prove`] from a registry of the test identities' seeds.
#[derive(Debug, Default)]
struct TestVerifier {
    seeds: BTreeMap<NodeId, [u8; 32]>,
}

impl TestVerifier {
    fn for_nodes(n: usize) -> TestVerifier {
        TestVerifier { seeds: (0..n).map(|i| (id_of(i), seed_of(i))).collect() }
    }
}

impl Verifier for TestVerifier {
    fn verify(&self, public_key: &[u8; 32], signed_message: &[u8], signature: &Signature) -> bool {
        Ed25519Verifier.verify(public_key, signed_message, signature)
    }

    fn verify_vrf(&self, public_key: &[u8; 32], message: &[u8], proof: &VrfSignature) -> bool {
        self.seeds.get(&NodeId(*public_key)).is_some_and(|s| vrf::prove(s, message) == *proof)
    }
}

fn participant(i: usize, weight: u64, num_units: u32) -> Participant {
    Participant {
        node_id: id_of(i),
        atx_id: Hash32([i as u8; 32]),
        weight,
        vrf_nonce: 1000 + i as u64,
        num_units,
        atx_received: start() - Duration::from_secs(60),
        malicious: false,
    }
}

fn random_participants(n: usize, rng: &mut ChaCha8Rng) -> Vec<Participant> {
    (0..n)
        .map(|i| {
            let units = rng.random_range(1..=4u32);
            participant(i, u64::from(units) * rng.random_range(10..100u64), units)
        })
        .collect()
}

fn proposal_vrf(i: usize, p: &Participant) -> VrfSignature {
    vrf::prove(&seed_of(i), &proposal_vrf_message(p.vrf_nonce, EPOCH))
}

/// The beacon over a set of proposals, computed independently of the module.
fn expected_beacon(proposals: &BTreeSet<Proposal>) -> Beacon {
    let bytes: Vec<u8> = proposals.iter().flat_map(|p| p.0).collect();
    let h = hash(&bytes);
    Beacon([h.0[0], h.0[1], h.0[2], h.0[3]])
}

/// Proposals of the given participants that pass the strict threshold over `n_atxs` ATXs.
fn eligible_proposals(
    cfg: &BeaconConfig,
    ps: &[(usize, Participant)],
    n_atxs: u64,
) -> BTreeSet<Proposal> {
    let t = proposal_threshold(cfg.kappa, cfg.q, n_atxs);
    ps.iter()
        .map(|(i, p)| proposal_vrf(*i, p))
        .filter(|v| v.0 < t)
        .map(|v| Proposal::from_vrf(&v))
        .collect()
}

// ---------------------------------------------------------------- the cluster

/// A partition: the nodes on either side cannot reach each other during `[from, until)`;
/// messages sent meanwhile are delivered after `until` (as gossip reconciliation would).
struct Partition {
    side: Vec<bool>,
    from: u64,
    until: u64,
}

/// A deterministic cluster of [`EpochBeacon`]s on a bus with seeded per-message delays and
/// per-node clock skew. Time is global microseconds; node `i` sees `global + skew[i]`.
struct Cluster {
    verifier: TestVerifier,
    nodes: Vec<Option<EpochBeacon>>,
    skew: Vec<i64>,
    rng: ChaCha8Rng,
    queue: BTreeMap<(u64, u64), (usize, BeaconMessage)>,
    seq: u64,
    now: u64,
    partition: Option<Partition>,
    results: Vec<Option<Result<Beacon, BeaconFailure>>>,
    rejects: Vec<(usize, BeaconReject)>,
    published: Vec<(u64, BeaconMessage)>,
}

impl Cluster {
    /// Node `i` runs when `running(i)`, with the participant list `view(i)`.
    fn new(
        cfg: &BeaconConfig,
        n: usize,
        seed: u64,
        running: impl Fn(usize) -> bool,
        view: impl Fn(usize) -> Vec<Participant>,
    ) -> Cluster {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let skew: Vec<i64> = (0..n).map(|_| rng.random_range(-100_000..=100_000)).collect();
        let created = start() - cfg.grace_period;
        let nodes = (0..n)
            .map(|i| {
                running(i).then(|| {
                    let local = LocalIdentity::new(seed_of(i), GENESIS);
                    EpochBeacon::new(
                        cfg.clone(),
                        GENESIS,
                        EPOCH,
                        start(),
                        view(i),
                        Some(local),
                        created,
                    )
                    .expect("valid setup")
                })
            })
            .collect();
        Cluster {
            verifier: TestVerifier::for_nodes(n),
            nodes,
            skew,
            rng,
            queue: BTreeMap::new(),
            seq: 0,
            now: created.0 - 200_000,
            partition: None,
            results: vec![None; n],
            rejects: Vec::new(),
            published: Vec::new(),
        }
    }

    fn local(&self, i: usize, t: u64) -> Time {
        Time(t.saturating_add_signed(self.skew[i]))
    }

    fn next_event(&self) -> Option<u64> {
        let delivery = self.queue.keys().next().map(|(t, _)| *t);
        let timeouts = self.nodes.iter().enumerate().filter_map(|(i, n)| {
            let t = n.as_ref()?.next_timeout()?;
            Some(t.0.saturating_add_signed(-self.skew[i]).max(self.now))
        });
        delivery.into_iter().chain(timeouts).min()
    }

    fn run_until(&mut self, until: u64) {
        while let Some(t) = self.next_event().filter(|t| *t <= until) {
            self.now = t;
            for i in 0..self.nodes.len() {
                let local = self.local(i, t);
                let Some(node) = self.nodes[i].as_mut() else { continue };
                if node.next_timeout().is_some_and(|d| d <= local) {
                    node.on_tick(local);
                    self.drain(i);
                }
            }
            while let Some(entry) = self.queue.first_entry() {
                if entry.key().0 > t {
                    break;
                }
                let (to, msg) = entry.remove();
                let local = self.local(to, t);
                let node = self.nodes[to].as_mut().expect("only running nodes get mail");
                if let Err(e) = node.on_message(local, &msg, &self.verifier) {
                    self.rejects.push((to, e));
                }
                node.check_invariants();
                self.drain(to);
            }
        }
        self.now = self.now.max(until);
    }

    fn run(&mut self) {
        self.run_until(u64::MAX);
        for (i, n) in self.nodes.iter().enumerate() {
            if let Some(n) = n {
                assert_eq!(n.result(), self.results[i], "node {i}: result and output agree");
            }
        }
    }

    fn drain(&mut self, i: usize) {
        let local = self.local(i, self.now);
        while let Some(out) = self.nodes[i].as_mut().and_then(|n| n.poll_output()) {
            match out {
                BeaconOutput::Publish(m) => self.broadcast(i, m),
                BeaconOutput::Decided { epoch, beacon } => {
                    assert_eq!(epoch, EpochId(EPOCH.0 + 1));
                    self.record_result(i, local, Ok(beacon));
                }
                BeaconOutput::Failed { epoch, reason } => {
                    assert_eq!(epoch, EpochId(EPOCH.0 + 1));
                    self.record_result(i, local, Err(reason));
                }
            }
        }
    }

    fn record_result(&mut self, i: usize, local: Time, r: Result<Beacon, BeaconFailure>) {
        let node = self.nodes[i].as_ref().expect("running");
        assert_eq!(node.phase(local), BeaconPhase::Done, "node {i} decided before the end");
        assert!(self.results[i].replace(r).is_none(), "node {i} decided twice");
    }

    fn broadcast(&mut self, from: usize, m: BeaconMessage) {
        self.published.push((self.now, m.clone()));
        for to in 0..self.nodes.len() {
            if to == from || self.nodes[to].is_none() {
                continue;
            }
            let mut base = self.now;
            if let Some(p) = &self.partition
                && p.side[from] != p.side[to]
                && (p.from..p.until).contains(&self.now)
            {
                base = p.until;
            }
            let delay = self.rng.random_range(50_000..300_000u64);
            self.seq += 1;
            self.queue.insert((base + delay, self.seq), (to, m.clone()));
        }
    }

    fn decided(&self, nodes: impl Iterator<Item = usize>) -> BTreeMap<usize, Beacon> {
        nodes.filter_map(|i| Some((i, self.results[i]?.ok()?))).collect()
    }
}

fn indexed(ps: &[Participant], keep: impl Fn(usize) -> bool) -> Vec<(usize, Participant)> {
    ps.iter().cloned().enumerate().filter(|(i, _)| keep(*i)).collect()
}

/// With honest nodes, small delays and small skew, every node decides the beacon of exactly the
/// eligible proposals, for clusters of 10 to 60 nodes.
#[test]
fn honest_cluster_agrees() {
    let cfg = four_rounds();
    for (n, seed) in [(10, 1), (25, 2), (60, 3)] {
        let ps = random_participants(n, &mut ChaCha8Rng::seed_from_u64(seed));
        let mut c = Cluster::new(&cfg, n, seed, |_| true, |_| ps.clone());
        c.run();
        let want = expected_beacon(&eligible_proposals(&cfg, &indexed(&ps, |_| true), n as u64));
        let decided = c.decided(0..n);
        assert_eq!(decided.len(), n, "n {n}: every node decides: {:?}", c.results);
        assert!(decided.values().all(|b| *b == want), "n {n}: {decided:?} vs {want:?}");
        let unexpected: Vec<_> =
            c.rejects.iter().filter(|(_, e)| !matches!(e, BeaconReject::TooLate)).collect();
        assert!(unexpected.is_empty(), "n {n}: {unexpected:?}");
    }
}

/// The same seed gives the same run, message for message.
#[test]
fn cluster_is_deterministic() {
    let cfg = four_rounds();
    let ps = random_participants(12, &mut ChaCha8Rng::seed_from_u64(9));
    let run = || {
        let mut c = Cluster::new(&cfg, 12, 9, |_| true, |_| ps.clone());
        c.run();
        (c.results, c.published)
    };
    assert_eq!(run(), run());
}

/// A participant that never runs (its weight still counts in W) does not stop the others from
/// agreeing on the beacon of the remaining eligible proposals.
#[test]
fn one_silent_node() {
    let cfg = four_rounds();
    let n = 15;
    let ps = random_participants(n, &mut ChaCha8Rng::seed_from_u64(4));
    let mut c = Cluster::new(&cfg, n, 4, |i| i != 3, |_| ps.clone());
    c.run();
    let want = expected_beacon(&eligible_proposals(&cfg, &indexed(&ps, |i| i != 3), n as u64));
    let decided = c.decided(0..n);
    assert_eq!(decided.len(), n - 1);
    assert!(decided.values().all(|b| *b == want), "{decided:?} vs {want:?}");
}

/// Feeds every node's decided beacon as a ref ballot (weighted by its ATX) into one tally per
/// node, each in its own order, and checks they all answer the same beacon, one of those decided.
fn fallback_converges(c: &mut Cluster, ps: &[Participant], decided: &BTreeMap<usize, Beacon>) {
    let cfg = four_rounds();
    let mut answers = BTreeSet::new();
    for node in decided.keys() {
        let mut order: Vec<usize> = decided.keys().copied().collect();
        for k in (1..order.len()).rev() {
            order.swap(k, c.rng.random_range(0..=k));
        }
        let mut tally = BeaconTally::new(EPOCH, 1, cfg.tally_ballots_max);
        for i in order {
            let w = ballot_weight(ps[i].weight, 1, 1);
            tally.record(EPOCH, crate::types::BallotId([i as u8; 20]), decided[&i], w, 1).unwrap();
        }
        answers.insert(tally.beacon().unwrap_or_else(|| panic!("node {node}: no answer")));
    }
    assert_eq!(answers.len(), 1, "tallies disagree: {answers:?}");
    assert!(decided.values().any(|b| answers.contains(b)));
}

/// A partition during the first voting round, healed during round 1: first votes across it come
/// too late, yet the honest nodes agree (or, failing that, the fallback tally converges).
#[test]
fn partition_during_first_voting_round() {
    let cfg = four_rounds();
    let n = 20;
    let ps = random_participants(n, &mut ChaCha8Rng::seed_from_u64(5));
    let mut c = Cluster::new(&cfg, n, 5, |_| true, |_| ps.clone());
    let fv = (start() + cfg.proposal_duration).0;
    let t1 = (start() + cfg.proposal_duration + cfg.first_voting_round_duration).0;
    c.partition = Some(Partition {
        side: (0..n).map(|i| i < n / 2).collect(),
        from: fv - 500_000,
        until: t1 + 500_000,
    });
    c.run();
    assert!(c.rejects.iter().any(|(_, e)| *e == BeaconReject::TooLate), "the partition bit");
    assert!(c.rejects.iter().any(|(_, e)| matches!(e, BeaconReject::NoFirstVote(_))));
    let decided = c.decided(0..n);
    let distinct: BTreeSet<_> = decided.values().collect();
    if distinct.len() > 1 {
        fallback_converges(&mut c, &ps, &decided);
    }
    assert!(decided.len() >= n / 2, "most nodes decide: {:?}", c.results);
}

/// A partition from before the proposal phase until round 1: each side sees only its own
/// proposals, so the sides decide different beacons; the ballot tally still converges.
#[test]
fn partition_through_proposals_is_resolved_by_the_fallback() {
    let cfg = four_rounds();
    let n = 20;
    let ps = random_participants(n, &mut ChaCha8Rng::seed_from_u64(6));
    let mut c = Cluster::new(&cfg, n, 6, |_| true, |_| ps.clone());
    let t1 = (start() + cfg.proposal_duration + cfg.first_voting_round_duration).0;
    c.partition = Some(Partition {
        side: (0..n).map(|i| i % 2 == 0).collect(),
        from: 0,
        until: t1 + 500_000,
    });
    c.run();
    assert!(c.rejects.iter().any(|(_, e)| *e == BeaconReject::ProposalIneligible));
    let decided = c.decided(0..n);
    let distinct: BTreeSet<_> = decided.values().collect();
    assert!(distinct.len() >= 2, "the sides disagree: {decided:?}");
    fallback_converges(&mut c, &ps, &decided);
}

/// Identities the honest nodes know to be malicious vote with weight 0 and their proposals are
/// at best potentially valid: after the first round every margin is exactly ± the honest weight,
/// and the honest nodes decide the beacon of the honest proposals.
#[test]
fn malicious_identities_weigh_nothing() {
    let cfg = four_rounds();
    let n = 12;
    let bad = |i: usize| i < 3;
    let ps = random_participants(n, &mut ChaCha8Rng::seed_from_u64(7));
    let flagged: Vec<Participant> = ps
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, p)| Participant { malicious: bad(i), ..p })
        .collect();
    // The malicious nodes believe themselves honest, so they propose and vote.
    let mut c =
        Cluster::new(&cfg, n, 7, |_| true, |i| if bad(i) { ps.clone() } else { flagged.clone() });
    let t1 = (start() + cfg.proposal_duration + cfg.first_voting_round_duration).0;
    c.run_until(t1 - 150_000);
    let honest_weight: i128 = (0..n).filter(|i| !bad(*i)).map(|i| i128::from(ps[i].weight)).sum();
    let bad_props = eligible_proposals(&cfg, &indexed(&ps, bad), n as u64);
    for i in (0..n).filter(|i| !bad(*i)) {
        let node = c.nodes[i].as_ref().unwrap();
        assert_eq!(node.epoch_weight(), honest_weight as u128);
        assert!(node.valid_proposals().all(|p| !bad_props.contains(p)));
        assert_eq!(node.potentially_valid_proposals().copied().collect::<BTreeSet<_>>(), bad_props);
        for p in node.valid_proposals() {
            assert_eq!(node.margin(p), Some(honest_weight), "node {i}");
        }
        for p in node.potentially_valid_proposals() {
            assert_eq!(node.margin(p), Some(-honest_weight), "node {i}");
        }
    }
    c.run();
    let want = expected_beacon(&eligible_proposals(&cfg, &indexed(&ps, |i| !bad(i)), n as u64));
    let decided = c.decided((0..n).filter(|i| !bad(*i)));
    assert_eq!(decided.len(), n - 3);
    assert!(decided.values().all(|b| *b == want));
}

// ------------------------------------------------------- single-instance scenarios

fn small_cfg() -> BeaconConfig {
    // κ = 40 over 3 ATXs: a threshold of 1 − 2^−20, so every test proposal is eligible.
    four_rounds()
}

/// An observer (no local identity) over participants 0..3, plus late participant 3 whose ATX
/// arrived within the grace period after the epoch start.
fn observer() -> EpochBeacon {
    let ps = vec![participant(0, 100, 2), participant(1, 50, 1), participant(2, 30, 1)];
    let mut b = EpochBeacon::new(small_cfg(), GENESIS, EPOCH, start(), ps, None, start()).unwrap();
    let late =
        Participant { atx_received: start() + Duration::from_millis(500), ..participant(3, 20, 1) };
    b.add_participant(late).unwrap();
    b
}

fn proposal_msg(i: usize, b_nonce: u64) -> BeaconMessage {
    let vrf = vrf::prove(&seed_of(i), &proposal_vrf_message(b_nonce, EPOCH));
    BeaconMessage::Proposal(ProposalMessage { epoch: EPOCH, node_id: id_of(i), vrf_signature: vrf })
}

fn first_vote(i: usize, valid: &[Proposal], pv: &[Proposal]) -> BeaconMessage {
    let s = Signer::from_seed(seed_of(i), GENESIS);
    let v = |l: &[Proposal]| BoundedVec::new(l.to_vec()).unwrap();
    BeaconMessage::FirstVoting(FirstVotingMessage::sign(&s, EPOCH, v(valid), v(pv)))
}

fn following_vote(i: usize, round: u32, bits: &[u8]) -> BeaconMessage {
    let s = Signer::from_seed(seed_of(i), GENESIS);
    let bits = BoundedBytes::new(Bytes::copy_from_slice(bits)).unwrap();
    BeaconMessage::FollowingVoting(FollowingVotingMessage::sign(&s, EPOCH, round, bits))
}

fn coin_msg(i: usize, round: u32, unit: u32) -> (BeaconMessage, VrfSignature) {
    let vrf = vrf::prove(&seed_of(i), &weak_coin_vrf_message(1000 + i as u64, EPOCH, round, unit));
    let m = WeakCoinMessage { epoch: EPOCH, round, unit, node_id: id_of(i), vrf_signature: vrf };
    (BeaconMessage::WeakCoin(m), vrf)
}

fn at(offset_ms: u64) -> Time {
    start() + Duration::from_millis(offset_ms)
}

/// Proposals are valid until the phase end, potentially valid within the grace period after it,
/// and invalid later; a late ATX or a malicious proposer makes a timely proposal only
/// potentially valid. Repeats are ignored and forged VRFs rejected.
#[test]
fn proposal_classification() {
    let v = TestVerifier::for_nodes(4);
    let cfg = small_cfg();
    let phase_end = cfg.proposal_duration.as_millis() as u64;
    let grace = cfg.grace_period.as_millis() as u64;
    let prop = |m: &BeaconMessage| match m {
        BeaconMessage::Proposal(p) => Proposal::from_vrf(&p.vrf_signature),
        _ => unreachable!(),
    };

    let mut b = observer();
    let m3 = proposal_msg(3, 1003);
    assert_eq!(b.on_message(at(10), &m3, &v), Ok(Verdict::Accept));
    let m0 = proposal_msg(0, 1000);
    assert_eq!(b.on_message(at(phase_end), &m0, &v), Ok(Verdict::Accept));
    assert_eq!(b.on_message(at(phase_end), &m0, &v), Ok(Verdict::Ignore), "a repeat");
    let m1 = proposal_msg(1, 1001);
    assert_eq!(b.on_message(at(phase_end + grace / 2), &m1, &v), Ok(Verdict::Accept));
    let m2 = proposal_msg(2, 1002);
    let late = Time(at(phase_end + grace).0 + 1);
    let err = b.on_message(late, &m2, &v).unwrap_err();
    assert_eq!((err.clone(), err.verdict()), (BeaconReject::ProposalIneligible, Verdict::Ignore));
    assert_eq!(b.valid_proposals().copied().collect::<Vec<_>>(), vec![prop(&m0)]);
    let pv: BTreeSet<_> = b.potentially_valid_proposals().copied().collect();
    assert_eq!(pv, BTreeSet::from([prop(&m1), prop(&m3)]));

    // A malicious proposer's timely proposal is only potentially valid.
    let mut b = observer();
    assert!(b.mark_malicious(&id_of(2)));
    assert_eq!(b.on_message(at(10), &m2, &v), Ok(Verdict::Accept));
    assert_eq!(b.potentially_valid_proposals().copied().collect::<Vec<_>>(), vec![prop(&m2)]);

    // Forged VRF, unknown proposer, other epoch, too early.
    let BeaconMessage::Proposal(mut forged) = m0.clone() else { unreachable!() };
    forged.vrf_signature.0[5] ^= 1;
    let err = b.on_message(at(10), &BeaconMessage::Proposal(forged), &v).unwrap_err();
    assert_eq!((err.clone(), err.verdict()), (BeaconReject::InvalidVrf, Verdict::Reject));
    let stranger = proposal_msg(9, 0);
    assert_eq!(b.on_message(at(10), &stranger, &v), Err(BeaconReject::UnknownSmesher(id_of(9))));
    let BeaconMessage::Proposal(mut other) = m0.clone() else { unreachable!() };
    other.epoch = EpochId(8);
    assert_eq!(
        b.on_message(at(10), &BeaconMessage::Proposal(other), &v),
        Err(BeaconReject::WrongEpoch { expected: EPOCH, got: EpochId(8) })
    );
    let too_early = Time(start().0 - cfg.grace_period.as_micros() as u64 - 1);
    assert_eq!(observer().on_message(too_early, &m0, &v), Err(BeaconReject::TooEarly));
}

/// First votes add ± the voter's weight to known proposals only; unsorted lists are rejected;
/// a different signed vote in the same round is equivocation, a forged one a bad signature.
#[test]
fn first_votes_tally_and_equivocation() {
    let v = TestVerifier::for_nodes(4);
    let cfg = small_cfg();
    let mut b = observer();
    let (m0, m1) = (proposal_msg(0, 1000), proposal_msg(1, 1001));
    b.on_message(at(10), &m0, &v).unwrap();
    b.on_message(at(10), &m1, &v).unwrap();
    let mut props: Vec<Proposal> = b.valid_proposals().copied().collect();
    props.sort();
    let unknown = Proposal([0xee; 4]);
    let mut with_unknown = props.clone();
    with_unknown.push(unknown);
    with_unknown.sort();
    let t = at(cfg.proposal_duration.as_millis() as u64 + 100);

    let vote = first_vote(2, &with_unknown, &[]);
    assert_eq!(b.on_message(t, &vote, &v), Ok(Verdict::Accept));
    assert_eq!(b.on_message(t, &vote, &v), Ok(Verdict::Ignore), "a repeat");
    assert_eq!(b.margin(&props[0]), Some(30));
    assert_eq!(b.margin(&unknown), None);
    assert_eq!(b.on_message(t, &first_vote(1, &[], &props), &v), Ok(Verdict::Accept));
    assert_eq!(b.margin(&props[1]), Some(30 - 50));

    let twin = first_vote(2, &props[..1], &[]);
    let err = b.on_message(t, &twin, &v).unwrap_err();
    assert_eq!(err, BeaconReject::Equivocation { smesher: id_of(2), round: 0 });
    assert_eq!(err.verdict(), Verdict::Ignore);
    assert_eq!(
        b.margin(&props[0]),
        Some(30 - 50),
        "the first vote stays, the second is not counted"
    );

    let BeaconMessage::FirstVoting(mut forged) = first_vote(0, &props, &[]) else { unreachable!() };
    forged.signature.0[0] ^= 1;
    let err = b.on_message(t, &BeaconMessage::FirstVoting(forged), &v).unwrap_err();
    assert_eq!((err.clone(), err.verdict()), (BeaconReject::InvalidSignature, Verdict::Reject));

    let unsorted: Vec<Proposal> = props.iter().rev().copied().collect();
    assert_eq!(
        b.on_message(t, &first_vote(0, &unsorted, &[]), &v),
        Err(BeaconReject::UnsortedProposals)
    );
    let t1 = start() + cfg.proposal_duration + cfg.first_voting_round_duration;
    assert_eq!(b.on_message(t1, &first_vote(0, &props, &[]), &v), Err(BeaconReject::TooLate));
    b.check_invariants();
}

/// Following votes count over the voter's own reference list, only in their round (or within δ
/// before it), need a first vote, and equivocation is detected per round.
#[test]
fn following_vote_timing_and_tally() {
    let v = TestVerifier::for_nodes(4);
    let cfg = small_cfg();
    let mut b = observer();
    b.on_message(at(10), &proposal_msg(0, 1000), &v).unwrap();
    b.on_message(at(10), &proposal_msg(1, 1001), &v).unwrap();
    let props: Vec<Proposal> = b.valid_proposals().copied().collect();
    let fv = at(cfg.proposal_duration.as_millis() as u64 + 10);
    b.on_message(fv, &first_vote(0, &props, &[]), &v).unwrap();
    let before = b.margin(&props[0]).unwrap();
    let t1 = start() + cfg.proposal_duration + cfg.first_voting_round_duration;
    let grace = cfg.grace_period;
    let round_len = cfg.voting_round_duration + cfg.weak_coin_round_duration;

    // Round 1 within δ before it starts is fine; round 2 then is too early.
    let bits = encode_votes(&props, |p| *p == props[0]);
    let r1 = following_vote(0, 1, &bits);
    assert_eq!(b.on_message(t1 - grace / 2, &r1, &v), Ok(Verdict::Accept));
    assert_eq!(b.margin(&props[0]), Some(before + 100));
    assert_eq!(b.margin(&props[1]), Some(-100 + 100), "the first vote's +100, then −100");
    assert_eq!(b.on_message(t1, &following_vote(0, 2, &bits), &v), Err(BeaconReject::TooEarly));
    let err = b.on_message(t1, &following_vote(0, 1, &[]), &v).unwrap_err();
    assert_eq!(err, BeaconReject::Equivocation { smesher: id_of(0), round: 1 });
    assert_eq!(
        b.on_message(t1, &following_vote(1, 1, &[]), &v),
        Err(BeaconReject::NoFirstVote(id_of(1)))
    );
    let err = b.on_message(t1, &following_vote(1, 4, &[]), &v).unwrap_err();
    assert_eq!(
        (err.clone(), err.verdict()),
        (BeaconReject::RoundOutOfRange { round: 4 }, Verdict::Reject)
    );
    // A weak coin keeps the protocol going past round 1.
    let (coin, _) = coin_msg(0, 1, 0);
    assert_eq!(b.on_message(t1 + cfg.voting_round_duration, &coin, &v), Ok(Verdict::Accept));
    // During round 2 a round 1 vote is too late; the round 2 vote counts.
    let t2 = t1 + round_len;
    assert_eq!(b.on_message(t2, &following_vote(2, 1, &[]), &v), Err(BeaconReject::TooLate));
    assert_eq!(b.on_message(t2, &following_vote(0, 2, &bits), &v), Ok(Verdict::Accept));
    assert_eq!(b.phase(t2), BeaconPhase::Voting(2));
    b.check_invariants();
}

fn proposal_of(m: &BeaconMessage) -> Proposal {
    match m {
        BeaconMessage::Proposal(p) => Proposal::from_vrf(&p.vrf_signature),
        _ => unreachable!("not a proposal"),
    }
}

/// A proposal that gains its margin after a reference list naming it was interned counts in
/// every later vote over that list, as if the list had been resolved after it arrived: the first
/// vote that interned the list could not move it, the following vote over the list does. A first
/// vote whose valid/potentially valid split differs but whose concatenation is the same list
/// counts by its own split.
#[test]
fn late_proposal_counts_in_an_interned_list() {
    let v = TestVerifier::for_nodes(4);
    let cfg = small_cfg();
    let mut b = observer();
    let (m0, m1) = (proposal_msg(0, 1000), proposal_msg(1, 1001));
    let (p0, p1) = (proposal_of(&m0), proposal_of(&m1));
    let mut list = vec![p0, p1];
    list.sort();
    b.on_message(at(10), &m0, &v).unwrap();
    // Voter 2 (weight 30) names p1 before it arrives: only p0 moves.
    assert_eq!(b.on_message(at(20), &first_vote(2, &list, &[]), &v), Ok(Verdict::Accept));
    assert_eq!((b.margin(&p0), b.margin(&p1)), (Some(30), None));
    assert_eq!(b.on_message(at(30), &m1, &v), Ok(Verdict::Accept));
    assert_eq!(b.margin(&p1), Some(0));
    // Voter 1 (weight 50) names p0 only, so voter 2's list is not resolved again here.
    assert_eq!(b.on_message(at(40), &first_vote(1, &[p0], &[]), &v), Ok(Verdict::Accept));
    assert_eq!((b.margin(&p0), b.margin(&p1)), (Some(80), Some(0)));
    b.check_invariants();

    // Voter 2's round 1 vote over its list, which was interned before p1 had a margin.
    let t1 = start() + cfg.proposal_duration + cfg.first_voting_round_duration;
    let early = t1 - cfg.grace_period / 2;
    let for_p1 = encode_votes(&list, |p| *p == p1);
    assert_eq!(b.on_message(early, &following_vote(2, 1, &for_p1), &v), Ok(Verdict::Accept));
    assert_eq!((b.margin(&p0), b.margin(&p1)), (Some(80 - 30), Some(30)));
    // Voter 3 (weight 20) sends the same concatenation split as valid [p0], potentially valid
    // [p1]: the same interned list, its own signs.
    let split = first_vote(3, &[p0], &[p1]);
    assert_eq!(b.on_message(early, &split, &v), Ok(Verdict::Accept));
    assert_eq!((b.margin(&p0), b.margin(&p1)), (Some(50 + 20), Some(30 - 20)));
    let for_both = encode_votes(&list, |_| true);
    assert_eq!(b.on_message(t1, &following_vote(3, 1, &for_both), &v), Ok(Verdict::Accept));
    assert_eq!((b.margin(&p0), b.margin(&p1)), (Some(70 + 20), Some(10 + 20)));
    b.check_invariants();
}

/// A list that names a proposal twice (valid and potentially valid, as two proposers sharing a
/// 4-byte value can make it) moves that proposal at most once per sign in a following vote, as
/// go-spacemesh's `decodeVotes` sets do, also for a proposal that gained its margin after the
/// list was interned; the first vote counts each entry by its own list.
#[test]
fn duplicate_list_entries_count_once_per_sign() {
    let v = TestVerifier::for_nodes(4);
    let cfg = small_cfg();
    let mut b = observer();
    let (m0, m1) = (proposal_msg(0, 1000), proposal_msg(1, 1001));
    let (p0, p1) = (proposal_of(&m0), proposal_of(&m1));
    let mut valid = vec![p0, p1];
    valid.sort();
    // The reference list is `valid ++ [p0]`: p0 at `twin` and at 2, p1 at `1 − twin`.
    let twin = valid.iter().position(|p| *p == p0).unwrap();
    let bit = |i: usize| 1u8 << i;
    b.on_message(at(10), &m0, &v).unwrap();
    // Voter 2 (weight 30): +30 and −30 for p0, nothing for p1 (no margin yet).
    assert_eq!(b.on_message(at(20), &first_vote(2, &valid, &[p0]), &v), Ok(Verdict::Accept));
    assert_eq!((b.margin(&p0), b.margin(&p1)), (Some(0), None));
    assert_eq!(b.on_message(at(30), &m1, &v), Ok(Verdict::Accept));
    b.check_invariants();

    let t1 = start() + cfg.proposal_duration + cfg.first_voting_round_duration;
    // Round 1: p0 supported at one entry and against at the other (+30 − 30), p1 supported.
    let mixed = [bit(twin) | bit(1 - twin)];
    assert_eq!(b.on_message(t1, &following_vote(2, 1, &mixed), &v), Ok(Verdict::Accept));
    assert_eq!((b.margin(&p0), b.margin(&p1)), (Some(0), Some(30)));
    // Round 2: p0 supported at both entries counts once; p1 against.
    let t2 = t1 + cfg.voting_round_duration + cfg.weak_coin_round_duration;
    let both = [bit(twin) | bit(2)];
    assert_eq!(b.on_message(t2, &following_vote(2, 2, &both), &v), Ok(Verdict::Accept));
    assert_eq!((b.margin(&p0), b.margin(&p1)), (Some(30), Some(0)));
    b.check_invariants();
}

/// Entries past `votes_limit` count in the first vote but are not in the reference list, so
/// following votes do not move them.
#[test]
fn entries_past_votes_limit_count_in_the_first_vote_only() {
    let v = TestVerifier::for_nodes(4);
    let cfg = BeaconConfig { votes_limit: 1, ..small_cfg() };
    let ps = vec![participant(0, 100, 2), participant(1, 50, 1), participant(2, 30, 1)];
    let mut b = EpochBeacon::new(cfg.clone(), GENESIS, EPOCH, start(), ps, None, start()).unwrap();
    let (m0, m1) = (proposal_msg(0, 1000), proposal_msg(1, 1001));
    let (p0, p1) = (proposal_of(&m0), proposal_of(&m1));
    b.on_message(at(10), &m0, &v).unwrap();
    b.on_message(at(10), &m1, &v).unwrap();
    let (first, second) = (p0.min(p1), p0.max(p1));
    // Valid [first], potentially valid [second]: the list is [first] alone.
    assert_eq!(b.on_message(at(20), &first_vote(2, &[first], &[second]), &v), Ok(Verdict::Accept));
    assert_eq!((b.margin(&first), b.margin(&second)), (Some(30), Some(-30)));
    let t1 = start() + cfg.proposal_duration + cfg.first_voting_round_duration;
    assert_eq!(b.on_message(t1, &following_vote(2, 1, &[]), &v), Ok(Verdict::Accept));
    assert_eq!((b.margin(&first), b.margin(&second)), (Some(0), Some(-30)));
    b.check_invariants();
}

/// The weak coin keeps the smallest VRF (little-endian order), ignores larger ones, rejects
/// units the identity lacks and malicious identities, and closes with its round.
#[test]
fn weak_coin_keeps_the_smallest() {
    let v = TestVerifier::for_nodes(4);
    let cfg = small_cfg();
    let mut b = observer();
    let t1 = start() + cfg.proposal_duration + cfg.first_voting_round_duration;
    let coin_phase = t1 + cfg.voting_round_duration;
    let le_less = |a: &VrfSignature, b: &VrfSignature| a.0.iter().rev().lt(b.0.iter().rev());
    let (a, va) = coin_msg(0, 1, 0);
    let (c, vc) = coin_msg(0, 1, 1);
    let (small, large) = if le_less(&va, &vc) { (a, c) } else { (c, a) };
    assert_eq!(b.on_message(coin_phase, &small, &v), Ok(Verdict::Accept));
    assert_eq!(b.on_message(coin_phase, &large, &v), Ok(Verdict::Ignore), "not smaller");
    let (beyond, _) = coin_msg(1, 1, 1);
    assert_eq!(
        b.on_message(coin_phase, &beyond, &v),
        Err(BeaconReject::UnitOutOfRange { unit: 1, num_units: 1 })
    );
    assert!(b.mark_malicious(&id_of(2)));
    let (bad, _) = coin_msg(2, 1, 0);
    assert_eq!(b.on_message(coin_phase, &bad, &v), Err(BeaconReject::MaliciousSmesher(id_of(2))));
    let (early, _) = coin_msg(1, 3, 0);
    assert_eq!(b.on_message(coin_phase, &early, &v), Err(BeaconReject::TooEarly));
    let (next, _) = coin_msg(1, 2, 0);
    assert_eq!(b.on_message(coin_phase, &next, &v), Ok(Verdict::Accept), "next round is buffered");
    let t2 = t1 + cfg.voting_round_duration + cfg.weak_coin_round_duration;
    let (late, _) = coin_msg(1, 1, 0);
    assert_eq!(b.on_message(t2, &late, &v), Err(BeaconReject::TooLate));
    b.check_invariants();
}

/// A lone participant decides alone: its own proposal is supported by its own votes, and the
/// outputs come in protocol order with the decision last, exactly at the end.
#[test]
fn lone_participant_decides_its_own_proposal() {
    let cfg = small_cfg();
    let p = participant(0, 10, 2);
    let local = LocalIdentity::new(seed_of(0), GENESIS);
    let mut b = EpochBeacon::new(
        cfg.clone(),
        GENESIS,
        EPOCH,
        start(),
        vec![p.clone()],
        Some(local),
        start(),
    )
    .unwrap();
    assert!(b.is_signing());
    let mut kinds = Vec::new();
    let mut now = start();
    while let Some(t) = b.next_timeout() {
        assert!(t >= now);
        now = t;
        b.on_tick(now);
        b.check_invariants();
        while let Some(out) = b.poll_output() {
            kinds.push(match out {
                BeaconOutput::Publish(BeaconMessage::Proposal(_)) => "proposal".to_string(),
                BeaconOutput::Publish(BeaconMessage::FirstVoting(_)) => "first".to_string(),
                BeaconOutput::Publish(BeaconMessage::FollowingVoting(m)) => {
                    format!("vote{}", m.round)
                }
                BeaconOutput::Publish(BeaconMessage::WeakCoin(m)) => format!("coin{}", m.round),
                BeaconOutput::Decided { beacon, .. } => {
                    let own = Proposal::from_vrf(&proposal_vrf(0, &p));
                    assert_eq!(beacon, expected_beacon(&BTreeSet::from([own])));
                    "decided".to_string()
                }
                BeaconOutput::Failed { reason, .. } => panic!("failed: {reason}"),
            });
        }
    }
    assert_eq!(now, start() + cfg.protocol_duration());
    assert_eq!(b.phase(now), BeaconPhase::Done);
    let want =
        ["proposal", "first", "vote1", "coin1", "vote2", "coin2", "vote3", "coin3", "decided"];
    assert_eq!(kinds, want);
}

/// A node created after the proposal phase (a restart) only listens, so it can never sign a
/// second, different vote for a round it may already have voted in.
#[test]
fn restarted_node_only_listens() {
    let cfg = small_cfg();
    let local = LocalIdentity::new(seed_of(0), GENESIS);
    let late = start() + cfg.proposal_duration;
    let b = EpochBeacon::new(
        cfg.clone(),
        GENESIS,
        EPOCH,
        start(),
        vec![participant(0, 10, 1)],
        Some(local),
        late,
    )
    .unwrap();
    assert!(!b.is_signing());
    let zero = EpochBeacon::new(
        cfg.clone(),
        GENESIS,
        EPOCH,
        start(),
        vec![participant(0, 0, 1)],
        None,
        late,
    );
    assert_eq!(zero.unwrap_err(), BeaconSetupError::ZeroEpochWeight);
    let off = BeaconConfig { rounds_number: 0, ..cfg };
    let err =
        EpochBeacon::new(off, GENESIS, EPOCH, start(), vec![participant(0, 1, 1)], None, late)
            .unwrap_err();
    assert_eq!(err, BeaconSetupError::Config(BeaconConfigError::Disabled));
}

/// About κ·ln2/(1−q) ≈ 42 of 1000 uniformly random proofs pass the threshold over 1000 ATXs.
#[test]
fn expected_number_of_eligible_proposals() {
    let t = proposal_threshold(40, Ratio::new(1, 3), 1000);
    let eligible = (0..1000u32)
        .filter(|i| {
            let mut out = [0u8; 80];
            blake3::Hasher::new().update(&i.to_le_bytes()).finalize_xof().fill(&mut out);
            out < t
        })
        .count();
    assert!((20..70).contains(&eligible), "{eligible}");
}

// ----------------------------------------------------------- interleavings

/// Messages of a reference cluster run, plus broken and equivocating variants.
fn message_pool() -> &'static Vec<BeaconMessage> {
    static POOL: OnceLock<Vec<BeaconMessage>> = OnceLock::new();
    POOL.get_or_init(|| {
        let cfg = four_rounds();
        let ps = random_participants(6, &mut ChaCha8Rng::seed_from_u64(11));
        let mut c = Cluster::new(&cfg, 6, 11, |_| true, |_| ps.clone());
        c.run();
        let mut pool: Vec<BeaconMessage> = c.published.into_iter().map(|(_, m)| m).collect();
        let mut broken = Vec::new();
        for m in &pool {
            let mut m = m.clone();
            match &mut m {
                BeaconMessage::Proposal(p) => p.vrf_signature.0[1] ^= 1,
                BeaconMessage::FirstVoting(f) => f.signature.0[1] ^= 1,
                BeaconMessage::FollowingVoting(f) => f.round += 5,
                BeaconMessage::WeakCoin(w) => w.unit += 7,
            }
            broken.push(m);
        }
        pool.extend(broken);
        pool.push(first_vote(1, &[Proposal([1; 4])], &[]));
        pool.push(following_vote(2, 1, &[0xff]));
        pool.push(following_vote(2, 2, &[]));
        pool.push(proposal_msg(5, 0));
        // A reference list naming a proposal twice (valid and potentially valid), with votes
        // over it that support and oppose the twin entries differently.
        let proposals: BTreeSet<Proposal> = pool
            .iter()
            .filter_map(|m| match m {
                BeaconMessage::Proposal(p) => Some(Proposal::from_vrf(&p.vrf_signature)),
                _ => None,
            })
            .collect();
        let valid: Vec<Proposal> = proposals.into_iter().take(2).collect();
        assert_eq!(valid.len(), 2, "the reference run has two proposals");
        pool.push(first_vote(4, &valid, &valid[..1]));
        pool.push(following_vote(4, 1, &[0b101]));
        pool.push(following_vote(4, 2, &[0b011]));
        pool.push(following_vote(4, 3, &[0b110]));
        pool
    })
}

/// The tally as it was first written: margins in a B-tree searched for every list entry of
/// every vote, and each following vote turned into a support set and an against set
/// (go-spacemesh's `decodeVotes`). The interleavings check the instance against it.
#[derive(Debug, Default)]
struct ReferenceTally {
    margins: BTreeMap<Proposal, i128>,
    lists: BTreeMap<NodeId, Vec<Proposal>>,
}

impl ReferenceTally {
    /// Applies a message the instance accepted or published (its own are applied already);
    /// `weight` is the voter's.
    fn apply(&mut self, m: &BeaconMessage, weight: i128, votes_limit: usize) {
        match m {
            BeaconMessage::Proposal(p) => {
                self.margins.entry(Proposal::from_vrf(&p.vrf_signature)).or_insert(0);
            }
            BeaconMessage::FirstVoting(f) => {
                let signed = f.valid.iter().map(|p| (p, weight));
                for (p, w) in signed.chain(f.potentially_valid.iter().map(|p| (p, -weight))) {
                    if let Some(margin) = self.margins.get_mut(p) {
                        *margin += w;
                    }
                }
                let mut list: Vec<Proposal> =
                    f.valid.iter().chain(f.potentially_valid.iter()).copied().collect();
                list.truncate(votes_limit);
                self.lists.insert(f.smesher, list);
            }
            BeaconMessage::FollowingVoting(f) => {
                let (mut support, mut against) = (BTreeSet::new(), BTreeSet::new());
                for (i, p) in self.lists[&f.smesher].iter().enumerate() {
                    let set =
                        if vote_bit(&f.votes_bit_vector, i) { &mut support } else { &mut against };
                    set.insert(*p);
                }
                for (set, w) in [(support, weight), (against, -weight)] {
                    for p in set {
                        if let Some(margin) = self.margins.get_mut(&p) {
                            *margin += w;
                        }
                    }
                }
            }
            BeaconMessage::WeakCoin(_) => {}
        }
    }

    /// Whether `b` holds exactly these margins.
    fn agrees(&self, b: &EpochBeacon) -> bool {
        let classified: BTreeSet<&Proposal> =
            b.valid_proposals().chain(b.potentially_valid_proposals()).collect();
        classified.len() == self.margins.len()
            && self.margins.iter().all(|(p, m)| b.margin(p) == Some(*m))
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any interleaving of valid, late, early, forged and equivocating messages with ticks never
    /// panics, keeps the invariants, tallies exactly as the [`ReferenceTally`], and yields
    /// exactly one outcome, only once the protocol ends.
    #[test]
    fn arbitrary_interleavings(
        ops in proptest::collection::vec((0u64..150, proptest::option::of(any::<prop::sample::Index>())), 1..200),
        participate in any::<bool>(),
    ) {
        let cfg = four_rounds();
        let ps = random_participants(6, &mut ChaCha8Rng::seed_from_u64(11));
        let weights: BTreeMap<NodeId, i128> =
            ps.iter().map(|p| (p.node_id, i128::from(p.weight))).collect();
        let local = participate.then(|| LocalIdentity::new(seed_of(0), GENESIS));
        let first = start() - Duration::from_secs(2);
        let mut b = EpochBeacon::new(cfg.clone(), GENESIS, EPOCH, start(), ps, local, first).unwrap();
        let v = TestVerifier::for_nodes(6);
        let pool = message_pool();
        let mut now = first;
        let mut outcomes = 0;
        let mut reference = ReferenceTally::default();
        let limit = cfg.votes_limit as usize;
        let weight = |m: &BeaconMessage| weights.get(&m.origin()).copied().unwrap_or(0);
        let mut check = |b: &mut EpochBeacon, r: &mut ReferenceTally, now: Time| {
            b.check_invariants();
            while let Some(out) = b.poll_output() {
                match out {
                    BeaconOutput::Publish(m) => r.apply(&m, weight(&m), limit),
                    BeaconOutput::Decided { .. } | BeaconOutput::Failed { .. } => {
                        outcomes += 1;
                        prop_assert_eq!(b.phase(now), BeaconPhase::Done);
                    }
                }
            }
            prop_assert!(outcomes <= 1);
            prop_assert!(r.agrees(b), "{:?}", r);
            Ok::<(), TestCaseError>(())
        };
        for (delta_ms, msg) in ops {
            now = now + Duration::from_millis(delta_ms);
            // Steps due now run first, so that own messages reach the reference in order.
            b.on_tick(now);
            check(&mut b, &mut reference, now)?;
            if let Some(ix) = msg {
                let m = &pool[ix.index(pool.len())];
                match b.on_message(now, m, &v) {
                    Ok(Verdict::Accept) => reference.apply(m, weight(m), limit),
                    Ok(_) => {}
                    Err(e) => {
                        let _ = e.verdict();
                    }
                }
                check(&mut b, &mut reference, now)?;
            }
        }
        let end = start() + cfg.protocol_duration();
        b.on_tick(now.max(end));
        check(&mut b, &mut reference, now.max(end))?;
        prop_assert_eq!(outcomes, 1);
        prop_assert!(b.next_timeout().is_none());
    }

    /// First votes over random lists (naming proposals twice, proposals that arrive only later,
    /// and one that never does), then following votes with random bits, tally exactly as the
    /// [`ReferenceTally`]. `early` ops are proposals (kinds 0..4) and first votes (kinds 4..8,
    /// with masks over the candidates) 150 ms apart from the epoch start, so later proposals
    /// are potentially valid or too late; `later` ops are following votes at their round's start.
    #[test]
    fn tallies_match_the_reference(
        early in proptest::collection::vec((0usize..8, any::<u8>(), any::<u8>()), 1..16),
        mut later in proptest::collection::vec((0usize..4, 1u32..4, any::<u8>()), 0..16),
    ) {
        let cfg = small_cfg();
        let v = TestVerifier::for_nodes(4);
        let weights: BTreeMap<NodeId, i128> =
            [(0, 100), (1, 50), (2, 30), (3, 20)].map(|(i, w)| (id_of(i), w)).into();
        let proposals: Vec<BeaconMessage> =
            (0..4).map(|i| proposal_msg(i, 1000 + i as u64)).collect();
        let mut candidates: Vec<Proposal> = proposals.iter().map(proposal_of).collect();
        candidates.push(Proposal([0xee; 4]));
        candidates.sort();
        let pick = |mask: u8| -> Vec<Proposal> {
            let picked = candidates.iter().enumerate().filter(|(i, _)| (mask >> i) & 1 == 1);
            picked.map(|(_, p)| *p).collect()
        };
        let mut b = observer();
        let mut reference = ReferenceTally::default();
        let limit = cfg.votes_limit as usize;
        let mut deliver = |b: &mut EpochBeacon, now: Time, m: &BeaconMessage| {
            if b.on_message(now, m, &v) == Ok(Verdict::Accept) {
                reference.apply(m, weights[&m.origin()], limit);
            }
            b.check_invariants();
            reference.agrees(b)
        };
        for (i, (kind, a, c)) in early.into_iter().enumerate() {
            let m = match kind {
                0..4 => proposals[kind].clone(),
                _ => first_vote(kind - 4, &pick(a), &pick(c)),
            };
            prop_assert!(deliver(&mut b, at(150 * i as u64), &m));
        }
        let t1 = start() + cfg.proposal_duration + cfg.first_voting_round_duration;
        let round_len = cfg.voting_round_duration + cfg.weak_coin_round_duration;
        later.sort_by_key(|(_, round, _)| *round);
        for (voter, round, bits) in later {
            let now = t1 + round_len * (round - 1);
            prop_assert!(deliver(&mut b, now, &following_vote(voter, round, &[bits])));
        }
    }
}

/// The sim timings with four rounds (three following rounds and weak coins), which the tests
/// here were written for; the simulator's preset uses two.
fn four_rounds() -> BeaconConfig {
    BeaconConfig { rounds_number: 4, ..BeaconConfig::sim() }
}
