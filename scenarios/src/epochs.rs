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

use std::collections::BTreeSet;

use spacemesh_runtime_sim::RuntimeConfig;
use spacemesh_sim::SimTime;
use spacemesh_sim::engine::SimConfig;

use crate::checks::{Checks, EpochsChecker, EpochsExpect};
use crate::smeshing::{consensus, link, smeshers};
use crate::{LAYER_DURATION_SECS, Run, RunParams, Scenario, ScenarioError};

/// Layers per epoch at sim scale.
pub(crate) const LPE: u32 = 8;

/// The epochs scenario.
#[derive(Debug, Clone, Copy)]
pub struct EpochsScenario;

/// Checks shared by the smeshing scenarios, for a run of `layers` layers.
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
    }
}

impl Scenario for EpochsScenario {
    fn name(&self) -> &'static str {
        "epochs"
    }

    fn description(&self) -> &'static str {
        "smeshing nodes and PoETs: one ATX per node and epoch, agreed active sets and beacons, ballots at the configured rate"
    }

    fn default_nodes(&self) -> u32 {
        1000
    }

    fn default_layers(&self) -> u32 {
        5 * LPE
    }

    fn build(&self, p: &RunParams) -> Result<Run, ScenarioError> {
        let nodes = p.nodes.unwrap_or(self.default_nodes());
        let layers = p.layers.unwrap_or(self.default_layers());
        if nodes < 4 {
            return Err(ScenarioError::BadParams(format!(
                "epochs needs at least 4 nodes, got {nodes}"
            )));
        }
        if layers < 4 * LPE || layers % LPE != 0 {
            return Err(ScenarioError::BadParams(format!(
                "epochs needs whole epochs of {LPE} layers, at least 4 (ATXs from epoch 1, ballots and beacons from epoch 2), got {layers}"
            )));
        }
        let rt = RuntimeConfig { check_invariants: p.check_invariants, ..RuntimeConfig::default() };
        let cluster = smeshers(nodes, p.seed, &rt).build();
        let checks = Checks::new()
            .with(EpochsChecker::new(cluster.honest_ids(), expectations(nodes, layers, &rt)));
        let sim_cfg =
            SimConfig { link: link(), record_trace: p.record_trace, ..SimConfig::default() };
        let sim = cluster.into_sim(checks, p.seed, sim_cfg, rt);
        let end = SimTime::from_secs(u64::from(layers) * LAYER_DURATION_SECS);
        Ok(Run { scenario: self.name(), nodes, seed: p.seed, layers, end, sim })
    }
}
