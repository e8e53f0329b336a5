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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::smeshing::random_units;

    /// `epochs` with every node's validation backlog bounded at one message, `deferred_max`
    /// ids kept to ask for again, and neither IHAVE nor reconciliation to bring a dropped
    /// message back otherwise.
    fn backlogged(nodes: u32, deferred_max: usize) -> crate::RunReport {
        let p = RunParams { nodes: Some(nodes), check_invariants: true, ..RunParams::default() };
        let scenario = EpochsScenario;
        let (nodes, layers) = sizes(&scenario, &p, 4, 4).unwrap();
        let rt = runtime(&p);
        let cluster = smeshers(nodes, p.seed, &rt)
            .customize(move |_, cfg, rng| {
                random_units(cfg, rng);
                cfg.gossip.validating_max = 1;
                cfg.gossip.deferred_max = deferred_max;
                cfg.gossip.lazy_d = 0;
                cfg.gossip.reconcile_interval = Duration::from_secs(3600);
            })
            .build();
        let expect = expectations(nodes, layers, &rt);
        let mut run = into_run(scenario.name(), &p, nodes, layers, cluster, expect, rt, &[]);
        run.run_to_end();
        run.finish()
    }

    /// An epoch's ATXs come as one burst (every node publishes as the PoET round ends) and
    /// wait for the PoET proof at a node that does not hold it yet, so a validation backlog
    /// below the burst drops copies unseen (at the default bound of 1,024, a 1,500-node
    /// `mainnet-like` run did, and nodes froze different active sets). The ids a node keeps
    /// are asked for again as the backlog drains: every check passes and the dropped messages
    /// come back, which without the kept ids (and with IHAVE and reconciliation off) none do.
    #[test]
    fn atx_bursts_over_the_validation_backlog_lose_nothing() {
        let report = backlogged(30, 8192);
        assert!(report.passed(), "{:#?}\n{:#?}", report.checks, report.violations);
        assert!(report.stats["gossip_overloaded"] > 0.0, "the backlog overflowed");
        assert!(report.stats["gossip_recovered"] > 0.0, "dropped messages were obtained again");
        let without = backlogged(30, 0);
        assert!(without.stats["gossip_overloaded"] > 0.0);
        assert_eq!(without.stats["gossip_recovered"], 0.0, "nothing else asks for them");
    }
}
