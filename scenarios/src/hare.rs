//! The hare scenarios: per-layer agreement, blocks and certificates on top of the epoch
//! machinery (setup as `epochs`: smeshing nodes with 1-4 units, two PoETs, 20-150 ms hops).
//!
//! Ballots, and so hare sessions, start at layer 16 (epoch 2). Every scenario runs the
//! `epochs` checks plus the hare checks over the layers whose sessions end inside the run:
//! - `hare`: a synchronous network. Every honest node outputs the same set in every layer, it
//!   holds every honest proposal, every non-empty block is certified everywhere.
//! - `hare-equivocation`: identities of about 2/7 of the weight sign two conflicting messages
//!   in every round they are drawn into, in the layers of epoch 2. Honest outputs still agree,
//!   every identity that equivocated is proven malicious at every honest node (and leaves the
//!   next epoch's active set), nobody else is accused.
//! - `hare-offline`: 30% of the nodes never send a hare message (so about 30% of each
//!   committee is silent). Every session ends within the iteration limit, with the same output
//!   everywhere (possibly empty).
//! - `hare-delays`: for three layers every hop takes 1.2-2 s (more than a 1 s round), then the
//!   network is normal again. Outputs agree throughout; from the first layer after the delays
//!   every node outputs every honest proposal again.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;

use spacemesh_core::hare::{HareBehavior, HareConfig};
use spacemesh_core::{LayerId, coverage};
use spacemesh_sim::engine::Fault;
use spacemesh_sim::net::{Latency, LinkConfig};
use spacemesh_sim::{SimDuration, SimTime};

use crate::checks::{Checks, CoverageChecker, EpochsChecker, HareChecker, HareExpect};
use crate::smeshing::{
    LPE, expectations, fault_plan, into_run_checked, judge_cast, link, random_units, runtime,
    sizes, smeshers,
};
use crate::swarm::FaultPlan;
use crate::{LAYER_DURATION_SECS, Run, RunParams, Scenario, ScenarioError};

/// The first layer with ballots (and so hare sessions).
pub(crate) const FIRST: u32 = 2 * LPE;

/// Layers whose sessions end inside a run of `layers` layers (the last one's may not).
fn checked(layers: u32) -> RangeInclusive<u32> {
    FIRST..=layers.saturating_sub(2)
}

/// What the hare must show in a run of `layers` layers on a synchronous network.
pub(crate) fn expect(layers: u32) -> HareExpect {
    // A session that runs to the iteration limit lasts 2 s + 28 rounds of 1 s: three layers.
    let worst = HareConfig::sim().session_length().as_secs().div_ceil(LAYER_DURATION_SECS) as u32;
    HareExpect {
        layers: checked(layers),
        termination: FIRST..=layers.saturating_sub(worst + 1),
        validity: Some(checked(layers)),
        certificates: true,
        iterations_limit: HareConfig::sim().iterations_limit,
    }
}

/// A hare scenario: its name, description and what makes it different.
#[derive(Debug, Clone, Copy)]
pub struct HareScenario {
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sync,
    Equivocation,
    Offline,
    Delays,
}

/// Equivocators: slots 0 and 3 of every 7 (2/7 of the nodes, a bit under a third of the weight).
fn equivocator(slot: u32) -> bool {
    matches!(slot % 7, 0 | 3)
}

/// Silent nodes: 3 of every 10 slots.
fn silent(slot: u32) -> bool {
    slot % 10 < 3
}

/// The layers with long delays in `hare-delays`.
const DELAYED: RangeInclusive<u32> = (FIRST + 4)..=(FIRST + 6);

impl HareScenario {
    /// `hare`.
    pub const SYNC: HareScenario = HareScenario { kind: Kind::Sync };
    /// `hare-equivocation`.
    pub const EQUIVOCATION: HareScenario = HareScenario { kind: Kind::Equivocation };
    /// `hare-offline`.
    pub const OFFLINE: HareScenario = HareScenario { kind: Kind::Offline };
    /// `hare-delays`.
    pub const DELAYS: HareScenario = HareScenario { kind: Kind::Delays };
}

impl Scenario for HareScenario {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Sync => "hare",
            Kind::Equivocation => "hare-equivocation",
            Kind::Offline => "hare-offline",
            Kind::Delays => "hare-delays",
        }
    }

    fn description(&self) -> &'static str {
        match self.kind {
            Kind::Sync => {
                "hare on a synchronous network: same output everywhere with every honest proposal, blocks certified"
            }
            Kind::Equivocation => {
                "identities of 2/7 of the weight equivocate in the hare: outputs agree, each is proven malicious everywhere"
            }
            Kind::Offline => {
                "30% of every committee silent: sessions end within the iteration limit with one output"
            }
            Kind::Delays => {
                "hops slower than a round for three layers: outputs agree, full outputs again after"
            }
        }
    }

    fn default_layers(&self) -> u32 {
        4 * LPE
    }

    fn build(&self, p: &RunParams) -> Result<Run, ScenarioError> {
        let (nodes, layers) = sizes(self, p, 10, 4)?;
        let rt = runtime(p);
        let kind = self.kind;
        let equivocate = HareBehavior::Equivocate {
            first: LayerId(FIRST),
            // Sessions of epoch 2 that end before epoch 3's active set is frozen.
            last: LayerId(3 * LPE - 2),
        };
        let plan = fault_plan(self, p, nodes, layers, own_plan(kind))?;
        let cluster = smeshers(nodes, p.seed, &rt)
            .customize(move |slot, cfg, rng| {
                random_units(cfg, rng);
                let Some(c) = cfg.consensus.as_mut() else { return };
                match kind {
                    Kind::Equivocation if equivocator(slot) => c.hare.behavior = equivocate,
                    Kind::Offline if silent(slot) => c.hare.behavior = HareBehavior::Silent,
                    _ => {}
                }
            })
            .cast(plan.cast.clone())
            .build();
        let mut epochs = expectations(nodes, layers, &rt);
        judge_cast(&mut epochs, &cluster);
        let mut hare = expect(layers);
        let mut honest: BTreeSet<_> = cluster.honest_ids().values().copied().collect();
        match kind {
            Kind::Sync => {}
            Kind::Equivocation => {
                epochs.equivocators = (0..nodes)
                    .filter(|s| equivocator(*s))
                    .filter_map(|s| cluster.node_ids[s as usize])
                    .collect();
                epochs.equivocation_epoch = 2;
                epochs.acting_only = true;
                honest.retain(|s| !equivocator(s.0));
                // Until they are proven, equivocators' weight counts: outputs may lack some
                // honest proposals then. Certify messages of proven equivocators do not count,
                // so with 2/7 of the weight gone a layer may miss its certificate.
                hare.validity = Some((3 * LPE)..=layers.saturating_sub(2));
                hare.certificates = false;
            }
            Kind::Offline => {
                hare.validity = None;
                hare.certificates = false;
            }
            Kind::Delays => {
                hare.validity = Some((DELAYED.end() + 2)..=layers.saturating_sub(2));
                hare.certificates = false;
            }
        }
        let marks: &[&str] = match kind {
            Kind::Equivocation => &[coverage::MALFEASANCE_PROOF],
            Kind::Delays => &[coverage::HARE_LATER_ITERATION],
            Kind::Sync | Kind::Offline => &[],
        };
        cluster.cast.relax_hare(&mut hare, layers);
        let checks = Checks::new()
            .with(EpochsChecker::new(cluster.honest_ids(), epochs))
            .with(HareChecker::new(honest, hare))
            .with(CoverageChecker::new(marks));
        Ok(into_run_checked(self.name(), p, nodes, layers, cluster, checks, rt).with_plan(plan, p))
    }

    fn takes_adversaries(&self) -> bool {
        true
    }
}

/// The scenario's own faults: slow hops in `hare-delays`.
fn own_plan(kind: Kind) -> FaultPlan {
    let mut own = FaultPlan::default();
    if kind == Kind::Delays {
        let slow = LinkConfig {
            latency: Latency::Uniform {
                min: SimDuration::from_millis(1200),
                max: SimDuration::from_millis(2000),
            },
            ..link()
        };
        let at = |l: u32| SimTime::from_secs(u64::from(l) * LAYER_DURATION_SECS);
        own.push(
            "slow hops",
            vec![
                (at(*DELAYED.start()), Fault::SetLink { link: slow, between: None }),
                (at(DELAYED.end() + 1), Fault::SetLink { link: link(), between: None }),
            ],
        );
    }
    own
}
