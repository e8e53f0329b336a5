//! Peer misbehaviour: nodes that send garbage are disconnected by honest peers soon after the
//! first garbage arrives, and no honest node is ever disconnected as misbehaving.

use std::collections::BTreeMap;

use spacemesh_core::p2p::DisconnectReason;
use spacemesh_core::{NodeEvent, PeerId};
use spacemesh_runtime_sim::SimNet;
use spacemesh_sim::{NodeIdx, SimDuration, SimTime};

use super::{Checker, Checks, Verdict, Violation, outcome};

/// An open connection from an honest node to a misbehaving one.
#[derive(Debug, Clone, Copy)]
struct Open {
    since: SimTime,
    penalties: u32,
}

/// Watches connections between honest nodes and the misbehaving ones.
///
/// A connection must close after at most `penalties_max` penalties of the peer (garbage that
/// arrives is judged at once: with the default scores, three garbage frames a second apart cross
/// the disconnect threshold), and no connection may outlive `lifetime_max` (garbage that cannot
/// arrive, because a partition or loss swallows it, leaves the link silent, and the honest side
/// must time it out).
#[derive(Debug)]
pub struct MisbehaviourChecker {
    honest: Vec<bool>,
    index: BTreeMap<PeerId, NodeIdx>,
    penalties_max: u32,
    lifetime_max: SimDuration,
    open: BTreeMap<(NodeIdx, NodeIdx), Open>,
    disconnects: BTreeMap<NodeIdx, u32>,
    slow: Vec<Violation>,
    honest_accused: Vec<Violation>,
}

impl MisbehaviourChecker {
    /// `honest[i]` tells whether slot i is honest.
    pub fn new(
        honest: Vec<bool>,
        index: BTreeMap<PeerId, NodeIdx>,
        penalties_max: u32,
        lifetime_max: SimDuration,
    ) -> Self {
        MisbehaviourChecker {
            honest,
            index,
            penalties_max,
            lifetime_max,
            open: BTreeMap::new(),
            disconnects: BTreeMap::new(),
            slow: Vec::new(),
            honest_accused: Vec::new(),
        }
    }

    /// The violation, if any, of a connection that was open from `open.since` until `until`.
    /// A connection that outlived the limit is reported at the moment it did, with words that
    /// do not depend on how much longer it lasted (a run cut short shows the same violation).
    fn judge(&self, node: NodeIdx, bad: NodeIdx, open: Open, until: SimTime) -> Option<Violation> {
        let (time, message) = if open.penalties > self.penalties_max {
            let message = format!(
                "honest node {} penalized garbage node {} {} times without disconnecting it",
                node.0, bad.0, open.penalties
            );
            (until, message)
        } else if until - open.since > self.lifetime_max {
            let message = format!(
                "honest node {} kept garbage node {} connected past the {:.0}s limit (connected at {:.1}s)",
                node.0,
                bad.0,
                self.lifetime_max.as_secs_f64(),
                open.since.as_secs_f64()
            );
            (open.since + self.lifetime_max, message)
        } else {
            return None;
        };
        Some(Violation {
            check: "garbage-disconnected".into(),
            time_s: time.as_secs_f64(),
            node: Some(node.0),
            message,
        })
    }
}

impl Checker for MisbehaviourChecker {
    fn on_event(&mut self, time: SimTime, node: NodeIdx, event: &NodeEvent) {
        if !self.honest[node.0 as usize] {
            return;
        }
        let peer = match event {
            NodeEvent::PeerConnected { peer, .. }
            | NodeEvent::PeerDisconnected { peer, .. }
            | NodeEvent::PeerPenalized { peer, .. } => peer,
            _ => return,
        };
        let Some(&other) = self.index.get(peer) else { return };
        let other_honest = self.honest[other.0 as usize];
        match event {
            NodeEvent::PeerConnected { .. } if !other_honest => {
                self.open.insert((node, other), Open { since: time, penalties: 0 });
            }
            NodeEvent::PeerPenalized { .. } => {
                if let Some(open) = self.open.get_mut(&(node, other)) {
                    open.penalties += 1;
                }
            }
            NodeEvent::PeerDisconnected { reason, .. } => {
                if other_honest && *reason == DisconnectReason::Misbehaving {
                    self.honest_accused.push(Violation {
                        check: "no-honest-banned".into(),
                        time_s: time.as_secs_f64(),
                        node: Some(node.0),
                        message: format!(
                            "honest node {} disconnected honest node {} as misbehaving",
                            node.0, other.0
                        ),
                    });
                }
                if !other_honest {
                    if *reason == DisconnectReason::Misbehaving {
                        *self.disconnects.entry(other).or_default() += 1;
                    }
                    if let Some(open) = self.open.remove(&(node, other))
                        && let Some(v) = self.judge(node, other, open, time)
                    {
                        self.slow.push(v);
                    }
                }
            }
            _ => {}
        }
    }

    fn finish(&self, end: SimTime, _world: &SimNet<Checks>) -> Verdict {
        let mut slow = self.slow.clone();
        slow.extend(
            self.open.iter().filter_map(|((node, bad), open)| self.judge(*node, *bad, *open, end)),
        );
        // Earliest first: the first violation is the first thing that went wrong.
        slow.sort_by(|a, b| a.time_s.total_cmp(&b.time_s).then(a.node.cmp(&b.node)));
        let bad_nodes: Vec<NodeIdx> = (0..self.honest.len())
            .filter(|i| !self.honest[*i])
            .map(|i| NodeIdx(i as u32))
            .collect();
        for bad in &bad_nodes {
            if !self.disconnects.contains_key(bad) {
                slow.push(Violation {
                    check: "garbage-disconnected".into(),
                    time_s: end.as_secs_f64(),
                    node: Some(bad.0),
                    message: format!(
                        "garbage node {} was never disconnected as misbehaving",
                        bad.0
                    ),
                });
            }
        }
        let total: u32 = self.disconnects.values().sum();
        let mut verdict = Verdict::default();
        let ok = format!(
            "{} garbage nodes were disconnected {total} times as misbehaving, each after at most {} penalties",
            bad_nodes.len(),
            self.penalties_max
        );
        let (o, v) = outcome(slow, ok);
        verdict.outcomes.push(("garbage-disconnected".into(), o));
        verdict.violations.extend(v);
        let ok = "no honest node was disconnected as misbehaving".to_string();
        let (o, v) = outcome(self.honest_accused.clone(), ok);
        verdict.outcomes.push(("no-honest-banned".into(), o));
        verdict.violations.extend(v);
        verdict.stats.push(("misbehaviour_disconnects".into(), f64::from(total)));
        verdict
    }
}
