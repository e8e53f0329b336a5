//! The engine's state apart from the world: what both [`Sim`](super::Sim) and
//! [`Ctx`](super::Ctx) operate on.

use rand_chacha::ChaCha8Rng;

use crate::clock::NodeClock;
use crate::disk::{Disk, DiskFaults};
use crate::engine::stats::{NodeState, Stats};
use crate::fault::Fault;
use crate::idx::NodeIdx;
use crate::net::{DropReason, Network, Route};
use crate::queue::EventQueue;
use crate::rng::RngTree;
use crate::time::SimTime;
use crate::trace::{Trace, TraceDetail, TraceRecord, Traced, combine, fingerprint};

/// A queued event. Payload-carrying variants are the hot ones and stay unboxed; faults are rare
/// and boxed so they do not widen every slab slot.
pub(super) enum Event<M, L> {
    /// A message arriving; `incarnation` is the receiver's at send time.
    Deliver { from: NodeIdx, to: NodeIdx, incarnation: u32, msg: M },
    /// A node's own event, valid only in the incarnation that scheduled it.
    Local { node: NodeIdx, incarnation: u32, ev: L },
    /// A disk sync completing, then its local event delivered (boxed: syncs are rare next to
    /// deliveries, and every queued event is as wide as the widest variant).
    Sync { node: NodeIdx, incarnation: u32, done: Box<SyncDone<L>> },
    /// A fault to apply.
    Fault(Box<Fault>),
}

impl<M, L> Event<M, L> {
    /// The node whose event it is; [`NodeIdx::NONE`] for a fault on the whole network.
    pub(super) fn node(&self) -> NodeIdx {
        match self {
            Event::Deliver { to, .. } => *to,
            Event::Local { node, .. } | Event::Sync { node, .. } => *node,
            Event::Fault(fault) => fault.target().unwrap_or(NodeIdx::NONE),
        }
    }
}

/// Whose event the engine is dispatching: windowed order (see [`super::SimConfig::window`])
/// treats what a step causes for other nodes apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stepping {
    /// Between events (the driver's calls, faults scheduled from outside).
    Idle,
    /// An event of this node.
    Node(NodeIdx),
    /// A fault on the whole network.
    Network,
}

/// What a completed sync does: makes `file` durable, then delivers `then` like a local event.
pub(super) struct SyncDone<L> {
    pub(super) file: Box<str>,
    pub(super) then: L,
}

/// Per-node state read on every event and every send: kept small and apart from the rest, so
/// that the random accesses of message traffic touch one short cache line per node.
#[derive(Debug, Clone, Copy)]
pub(super) struct NodeHot {
    pub(super) clock: NodeClock,
    /// Changes on every crash and every restart.
    pub(super) incarnation: u32,
    pub(super) state: NodeState,
}

/// Per-node state needed only by disk operations, pauses and crashes.
pub(super) struct NodeSlot<M, L> {
    pub(super) disk: Disk,
    /// Events that arrived while paused, in arrival order.
    pub(super) deferred: Vec<Event<M, L>>,
}

/// Everything but the world.
pub(super) struct Core<M, L> {
    pub(super) now: SimTime,
    pub(super) queue: EventQueue<Event<M, L>>,
    pub(super) hot: Vec<NodeHot>,
    pub(super) nodes: Vec<NodeSlot<M, L>>,
    pub(super) network: Network,
    pub(super) net_rng: ChaCha8Rng,
    pub(super) disk_rng: ChaCha8Rng,
    pub(super) fault_rng: ChaCha8Rng,
    pub(super) disk_faults: DiskFaults,
    pub(super) trace: Trace,
    /// Records of the current step (the dispatched event first, then what it caused), for the
    /// lockstep checker. Cleared at the start of every step; its capacity is reused.
    pub(super) step_records: Vec<TraceRecord>,
    pub(super) stats: Stats,
    pub(super) tree: RngTree,
    pub(super) stepping: Stepping,
}

impl<M, L> Core<M, L> {
    pub(super) fn hot(&self, node: NodeIdx) -> &NodeHot {
        match self.hot.get(node.index()) {
            Some(hot) => hot,
            None => no_such_node(node, self.hot.len()),
        }
    }

    pub(super) fn hot_mut(&mut self, node: NodeIdx) -> &mut NodeHot {
        let nodes = self.hot.len();
        match self.hot.get_mut(node.index()) {
            Some(hot) => hot,
            None => no_such_node(node, nodes),
        }
    }

    pub(super) fn slot(&self, node: NodeIdx) -> &NodeSlot<M, L> {
        match self.nodes.get(node.index()) {
            Some(slot) => slot,
            None => no_such_node(node, self.nodes.len()),
        }
    }

    pub(super) fn slot_mut(&mut self, node: NodeIdx) -> &mut NodeSlot<M, L> {
        let nodes = self.nodes.len();
        match self.nodes.get_mut(node.index()) {
            Some(slot) => slot,
            None => no_such_node(node, nodes),
        }
    }

    /// Folds a record at the current time into the trace and the current step.
    pub(super) fn record(&mut self, node: NodeIdx, kind: &'static str, fp: u64) -> TraceRecord {
        self.record_detailed(node, kind, fp, None)
    }

    /// Like [`Core::record`], with a detail for trace files (not digested).
    pub(super) fn record_detailed(
        &mut self,
        node: NodeIdx,
        kind: &'static str,
        fp: u64,
        detail: Option<TraceDetail>,
    ) -> TraceRecord {
        let r = self.trace.record_detailed(self.now, node, kind, fp, detail);
        self.step_records.push(r);
        r
    }

    /// Queues an event; times in the past are a bug in the caller.
    ///
    /// In windowed order, an event that a step causes for another node (a message, a fault, a
    /// local event) is due no earlier than the next window: nodes of a window run one after
    /// the other, so one caused within the window could land before events its node has
    /// already run. Hops shorter than what is left of the window are lengthened to it.
    pub(super) fn push(&mut self, time: SimTime, ev: Event<M, L>) {
        assert!(time >= self.now, "event scheduled in the past: {time} < {}", self.now);
        let node = ev.node();
        let for_another = match self.stepping {
            Stepping::Idle => false,
            Stepping::Node(n) => n != node,
            Stepping::Network => true,
        };
        let time = if for_another && node != NodeIdx::NONE && self.queue.is_windowed() {
            time.max(self.queue.next_window_start(self.now))
        } else {
            time
        };
        self.queue.push_for(time, node.0, ev);
    }

    /// Queues a local event of `node` at `at` (or now, if `at` has passed).
    pub(super) fn schedule_local(&mut self, node: NodeIdx, at: SimTime, ev: L) {
        let incarnation = self.hot(node).incarnation;
        self.push(at.max(self.now), Event::Local { node, incarnation, ev });
    }

    /// Queues a message delivery at `at` without the network model.
    pub(super) fn inject(&mut self, at: SimTime, from: NodeIdx, to: NodeIdx, msg: M) {
        let incarnation = self.hot(to).incarnation;
        self.push(at.max(self.now), Event::Deliver { from, to, incarnation, msg });
    }

    /// Starts a sync of `file` on `node`'s disk, completing after the disk's sync latency.
    pub(super) fn sync(&mut self, node: NodeIdx, file: &str, then: L) {
        let incarnation = self.hot(node).incarnation;
        let at = self.now + self.disk_faults.sync_latency.sample(&mut self.disk_rng);
        let done = Box::new(SyncDone { file: file.into(), then });
        self.push(at, Event::Sync { node, incarnation, done });
    }

    /// Queues a fault; invalid faults are a bug in the caller.
    pub(super) fn schedule_fault(&mut self, at: SimTime, fault: Fault) {
        if let Err(e) = fault.validate(self.hot.len() as u32) {
            panic!("invalid fault {fault:?}: {e}");
        }
        self.push(at.max(self.now), Event::Fault(Box::new(fault)));
    }
}

impl<M: Clone + Traced, L> Core<M, L> {
    /// Routes a message through the network and queues its deliveries; drops are counted and
    /// traced at the sender.
    pub(super) fn send(&mut self, from: NodeIdx, to: NodeIdx, msg: M, size_bytes: u32) {
        let incarnation = self.hot(to).incarnation;
        let Some(route) = self.route(from, to, &msg, size_bytes) else { return };
        match *route.deliveries() {
            [first] => self.push(first, Event::Deliver { from, to, incarnation, msg }),
            [first, second] => {
                self.push(first, Event::Deliver { from, to, incarnation, msg: msg.clone() });
                self.push(second, Event::Deliver { from, to, incarnation, msg });
            }
            _ => unreachable!("a route that is not dropped has one or two deliveries"),
        }
    }

    /// Like [`Core::send`] for a message the receiver would ignore on arrival: routed the same
    /// way (the same draws, the same drops), but when it would be delivered to a running node it
    /// is recorded as absorbed instead of queued, and `true` says the world must apply its
    /// effect now. A receiver that is paused or crashed gets it queued as by `send`.
    pub(super) fn send_redundant(
        &mut self,
        from: NodeIdx,
        to: NodeIdx,
        msg: M,
        size_bytes: u32,
    ) -> bool {
        if self.hot(to).state != NodeState::Up {
            self.send(from, to, msg, size_bytes);
            return false;
        }
        if self.route(from, to, &msg, size_bytes).is_none() {
            return false;
        }
        self.stats.absorbed += 1;
        self.record(to, ABSORBED, combine(msg.fingerprint(), u64::from(from.0)));
        true
    }

    /// Routes one message through the network: `None` (and a trace record) when it is dropped.
    fn route(&mut self, from: NodeIdx, to: NodeIdx, msg: &M, size_bytes: u32) -> Option<Route> {
        self.stats.sent += 1;
        let route = self.network.route(self.now, from, to, size_bytes, &mut self.net_rng);
        if let Some(reason) = route.dropped {
            match reason {
                DropReason::Partitioned => self.stats.dropped_partition += 1,
                DropReason::Lost => self.stats.dropped_loss += 1,
            }
            let fp = combine(msg.fingerprint(), u64::from(to.0));
            self.record(from, reason.kind(), fp);
            return None;
        }
        if route.clog_delayed {
            self.stats.clog_delayed += 1;
        }
        if route.is_duplicated() {
            self.stats.duplicated += 1;
        }
        Some(route)
    }
}

/// The trace kind of a message absorbed at send time ([`Core::send_redundant`]).
pub(super) const ABSORBED: &str = "absorbed";

/// The fingerprint of a sync completion: the continuation's content and the file.
pub(super) fn sync_fingerprint<L: Traced>(then: &L, file: &str) -> u64 {
    combine(then.fingerprint(), fingerprint(file.as_bytes()))
}

#[cold]
#[track_caller]
fn no_such_node(node: NodeIdx, nodes: usize) -> ! {
    panic!("{node} does not exist (the simulation has {nodes} nodes)")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With a world's message and local event at two words each (as the Spacemesh world's
    /// are), a queued event is four: the rare variants are boxed so that they do not widen it.
    #[test]
    fn a_queued_event_is_four_words() {
        assert_eq!(size_of::<Event<[u64; 2], [u64; 2]>>(), 32);
    }
}
