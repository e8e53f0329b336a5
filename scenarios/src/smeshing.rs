//! The common setup of scenarios that run the epoch machinery: sim-scale consensus parameters
//! (protocol.md section 16), smeshing nodes with 1 to 4 space units, and simulated PoET servers
//! of different speeds.

use rand::Rng;
use spacemesh_core::activation::PoetParams;
use spacemesh_core::crypto::Signer;
use spacemesh_core::layers::LayerClock;
use spacemesh_core::node::ConsensusConfig;
use spacemesh_core::poet::{PoetServiceConfig, RoundSchedule};
use spacemesh_core::{GenesisId, NodeConfig, NodeId, Time};
use spacemesh_runtime_sim::{PoetSpec, RuntimeConfig};
use spacemesh_sim::SimDuration;
use spacemesh_sim::engine::Fault;
use spacemesh_sim::net::{Latency, LinkConfig, Network};

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use spacemesh_sim::SimTime;
use spacemesh_sim::engine::SimConfig;

use crate::checks::{Checks, CoverageChecker, EpochsChecker, EpochsExpect};
use crate::cluster::{Cluster, ClusterBuilder};
use crate::swarm::{FaultPlan, SwarmBounds};
use crate::{LAYER_DURATION_SECS, Run, RunParams, Scenario, ScenarioError, Settle};

/// Layers per epoch at sim scale.
pub(crate) const LPE: u32 = 8;

/// Longest liveness phase, in layers: enough for the tortoise to leave a late or empty hare
/// output behind (hdist 4, then the full mode's catch-up) and a little more; a stack that has
/// not converged after it fails its liveness checks.
pub(crate) const SETTLE_LAYERS_MAX: u32 = 8;

/// The network of smeshing scenarios.
pub(crate) const GENESIS: GenesisId = GenesisId(*b"smesh-simulation-net");
/// Sequential-work speeds of the simulated PoETs (leaves per second): different speeds give
/// different tick counts, so identities differ in weight by more than their units.
pub(crate) const POET_SPEEDS: [u64; 2] = [40, 50];

/// Layer timing of every smeshing scenario, with genesis at simulated time zero.
pub(crate) fn clock(rt: &RuntimeConfig) -> LayerClock {
    LayerClock::sim(Time(rt.genesis_unix_us))
}

/// Per-hop latency of smeshing scenarios (δ ≈ 1 s across the network).
pub(crate) fn link() -> LinkConfig {
    LinkConfig {
        latency: Latency::Uniform {
            min: SimDuration::from_millis(20),
            max: SimDuration::from_millis(150),
        },
        ..LinkConfig::default()
    }
}

/// The shortest window of smeshing runs ([`SimConfig::window`]), and the window they are built
/// with until [`window`] fits it to their networks.
pub(crate) const WINDOW_MIN: SimDuration = SimDuration::from_millis(5);

/// The longest window of smeshing runs: 20 ms ran the 1,000-node `mainnet-like` 13% faster than
/// 5 ms (each node runs more of its events back to back), and it is the floor of every hop of
/// [`link`] and of `mainnet-like`'s network.
pub(crate) const WINDOW_MAX: SimDuration = SimDuration::from_millis(20);

/// The window of a smeshing run (events run node by node within it, see [`SimConfig::window`])
/// whose network is `network` before the first event and whose faults are `plan`: the shortest
/// hop any of its links can draw, so that no hop is lengthened, within [`WINDOW_MIN`] and
/// [`WINDOW_MAX`]. A run with a link of no floor (a plain log-normal, as the swarm's network
/// mixes draw) gets 5 ms windows: its draws below what is left of a window are lengthened to
/// it, a few in ten thousand at the swarm's shortest medians (30 ms, shape 0.6) and fewer in
/// its other mixes.
pub(crate) fn window(network: &Network, plan: &FaultPlan) -> SimDuration {
    let set = plan.faults().filter_map(|t| match &t.fault {
        Fault::SetLink { link, .. } => Some(link.shortest_hop()),
        _ => None,
    });
    set.fold(network.shortest_hop(), Ord::min).clamp(WINDOW_MIN, WINDOW_MAX)
}

/// The simulated PoET servers.
pub(crate) fn poets(rt: &RuntimeConfig) -> Vec<PoetSpec> {
    let clock = clock(rt);
    POET_SPEEDS
        .iter()
        .enumerate()
        .map(|(i, speed)| PoetSpec {
            id: Signer::from_seed([0xa0 + i as u8; 32], GENESIS).node_id(),
            config: PoetServiceConfig {
                genesis_id: GENESIS,
                schedule: RoundSchedule {
                    genesis: clock.genesis,
                    epoch_duration: clock.epoch_duration(),
                    phase_shift: clock.poet_phase_shift,
                    cycle_gap: clock.poet_cycle_gap,
                },
                ..PoetServiceConfig::default()
            },
            leaves_per_sec: *speed,
            t: PoetParams::sim().t,
            nesting_depth: PoetParams::sim().nesting_depth,
        })
        .collect()
}

/// The consensus configuration of a smeshing node (units are set per node by [`smeshers`]).
pub(crate) fn consensus(nodes: u32, rt: &RuntimeConfig, poet_ids: Vec<NodeId>) -> ConsensusConfig {
    ConsensusConfig::sim(clock(rt).genesis, nodes, poet_ids)
}

/// A cluster of smeshing nodes with 1 to 4 units each, and the simulated PoETs.
pub(crate) fn smeshers(nodes: u32, seed: u64, rt: &RuntimeConfig) -> ClusterBuilder {
    let poets = poets(rt);
    let consensus = consensus(nodes, rt, poets.iter().map(|p| p.id).collect());
    let mut cfg = NodeConfig { genesis: GENESIS, ..NodeConfig::default() };
    // Heartbeats are not what these scenarios are about.
    cfg.heartbeat.interval = None;
    // Gossip memory at epoch scale: an 80 s epoch carries about five messages per identity and
    // every node remembers every id and holds every payload it retains, the largest part of a
    // 1000-node run's memory. Retain payloads for IWANT and reconciliation for 30 s (three
    // layers: three anti-entropy rounds, and six times a beacon protocol) and remember ids for
    // twice that, so that nothing a peer can still offer is taken for new. At 300 nodes this
    // took peak memory from 1,075 to 917 MB against 90 s and 120 s.
    cfg.gossip.retain_duration = Duration::from_secs(30);
    cfg.gossip.seen_ttl = Duration::from_secs(60);
    cfg.consensus = Some(consensus);
    ClusterBuilder::new(nodes, seed)
        .node_config(cfg)
        .customize(|_, cfg, rng| random_units(cfg, rng))
        .poets(poets)
}

/// Gives a smeshing node 1 to 4 space units.
pub(crate) fn random_units(cfg: &mut NodeConfig, rng: &mut rand_chacha::ChaCha8Rng) {
    if let Some(b) = cfg.consensus.as_mut().and_then(|c| c.builder.as_mut()) {
        b.num_units = rng.random_range(1..=4);
    }
}

/// The node count and length of a run, checked: at least `min_nodes` nodes and `min_epochs`
/// whole epochs.
pub(crate) fn sizes(
    scenario: &dyn Scenario,
    p: &RunParams,
    min_nodes: u32,
    min_epochs: u32,
) -> Result<(u32, u32), ScenarioError> {
    let nodes = p.nodes.unwrap_or(scenario.default_nodes());
    let layers = p.layers.unwrap_or(scenario.default_layers());
    let name = scenario.name();
    if nodes < min_nodes {
        return Err(ScenarioError::BadParams(format!(
            "{name} needs at least {min_nodes} nodes, got {nodes}"
        )));
    }
    if layers < min_epochs * LPE || !layers.is_multiple_of(LPE) {
        return Err(ScenarioError::BadParams(format!(
            "{name} needs whole epochs of {LPE} layers, at least {min_epochs} (ATXs from epoch 1, ballots and beacons from epoch 2), got {layers}"
        )));
    }
    Ok((nodes, layers))
}

/// The runtime settings of a run.
pub(crate) fn runtime(p: &RunParams) -> RuntimeConfig {
    RuntimeConfig { check_invariants: p.check_invariants, ..RuntimeConfig::default() }
}

/// What every smeshing run must show, for a run of `layers` layers.
pub(crate) fn expectations(nodes: u32, layers: u32, rt: &RuntimeConfig) -> EpochsExpect {
    let epochs = layers / LPE;
    let cfg = consensus(nodes, rt, Vec::new());
    EpochsExpect {
        publish_epochs: 1..=epochs.saturating_sub(1),
        agree_epochs: 2..=epochs.saturating_sub(1),
        ballot_layers: (2 * LPE)..=(layers - 1),
        layer_avg_size: cfg.ballot.layer_avg_size,
        layers_per_epoch: LPE,
        equivocators: BTreeSet::new(),
        equivocation_epoch: u32::MAX,
        equivocation_deadline: SimTime::from_secs(u64::from(layers) * LAYER_DURATION_SECS),
        acting_only: false,
        byzantine: BTreeMap::new(),
    }
}

/// The run of a smeshing cluster judged by `expect` (faults are scheduled on `run.sim` after).
#[allow(clippy::too_many_arguments)]
pub(crate) fn into_run(
    scenario: &'static str,
    p: &RunParams,
    nodes: u32,
    layers: u32,
    cluster: Cluster,
    expect: EpochsExpect,
    rt: RuntimeConfig,
    marks: &[&'static str],
) -> Run {
    let mut expect = expect;
    judge_cast(&mut expect, &cluster);
    let checks = Checks::new()
        .with(EpochsChecker::new(cluster.honest_ids(), expect))
        .with(CoverageChecker::new(marks));
    into_run_checked(scenario, p, nodes, layers, cluster, checks, rt)
}

/// Judges the adversaries cast on `cluster` by their roles in the epoch checks.
pub(crate) fn judge_cast(expect: &mut EpochsExpect, cluster: &Cluster) {
    expect.byzantine = cluster.cast.roles(&cluster.node_ids);
}

/// The faults of a smeshing run (nodes, then the PoETs' slots): see [`crate::fault_plan`].
pub(crate) fn fault_plan(
    scenario: &dyn Scenario,
    p: &RunParams,
    nodes: u32,
    layers: u32,
    own: FaultPlan,
) -> Result<FaultPlan, ScenarioError> {
    let slots = nodes + POET_SPEEDS.len() as u32;
    crate::fault_plan(scenario, p, (layers, nodes, slots), own)
}

/// What a swarm may draw in a consensus scenario of `layers` layers with the network `base`:
/// from epoch 1 until an epoch before the end, another latency shape with up to 1% more loss
/// and some reordering, and constant clock skews of up to 50 ms.
pub(crate) fn swarm_bounds(layers: u32, base: LinkConfig) -> SwarmBounds {
    let at = |l: u32| SimTime::from_secs(u64::from(l) * LAYER_DURATION_SECS);
    SwarmBounds {
        network: Some(base),
        loss_max: 0.01,
        skew_max_ms: 50,
        ..SwarmBounds::none(at(LPE)..at(layers.saturating_sub(LPE).max(LPE + 1)))
    }
}

/// Like [`into_run`], with the checkers given.
pub(crate) fn into_run_checked(
    scenario: &'static str,
    p: &RunParams,
    nodes: u32,
    layers: u32,
    cluster: Cluster,
    checks: Checks,
    rt: RuntimeConfig,
) -> Run {
    let sim_cfg = SimConfig {
        link: link(),
        record_trace: p.record_trace,
        // Fitted to the run's networks once its fault plan is known (`Run::with_plan`).
        window: WINDOW_MIN,
        ..SimConfig::default()
    };
    let checks = checks.with_timeline(crate::timeline(p, nodes, layers));
    let sim = cluster.into_sim(checks, p.seed, sim_cfg, rt);
    let end = SimTime::from_secs(u64::from(layers) * LAYER_DURATION_SECS);
    let settle = Settle {
        step: SimDuration::from_secs(LAYER_DURATION_SECS),
        steps_max: SETTLE_LAYERS_MAX,
        steps: 0,
    };
    Run {
        scenario,
        nodes,
        seed: p.seed,
        layers,
        end,
        settle: Some(settle),
        plan: FaultPlan::default(),
        sim,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The window is the shortest hop of the run's links, within 5 and 20 ms: 20 ms on the
    /// smeshing link, 5 ms once a fault sets a link with no floor, and the other faults do not
    /// count.
    #[test]
    fn the_window_fits_the_shortest_hop() {
        let network = Network::new(4, link());
        let mut plan = FaultPlan::default();
        plan.push("crash", vec![(SimTime::from_secs(1), Fault::Crash(spacemesh_sim::NodeIdx(1)))]);
        assert_eq!(window(&network, &plan), WINDOW_MAX);
        let slow = LinkConfig {
            latency: Latency::Fixed(SimDuration::from_secs(2)),
            ..LinkConfig::default()
        };
        let set = |link| Fault::SetLink { link, between: None };
        plan.push("slow", vec![(SimTime::from_secs(2), set(slow))]);
        assert_eq!(window(&network, &plan), WINDOW_MAX);
        let fast = LinkConfig {
            latency: Latency::Uniform {
                min: SimDuration::from_millis(8),
                max: SimDuration::from_millis(40),
            },
            ..LinkConfig::default()
        };
        let mut with_fast = plan.clone();
        with_fast.push("fast", vec![(SimTime::from_secs(3), set(fast))]);
        assert_eq!(window(&network, &with_fast), SimDuration::from_millis(8));
        let unfloored = LinkConfig {
            latency: Latency::LogNormal {
                min: SimDuration::ZERO,
                median: SimDuration::from_millis(60),
                sigma_milli: 500,
            },
            ..LinkConfig::default()
        };
        plan.push("wide", vec![(SimTime::from_secs(3), set(unfloored))]);
        assert_eq!(window(&network, &plan), WINDOW_MIN);
        assert_eq!(window(&Network::new(4, unfloored), &FaultPlan::default()), WINDOW_MIN);
    }
}
