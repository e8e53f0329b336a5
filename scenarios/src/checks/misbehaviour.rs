//! Peer misbehaviour: nodes that send garbage are disconnected by honest peers quickly, and no
//! honest node is ever disconnected as misbehaving.

use std::collections::BTreeMap;

use spacemesh_core::p2p::DisconnectReason;
use spacemesh_core::{NodeEvent, PeerId};
use spacemesh_runtime_sim::SimNet;
use spacemesh_sim::{NodeIdx, SimDuration, SimTime};

use super::{Checker, Checks, Verdict, Violation, outcome};

/// Watches connections between honest nodes and the misbehaving ones.
#[derive(Debug)]
pub struct MisbehaviourChecker {
    honest: Vec<bool>,
    index: BTreeMap<PeerId, NodeIdx>,
    connection_max: SimDuration,
    /// Open honest-to-misbehaving connections: (honest, bad) -> since.
    open: BTreeMap<(NodeIdx, NodeIdx), SimTime>,
    disconnects: BTreeMap<NodeIdx, u32>,
    long: Vec<Violation>,
    honest_accused: Vec<Violation>,
}

impl MisbehaviourChecker {
    /// `honest[i]` tells whether slot i is honest; a connection from an honest node to a
    /// misbehaving one must not last longer than `connection_max`.
    pub fn new(honest: Vec<bool>, index: BTreeMap<PeerId, NodeIdx>, connection_max: SimDuration) -> Self {
        MisbehaviourChecker {
            honest,
            index,
            connection_max,
            open: BTreeMap::new(),
            disconnects: BTreeMap::new(),
            long: Vec::new(),
            honest_accused: Vec::new(),
        }
    }

    fn close(&mut self, time: SimTime, node: NodeIdx, bad: NodeIdx) {
        if let Some(since) = self.open.remove(&(node, bad)) {
            self.check_duration(node, bad, since, time);
        }
    }

    fn check_duration(&mut self, node: NodeIdx, bad: NodeIdx, since: SimTime, until: SimTime) {
        let lasted = until.as_micros() - since.as_micros();
        if lasted > self.connection_max.as_micros() {
            self.long.push(Violation {
                check: "garbage-disconnected".into(),
                time_s: until.as_secs_f64(),
                node: Some(node.0),
                message: format!("honest node {} stayed connected to garbage node {} for {:.1}s", node.0, bad.0, lasted as f64 / 1e6),
            });
        }
    }
}

impl Checker for MisbehaviourChecker {
    fn on_event(&mut self, time: SimTime, node: NodeIdx, event: &NodeEvent) {
        if !self.honest[node.0 as usize] {
            return;
        }
        let (peer, disconnect_reason) = match event {
            NodeEvent::PeerConnected { peer, .. } => (peer, None),
            NodeEvent::PeerDisconnected { peer, reason } => (peer, Some(*reason)),
            _ => return,
        };
        let Some(&other) = self.index.get(peer) else { return };
        let other_honest = self.honest[other.0 as usize];
        match disconnect_reason {
            None if !other_honest => {
                self.open.insert((node, other), time);
            }
            None => {}
            Some(reason) => {
                if other_honest && reason == DisconnectReason::Misbehaving {
                    self.honest_accused.push(Violation {
                        check: "no-honest-banned".into(),
                        time_s: time.as_secs_f64(),
                        node: Some(node.0),
                        message: format!("honest node {} disconnected honest node {} as misbehaving", node.0, other.0),
                    });
                }
                if !other_honest {
                    if reason == DisconnectReason::Misbehaving {
                        *self.disconnects.entry(other).or_default() += 1;
                    }
                    self.close(time, node, other);
                }
            }
        }
    }

    fn finish(&self, end: SimTime, _world: &SimNet<Checks>) -> Verdict {
        let mut me = MisbehaviourChecker {
            honest: self.honest.clone(),
            index: BTreeMap::new(),
            connection_max: self.connection_max,
            open: BTreeMap::new(),
            disconnects: BTreeMap::new(),
            long: self.long.clone(),
            honest_accused: Vec::new(),
        };
        for ((node, bad), since) in &self.open {
            me.check_duration(*node, *bad, *since, end);
        }
        let bad_nodes: Vec<NodeIdx> = (0..self.honest.len()).filter(|i| !self.honest[*i]).map(|i| NodeIdx(i as u32)).collect();
        for bad in &bad_nodes {
            if self.disconnects.get(bad).copied().unwrap_or(0) == 0 {
                me.long.push(Violation {
                    check: "garbage-disconnected".into(),
                    time_s: end.as_secs_f64(),
                    node: Some(bad.0),
                    message: format!("garbage node {} was never disconnected as misbehaving", bad.0),
                });
            }
        }
        let total: u32 = self.disconnects.values().sum();
        let mut verdict = Verdict::default();
        let (o, v) = outcome(
            "garbage-disconnected",
            me.long,
            format!(
                "{} garbage nodes were disconnected {total} times as misbehaving; no connection to one lasted over {:.0}s",
                bad_nodes.len(),
                self.connection_max.as_micros() as f64 / 1e6
            ),
        );
        verdict.outcomes.push(("garbage-disconnected".into(), o));
        verdict.violations.extend(v);
        let (o, v) = outcome("no-honest-banned", self.honest_accused.clone(), "no honest node was disconnected as misbehaving".into());
        verdict.outcomes.push(("no-honest-banned".into(), o));
        verdict.violations.extend(v);
        verdict.stats.push(("misbehaviour_disconnects".into(), f64::from(total)));
        verdict
    }
}
