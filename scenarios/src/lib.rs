//! Named simulation scenarios, adversaries and checkers (oracles) over spacemesh-core nodes.
//!
//! A scenario reads like a test plan: the threat, the honest nodes, the adversaries, a timeline
//! of faults, and the checks that judge the run. Checkers see only the `NodeEvent`s nodes emit,
//! never a node's internals. Every scenario runs from the CLI (`smesh sim run --scenario NAME`)
//! and from tests, and every failure carries its repro line.

#![forbid(unsafe_code)]

pub mod adversary;
mod beacon_partition;
pub mod checks;
mod cluster;
mod double_atx;
mod epochs;
mod gossip;
mod hare;
mod mainnet;
mod mesh;
mod report;
mod smeshing;
pub mod swarm;
pub mod timeline;
mod transfers;

pub use adversary::{Adversary, Cast};
pub use beacon_partition::BeaconPartitionScenario;
pub use checks::{CheckOutcome, Checker, Checks, Violation};
pub use cluster::{Cluster, ClusterBuilder};
pub use double_atx::DoubleAtxScenario;
pub use epochs::EpochsScenario;
pub use gossip::GossipScenario;
pub use hare::HareScenario;
pub use mainnet::MainnetScenario;
pub use mesh::MeshScenario;
pub use report::{RunReport, repro_line};
pub use swarm::{FaultPlan, SwarmBounds};
pub use transfers::TransfersScenario;

use spacemesh_runtime_sim::SimNet;
use spacemesh_sim::engine::{Fault, Sim};
use spacemesh_sim::{SimDuration, SimTime};
use thiserror::Error;

/// Sim-scale layer duration (protocol.md section 16): the unit of `--layers`.
pub const LAYER_DURATION_SECS: u64 = 10;

/// Layers a timeline keeps beyond a run's scheduled length: the liveness phase (at most 8
/// layers) and a spare one.
const TIMELINE_SPARE_LAYERS: u32 = 9;

/// The timeline recorder a run of `nodes` nodes and `layers` layers gets, if `p` asks for one.
pub(crate) fn timeline(p: &RunParams, nodes: u32, layers: u32) -> Option<timeline::Timeline> {
    p.record_timeline.then(|| {
        let duration = SimDuration::from_secs(LAYER_DURATION_SECS);
        timeline::Timeline::new(nodes, layers + TIMELINE_SPARE_LAYERS, duration)
    })
}

/// What a run of a scenario is asked for.
#[derive(Debug, Clone)]
pub struct RunParams {
    /// Number of nodes (the scenario's default when `None`).
    pub nodes: Option<u32>,
    /// Master seed.
    pub seed: u64,
    /// Length in layers (the scenario's default when `None`).
    pub layers: Option<u32>,
    /// Keep trace records (for `--trace`).
    pub record_trace: bool,
    /// Record the timeline of every node and layer (for `--report`).
    pub record_timeline: bool,
    /// Call `check_invariants` after every step.
    pub check_invariants: bool,
    /// Also draw a fault mix from the seed within the scenario's [`SwarmBounds`].
    pub swarm: bool,
    /// Run exactly this fault plan instead of the scenario's own (and any swarm draw): replay
    /// files and the shrinker set it.
    pub plan: Option<FaultPlan>,
    /// Stop the run at the start of this layer, without a liveness phase (the shrinker cuts
    /// runs short this way: the run is a prefix of the full one).
    pub stop_at_layer: Option<u32>,
    /// Adversaries from the catalogue to cast, with their counts (`--adversary NAME[:N]`).
    pub adversaries: Vec<(Adversary, u32)>,
}

impl Default for RunParams {
    fn default() -> Self {
        RunParams {
            nodes: None,
            seed: 1,
            layers: None,
            record_trace: false,
            record_timeline: false,
            check_invariants: true,
            swarm: false,
            plan: None,
            stop_at_layer: None,
            adversaries: Vec::new(),
        }
    }
}

/// Why a scenario cannot run with the given parameters.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScenarioError {
    /// No scenario has this name.
    #[error("unknown scenario {0:?} (see `smesh sim list`)")]
    Unknown(String),
    /// A parameter is out of the scenario's range.
    #[error("{0}")]
    BadParams(String),
}

/// A built run, ready to be stepped.
#[derive(Debug)]
pub struct Run {
    /// The scenario's name.
    pub scenario: &'static str,
    /// The parameters, with defaults filled in.
    pub nodes: u32,
    /// Seed.
    pub seed: u64,
    /// Layers simulated.
    pub layers: u32,
    /// When the run ends: the scheduled end, then later if the liveness phase went on.
    pub end: SimTime,
    /// The liveness phase after the scheduled end (`None`: the run ends on schedule).
    pub settle: Option<Settle>,
    /// The faults scheduled (the scenario's own, then the swarm's).
    pub plan: FaultPlan,
    /// The simulation.
    pub sim: Sim<SimNet<Checks>>,
}

/// The liveness phase of a run: after its scheduled end the run goes on, one `step` at a time
/// and at most `steps_max` steps, until every checker's eventual properties hold (a hare
/// session that needed a second iteration or drew too few seats late in the run leaves the
/// tortoise a few layers to recover, as it would on a real network). Checkers judge at the
/// actual end; a run that never settles fails its liveness checks there ("no convergence").
#[derive(Debug, Clone, Copy)]
pub struct Settle {
    /// One step (a layer).
    pub step: SimDuration,
    /// Most steps.
    pub steps_max: u32,
    /// Steps taken (set by [`Run::settle`]).
    pub steps: u32,
}

impl Run {
    /// Schedules a fault at `at` and notes it for the timeline (scenarios schedule every fault
    /// through here, so that the report can show crash and partition windows).
    pub fn schedule_fault(&mut self, at: SimTime, fault: Fault) {
        let at_or_now = at.max(self.sim.now());
        self.sim.world_mut().observer_mut().note_fault(at_or_now, &fault);
        self.sim.schedule_fault(at, fault);
    }

    /// Runs to the scheduled end, then through the liveness phase.
    pub fn run_to_end(&mut self) {
        self.sim.run_until(self.end);
        self.settle();
    }

    /// The liveness phase (call once the scheduled end is reached; see [`Settle`]).
    pub fn settle(&mut self) {
        while self.extend() {
            self.sim.run_until(self.end);
        }
    }

    /// One step of the liveness phase: when a checker is not settled at `end` and steps are
    /// left, moves `end` one step later and returns true (run the simulation to the new end,
    /// then ask again).
    pub fn extend(&mut self) -> bool {
        let Some(settle) = self.settle.as_mut() else { return false };
        if settle.steps >= settle.steps_max {
            return false;
        }
        let world = self.sim.world();
        if world.observer().settled(self.end, world) {
            return false;
        }
        self.end += settle.step;
        settle.steps += 1;
        true
    }

    /// Judges the run (call after `run_to_end`).
    pub fn finish(self) -> RunReport {
        report::build(&self)
    }

    /// Judges the run and keeps it, so that its nodes' final state can still be read (call
    /// after `run_to_end`, once).
    pub fn judge(&self) -> RunReport {
        report::build(self)
    }
}

/// A named scenario.
pub trait Scenario: Sync {
    /// Name used on the command line.
    fn name(&self) -> &'static str;
    /// One line on what it tests.
    fn description(&self) -> &'static str;
    /// Default node count: a thousand, the size every scenario is built to pass at.
    fn default_nodes(&self) -> u32 {
        1000
    }
    /// Default length in layers.
    fn default_layers(&self) -> u32;
    /// Builds a run.
    fn build(&self, params: &RunParams) -> Result<Run, ScenarioError>;
    /// What `--swarm` may draw for a run of `layers` layers (`None`: this scenario's checks
    /// assume exactly its own faults, and it refuses a swarm).
    fn swarm_bounds(&self, _layers: u32) -> Option<SwarmBounds> {
        None
    }
    /// Whether adversaries from the catalogue can be cast on its nodes (`--adversary`).
    fn takes_adversaries(&self) -> bool {
        false
    }
}

impl Run {
    /// Schedules the run's fault plan (from [`fault_plan`]), records it and applies
    /// `p.stop_at_layer`; the last step of every scenario's build, so it also starts the run's
    /// own coverage counts.
    pub(crate) fn with_plan(mut self, plan: FaultPlan, p: &RunParams) -> Run {
        spacemesh_core::coverage::take();
        if self.sim.window() > SimDuration::ZERO {
            let window = smeshing::window(self.sim.network(), &plan);
            self.sim.set_window(window);
        }
        for t in plan.faults() {
            self.schedule_fault(SimTime(t.at_us), t.fault.clone());
        }
        self.plan = plan;
        if let Some(stop) = p.stop_at_layer {
            self.end = self.end.min(SimTime::from_secs(u64::from(stop) * LAYER_DURATION_SECS));
            self.settle = None;
        }
        self
    }
}

/// The faults of a run of `scenario` with `nodes` nodes in its first slots (PoETs and others
/// after them, `slots` in all): `p.plan` when given (checked against the slots), else the
/// scenario's `own` plan followed by the swarm's draw over the nodes when `p.swarm`.
pub(crate) fn fault_plan(
    scenario: &dyn Scenario,
    p: &RunParams,
    (layers, nodes, slots): (u32, u32, u32),
    own: FaultPlan,
) -> Result<FaultPlan, ScenarioError> {
    if let Some(plan) = &p.plan {
        plan.validate(slots).map_err(ScenarioError::BadParams)?;
        plan.cast.validate(nodes).map_err(ScenarioError::BadParams)?;
        if !plan.cast.is_empty() && !scenario.takes_adversaries() {
            return Err(no_adversaries(scenario));
        }
        return Ok(plan.clone());
    }
    let mut plan = own;
    if !p.adversaries.is_empty() {
        if !scenario.takes_adversaries() {
            return Err(no_adversaries(scenario));
        }
        plan.cast =
            Cast::assign(&p.adversaries, nodes, p.seed).map_err(ScenarioError::BadParams)?;
    }
    if p.swarm {
        let Some(bounds) = scenario.swarm_bounds(layers) else {
            return Err(ScenarioError::BadParams(format!(
                "{} takes no swarm: its checks assume exactly its own faults (swarm scenarios: {})",
                scenario.name(),
                all()
                    .iter()
                    .filter(|s| s.swarm_bounds(s.default_layers()).is_some())
                    .map(|s| s.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        plan.episodes.extend(swarm::draw(&bounds, nodes, p.seed));
        if p.adversaries.is_empty() {
            plan.cast =
                Cast::draw(&bounds.adversaries, bounds.adversary_percent_max, nodes, p.seed);
        }
    }
    Ok(plan)
}

/// The error for adversaries asked of a scenario that cannot cast them.
fn no_adversaries(scenario: &dyn Scenario) -> ScenarioError {
    ScenarioError::BadParams(format!(
        "{} takes no adversaries from the catalogue (scenarios that do: {})",
        scenario.name(),
        all()
            .iter()
            .filter(|s| s.takes_adversaries())
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

static GOSSIP: GossipScenario = GossipScenario;
static EPOCHS: EpochsScenario = EpochsScenario;
static DOUBLE_ATX: DoubleAtxScenario = DoubleAtxScenario;
static BEACON_PARTITION: BeaconPartitionScenario = BeaconPartitionScenario;
static HARE: HareScenario = HareScenario::SYNC;
static HARE_EQUIVOCATION: HareScenario = HareScenario::EQUIVOCATION;
static HARE_OFFLINE: HareScenario = HareScenario::OFFLINE;
static HARE_DELAYS: HareScenario = HareScenario::DELAYS;
static MAINNET_LIKE: MainnetScenario = MainnetScenario;
static PARTITION_HEAL: MeshScenario = MeshScenario::PARTITION_HEAL;
static ATX_PARTITION: MeshScenario = MeshScenario::ATX_PARTITION;
static LONG_PARTITION: MeshScenario = MeshScenario::LONG_PARTITION;
static BALANCING_ATTACK: MeshScenario = MeshScenario::BALANCING;
static LATE_JOINER: MeshScenario = MeshScenario::LATE_JOINER;
static CRASH_RESTART: MeshScenario = MeshScenario::CRASH_RESTART;
static TRANSFERS: TransfersScenario = TransfersScenario::PLAIN;
static TRANSFERS_REVERT: TransfersScenario = TransfersScenario::REVERT;

/// Every scenario, in listing order.
pub fn all() -> Vec<&'static dyn Scenario> {
    vec![
        &MAINNET_LIKE,
        &GOSSIP,
        &EPOCHS,
        &DOUBLE_ATX,
        &BEACON_PARTITION,
        &HARE,
        &HARE_EQUIVOCATION,
        &HARE_OFFLINE,
        &HARE_DELAYS,
        &PARTITION_HEAL,
        &ATX_PARTITION,
        &LONG_PARTITION,
        &BALANCING_ATTACK,
        &LATE_JOINER,
        &CRASH_RESTART,
        &TRANSFERS,
        &TRANSFERS_REVERT,
    ]
}

/// The scenario named `name`.
pub fn find(name: &str) -> Result<&'static dyn Scenario, ScenarioError> {
    all()
        .into_iter()
        .find(|s| s.name() == name)
        .ok_or_else(|| ScenarioError::Unknown(name.to_string()))
}

/// The default scenario of `smesh sim run`.
pub const DEFAULT_SCENARIO: &str = "mainnet-like";
