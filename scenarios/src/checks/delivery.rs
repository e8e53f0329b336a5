//! Gossip delivery: every message an honest node publishes reaches every honest node.

use std::collections::BTreeMap;

use spacemesh_core::NodeEvent;
use spacemesh_core::gossip::MsgId;
use spacemesh_runtime_sim::SimNet;
use spacemesh_sim::{NodeIdx, SimTime};

use super::{Checker, Checks, Verdict, Violation, outcome};

/// A named property: messages published by honest nodes in `[from, to]` must have reached every
/// honest node by `deadline`.
#[derive(Debug, Clone)]
pub struct DeliveryWindow {
    /// Check name.
    pub name: &'static str,
    /// Earliest publish time covered.
    pub from: SimTime,
    /// Latest publish time covered.
    pub to: SimTime,
    /// When every covered message must be everywhere.
    pub deadline: SimTime,
}

#[derive(Debug)]
struct Message {
    origin: NodeIdx,
    published: SimTime,
    /// One bit per node that accepted it.
    seen: Vec<u64>,
    count: u32,
    complete_at: Option<SimTime>,
}

/// Tracks every honest publication and who accepted it when.
#[derive(Debug)]
pub struct DeliveryChecker {
    honest: Vec<bool>,
    honest_count: u32,
    windows: Vec<DeliveryWindow>,
    messages: BTreeMap<MsgId, Message>,
    /// Acceptances of ids not (yet) known as honest publications.
    foreign: u64,
}

impl DeliveryChecker {
    /// A checker for the given honest set and windows.
    pub fn new(honest: Vec<bool>, windows: Vec<DeliveryWindow>) -> Self {
        let honest_count = honest.iter().filter(|h| **h).count() as u32;
        DeliveryChecker { honest, honest_count, windows, messages: BTreeMap::new(), foreign: 0 }
    }
}

impl Checker for DeliveryChecker {
    fn on_event(&mut self, time: SimTime, node: NodeIdx, event: &NodeEvent) {
        let NodeEvent::MessageAccepted { id, own, .. } = event else { return };
        let i = node.0 as usize;
        if !self.honest[i] {
            return;
        }
        let words = self.honest.len().div_ceil(64);
        let m = if *own {
            self.messages.entry(*id).or_insert_with(|| Message {
                origin: node,
                published: time,
                seen: vec![0; words],
                count: 0,
                complete_at: None,
            })
        } else {
            match self.messages.get_mut(id) {
                Some(m) => m,
                None => {
                    self.foreign += 1;
                    return;
                }
            }
        };
        let (w, b) = (i / 64, 1u64 << (i % 64));
        if m.seen[w] & b == 0 {
            m.seen[w] |= b;
            m.count += 1;
            if m.count == self.honest_count {
                m.complete_at = Some(time);
            }
        }
    }

    fn finish(&self, end: SimTime, _world: &SimNet<Checks>) -> Verdict {
        let mut verdict = Verdict::default();
        for w in &self.windows {
            let mut failures = Vec::new();
            let mut covered = 0u64;
            let mut latencies: Vec<u64> = Vec::new();
            for (id, m) in &self.messages {
                if m.published < w.from || m.published > w.to {
                    continue;
                }
                covered += 1;
                match m.complete_at {
                    Some(t) if t <= w.deadline => latencies.push(t.as_micros() - m.published.as_micros()),
                    _ => failures.push(Violation {
                        check: w.name.to_string(),
                        time_s: w.deadline.as_secs_f64(),
                        node: Some(m.origin.0),
                        message: format!(
                            "message {} published by node {} at {:.1}s reached {} of {} honest nodes by {:.1}s",
                            &id.to_string()[..12],
                            m.origin.0,
                            m.published.as_secs_f64(),
                            m.count,
                            self.honest_count,
                            w.deadline.min(end).as_secs_f64()
                        ),
                    }),
                }
            }
            if covered == 0 {
                failures.push(Violation {
                    check: w.name.to_string(),
                    time_s: w.to.as_secs_f64(),
                    node: None,
                    message: "no honest message was published in the window: the check has nothing to judge".into(),
                });
            }
            latencies.sort_unstable();
            let pct = |p: usize| {
                latencies.get(latencies.len().saturating_sub(1) * p / 100).copied().unwrap_or(0)
                    as f64
                    / 1e6
            };
            let ok = format!(
                "{covered} messages reached all {} honest nodes; full propagation p50 {:.3}s, p99 {:.3}s, max {:.3}s",
                self.honest_count,
                pct(50),
                pct(99),
                pct(100)
            );
            let (o, v) = outcome(failures, ok);
            verdict.outcomes.push((w.name.to_string(), o));
            verdict.violations.extend(v);
            verdict.stats.push((format!("{}_messages", w.name), covered as f64));
            verdict.stats.push((format!("{}_propagation_p99_s", w.name), pct(99)));
        }
        verdict.stats.push(("messages_published".into(), self.messages.len() as f64));
        verdict
    }
}
