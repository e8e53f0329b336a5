//! Heartbeat safety: no honest identity ever signs two heartbeats with one sequence number
//! (which a restart from a lossy disk would cause if the node published before persisting).

use std::collections::BTreeMap;

use spacemesh_core::heartbeat::HeartbeatEvent;
use spacemesh_core::{NodeEvent, NodeId};
use spacemesh_runtime_sim::SimNet;
use spacemesh_sim::{NodeIdx, SimTime};

use super::{Checker, Checks, Verdict, Violation, outcome};

/// Flags equivocation reports against honest identities, and publications that reuse a sequence
/// number (seen directly, even when no peer noticed).
#[derive(Debug)]
pub struct HeartbeatEquivocationChecker {
    honest_ids: BTreeMap<NodeId, NodeIdx>,
    published: BTreeMap<(NodeIdx, u64), u32>,
    violations: Vec<Violation>,
}

impl HeartbeatEquivocationChecker {
    /// A checker that knows the honest identities.
    pub fn new(honest_ids: BTreeMap<NodeId, NodeIdx>) -> Self {
        HeartbeatEquivocationChecker {
            honest_ids,
            published: BTreeMap::new(),
            violations: Vec::new(),
        }
    }
}

impl Checker for HeartbeatEquivocationChecker {
    fn on_event(&mut self, time: SimTime, node: NodeIdx, event: &NodeEvent) {
        match event {
            NodeEvent::Heartbeat(HeartbeatEvent::Equivocation { origin, seq }) => {
                if let Some(accused) = self.honest_ids.get(origin) {
                    self.violations.push(Violation {
                        check: "no-honest-equivocation".into(),
                        time_s: time.as_secs_f64(),
                        node: Some(accused.0),
                        message: format!(
                            "node {} saw honest node {} sign heartbeat {seq} twice",
                            node.0, accused.0
                        ),
                    });
                }
            }
            NodeEvent::Heartbeat(HeartbeatEvent::Published { seq }) => {
                let n = self.published.entry((node, *seq)).or_default();
                *n += 1;
                if *n == 2 {
                    self.violations.push(Violation {
                        check: "no-honest-equivocation".into(),
                        time_s: time.as_secs_f64(),
                        node: Some(node.0),
                        message: format!(
                            "node {} published heartbeat sequence {seq} twice",
                            node.0
                        ),
                    });
                }
            }
            _ => {}
        }
    }

    fn finish(&self, _end: SimTime, _world: &SimNet<Checks>) -> Verdict {
        let (o, v) = outcome(
            self.violations.clone(),
            format!("{} heartbeats published, no sequence number reused", self.published.len()),
        );
        Verdict {
            outcomes: vec![("no-honest-equivocation".into(), o)],
            violations: v,
            stats: vec![],
        }
    }
}
