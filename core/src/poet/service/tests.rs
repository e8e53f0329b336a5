use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::codec::decode_exact;
use crate::crypto::{Ed25519Verifier, hash};
use crate::poet::{prove, verify};

const GENESIS: GenesisId = GenesisId([9; 20]);

/// Accepts a signature whose first half is the BLAKE3 of the signed message: cheap, pure, and
/// still able to say no.
#[derive(Debug)]
struct HashVerifier;

impl Verifier for HashVerifier {
    fn verify(&self, _key: &[u8; 32], message: &[u8], signature: &Signature) -> bool {
        signature.0[..32] == hash(message).0
    }
}

fn fake_submit(node: u8, challenge: u8, deadline: Option<Time>) -> Submit {
    let challenge = Hash32([challenge; 32]);
    let mut signature = [0u8; 64];
    signature[..32].copy_from_slice(&hash(&signed_message(&GENESIS, Domain::Poet, &challenge.0)).0);
    Submit { challenge, node_id: NodeId([node; 32]), signature: Signature(signature), deadline }
}

fn config() -> PoetServiceConfig {
    PoetServiceConfig {
        genesis_id: GENESIS,
        schedule: RoundSchedule {
            genesis: Time::from_secs(100),
            epoch_duration: Duration::from_secs(60),
            phase_shift: Duration::from_secs(30),
            cycle_gap: Duration::from_secs(20),
        },
        members_max: 4,
        rounds_kept: 3,
    }
}

fn service() -> PoetService {
    PoetService::new(config()).unwrap()
}

/// Round 0 starts at 130 s and ends at 170 s; round 1 at 190 s and 230 s.
fn secs(s: u64) -> Time {
    Time::from_secs(s)
}

/// A real ed25519 registration is accepted; the same challenge signed for another network or
/// with a changed challenge is not.
#[test]
fn real_signatures() {
    let mut s = service();
    let signer = Signer::from_seed([1; 32], GENESIS);
    let good = Submit::sign(&signer, Hash32([5; 32]), None);
    assert_eq!(
        s.submit(secs(0), &good, &Ed25519Verifier),
        Ok(SubmitResponse { round: 0, round_end: secs(170) })
    );
    let other_net =
        Submit::sign(&Signer::from_seed([1; 32], GenesisId([8; 20])), Hash32([5; 32]), None);
    assert_eq!(s.submit(secs(0), &other_net, &Ed25519Verifier), Err(SubmitError::InvalidSignature));
    let mut changed = good.clone();
    changed.challenge = Hash32([6; 32]);
    assert_eq!(s.submit(secs(0), &changed, &Ed25519Verifier), Err(SubmitError::InvalidSignature));
}

/// Resubmitting is idempotent, a second challenge conflicts, and the cap holds.
#[test]
fn one_challenge_per_node_and_cap() {
    let mut s = service();
    let v = &HashVerifier;
    let r = s.submit(secs(10), &fake_submit(1, 1, None), v).unwrap();
    assert_eq!(s.submit(secs(11), &fake_submit(1, 1, None), v), Ok(r));
    assert_eq!(s.submit(secs(12), &fake_submit(1, 2, None), v), Err(SubmitError::Conflicting(0)));
    for node in 2..=4 {
        s.submit(secs(13), &fake_submit(node, 7, None), v).unwrap();
    }
    assert_eq!(
        s.submit(secs(14), &fake_submit(5, 7, None), v),
        Err(SubmitError::RoundFull { round: 0, members_max: 4 })
    );
    assert_eq!(s.submit(secs(15), &fake_submit(4, 7, None), v), Ok(r), "idempotent when full");
    s.check_invariants();
}

/// A deadline before the open round's end is refused; one at or after it is accepted.
#[test]
fn deadlines() {
    let mut s = service();
    let v = &HashVerifier;
    assert_eq!(
        s.submit(secs(0), &fake_submit(1, 1, Some(secs(169))), v),
        Err(SubmitError::TooLate { round: 0, round_end: secs(170), deadline: secs(169) })
    );
    assert!(s.submit(secs(0), &fake_submit(1, 1, Some(secs(170))), v).is_ok());
}

/// A round goes open -> executing -> ended -> proof ready; the statement is the membership
/// root over challenges sorted by node id, the proof verifies against it, and every member gets
/// a membership proof.
#[test]
fn round_lifecycle() {
    let mut s = service();
    let v = &HashVerifier;
    for (node, challenge) in [(3u8, 30u8), (1, 10), (2, 20)] {
        s.submit(secs(0), &fake_submit(node, challenge, None), v).unwrap();
    }
    assert_eq!(s.next_timeout(), Some(secs(130)));
    assert_eq!(s.on_tick(secs(129)), vec![]);
    let expected =
        MembershipTree::new(&[Hash32([10; 32]), Hash32([20; 32]), Hash32([30; 32])]).root();
    assert_eq!(
        s.on_tick(secs(130)),
        vec![ServiceEvent::RoundExecuting {
            round: 0,
            statement: expected,
            members: 3,
            end: secs(170)
        }]
    );
    assert_eq!(s.statement(0), Some(expected));
    assert_eq!(s.next_timeout(), Some(secs(170)));
    assert_eq!(s.submit(secs(130), &fake_submit(4, 4, None), v).unwrap().round, 1);
    let p = prove(&expected, 200, 8, 2).unwrap();
    assert_eq!(s.proof_ready(0, p.clone()), Err(ProofReadyError::NotEnded(0)));
    assert_eq!(
        s.on_tick(secs(170)),
        vec![ServiceEvent::RoundEnded { round: 0, statement: expected }]
    );
    assert!(s.proof(0).is_none());
    s.proof_ready(0, p.clone()).unwrap();
    assert_eq!(s.proof_ready(0, p.clone()), Ok(()));
    let other = prove(&expected, 201, 8, 2).unwrap();
    assert_eq!(s.proof_ready(0, other), Err(ProofReadyError::AlreadyProven(0)));
    let (proof, members) = s.proof(0).unwrap();
    assert_eq!(verify(proof, &expected.0, 8, 2), Ok(()));
    assert_eq!(members, vec![Hash32([10; 32]), Hash32([20; 32]), Hash32([30; 32])]);
    for node in 1..=3u8 {
        let mp = s.membership_proof(0, &NodeId([node; 32])).unwrap();
        assert!(mp.verify(&Hash32([node * 10; 32]), &expected));
    }
    assert!(s.membership_proof(0, &NodeId([4; 32])).is_none());
    assert_eq!(s.proof_ready(7, p), Err(ProofReadyError::UnknownRound(7)));
    s.check_invariants();
}

/// A late tick runs a round's start and end together, skips empty rounds, and a submission
/// for a round the service closed is refused.
#[test]
fn late_ticks_and_closed_rounds() {
    let mut s = service();
    let v = &HashVerifier;
    s.submit(secs(0), &fake_submit(1, 1, None), v).unwrap();
    let events = s.on_tick(secs(500));
    assert!(matches!(events[0], ServiceEvent::RoundExecuting { round: 0, .. }));
    assert!(matches!(events[1], ServiceEvent::RoundEnded { round: 0, .. }));
    assert_eq!(s.submit(secs(10), &fake_submit(2, 2, None), v), Err(SubmitError::RoundClosed(0)));
    let r = s.submit(secs(500), &fake_submit(2, 2, None), v).unwrap();
    assert_eq!(r.round, s.open_round(secs(500)));
    s.check_invariants();
}

/// Old ended rounds are forgotten beyond rounds_kept.
#[test]
fn pruning() {
    let mut s = service();
    let v = &HashVerifier;
    let sched = config().schedule;
    for round in 0..6u64 {
        let now = if round == 0 { secs(0) } else { sched.round_start(round - 1) };
        s.submit(now, &fake_submit(1, round as u8, None), v).unwrap();
        s.on_tick(sched.round_end(round));
    }
    assert!(s.statement(2).is_none());
    assert!(s.statement(3).is_some() && s.statement(5).is_some());
    s.check_invariants();
}

/// A snapshot survives encoding and restores a service with the same state.
#[test]
fn snapshot_restore() {
    let mut s = service();
    let v = &HashVerifier;
    s.submit(secs(0), &fake_submit(1, 1, None), v).unwrap();
    s.submit(secs(0), &fake_submit(2, 2, None), v).unwrap();
    s.on_tick(secs(170));
    let st = s.statement(0).unwrap();
    s.proof_ready(0, prove(&st, 20, 4, 1).unwrap()).unwrap();
    s.submit(secs(171), &fake_submit(3, 3, None), v).unwrap();
    let snap = s.snapshot();
    let decoded: ServiceSnapshot = decode_exact(&snap.encode()).unwrap();
    assert_eq!(decoded, snap);
    let r = PoetService::restore(config(), &decoded).unwrap();
    r.check_invariants();
    assert_eq!(r.snapshot(), snap);
    assert_eq!(r.statement(0), Some(st));
    assert_eq!(r.next_timeout(), s.next_timeout());
}

/// Snapshots that break the ordering rules are refused.
#[test]
fn restore_rejects_bad_snapshots() {
    let member = |n: u8| Member { node_id: NodeId([n; 32]), challenge: Hash32([n; 32]) };
    let round = |round, phase, members: Vec<Member>| RoundSnapshot {
        round,
        phase,
        members: BoundedVec::new(members).unwrap(),
    };
    let snap = |closed, rounds| ServiceSnapshot {
        closed_through: closed,
        rounds: BoundedVec::new(rounds).unwrap(),
    };
    let unsorted = snap(None, vec![round(1, RoundPhase::Open, vec![member(2), member(1)])]);
    assert_eq!(
        PoetService::restore(config(), &unsorted).unwrap_err(),
        RestoreError::UnsortedMembers(1)
    );
    let open_closed = snap(Some(1), vec![round(1, RoundPhase::Open, vec![member(1)])]);
    assert_eq!(PoetService::restore(config(), &open_closed).unwrap_err(), RestoreError::RoundOrder);
    let exec_open = snap(None, vec![round(1, RoundPhase::Executing, vec![member(1)])]);
    assert_eq!(PoetService::restore(config(), &exec_open).unwrap_err(), RestoreError::RoundOrder);
    let empty = snap(Some(1), vec![round(1, RoundPhase::Ended, vec![])]);
    assert_eq!(PoetService::restore(config(), &empty).unwrap_err(), RestoreError::MemberCount(1));
    let order =
        snap(None, vec![round(2, RoundPhase::Open, vec![]), round(1, RoundPhase::Open, vec![])]);
    assert_eq!(PoetService::restore(config(), &order).unwrap_err(), RestoreError::RoundOrder);
}

/// Bad configurations are refused.
#[test]
fn config_validation() {
    assert!(PoetService::new(PoetServiceConfig { members_max: 0, ..config() }).is_err());
    assert!(PoetService::new(PoetServiceConfig { rounds_kept: 0, ..config() }).is_err());
    let mut c = config();
    c.schedule.cycle_gap = c.schedule.epoch_duration;
    assert!(PoetService::new(c).is_err());
    assert!(PoetService::new(PoetServiceConfig::default()).is_ok());
}

#[derive(Debug, Clone)]
enum Op {
    Submit { node: u8, challenge: u8, signed: bool, deadline: Option<u16> },
    Tick,
    Proof { back: u8 },
    Restart,
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..7, 0u8..3, prop::bool::weighted(0.9), prop::option::of(0u16..400))
            .prop_map(|(node, challenge, signed, deadline)| Op::Submit { node, challenge, signed, deadline }),
        2 => Just(Op::Tick),
        1 => (0u8..4).prop_map(|back| Op::Proof { back }),
        1 => Just(Op::Restart),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Arbitrary interleavings of submissions, ticks, proofs and restarts keep the invariants:
    /// one challenge per node per round (first accepted wins, resubmits are idempotent), the
    /// cap, statements equal to the membership root of the model's members, and events in
    /// order.
    #[test]
    fn arbitrary_sequences(ops in prop::collection::vec((arb_op(), 0u64..40), 1..80)) {
        let mut s = service();
        let v = &HashVerifier;
        let mut now = secs(0);
        let mut model: BTreeMap<u64, BTreeMap<NodeId, Hash32>> = BTreeMap::new();
        let mut ended: Vec<u64> = Vec::new();
        for (op, advance) in ops {
            now = now + Duration::from_secs(advance);
            match op {
                Op::Submit { node, challenge, signed, deadline } => {
                    let deadline = deadline.map(|d| now + Duration::from_secs(d.into()));
                    let mut sub = fake_submit(node, challenge, deadline);
                    if !signed {
                        sub.signature.0[0] ^= 1;
                    }
                    let result = s.submit(now, &sub, v);
                    match &result {
                        Ok(r) => {
                            let members = model.entry(r.round).or_default();
                            let prev = members.insert(sub.node_id, sub.challenge);
                            prop_assert!(prev.is_none_or(|p| p == sub.challenge));
                            prop_assert!(members.len() <= 4);
                            prop_assert!(signed);
                            prop_assert!(deadline.is_none_or(|d| r.round_end <= d));
                        }
                        Err(SubmitError::Conflicting(round)) => {
                            prop_assert!(model[round].get(&sub.node_id).is_some_and(|c| *c != sub.challenge));
                        }
                        Err(_) => {}
                    }
                }
                Op::Tick => {
                    for e in s.on_tick(now) {
                        match e {
                            ServiceEvent::RoundExecuting { round, statement, members, .. } => {
                                let challenges: Vec<Hash32> = model[&round].values().copied().collect();
                                prop_assert_eq!(statement, MembershipTree::new(&challenges).root());
                                prop_assert_eq!(members as usize, challenges.len());
                            }
                            ServiceEvent::RoundEnded { round, statement } => {
                                prop_assert_eq!(s.statement(round), Some(statement));
                                ended.push(round);
                            }
                            ServiceEvent::RoundSkipped { round } => {
                                prop_assert!(model.get(&round).is_none_or(|m| m.is_empty()));
                            }
                        }
                    }
                }
                Op::Proof { back } => {
                    if let Some(&round) = ended.iter().rev().nth(back as usize)
                        && let Some(st) = s.statement(round)
                    {
                        let p = prove(&st, 16, 4, 1).unwrap();
                        match s.proof_ready(round, p.clone()) {
                            // A proof older than the kept rounds is dropped at once.
                            Err(ProofReadyError::TooOld(r)) => {
                                prop_assert_eq!(r, round);
                                prop_assert!(s.proof(round).is_none());
                            }
                            other => {
                                prop_assert_eq!(other, Ok(()));
                                let (got, members) = s.proof(round).unwrap();
                                prop_assert_eq!(got, &p);
                                prop_assert_eq!(MembershipTree::new(&members).root(), st);
                            }
                        }
                    }
                }
                Op::Restart => {
                    let snap: ServiceSnapshot = decode_exact(&s.snapshot().encode()).unwrap();
                    s = PoetService::restore(config(), &snap).unwrap();
                    prop_assert_eq!(s.snapshot(), snap);
                }
            }
            s.check_invariants();
            if let Some(t) = s.next_timeout() {
                let sch = config().schedule;
                let due = s.rounds.keys().any(|&r| sch.round_start(r) == t || sch.round_end(r) == t);
                prop_assert!(due, "timeout {} is some round's start or end", t);
            }
        }
    }
}
