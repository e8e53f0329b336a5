//! Fault plans, and the swarm: a fault mix drawn per seed within a scenario's bounds.
//!
//! Every scenario's faults are a [`FaultPlan`]: episodes of scheduled [`Fault`]s that belong
//! together (a crash and its restart, a partition and its heal, a network change and its
//! undoing). A scenario builds its own plan from its threat model; with `--swarm` it also asks
//! [`draw`] for more episodes, drawn from the run's seed within the scenario's [`SwarmBounds`]
//! (the mix of latency, loss and reordering, clock skews, clogged nodes, crashes and disk
//! faults that its checks are built to tolerate). Every drawn episode ends inside the bounds'
//! window, before the scheduled end, so the liveness phase after it runs with the faults off.
//!
//! A plan is plain data (serde): it is written into run reports and replay files, and
//! `smesh sim shrink` removes episodes from it (delta debugging) while the failure persists.

use std::collections::BTreeSet;
use std::ops::Range;

use rand::Rng;
use rand::seq::IndexedRandom;
use serde::{Deserialize, Serialize};
use spacemesh_sim::clock::NodeClock;
use spacemesh_sim::disk::DiskFaults;
use spacemesh_sim::engine::Fault;
use spacemesh_sim::net::{Latency, LinkConfig};
use spacemesh_sim::rng::RngTree;
use spacemesh_sim::{NodeIdx, SimDuration, SimTime};

use crate::adversary::{Adversary, Cast};

/// The path of the swarm's stream in a seed's RNG tree ("SWARM" in ASCII).
const SWARM_STREAM: u64 = 0x0053_5741_524d;

/// One fault at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timed {
    /// When, in simulated microseconds.
    pub at_us: u64,
    /// What.
    pub fault: Fault,
}

/// Faults that belong together: removing one without the others (a crash without its restart)
/// would be a different fault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// What it is, for people ("crash n12", "swarm network").
    pub what: String,
    /// Whether the swarm drew it (otherwise it is the scenario's own).
    pub drawn: bool,
    /// The faults, in the order they are scheduled.
    pub faults: Vec<Timed>,
}

/// A run's faults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultPlan {
    /// Episodes, scheduled in this order.
    pub episodes: Vec<Episode>,
    /// Adversaries from the catalogue, cast before the run starts.
    #[serde(default, skip_serializing_if = "Cast::is_empty")]
    pub cast: Cast,
}

impl FaultPlan {
    /// Adds a scenario episode.
    pub fn push(&mut self, what: impl Into<String>, faults: Vec<(SimTime, Fault)>) {
        self.episodes.push(episode(what, false, faults));
    }

    /// Nodes that crash at some point (checks judge them as part-time nodes).
    pub fn crashed(&self) -> BTreeSet<NodeIdx> {
        self.faults()
            .filter_map(|t| match t.fault {
                Fault::Crash(n) => Some(n),
                _ => None,
            })
            .collect()
    }

    /// When the last crashed node comes back.
    pub fn last_restart(&self) -> Option<SimTime> {
        self.faults()
            .filter(|t| matches!(t.fault, Fault::Restart(_)))
            .map(|t| SimTime(t.at_us))
            .max()
    }

    /// Every fault.
    pub fn faults(&self) -> impl Iterator<Item = &Timed> {
        self.episodes.iter().flat_map(|e| e.faults.iter())
    }

    /// The plan with only the episodes whose index `keep` accepts.
    pub fn only(&self, keep: impl Fn(usize) -> bool) -> FaultPlan {
        FaultPlan {
            episodes: self
                .episodes
                .iter()
                .enumerate()
                .filter(|(i, _)| keep(*i))
                .map(|(_, e)| e.clone())
                .collect(),
            cast: self.cast.clone(),
        }
    }

    /// Checks a plan read from a file against a simulation of `nodes` slots.
    pub fn validate(&self, nodes: u32) -> Result<(), String> {
        for e in &self.episodes {
            for t in &e.faults {
                t.fault.validate(nodes).map_err(|err| format!("episode {:?}: {err}", e.what))?;
            }
        }
        Ok(())
    }
}

fn episode(what: impl Into<String>, drawn: bool, faults: Vec<(SimTime, Fault)>) -> Episode {
    Episode {
        what: what.into(),
        drawn,
        faults: faults
            .into_iter()
            .map(|(at, fault)| Timed { at_us: at.as_micros(), fault })
            .collect(),
    }
}

/// What a swarm may draw for a scenario. Zero shares and `None`s switch a kind of fault off.
#[derive(Debug, Clone)]
pub struct SwarmBounds {
    /// Drawn faults start and end inside this window.
    pub window: Range<SimTime>,
    /// The scenario's own network, restored at the end of the window; `None`: the swarm leaves
    /// the network alone.
    pub network: Option<LinkConfig>,
    /// Most message loss the network mix may add.
    pub loss_max: f64,
    /// Most constant clock skew, in milliseconds, of up to a fifth of the nodes.
    pub skew_max_ms: u64,
    /// Most nodes, in percent, whose traffic is held (clogged) for a while.
    pub clog_percent_max: u32,
    /// Longest clog.
    pub clog_max: SimDuration,
    /// Most nodes, in percent, that crash once and restart from their disk.
    pub crash_percent_max: u32,
    /// How long a crashed node stays down.
    pub down: Range<SimDuration>,
    /// Whether the disk fault mix (torn and corrupted unsynced tails) is drawn.
    pub disk: bool,
    /// Adversaries from the catalogue the swarm may cast (see [`Cast::draw`]).
    pub adversaries: Vec<Adversary>,
    /// Most node slots, in percent, the drawn adversaries run on.
    pub adversary_percent_max: u32,
}

impl SwarmBounds {
    /// Bounds that draw nothing, inside `window`.
    pub fn none(window: Range<SimTime>) -> Self {
        SwarmBounds {
            window,
            network: None,
            loss_max: 0.0,
            skew_max_ms: 0,
            clog_percent_max: 0,
            clog_max: SimDuration::ZERO,
            crash_percent_max: 0,
            down: SimDuration::ZERO..SimDuration::ZERO,
            disk: false,
            adversaries: Vec::new(),
            adversary_percent_max: 0,
        }
    }
}

/// Draws the swarm episodes of a run of `nodes` honest-or-not slots from `seed` (its own
/// stream of the seed's tree, so that the rest of the run draws what it would without them).
pub fn draw(bounds: &SwarmBounds, nodes: u32, seed: u64) -> Vec<Episode> {
    let mut rng = RngTree::new(seed).stream(&[SWARM_STREAM]);
    let mut out = Vec::new();
    let (start, end) = (bounds.window.start.as_micros(), bounds.window.end.as_micros());
    if end <= start || nodes == 0 {
        return out;
    }
    let moment = |rng: &mut rand_chacha::ChaCha8Rng, room: u64| {
        SimTime(rng.random_range(start..end.saturating_sub(room).max(start + 1)))
    };
    if let Some(base) = bounds.network {
        let latency = match rng.random_range(0..3) {
            0 => Latency::Uniform {
                min: SimDuration::from_millis(rng.random_range(5..30)),
                max: SimDuration::from_millis(rng.random_range(60..200)),
            },
            1 => Latency::Exponential {
                min: SimDuration::from_millis(rng.random_range(5..20)),
                mean: SimDuration::from_millis(rng.random_range(30..90)),
            },
            _ => Latency::LogNormal {
                min: SimDuration::ZERO,
                median: SimDuration::from_millis(rng.random_range(30..80)),
                sigma_milli: rng.random_range(200..600),
            },
        };
        let link = LinkConfig {
            latency,
            loss: base.loss + rng.random_range(0.0..=bounds.loss_max),
            reorder: rng.random_range(0.0..0.03),
            reorder_delay_max: SimDuration::from_millis(rng.random_range(10..200)),
            ..base
        };
        out.push(episode(
            "swarm network",
            true,
            vec![
                (bounds.window.start, Fault::SetLink { link, between: None }),
                (bounds.window.end, Fault::SetLink { link: base, between: None }),
            ],
        ));
    }
    let slots: Vec<u32> = (0..nodes).collect();
    if bounds.skew_max_ms > 0 {
        let count = rng.random_range(0..=nodes / 5) as usize;
        let mut chosen: Vec<u32> = slots.choose_multiple(&mut rng, count).copied().collect();
        chosen.sort_unstable();
        for n in chosen {
            let ms = bounds.skew_max_ms as i64;
            let offset_us = rng.random_range(-ms..=ms) * 1000;
            let clock = NodeClock::new(offset_us, 0);
            // From time zero, so no node ever sees its clock jump.
            let set = Fault::SetClock { node: NodeIdx(n), clock };
            out.push(episode(format!("skew n{n} {offset_us}us"), true, vec![(SimTime::ZERO, set)]));
        }
    }
    let pick = |rng: &mut rand_chacha::ChaCha8Rng, percent: u32| {
        let count = rng.random_range(0..=(nodes * percent / 100)) as usize;
        let mut chosen: Vec<u32> = slots.choose_multiple(rng, count).copied().collect();
        chosen.sort_unstable();
        chosen
    };
    let clog_max = bounds.clog_max.as_micros();
    if bounds.clog_percent_max > 0 && clog_max > 0 {
        for n in pick(&mut rng, bounds.clog_percent_max) {
            let at = moment(&mut rng, clog_max);
            let duration = SimDuration(rng.random_range(clog_max / 10..=clog_max));
            let node = NodeIdx(n);
            let fault = if rng.random_bool(0.5) {
                Fault::ClogIn { node, duration }
            } else {
                Fault::ClogOut { node, duration }
            };
            out.push(episode(format!("clog n{n}"), true, vec![(at, fault)]));
        }
    }
    if bounds.disk {
        let disk = DiskFaults {
            torn: rng.random_range(0.0..=0.9),
            corrupt: rng.random_range(0.0..=0.2),
            ..DiskFaults::default()
        };
        out.push(episode("swarm disk", true, vec![(SimTime::ZERO, Fault::SetDiskFaults(disk))]));
    }
    if bounds.crash_percent_max > 0 && bounds.down.end > bounds.down.start {
        let (lo, hi) = (bounds.down.start.as_micros(), bounds.down.end.as_micros());
        for n in pick(&mut rng, bounds.crash_percent_max) {
            let at = moment(&mut rng, hi);
            let up = at + SimDuration(rng.random_range(lo..hi));
            let node = NodeIdx(n);
            let faults = vec![(at, Fault::Crash(node)), (up, Fault::Restart(node))];
            out.push(episode(format!("crash n{n}"), true, faults));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds() -> SwarmBounds {
        SwarmBounds {
            window: SimTime::from_secs(100)..SimTime::from_secs(300),
            network: Some(LinkConfig::default()),
            loss_max: 0.02,
            skew_max_ms: 50,
            clog_percent_max: 10,
            clog_max: SimDuration::from_secs(5),
            crash_percent_max: 20,
            down: SimDuration::from_secs(5)..SimDuration::from_secs(20),
            disk: true,
            adversaries: Vec::new(),
            adversary_percent_max: 0,
        }
    }

    #[test]
    fn draws_are_a_function_of_the_seed() {
        assert_eq!(draw(&bounds(), 50, 7), draw(&bounds(), 50, 7));
        assert_ne!(draw(&bounds(), 50, 7), draw(&bounds(), 50, 8));
    }

    #[test]
    fn drawn_faults_stay_in_bounds() {
        for seed in 0..50 {
            let b = bounds();
            let plan = FaultPlan { episodes: draw(&b, 50, seed), ..FaultPlan::default() };
            plan.validate(50).expect("valid faults");
            let crashes = plan.crashed().len();
            assert!(crashes <= 10, "seed {seed}: {crashes} crashes");
            for e in &plan.episodes {
                assert!(e.drawn);
                for t in &e.faults {
                    let at = SimTime(t.at_us);
                    match &t.fault {
                        Fault::SetClock { clock, .. } => {
                            assert_eq!(at, SimTime::ZERO);
                            assert!(clock.offset_us.abs() <= 50_000);
                        }
                        Fault::SetDiskFaults(_) => assert_eq!(at, SimTime::ZERO),
                        Fault::SetLink { link, .. } => {
                            assert!(b.window.contains(&at) || at == b.window.end);
                            assert!(link.loss <= 0.02);
                        }
                        Fault::ClogIn { duration, .. } | Fault::ClogOut { duration, .. } => {
                            assert!(b.window.contains(&at));
                            assert!(at + *duration <= b.window.end, "seed {seed}: clog ends late");
                        }
                        Fault::Crash(_) => assert!(b.window.contains(&at)),
                        Fault::Restart(_) => assert!(at <= b.window.end, "seed {seed}: late"),
                        other => panic!("unexpected {other:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn nothing_is_drawn_without_bounds() {
        let b = SwarmBounds::none(SimTime::from_secs(1)..SimTime::from_secs(100));
        assert!(draw(&b, 50, 1).is_empty());
    }

    #[test]
    fn plans_round_trip_through_json_and_filter_by_episode() {
        let plan = FaultPlan { episodes: draw(&bounds(), 30, 3), ..FaultPlan::default() };
        let text = serde_json::to_string(&plan).expect("json");
        assert_eq!(serde_json::from_str::<FaultPlan>(&text).expect("parse"), plan);
        let first = plan.only(|i| i == 0);
        assert_eq!(first.episodes.len(), plan.episodes.len().min(1));
    }
}
