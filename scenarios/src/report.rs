//! The result of a run: what the CLI prints (human summary or JSON).

use std::collections::BTreeMap;

use serde::Serialize;
use spacemesh_sim::NodeIdx;

use crate::Run;
use crate::checks::{CheckOutcome, Violation};
use crate::swarm::FaultPlan;
use crate::timeline::TimelineReport;

/// Everything known about a finished run. The CLI adds wall-clock figures.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// Scenario name.
    pub scenario: String,
    /// Master seed.
    pub seed: u64,
    /// Nodes simulated.
    pub nodes: u32,
    /// Layers simulated.
    pub layers: u32,
    /// Simulated seconds.
    pub sim_seconds: f64,
    /// Events processed.
    pub events: u64,
    /// BLAKE3 trace digest (hex).
    pub digest: String,
    /// Check name to outcome.
    pub checks: BTreeMap<String, CheckOutcome>,
    /// Every violation found (the first few per check).
    pub violations: Vec<Violation>,
    /// Scenario-specific figures (deliveries, latencies, drops...).
    pub stats: BTreeMap<String, f64>,
    /// The faults the run had (the scenario's own and the swarm's).
    pub plan: FaultPlan,
    /// How often the run passed each rare path (`spacemesh_core::coverage`).
    pub coverage: BTreeMap<String, u64>,
    /// What every node did in every layer (only when [`crate::RunParams::record_timeline`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<TimelineReport>,
}

impl RunReport {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.values().all(|c| c.passed)
    }

    /// Whether the run failed its `coverage` check alone: every check of what the nodes did
    /// passed, but the run never went through the rare path its scenario exists for (its
    /// draws did not force it; another seed will). Such a run is not a pass, since a change
    /// that stops a scenario from reaching its path must not go unnoticed, but neither is it
    /// a sign of a bug: `sim explore` counts it apart from the failures.
    pub fn vacuous(&self) -> bool {
        let mut failed = self.checks.iter().filter(|(_, c)| !c.passed).map(|(n, _)| n.as_str());
        failed.next() == Some(crate::checks::COVERAGE_CHECK) && failed.next().is_none()
    }
}

/// The command line that reproduces a run.
pub fn repro_line(scenario: &str, nodes: u32, seed: u64, layers: u32) -> String {
    format!("smesh sim run --scenario {scenario} --nodes {nodes} --seed {seed} --layers {layers}")
}

pub(crate) fn build(run: &Run) -> RunReport {
    let Run { scenario, nodes, seed, layers, end, settle, plan, sim } = run;
    let (nodes, seed, layers, end, settle) = (*nodes, *seed, *layers, *end, *settle);
    let stats = *sim.stats();
    let world = sim.world();
    let (mut checks, mut violations, mut figures) = world.observer().finish(end, world);
    figures.insert("delivered".into(), stats.delivered as f64);
    figures.insert("absorbed".into(), stats.absorbed as f64);
    figures.insert("dropped_loss".into(), stats.dropped_loss as f64);
    figures.insert("dropped_partition".into(), stats.dropped_partition as f64);
    figures.insert("duplicated".into(), stats.duplicated as f64);
    let rt = world.stats();
    figures.insert("frames_sent".into(), rt.frames_sent as f64);
    figures.insert("absorbed_on_arrival".into(), rt.absorbed_on_arrival as f64);
    figures.insert("persists".into(), rt.persists as f64);
    figures.insert("jobs".into(), rt.jobs as f64);
    figures.insert("restarts".into(), rt.restarts as f64);
    figures.insert("signature_cache_hits".into(), world.verifier().hits() as f64);
    figures.insert("signature_cache_misses".into(), world.verifier().misses() as f64);
    // Gossip counters of the nodes up at the end (a restarted node counts from its restart):
    // messages dropped for a full validation backlog, and missed ones obtained again.
    let (overloaded, recovered) = (0..nodes)
        .filter_map(|i| world.node(NodeIdx(i)))
        .map(|n| n.gossip().stats())
        .fold((0, 0), |(o, r), s| (o + s.overloaded, r + s.recovered));
    figures.insert("gossip_overloaded".into(), overloaded as f64);
    figures.insert("gossip_recovered".into(), recovered as f64);
    if let Some(s) = settle {
        figures.insert("liveness_phase_layers".into(), f64::from(s.steps));
        let converged = world.observer().settled(end, world);
        checks.insert(
            "convergence".into(),
            CheckOutcome {
                passed: converged,
                detail: if converged {
                    format!("eventual properties held after {} layers of liveness phase", s.steps)
                } else {
                    format!("no convergence within {} layers of liveness phase", s.steps)
                },
            },
        );
        if !converged {
            violations.push(Violation {
                check: "convergence".into(),
                time_s: end.as_secs_f64(),
                node: None,
                message: format!(
                    "no convergence: liveness checks still fail {} layers after the scheduled \
                     end with every fault over (seed {seed})",
                    s.steps
                ),
            });
        }
    }
    RunReport {
        scenario: scenario.to_string(),
        seed,
        nodes,
        layers,
        sim_seconds: sim.now().as_secs_f64(),
        events: stats.events,
        digest: hex(&sim.digest()),
        checks,
        violations,
        stats: figures,
        plan: plan.clone(),
        coverage: spacemesh_core::coverage::take()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        timeline: world.observer().timeline().map(|t| t.finish(end)),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(outcomes: &[(&str, bool)]) -> RunReport {
        RunReport {
            scenario: "balancing-attack".into(),
            seed: 1,
            nodes: 30,
            layers: 40,
            sim_seconds: 400.0,
            events: 1,
            digest: String::new(),
            checks: outcomes
                .iter()
                .map(|(n, p)| (n.to_string(), CheckOutcome { passed: *p, detail: String::new() }))
                .collect(),
            violations: Vec::new(),
            stats: BTreeMap::new(),
            plan: FaultPlan::default(),
            coverage: BTreeMap::new(),
            timeline: None,
        }
    }

    /// Only a run whose one failed check is `coverage` is vacuous: a pass is not, and neither
    /// is a run that failed anything else, with or without `coverage`.
    #[test]
    fn vacuous_means_coverage_failed_alone() {
        let cov = crate::checks::COVERAGE_CHECK;
        // (check outcomes, passed, vacuous)
        type Case<'a> = (&'a [(&'a str, bool)], bool, bool);
        let cases: [Case<'_>; 5] = [
            (&[("mesh-agreement", true), (cov, true)], true, false),
            (&[("mesh-agreement", true), (cov, false)], false, true),
            (&[("hare-agreement", false), (cov, false)], false, false),
            (&[("hare-agreement", false), (cov, true)], false, false),
            (&[("a-check", true), ("z-check", false), (cov, false)], false, false),
        ];
        for (outcomes, passed, vacuous) in cases {
            let r = report(outcomes);
            assert_eq!((r.passed(), r.vacuous()), (passed, vacuous), "{outcomes:?}");
        }
    }
}
