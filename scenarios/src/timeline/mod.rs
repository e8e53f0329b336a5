//! The timeline recorder: what every node did in every layer, compactly, for the HTML report of
//! `smesh sim run --report`.
//!
//! The recorder is an observer of `NodeEvent`s like the checkers, but it judges nothing: it keeps
//! one small [`Cell`] per node and layer (hare output, when the node verified the layer, reverts,
//! malfeasance proofs learned, restarts, sync status, what it applied) and the fault schedule
//! the scenario set up. It is only built when a report is asked for
//! ([`crate::RunParams::record_timeline`]), and it never feeds anything back into the run, so
//! verdicts and trace digests are the same with and without it.
//!
//! Invariants:
//! 1. Memory is bounded: `nodes x layers_max` cells of fixed size, at most [`FAULTS_MAX`] faults
//!    and [`WINDOWS_PER_NODE_MAX`] unsynced windows per node; what does not fit is counted in
//!    `ignored`, never stored.
//! 2. A layer is the one the event names; events that name none (malfeasance, restarts) go to
//!    the layer their time falls in.

mod summary;

pub use summary::{LayerSummary, Marker, NetWindow, NodeWindow, TimelineReport};

use serde::Serialize;
use spacemesh_core::NodeEvent;
use spacemesh_core::node::ConsensusEvent;
use spacemesh_sim::engine::Fault;
use spacemesh_sim::trace::fingerprint;
use spacemesh_sim::{NodeIdx, SimDuration, SimTime};

/// Most faults remembered (scenarios schedule a few, `crash-restart` two per crashed node).
pub const FAULTS_MAX: usize = 100_000;
/// Most unsynced windows remembered per node.
pub const WINDOWS_PER_NODE_MAX: usize = 64;

/// Cell flag: the node started (or restarted) during the layer.
pub const STARTED: u8 = 1;
/// Cell flag: the node was down (crashed or paused) at some time during the layer.
pub const DOWN: u8 = 2;
/// Cell flag: the node did not consider itself synced at some time during the layer.
pub const UNSYNCED: u8 = 4;
/// Cell flag: the node assembled a certificate for the layer's block.
pub const CERTIFIED: u8 = 8;
/// Cell flag: the node (an adversary) equivocated in the layer's hare session.
pub const EQUIVOCATED: u8 = 16;

/// A hare output as a cell keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HareCell {
    /// Proposals in the output (saturating; 0: the empty output).
    pub proposals: u16,
    /// The iteration that output it.
    pub iteration: u8,
}

/// What one node did in one layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Cell {
    /// The hare output of the layer, if the node had one.
    pub hare: Option<HareCell>,
    /// The layer (by time) in which the node first verified this layer.
    pub verified_in: Option<u16>,
    /// How many times the node reverted this layer.
    pub reverts: u8,
    /// Malfeasance proofs the node accepted while this layer was current.
    pub malfeasance: u8,
    /// A fingerprint of the block and state hash the node last applied for this layer.
    pub applied: Option<u32>,
    /// [`STARTED`], [`DOWN`], [`UNSYNCED`], [`CERTIFIED`], [`EQUIVOCATED`].
    pub flags: u8,
}

/// Records a run's timeline (see the module docs).
#[derive(Debug)]
pub struct Timeline {
    layer_duration: SimDuration,
    layers_max: u32,
    /// Node-major: `cells[node * layers_max + layer]`.
    cells: Vec<Cell>,
    last_verified: Vec<Option<u32>>,
    unsynced_since: Vec<Option<SimTime>>,
    unsynced: Vec<Vec<(SimTime, SimTime)>>,
    faults: Vec<(SimTime, Fault)>,
    ignored: u64,
}

impl Timeline {
    /// A recorder for `nodes` nodes and layers `0..layers_max` of `layer_duration` each.
    pub fn new(nodes: u32, layers_max: u32, layer_duration: SimDuration) -> Self {
        assert!(layer_duration > SimDuration::ZERO, "a layer lasts some time");
        assert!(layers_max <= u32::from(u16::MAX), "layers are kept as u16");
        let n = nodes as usize;
        Timeline {
            layer_duration,
            layers_max,
            cells: vec![Cell::default(); n * layers_max as usize],
            last_verified: vec![None; n],
            unsynced_since: vec![None; n],
            unsynced: vec![Vec::new(); n],
            faults: Vec::new(),
            ignored: 0,
        }
    }

    /// Nodes recorded.
    pub fn nodes(&self) -> u32 {
        self.last_verified.len() as u32
    }

    /// The cell of `node` in `layer` (`None` outside the recorded range).
    pub fn cell(&self, node: u32, layer: u32) -> Option<&Cell> {
        if node >= self.nodes() || layer >= self.layers_max {
            return None;
        }
        self.cells.get(node as usize * self.layers_max as usize + layer as usize)
    }

    /// Events and faults that did not fit (a node or layer out of range, too many faults).
    pub fn ignored(&self) -> u64 {
        self.ignored
    }

    /// The layer `time` falls in.
    fn layer_at(&self, time: SimTime) -> u32 {
        u32::try_from(time.as_micros() / self.layer_duration.as_micros()).unwrap_or(u32::MAX)
    }

    fn cell_mut(&mut self, node: NodeIdx, layer: u32) -> Option<&mut Cell> {
        if node.0 >= self.nodes() || layer >= self.layers_max {
            self.ignored += 1;
            return None;
        }
        self.cells.get_mut(node.index() * self.layers_max as usize + layer as usize)
    }

    /// Notes a fault the scenario scheduled at `at`.
    pub fn note_fault(&mut self, at: SimTime, fault: &Fault) {
        if self.faults.len() >= FAULTS_MAX {
            self.ignored += 1;
            return;
        }
        self.faults.push((at, fault.clone()));
    }

    /// One event from `node` at `time`.
    pub fn on_event(&mut self, time: SimTime, node: NodeIdx, event: &NodeEvent) {
        let now = self.layer_at(time);
        match event {
            NodeEvent::Started { .. } => {
                if let Some(c) = self.cell_mut(node, now) {
                    c.flags |= STARTED;
                }
            }
            NodeEvent::Consensus(e) => self.on_consensus(time, now, node, e),
            _ => {}
        }
    }

    fn on_consensus(&mut self, time: SimTime, now: u32, node: NodeIdx, e: &ConsensusEvent) {
        match e {
            ConsensusEvent::HareOutput { layer, proposals, iteration, .. } => {
                if let Some(c) = self.cell_mut(node, layer.0) {
                    let proposals = u16::try_from(proposals.len()).unwrap_or(u16::MAX);
                    c.hare = Some(HareCell { proposals, iteration: *iteration });
                }
            }
            ConsensusEvent::Verified { layer, .. } => self.on_verified(now, node, layer.0),
            ConsensusEvent::Reverted { from, to } => {
                for l in from.0..=to.0.min(self.layers_max.saturating_sub(1)) {
                    if let Some(c) = self.cell_mut(node, l) {
                        c.reverts = c.reverts.saturating_add(1);
                    }
                }
            }
            ConsensusEvent::LayerApplied { layer, block, state, .. } => {
                let mut bytes = [0u8; 52];
                bytes[..20].copy_from_slice(&block.map_or([0; 20], |b| b.0));
                bytes[20..].copy_from_slice(&state.0);
                if let Some(c) = self.cell_mut(node, layer.0) {
                    c.applied = Some(fingerprint(&bytes) as u32);
                }
            }
            ConsensusEvent::Malfeasance { .. } => {
                if let Some(c) = self.cell_mut(node, now) {
                    c.malfeasance = c.malfeasance.saturating_add(1);
                }
            }
            ConsensusEvent::Certified { layer, .. } => self.flag(node, layer.0, CERTIFIED),
            ConsensusEvent::Equivocated { layer } => self.flag(node, layer.0, EQUIVOCATED),
            ConsensusEvent::Sync { synced, .. } => self.on_sync(time, node, *synced),
            _ => {}
        }
    }

    fn flag(&mut self, node: NodeIdx, layer: u32, flag: u8) {
        if let Some(c) = self.cell_mut(node, layer) {
            c.flags |= flag;
        }
    }

    /// The last verified layer moved to `layer`: every layer up to it that the node had not
    /// verified before is verified now (it may also move back, during sync). The first time,
    /// only `layer` and the layers the node applied or had a hare output for count: the layers
    /// before the first ballots are verified by definition, which tells a reader nothing.
    fn on_verified(&mut self, now: u32, node: NodeIdx, layer: u32) {
        let Some(last) = self.last_verified.get_mut(node.index()) else {
            self.ignored += 1;
            return;
        };
        let first = last.is_none();
        let from = last.map_or(0, |l| l + 1);
        *last = Some(layer);
        let now = u16::try_from(now).unwrap_or(u16::MAX);
        for l in from..=layer.min(self.layers_max.saturating_sub(1)) {
            if let Some(c) = self.cell_mut(node, l)
                && (!first || l == layer || c.applied.is_some() || c.hare.is_some())
            {
                c.verified_in.get_or_insert(now);
            }
        }
    }

    fn on_sync(&mut self, time: SimTime, node: NodeIdx, synced: bool) {
        let i = node.index();
        if i >= self.unsynced.len() {
            self.ignored += 1;
            return;
        }
        match (synced, self.unsynced_since[i]) {
            (false, None) => self.unsynced_since[i] = Some(time),
            (true, Some(from)) => {
                self.unsynced_since[i] = None;
                if self.unsynced[i].len() < WINDOWS_PER_NODE_MAX {
                    self.unsynced[i].push((from, time));
                } else {
                    self.ignored += 1;
                }
            }
            _ => {}
        }
    }

    /// The report of the run that ended at `end`.
    pub fn finish(&self, end: SimTime) -> TimelineReport {
        summary::build(self, end)
    }
}

#[cfg(test)]
mod tests;
