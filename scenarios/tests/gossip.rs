//! Scenario tests: the gossip scenario run by seed at small sizes.

use spacemesh_runtime_sim::{Agent, AgentIo, Wire};
use spacemesh_scenarios::{RunParams, Scenario, find};
use spacemesh_sim::determinism::check_lockstep;
use spacemesh_sim::engine::Fault;
use spacemesh_sim::{NodeIdx, SimDuration, SimTime};

fn params(nodes: u32, seed: u64) -> RunParams {
    RunParams {
        nodes: Some(nodes),
        seed,
        layers: Some(30),
        record_trace: false,
        record_timeline: false,
        check_invariants: true,
        ..RunParams::default()
    }
}

fn gossip() -> &'static dyn Scenario {
    find("gossip").expect("gossip is registered")
}

/// Every check of the gossip scenario passes for several seeds at 60 nodes.
#[test]
fn gossip_passes_for_several_seeds() {
    for seed in [1, 2, 3] {
        let mut run = gossip().build(&params(60, seed)).unwrap();
        run.run_to_end();
        let report = run.finish();
        assert!(report.passed(), "seed {seed}: {:#?}\n{:#?}", report.checks, report.violations);
        assert!(report.checks.len() >= 5, "{:?}", report.checks.keys());
        assert!(report.stats["dropped_loss"] > 0.0, "the loss phase dropped nothing");
        assert!(report.stats["dropped_partition"] > 0.0, "the partition dropped nothing");
        assert!(report.stats["misbehaviour_disconnects"] > 0.0);
    }
}

/// The same seed gives the same digest; another seed a different one.
#[test]
fn digest_depends_on_seed_only() {
    let digest = |seed| {
        let mut run = gossip().build(&params(30, seed)).unwrap();
        run.run_to_end();
        run.finish().digest
    };
    assert_eq!(digest(5), digest(5));
    assert_ne!(digest(5), digest(6));
}

/// The summary of a small run is stable (golden): checks, event count and digest.
#[test]
fn summary_snapshot() {
    let mut run = gossip().build(&params(20, 11)).unwrap();
    run.run_to_end();
    let r = run.finish();
    let checks: Vec<String> = r.checks.iter().map(|(k, c)| format!("{k}: {}", c.passed)).collect();
    insta::assert_snapshot!(format!(
        "events {}\ndigest {}\nmessages {}\n{}",
        r.events,
        r.digest,
        r.stats["messages_published"],
        checks.join("\n")
    ));
}

/// The delivery check can fail: a partition that never heals leaves messages undelivered.
#[test]
fn unhealed_partition_fails_delivery() {
    let mut run = gossip().build(&params(40, 1)).unwrap();
    let end = run.end;
    let half: Vec<NodeIdx> = (0..20).map(NodeIdx).collect();
    let rest: Vec<NodeIdx> = (20..40).map(NodeIdx).collect();
    run.sim.schedule_fault(SimTime(end.as_micros() * 71 / 100), Fault::Partition(vec![half, rest]));
    run.run_to_end();
    let r = run.finish();
    assert!(!r.checks["delivery-after-heal"].passed, "{:?}", r.checks["delivery-after-heal"]);
    assert!(r.checks["delivery-clean"].passed);
    assert!(!r.passed());
}

static ROUNDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// An agent whose behaviour depends on a process-global counter: two runs in one process see
/// different values, like a node reading a clock or a hash map's random order.
#[derive(Debug)]
struct Nondeterministic;

impl Agent for Nondeterministic {
    fn on_start(&mut self, io: &mut AgentIo<'_, '_>) {
        io.schedule(SimDuration::from_secs(1), 0);
    }
    fn on_wire(&mut self, io: &mut AgentIo<'_, '_>, from: NodeIdx, msg: Wire) {
        io.handle_wire(from, msg);
    }
    fn on_tick(&mut self, io: &mut AgentIo<'_, '_>, n: u64) {
        let k = ROUNDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        io.dial(NodeIdx((k % u64::from(io.nodes())) as u32));
        io.schedule(SimDuration::from_secs(1), n + 1);
    }
}

/// The lockstep check catches a nondeterministic node and names the first differing event.
#[test]
fn nondeterministic_node_is_caught() {
    use spacemesh_scenarios::{Checks, ClusterBuilder};
    let build = || {
        ClusterBuilder::new(10, 9).agent(3, |_| Box::new(Nondeterministic)).build().into_sim(
            Checks::new(),
            9,
            Default::default(),
            Default::default(),
        )
    };
    let divergence =
        check_lockstep(&mut build(), &mut build(), SimTime::from_secs(30)).unwrap_err();
    let text = divergence.to_string();
    assert!(divergence.index > 0, "{text}");
    let a = divergence.a.expect("first run has the event");
    assert!(a.time >= SimTime::from_secs(1), "diverges once the agent acts: {text}");
    assert!(text.contains(a.kind), "names the event kind: {text}");
    // Without the agent the same cluster is deterministic.
    let honest = || {
        ClusterBuilder::new(10, 9).build().into_sim(
            Checks::new(),
            9,
            Default::default(),
            Default::default(),
        )
    };
    assert!(check_lockstep(&mut honest(), &mut honest(), SimTime::from_secs(30)).is_ok());
}
