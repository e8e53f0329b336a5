//! `beacon-partition`: the network splits in two while the beacon protocol runs, and heals
//! before the next epoch.
//!
//! Setup as `epochs` (each half keeps one PoET). The split starts at the beginning of epoch 3,
//! when the protocol that decides epoch 4's beacon starts, and lasts 30 s (the protocol takes
//! 9 s at sim scale, the PoET round of epoch 3 ends inside the split too). Each half may decide
//! its own beacon; after the heal, every node that sees a strict majority of epoch 4's ballot
//! weight declare another beacon adopts it (the ballot fallback). Checks: honest nodes agree
//! on every epoch's beacon by the end of the run (`beacon-agreement`), and everything else
//! `epochs` checks.

use spacemesh_core::coverage;
use spacemesh_sim::engine::Fault;
use spacemesh_sim::{NodeIdx, SimTime};

use crate::smeshing::{LPE, expectations, fault_plan, into_run, runtime, sizes, smeshers};
use crate::swarm::FaultPlan;
use crate::{LAYER_DURATION_SECS, Run, RunParams, Scenario, ScenarioError};

/// The epoch during whose beacon protocol the network is split.
const SPLIT_EPOCH: u32 = 3;
/// How long the split lasts.
const SPLIT_SECS: u64 = 30;

/// The beacon-partition scenario.
#[derive(Debug, Clone, Copy)]
pub struct BeaconPartitionScenario;

impl Scenario for BeaconPartitionScenario {
    fn name(&self) -> &'static str {
        "beacon-partition"
    }

    fn description(&self) -> &'static str {
        "a partition during the beacon protocol, healed before the next epoch: nodes agree on the beacon"
    }

    fn default_layers(&self) -> u32 {
        5 * LPE
    }

    fn build(&self, p: &RunParams) -> Result<Run, ScenarioError> {
        let (nodes, layers) = sizes(self, p, 10, SPLIT_EPOCH + 2)?;
        let rt = runtime(p);
        let expect = expectations(nodes, layers, &rt);
        // PoETs take the slots after the nodes: one per half.
        let mut a: Vec<NodeIdx> = (0..nodes / 2).map(NodeIdx).collect();
        let mut b: Vec<NodeIdx> = (nodes / 2..nodes).map(NodeIdx).collect();
        a.push(NodeIdx(nodes));
        b.push(NodeIdx(nodes + 1));
        let split = u64::from(SPLIT_EPOCH * LPE) * LAYER_DURATION_SECS;
        let mut own = FaultPlan::default();
        own.push(
            "beacon split",
            vec![
                (SimTime::from_secs(split), Fault::Partition(vec![a, b])),
                (SimTime::from_secs(split + SPLIT_SECS), Fault::Heal),
            ],
        );
        let plan = fault_plan(self, p, nodes, layers, own)?;
        let cluster = smeshers(nodes, p.seed, &rt).cast(plan.cast.clone()).build();
        Ok(into_run(
            self.name(),
            p,
            nodes,
            layers,
            cluster,
            expect,
            rt,
            &[coverage::BEACON_FALLBACK],
        )
        .with_plan(plan, p))
    }

    fn takes_adversaries(&self) -> bool {
        true
    }
}
