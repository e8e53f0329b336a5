//! The NIPoST builder against a real PoET service, and the ATX handler on what it builds.

use std::collections::VecDeque;

use bytes::Bytes;

use super::*;
use crate::codec::Encode;
use crate::crypto::{Ed25519Verifier, Signer};
use crate::job::{Job, JobEnv, JobResult, PostData};
use crate::layers::LayerClock;
use crate::poet::{PoetService, PoetServiceConfig, RoundSchedule, ServiceEvent};
use crate::post::PostConfig;
use crate::store::Snapshot;
use crate::types::{EpochId, GenesisId, Hash32, NodeId, Time};

const GENESIS: GenesisId = GenesisId([5; 20]);

fn clock() -> LayerClock {
    LayerClock::sim(Time::from_secs(1_000))
}

fn poet_id() -> NodeId {
    Signer::from_seed([0xa0; 32], GENESIS).node_id()
}

fn service() -> PoetService {
    let c = clock();
    PoetService::new(PoetServiceConfig {
        genesis_id: GENESIS,
        schedule: RoundSchedule {
            genesis: c.genesis,
            epoch_duration: c.epoch_duration(),
            phase_shift: c.poet_phase_shift,
            cycle_gap: c.poet_cycle_gap,
        },
        ..PoetServiceConfig::default()
    })
    .unwrap()
}

/// A builder, a PoET, a store of persisted batches and a clock, stepped one second at a time.
struct Harness {
    builder: Builder,
    poet: PoetService,
    store: Snapshot,
    now: Time,
    published: Vec<Atx>,
    /// When false, the PoET drops every request (unreachable).
    poet_up: bool,
    seed: [u8; 32],
}

impl Harness {
    fn new(seed: [u8; 32]) -> Self {
        Harness {
            builder: Self::builder(seed),
            poet: service(),
            store: Snapshot::new(),
            now: clock().genesis,
            published: Vec::new(),
            poet_up: true,
            seed,
        }
    }

    fn builder(seed: [u8; 32]) -> Builder {
        let cfg = BuilderConfig { poets: vec![poet_id()], ..BuilderConfig::default() };
        let signer = Signer::from_seed(seed, GENESIS);
        Builder::new(cfg, PostConfig::sim(), clock(), signer, golden_atx(&GENESIS))
    }

    /// Simulates a crash: a new builder restored from the persisted batches.
    fn restart(&mut self) {
        self.builder = Self::builder(self.seed);
        self.builder.restore(&self.store).unwrap();
    }

    fn step(&mut self) {
        let positioning = |_e: EpochId| None;
        self.builder.on_tick(self.now, positioning);
        for ev in self.poet.on_tick(self.now) {
            if let ServiceEvent::RoundEnded { round, statement } = ev {
                let proof = crate::poet::prove(&statement, 500, 8, 2).unwrap();
                self.poet.proof_ready(round, proof).unwrap();
            }
        }
        let mut queue: VecDeque<BuilderOutput> =
            std::iter::from_fn(|| self.builder.poll_output()).collect();
        while let Some(out) = queue.pop_front() {
            let env = JobEnv::computing(&Ed25519Verifier);
            let node = Signer::from_seed(self.seed, GENESIS).node_id();
            let data = |commitment_atx| PostData {
                node_id: node,
                commitment_atx,
                num_units: 1,
                config: PostConfig::sim(),
            };
            match out {
                BuilderOutput::Initialize { commitment_atx } => {
                    let JobResult::PostInitialized(Ok((vrf_nonce, initial_post))) =
                        Job::PostInit(Box::new(data(commitment_atx))).run(&env)
                    else {
                        panic!("init failed")
                    };
                    self.builder.on_init_done(PostInitResult {
                        commitment_atx,
                        vrf_nonce,
                        initial_post,
                    });
                }
                BuilderOutput::Poet { id, request, .. } => {
                    if self.poet_up {
                        let r = self.poet.handle_request(
                            self.now,
                            &request,
                            poet_id(),
                            &Ed25519Verifier,
                        );
                        self.builder.on_poet_response(self.now, id, r, &Ed25519Verifier);
                    }
                }
                BuilderOutput::VerifyPoetProof { id, proof, statement } => {
                    let valid = crate::poet::verify(&proof, &statement.0, 8, 2).is_ok();
                    self.builder.on_proof_verified(self.now, id, valid, &Ed25519Verifier);
                }
                BuilderOutput::Prove { challenge, commitment_atx, .. } => {
                    let JobResult::PostProved(r) =
                        Job::PostProve { data: Box::new(data(commitment_atx)), challenge }
                            .run(&env)
                    else {
                        panic!("prove")
                    };
                    self.builder.on_post_proved(r);
                }
                BuilderOutput::Persist(b) => b.apply_to(&mut self.store),
                BuilderOutput::Publish(atx) => self.published.push(*atx),
                BuilderOutput::Event(_) => {}
            }
            queue.extend(std::iter::from_fn(|| self.builder.poll_output()));
            self.builder.check_invariants();
        }
        self.now = self.now + std::time::Duration::from_secs(1);
    }

    fn run_until(&mut self, secs: u64) {
        while self.now < clock().genesis + std::time::Duration::from_secs(secs) {
            self.step();
        }
    }
}

/// One ATX per epoch, chained: sequence, previous ATX and publish epochs follow each other,
/// the first is initial, and each verifies through the handler.
#[test]
fn builds_one_chained_atx_per_epoch() {
    builds_a_verified_chain([1; 32]);
}

/// An identity none of whose labels is below the VRF difficulty (about one in 3,000: a
/// 1,000-node network has one a third of the time) finds its VRF nonce past its labels, and
/// its ATXs verify. Before, its initialization failed and it never published.
#[test]
fn an_identity_without_a_qualifying_label_still_publishes() {
    let data = |seed: [u8; 32]| PostData {
        node_id: Signer::from_seed(seed, GENESIS).node_id(),
        commitment_atx: golden_atx(&GENESIS),
        num_units: 1,
        config: PostConfig::sim(),
    };
    let unlucky = (0u32..)
        .map(|i| {
            let mut seed = [9u8; 32];
            seed[..4].copy_from_slice(&i.to_le_bytes());
            seed
        })
        .find(|seed| {
            let d = data(*seed);
            let threshold = crate::post::difficulty::vrf_difficulty(64).expect("a threshold");
            let label = |i| crate::post::label::label(&d.commitment(), i, &d.config.scrypt);
            (0..64).all(|i| label(i) >= threshold)
        })
        .expect("about one seed in 3,000");
    let published = builds_a_verified_chain(unlucky);
    assert!(published[0].inner.vrf_nonce >= Some(64), "the nonce lies past the 64 labels");
}

fn builds_a_verified_chain(seed: [u8; 32]) -> Vec<Atx> {
    let mut h = Harness::new(seed);
    h.run_until(330);
    let epochs: Vec<u32> = h.published.iter().map(|a| a.publish_epoch().0).collect();
    assert_eq!(epochs, vec![1, 2, 3], "{:?}", h.published.len());
    assert!(h.published[0].is_initial());
    for w in h.published.windows(2) {
        assert_eq!(w[1].inner.challenge.prev_atx, w[0].id());
        assert_eq!(w[1].inner.challenge.sequence, w[0].inner.challenge.sequence + 1);
    }
    // Every ATX passes the handler with the PoET proof it was made on.
    let mut handler = AtxHandler::new(
        HandlerConfig::new(PostConfig::sim(), PoetParams { t: 8, nesting_depth: 2, tick_size: 50 }),
        clock(),
        &GENESIS,
        [0; 32],
        std::sync::Arc::new(crate::crypto::Ed25519Verifier),
    );
    for atx in &h.published {
        let round = atx.publish_epoch().0 as u64 - 1;
        let (proof, members) = h.poet.proof(round).unwrap();
        let statement = crate::poet::MembershipTree::new(&members).root();
        let t = clock().poet_round_end(atx.publish_epoch()) + std::time::Duration::from_secs(5);
        handler.on_poet_proof(t, proof.encode().into(), statement, true);
        handler.on_atx(t, Bytes::from(atx.encode()), None, None);
        let check = std::iter::from_fn(|| handler.poll_output())
            .find_map(|o| match o {
                HandlerOutput::Check(c) => Some(c),
                HandlerOutput::Rejected { reason, .. } => panic!("rejected: {reason}"),
                _ => None,
            })
            .expect("heavy checks requested");
        let job = Job::VerifyAtx { genesis: GENESIS, config: Box::new(PostConfig::sim()), check };
        let JobResult::AtxChecked(outcome) = job.run(&JobEnv::computing(&Ed25519Verifier)) else {
            panic!()
        };
        assert_eq!(outcome, AtxCheckOutcome::Valid);
        handler.on_checked(t, atx.id(), outcome);
        assert!(handler.store().contains(&atx.id()));
    }
    let last = handler.store().get(&h.published[2].id()).unwrap();
    assert_eq!(last.ticks, 10, "500 leaves / tick size 50");
    assert_eq!(last.weight, 10);
    h.published
}

/// A crash after registering and before the round ends resumes from the persisted challenge:
/// the ATX still comes out for that epoch and is identical in challenge to what was registered.
#[test]
fn restart_mid_nipost_resumes() {
    let mut h = Harness::new([2; 32]);
    h.run_until(60); // registered for epoch 1's round (starts at 40 s), which ends at 100 s
    assert_eq!(h.builder.phase(), Some(&builder::Phase::WaitingRound));
    h.restart();
    assert_eq!(h.builder.phase(), Some(&builder::Phase::WaitingRound));
    h.run_until(170);
    assert_eq!(h.published.len(), 1);
    assert_eq!(h.published[0].publish_epoch(), EpochId(1));
    // After the ATX is out, a restart re-publishes the same ATX, never a second one.
    h.restart();
    h.run_until(171);
    assert_eq!(h.published.len(), 2);
    assert_eq!(h.published[0], h.published[1]);
}

/// An unreachable PoET at registration time means the round is missed and the builder tries
/// the next epoch instead of publishing late.
#[test]
fn unreachable_poet_skips_the_epoch() {
    let mut h = Harness::new([3; 32]);
    h.poet_up = false;
    h.run_until(45); // epoch 1's round started at 40 s
    h.poet_up = true;
    h.run_until(260);
    let epochs: Vec<u32> = h.published.iter().map(|a| a.publish_epoch().0).collect();
    assert_eq!(epochs, vec![2], "epoch 1 missed, epoch 2 made");
}

/// Tampered ATXs are rejected with a reason, before any heavy check.
#[test]
fn handler_rejects_malformed() {
    let mut h = Harness::new([4; 32]);
    h.run_until(110);
    let atx = h.published[0].clone();
    let mut handler = AtxHandler::new(
        HandlerConfig::new(PostConfig::sim(), PoetParams { t: 8, nesting_depth: 2, tick_size: 50 }),
        clock(),
        &GENESIS,
        [0; 32],
        std::sync::Arc::new(crate::crypto::Ed25519Verifier),
    );
    let t = Time::from_secs(1_110);
    let cases: Vec<(&str, Atx)> = vec![
        ("units", {
            let mut a = atx.clone();
            a.inner.num_units = 99;
            a
        }),
        ("labels", {
            let mut a = atx.clone();
            a.inner.nipost.post_metadata.labels_per_unit = 1;
            a
        }),
        ("initial fields", {
            let mut a = atx.clone();
            a.inner.vrf_nonce = None;
            a
        }),
        ("future", {
            let mut a = atx.clone();
            a.inner.challenge.publish_epoch = EpochId(9);
            a
        }),
    ];
    for (what, bad) in cases {
        handler.on_atx(t, Bytes::from(bad.encode()), Some(Hash32([1; 32])), None);
        let outs: Vec<HandlerOutput> = std::iter::from_fn(|| handler.poll_output()).collect();
        assert!(
            outs.iter()
                .any(|o| matches!(o, HandlerOutput::Verdict(_, crate::gossip::Verdict::Reject))),
            "{what}: {outs:?}"
        );
    }
    handler.on_atx(t, Bytes::from_static(b"garbage"), Some(Hash32([2; 32])), None);
    assert!(
        std::iter::from_fn(|| handler.poll_output())
            .any(|o| matches!(o, HandlerOutput::Rejected { reason: AtxReject::Decode(_), .. }))
    );
    // A valid ATX whose PoET proof is unknown waits and asks for it.
    handler.on_atx(t, Bytes::from(atx.encode()), Some(Hash32([3; 32])), None);
    assert!(
        std::iter::from_fn(|| handler.poll_output())
            .any(|o| matches!(o, HandlerOutput::Fetch { hint: crate::fetch::Hint::PoetProof, .. }))
    );
    assert_eq!(handler.pending(), 1);
    handler.on_tick(t + std::time::Duration::from_secs(60));
    assert_eq!(handler.pending(), 0, "gave up after the dependency timeout");
}

/// A smesher that lists a label that is not good in its PoST proof is caught: the ATX check
/// names the position, the `InvalidPostIndex` proof built from it verifies, and the same proof
/// against an honest ATX does not.
#[test]
fn invalid_post_index_is_provable() {
    use crate::malfeasance::{Evidence, MalfeasanceProof};
    use crate::post::proof::{pack_indices, required_bits, unpack_indices};

    let mut h = Harness::new([6; 32]);
    h.run_until(110);
    let honest = h.published[0].clone();
    let cfg = PostConfig::sim();
    let num_labels = cfg.labels_per_unit; // one unit
    let bits = required_bits(num_labels);
    let post = &honest.inner.nipost.post;
    let mut indices = unpack_indices(&post.indices, bits, cfg.k2 as usize).unwrap();
    // Replace the index at position 1 by labels not in the proof until one is not good.
    let env = JobEnv::computing(&Ed25519Verifier);
    let signer = Signer::from_seed([6; 32], GENESIS);
    let commitment_atx = golden_atx(&GENESIS);
    let check = |atx: &Atx| {
        let job = Job::VerifyAtx {
            genesis: GENESIS,
            config: Box::new(cfg),
            check: Box::new(AtxCheck {
                id: atx.id(),
                atx: atx.clone(),
                commitment_atx,
                subset_seed: None,
            }),
        };
        match job.run(&env) {
            JobResult::AtxChecked(o) => o,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(check(&honest), AtxCheckOutcome::Valid);
    let mut cheat = None;
    for candidate in 0..num_labels {
        if indices.contains(&candidate) {
            continue;
        }
        indices[1] = candidate;
        let mut inner = honest.inner.clone();
        inner.nipost.post.indices =
            crate::codec::BoundedBytes::new(pack_indices(&indices, bits).into()).unwrap();
        let atx = Atx::sign(&signer, inner);
        if check(&atx) == AtxCheckOutcome::InvalidIndex(1) {
            cheat = Some(atx);
            break;
        }
    }
    let cheat = cheat.expect("some label is not good for the proof's nonce");
    let verify = |atx: &Atx| {
        let proof = MalfeasanceProof {
            smesher: atx.smesher,
            evidence: Evidence::InvalidPostIndex { atx: Box::new(atx.clone()), position: 1 },
        };
        let job = Job::VerifyMalfeasance {
            genesis: GENESIS,
            config: Box::new(cfg),
            commitment_atx: None,
            proof: Box::new(proof),
        };
        job.run(&env) == JobResult::MalfeasanceVerified(true)
    };
    assert!(verify(&cheat), "a proof against the cheat verifies");
    assert!(!verify(&honest), "the same claim against the honest ATX does not");
}
