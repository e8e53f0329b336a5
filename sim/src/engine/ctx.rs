//! The engine as a world callback sees it.

use std::fmt;

use crate::clock::NodeClock;
use crate::disk::Disk;
use crate::engine::state::Core;
use crate::engine::stats::{NodeState, Stats};
use crate::fault::Fault;
use crate::idx::NodeIdx;
use crate::net::Network;
use crate::rng::RngTree;
use crate::time::{SimDuration, SimTime};
use crate::trace::{TraceDetail, Traced};

/// A borrowed view of the engine, handed to every [`World`](super::World) callback: the current
/// time, node clocks and disks, and the ways to cause future events.
pub struct Ctx<'a, M, L> {
    pub(super) core: &'a mut Core<M, L>,
}

impl<M, L> fmt::Debug for Ctx<'_, M, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("now", &self.core.now)
            .field("nodes", &self.core.hot.len())
            .finish()
    }
}

impl<M: Clone + Traced, L: Traced> Ctx<'_, M, L> {
    /// Current simulated time (nodes should read [`local_now`](Ctx::local_now) instead).
    pub fn now(&self) -> SimTime {
        self.core.now
    }

    /// `node`'s clock reading now, in local microseconds.
    pub fn local_now(&self, node: NodeIdx) -> u64 {
        self.core.hot(node).clock.local(self.core.now)
    }

    /// `node`'s clock.
    pub fn node_clock(&self, node: NodeIdx) -> NodeClock {
        self.core.hot(node).clock
    }

    /// Sends `msg` of `size_bytes` from `from` to `to` through the network model: it may be
    /// dropped, duplicated, delayed, reordered or clogged (see [`crate::net`]).
    pub fn send(&mut self, from: NodeIdx, to: NodeIdx, msg: M, size_bytes: u32) {
        self.core.send(from, to, msg, size_bytes);
    }

    /// Sends a message the receiver is known to ignore on arrival (a copy of something it
    /// already has, whose only effects are counters): the network routes it as [`send`] does,
    /// with the same random draws and drops, but when it would reach a running receiver it is
    /// not queued. It is recorded in the trace as absorbed and `true` tells the world to apply
    /// its effect now, as if it had arrived at once. The world must be sure the message changes
    /// nothing else at the receiver, whenever it arrives; a paused or crashed receiver gets it
    /// queued as by [`send`] (and `false`). In windowed order (see
    /// [`SimConfig::window`](super::SimConfig::window)) the receiver's own events of the window,
    /// even earlier ones, may still be to run: the effect must commute with them.
    ///
    /// [`send`]: Ctx::send
    pub fn send_redundant(&mut self, from: NodeIdx, to: NodeIdx, msg: M, size_bytes: u32) -> bool {
        self.core.send_redundant(from, to, msg, size_bytes)
    }

    /// A timer: `ev` is delivered to `node` when its clock reads `local_us` (now, if it already
    /// does). The deadline is converted to simulated time now; a later clock jump does not move
    /// it.
    pub fn schedule_at_local(&mut self, node: NodeIdx, local_us: u64, ev: L) {
        let at = self.core.hot(node).clock.sim_time_at(local_us);
        self.core.schedule_local(node, at, ev);
    }

    /// Delivers `ev` to `node` after `d` of simulated time.
    pub fn schedule_after(&mut self, node: NodeIdx, d: SimDuration, ev: L) {
        let at = self.core.now + d;
        self.core.schedule_local(node, at, ev);
    }

    /// Delivers `ev` to `node` at simulated time `at` (now, if it has passed).
    pub fn schedule_at(&mut self, node: NodeIdx, at: SimTime, ev: L) {
        self.core.schedule_local(node, at, ev);
    }

    /// Starts a sync of `file` on `node`'s disk. After the disk's sync latency the engine makes
    /// the file's content *as of completion* durable, then delivers `then` like a local event.
    /// If the node crashes first, the sync never happens and `then` is never delivered.
    pub fn sync(&mut self, node: NodeIdx, file: &str, then: L) {
        self.core.sync(node, file, then);
    }

    /// `node`'s disk.
    pub fn disk(&mut self, node: NodeIdx) -> &mut Disk {
        &mut self.core.slot_mut(node).disk
    }

    /// Whether `node` is running (neither crashed nor paused).
    pub fn is_up(&self, node: NodeIdx) -> bool {
        self.core.hot(node).state == NodeState::Up
    }

    /// Whether `node` is running, paused or crashed.
    pub fn node_state(&self, node: NodeIdx) -> NodeState {
        self.core.hot(node).state
    }

    /// `node`'s incarnation: it changes when the node crashes and again when it restarts.
    pub fn incarnation(&self, node: NodeIdx) -> u32 {
        self.core.hot(node).incarnation
    }

    /// Number of nodes.
    pub fn nodes(&self) -> u32 {
        self.core.hot.len() as u32
    }

    /// Folds an extra record (an observable node event) into the trace digest.
    pub fn trace(&mut self, node: NodeIdx, kind: &'static str, fingerprint: u64) {
        self.core.record(node, kind, fingerprint);
    }

    /// Like [`Ctx::trace`], with a detail kept in recorded trace records (for trace files) but
    /// not folded into the digest.
    pub fn trace_detailed(
        &mut self,
        node: NodeIdx,
        kind: &'static str,
        fingerprint: u64,
        detail: Option<TraceDetail>,
    ) {
        self.core.record_detailed(node, kind, fingerprint, detail);
    }

    /// Schedules a fault (an adversary may, for example, clog its victim).
    ///
    /// # Panics
    /// If the fault names a node that does not exist or has an invalid configuration.
    pub fn schedule_fault(&mut self, at: SimTime, fault: Fault) {
        self.core.schedule_fault(at, fault);
    }

    /// The RNG tree of the run, for worlds that derive their own streams.
    pub fn rng_tree(&self) -> RngTree {
        self.core.tree
    }

    /// The network state.
    pub fn network(&self) -> &Network {
        &self.core.network
    }

    /// Engine counters.
    pub fn stats(&self) -> &Stats {
        &self.core.stats
    }
}
