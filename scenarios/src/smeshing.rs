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
use spacemesh_sim::net::{Latency, LinkConfig};

use crate::cluster::ClusterBuilder;

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
