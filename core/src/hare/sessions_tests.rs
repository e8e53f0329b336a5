//! A committee of [`Hare`] instances with real keys, messages delivered by a tiny loop.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::*;
use crate::codec::decode_exact;
use crate::crypto::Ed25519Verifier;
use crate::types::{EpochId, GenesisId};

const GENESIS: GenesisId = GenesisId([4; 20]);
const LAYER: LayerId = LayerId(20);

fn seed(i: usize) -> [u8; 32] {
    [i as u8 + 1; 32]
}

fn committee(n: usize) -> Arc<Committee> {
    let weights: BTreeMap<NodeId, u64> =
        (0..n).map(|i| (Signer::from_seed(seed(i), GENESIS).node_id(), 10)).collect();
    Arc::new(Committee {
        epoch: EpochId(2),
        beacon: Beacon([1, 2, 3, 4]),
        total_weight: 10 * n as u64,
        weights,
    })
}

fn cfg() -> HareConfig {
    // Every member holds several seats of a committee of 20 (threshold 11).
    HareConfig { committee_size: 20, leaders: 3, ..HareConfig::sim() }
}

struct Net {
    nodes: Vec<Hare>,
    outputs: Vec<Vec<HareOutput>>,
}

impl Net {
    fn new(behaviors: &[HareBehavior]) -> Net {
        let clock = LayerClock::sim(Time(0));
        let c = committee(behaviors.len());
        let nodes: Vec<Hare> = behaviors
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let mut h =
                    Hare::new(HareConfig { behavior: *b, ..cfg() }, clock, GENESIS, seed(i));
                assert!(h.start(clock.layer_start(LAYER), LAYER, c.clone()));
                h
            })
            .collect();
        let outputs = vec![Vec::new(); nodes.len()];
        Net { nodes, outputs }
    }

    /// Runs until every session ended; `initial(i)` is node i's candidate set. Messages are
    /// delivered to everyone in the round they are sent.
    fn run(&mut self, initial: impl Fn(usize) -> Vec<ProposalId>) {
        for _ in 0..100 {
            let Some(now) = self.nodes.iter().filter_map(Hare::poll_timeout).min() else { return };
            let mut sent = Vec::new();
            for (i, h) in self.nodes.iter_mut().enumerate() {
                h.on_tick(now, |_| initial(i));
                while let Some(out) = h.poll_output() {
                    if let HareOutput::Publish(bytes) = &out {
                        sent.push((i, decode_exact::<HareMessage>(bytes).unwrap()));
                    }
                    self.outputs[i].push(out);
                }
            }
            for (from, msg) in sent {
                for (i, h) in self.nodes.iter_mut().enumerate() {
                    if i != from {
                        let _ = h.on_message(&msg, false, &Ed25519Verifier);
                        while let Some(out) = h.poll_output() {
                            self.outputs[i].push(out);
                        }
                    }
                }
            }
        }
        panic!("sessions did not end");
    }

    fn results(&self) -> Vec<Option<Vec<ProposalId>>> {
        self.outputs
            .iter()
            .map(|outs| {
                outs.iter().find_map(|o| match o {
                    HareOutput::Output { proposals, .. } => Some(proposals.clone()),
                    _ => None,
                })
            })
            .collect()
    }
}

fn ids(n: u8) -> Vec<ProposalId> {
    (1..=n).map(|i| ProposalId([i; 20])).collect()
}

/// Honest members with the same candidates output them in iteration 1 and terminate.
#[test]
fn honest_committee_agrees_on_the_candidates() {
    let mut net = Net::new(&[HareBehavior::Honest; 5]);
    net.run(|_| ids(4));
    for r in net.results() {
        assert_eq!(r, Some(ids(4)));
    }
    for outs in &net.outputs {
        assert!(
            outs.iter().any(|o| matches!(o, HareOutput::Ended { end: SessionEnd::Terminated, .. }))
        );
        assert!(outs.iter().any(|o| matches!(o, HareOutput::Coin { .. })));
    }
    // Everyone saw the same coin.
    let coins: Vec<bool> = net
        .outputs
        .iter()
        .filter_map(|outs| {
            outs.iter().find_map(|o| match o {
                HareOutput::Coin { coin, .. } => Some(*coin),
                _ => None,
            })
        })
        .collect();
    assert!(coins.windows(2).all(|w| w[0] == w[1]));
}

/// A proposal only one member knows does not cross the preround threshold.
#[test]
fn a_proposal_few_know_is_left_out() {
    let mut net = Net::new(&[HareBehavior::Honest; 5]);
    net.run(|i| if i == 0 { ids(3) } else { ids(2) });
    for r in net.results() {
        assert_eq!(r, Some(ids(2)));
    }
}

/// An equivocator is caught by every honest member with a proof that checks; the honest ones
/// still agree.
#[test]
fn equivocation_is_proven_and_agreement_holds() {
    let eq = HareBehavior::Equivocate { first: LAYER, last: LAYER };
    let mut net = Net::new(&[eq, HareBehavior::Honest, HareBehavior::Honest, HareBehavior::Honest]);
    net.run(|_| ids(3));
    let cheater = Signer::from_seed(seed(0), GENESIS).node_id();
    let results = net.results();
    for i in 1..4 {
        assert_eq!(results[i], results[1]);
        let proofs: Vec<&MalfeasanceProof> = net.outputs[i]
            .iter()
            .filter_map(|o| match o {
                HareOutput::Malfeasance(p) => Some(p),
                _ => None,
            })
            .collect();
        assert!(!proofs.is_empty(), "node {i} proved nothing");
        for p in proofs {
            assert_eq!(p.smesher, cheater);
            assert_eq!(p.verify_signatures(&GENESIS, &Ed25519Verifier), Ok(()));
        }
    }
    assert!(net.outputs[0].iter().any(|o| matches!(o, HareOutput::Equivocated { .. })));
}

/// With too few members speaking, no value crosses the threshold: sessions end at the limit.
#[test]
fn silent_majority_ends_at_the_iteration_limit() {
    let s = HareBehavior::Silent;
    let mut net = Net::new(&[s, s, s, HareBehavior::Honest, HareBehavior::Honest]);
    net.run(|_| ids(2));
    for outs in &net.outputs {
        let ended = outs.iter().find_map(|o| match o {
            HareOutput::Ended { end, iteration, .. } => Some((*end, *iteration)),
            _ => None,
        });
        assert_eq!(ended, Some((SessionEnd::IterationLimit, cfg().iterations_limit)));
    }
    assert!(net.results().iter().all(Option::is_none));
}

/// Malformed, forged and ineligible messages get typed rejects; a late start is refused.
#[test]
fn bad_messages_are_rejected_and_late_starts_refused() {
    let clock = LayerClock::sim(Time(0));
    let c = committee(3);
    let mut h = Hare::new(cfg(), clock, GENESIS, seed(0));
    let late =
        clock.layer_start(LAYER) + cfg().preround_delay + std::time::Duration::from_millis(1);
    assert!(!h.start(late, LAYER, c.clone()));
    assert!(h.start(clock.layer_start(LAYER), LAYER, c.clone()));
    let signer = Signer::from_seed(seed(1), GENESIS);
    let sortition = c.sortition(LAYER, 0, cfg().committee_size);
    let (proof, count) = sortition.draw(&seed(1), 10).unwrap();
    let body = |value: Value, round: IterRound, count: u16| HareBody {
        layer: LAYER,
        iter_round: round,
        value,
        eligibility: HareEligibility { proof, count },
    };
    let v = &Ed25519Verifier;
    let good = HareMessage::sign(&signer, body(Value::proposals(ids(1)), IterRound::START, count));
    let wrong_shape = HareMessage::sign(
        &signer,
        body(Value::Reference(Hash32([1; 32])), IterRound::START, count),
    );
    assert!(matches!(h.on_message(&wrong_shape, false, v), Err(HareReject::Malformed(_))));
    let mut forged = good.clone();
    forged.signature = crate::crypto::Signature([7; 64]);
    assert_eq!(h.on_message(&forged, false, v), Err(HareReject::BadSignature));
    let greedy =
        HareMessage::sign(&signer, body(Value::proposals(ids(1)), IterRound::START, count + 1));
    assert_eq!(h.on_message(&greedy, false, v), Err(HareReject::NotEligible));
    let stranger = Signer::from_seed([99; 32], GENESIS);
    let unknown =
        HareMessage::sign(&stranger, body(Value::proposals(ids(1)), IterRound::START, count));
    assert_eq!(h.on_message(&unknown, false, v), Err(HareReject::UnknownIdentity));
    assert_eq!(h.on_message(&good, false, v), Ok(()));
    assert_eq!(h.on_message(&good, false, v), Err(HareReject::Duplicate));
    let mut other_layer = good.clone();
    other_layer.body.layer = LayerId(21);
    assert_eq!(h.on_message(&other_layer, false, v), Err(HareReject::NoSession(LayerId(21))));
    assert_eq!(HareReject::NotEligible.verdict(), Verdict::Ignore);
    assert_eq!(HareReject::BadSignature.verdict(), Verdict::Reject);
    assert_eq!(HareReject::Duplicate.verdict(), Verdict::Ignore);
}
