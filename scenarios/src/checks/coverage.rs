//! Coverage: a scenario that exists to drive a rare path asserts that its runs went through it
//! (`spacemesh_core::coverage` marks), so that a change that quietly stops exercising the path
//! fails the scenario instead of passing it vacuously.

use spacemesh_core::NodeEvent;
use spacemesh_runtime_sim::SimNet;
use spacemesh_sim::{NodeIdx, SimTime};

use super::{CheckOutcome, Checker, Checks, Verdict, Violation};

/// The name of the check [`CoverageChecker`] reports: a run that fails this check alone is
/// *vacuous* (see [`crate::RunReport::vacuous`]), not wrong.
pub const COVERAGE_CHECK: &str = "coverage";

/// Requires each of a scenario's marks to be hit at least once.
#[derive(Debug)]
pub struct CoverageChecker {
    required: Vec<&'static str>,
}

impl CoverageChecker {
    /// Requires every mark of `required`.
    pub fn new(required: &[&'static str]) -> Self {
        CoverageChecker { required: required.to_vec() }
    }
}

impl Checker for CoverageChecker {
    fn on_event(&mut self, _time: SimTime, _node: NodeIdx, _event: &NodeEvent) {}

    fn finish(&self, end: SimTime, _world: &SimNet<Checks>) -> Verdict {
        let counts = spacemesh_core::coverage::counts();
        let hits: Vec<String> = self
            .required
            .iter()
            .map(|m| format!("{m} {}", counts.get(m).copied().unwrap_or(0)))
            .collect();
        let missed: Vec<&str> =
            self.required.iter().copied().filter(|m| !counts.contains_key(m)).collect();
        let mut verdict = Verdict::default();
        verdict.outcomes.push((
            COVERAGE_CHECK.into(),
            CheckOutcome {
                passed: missed.is_empty(),
                detail: format!("marks this scenario exists for: {}", hits.join(", ")),
            },
        ));
        verdict.violations.extend(missed.into_iter().map(|m| Violation {
            check: COVERAGE_CHECK.into(),
            time_s: end.as_secs_f64(),
            node: None,
            message: format!("the run never went through {m}, the path this scenario is for"),
        }));
        verdict
    }
}
