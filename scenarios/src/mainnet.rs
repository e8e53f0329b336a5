//! `mainnet-like`: the whole stack on a mildly imperfect network, long enough for three epochs
//! of consensus layers. The main job (`smesh sim run` on defaults) runs it.
//!
//! Setup as `epochs` (smeshing nodes with 1 to 4 space units, two PoETs of different speeds),
//! 1000 nodes by default, on the network of [`link`]: 1% of messages lost, log-normal hop
//! latencies (median 60 ms, a tail to a few hundred ms) and 1% of messages held back by up to
//! 200 ms so that later ones overtake them. Timeline (sim scale: 10 s layers, 8 per epoch):
//! PoST initialization and the first PoET round in epoch 0, ATXs from epoch 1, beacons and
//! ballots from epoch 2 (layer 16); 5 epochs by default, so epochs 2, 3 and 4 are consensus
//! epochs (3 at least: one consensus epoch, what a 10,000-node report would run). Checks:
//! everything `epochs` and `hare` check (except that a block may lack its certificate, see
//! [`hare_expect`]), and the mesh: agreement on the block and state hash of
//! every verified layer and on the opinion at the last one, no verified layer reverted, and
//! every node within [`LIVENESS_LAYERS`] layers of the current one at the end, after the
//! liveness phase (see [`crate::Settle`]).

use std::collections::BTreeSet;

use spacemesh_sim::SimDuration;
use spacemesh_sim::net::{Latency, LinkConfig};

use crate::adversary::Adversary;
use crate::checks::{Checks, EpochsChecker, HareChecker, MeshChecker};
use crate::mesh::{LIVENESS_LAYERS, hare_expect, mesh_expect};
use crate::smeshing::{
    LPE, expectations, fault_plan, into_run_checked, judge_cast, runtime, sizes, smeshers,
    swarm_bounds,
};
use crate::swarm::{FaultPlan, SwarmBounds};
use crate::{Run, RunParams, Scenario, ScenarioError};

/// The mainnet-like scenario.
#[derive(Debug, Clone, Copy)]
pub struct MainnetScenario;

/// The network of `mainnet-like`: hop latencies with a wide-area shape, mild loss and
/// reordering. Gossip sends each message over several paths, so 1% loss costs a copy, rarely a
/// message.
///
/// A hop takes 20 ms at least (propagation between peers that are rarely close) plus a
/// log-normal tail: median 60 ms, 95% of hops under about 130 ms and 99% under about 195 ms
/// (the plain log-normal of 60 ms and shape 0.5 this replaced had the same median and
/// percentiles within 10 ms, and 1% of its hops under 20 ms). The floor lets the engine run
/// windows of 20 ms (see [`crate::smeshing::window`]).
fn link() -> LinkConfig {
    LinkConfig {
        latency: Latency::LogNormal {
            min: SimDuration::from_millis(20),
            median: SimDuration::from_millis(60),
            sigma_milli: 630,
        },
        loss: 0.01,
        reorder: 0.01,
        reorder_delay_max: SimDuration::from_millis(200),
        ..LinkConfig::default()
    }
}

impl Scenario for MainnetScenario {
    fn name(&self) -> &'static str {
        "mainnet-like"
    }

    fn description(&self) -> &'static str {
        "the full stack on a lossy, jittery network for 3 consensus epochs: epochs, hare and mesh agree, layers keep being verified"
    }

    fn default_layers(&self) -> u32 {
        5 * LPE
    }

    fn build(&self, p: &RunParams) -> Result<Run, ScenarioError> {
        // Three epochs at least: one of consensus after the two that build the first ATXs.
        let (nodes, layers) = sizes(self, p, 10, 3)?;
        let plan = fault_plan(self, p, nodes, layers, FaultPlan::default())?;
        let rt = runtime(p);
        let cluster = smeshers(nodes, p.seed, &rt).cast(plan.cast.clone()).build();
        let honest: BTreeSet<_> = cluster.honest_ids().values().copied().collect();
        let mut epochs = expectations(nodes, layers, &rt);
        judge_cast(&mut epochs, &cluster);
        let mut hare = hare_expect(layers);
        cluster.cast.relax_hare(&mut hare, layers);
        let checks = Checks::new()
            .with(EpochsChecker::new(cluster.honest_ids(), epochs))
            .with(HareChecker::new(honest.clone(), hare))
            .with(MeshChecker::new(honest, mesh_expect(LIVENESS_LAYERS)));
        let mut run = into_run_checked(self.name(), p, nodes, layers, cluster, checks, rt);
        // Before the first event, so that every message of the run crosses this network.
        run.sim.network_mut().set_default(link());
        Ok(run.with_plan(plan, p))
    }

    /// The network mix, clock skews, and up to 10% of the nodes cast as adversaries from the
    /// catalogue.
    fn swarm_bounds(&self, layers: u32) -> Option<SwarmBounds> {
        Some(SwarmBounds {
            adversaries: Adversary::ALL.to_vec(),
            adversary_percent_max: 10,
            ..swarm_bounds(layers, link())
        })
    }

    fn takes_adversaries(&self) -> bool {
        true
    }
}
