//! Checks of the mesh: the block and state each honest node applies per layer, the layers its
//! tortoise verified, reverts, liveness and sync, judged from the `NodeEvent`s of honest nodes
//! only.
//!
//! Safety is judged on verified layers. A node may apply a layer and later revert it while the
//! tortoise has not verified it (a hare output can lose to later votes), but:
//! 1. two honest nodes that both verified a layer hold the same block and state hash for it
//!    (`mesh-agreement`), compared at the end of the run, where the latest application of a
//!    layer counts; and two honest nodes whose last settled layer (the last verified one at
//!    least `hdist` behind their last layer) is the same report the same chained opinion hash
//!    for it (`opinion-agreement`: the hash covers every earlier layer and, beyond `hdist`,
//!    names the valid blocks; nearer layers name each node's own hare outputs, which a node
//!    that missed one legitimately lacks; opinions reported on the way may differ while votes
//!    are still arriving);
//! 2. a node never undoes a layer it verified (`no-verified-revert`).
//!
//! Property 2 needs a connected network. During a partition each side verifies on its own
//! ballots, and once the sides see each other the self-healing tortoise may revert what one of
//! them verified. A [`RevertWindow`] names such a fault: the layers a node verified before the
//! fault began stay protected (they were verified on everybody's ballots), the ones it verified
//! later may be undone until the window ends (the heal plus the time the tortoise needs to
//! converge), and after that nothing verified may be undone again.
//!
//! Liveness and sync are judged at the end of the run, for the honest nodes that are up then:
//! each has verified at least the current layer minus a bound and applied every layer up to
//! its verified one (`mesh-liveness`); with [`MeshExpect::sync`], each node that started after
//! time zero (a late joiner or a restarted node) reported itself synced after its last start
//! (`sync`).
//!
//! The end of the run does not see a node that stalls for a while and recovers. With
//! [`MeshExpect::synced_lag`], liveness is also judged all run long (`synced-liveness`): a node
//! that reports itself synced keeps up with the network, verifying past any layer within a
//! layer's time of the moment an honest node first verified that many layers past it. It is
//! judged from that many layers after its report until it reports otherwise (or crashes), when
//! the stall ends: at the node's next verified layer, its next sync report, its crash, or the
//! end of the run. It is relative to the network, not the clock, because the whole network
//! legitimately verifies nothing for a few layers while the tortoise heals (a hare output that
//! came late; the full mode then takes over). Inside the revert window the bound is off (a
//! split network verifies nothing on the smaller side), and it applies again that many layers
//! after the window.

use std::collections::{BTreeMap, BTreeSet};

use spacemesh_core::node::ConsensusEvent;
use spacemesh_core::types::BlockId;
use spacemesh_core::{Hash32, LayerId, NodeEvent};
use spacemesh_runtime_sim::SimNet;
use spacemesh_sim::{NodeIdx, SimDuration, SimTime};

use super::{CheckOutcome, Checker, Checks, VIOLATIONS_PER_CHECK_MAX, Verdict, Violation, outcome};
use crate::LAYER_DURATION_SECS;

/// What a scenario demands of the mesh.
#[derive(Debug, Clone)]
pub struct MeshExpect {
    /// The first layer the mesh applies from ballots and blocks (the first layer with ballots;
    /// the layers before it are genesis layers and are not demanded).
    pub first_layer: u32,
    /// At the end of the run every honest node that is up has verified at least the current
    /// layer minus this many layers.
    pub liveness_bound: u32,
    /// Verified layers a fault may legitimately undo; `None`: no verified layer is ever undone.
    pub reverts_allowed: Option<RevertWindow>,
    /// Whether every node that started after time zero (late or restarted) must report
    /// `Sync { synced: true }` after its last start.
    pub sync: bool,
    /// A node that reported itself synced keeps its verified layer within this many layers of
    /// the most advanced honest node's all along (see the module docs); `None`: judged at the
    /// end only.
    pub synced_lag: Option<u32>,
}

/// A fault under which the tortoise may revert layers it verified on a partial view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevertWindow {
    /// When the fault began: layers a node verified before this are never undone.
    pub from: SimTime,
    /// Reverts of layers verified since `from` are tolerated until this time; later ones are
    /// violations.
    pub until: SimTime,
}

/// One application of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Applied {
    block: Option<BlockId>,
    state: Hash32,
    issued: u64,
}

/// What one honest node reported.
#[derive(Debug, Default)]
struct NodeMesh {
    /// The latest application of each layer still applied.
    applied: BTreeMap<u32, Applied>,
    /// The last verified layer it reported since its last start.
    verified: Option<u32>,
    /// The settled layer and its chained opinion hash, reported with it.
    settled: Option<(u32, Hash32)>,
    /// The highest layer it verified that no tolerated revert has undone since. It outlives
    /// restarts: a layer verified before a crash must not be undone after it either. Tracked
    /// apart from `verified` so that a revert is judged the same whether the node reports its
    /// verified layer moving back before or after the revert.
    verified_high: Option<u32>,
    /// The highest layer it verified before the revert window began.
    verified_before_fault: Option<u32>,
    /// Its last start.
    started: SimTime,
    /// Whether it reported itself synced since its last start.
    synced: bool,
    /// Since when its latest sync report says synced (`None`: unsynced, or not reported since
    /// its last start).
    in_sync: Option<SimTime>,
}

/// Judges the mesh: agreement on verified layers, no verified revert, liveness and sync.
#[derive(Debug)]
pub struct MeshChecker {
    expect: MeshExpect,
    honest: BTreeSet<NodeIdx>,
    nodes: BTreeMap<NodeIdx, NodeMesh>,
    applies: u64,
    reverts: u64,
    reverts_tolerated: u64,
    /// Reverts of verified layers outside a revert window (the first ones in `revert_failures`).
    verified_reverts: u64,
    revert_failures: Vec<Violation>,
    /// Stalls of synced nodes beyond [`MeshExpect::synced_lag`] (the first ones in
    /// `stall_failures`).
    stalls: u64,
    stall_failures: Vec<Violation>,
    /// The most layers a synced node's verified layer was behind the most advanced honest
    /// node's when it advanced, where the bound applied.
    synced_lag_max: u32,
    /// Each new highest layer an honest node verified, with when that happened first.
    firsts: Vec<(u32, SimTime)>,
}

impl MeshChecker {
    /// A checker over the honest node slots.
    pub fn new(honest: BTreeSet<NodeIdx>, expect: MeshExpect) -> Self {
        MeshChecker {
            expect,
            honest,
            nodes: BTreeMap::new(),
            applies: 0,
            reverts: 0,
            reverts_tolerated: 0,
            verified_reverts: 0,
            revert_failures: Vec::new(),
            stalls: 0,
            stall_failures: Vec::new(),
            synced_lag_max: 0,
            firsts: Vec::new(),
        }
    }

    /// When an honest node first verified `layer` or a later one.
    fn first_verified(&self, layer: u32) -> Option<SimTime> {
        let i = self.firsts.partition_point(|(l, _)| *l < layer);
        self.firsts.get(i).map(|(_, t)| *t)
    }

    /// When `m`, synced since `since` and at `base`, must have verified past it: a layer after
    /// an honest node first verified `bound` layers past it, and no sooner than `bound` layers
    /// after its report or after the revert window (`None`: no node got that far yet). Also
    /// whether the bound applies at `now` at all (not within `bound` layers of the report, nor
    /// inside the window or `bound` layers after it).
    fn stall_deadline(
        &self,
        base: u32,
        since: SimTime,
        bound: u32,
        now: SimTime,
    ) -> (Option<SimTime>, bool) {
        let grace = SimDuration::from_secs(u64::from(bound) * LAYER_DURATION_SECS);
        let slack = SimDuration::from_secs(LAYER_DURATION_SECS);
        let mut deadline =
            self.first_verified(base + bound + 1).map(|t| (t + slack).max(since + grace));
        let mut applies = now >= since + grace;
        if let Some(w) = self.expect.reverts_allowed {
            if let Some(d) = deadline.as_mut()
                && *d >= w.from
                && *d < w.until + grace
            {
                *d = w.until + grace;
            }
            applies &= now < w.from || now >= w.until + grace;
        }
        (deadline, applies)
    }

    /// The stretch up to `now` in which `node` verified nothing new, if it was synced: how
    /// many layers it was behind the most advanced honest node, if the bound applies at `now`,
    /// and a violation of `synced-liveness` if the stretch lasted past the deadline.
    fn stall(&self, now: SimTime, node: NodeIdx) -> (Option<u32>, Option<Violation>) {
        let Some(bound) = self.expect.synced_lag else { return (None, None) };
        let Some(m) = self.nodes.get(&node) else { return (None, None) };
        let Some(since) = m.in_sync else { return (None, None) };
        let base = m.verified.unwrap_or(0).max(self.expect.first_layer.saturating_sub(1));
        let (deadline, applies) = self.stall_deadline(base, since, bound, now);
        let high = self.firsts.last().map_or(0, |(l, _)| *l);
        let lag = applies.then(|| high.saturating_sub(base));
        let Some(deadline) = deadline.filter(|d| now > *d) else { return (lag, None) };
        let ahead = base + bound + 1;
        let first = self.first_verified(ahead).unwrap_or(now);
        let v = Violation {
            check: "synced-liveness".into(),
            time_s: now.as_secs_f64(),
            node: Some(node.0),
            message: format!(
                "{node}, synced since {:.1} s, verified nothing past layer {base} from {:.1} s to {:.1} s (layer {}), though an honest node verified layer {ahead} at {:.1} s: more than {bound} layers behind",
                since.as_secs_f64(),
                deadline.as_secs_f64(),
                now.as_secs_f64(),
                layer_of(now),
                first.as_secs_f64(),
            ),
        };
        (lag, Some(v))
    }

    /// Judges `node`'s stretch without a new verified layer that ends at `now`.
    fn judge_stall(&mut self, now: SimTime, node: NodeIdx) {
        let (lag, violation) = self.stall(now, node);
        self.synced_lag_max = self.synced_lag_max.max(lag.unwrap_or(0));
        if let Some(v) = violation {
            self.stalls += 1;
            if self.stall_failures.len() < VIOLATIONS_PER_CHECK_MAX {
                self.stall_failures.push(v);
            }
        }
    }

    /// The `synced-liveness` outcome at `end`: the stalls judged as the events came, and those
    /// of the nodes up and synced at the end.
    fn synced_liveness(
        &self,
        end: SimTime,
        up: &impl Fn(NodeIdx) -> bool,
    ) -> (CheckOutcome, Vec<Violation>, u32) {
        let Some(bound) = self.expect.synced_lag else {
            return (outcome(Vec::new(), "not judged".to_string()).0, Vec::new(), 0);
        };
        let mut f = self.stall_failures.clone();
        let mut lag_max = self.synced_lag_max;
        let mut stalls = self.stalls;
        for node in self.honest.iter().copied().filter(|n| up(*n)) {
            let (lag, v) = self.stall(end, node);
            lag_max = lag_max.max(lag.unwrap_or(0));
            if let Some(v) = v {
                stalls += 1;
                if f.len() < VIOLATIONS_PER_CHECK_MAX {
                    f.push(v);
                }
            }
        }
        let detail = if stalls == 0 {
            format!(
                "every synced honest node kept within {bound} layers of the most advanced one (at most {lag_max} behind)"
            )
        } else {
            format!("{stalls} stalls of synced nodes past {bound} layers")
        };
        let (o, viol) = outcome(f, detail);
        (o, viol, lag_max)
    }

    fn on_verified(
        &mut self,
        time: SimTime,
        node: NodeIdx,
        layer: u32,
        settled: Option<(LayerId, Hash32)>,
    ) {
        let before_fault = self.expect.reverts_allowed.is_some_and(|w| time < w.from);
        let m = self.nodes.entry(node).or_default();
        m.verified = Some(layer);
        m.settled = settled.map(|(l, o)| (l.0, o));
        m.verified_high = m.verified_high.max(Some(layer));
        if before_fault {
            m.verified_before_fault = m.verified_before_fault.max(Some(layer));
        }
    }

    fn on_reverted(&mut self, time: SimTime, node: NodeIdx, from: u32, to: u32) {
        self.reverts += 1;
        let window = self.expect.reverts_allowed;
        let m = self.nodes.entry(node).or_default();
        m.applied.retain(|layer, _| *layer < from || *layer > to);
        let Some(high) = m.verified_high.filter(|high| from <= *high) else {
            // Only layers the tortoise had not verified were undone.
            return;
        };
        let tolerated = window.is_some_and(|w| {
            time >= w.from && time <= w.until && m.verified_before_fault.is_none_or(|v| from > v)
        });
        if tolerated {
            self.reverts_tolerated += 1;
            m.verified_high = from.checked_sub(1);
            return;
        }
        self.verified_reverts += 1;
        if self.revert_failures.len() < VIOLATIONS_PER_CHECK_MAX {
            self.revert_failures.push(Violation {
                check: "no-verified-revert".into(),
                time_s: time.as_secs_f64(),
                node: Some(node.0),
                message: format!(
                    "{node} reverted layers {from}..={to} after verifying layer {high}{}",
                    if window.is_some() { " (outside the fault's revert window)" } else { "" }
                ),
            });
        }
    }

    /// Per layer, the honest nodes that verified and applied it, grouped by `key` of what they
    /// applied.
    fn views<K: Ord>(
        &self,
        key: impl Fn(&Applied) -> K,
    ) -> BTreeMap<u32, BTreeMap<K, Vec<NodeIdx>>> {
        let mut views: BTreeMap<u32, BTreeMap<K, Vec<NodeIdx>>> = BTreeMap::new();
        for (node, m) in &self.nodes {
            let Some(verified) = m.verified else { continue };
            for (layer, a) in m.applied.range(..=verified) {
                views.entry(*layer).or_default().entry(key(a)).or_default().push(*node);
            }
        }
        views
    }

    /// The violations of one agreement property: every layer whose views differ, naming one
    /// node of each of the first two views.
    fn disagreements<K: Ord>(
        end: SimTime,
        check: &str,
        views: &BTreeMap<u32, BTreeMap<K, Vec<NodeIdx>>>,
        describe: impl Fn(u32, &K, NodeIdx) -> String,
    ) -> Vec<Violation> {
        let mut f = Vec::new();
        for (layer, by_value) in views {
            let mut groups = by_value.iter();
            let (Some((ka, a)), Some((kb, b))) = (groups.next(), groups.next()) else { continue };
            f.push(Violation {
                check: check.into(),
                time_s: end.as_secs_f64(),
                node: Some(b[0].0),
                message: format!(
                    "layer {layer}: {} holds {}, {} holds {} ({} views among {} nodes)",
                    a[0],
                    describe(*layer, ka, a[0]),
                    b[0],
                    describe(*layer, kb, b[0]),
                    by_value.len(),
                    by_value.values().map(Vec::len).sum::<usize>()
                ),
            });
        }
        f
    }

    /// The verdict at `end`, judging liveness and sync for the honest nodes `up` says are up.
    fn judge(&self, end: SimTime, up: impl Fn(NodeIdx) -> bool) -> Verdict {
        let mut v = Verdict::default();

        // Agreement on block and state, then on the opinion, of every layer verified twice.
        let blocks = self.views(|a| (a.block, a.state));
        let f = Self::disagreements(end, "mesh-agreement", &blocks, |layer, _, n| {
            let a = &self.nodes[&n].applied[&layer];
            format!("block {} state {}", block_name(a.block), short(&a.state))
        });
        let agreed: Vec<u32> =
            blocks.iter().filter(|(_, by)| by.len() == 1).map(|(layer, _)| *layer).collect();
        let (o, viol) = outcome(
            f,
            format!(
                "honest nodes hold the same block and state in every layer they verified ({} layers)",
                blocks.len()
            ),
        );
        v.outcomes.push(("mesh-agreement".into(), o));
        v.violations.extend(viol);
        let mut opinions: BTreeMap<u32, BTreeMap<Hash32, Vec<NodeIdx>>> = BTreeMap::new();
        for (node, m) in &self.nodes {
            if let Some((layer, opinion)) = m.settled {
                opinions.entry(layer).or_default().entry(opinion).or_default().push(*node);
            }
        }
        let f = Self::disagreements(end, "opinion-agreement", &opinions, |_, o, _| {
            format!("opinion {} as its settled layer", short(o))
        });
        let (o, viol) = outcome(
            f,
            format!(
                "honest nodes with the same settled layer (verified, hdist behind their last) hold the same opinion hash ({} such layers)",
                opinions.len()
            ),
        );
        v.outcomes.push(("opinion-agreement".into(), o));
        v.violations.extend(viol);

        // No verified revert (judged as the events came).
        let (o, viol) = outcome(
            self.revert_failures.clone(),
            format!(
                "no verified layer undone ({} reverts, {} of them of layers verified during a fault, inside its window)",
                self.reverts, self.reverts_tolerated
            ),
        );
        v.outcomes.push(("no-verified-revert".into(), o));
        v.violations.extend(viol);

        let (o, viol) = self.liveness(end, &up);
        v.outcomes.push(("mesh-liveness".into(), o));
        v.violations.extend(viol);
        let (o, viol) = self.sync(end, &up);
        v.outcomes.push(("sync".into(), o));
        v.violations.extend(viol);
        let (o, viol, lag_max) = self.synced_liveness(end, &up);
        v.outcomes.push(("synced-liveness".into(), o));
        v.violations.extend(viol);

        let up_nodes: Vec<&NodeMesh> =
            self.honest.iter().filter(|n| up(**n)).filter_map(|n| self.nodes.get(n)).collect();
        let verified = up_nodes.iter().map(|m| m.verified.unwrap_or(0));
        let applied = up_nodes.iter().map(|m| m.applied.len());
        let issued: u64 = agreed
            .iter()
            .filter_map(|layer| blocks[layer].values().next().map(|n| (layer, n[0])))
            .map(|(layer, n)| self.nodes[&n].applied[layer].issued)
            .sum();
        let stats = [
            ("mesh_verified_min", verified.clone().min().unwrap_or(0) as f64),
            ("mesh_verified_max", verified.max().unwrap_or(0) as f64),
            ("mesh_layers_applied_min", applied.clone().min().unwrap_or(0) as f64),
            ("mesh_layers_applied_max", applied.max().unwrap_or(0) as f64),
            ("mesh_layers_agreed", agreed.len() as f64),
            ("mesh_apply_events", self.applies as f64),
            ("mesh_reverts", self.reverts as f64),
            ("mesh_reverts_tolerated", self.reverts_tolerated as f64),
            ("mesh_verified_reverts", self.verified_reverts as f64),
            ("mesh_issued_agreed", issued as f64),
            ("mesh_synced_lag_max", f64::from(lag_max)),
        ];
        v.stats.extend(stats.into_iter().map(|(k, s)| (k.to_string(), s)));
        v
    }

    /// The `mesh-liveness` outcome at `end` over the honest nodes that are up.
    fn liveness(
        &self,
        end: SimTime,
        up: &impl Fn(NodeIdx) -> bool,
    ) -> (CheckOutcome, Vec<Violation>) {
        let x = &self.expect;
        let current = layer_of(end);
        let needed = current.saturating_sub(x.liveness_bound);
        let empty = NodeMesh::default();
        let mut f = Vec::new();
        let mut judged = 0;
        for node in self.honest.iter().copied().filter(|n| up(*n)) {
            judged += 1;
            let m = self.nodes.get(&node).unwrap_or(&empty);
            if needed >= x.first_layer && m.verified.is_none_or(|v| v < needed) {
                let verified = m.verified.map_or("no layer".to_string(), |v| format!("layer {v}"));
                f.push(at(
                    end,
                    node,
                    format!(
                        "{node} verified {verified} at layer {current}, expected at least layer {needed}"
                    ),
                    "mesh-liveness",
                ));
            }
            let top = m.verified.unwrap_or(0);
            let missing: Vec<u32> =
                (x.first_layer..=top).filter(|l| !m.applied.contains_key(l)).collect();
            if let Some(first) = missing.first() {
                f.push(at(
                    end,
                    node,
                    format!(
                        "{node} verified layer {top} but has not applied {} layers up to it, the first {first}",
                        missing.len()
                    ),
                    "mesh-liveness",
                ));
            }
        }
        outcome(
            f,
            format!(
                "all {judged} honest nodes up at layer {current} verified layer {needed} or later and applied every layer up to it"
            ),
        )
    }

    /// The `sync` outcome at `end`: every node up that started after time zero reported
    /// itself synced after its last start.
    fn sync(&self, end: SimTime, up: &impl Fn(NodeIdx) -> bool) -> (CheckOutcome, Vec<Violation>) {
        if !self.expect.sync {
            return outcome(Vec::new(), "not judged".to_string());
        }
        let mut f = Vec::new();
        let mut restarted = 0;
        for node in self.honest.iter().copied().filter(|n| up(*n)) {
            let Some(m) = self.nodes.get(&node).filter(|m| m.started > SimTime::ZERO) else {
                continue;
            };
            restarted += 1;
            if !m.synced {
                f.push(at(
                    end,
                    node,
                    format!(
                        "{node} started at {:.1} s and never reported itself synced after",
                        m.started.as_secs_f64()
                    ),
                    "sync",
                ));
            }
        }
        outcome(
            f,
            format!("all {restarted} nodes up that started late or restarted reported synced"),
        )
    }
}

impl Checker for MeshChecker {
    fn on_event(&mut self, time: SimTime, node: NodeIdx, event: &NodeEvent) {
        if !self.honest.contains(&node) {
            return;
        }
        let e = match event {
            NodeEvent::Started { .. } => {
                // The new process reports its own verified layer; what it applied is on disk.
                self.judge_stall(time, node);
                let m = self.nodes.entry(node).or_default();
                m.started = time;
                m.synced = false;
                m.in_sync = None;
                m.verified = None;
                return;
            }
            NodeEvent::Consensus(e) => &**e,
            _ => return,
        };
        match e {
            ConsensusEvent::LayerApplied { layer, block, state, issued, .. } => {
                self.applies += 1;
                let a = Applied { block: *block, state: *state, issued: *issued };
                self.nodes.entry(node).or_default().applied.insert(layer.0, a);
            }
            ConsensusEvent::Verified { layer, settled, .. } => {
                if self.firsts.last().is_none_or(|(high, _)| layer.0 > *high) {
                    self.firsts.push((layer.0, time));
                }
                self.judge_stall(time, node);
                self.on_verified(time, node, layer.0, *settled)
            }
            ConsensusEvent::Reverted { from, to } => self.on_reverted(time, node, from.0, to.0),
            ConsensusEvent::Sync { synced: true, .. } => {
                let m = self.nodes.entry(node).or_default();
                m.synced = true;
                m.in_sync = m.in_sync.or(Some(time));
            }
            ConsensusEvent::Sync { synced: false, .. } => {
                self.judge_stall(time, node);
                self.nodes.entry(node).or_default().in_sync = None;
            }
            _ => {}
        }
    }

    fn finish(&self, end: SimTime, world: &SimNet<Checks>) -> Verdict {
        self.judge(end, |n| world.node(n).is_some())
    }

    fn settled(&self, now: SimTime, world: &SimNet<Checks>) -> bool {
        self.liveness(now, &|n| world.node(n).is_some()).0.passed
    }
}

/// A violation of `check` at `node`, found at the end of the run.
/// The layer under way at `t`.
fn layer_of(t: SimTime) -> u32 {
    (t.as_secs() / LAYER_DURATION_SECS) as u32
}

fn at(end: SimTime, node: NodeIdx, message: String, check: &str) -> Violation {
    Violation { check: check.into(), time_s: end.as_secs_f64(), node: Some(node.0), message }
}

/// The first 8 hex digits of a hash.
fn short(h: &Hash32) -> String {
    h.to_string()[..8].to_string()
}

/// A block's first 8 hex digits, or what `None` means.
fn block_name(b: Option<BlockId>) -> String {
    b.map_or("none (empty layer)".to_string(), |b| b.to_string()[..8].to_string())
}

#[cfg(test)]
mod tests {
    use spacemesh_core::LayerId;

    use super::*;

    const FIRST: u32 = 16;

    fn expect() -> MeshExpect {
        MeshExpect {
            first_layer: FIRST,
            liveness_bound: 3,
            reverts_allowed: None,
            sync: false,
            synced_lag: None,
        }
    }

    fn secs(s: u64) -> SimTime {
        SimTime::from_secs(s)
    }

    fn consensus(c: &mut MeshChecker, t: SimTime, node: u32, e: ConsensusEvent) {
        c.on_event(t, NodeIdx(node), &NodeEvent::Consensus(Box::new(e)));
    }

    /// Node `node` applies `layer` with a block, state and opinion named by `tag`.
    fn apply(c: &mut MeshChecker, t: SimTime, node: u32, layer: u32, tag: u8, opinion: u8) {
        let e = ConsensusEvent::LayerApplied {
            layer: LayerId(layer),
            block: Some(BlockId([tag; 20])),
            state: Hash32([tag; 32]),
            root: Hash32([tag; 32]),
            opinion: Hash32([opinion; 32]),
            issued: 100,
            fees: 0,
        };
        consensus(c, t, node, e);
    }

    fn verify(c: &mut MeshChecker, t: SimTime, node: u32, layer: u32) {
        let opinion = Hash32([layer as u8; 32]);
        let settled = Some((LayerId(layer.saturating_sub(3)), Hash32([layer as u8 ^ 0x80; 32])));
        consensus(c, t, node, ConsensusEvent::Verified { layer: LayerId(layer), opinion, settled });
    }

    fn sync(synced: bool) -> ConsensusEvent {
        ConsensusEvent::Sync { synced, layer: LayerId(15), applied: LayerId(14) }
    }

    fn revert(c: &mut MeshChecker, t: SimTime, node: u32, from: u32, to: u32) {
        consensus(c, t, node, ConsensusEvent::Reverted { from: LayerId(from), to: LayerId(to) });
    }

    /// `nodes` nodes apply layers `FIRST..=last` alike, each verifying the previous layer after
    /// applying the next: at the end (the start of layer `last + 1`) they have verified
    /// `last - 1`.
    fn agreeing(nodes: u32, last: u32, expect: MeshExpect) -> MeshChecker {
        agreeing_but(nodes, last, expect, |_, _| false)
    }

    /// As [`agreeing`], every node reporting itself synced at time zero, except that node `n`
    /// does not report the verified layer it would at `layer` where `skip(n, layer)`.
    fn agreeing_but(
        nodes: u32,
        last: u32,
        expect: MeshExpect,
        skip: impl Fn(u32, u32) -> bool,
    ) -> MeshChecker {
        let mut c = MeshChecker::new((0..nodes).map(NodeIdx).collect(), expect);
        for node in 0..nodes {
            c.on_event(SimTime::ZERO, NodeIdx(node), &NodeEvent::Started { next_heartbeat_seq: 0 });
            consensus(&mut c, SimTime::ZERO, node, sync(true));
        }
        for layer in FIRST..=last {
            for node in 0..nodes {
                let t = secs(u64::from(layer) * LAYER_DURATION_SECS + 5);
                apply(&mut c, t, node, layer, layer as u8, layer as u8);
                if layer > FIRST && !skip(node, layer) {
                    verify(&mut c, t + spacemesh_sim::SimDuration::from_secs(1), node, layer - 1);
                }
            }
        }
        c
    }

    fn end_of(last: u32) -> SimTime {
        secs(u64::from(last + 1) * LAYER_DURATION_SECS)
    }

    fn outcome_of<'a>(v: &'a Verdict, check: &str) -> &'a CheckOutcome {
        &v.outcomes.iter().find(|(name, _)| name == check).expect("check reported").1
    }

    fn stat(v: &Verdict, name: &str) -> f64 {
        v.stats.iter().find(|(n, _)| n == name).expect("stat reported").1
    }

    /// A run in which every node applies and verifies the same layers passes every check.
    #[test]
    fn agreeing_stream_passes() {
        let c = agreeing(4, 22, expect());
        let v = c.judge(end_of(22), |_| true);
        for (name, o) in &v.outcomes {
            assert!(o.passed, "{name}: {}", o.detail);
        }
        assert!(v.violations.is_empty(), "{:?}", v.violations);
        assert_eq!(stat(&v, "mesh_verified_min"), 21.0);
        assert_eq!(stat(&v, "mesh_layers_agreed"), 6.0, "layers 16..=21 verified");
        assert_eq!(stat(&v, "mesh_issued_agreed"), 600.0);
        assert_eq!(stat(&v, "mesh_layers_applied_max"), 7.0);
    }

    /// Two nodes that verified a layer with different blocks fail `mesh-agreement`, which
    /// names the layer and both nodes; a difference in a layer not yet verified is no violation.
    #[test]
    fn split_block_fails_agreement() {
        let mut c = agreeing(4, 22, expect());
        apply(&mut c, secs(300), 2, 18, 0xee, 18);
        apply(&mut c, secs(300), 3, 22, 0xee, 22);
        let v = c.judge(end_of(22), |_| true);
        let o = outcome_of(&v, "mesh-agreement");
        assert!(!o.passed);
        assert!(o.detail.contains("layer 18: node 0 holds block"), "{}", o.detail);
        assert!(o.detail.contains("node 2 holds block eeeeeeee"), "{}", o.detail);
        assert_eq!(v.violations.iter().filter(|x| x.check == "mesh-agreement").count(), 1);
        assert!(outcome_of(&v, "opinion-agreement").passed, "the opinions are equal");
    }

    /// The same block and state with another opinion hash for the same settled layer fails
    /// `opinion-agreement` only.
    #[test]
    fn split_opinion_fails_opinion_agreement() {
        let mut c = agreeing(3, 22, expect());
        let (opinion, settled) = (Hash32([21; 32]), Some((LayerId(18), Hash32([0x77; 32]))));
        let e = ConsensusEvent::Verified { layer: LayerId(21), opinion, settled };
        consensus(&mut c, secs(300), 1, e);
        let v = c.judge(end_of(22), |_| true);
        assert!(outcome_of(&v, "mesh-agreement").passed);
        let o = outcome_of(&v, "opinion-agreement");
        assert!(!o.passed);
        assert!(
            o.detail.contains("layer 18") && o.detail.contains("holds opinion 77777777"),
            "{}",
            o.detail
        );
    }

    /// Within hdist the opinion names the node's own hare outputs: a node that missed one
    /// reports another opinion for the same verified layer, and that is no violation while the
    /// settled layer's opinion is the same.
    #[test]
    fn missed_hare_output_within_hdist_is_no_disagreement() {
        let mut c = agreeing(3, 22, expect());
        let settled = Some((LayerId(18), Hash32([21 ^ 0x80; 32])));
        let e =
            ConsensusEvent::Verified { layer: LayerId(21), opinion: Hash32([0x77; 32]), settled };
        consensus(&mut c, secs(300), 1, e);
        let v = c.judge(end_of(22), |_| true);
        let o = outcome_of(&v, "opinion-agreement");
        assert!(o.passed, "{}", o.detail);
    }

    /// Undoing a verified layer is a violation, also when the node reports its verified layer
    /// moving back first; undoing layers the tortoise had not verified is not.
    #[test]
    fn verified_revert_fails() {
        let mut c = agreeing(3, 22, expect());
        revert(&mut c, secs(225), 0, 22, 22);
        apply(&mut c, secs(226), 0, 22, 22, 22);
        let v = c.judge(end_of(22), |_| true);
        assert!(outcome_of(&v, "no-verified-revert").passed, "layer 22 was not verified");

        verify(&mut c, secs(227), 1, 17);
        revert(&mut c, secs(227), 1, 18, 22);
        let v = c.judge(end_of(22), |_| true);
        let o = outcome_of(&v, "no-verified-revert");
        assert!(!o.passed);
        assert!(
            o.detail.contains("node 1 reverted layers 18..=22 after verifying layer 21"),
            "{}",
            o.detail
        );
        assert_eq!(stat(&v, "mesh_reverts"), 2.0);
    }

    /// A layer verified before a crash stays protected after the restart, while the restarted
    /// node's own verified layer is judged afresh: until it reports one, it is not live.
    #[test]
    fn verified_layers_stay_protected_across_restarts() {
        let mut c = agreeing(3, 22, expect());
        c.on_event(secs(226), NodeIdx(2), &NodeEvent::Started { next_heartbeat_seq: 0 });
        let v = c.judge(end_of(22), |_| true);
        let o = outcome_of(&v, "mesh-liveness");
        assert!(!o.passed && o.detail.contains("node 2 verified no layer"), "{}", o.detail);
        revert(&mut c, secs(227), 2, 20, 22);
        let v = c.judge(end_of(22), |_| true);
        let o = outcome_of(&v, "no-verified-revert");
        assert!(!o.passed && o.detail.contains("after verifying layer 21"), "{}", o.detail);
    }

    /// Inside a fault's revert window, layers verified during the fault may be undone; layers
    /// verified before it may not, and after the window nothing verified may.
    #[test]
    fn revert_window_protects_layers_verified_before_the_fault() {
        let window = RevertWindow { from: secs(200), until: secs(260) };
        let mut c = agreeing(3, 24, MeshExpect { reverts_allowed: Some(window), ..expect() });
        // Verified by 200 s: up to layer 19 (verified at 206 s is 19, at 196 s 18).
        revert(&mut c, secs(230), 0, 20, 22);
        let v = c.judge(end_of(24), |_| true);
        assert!(outcome_of(&v, "no-verified-revert").passed);
        assert_eq!(stat(&v, "mesh_reverts_tolerated"), 1.0);

        revert(&mut c, secs(240), 1, 18, 22);
        let v = c.judge(end_of(24), |_| true);
        let o = outcome_of(&v, "no-verified-revert");
        assert!(!o.passed && o.detail.contains("node 1 reverted layers 18..=22"), "{}", o.detail);

        // Node 0 verifies again after its tolerated revert; undoing that after the window fails.
        verify(&mut c, secs(290), 0, 25);
        revert(&mut c, secs(300), 0, 24, 25);
        let v = c.judge(end_of(24), |_| true);
        assert_eq!(v.violations.iter().filter(|x| x.check == "no-verified-revert").count(), 2);
    }

    /// A node whose verified layer stalls fails `mesh-liveness` unless it is down at the end; a
    /// node that verified a layer it has not applied (reverted, never re-applied) fails too.
    #[test]
    fn liveness_stall_fails() {
        let mut c = agreeing(3, 22, expect());
        verify(&mut c, secs(225), 2, 17);
        let v = c.judge(end_of(22), |_| true);
        let o = outcome_of(&v, "mesh-liveness");
        assert!(!o.passed);
        assert!(
            o.detail.contains("node 2 verified layer 17 at layer 23, expected at least layer 20"),
            "{}",
            o.detail
        );
        let v = c.judge(end_of(22), |n| n != NodeIdx(2));
        assert!(outcome_of(&v, "mesh-liveness").passed, "a node down at the end is not judged");

        let mut c = agreeing(3, 22, expect());
        revert(&mut c, secs(226), 1, 22, 22);
        c.nodes.get_mut(&NodeIdx(1)).expect("node 1").applied.remove(&18);
        let v = c.judge(end_of(22), |_| true);
        let o = outcome_of(&v, "mesh-liveness");
        assert!(
            !o.passed && o.detail.contains("has not applied 1 layers up to it, the first 18"),
            "{}",
            o.detail
        );
    }

    /// With `sync`, a node that restarted must report itself synced after its last start; a
    /// report from before the restart does not count, and nodes up since time zero are not
    /// judged.
    #[test]
    fn restarted_node_must_report_synced() {
        let mut c = agreeing(3, 22, MeshExpect { sync: true, ..expect() });
        consensus(&mut c, secs(140), 1, sync(true));
        c.on_event(secs(150), NodeIdx(1), &NodeEvent::Started { next_heartbeat_seq: 0 });
        consensus(&mut c, secs(155), 1, sync(false));
        let v = c.judge(end_of(22), |_| true);
        let o = outcome_of(&v, "sync");
        assert!(!o.passed && o.detail.contains("node 1 started at 150.0 s"), "{}", o.detail);
        consensus(&mut c, secs(170), 1, sync(true));
        let v = c.judge(end_of(22), |_| true);
        assert!(outcome_of(&v, "sync").passed, "{}", outcome_of(&v, "sync").detail);
        assert!(outcome_of(&v, "sync").detail.starts_with("all 1 nodes"));
    }

    /// With `synced_lag`, a synced node that verifies nothing for longer than the bound fails
    /// `synced-liveness` even though it caught up by the end; inside the revert window (and
    /// the bound after it) the bound is off; a node that reports itself unsynced is not judged
    /// until it reports synced again.
    #[test]
    fn synced_stall_fails_though_caught_up() {
        let lagging = MeshExpect { synced_lag: Some(3), ..expect() };
        // Node 2 verifies layer 17 at 186 s, then nothing until layer 23 at 246 s; the others
        // verify layer 21 at 226 s.
        let stalled = |n, l| n == 2 && (19..=23).contains(&l);
        let c = agreeing_but(3, 24, lagging.clone(), stalled);
        let v = c.judge(end_of(24), |_| true);
        assert!(outcome_of(&v, "mesh-liveness").passed, "caught up by the end");
        let o = outcome_of(&v, "synced-liveness");
        assert!(
            !o.passed
                && o.detail.contains(
                    "node 2, synced since 0.0 s, verified nothing past layer 17 from 236.0 s to 246.0 s (layer 24), though an honest node verified layer 21 at 226.0 s"
                ),
            "{}",
            o.detail
        );
        assert_eq!(stat(&v, "mesh_synced_lag_max"), 6.0);

        // The whole network stalling is the tortoise's business (and `mesh-liveness`'s).
        let c = agreeing_but(3, 24, lagging.clone(), |_, l| (19..=23).contains(&l));
        let v = c.judge(end_of(24), |_| true);
        assert!(outcome_of(&v, "synced-liveness").passed);

        let window = RevertWindow { from: secs(180), until: secs(220) };
        let c = agreeing_but(
            3,
            24,
            MeshExpect { reverts_allowed: Some(window), ..lagging.clone() },
            stalled,
        );
        let v = c.judge(end_of(24), |_| true);
        let o = outcome_of(&v, "synced-liveness");
        assert!(o.passed, "{}", o.detail);

        let mut c = agreeing_but(3, 24, lagging.clone(), |n, l| n == 2 && l >= 19);
        consensus(&mut c, secs(235), 2, sync(false));
        let v = c.judge(end_of(24), |_| true);
        assert!(outcome_of(&v, "synced-liveness").passed, "unsynced from 235 s");
        let mut c = agreeing_but(3, 24, lagging, |n, l| n == 2 && l >= 19);
        consensus(&mut c, secs(240), 2, sync(false));
        let v = c.judge(end_of(24), |_| true);
        let o = outcome_of(&v, "synced-liveness");
        assert!(!o.passed && o.detail.contains("to 240.0 s (layer 24)"), "{}", o.detail);
    }

    /// Events of nodes outside the honest set are ignored.
    #[test]
    fn dishonest_nodes_are_not_judged() {
        let mut c = agreeing(3, 22, expect());
        apply(&mut c, secs(300), 7, 18, 0xee, 0xee);
        verify(&mut c, secs(300), 7, 21);
        revert(&mut c, secs(301), 7, 16, 21);
        let v = c.judge(end_of(22), |_| true);
        assert!(v.outcomes.iter().all(|(_, o)| o.passed), "{:?}", v.outcomes);
    }
}
