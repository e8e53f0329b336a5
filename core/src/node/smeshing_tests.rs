//! The smeshing switch ([`Command::SetSmeshing`]) on one smeshing node with its own PoET:
//! stopped, the identity publishes no ATX and no proposal; started again, it publishes both.

use std::time::Duration;

use super::*;
use crate::crypto::Ed25519Verifier;
use crate::job::JobEnv;
use crate::node::consensus::{ConsensusConfig, ConsensusEvent};
use crate::poet::{PoetService, PoetServiceConfig, RoundSchedule, ServiceEvent};
use crate::types::GenesisId;

const GENESIS: GenesisId = GenesisId([5; 20]);

fn genesis_time() -> Time {
    Time::from_secs(1_000)
}

fn poet_id() -> NodeId {
    Signer::from_seed([0xa0; 32], GENESIS).node_id()
}

/// What the node published, by the second it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Published {
    Atx(u32),
    Proposal(u32),
}

/// One node and one PoET, stepped a second at a time; jobs run inline, PoET requests are
/// answered at once, persists are dropped (no restart here).
struct Solo {
    node: Node,
    poet: PoetService,
    now: Time,
    published: Vec<(u64, Published)>,
}

impl Solo {
    fn new() -> Solo {
        let consensus = ConsensusConfig::sim(genesis_time(), 1, vec![poet_id()]);
        let clock = consensus.clock;
        let cfg =
            NodeConfig { genesis: GENESIS, consensus: Some(consensus), ..NodeConfig::default() };
        let keys = NodeKeys { identity_seed: [1; 32], p2p_seed: [2; 32] };
        let node = Node::new(cfg, &keys, [3; 32], Arc::new(Ed25519Verifier));
        let poet = PoetService::new(PoetServiceConfig {
            genesis_id: GENESIS,
            schedule: RoundSchedule {
                genesis: clock.genesis,
                epoch_duration: clock.epoch_duration(),
                phase_shift: clock.poet_phase_shift,
                cycle_gap: clock.poet_cycle_gap,
            },
            ..PoetServiceConfig::default()
        })
        .unwrap();
        let mut solo = Solo { node, poet, now: genesis_time(), published: Vec::new() };
        solo.feed(Input::Restore(Snapshot::new()));
        solo
    }

    fn feed(&mut self, input: Input) {
        let mut queue = vec![input];
        while let Some(input) = queue.pop() {
            self.node.handle(self.now, input);
            while let Some(out) = self.node.poll_output() {
                match out {
                    Output::StartJob { id, job } => {
                        let result = job.run(&JobEnv::computing(&Ed25519Verifier));
                        queue.insert(0, Input::JobDone { id, result });
                    }
                    Output::Poet { id, request, .. } => {
                        let response = self.poet.handle_request(
                            self.now,
                            &request,
                            poet_id(),
                            &Ed25519Verifier,
                        );
                        queue.insert(0, Input::PoetResponse { id, response });
                    }
                    Output::Event(NodeEvent::Consensus(e)) => self.record(&e),
                    _ => {}
                }
            }
        }
    }

    fn record(&mut self, e: &ConsensusEvent) {
        let at = (self.now.0 - genesis_time().0) / 1_000_000;
        match e {
            ConsensusEvent::AtxPublished { epoch, .. } => {
                self.published.push((at, Published::Atx(epoch.0)))
            }
            ConsensusEvent::ProposalPublished { layer, .. } => {
                self.published.push((at, Published::Proposal(layer.0)))
            }
            _ => {}
        }
    }

    /// Runs until `secs` after genesis.
    fn run_until(&mut self, secs: u64) {
        while self.now < genesis_time() + Duration::from_secs(secs) {
            for ev in self.poet.on_tick(self.now) {
                if let ServiceEvent::RoundEnded { round, statement } = ev {
                    let proof = crate::poet::prove(&statement, 500, 8, 2).unwrap();
                    self.poet.proof_ready(round, proof).unwrap();
                }
            }
            self.feed(Input::Tick);
            self.node.check_invariants();
            self.now = self.now + Duration::from_secs(1);
        }
    }

    fn published_between(&self, from: u64, to: u64) -> Vec<Published> {
        self.published.iter().filter(|(t, _)| (from..to).contains(t)).map(|(_, p)| *p).collect()
    }
}

/// A node smeshing from genesis publishes ATXs and proposals; stopped at 200 s it publishes
/// nothing for 100 s (a proposal a layer and an ATX at 260 s were due); started again at 300 s it
/// publishes proposals at once (its epoch-2 ATX still counts) and ATXs again.
#[test]
fn stopped_node_publishes_nothing_until_started() {
    let mut s = Solo::new();
    assert!(s.node.smeshing());
    s.run_until(200);
    let before = s.published_between(0, 200);
    assert!(before.contains(&Published::Atx(2)), "{before:?}");
    assert!(before.contains(&Published::Proposal(19)), "{before:?}");

    s.feed(Input::Command(Command::SetSmeshing(false)));
    assert!(!s.node.smeshing());
    s.run_until(300);
    assert_eq!(s.published_between(200, 300), [], "published while stopped");

    s.feed(Input::Command(Command::SetSmeshing(true)));
    assert!(s.node.smeshing());
    s.run_until(600);
    let after = s.published_between(300, 600);
    // In the same epoch: the ATX of epoch 2 still makes it eligible (layer 30 itself may go
    // without a ballot, as the lone node's tortoise saw none for ten layers).
    let resumed = after.iter().any(|p| matches!(p, Published::Proposal(l) if *l < 32));
    assert!(resumed, "ballots resume at once: {after:?}");
    assert!(after.iter().any(|p| matches!(p, Published::Atx(_))), "ATXs resume: {after:?}");
}

/// A coinbase set by command goes into the ATXs published after it, not into the ones before.
#[test]
fn set_coinbase_reaches_the_next_atx() {
    let mut s = Solo::new();
    let own = crate::account::Address::of_node(&s.node.node_id());
    assert_eq!(s.node.coinbase(), Some(own), "the identity's own address by default");
    s.run_until(200);
    let last = |s: &Solo| s.node.consensus().and_then(|c| c.builder()?.last_atx().cloned());
    let before = last(&s).expect("an ATX by 200 s");
    assert_eq!(before.inner.coinbase, own);

    let other = crate::account::Address([7; 24]);
    s.feed(Input::Command(Command::SetCoinbase(other)));
    assert_eq!(s.node.coinbase(), Some(other));
    s.run_until(600);
    let after = last(&s).expect("ATXs go on");
    assert!(
        after.inner.challenge.publish_epoch > before.inner.challenge.publish_epoch,
        "a later ATX"
    );
    assert_eq!(after.inner.coinbase, other);
}
