//! `gossip`: N nodes, each publishing signed heartbeats periodically, through three phases.
//!
//! Threat model: an unreliable network (loss, a partition that heals) and a few nodes that send
//! garbage. Timeline, as fractions of the run length T:
//! - `[0, 0.4T)` clean network (latency 50-300 ms per hop): every message published until
//!   `0.4T - 30s` must reach every honest node by `0.4T` (check `delivery-clean`).
//! - from `0.4T` on, 10% message loss; from `0.5T` to `0.7T` the network is split in two halves;
//!   at `0.7T` it heals. Every message published from `0.4T - 30s` until `T - 60s` must reach
//!   every honest node by `T` (check `delivery-after-heal`).
//! - throughout, `max(1, N/200)` garbage senders dial random nodes and send random frames: every
//!   honest node disconnects them after at most 4 penalties (and times out links whose garbage
//!   a partition swallows within 90 s), and no honest node is ever disconnected
//!   as misbehaving (checks `garbage-disconnected`, `no-honest-banned`).
//! - no honest identity reuses a heartbeat sequence number (`no-honest-equivocation`).

use std::time::Duration;

use spacemesh_core::NodeConfig;
use spacemesh_runtime_sim::{GarbageSender, RuntimeConfig};
use spacemesh_sim::engine::{Fault, SimConfig};
use spacemesh_sim::net::{Latency, LinkConfig};
use spacemesh_sim::{NodeIdx, SimDuration, SimTime};

use crate::checks::{
    Checks, DeliveryChecker, DeliveryWindow, HeartbeatEquivocationChecker, MisbehaviourChecker,
};
use crate::cluster::ClusterBuilder;
use crate::swarm::{FaultPlan, SwarmBounds};
use crate::{LAYER_DURATION_SECS, Run, RunParams, Scenario, ScenarioError};

/// Heartbeat period of every node in this scenario.
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(600);

/// The gossip scenario.
#[derive(Debug, Clone, Copy)]
pub struct GossipScenario;

impl GossipScenario {
    fn link() -> LinkConfig {
        LinkConfig {
            latency: Latency::Uniform {
                min: SimDuration::from_millis(50),
                max: SimDuration::from_millis(300),
            },
            ..LinkConfig::default()
        }
    }
}

impl Scenario for GossipScenario {
    fn name(&self) -> &'static str {
        "gossip"
    }

    fn description(&self) -> &'static str {
        "nodes gossip signed heartbeats through a clean phase, 10% loss and a healed partition, with garbage senders"
    }

    fn default_layers(&self) -> u32 {
        90
    }

    fn build(&self, p: &RunParams) -> Result<Run, ScenarioError> {
        let nodes = p.nodes.unwrap_or(self.default_nodes());
        let layers = p.layers.unwrap_or(self.default_layers());
        if nodes < 4 {
            return Err(ScenarioError::BadParams(format!(
                "gossip needs at least 4 nodes, got {nodes}"
            )));
        }
        if layers < 30 {
            return Err(ScenarioError::BadParams(format!(
                "gossip needs at least 30 layers ({}s) for its three phases, got {layers}",
                30 * LAYER_DURATION_SECS
            )));
        }
        let total = SimTime::from_secs(u64::from(layers) * LAYER_DURATION_SECS);
        let at = |fraction_pct: u64| SimTime(total.as_micros() * fraction_pct / 100);
        let garbage = (nodes / 200).max(1);
        let mut cfg = NodeConfig::default();
        cfg.heartbeat.interval = Some(HEARTBEAT_INTERVAL);
        let mut builder = ClusterBuilder::new(nodes, p.seed)
            .node_config(cfg)
            .spread_heartbeats(HEARTBEAT_INTERVAL);
        // Garbage senders take evenly spread slots.
        for g in 0..garbage {
            let slot = g * (nodes / garbage) + nodes / garbage / 2;
            builder = builder
                .agent(slot, |rng| Box::new(GarbageSender::new(rng, SimDuration::from_secs(1), 2)));
        }
        let cluster = builder.build();
        let clean_end = at(40);
        let windows = vec![
            DeliveryWindow {
                name: "delivery-clean",
                from: SimTime::ZERO,
                to: SimTime(clean_end.as_micros() - 30_000_000),
                deadline: clean_end,
            },
            DeliveryWindow {
                name: "delivery-after-heal",
                from: SimTime(clean_end.as_micros() - 30_000_000 + 1),
                to: SimTime(total.as_micros() - 60_000_000),
                deadline: total,
            },
        ];
        let checks = Checks::new()
            .with(DeliveryChecker::new(cluster.honest.clone(), windows))
            .with(MisbehaviourChecker::new(
                cluster.honest.clone(),
                cluster.index(),
                4,
                SimDuration::from_secs(90),
            ))
            .with(HeartbeatEquivocationChecker::new(cluster.honest_ids()))
            .with_timeline(crate::timeline(p, nodes, layers));
        let sim_cfg =
            SimConfig { link: Self::link(), record_trace: p.record_trace, ..SimConfig::default() };
        let rt = RuntimeConfig { check_invariants: p.check_invariants, ..RuntimeConfig::default() };
        let sim = cluster.into_sim(checks, p.seed, sim_cfg, rt);
        let lossy = LinkConfig { loss: 0.10, ..Self::link() };
        let half: Vec<NodeIdx> = (0..nodes / 2).map(NodeIdx).collect();
        let rest: Vec<NodeIdx> = (nodes / 2..nodes).map(NodeIdx).collect();
        let mut own = FaultPlan::default();
        own.push("10% loss", vec![(clean_end, Fault::SetLink { link: lossy, between: None })]);
        own.push(
            "split in halves",
            vec![(at(50), Fault::Partition(vec![half, rest])), (at(70), Fault::Heal)],
        );
        let plan = crate::fault_plan(self, p, (layers, nodes, nodes), own)?;
        let run = Run {
            scenario: self.name(),
            nodes,
            seed: p.seed,
            layers,
            end: total,
            settle: None,
            plan: FaultPlan::default(),
            sim,
        };
        Ok(run.with_plan(plan, p))
    }

    /// Clogs: up to 5% of the nodes have their traffic held for up to 5 s, in the lossy part of
    /// the run and at least 90 s before its end (messages still arrive by the deadline).
    fn swarm_bounds(&self, layers: u32) -> Option<SwarmBounds> {
        let total = u64::from(layers) * LAYER_DURATION_SECS;
        let start = SimTime::from_secs(total * 40 / 100);
        Some(SwarmBounds {
            clog_percent_max: 5,
            clog_max: SimDuration::from_secs(5),
            ..SwarmBounds::none(start..SimTime::from_secs(total.saturating_sub(90)))
        })
    }
}
