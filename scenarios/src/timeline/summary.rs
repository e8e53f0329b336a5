//! The finished timeline: cells trimmed to the run's length, fault windows, and per-layer
//! figures.

use std::collections::BTreeMap;

use serde::Serialize;
use spacemesh_sim::engine::Fault;
use spacemesh_sim::{NodeIdx, SimTime};

use super::{Cell, DOWN, Timeline, UNSYNCED};

/// A node's window: down (crashed), paused, clogged or not synced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeWindow {
    /// The node.
    pub node: u32,
    /// `down`, `paused`, `clogged` or `unsynced`.
    pub kind: &'static str,
    /// Start, in simulated seconds.
    pub from_s: f64,
    /// End, in simulated seconds (the run's end if it never closed).
    pub to_s: f64,
}

/// A window of the whole network: a partition or a block, until the heal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetWindow {
    /// `partition` or `block`.
    pub kind: &'static str,
    /// Start, in simulated seconds.
    pub from_s: f64,
    /// End, in simulated seconds.
    pub to_s: f64,
    /// Who was cut from whom, e.g. `36 | 24 nodes`.
    pub detail: String,
}

/// A fault without a window (a link or clock change), at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Marker {
    /// The fault's kind (`set-link`, `set-clock`...).
    pub kind: &'static str,
    /// When, in simulated seconds.
    pub at_s: f64,
    /// The node it concerns, if one.
    pub node: Option<u32>,
}

/// What the nodes did in one layer, in figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LayerSummary {
    /// The layer.
    pub layer: u32,
    /// Nodes with a non-empty hare output.
    pub outputs: u32,
    /// Nodes with an empty hare output.
    pub empty: u32,
    /// The highest hare iteration that output the layer anywhere.
    pub iteration_max: u8,
    /// Nodes that verified the layer.
    pub verified: u32,
    /// Median of how many layers after it the nodes verified it.
    pub lag_median: Option<u32>,
    /// Most layers after it a node verified it.
    pub lag_max: Option<u32>,
    /// Nodes that reverted the layer at least once.
    pub reverted: u32,
    /// Nodes that applied the layer.
    pub applied: u32,
    /// Distinct (block, state hash) pairs applied.
    pub distinct: u32,
    /// Nodes that applied the most common pair.
    pub agreeing: u32,
    /// Nodes that assembled a certificate.
    pub certified: u32,
    /// Malfeasance proofs accepted while the layer was current, over all nodes.
    pub malfeasance: u32,
    /// Nodes down at some time in the layer.
    pub down: u32,
}

/// A run's timeline, ready to render.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineReport {
    /// Nodes (rows).
    pub nodes: u32,
    /// Layers (columns): every layer the run reached.
    pub layers: u32,
    /// Seconds per layer.
    pub layer_seconds: f64,
    /// The run's end, in simulated seconds.
    pub end_s: f64,
    /// Node-major cells, `layers` per node.
    pub cells: Vec<Cell>,
    /// Windows of single nodes.
    pub node_windows: Vec<NodeWindow>,
    /// Partitions and blocks.
    pub net_windows: Vec<NetWindow>,
    /// Faults without a window.
    pub markers: Vec<Marker>,
    /// Figures per layer.
    pub per_layer: Vec<LayerSummary>,
    /// Events and faults the recorder could not keep.
    pub ignored: u64,
}

impl TimelineReport {
    /// The cell of `node` in `layer`.
    ///
    /// # Panics
    /// If either is out of range.
    pub fn cell(&self, node: u32, layer: u32) -> &Cell {
        assert!(node < self.nodes && layer < self.layers, "cell ({node}, {layer}) out of range");
        &self.cells[node as usize * self.layers as usize + layer as usize]
    }
}

pub(super) fn build(t: &Timeline, end: SimTime) -> TimelineReport {
    let ld = t.layer_duration.as_micros();
    let layers = u32::try_from(end.as_micros().div_ceil(ld)).unwrap_or(u32::MAX).min(t.layers_max);
    let nodes = t.nodes();
    let mut cells = Vec::with_capacity(nodes as usize * layers as usize);
    for row in t.cells.chunks(t.layers_max as usize) {
        cells.extend_from_slice(&row[..layers as usize]);
    }
    let (mut node_windows, net_windows, markers) = faults(t, nodes, end);
    for (node, windows) in t.unsynced.iter().enumerate() {
        let open = t.unsynced_since[node].map(|from| (from, end));
        for (from, to) in windows.iter().copied().chain(open) {
            node_windows.push(window(node as u32, "unsynced", from, to));
        }
    }
    let mut report = TimelineReport {
        nodes,
        layers,
        layer_seconds: t.layer_duration.as_secs_f64(),
        end_s: end.as_secs_f64(),
        cells,
        node_windows,
        net_windows,
        markers,
        per_layer: Vec::new(),
        ignored: t.ignored,
    };
    flag_windows(&mut report);
    report.per_layer = (0..layers).map(|l| layer_summary(&report, l)).collect();
    report
}

fn window(node: u32, kind: &'static str, from: SimTime, to: SimTime) -> NodeWindow {
    NodeWindow { node, kind, from_s: from.as_secs_f64(), to_s: to.as_secs_f64() }
}

/// Walks the fault schedule in time order: crash to restart and pause to resume are a node's
/// down windows, a partition or block lasts until the heal (or the next partition).
fn faults(
    t: &Timeline,
    nodes: u32,
    end: SimTime,
) -> (Vec<NodeWindow>, Vec<NetWindow>, Vec<Marker>) {
    let mut schedule: Vec<&(SimTime, Fault)> = t.faults.iter().collect();
    schedule.sort_by_key(|(at, _)| *at);
    let mut open: BTreeMap<u32, (SimTime, &'static str)> = BTreeMap::new();
    let mut net_open: Option<(SimTime, &'static str, String)> = None;
    let (mut node_windows, mut net_windows, mut markers) = (Vec::new(), Vec::new(), Vec::new());
    let mut close_net = |net_open: &mut Option<(SimTime, &'static str, String)>, at: SimTime| {
        if let Some((from, kind, detail)) = net_open.take() {
            net_windows.push(NetWindow {
                kind,
                from_s: from.as_secs_f64(),
                to_s: at.as_secs_f64(),
                detail,
            });
        }
    };
    for (at, fault) in schedule {
        let at = (*at).min(end);
        match fault {
            Fault::Crash(n) | Fault::Pause(n) if n.0 < nodes => {
                let kind = if matches!(fault, Fault::Crash(_)) { "down" } else { "paused" };
                open.entry(n.0).or_insert((at, kind));
            }
            Fault::Restart(n) | Fault::Resume(n) if n.0 < nodes => {
                let closes = if matches!(fault, Fault::Restart(_)) { "down" } else { "paused" };
                if open.get(&n.0).is_some_and(|(_, kind)| *kind == closes) {
                    let (from, kind) = open.remove(&n.0).expect("checked");
                    node_windows.push(window(n.0, kind, from, at));
                }
            }
            Fault::Partition(groups) => {
                close_net(&mut net_open, at);
                let sizes: Vec<String> =
                    groups.iter().map(|g| count(g, nodes).to_string()).collect();
                net_open = Some((at, "partition", format!("{} nodes", sizes.join(" | "))));
            }
            Fault::Block { from_group, to_group } => {
                close_net(&mut net_open, at);
                let detail = format!(
                    "{} nodes -/-> {} nodes",
                    count(from_group, nodes),
                    count(to_group, nodes)
                );
                net_open = Some((at, "block", detail));
            }
            Fault::Heal => close_net(&mut net_open, at),
            Fault::ClogOut { node, duration } | Fault::ClogIn { node, duration }
                if node.0 < nodes =>
            {
                node_windows.push(window(node.0, "clogged", at, (at + *duration).min(end)));
            }
            other => {
                let node = Some(other.node()).filter(|n| *n != NodeIdx::NONE && n.0 < nodes);
                markers.push(Marker {
                    kind: other.kind(),
                    at_s: at.as_secs_f64(),
                    node: node.map(|n| n.0),
                });
            }
        }
    }
    close_net(&mut net_open, end);
    for (node, (from, kind)) in open {
        node_windows.push(window(node, kind, from, end));
    }
    (node_windows, net_windows, markers)
}

/// Nodes (not PoET slots) in a group.
fn count(group: &[NodeIdx], nodes: u32) -> usize {
    group.iter().filter(|n| n.0 < nodes).count()
}

/// Sets [`DOWN`] and [`UNSYNCED`] on the cells a node's windows touch.
fn flag_windows(r: &mut TimelineReport) {
    let layers = r.layers;
    let ls = r.layer_seconds;
    for w in &r.node_windows {
        let flag = match w.kind {
            "down" | "paused" => DOWN,
            "unsynced" => UNSYNCED,
            _ => continue,
        };
        let first = (w.from_s / ls).floor() as u32;
        // A window that ends exactly at a layer boundary does not touch the next layer.
        let last = ((w.to_s / ls).ceil() as u32).max(first + 1);
        for l in first..last.min(layers) {
            r.cells[w.node as usize * layers as usize + l as usize].flags |= flag;
        }
    }
}

fn layer_summary(r: &TimelineReport, layer: u32) -> LayerSummary {
    let mut s = LayerSummary { layer, ..LayerSummary::default() };
    let mut lags = Vec::new();
    let mut pairs: BTreeMap<u32, u32> = BTreeMap::new();
    for node in 0..r.nodes {
        let c = r.cell(node, layer);
        if let Some(h) = c.hare {
            if h.proposals == 0 {
                s.empty += 1;
            } else {
                s.outputs += 1;
            }
            s.iteration_max = s.iteration_max.max(h.iteration);
        }
        if let Some(v) = c.verified_in {
            s.verified += 1;
            lags.push(u32::from(v).saturating_sub(layer));
        }
        if c.reverts > 0 {
            s.reverted += 1;
        }
        if let Some(a) = c.applied {
            s.applied += 1;
            *pairs.entry(a).or_default() += 1;
        }
        s.certified += u32::from(c.flags & super::CERTIFIED != 0);
        s.malfeasance += u32::from(c.malfeasance);
        s.down += u32::from(c.flags & DOWN != 0);
    }
    lags.sort_unstable();
    s.lag_median = lags.get(lags.len() / 2).copied();
    s.lag_max = lags.last().copied();
    s.distinct = pairs.len() as u32;
    s.agreeing = pairs.values().copied().max().unwrap_or(0);
    s
}
