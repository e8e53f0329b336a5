//! Checks of the epoch machinery: ATXs, active sets, beacons, proposals and malfeasance, judged
//! from the `Consensus` events nodes emit.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;

use spacemesh_core::node::ConsensusEvent;
use spacemesh_core::node::consensus::BeaconSource;
use spacemesh_core::types::Beacon;
use spacemesh_core::{Hash32, LayerId, NodeEvent, NodeId};
use spacemesh_runtime_sim::SimNet;
use spacemesh_sim::{NodeIdx, SimTime};

use super::{Checker, Checks, Verdict, Violation, outcome};

/// What a run of the epoch machinery must show.
#[derive(Debug, Clone)]
pub struct EpochsExpect {
    /// Epochs in which every honest node must publish exactly one ATX.
    pub publish_epochs: RangeInclusive<u32>,
    /// Epochs whose active set and beacon every honest node must agree on.
    pub agree_epochs: RangeInclusive<u32>,
    /// Layers whose proposal counts are judged.
    pub ballot_layers: RangeInclusive<u32>,
    /// Configured average eligibilities per layer.
    pub layer_avg_size: u32,
    /// Layers per epoch.
    pub layers_per_epoch: u32,
    /// Identities that double-publish in `equivocation_epoch`: every honest node must hold a
    /// proof against each by the end of that epoch, and exclude them from later active sets.
    pub equivocators: BTreeSet<NodeId>,
    /// The epoch the equivocators double-publish in.
    pub equivocation_epoch: u32,
    /// By when equivocators must be known malicious everywhere.
    pub equivocation_deadline: SimTime,
    /// When set, `equivocators` are suspects: only those that report (by an `equivocated`
    /// event) that they did equivocate are judged as equivocators; the others never got the
    /// chance (for example never drawn into a hare committee) and are judged as honest in the
    /// malfeasance and active-set checks.
    pub acting_only: bool,
    /// Identities under adversarial control (the byzantine agent catalogue), by slot, and how
    /// each is judged. Their slots are not honest; twins share one identity over two slots.
    pub byzantine: BTreeMap<NodeIdx, (NodeId, Role)>,
}

/// How the epoch checks judge an identity under adversarial control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role {
    /// The adversary, for messages.
    pub what: &'static str,
    /// An ATX it published in epoch `e - 1` must be in the active set of epoch `e` for every
    /// `e` below this (0: never, `u32::MAX`: always), and in none from it on.
    pub counted_before: u32,
    /// Whether it may also be missing where it would be counted.
    pub uncertain: bool,
    /// What honest nodes must do about it.
    pub accused: Accused,
}

/// Whether honest nodes must prove an adversarial identity malicious.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accused {
    /// Never: it never signs two conflicting messages, so a proof would be forged.
    Never,
    /// Either way.
    Maybe,
    /// Every honest node by this time.
    By(SimTime),
}

/// Judges the epoch machinery.
#[derive(Debug)]
pub struct EpochsChecker {
    expect: EpochsExpect,
    /// Honest identities and their slots.
    honest: BTreeMap<NodeId, NodeIdx>,
    honest_slots: BTreeSet<NodeIdx>,
    equivocator_slots: BTreeSet<NodeIdx>,
    /// Suspects' identities by slot.
    suspects: BTreeMap<NodeIdx, NodeId>,
    /// Suspects that equivocated.
    acted: BTreeSet<NodeIdx>,
    /// Distinct ATXs each node published per epoch (a restarted node re-publishes its last).
    published: BTreeMap<(NodeIdx, u32), BTreeSet<Hash32>>,
    accepted: BTreeMap<Hash32, u32>,
    active_sets: BTreeMap<u32, BTreeMap<(Hash32, u32), Vec<NodeIdx>>>,
    beacons: BTreeMap<u32, BTreeMap<Beacon, Vec<NodeIdx>>>,
    eligibilities: BTreeMap<LayerId, u64>,
    /// Slots each node declared per epoch.
    slots: BTreeMap<(NodeIdx, u32), u32>,
    /// Eligibilities each node used per epoch.
    used: BTreeMap<(NodeIdx, u32), u64>,
    /// The layer since which each node not synced has been so (nodes build no proposal then).
    unsynced_since: BTreeMap<NodeIdx, u32>,
    /// Epochs in which a node was not synced for some layer: its slots of those layers are lost.
    unsynced: BTreeSet<(NodeIdx, u32)>,
    accusations: BTreeMap<NodeId, BTreeMap<NodeIdx, SimTime>>,
    rejected: Vec<Violation>,
    published_by_topic: BTreeMap<&'static str, u64>,
    beacon_fallbacks: u64,
    /// Epochs in which some honest node replaced its beacon (adopting its ballots' majority).
    replaced_beacons: BTreeSet<u32>,
}

impl EpochsChecker {
    /// A checker over the smeshing identities `all` (the equivocators among them are judged as
    /// adversaries, the rest as honest).
    pub fn new(all: BTreeMap<NodeId, NodeIdx>, expect: EpochsExpect) -> Self {
        let equivocators: BTreeMap<NodeId, NodeIdx> = all
            .iter()
            .filter(|(id, _)| expect.equivocators.contains(id))
            .map(|(a, b)| (*a, *b))
            .collect();
        let honest: BTreeMap<NodeId, NodeIdx> =
            all.into_iter().filter(|(id, _)| !expect.equivocators.contains(id)).collect();
        let honest_slots = honest.values().copied().collect();
        EpochsChecker {
            expect,
            honest,
            equivocator_slots: equivocators.values().copied().collect(),
            suspects: equivocators.iter().map(|(id, slot)| (*slot, *id)).collect(),
            acted: BTreeSet::new(),
            honest_slots,
            published: BTreeMap::new(),
            accepted: BTreeMap::new(),
            active_sets: BTreeMap::new(),
            beacons: BTreeMap::new(),
            eligibilities: BTreeMap::new(),
            slots: BTreeMap::new(),
            used: BTreeMap::new(),
            unsynced_since: BTreeMap::new(),
            unsynced: BTreeSet::new(),
            accusations: BTreeMap::new(),
            rejected: Vec::new(),
            published_by_topic: BTreeMap::new(),
            beacon_fallbacks: 0,
            replaced_beacons: BTreeSet::new(),
        }
    }
}

impl EpochsChecker {
    /// Whether a node used fewer eligibilities in an epoch than the slots it declared.
    fn short_of_slots(&self, key: &(NodeIdx, u32)) -> bool {
        let declared = self.slots.get(key).copied().map_or(0, u64::from);
        self.used.get(key).copied().unwrap_or(0) < declared
    }

    /// Whether a node was not synced for some layer of an epoch (it still is, or was then).
    fn unsynced_in(&self, (node, epoch): &(NodeIdx, u32)) -> bool {
        let lpe = self.expect.layers_per_epoch;
        self.unsynced.contains(&(*node, *epoch))
            || self.unsynced_since.get(node).is_some_and(|l| l / lpe <= *epoch)
    }

    /// How many ATXs of adversarial identities the active set of `epoch` holds at least and
    /// at most, by their roles (twins count once).
    fn byzantine_counted(&self, epoch: u32) -> (u32, u32) {
        let mut ids: BTreeMap<NodeId, (Role, bool)> = BTreeMap::new();
        for (slot, (id, role)) in &self.expect.byzantine {
            let published = self.published.contains_key(&(*slot, epoch - 1));
            let e = ids.entry(*id).or_insert((*role, false));
            e.1 |= published;
        }
        let mut range = (0, 0);
        for (role, published) in ids.values() {
            if *published && epoch < role.counted_before {
                range.0 += u32::from(!role.uncertain);
                range.1 += 1;
            }
        }
        range
    }
}

/// How the adversarial identities fared, for the malfeasance check's detail: how many there
/// were and how many were accused anywhere.
fn byzantine_summary(
    byzantine: &BTreeMap<NodeId, Role>,
    accusations: &BTreeMap<NodeId, BTreeMap<NodeIdx, SimTime>>,
) -> String {
    let accused = byzantine.keys().filter(|id| accusations.contains_key(*id)).count();
    format!("{} adversarial identities, {accused} of them accused", byzantine.len())
}

impl Checker for EpochsChecker {
    fn on_event(&mut self, time: SimTime, node: NodeIdx, event: &NodeEvent) {
        if let NodeEvent::MessageAccepted { topic, own: true, .. } = event {
            *self.published_by_topic.entry(topic.name()).or_default() += 1;
            return;
        }
        let NodeEvent::Consensus(e) = event else { return };
        let e: &ConsensusEvent = e;
        if self.expect.byzantine.contains_key(&node) {
            if let ConsensusEvent::AtxPublished { epoch, id } = e {
                self.published.entry((node, epoch.0)).or_default().insert(*id);
            }
            return;
        }
        if self.equivocator_slots.contains(&node) {
            match e {
                ConsensusEvent::AtxPublished { epoch, id } => {
                    self.published.entry((node, epoch.0)).or_default().insert(*id);
                }
                ConsensusEvent::Equivocated { .. } => {
                    self.acted.insert(node);
                }
                _ => {}
            }
            return;
        }
        if !self.honest_slots.contains(&node) {
            return;
        }
        match e {
            ConsensusEvent::AtxPublished { epoch, id } => {
                self.published.entry((node, epoch.0)).or_default().insert(*id);
            }
            ConsensusEvent::AtxAccepted { id, .. } => *self.accepted.entry(*id).or_default() += 1,
            ConsensusEvent::AtxRejected { id, reason } if self.rejected.len() < 20 => {
                self.rejected.push(Violation {
                    check: "atx-accepted".into(),
                    time_s: time.as_secs_f64(),
                    node: Some(node.0),
                    message: format!("rejected ATX {id}: {reason}"),
                });
            }
            ConsensusEvent::ActiveSet { epoch, hash, size, .. } => self
                .active_sets
                .entry(epoch.0)
                .or_default()
                .entry((*hash, *size))
                .or_default()
                .push(node),
            ConsensusEvent::Beacon { epoch, beacon, source } => {
                if *source == BeaconSource::Fallback {
                    self.beacon_fallbacks += 1;
                }
                // A node may replace its beacon through the fallback: its last word counts.
                let per_epoch = self.beacons.entry(epoch.0).or_default();
                if per_epoch.iter().any(|(b, nodes)| b != beacon && nodes.contains(&node)) {
                    self.replaced_beacons.insert(epoch.0);
                }
                for nodes in per_epoch.values_mut() {
                    nodes.retain(|n| *n != node);
                }
                per_epoch.retain(|_, nodes| !nodes.is_empty());
                per_epoch.entry(*beacon).or_default().push(node)
            }
            ConsensusEvent::ProposalPublished { layer, eligibilities, slots, .. } => {
                *self.eligibilities.entry(*layer).or_default() += u64::from(*eligibilities);
                let epoch = layer.0 / self.expect.layers_per_epoch;
                self.slots.insert((node, epoch), *slots);
                *self.used.entry((node, epoch)).or_default() += u64::from(*eligibilities);
            }
            ConsensusEvent::Sync { synced: false, layer, .. } => {
                self.unsynced_since.entry(node).or_insert(layer.0);
            }
            ConsensusEvent::Sync { synced: true, layer, .. } => {
                if let Some(since) = self.unsynced_since.remove(&node) {
                    let lpe = self.expect.layers_per_epoch;
                    for epoch in since / lpe..=layer.0 / lpe {
                        self.unsynced.insert((node, epoch));
                    }
                }
            }
            ConsensusEvent::Malfeasance { smesher, .. } => {
                self.accusations.entry(*smesher).or_default().entry(node).or_insert(time);
            }
            _ => {}
        }
    }

    fn finish(&self, end: SimTime, _world: &SimNet<Checks>) -> Verdict {
        let mut v = Verdict::default();
        let x = &self.expect;
        let honest_n = self.honest.len() as u32;
        // The suspects judged as equivocators, and those that behaved.
        let guilty: BTreeSet<NodeId> = self
            .suspects
            .iter()
            .filter(|(slot, _)| !x.acting_only || self.acted.contains(slot))
            .map(|(_, id)| *id)
            .collect();
        let idle: BTreeSet<NodeIdx> = self
            .suspects
            .iter()
            .filter(|(_, id)| !guilty.contains(id))
            .map(|(slot, _)| *slot)
            .collect();
        let at = |node: Option<NodeIdx>, message: String, check: &str| Violation {
            check: check.into(),
            time_s: end.as_secs_f64(),
            node: node.map(|n| n.0),
            message,
        };

        // One ATX per honest node per epoch.
        let mut f = Vec::new();
        let mut honest_atxs: BTreeMap<u32, BTreeSet<Hash32>> = BTreeMap::new();
        for (&id, &slot) in &self.honest {
            for epoch in x.publish_epochs.clone() {
                let ids = self.published.get(&(slot, epoch));
                match ids.map(BTreeSet::len).unwrap_or(0) {
                    1 => {
                        let id = ids.and_then(|s| s.first()).copied().expect("one id");
                        honest_atxs.entry(epoch).or_default().insert(id);
                    }
                    n if !x.equivocators.contains(&id) => f.push(at(
                        Some(slot),
                        format!("published {n} ATXs in epoch {epoch}, expected 1"),
                        "atx-per-epoch",
                    )),
                    _ => {}
                }
            }
        }
        let total: usize = honest_atxs.values().map(BTreeSet::len).sum();
        let (o, viol) = outcome(f, format!("{total} honest ATXs, one per node and epoch"));
        v.outcomes.push(("atx-per-epoch".into(), o));
        v.violations.extend(viol);

        // Every honest ATX accepted by every honest node.
        let mut f: Vec<Violation> = self.rejected.clone();
        for ids in honest_atxs.values() {
            for id in ids {
                let n = self.accepted.get(id).copied().unwrap_or(0);
                if n < honest_n {
                    f.push(at(
                        None,
                        format!("ATX {id} accepted by {n} of {honest_n} honest nodes"),
                        "atx-accepted",
                    ));
                }
            }
        }
        let (o, viol) =
            outcome(f, format!("every honest ATX accepted by all {honest_n} honest nodes"));
        v.outcomes.push(("atx-accepted".into(), o));
        v.violations.extend(viol);

        // Active sets: one per epoch, everyone, honest ATXs in, equivocators out.
        let mut f = Vec::new();
        for epoch in x.agree_epochs.clone() {
            let sets = self.active_sets.get(&epoch);
            let reported: usize = sets.map_or(0, |s| s.values().map(Vec::len).sum());
            if sets.map_or(0, BTreeMap::len) != 1 || reported != self.honest.len() {
                f.push(at(
                    None,
                    format!(
                        "epoch {epoch}: {} distinct active sets over {reported} of {} nodes",
                        sets.map_or(0, BTreeMap::len),
                        self.honest.len()
                    ),
                    "active-set-agreement",
                ));
                continue;
            }
            let size = sets.and_then(|s| s.keys().next()).map_or(0, |(_, size)| *size);
            let honest_prev = honest_atxs.get(&(epoch - 1)).map_or(0, BTreeSet::len) as u32;
            // Equivocators count until their double publish.
            let before = if epoch - 1 < x.equivocation_epoch {
                self.equivocator_slots
                    .iter()
                    .filter(|s| self.published.contains_key(&(**s, epoch - 1)))
                    .count() as u32
            } else {
                // Suspects that never equivocated stay in.
                idle.iter().filter(|s| self.published.contains_key(&(**s, epoch - 1))).count()
                    as u32
            };
            let (byz_min, byz_max) = self.byzantine_counted(epoch);
            let expected = honest_prev + before;
            if size < expected + byz_min || size > expected + byz_max {
                let byz = if byz_min == byz_max {
                    format!("{byz_min}")
                } else {
                    format!("{byz_min}-{byz_max}")
                };
                f.push(at(
                    None,
                    format!(
                        "epoch {epoch}: active set has {size} ATXs, expected {honest_prev} honest, {before} from identities not yet proven malicious and {byz} from adversaries"
                    ),
                    "active-set-agreement",
                ));
            }
        }
        let (o, viol) = outcome(
            f,
            format!("all nodes agree on the active sets of epochs {:?}", x.agree_epochs),
        );
        v.outcomes.push(("active-set-agreement".into(), o));
        v.violations.extend(viol);

        // Beacons: one per epoch, everyone.
        let mut f = Vec::new();
        for epoch in x.agree_epochs.clone() {
            let b = self.beacons.get(&epoch);
            let reported: usize = b.map_or(0, |s| s.values().map(Vec::len).sum());
            if b.map_or(0, BTreeMap::len) != 1 || reported != self.honest.len() {
                let split: Vec<String> = b
                    .map(|m| m.iter().map(|(beacon, n)| format!("{beacon}: {}", n.len())).collect())
                    .unwrap_or_default();
                f.push(at(
                    None,
                    format!(
                        "epoch {epoch}: {} distinct beacons over {reported} of {} nodes ({})",
                        b.map_or(0, BTreeMap::len),
                        self.honest.len(),
                        split.join(", ")
                    ),
                    "beacon-agreement",
                ));
            }
        }
        let (o, viol) =
            outcome(f, format!("all nodes agree on the beacons of epochs {:?}", x.agree_epochs));
        v.outcomes.push(("beacon-agreement".into(), o));
        v.violations.extend(viol);

        // Proposals: every slot used in its epoch, layers near the average the slot formula gives
        // (the configured average, less what `max(1, ⌊·⌋)` rounds away).
        let mut f = Vec::new();
        let lpe = x.layers_per_epoch;
        let per_layer = |l: u32| self.eligibilities.get(&LayerId(l)).copied().unwrap_or(0);
        let mut means = Vec::new();
        for epoch in (x.ballot_layers.start() / lpe)..=(x.ballot_layers.end() / lpe) {
            let layers: Vec<u32> = x.ballot_layers.clone().filter(|l| l / lpe == epoch).collect();
            if layers.len() as u32 != lpe {
                continue;
            }
            let declared: u64 = self
                .slots
                .iter()
                .filter(|((_, e), _)| *e == epoch)
                .map(|(_, s)| u64::from(*s))
                .sum();
            let used: u64 = layers.iter().map(|l| per_layer(*l)).sum();
            // A node that replaced its beacon before its ref ballot proves its slots again with
            // the new one, and the slots that fall in layers already past are lost; so are the
            // slots of layers in which a node was not synced (it builds no proposal then, as
            // go-spacemesh's builder does not).
            let unexplained = self
                .slots
                .keys()
                .filter(|k| k.1 == epoch && self.short_of_slots(k) && !self.unsynced_in(k))
                .count();
            let lost_allowed = self.replaced_beacons.contains(&epoch) || unexplained == 0;
            if used > declared || (used < declared && !lost_allowed) {
                f.push(at(
                    None,
                    format!("epoch {epoch}: {used} eligibilities used, {declared} slots declared"),
                    "proposals-per-layer",
                ));
            }
            let expected = declared as f64 / f64::from(lpe);
            means.push(expected);
            // Each slot picks its layer uniformly: about Poisson(expected) per layer.
            let spread = 5.0 * expected.sqrt() + 1.0;
            for l in layers {
                let n = per_layer(l) as f64;
                if (n - expected).abs() > spread {
                    f.push(at(
                        None,
                        format!(
                            "layer {l}: {n} eligibilities, expected {expected:.1} ± {spread:.1}"
                        ),
                        "proposals-per-layer",
                    ));
                }
            }
        }
        let avg = f64::from(x.layer_avg_size);
        let mean = means.iter().sum::<f64>() / means.len().max(1) as f64;
        if mean < 0.5 * avg || mean > 1.5 * avg {
            f.push(at(
                None,
                format!("expected {mean:.1} eligibilities per layer, configured {avg}"),
                "proposals-per-layer",
            ));
        }
        let mut lost = if self.replaced_beacons.is_empty() {
            String::new()
        } else {
            format!(
                " (slots in past layers lost to a replaced beacon in epochs {:?})",
                self.replaced_beacons
            )
        };
        let short_unsynced =
            self.slots.keys().filter(|k| self.short_of_slots(k) && self.unsynced_in(k)).count();
        if short_unsynced > 0 {
            lost.push_str(&format!(
                " (slots of layers in which their node was not synced lost: {short_unsynced} node epochs)"
            ));
        }
        let (o, viol) = outcome(
            f,
            format!(
                "every slot used{lost}; {mean:.1} eligibilities per layer expected from the declared slots (configured {avg})"
            ),
        );
        v.outcomes.push(("proposals-per-layer".into(), o));
        v.violations.extend(viol);
        v.stats.push(("eligibilities_per_layer".into(), mean));
        v.stats.push(("beacon_fallbacks".into(), self.beacon_fallbacks as f64));
        for (topic, n) in &self.published_by_topic {
            v.stats.push((format!("published_{topic}"), *n as f64));
        }
        // Malfeasance: equivocators proven everywhere in time, honest never accused.
        let mut f = Vec::new();
        let byzantine: BTreeMap<NodeId, Role> =
            x.byzantine.values().map(|(id, role)| (*id, *role)).collect();
        for (smesher, role) in &byzantine {
            let by = self.accusations.get(smesher);
            match role.accused {
                Accused::Never => {
                    if let Some(by) = by {
                        f.push(at(
                            by.keys().next().copied(),
                            format!(
                                "{} {smesher} accused by {} nodes, though it never signs two conflicting messages",
                                role.what,
                                by.len()
                            ),
                            "malfeasance",
                        ));
                    }
                }
                Accused::Maybe => {}
                Accused::By(deadline) => {
                    let in_time = by.map_or(0, |b| {
                        b.iter()
                            .filter(|(n, t)| self.honest_slots.contains(n) && **t <= deadline)
                            .count()
                    });
                    if in_time < self.honest.len() {
                        f.push(at(
                            None,
                            format!(
                                "{} {smesher} proven at only {in_time} of {} honest nodes by {:.0} s",
                                role.what,
                                self.honest.len(),
                                deadline.as_secs_f64()
                            ),
                            "malfeasance",
                        ));
                    }
                }
            }
        }
        for (smesher, by) in &self.accusations {
            if !guilty.contains(smesher) && !byzantine.contains_key(smesher) {
                f.push(at(
                    by.keys().next().copied(),
                    format!("honest identity {smesher} accused by {} nodes", by.len()),
                    "malfeasance",
                ));
            }
        }
        for e in &guilty {
            let by = self.accusations.get(e);
            let in_time = by.map_or(0, |b| {
                b.iter()
                    .filter(|(n, t)| {
                        self.honest_slots.contains(n) && **t <= x.equivocation_deadline
                    })
                    .count()
            });
            if in_time < self.honest.len() {
                f.push(at(
                    None,
                    format!(
                        "equivocator {e} proven at only {in_time} of {} honest nodes in time",
                        self.honest.len()
                    ),
                    "malfeasance",
                ));
            }
        }
        let (o, viol) = outcome(
            f,
            format!(
                "{} equivocators proven at every honest node; {}; no honest identity accused",
                guilty.len(),
                byzantine_summary(&byzantine, &self.accusations)
            ),
        );
        v.outcomes.push(("malfeasance".into(), o));
        v.violations.extend(viol);
        v
    }
}
