//! `double-atx`: some identities publish two different ATXs in one epoch.
//!
//! Setup as `epochs`; `max(1, N/50)` identities (evenly spread slots) sign and publish a second
//! ATX in epoch 2. Checks: by the end of epoch 2 every honest node holds a valid malfeasance
//! proof against each of them (`malfeasance`), and the active sets of later epochs exclude them
//! (`active-set-agreement`); no honest identity is ever accused; everything `epochs` checks
//! holds for the honest nodes.

use std::collections::BTreeSet;

use spacemesh_core::{EpochId, coverage};
use spacemesh_sim::SimTime;

use crate::smeshing::{
    LPE, expectations, fault_plan, into_run, random_units, runtime, sizes, smeshers,
};
use crate::swarm::FaultPlan;
use crate::{LAYER_DURATION_SECS, Run, RunParams, Scenario, ScenarioError};

/// The epoch the equivocators double-publish in.
const EQUIVOCATION_EPOCH: u32 = 2;

/// The double-ATX scenario.
#[derive(Debug, Clone, Copy)]
pub struct DoubleAtxScenario;

impl Scenario for DoubleAtxScenario {
    fn name(&self) -> &'static str {
        "double-atx"
    }

    fn description(&self) -> &'static str {
        "identities publish two ATXs in one epoch: every honest node proves and excludes them"
    }

    fn default_layers(&self) -> u32 {
        5 * LPE
    }

    fn build(&self, p: &RunParams) -> Result<Run, ScenarioError> {
        let (nodes, layers) = sizes(self, p, 10, 5)?;
        let rt = runtime(p);
        let count = (nodes / 50).max(1);
        let stride = nodes / count;
        let slots: BTreeSet<u32> = (0..count).map(|i| i * stride + stride / 2).collect();
        let cheaters = slots.clone();
        let plan = fault_plan(self, p, nodes, layers, FaultPlan::default())?;
        let cluster = smeshers(nodes, p.seed, &rt)
            .customize(move |slot, cfg, rng| {
                random_units(cfg, rng);
                if cheaters.contains(&slot)
                    && let Some(b) = cfg.consensus.as_mut().and_then(|c| c.builder.as_mut())
                {
                    b.double_publish = Some(EpochId(EQUIVOCATION_EPOCH));
                }
            })
            .cast(plan.cast.clone())
            .build();
        let mut expect = expectations(nodes, layers, &rt);
        expect.equivocators = slots.iter().filter_map(|s| cluster.node_ids[*s as usize]).collect();
        expect.equivocation_epoch = EQUIVOCATION_EPOCH;
        expect.equivocation_deadline =
            SimTime::from_secs(u64::from((EQUIVOCATION_EPOCH + 1) * LPE) * LAYER_DURATION_SECS);
        Ok(into_run(
            self.name(),
            p,
            nodes,
            layers,
            cluster,
            expect,
            rt,
            &[coverage::MALFEASANCE_PROOF],
        )
        .with_plan(plan, p))
    }

    fn takes_adversaries(&self) -> bool {
        true
    }
}
