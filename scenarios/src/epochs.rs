//! `epochs`: identities, PoET rounds, ATXs, active sets, beacons and ballots over several epochs.
//!
//! N smeshing nodes (1-4 space units each) and two simulated PoETs of different speeds, on a
//! clean network with 20-150 ms per hop. Timeline (sim-scale: 10 s layers, 8 per epoch): epoch
//! 0 initializes PoST and registers for the first PoET round; ATXs are published in epochs 1..E
//! (each targeting the next epoch); the beacon protocol runs from epoch 2 on; ballots start after
//! the effective genesis (layer 16). Checks: every honest node publishes one valid ATX per epoch
//! and every honest node accepts every honest ATX (`atx-per-epoch`, `atx-accepted`); all honest
//! nodes compute the same active set and beacon for every epoch (`active-set-agreement`,
//! `beacon-agreement`); eligibilities per layer stay near the configured average
//! (`proposals-per-layer`); nobody is accused (`malfeasance`).

use crate::smeshing::{LPE, expectations, fault_plan, into_run, runtime, sizes, smeshers};
use crate::swarm::FaultPlan;
use crate::{Run, RunParams, Scenario, ScenarioError};

/// The epochs scenario.
#[derive(Debug, Clone, Copy)]
pub struct EpochsScenario;

impl Scenario for EpochsScenario {
    fn name(&self) -> &'static str {
        "epochs"
    }

    fn description(&self) -> &'static str {
        "smeshing nodes and PoETs: one ATX per node and epoch, agreed active sets and beacons, ballots at the configured rate"
    }

    fn default_layers(&self) -> u32 {
        5 * LPE
    }

    fn build(&self, p: &RunParams) -> Result<Run, ScenarioError> {
        let (nodes, layers) = sizes(self, p, 4, 4)?;
        let rt = runtime(p);
        let plan = fault_plan(self, p, nodes, layers, FaultPlan::default())?;
        let cluster = smeshers(nodes, p.seed, &rt).cast(plan.cast.clone()).build();
        let expect = expectations(nodes, layers, &rt);
        Ok(into_run(self.name(), p, nodes, layers, cluster, expect, rt, &[]).with_plan(plan, p))
    }

    fn takes_adversaries(&self) -> bool {
        true
    }
}
