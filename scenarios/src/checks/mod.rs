//! Checkers: oracles that judge a run from the `NodeEvent`s nodes emit.
//!
//! Each checker watches events as they happen and renders its verdict at the end. [`Checks`]
//! bundles a scenario's checkers and is the observer the simulated world reports to.

mod coverage;
mod delivery;
mod epochs;
mod equivocation;
mod hare;
mod mesh;
mod misbehaviour;
mod transfers;

pub use coverage::{COVERAGE_CHECK, CoverageChecker};
pub use delivery::{DeliveryChecker, DeliveryWindow};
pub use epochs::{Accused, EpochsChecker, EpochsExpect, Role};
pub use equivocation::HeartbeatEquivocationChecker;
pub use hare::{HareChecker, HareExpect};
pub use mesh::{MeshChecker, MeshExpect, RevertWindow};
pub use misbehaviour::MisbehaviourChecker;
pub use transfers::TransfersChecker;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use spacemesh_core::NodeEvent;
use spacemesh_runtime_sim::{Observer, SimNet};
use spacemesh_sim::engine::Fault;
use spacemesh_sim::{NodeIdx, SimTime};

use crate::timeline::Timeline;

/// The verdict of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckOutcome {
    /// Whether it passed.
    pub passed: bool,
    /// What was checked and found, in a sentence.
    pub detail: String,
}

/// One thing that went wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    /// The check that found it.
    pub check: String,
    /// Simulated time in seconds.
    pub time_s: f64,
    /// The node concerned, if one.
    pub node: Option<u32>,
    /// What happened.
    pub message: String,
}

/// What a checker reports at the end of a run.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Outcome per check name (a checker may judge several properties).
    pub outcomes: Vec<(String, CheckOutcome)>,
    /// Violations found.
    pub violations: Vec<Violation>,
    /// Figures worth reporting.
    pub stats: Vec<(String, f64)>,
}

/// An oracle over node events.
pub trait Checker: fmt::Debug {
    /// One event from `node` at `time`.
    fn on_event(&mut self, time: SimTime, node: NodeIdx, event: &NodeEvent);
    /// The verdict at the end of the run.
    fn finish(&self, end: SimTime, world: &SimNet<Checks>) -> Verdict;
    /// Whether the checker's eventual properties (liveness) hold at `now`, so that the run may
    /// end there; the run's liveness phase goes on while one does not (see
    /// [`crate::Run::settle`]). Safety properties are not asked: they hold at every moment or the
    /// run fails anyway.
    fn settled(&self, _now: SimTime, _world: &SimNet<Checks>) -> bool {
        true
    }
}

/// Most violations kept per check (the first ones are the interesting ones).
pub const VIOLATIONS_PER_CHECK_MAX: usize = 20;

/// A scenario's checkers, and the timeline recorder when a report is asked for.
#[derive(Debug, Default)]
pub struct Checks {
    checkers: Vec<Box<dyn Checker>>,
    timeline: Option<Timeline>,
}

impl Checks {
    /// An empty set.
    pub fn new() -> Self {
        Checks::default()
    }

    /// Adds a checker.
    pub fn with(mut self, checker: impl Checker + 'static) -> Self {
        self.checkers.push(Box::new(checker));
        self
    }

    /// Records the run's timeline too (it sees every event after the checkers and judges
    /// nothing, so verdicts are the same with and without it).
    pub fn with_timeline(mut self, timeline: Option<Timeline>) -> Self {
        self.timeline = timeline;
        self
    }

    /// The timeline recorder, if one was asked for.
    pub fn timeline(&self) -> Option<&Timeline> {
        self.timeline.as_ref()
    }

    /// Notes a fault the scenario scheduled at `at` (for the timeline).
    pub fn note_fault(&mut self, at: SimTime, fault: &Fault) {
        if let Some(t) = &mut self.timeline {
            t.note_fault(at, fault);
        }
    }

    /// Whether every checker's eventual properties hold at `now`.
    pub fn settled(&self, now: SimTime, world: &SimNet<Checks>) -> bool {
        self.checkers.iter().all(|c| c.settled(now, world))
    }

    /// Every verdict, plus the storage check every scenario has: no node failed to start from
    /// its disk.
    pub fn finish(
        &self,
        end: SimTime,
        world: &SimNet<Checks>,
    ) -> (BTreeMap<String, CheckOutcome>, Vec<Violation>, BTreeMap<String, f64>) {
        let mut outcomes = BTreeMap::new();
        let mut violations = Vec::new();
        let mut stats = BTreeMap::new();
        for c in &self.checkers {
            let v = c.finish(end, world);
            outcomes.extend(v.outcomes);
            violations.extend(v.violations);
            stats.extend(v.stats);
        }
        let failures = world.startup_failures();
        outcomes.insert(
            "storage".to_string(),
            CheckOutcome {
                passed: failures.is_empty(),
                detail: format!("{} nodes failed to recover their disk", failures.len()),
            },
        );
        violations.extend(failures.iter().take(VIOLATIONS_PER_CHECK_MAX).map(|f| Violation {
            check: "storage".into(),
            time_s: f.time.as_secs_f64(),
            node: Some(f.node.0),
            message: f.error.to_string(),
        }));
        (outcomes, violations, stats)
    }
}

impl Observer for Checks {
    fn on_event(&mut self, time: SimTime, node: NodeIdx, event: &NodeEvent) {
        for c in &mut self.checkers {
            c.on_event(time, node, event);
        }
        if let Some(t) = &mut self.timeline {
            t.on_event(time, node, event);
        }
    }
}

/// Builds an outcome and keeps the first violations.
pub(crate) fn outcome(
    failures: Vec<Violation>,
    ok_detail: String,
) -> (CheckOutcome, Vec<Violation>) {
    let passed = failures.is_empty();
    let detail = if passed {
        ok_detail
    } else {
        format!("{} violations; first: {}", failures.len(), failures[0].message)
    };
    (CheckOutcome { passed, detail }, failures.into_iter().take(VIOLATIONS_PER_CHECK_MAX).collect())
}
