//! The mesh scenarios: what the tortoise verifies and the mesh applies when the network splits,
//! when an attacker balances its votes, and when nodes join late or crash (setup as `epochs`:
//! smeshing nodes with 1-4 units, two PoETs, 20-150 ms hops; 5 epochs by default).
//!
//! Ballots start at layer 16 (epoch 2). Every scenario runs the mesh checks (the block and
//! state hash of every layer two honest nodes verified agree, and so does the chained opinion
//! of nodes with the same last verified layer; no verified layer is
//! reverted; at the end every honest node that is up has verified a layer at most
//! [`LIVENESS_LAYERS`] behind the current one and applied every layer up to it) and the
//! `epochs` checks, scoped to the nodes that are up all the time:
//! - `partition-heal`: 60% of the nodes (with one PoET) and 40% (with the other) cannot reach
//!   each other in layers 20-23 (200-240 s, after the ATXs of epoch 2 are out and the PoET
//!   round has begun), then the network heals. Each side may verify these layers on its own
//!   ballots, and the self-healing tortoise may revert what it verified in them until one epoch
//!   after the heal; layers verified before the split are never reverted. 16 layers after the
//!   heal every node is live again and all agree.
//! - `balancing-attack`: identities of 2/7 of the nodes (31% of the weight)
//!   cast balancing votes (for and against the latest blocks so that honest tallies stay near
//!   the thresholds) until layer 28, honest votes after. Honest nodes agree, never revert a
//!   verified layer, and are live at the end; the hare checks hold throughout.
//! - `atx-partition`: the nodes split in halves (each with one PoET) in layers 9-15 (90-160 s),
//!   while epoch 1's ATXs are published, until the cutoff of epoch 2's active set, then heal as
//!   epoch 2 begins. Each half received the other's ATXs late, so the halves freeze different
//!   active sets for epoch 2 (the first with ballots) and no set is declared by a majority;
//!   each ballot is judged by the set it declares, so both halves count every ballot. The hare
//!   of each half draws its committee from its own set and the epoch-3 beacon is run by
//!   different participants, so the halves may verify different blocks and different beacons
//!   until the self-healing tortoise reconciles them: reverts are tolerated until 8 layers
//!   after epoch 3, and the epoch checks judge epoch 4 only. Every node is live at the end and
//!   all agree.
//! - `late-joiner`: 10% of the nodes start after 2 epochs (160 s) with an empty disk and catch
//!   up through sync. A late node is modelled as a crash at time zero, right after its boot
//!   (no write of the boot was synced, so its disk is empty; peers that accept the dial it sent
//!   hold a dead connection until their peer timeout), and a restart at 160 s. At the end it holds the same verified layers, blocks and state hashes as
//!   everybody, it is live, and it reported itself synced.
//! - `crash-restart`: 20% of the nodes, drawn from the run's seed, crash once at a moment drawn
//!   in 80-300 s (epochs 1 to 3: NIPoSTs, ATXs, beacons, hare sessions, ballots) and restart
//!   from their simulated disk 5-20 s later, losing what was not synced. Checks as
//!   `late-joiner`.
//!
//! The hare checks run where every judged node takes part in every session: in
//! `balancing-attack` (over the honest voters), and in `late-joiner` and `crash-restart` over
//! the nodes that are up all the time (in `crash-restart` validity only from layer 34, once
//! every crashed node is back: until then some committee seats are silent). In
//! `partition-heal` the two sides output different sets, so only the mesh and epoch checks
//! judge it. No scenario demands a certificate for every block (see [`hare_expect`]).

use std::collections::BTreeSet;
use std::ops::Range;

use rand::Rng;
use rand::seq::IndexedRandom;
use spacemesh_core::node::Voting;
use spacemesh_core::{LayerId, coverage};
use spacemesh_sim::engine::Fault;
use spacemesh_sim::rng::RngTree;
use spacemesh_sim::{NodeIdx, SimDuration, SimTime};

use crate::checks::{
    Checks, CoverageChecker, EpochsChecker, EpochsExpect, HareChecker, HareExpect, MeshChecker,
    MeshExpect, RevertWindow,
};
use crate::cluster::Cluster;
use crate::hare;
use crate::smeshing::{
    LPE, expectations, fault_plan, into_run_checked, judge_cast, link, random_units, runtime,
    sizes, smeshers, swarm_bounds,
};
use crate::swarm::{FaultPlan, SwarmBounds};
use crate::{LAYER_DURATION_SECS, Run, RunParams, Scenario, ScenarioError};

/// How far behind the current layer an honest node's verified layer may be at the end. At the
/// start of layer N the ballots of layer N-1 are in and vote for the blocks of N-2, so a node
/// that keeps up has verified N-2; one more layer covers a hare output or a tally that comes
/// late in its layer.
pub(crate) const LIVENESS_LAYERS: u32 = 3;

/// The layers the network is split in `partition-heal`.
pub(crate) const PARTITION: Range<u32> = 20..24;
/// The share of the nodes on the larger side of the split, in percent.
pub(crate) const MAJORITY_PERCENT: u32 = 60;
/// The layers the network is split in `long-partition`: a whole epoch's worth, across the
/// start of epoch 3, while epoch 3's ATXs are published and epoch 4's beacon is decided.
const LONG_PARTITION: Range<u32> = (2 * LPE + LPE / 2)..(3 * LPE + LPE / 2);
/// The layers the network is split in `atx-partition`: from before epoch 1's ATXs are out
/// (they wait for the PoET round that ends 20 s into the epoch) until the end of epoch 1.
const ATX_PARTITION: Range<u32> = (LPE + 1)..(2 * LPE);
/// How long after the heal the tortoise may still revert layers verified during the split.
pub(crate) const HEALING_LAYERS: u32 = LPE;
/// The first layer the balancing attackers vote honestly in.
const BALANCING_UNTIL: u32 = 3 * LPE + LPE / 2;
/// When late joiners start in `late-joiner`: after 2 epochs.
const LATE_START_LAYER: u32 = 2 * LPE;
/// When crashes happen in `crash-restart`, in seconds: epochs 1 to 3.
const CRASHES_SECS: Range<u64> = 80..300;
/// How long a crashed node stays down, in seconds: up to two layers, short enough that an ATX
/// it still has to publish goes out well before the epoch ends.
const DOWN_SECS: Range<u64> = 5..21;

/// How far behind the most advanced honest node a synced honest node's verified layer may fall
/// for more than a layer's time (`synced-liveness`): an epoch, half of sync's `LAG_MAX`, so
/// that a node stuck while counting itself synced fails the run before it syncs again.
pub(crate) const SYNCED_LAG_LAYERS: u32 = LPE;

/// The mesh expectations shared by every scenario, with `liveness_bound` layers of slack at
/// the end and [`SYNCED_LAG_LAYERS`] all along.
pub(crate) fn mesh_expect(liveness_bound: u32) -> MeshExpect {
    MeshExpect {
        first_layer: hare::FIRST,
        liveness_bound,
        reverts_allowed: None,
        sync: false,
        synced_lag: Some(SYNCED_LAG_LAYERS),
    }
}

/// The hare checks of these scenarios: those of `hare`, except that a block may lack its
/// certificate. The certify committee has 20 expected seats and needs 11, so about one layer in
/// a hundred draws too few seats for any certificate (`hare` fails on seed 1 with 60 nodes and
/// 40 layers for this reason); the tortoise, not the certificate, decides such a layer.
pub(crate) fn hare_expect(layers: u32) -> HareExpect {
    HareExpect { certificates: false, ..hare::expect(layers) }
}

/// The start of `layer` in simulated time.
pub(crate) fn at(layer: u32) -> SimTime {
    SimTime::from_secs(u64::from(layer) * LAYER_DURATION_SECS)
}

/// Balancing attackers: slots 0 and 3 of every 7 (2/7 of the nodes, with 31% of the weight:
/// see [`balancing_units`]).
fn attacker(slot: u32) -> bool {
    matches!(slot % 7, 0 | 3)
}

/// The space units of each slot in `balancing-attack`: 1 to 4 for an honest node, drawn from
/// the run's workload stream, and for the attackers together 31% of all units at most (so of
/// the weight: every node's ATX counts the same PoET ticks), spread evenly, 1 to 4 each.
///
/// Honest ballots are the only good ones while the attack lasts, and the verifying tortoise
/// verifies a layer `k` layers back only once their share of the weight exceeds `2/3 + 1/(6k)`:
/// 0.708 at `hdist` (4). Left to the draw of units, the attackers' share fell to 0.29 or below
/// in 4 seeds of 20 at 30 nodes, the honest share stayed above that bound, and the run never
/// reached the full tortoise it is for. At 31% it does in 57 of 60 seeds at 30 nodes (a
/// layer's draw of eligibilities still favours the honest nodes now and then). Not closer to a
/// third: a layer has about a dozen ballots at 30 nodes, and with 32.5% the attackers drew 7 of
/// the 10 ballots of one layer (seed 26), enough against the last layer's block to cross the
/// full tortoise's threshold one layer on; the next layer's ballots turned it back and the
/// honest nodes reverted a layer they had verified.
fn balancing_units(nodes: u32, seed: u64) -> Vec<u32> {
    let mut rng = RngTree::new(seed).workload();
    let mut units: Vec<u32> = (0..nodes).map(|_| rng.random_range(1..=4)).collect();
    let honest: u32 = (0..nodes).filter(|s| !attacker(*s)).map(|s| units[s as usize]).sum();
    let attackers: Vec<u32> = (0..nodes).filter(|s| attacker(*s)).collect();
    // `a` units of `a + honest` are at most 31% while `69a <= 31 honest`.
    let total = honest * 31 / 69;
    let count = attackers.len() as u32;
    for (i, slot) in attackers.into_iter().enumerate() {
        let share = total / count + u32::from((i as u32) < total % count);
        units[slot as usize] = share.clamp(1, 4);
    }
    units
}

/// Late joiners: one slot in 10.
fn late(slot: u32) -> bool {
    slot % 10 == 9
}

/// A mesh scenario: its name, description and what makes it different.
#[derive(Debug, Clone, Copy)]
pub struct MeshScenario {
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    PartitionHeal,
    AtxPartition,
    LongPartition,
    Balancing,
    LateJoiner,
    CrashRestart,
}

impl MeshScenario {
    /// `partition-heal`.
    pub const PARTITION_HEAL: MeshScenario = MeshScenario { kind: Kind::PartitionHeal };
    /// `atx-partition`.
    pub const ATX_PARTITION: MeshScenario = MeshScenario { kind: Kind::AtxPartition };
    /// `long-partition`.
    pub const LONG_PARTITION: MeshScenario = MeshScenario { kind: Kind::LongPartition };
    /// `balancing-attack`.
    pub const BALANCING: MeshScenario = MeshScenario { kind: Kind::Balancing };
    /// `late-joiner`.
    pub const LATE_JOINER: MeshScenario = MeshScenario { kind: Kind::LateJoiner };
    /// `crash-restart`.
    pub const CRASH_RESTART: MeshScenario = MeshScenario { kind: Kind::CrashRestart };
}

impl Scenario for MeshScenario {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::PartitionHeal => "partition-heal",
            Kind::AtxPartition => "atx-partition",
            Kind::LongPartition => "long-partition",
            Kind::Balancing => "balancing-attack",
            Kind::LateJoiner => "late-joiner",
            Kind::CrashRestart => "crash-restart",
        }
    }

    fn description(&self) -> &'static str {
        match self.kind {
            Kind::PartitionHeal => {
                "a 60/40 split for 4 layers with ballots, then a heal: no safety loss outside the split, the tortoise converges, everyone live"
            }
            Kind::AtxPartition => {
                "a 50/50 split while ATXs are published, healed as the epoch starts: the halves freeze different active sets, and still converge"
            }
            Kind::LongPartition => {
                "a 50/50 split for an epoch's worth of layers across an epoch start, while ATXs are published and a beacon decided: both halves' ballots, ATXs and peers found again, converged within 12 layers of the halves sharing a beacon again"
            }
            Kind::Balancing => {
                "identities of 2/7 of the nodes with 31% of the weight cast balancing votes for 12 layers: honest nodes agree, never revert a verified layer, stay live"
            }
            Kind::LateJoiner => {
                "10% of the nodes start after 2 epochs: they sync to the same verified layers and state hashes"
            }
            Kind::CrashRestart => {
                "20% of the nodes crash once and restart from their disk: they sync to the same verified layers and state hashes"
            }
        }
    }

    fn default_layers(&self) -> u32 {
        match self.kind {
            // Epoch 4's beacon was decided apart: the split's layers settle in epoch 5, and the
            // checks need epoch 6 whole after that.
            Kind::LongPartition => 7 * LPE,
            _ => 5 * LPE,
        }
    }

    fn build(&self, p: &RunParams) -> Result<Run, ScenarioError> {
        let (nodes, layers) = sizes(self, p, 10, 5)?;
        let rt = runtime(p);
        let kind = self.kind;
        let balancing = Voting::Balancing { until: LayerId(BALANCING_UNTIL) };
        let mut own = FaultPlan::default();
        for o in outages(kind, nodes, p.seed) {
            let what = format!("down n{}", o.node.0);
            own.push(what, vec![(o.down, Fault::Crash(o.node)), (o.up, Fault::Restart(o.node))]);
        }
        if kind == Kind::PartitionHeal {
            own.push("60/40 split", split(nodes, PARTITION, MAJORITY_PERCENT));
        }
        if kind == Kind::AtxPartition {
            own.push("50/50 split", split(nodes, ATX_PARTITION, 50));
        }
        if kind == Kind::LongPartition {
            own.push("50/50 split", split(nodes, LONG_PARTITION, 50));
        }
        let plan = fault_plan(self, p, nodes, layers, own)?;
        let units = (kind == Kind::Balancing).then(|| balancing_units(nodes, p.seed));
        let cluster = smeshers(nodes, p.seed, &rt)
            .customize(move |slot, cfg, rng| {
                let Some(units) = &units else { return random_units(cfg, rng) };
                if let Some(c) = cfg.consensus.as_mut() {
                    if let Some(b) = c.builder.as_mut() {
                        b.num_units = units[slot as usize];
                    }
                    if attacker(slot) {
                        c.voting = balancing;
                    }
                }
            })
            .cast(plan.cast.clone())
            .build();
        let part_time = plan.crashed();
        let all: BTreeSet<NodeIdx> = cluster.honest_ids().values().copied().collect();
        let always_up: BTreeSet<NodeIdx> = all.difference(&part_time).copied().collect();
        let mut mesh = mesh_expect(LIVENESS_LAYERS);
        let mut epochs = expectations(nodes, layers, &rt);
        scope_epochs(&mut epochs, &cluster, &part_time);
        judge_cast(&mut epochs, &cluster);
        if kind == Kind::AtxPartition {
            // Epoch 2's sets differ by construction, and so may epoch 3's beacon.
            epochs.agree_epochs = 4.max(*epochs.agree_epochs.start())..=*epochs.agree_epochs.end();
        }
        if kind == Kind::LongPartition {
            // Epoch 4's beacon is decided by each half alone (and with it the weak coins).
            epochs.agree_epochs = 5.max(*epochs.agree_epochs.start())..=*epochs.agree_epochs.end();
        }
        let mut checks = Checks::new();
        let judged = match kind {
            Kind::PartitionHeal => {
                mesh.reverts_allowed = Some(RevertWindow {
                    from: at(PARTITION.start),
                    until: at(PARTITION.end + HEALING_LAYERS),
                });
                all
            }
            Kind::AtxPartition => {
                // The split reaches into epoch 3, whose beacon the halves may decide apart
                // (ballots with the other beacon count late at the tortoise).
                mesh.reverts_allowed = Some(RevertWindow {
                    from: at(ATX_PARTITION.start),
                    until: at(4 * LPE + HEALING_LAYERS),
                });
                all
            }
            Kind::LongPartition => {
                // Until the halves share a beacon again (epoch 5) their weak coins differ. Then
                // the full tortoise's margin on a split layer must outgrow a third of the weight
                // of every layer since it, about half as many layers again as it waited: up to
                // 12 layers into epoch 5 (one seed of 5 at 60 nodes took 8).
                mesh.reverts_allowed = Some(RevertWindow {
                    from: at(LONG_PARTITION.start),
                    until: at(5 * LPE + 3 * HEALING_LAYERS / 2),
                });
                all
            }
            Kind::Balancing => {
                let voters: BTreeSet<NodeIdx> =
                    all.into_iter().filter(|n| !attacker(n.0)).collect();
                let mut hare = hare_expect(layers);
                cluster.cast.relax_hare(&mut hare, layers);
                checks = checks.with(HareChecker::new(voters.clone(), hare));
                voters
            }
            Kind::LateJoiner | Kind::CrashRestart => {
                mesh.sync = true;
                let mut hare = hare_expect(layers);
                if kind == Kind::CrashRestart {
                    // While nodes are down their committee seats are silent, as in
                    // `hare-offline`, and an output may lack proposals; from the second layer
                    // after every node is back it must hold them all again.
                    let own_back = SimTime::from_secs(CRASHES_SECS.end + DOWN_SECS.end);
                    let back = plan.last_restart().map_or(own_back, |t| t.max(own_back));
                    let back = back.as_micros().div_ceil(LAYER_DURATION_SECS * 1_000_000);
                    hare.validity = Some((back as u32 + 1)..=layers.saturating_sub(2));
                }
                cluster.cast.relax_hare(&mut hare, layers);
                checks = checks.with(HareChecker::new(always_up, hare));
                all
            }
        };
        let marks: &[&str] = match kind {
            Kind::PartitionHeal | Kind::Balancing => &[coverage::TORTOISE_FULL_MODE],
            Kind::AtxPartition => &[coverage::DECLARED_SET],
            Kind::LongPartition => &[coverage::TORTOISE_FULL_MODE, coverage::FORK_RELIST],
            Kind::LateJoiner => &[coverage::SYNC_CATCH_UP],
            Kind::CrashRestart => &[coverage::RESTART_RECOVERY, coverage::SYNC_CATCH_UP],
        };
        let checks = checks
            .with(EpochsChecker::new(cluster.honest_ids(), epochs))
            .with(MeshChecker::new(judged, mesh))
            .with(CoverageChecker::new(marks));
        Ok(into_run_checked(self.name(), p, nodes, layers, cluster, checks, rt).with_plan(plan, p))
    }

    /// The network mix and clock skews of every consensus scenario; in `crash-restart` also
    /// up to 10% more nodes that crash once (down 5-20 s) and the disk fault mix. Nodes the
    /// swarm crashes are judged as part-time nodes, like the scenario's own.
    fn swarm_bounds(&self, layers: u32) -> Option<SwarmBounds> {
        let mut b = swarm_bounds(layers, link());
        if self.kind == Kind::CrashRestart {
            b.crash_percent_max = 10;
            b.down = SimDuration::from_secs(DOWN_SECS.start)..SimDuration::from_secs(DOWN_SECS.end);
            b.disk = true;
        }
        Some(b)
    }

    fn takes_adversaries(&self) -> bool {
        true
    }
}

/// A node that is down for a while: crashed at `down`, restarted from its disk at `up`.
#[derive(Debug, Clone, Copy)]
struct Outage {
    node: NodeIdx,
    down: SimTime,
    up: SimTime,
}

/// The outages of a scenario: late joiners are down from time zero to their start; in
/// `crash-restart` a fifth of the nodes, drawn from the run's seed, is down once.
fn outages(kind: Kind, nodes: u32, seed: u64) -> Vec<Outage> {
    match kind {
        Kind::LateJoiner => (0..nodes)
            .filter(|s| late(*s))
            .map(|s| Outage { node: NodeIdx(s), down: SimTime::ZERO, up: at(LATE_START_LAYER) })
            .collect(),
        Kind::CrashRestart => {
            let mut rng = RngTree::new(seed).workload();
            let slots: Vec<u32> = (0..nodes).collect();
            let mut crashed: Vec<u32> =
                slots.choose_multiple(&mut rng, nodes as usize / 5).copied().collect();
            crashed.sort_unstable();
            let ms = |r: &Range<u64>| (r.start * 1000)..(r.end * 1000);
            crashed
                .into_iter()
                .map(|slot| {
                    let down = SimTime::from_millis(rng.random_range(ms(&CRASHES_SECS)));
                    let up = down + SimDuration::from_millis(rng.random_range(ms(&DOWN_SECS)));
                    Outage { node: NodeIdx(slot), down, up }
                })
                .collect()
        }
        Kind::PartitionHeal | Kind::AtxPartition | Kind::LongPartition | Kind::Balancing => {
            Vec::new()
        }
    }
}

/// Splits the network for the layers `during`: the first `percent` of the node slots with the
/// first PoET, the rest with the second (PoETs take the slots after the nodes).
pub(crate) fn split(nodes: u32, during: Range<u32>, percent: u32) -> Vec<(SimTime, Fault)> {
    let majority = nodes * percent / 100;
    let mut a: Vec<NodeIdx> = (0..majority).map(NodeIdx).collect();
    let mut b: Vec<NodeIdx> = (majority..nodes).map(NodeIdx).collect();
    a.push(NodeIdx(nodes));
    b.push(NodeIdx(nodes + 1));
    vec![(at(during.start), Fault::Partition(vec![a, b])), (at(during.end), Fault::Heal)]
}

/// Scopes the epoch checks to the nodes that are up all the time. The others are judged like
/// suspects that never act (`acting_only`, with `equivocation_epoch` left at never): they need
/// not publish an ATX every epoch nor observe every ATX, active set and beacon, the ATXs they do
/// publish must enter the next active set, and nobody may accuse them.
fn scope_epochs(epochs: &mut EpochsExpect, cluster: &Cluster, part_time: &BTreeSet<NodeIdx>) {
    if part_time.is_empty() {
        return;
    }
    epochs.equivocators = part_time.iter().filter_map(|n| cluster.node_ids[n.0 as usize]).collect();
    epochs.acting_only = true;
}
