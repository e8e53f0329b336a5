//! Crash and restart of real nodes on the simulated disk: persisted state survives, unsynced
//! state is lost, and a node never reuses a heartbeat sequence number.

use std::time::Duration;

use rand::Rng;
use spacemesh_core::NodeConfig;
use spacemesh_runtime_sim::RuntimeConfig;
use spacemesh_scenarios::checks::HeartbeatEquivocationChecker;
use spacemesh_scenarios::{Checks, ClusterBuilder};
use spacemesh_sim::engine::{Fault, SimConfig};
use spacemesh_sim::rng::RngTree;
use spacemesh_sim::{NodeIdx, SimDuration, SimTime};

fn cluster_sim(seed: u64) -> spacemesh_sim::engine::Sim<spacemesh_runtime_sim::SimNet<Checks>> {
    let mut cfg = NodeConfig::default();
    cfg.heartbeat.interval = Some(Duration::from_secs(2));
    let cluster = ClusterBuilder::new(8, seed).node_config(cfg).build();
    let checks = Checks::new().with(HeartbeatEquivocationChecker::new(cluster.honest_ids()));
    cluster.into_sim(checks, seed, SimConfig::default(), RuntimeConfig::default())
}

/// Nodes crashed at random moments (often mid-sync) restart from their write-ahead log, lose
/// only what was not synced, and never sign one heartbeat sequence number twice.
#[test]
fn crashes_never_cause_equivocation() {
    for seed in 1..=4 {
        let mut sim = cluster_sim(seed);
        let mut rng = RngTree::new(seed).workload();
        for _ in 0..40 {
            let node = NodeIdx(rng.random_range(0..8));
            let at = SimTime(rng.random_range(1_000_000..110_000_000));
            sim.schedule_fault(at, Fault::Crash(node));
            sim.schedule_fault(
                at + SimDuration::from_millis(rng.random_range(1..3000)),
                Fault::Restart(node),
            );
        }
        sim.run_until(SimTime::from_secs(120));
        let world = sim.world();
        let (checks, violations, _) = world.observer().finish(sim.now(), world);
        assert!(checks.values().all(|c| c.passed), "seed {seed}: {checks:?} {violations:?}");
        assert!(sim.stats().crashes >= 20, "seed {seed}: only {} crashes", sim.stats().crashes);
        assert!(world.stats().restarts >= 20);
        // Every node keeps publishing after its restarts: the sequence continued from disk.
        for i in 0..8 {
            let node = world.node(NodeIdx(i)).expect("restarted and up at the end");
            assert!(
                node.heartbeat().next_seq() > 10,
                "seed {seed} node {i}: {}",
                node.heartbeat().next_seq()
            );
        }
    }
}

/// Crashes in the middle of a log sync tear or lose the tail; the node restarts from the last
/// synced record, and since the lost record's publish never went out, reusing its sequence
/// number is safe (no equivocation).
#[test]
fn torn_tails_are_recovered() {
    let mut sim = cluster_sim(9);
    let mut rng = RngTree::new(9).workload();
    sim.schedule_fault(SimTime::from_millis(500), Fault::Crash(NodeIdx(0)));
    for k in 0..60u64 {
        // A restarted node persists its next heartbeat number at once; crash it while the sync
        // (0.2 to 5 ms) is in flight.
        let restart = SimTime::from_millis(1_000 + k * 600);
        sim.schedule_fault(restart, Fault::Restart(NodeIdx(0)));
        sim.schedule_fault(
            restart + SimDuration(rng.random_range(50..3_000)),
            Fault::Crash(NodeIdx(0)),
        );
    }
    sim.schedule_fault(SimTime::from_secs(40), Fault::Restart(NodeIdx(0)));
    sim.run_until(SimTime::from_secs(60));
    let world = sim.world();
    assert!(world.startup_failures().is_empty(), "{:?}", world.startup_failures());
    assert!(world.stats().torn_tails > 0, "no crash tore a log tail: {:?}", world.stats());
    let (checks, violations, _) = world.observer().finish(sim.now(), world);
    assert!(checks.values().all(|c| c.passed), "{checks:?} {violations:?}");
    assert!(world.node(NodeIdx(0)).is_some(), "node 0 is up at the end");
}
