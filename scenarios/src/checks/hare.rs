//! Checks of per-layer agreement: hare outputs, the blocks built from them and their
//! certificates, judged from the `NodeEvent`s of honest nodes only.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;

use spacemesh_core::hare::{SessionEnd, proposals_hash};
use spacemesh_core::node::ConsensusEvent;
use spacemesh_core::types::{BlockId, ProposalId};
use spacemesh_core::{Hash32, NodeEvent};
use spacemesh_runtime_sim::SimNet;
use spacemesh_sim::{NodeIdx, SimTime};

use super::{Checker, Checks, Verdict, Violation, outcome};

/// What a scenario demands of the hare.
#[derive(Debug, Clone)]
pub struct HareExpect {
    /// Layers whose sessions all end inside the run.
    pub layers: RangeInclusive<u32>,
    /// Layers in which every honest node must end its session within the iteration limit.
    pub termination: RangeInclusive<u32>,
    /// Layers in which every honest node must output a set that holds every proposal honest
    /// nodes published (a synchronous network delivers them before the preround); `None`:
    /// no layer.
    pub validity: Option<RangeInclusive<u32>>,
    /// Whether every non-empty block must be certified at every honest node.
    pub certificates: bool,
    /// The protocol's iteration limit.
    pub iterations_limit: u8,
}

/// Judges hare outputs, blocks and certificates.
#[derive(Debug)]
pub struct HareChecker {
    expect: HareExpect,
    honest: BTreeSet<NodeIdx>,
    /// Proposals honest nodes published, per layer.
    published: BTreeMap<u32, BTreeSet<ProposalId>>,
    /// Output set hash → nodes, per layer; and one copy of each set.
    outputs: BTreeMap<u32, BTreeMap<Hash32, Vec<NodeIdx>>>,
    sets: BTreeMap<Hash32, Vec<ProposalId>>,
    output_iterations: BTreeMap<u8, u64>,
    /// Layers whose preround drew fewer seats than the threshold at some honest node: the
    /// fewest seats seen and the threshold. Their outputs may miss honest proposals.
    thin_prerounds: BTreeMap<u32, (u32, u16)>,
    ended: BTreeMap<u32, BTreeMap<NodeIdx, (SessionEnd, u8)>>,
    blocks: BTreeMap<u32, BTreeMap<Option<BlockId>, u32>>,
    certified: BTreeMap<u32, BTreeMap<BlockId, u32>>,
    failures: Vec<Violation>,
}

impl HareChecker {
    /// A checker over the honest node slots.
    pub fn new(honest: BTreeSet<NodeIdx>, expect: HareExpect) -> Self {
        HareChecker {
            expect,
            honest,
            published: BTreeMap::new(),
            outputs: BTreeMap::new(),
            sets: BTreeMap::new(),
            output_iterations: BTreeMap::new(),
            thin_prerounds: BTreeMap::new(),
            ended: BTreeMap::new(),
            blocks: BTreeMap::new(),
            certified: BTreeMap::new(),
            failures: Vec::new(),
        }
    }
}

impl Checker for HareChecker {
    fn on_event(&mut self, time: SimTime, node: NodeIdx, event: &NodeEvent) {
        if !self.honest.contains(&node) {
            return;
        }
        let NodeEvent::Consensus(e) = event else { return };
        let e: &ConsensusEvent = e;
        match e {
            ConsensusEvent::ProposalPublished { layer, id, .. } => {
                self.published.entry(layer.0).or_default().insert(*id);
            }
            ConsensusEvent::HareOutput {
                layer,
                proposals,
                iteration,
                preround_seats,
                threshold,
            } => {
                if *preround_seats < u32::from(*threshold) {
                    let thin = self.thin_prerounds.entry(layer.0).or_insert((u32::MAX, *threshold));
                    thin.0 = thin.0.min(*preround_seats);
                }
                let h = proposals_hash(proposals);
                self.sets.entry(h).or_insert_with(|| proposals.clone());
                self.outputs.entry(layer.0).or_default().entry(h).or_default().push(node);
                *self.output_iterations.entry(*iteration).or_default() += 1;
            }
            ConsensusEvent::HareEnded { layer, end, iteration } => {
                self.ended.entry(layer.0).or_default().insert(node, (*end, *iteration));
            }
            ConsensusEvent::Block { layer, block, .. } => {
                *self.blocks.entry(layer.0).or_default().entry(*block).or_default() += 1;
            }
            ConsensusEvent::BlockFailed { layer, reason } if self.failures.len() < 20 => {
                self.failures.push(Violation {
                    check: "block-agreement".into(),
                    time_s: time.as_secs_f64(),
                    node: Some(node.0),
                    message: format!("layer {}: no block: {reason}", layer.0),
                });
            }
            ConsensusEvent::Certified { layer, block, .. } => {
                *self.certified.entry(layer.0).or_default().entry(*block).or_default() += 1;
            }
            _ => {}
        }
    }

    fn finish(&self, end: SimTime, _world: &SimNet<Checks>) -> Verdict {
        self.judge(end)
    }
}

impl HareChecker {
    /// The verdict at `end`.
    fn judge(&self, end: SimTime) -> Verdict {
        let mut v = Verdict::default();
        let x = &self.expect;
        let n = self.honest.len();
        let at = |message: String, check: &str| Violation {
            check: check.into(),
            time_s: end.as_secs_f64(),
            node: None,
            message,
        };

        // Agreement: one output per layer among honest nodes.
        let mut f = Vec::new();
        for (layer, outs) in &self.outputs {
            if outs.len() > 1 {
                let split: Vec<String> = outs
                    .iter()
                    .map(|(h, nodes)| {
                        format!("{} proposals at {} nodes", self.sets[h].len(), nodes.len())
                    })
                    .collect();
                f.push(at(
                    format!(
                        "layer {layer}: {} different outputs ({})",
                        outs.len(),
                        split.join(", ")
                    ),
                    "hare-agreement",
                ));
            }
        }
        let layers_out = self.outputs.len();
        let (o, viol) =
            outcome(f, format!("one output per layer at every honest node ({layers_out} layers)"));
        v.outcomes.push(("hare-agreement".into(), o));
        v.violations.extend(viol);

        // Termination: every honest node ends every session within the limit.
        let mut f = Vec::new();
        let mut limits = 0u64;
        for layer in x.termination.clone() {
            let ended = self.ended.get(&layer);
            let count = ended.map_or(0, |e| e.len());
            if count < n {
                f.push(at(
                    format!("layer {layer}: {count} of {n} honest nodes ended the session"),
                    "hare-termination",
                ));
            }
            for (end, iteration) in ended.into_iter().flat_map(|e| e.values()) {
                if *end == SessionEnd::IterationLimit {
                    limits += 1;
                }
                if *iteration > x.iterations_limit {
                    f.push(at(
                        format!("layer {layer}: a session ended in iteration {iteration}"),
                        "hare-termination",
                    ));
                }
            }
        }
        let (o, viol) = outcome(
            f,
            format!(
                "every honest node ended layers {:?} within {} iterations ({limits} sessions without output)",
                x.termination, x.iterations_limit
            ),
        );
        v.outcomes.push(("hare-termination".into(), o));
        v.violations.extend(viol);

        // Validity: under synchrony every node outputs, and the output holds every honest
        // proposal of the layer, unless the layer's preround drew fewer seats than the threshold
        // (an unlucky committee draw: then no proposal can pass it, as in the reference).
        let mut f = Vec::new();
        let mut thin = Vec::new();
        for layer in x.validity.clone().into_iter().flatten() {
            let outs = self.outputs.get(&layer);
            let count: usize = outs.map_or(0, |o| o.values().map(Vec::len).sum());
            if count < n {
                f.push(at(
                    format!("layer {layer}: {count} of {n} honest nodes output"),
                    "hare-validity",
                ));
            }
            if let Some((seats, threshold)) = self.thin_prerounds.get(&layer) {
                thin.push(format!("layer {layer}: {seats} seats, threshold {threshold}"));
                continue;
            }
            let honest = self.published.get(&layer).cloned().unwrap_or_default();
            for h in outs.into_iter().flat_map(|o| o.keys()) {
                let set: BTreeSet<ProposalId> = self.sets[h].iter().copied().collect();
                let missing = honest.difference(&set).count();
                if missing > 0 {
                    f.push(at(
                        format!(
                            "layer {layer}: output misses {missing} of {} honest proposals",
                            honest.len()
                        ),
                        "hare-validity",
                    ));
                }
            }
        }
        let (o, viol) = outcome(
            f,
            match &x.validity {
                Some(r) if thin.is_empty() => {
                    format!("layers {r:?}: every honest node output every honest proposal")
                }
                Some(r) => format!(
                    "layers {r:?}: every honest node output every honest proposal, except where the preround drew too few seats to pass any ({})",
                    thin.join("; ")
                ),
                None => "not judged (no synchrony assumed)".to_string(),
            },
        );
        v.outcomes.push(("hare-validity".into(), o));
        v.violations.extend(viol);

        // Blocks: one per layer among honest nodes, built by every node that output.
        let mut f = self.failures.clone();
        for (layer, blocks) in &self.blocks {
            if blocks.len() > 1 {
                f.push(at(
                    format!("layer {layer}: {} different blocks", blocks.len()),
                    "block-agreement",
                ));
            }
        }
        let (o, viol) = outcome(f, "every honest node built the same block per layer".into());
        v.outcomes.push(("block-agreement".into(), o));
        v.violations.extend(viol);

        // Certificates: every honest node certifies every non-empty block it built.
        let mut f = Vec::new();
        let mut certified_layers = 0;
        for (layer, blocks) in &self.blocks {
            if !x.layers.contains(layer) {
                continue;
            }
            for (block, built) in blocks {
                let Some(block) = block else { continue };
                let certs = self.certified.get(layer).and_then(|c| c.get(block)).copied();
                let certs = certs.unwrap_or(0);
                if certs >= *built {
                    certified_layers += 1;
                } else if x.certificates {
                    f.push(at(
                        format!(
                            "layer {layer}: block {block} certified at {certs} of the {built} nodes that built it"
                        ),
                        "certificates",
                    ));
                }
            }
        }
        let (o, viol) = outcome(
            f,
            format!("{certified_layers} blocks certified at every honest node that built them"),
        );
        v.outcomes.push(("certificates".into(), o));
        v.violations.extend(viol);

        let outputs: u64 = self.output_iterations.values().sum();
        let empty = self
            .outputs
            .values()
            .flat_map(|o| o.keys())
            .filter(|h| self.sets[*h].is_empty())
            .count();
        let mean_iter =
            self.output_iterations.iter().map(|(i, c)| f64::from(*i) * *c as f64).sum::<f64>()
                / outputs.max(1) as f64;
        v.stats.push(("hare_layers_output".into(), layers_out as f64));
        v.stats.push(("hare_empty_outputs".into(), empty as f64));
        v.stats.push(("hare_mean_output_iteration".into(), mean_iter));
        v.stats.push(("hare_certified_blocks".into(), f64::from(certified_layers)));
        v
    }
}

#[cfg(test)]
mod tests {
    use spacemesh_core::LayerId;

    use super::*;
    use crate::checks::CheckOutcome;

    const LAYER: u32 = 20;

    fn checker() -> HareChecker {
        let expect = HareExpect {
            layers: LAYER..=LAYER,
            termination: LAYER..=LAYER,
            validity: Some(LAYER..=LAYER),
            certificates: false,
            iterations_limit: 4,
        };
        HareChecker::new([NodeIdx(0), NodeIdx(1)].into(), expect)
    }

    /// Node 0 publishes one proposal; both nodes output `proposals` after a preround of `seats`.
    fn run(proposals: Vec<ProposalId>, seats: u32) -> Verdict {
        let mut c = checker();
        let t = SimTime::from_secs(200);
        let event = |e: ConsensusEvent| NodeEvent::Consensus(Box::new(e));
        let id = ProposalId([7; 20]);
        c.on_event(
            t,
            NodeIdx(0),
            &event(ConsensusEvent::ProposalPublished {
                layer: LayerId(LAYER),
                id,
                eligibilities: 1,
                slots: 1,
            }),
        );
        for node in 0..2 {
            let output = ConsensusEvent::HareOutput {
                layer: LayerId(LAYER),
                proposals: proposals.clone(),
                iteration: 0,
                preround_seats: seats,
                threshold: 26,
            };
            c.on_event(t, NodeIdx(node), &event(output));
        }
        c.judge(SimTime::from_secs(300))
    }

    fn validity(v: &Verdict) -> &CheckOutcome {
        &v.outcomes.iter().find(|(name, _)| name == "hare-validity").expect("judged").1
    }

    #[test]
    fn output_missing_an_honest_proposal_fails_validity() {
        let v = run(Vec::new(), 40);
        assert!(!validity(&v).passed, "{:?}", validity(&v));
        assert!(v.violations.iter().any(|x| x.message.contains("misses 1 of 1")));
    }

    #[test]
    fn output_holding_every_honest_proposal_passes() {
        assert!(validity(&run(vec![ProposalId([7; 20])], 40)).passed);
    }

    #[test]
    fn a_preround_below_the_threshold_is_not_held_to_validity() {
        let v = run(Vec::new(), 25);
        let o = validity(&v);
        assert!(o.passed, "{o:?}");
        assert!(o.detail.contains("layer 20: 25 seats, threshold 26"), "{}", o.detail);
    }
}
