//! Transactions: every transaction a node accepted early enough is executed exactly once at
//! every honest node, and no coin is created or lost.
//!
//! - `tx-exactly-once`: for each transaction whose submission a node accepted by the cutoff,
//!   every honest node that is up at the end holds it in exactly one applied layer's executed
//!   list (reverted layers taken out), or holds another accepted transaction of the same
//!   account and nonce (two nodes projected the same nonce for a wallet: one of the two runs,
//!   the other can never). Only where the scenario allows it (across a revert), a transaction
//!   may instead have been overtaken by a higher nonce of its account: genvm lets a higher
//!   nonce run first and burns the ones it skips, and a block built on the losing branch can
//!   carry such a nonce. Nothing is executed twice.
//! - `tx-supply`: at every honest node that is up, the coins in all accounts equal the genesis
//!   coins plus what its applied layers issued less the fees they charged, as the
//!   `LayerApplied` events report them.

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use spacemesh_core::node::ConsensusEvent;
use spacemesh_core::{Hash32, NodeEvent};
use spacemesh_runtime_sim::SimNet;
use spacemesh_sim::{NodeIdx, SimTime};

use super::{Checker, Checks, Verdict, Violation, outcome};

/// One applied layer as a node reported it.
#[derive(Debug, Clone, Default)]
struct Layer {
    issued: u64,
    fees: u64,
    executed: Vec<Hash32>,
}

/// The transaction checks.
#[derive(Debug)]
pub struct TransfersChecker {
    honest: BTreeSet<NodeIdx>,
    cutoff: SimTime,
    /// Accepted submissions: when.
    accepted: BTreeMap<Hash32, SimTime>,
    /// Refused submissions, by reason.
    refused: BTreeMap<String, u64>,
    /// Per honest node, its applied layers.
    nodes: BTreeMap<NodeIdx, BTreeMap<u32, Layer>>,
    /// Whether a transaction whose nonce a higher one of its account burnt passes.
    allow_overtaken: bool,
}

impl TransfersChecker {
    /// Judges `honest` nodes; transactions accepted after `cutoff` need not be executed. With
    /// `allow_overtaken`, a transaction that a higher nonce of its account overtook (possible
    /// only across a revert) passes.
    pub fn new(honest: BTreeSet<NodeIdx>, cutoff: SimTime, allow_overtaken: bool) -> Self {
        TransfersChecker {
            honest,
            cutoff,
            accepted: BTreeMap::new(),
            refused: BTreeMap::new(),
            nodes: BTreeMap::new(),
            allow_overtaken,
        }
    }
}

impl Checker for TransfersChecker {
    fn on_event(&mut self, time: SimTime, node: NodeIdx, event: &NodeEvent) {
        let NodeEvent::Consensus(e) = event else { return };
        let e: &ConsensusEvent = e;
        match e {
            ConsensusEvent::TxSubmitted { id, result: Ok(()) } => {
                self.accepted.entry(*id).or_insert(time);
            }
            ConsensusEvent::TxSubmitted { result: Err(why), .. } => {
                *self.refused.entry(why.clone()).or_insert(0) += 1;
            }
            _ if !self.honest.contains(&node) => {}
            ConsensusEvent::LayerApplied { layer, issued, fees, .. } => {
                let l = Layer { issued: *issued, fees: *fees, executed: Vec::new() };
                self.nodes.entry(node).or_default().insert(layer.0, l);
            }
            ConsensusEvent::LayerTxs { layer, executed, .. } => {
                if let Some(l) = self.nodes.entry(node).or_default().get_mut(&layer.0) {
                    l.executed = executed.clone();
                }
            }
            ConsensusEvent::Reverted { from, .. } => {
                if let Some(layers) = self.nodes.get_mut(&node) {
                    layers.split_off(&from.0);
                }
            }
            _ => {}
        }
    }

    fn finish(&self, end: SimTime, world: &SimNet<Checks>) -> Verdict {
        let mut verdict = Verdict::default();
        let slot = |s: &spacemesh_runtime_sim::Submission| (s.principal, s.nonce);
        let submissions: BTreeMap<Hash32, _> =
            world.submissions().iter().map(|s| (s.id, slot(s))).collect();
        let mut once = Vec::new();
        let mut supply = Vec::new();
        let (mut judged, mut twins, mut overtaken_count, mut executed_first) =
            (0u64, 0u64, 0u64, None);
        let violation = |check: &str, node: NodeIdx, message: String| Violation {
            check: check.into(),
            time_s: end.as_secs_f64(),
            node: Some(node.0),
            message,
        };
        for node in &self.honest {
            let Some(consensus) = world.node(*node).and_then(|n| n.consensus()) else { continue };
            let layers = self.nodes.get(node).cloned().unwrap_or_default();
            let mut count: BTreeMap<Hash32, u32> = BTreeMap::new();
            for l in layers.values() {
                for id in &l.executed {
                    *count.entry(*id).or_insert(0) += 1;
                }
            }
            executed_first.get_or_insert(count.len());
            let used: BTreeSet<_> = count.keys().filter_map(|id| submissions.get(id)).collect();
            for (id, n) in &count {
                if *n > 1 {
                    once.push(violation(
                        "tx-exactly-once",
                        *node,
                        format!("transaction {} executed {n} times", short(id)),
                    ));
                }
            }
            for (id, at) in &self.accepted {
                if *at > self.cutoff {
                    continue;
                }
                judged += 1;
                if count.contains_key(id) {
                    continue;
                }
                let slot = submissions.get(id);
                let twin = slot.is_some_and(|s| used.contains(s));
                // genvm lets a higher nonce run first and burns the ones it skips: after a
                // revert, a block built on the other branch can do that.
                let overtaken =
                    slot.is_some_and(|(p, n)| used.iter().any(|(q, m)| q == p && m > n));
                if twin {
                    twins += 1;
                } else if overtaken && self.allow_overtaken {
                    overtaken_count += 1;
                } else {
                    let why = if overtaken {
                        "a higher nonce of its account ran first"
                    } else {
                        "it is not in any applied block"
                    };
                    once.push(violation(
                        "tx-exactly-once",
                        *node,
                        format!(
                            "transaction {} accepted at {:.1}s was never executed here: {why} (status {:?})",
                            short(id),
                            at.as_secs_f64(),
                            world.node(*node).and_then(|n| n.tx_status(id)),
                        ),
                    ));
                }
            }
            // Layers applied whose events are still held behind a disk sync count as the
            // mesh reports them.
            let mesh = consensus.mesh();
            let seen = layers.keys().next_back().copied().unwrap_or(0);
            let unreported: Vec<_> = (seen + 1..=mesh.applied().0)
                .filter_map(|l| mesh.layer(spacemesh_core::LayerId(l)))
                .map(|a| (a.issued, a.fees))
                .collect();
            let all = layers.values().map(|l| (l.issued, l.fees)).chain(unreported);
            let (issued, fees) =
                all.fold((0u128, 0u128), |(i, f), (a, b)| (i + u128::from(a), f + u128::from(b)));
            let expected = u128::from(mesh.genesis_total()) + issued - fees;
            let held = mesh.ledger().accounts().total();
            if held != expected {
                supply.push(violation(
                    "tx-supply",
                    *node,
                    format!(
                        "accounts hold {held} smidge; genesis plus issued less fees is {expected}"
                    ),
                ));
            }
        }
        let refused_count: u64 = self.refused.values().sum();
        let reasons: Vec<String> =
            self.refused.iter().map(|(why, n)| format!("{n} {why}")).collect();
        let refused = if reasons.is_empty() {
            "none refused at submission".to_owned()
        } else {
            format!("{refused_count} refused at submission: {}", reasons.join(", "))
        };
        let (o, v) = outcome(
            once,
            format!(
                "{} accepted transactions ({refused}) judged at every honest node: each executed exactly once ({twins} node-views saw a same-nonce twin run instead, {overtaken_count} saw a higher nonce run first after a revert)",
                self.accepted.values().filter(|t| **t <= self.cutoff).count()
            ),
        );
        verdict.outcomes.push(("tx-exactly-once".into(), o));
        verdict.violations.extend(v);
        let (o, v) = outcome(
            supply,
            "at every honest node the accounts hold the genesis coins plus the issued less the fees".into(),
        );
        verdict.outcomes.push(("tx-supply".into(), o));
        verdict.violations.extend(v);
        verdict.stats.push(("tx_submitted".into(), world.submissions().len() as f64));
        verdict.stats.push(("tx_accepted".into(), self.accepted.len() as f64));
        verdict.stats.push(("tx_refused".into(), refused_count as f64));
        verdict
            .stats
            .push(("tx_executed_at_first_node".into(), executed_first.unwrap_or(0) as f64));
        verdict.stats.push(("tx_judgements".into(), judged as f64));
        verdict.stats.push(("tx_overtaken_views".into(), overtaken_count as f64));
        verdict.stats.push(("tx_twin_views".into(), twins as f64));
        verdict
    }
}

/// The first 8 hex digits of a hash.
fn short(h: &Hash32) -> String {
    h.to_string()[..8].to_string()
}
