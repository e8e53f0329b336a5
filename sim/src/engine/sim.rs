//! The simulation: a world driven by the engine.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::clock::NodeClock;
use crate::disk::{Disk, DiskFaults};
use crate::engine::World;
use crate::engine::ctx::Ctx;
use crate::engine::state::{Core, Event, NodeHot, NodeSlot, Stepping, SyncDone, sync_fingerprint};
use crate::engine::stats::{NodeState, Stats};
use crate::fault::{Fault, FaultError};
use crate::idx::NodeIdx;
use crate::net::{LinkConfig, Network};
use crate::queue::EventQueue;
use crate::rng::RngTree;
use crate::time::{SimDuration, SimTime};
use crate::trace::{Trace, TraceRecord, Traced, combine};

/// Engine settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimConfig {
    /// Behaviour of every link (per-link overrides come from faults or [`Sim::network_mut`]).
    pub link: LinkConfig,
    /// Disk crash behaviour and sync latency.
    pub disk: DiskFaults,
    /// Keep trace records (for trace files); the digest is always computed.
    pub record_trace: bool,
    /// Most trace records kept when recording (the first ones).
    pub trace_records_max: usize,
    /// Zero: events run in `(time, seq)` order. Otherwise the width of the windows of windowed
    /// order: time is cut into windows of this length and each window's events run node by
    /// node (ascending index), each node's in time order, so that a node's events of a window
    /// run back to back while its state is in cache (a large simulation's nodes each keep
    /// megabytes). What a step causes for another node is due in the next window at the
    /// earliest, so a hop shorter than what is left of the window is lengthened to it: choose a
    /// window no longer than the network's shortest hop, and the order changes nothing but
    /// speed and the trace digest. A fault on the whole network (partition, heal, link
    /// settings of every link, disk faults) takes effect at the end of its window.
    pub window: SimDuration,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            link: LinkConfig::default(),
            disk: DiskFaults::default(),
            record_trace: false,
            trace_records_max: 10_000_000,
            window: SimDuration::ZERO,
        }
    }
}

impl SimConfig {
    /// Checks link and disk probabilities.
    pub fn validate(&self) -> Result<(), FaultError> {
        Fault::SetLink { link: self.link, between: None }.validate(0)?;
        Fault::SetDiskFaults(self.disk).validate(0)
    }
}

/// A simulation: a [`World`] driven by the engine (see the [module docs](super)).
pub struct Sim<W: World> {
    world: W,
    core: Core<W::Msg, W::Local>,
}

/// An empty queue in the order `window` asks for (see [`SimConfig::window`]).
fn queue_for<E>(window: SimDuration) -> EventQueue<E> {
    if window > SimDuration::ZERO { EventQueue::windowed(window.0) } else { EventQueue::new() }
}

impl<W: World> fmt::Debug for Sim<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim")
            .field("now", &self.core.now)
            .field("nodes", &self.core.nodes.len())
            .field("queued", &self.core.queue.len())
            .field("stats", &self.core.stats)
            .finish_non_exhaustive()
    }
}

impl<W: World> Sim<W> {
    /// A simulation of `nodes` nodes (all running, perfect clocks, empty disks) from master
    /// seed `seed`.
    ///
    /// # Panics
    /// If `cfg` is invalid (see [`SimConfig::validate`]) or `nodes` is `u32::MAX`.
    pub fn new(world: W, nodes: u32, seed: u64, cfg: SimConfig) -> Self {
        if let Err(e) = cfg.validate() {
            panic!("invalid simulation config: {e}");
        }
        assert!(nodes < u32::MAX, "u32::MAX is reserved for NodeIdx::NONE");
        let tree = RngTree::new(seed);
        let n = nodes as usize;
        let hot = NodeHot { clock: NodeClock::default(), incarnation: 0, state: NodeState::Up };
        let slots = (0..n).map(|_| NodeSlot { disk: Disk::new(), deferred: Vec::new() }).collect();
        let core = Core {
            now: SimTime::ZERO,
            queue: queue_for(cfg.window),
            hot: vec![hot; n],
            nodes: slots,
            network: Network::new(nodes, cfg.link),
            net_rng: tree.network(),
            disk_rng: tree.disk(),
            fault_rng: tree.faults(),
            disk_faults: cfg.disk,
            trace: Trace::new(if cfg.record_trace { cfg.trace_records_max } else { 0 }),
            step_records: Vec::new(),
            stats: Stats::default(),
            tree,
            stepping: Stepping::Idle,
        };
        Sim { world, core }
    }

    /// The world.
    pub fn world(&self) -> &W {
        &self.world
    }

    /// The world, mutably (for drivers and checkers between steps).
    pub fn world_mut(&mut self) -> &mut W {
        &mut self.world
    }

    /// Runs `f` with the world and a context at the current time, e.g. to start the nodes.
    pub fn with_ctx<R>(
        &mut self,
        f: impl FnOnce(&mut W, &mut Ctx<'_, W::Msg, W::Local>) -> R,
    ) -> R {
        f(&mut self.world, &mut Ctx { core: &mut self.core })
    }

    /// Schedules a fault at `at` (now, if it has passed).
    ///
    /// # Panics
    /// If the fault is invalid for this simulation; use [`Fault::validate`] on untrusted input.
    pub fn schedule_fault(&mut self, at: SimTime, fault: Fault) {
        self.core.schedule_fault(at, fault);
    }

    /// Schedules a local event of `node` at `at` (now, if it has passed), in its current
    /// incarnation.
    pub fn schedule_local(&mut self, node: NodeIdx, at: SimTime, ev: W::Local) {
        self.core.schedule_local(node, at, ev);
    }

    /// Delivers `msg` at `at` without the network model (tests, scripted adversaries). The usual
    /// receiver rules apply: dropped if it is down, waits if it is paused.
    pub fn inject_message(&mut self, at: SimTime, from: NodeIdx, to: NodeIdx, msg: W::Msg) {
        self.core.inject(at, from, to, msg);
    }

    /// Current simulated time.
    pub fn now(&self) -> SimTime {
        self.core.now
    }

    /// The trace digest so far.
    pub fn digest(&self) -> [u8; 32] {
        self.core.trace.digest()
    }

    /// Trace records folded so far (events plus extra records).
    pub fn trace_events(&self) -> u64 {
        self.core.trace.events()
    }

    /// Engine counters.
    pub fn stats(&self) -> &Stats {
        &self.core.stats
    }

    /// Kept trace records (empty unless `record_trace`).
    pub fn trace_records(&self) -> &[TraceRecord] {
        self.core.trace.records()
    }

    /// Every record the last [`step`](Sim::step) produced: the dispatched event's first, then
    /// the records it caused (network drops, the world's own trace records).
    pub fn step_records(&self) -> &[TraceRecord] {
        &self.core.step_records
    }

    /// Number of nodes.
    pub fn nodes(&self) -> u32 {
        self.core.nodes.len() as u32
    }

    /// A node's disk.
    pub fn disk(&self, node: NodeIdx) -> &Disk {
        &self.core.slot(node).disk
    }

    /// A node's disk, mutably (to prepare initial state).
    pub fn disk_mut(&mut self, node: NodeIdx) -> &mut Disk {
        &mut self.core.slot_mut(node).disk
    }

    /// A node's clock.
    pub fn node_clock(&self, node: NodeIdx) -> NodeClock {
        self.core.hot(node).clock
    }

    /// Sets a node's clock now (a [`Fault::SetClock`] applies the same change at a scheduled
    /// time).
    pub fn set_node_clock(&mut self, node: NodeIdx, clock: NodeClock) {
        self.core.hot_mut(node).clock = clock;
    }

    /// Whether `node` is running (neither crashed nor paused).
    pub fn is_up(&self, node: NodeIdx) -> bool {
        self.core.hot(node).state == NodeState::Up
    }

    /// Whether `node` is running, paused or crashed.
    pub fn node_state(&self, node: NodeIdx) -> NodeState {
        self.core.hot(node).state
    }

    /// `node`'s incarnation (changes on crash and on restart).
    pub fn incarnation(&self, node: NodeIdx) -> u32 {
        self.core.hot(node).incarnation
    }

    /// The network state.
    pub fn network(&self) -> &Network {
        &self.core.network
    }

    /// The network state, mutably (initial per-link settings; faults do the same at run time).
    pub fn network_mut(&mut self) -> &mut Network {
        &mut self.core.network
    }

    /// The RNG tree of the run.
    pub fn rng_tree(&self) -> RngTree {
        self.core.tree
    }

    /// The window of windowed order, zero in time order (see [`SimConfig::window`]).
    pub fn window(&self) -> SimDuration {
        SimDuration(self.core.queue.window_us())
    }

    /// Sets the window of windowed order (zero: time order) before the run starts, e.g. once
    /// the run's networks are known: queued events keep their times, and equal times their
    /// order, as if they had been queued with this window from the start.
    ///
    /// # Panics
    /// If an event has already been dispatched.
    pub fn set_window(&mut self, window: SimDuration) {
        assert!(
            self.core.stats.events == 0 && self.core.now == SimTime::ZERO,
            "the window is set before the run starts"
        );
        let queued = std::mem::replace(&mut self.core.queue, queue_for(window));
        for (time, ev) in queued.into_events() {
            let node = ev.node();
            self.core.queue.push_for(time, node.0, ev);
        }
    }

    /// Number of queued events.
    pub fn pending_events(&self) -> usize {
        self.core.queue.len()
    }

    /// Time of the next queued event (it may turn out to be a discarded stale event).
    pub fn next_time(&self) -> Option<SimTime> {
        self.core.queue.peek_time()
    }

    /// Bytes of engine state: per-node slots and network vectors plus queue buffers; disks'
    /// contents and the world are not included. For memory reports.
    pub fn engine_bytes(&self) -> usize {
        let per_node = size_of::<NodeHot>()
            + size_of::<NodeSlot<W::Msg, W::Local>>()
            + Network::BYTES_PER_NODE;
        self.core.nodes.len() * per_node + self.core.queue.heap_bytes()
    }

    /// Dispatches the next event and returns its trace record; `None` when the queue is empty.
    pub fn step(&mut self) -> Option<TraceRecord> {
        self.step_until(SimTime::MAX)
    }

    /// Dispatches the next event if it is due at or before `bound`.
    pub fn step_until(&mut self, bound: SimTime) -> Option<TraceRecord> {
        self.core.step_records.clear();
        loop {
            let (time, ev) = self.core.queue.pop_until(bound)?;
            debug_assert!(
                time >= self.core.now || self.core.queue.is_windowed(),
                "time went backwards"
            );
            self.core.now = time;
            let node = ev.node();
            self.core.stepping =
                if node == NodeIdx::NONE { Stepping::Network } else { Stepping::Node(node) };
            let dispatched = self.dispatch(ev);
            self.core.stepping = Stepping::Idle;
            if let Some(record) = dispatched {
                self.core.stats.events += 1;
                return Some(record);
            }
        }
    }

    /// Runs every event due at or before `t`, then advances the clock to `t`. Returns the number
    /// of events dispatched.
    pub fn run_until(&mut self, t: SimTime) -> u64 {
        let before = self.core.stats.events;
        while self.step_until(t).is_some() {}
        self.core.now = self.core.now.max(t);
        self.core.stats.events - before
    }

    /// Dispatches one event; `None` if it was deferred or discarded (not an event of the trace).
    fn dispatch(&mut self, ev: Event<W::Msg, W::Local>) -> Option<TraceRecord> {
        match ev {
            Event::Deliver { from, to, incarnation, msg } => {
                self.deliver(from, to, incarnation, msg)
            }
            Event::Local { node, incarnation, ev } => {
                if !self.runnable(node, incarnation) {
                    return self.defer_or_discard(node, Event::Local { node, incarnation, ev });
                }
                self.core.stats.locals += 1;
                let record = self.core.record(node, W::kind_of_local(&ev), ev.fingerprint());
                self.world.on_local(&mut Ctx { core: &mut self.core }, node, ev);
                Some(record)
            }
            Event::Sync { node, incarnation, done } => {
                if !self.runnable(node, incarnation) {
                    return self.defer_or_discard(node, Event::Sync { node, incarnation, done });
                }
                let SyncDone { file, then } = *done;
                self.core.slot_mut(node).disk.sync_now(&file);
                self.core.stats.syncs += 1;
                let record =
                    self.core.record(node, W::kind_of_local(&then), sync_fingerprint(&then, &file));
                self.world.on_local(&mut Ctx { core: &mut self.core }, node, then);
                Some(record)
            }
            Event::Fault(fault) => Some(self.apply_fault(*fault)),
        }
    }

    /// Whether a local event or sync of `incarnation` can run now.
    fn runnable(&self, node: NodeIdx, incarnation: u32) -> bool {
        let hot = self.core.hot(node);
        hot.state == NodeState::Up && hot.incarnation == incarnation
    }

    /// A local event or sync that cannot run: it waits at a paused node of its incarnation, and
    /// is silently discarded if its incarnation is over.
    fn defer_or_discard(
        &mut self,
        node: NodeIdx,
        ev: Event<W::Msg, W::Local>,
    ) -> Option<TraceRecord> {
        let hot = *self.core.hot(node);
        let current = match &ev {
            Event::Local { incarnation, .. } | Event::Sync { incarnation, .. } => {
                *incarnation == hot.incarnation
            }
            Event::Deliver { .. } | Event::Fault(_) => unreachable!("only local events and syncs"),
        };
        if current && hot.state == NodeState::Paused {
            self.core.slot_mut(node).deferred.push(ev);
            self.core.stats.deferred += 1;
        } else {
            self.core.stats.stale += 1;
        }
        None
    }

    fn deliver(
        &mut self,
        from: NodeIdx,
        to: NodeIdx,
        incarnation: u32,
        msg: W::Msg,
    ) -> Option<TraceRecord> {
        let hot = *self.core.hot(to);
        let fp = combine(msg.fingerprint(), u64::from(from.0));
        match hot.state {
            NodeState::Paused => {
                self.core.slot_mut(to).deferred.push(Event::Deliver { from, to, incarnation, msg });
                self.core.stats.deferred += 1;
                return None;
            }
            NodeState::Crashed => {
                self.core.stats.dropped_down += 1;
                return Some(self.core.record(to, "drop-down", fp));
            }
            NodeState::Up if hot.incarnation != incarnation => {
                self.core.stats.dropped_reset += 1;
                return Some(self.core.record(to, "drop-reset", fp));
            }
            NodeState::Up => {}
        }
        self.core.stats.delivered += 1;
        let record = self.core.record(to, W::kind_of_msg(&msg), fp);
        self.world.on_message(&mut Ctx { core: &mut self.core }, to, from, msg);
        Some(record)
    }

    fn apply_fault(&mut self, fault: Fault) -> TraceRecord {
        self.core.stats.faults += 1;
        let record = self.core.record(fault.node(), fault.kind(), fault.fingerprint());
        let now = self.core.now;
        let core = &mut self.core;
        match fault {
            Fault::Crash(node) => self.crash(node),
            Fault::Restart(node) => self.restart(node),
            Fault::Pause(node) => {
                let hot = core.hot_mut(node);
                if hot.state == NodeState::Up {
                    hot.state = NodeState::Paused;
                }
            }
            Fault::Resume(node) => self.resume(node),
            Fault::Partition(groups) => core.network.partition(&groups),
            Fault::Block { from_group, to_group } => core.network.block(&from_group, &to_group),
            Fault::Heal => core.network.heal(),
            Fault::ClogOut { node, duration } => core.network.clog_node_out(node, now + duration),
            Fault::ClogIn { node, duration } => core.network.clog_node_in(node, now + duration),
            Fault::ClogLink { from, to, duration } => {
                core.network.clog_link(from, to, now + duration)
            }
            Fault::SetClock { node, clock } => core.hot_mut(node).clock = clock,
            Fault::SetLink { link, between: None } => core.network.set_default(link),
            Fault::SetLink { link, between: Some((from, to)) } => {
                core.network.set_link(from, to, link)
            }
            Fault::ResetLink { from, to } => core.network.clear_link(from, to),
            Fault::SetDiskFaults(disk) => core.disk_faults = disk,
        }
        record
    }

    /// Kills a node: disk crash model first, then the world drops its volatile state.
    fn crash(&mut self, node: NodeIdx) {
        let hot = self.core.hot_mut(node);
        if hot.state == NodeState::Crashed {
            return;
        }
        hot.state = NodeState::Crashed;
        hot.incarnation += 1;
        let core = &mut self.core;
        let slot = &mut core.nodes[node.index()];
        let waiting = slot.deferred.iter().filter(|e| matches!(e, Event::Deliver { .. })).count();
        core.stats.dropped_down += waiting as u64;
        slot.deferred.clear();
        slot.disk.crash(&mut core.fault_rng, &core.disk_faults);
        core.stats.crashes += 1;
        self.world.on_crash(&mut Ctx { core: &mut self.core }, node);
    }

    /// Brings a crashed node back; the world rebuilds it from its disk.
    fn restart(&mut self, node: NodeIdx) {
        let hot = self.core.hot_mut(node);
        if hot.state != NodeState::Crashed {
            return;
        }
        hot.state = NodeState::Up;
        hot.incarnation += 1;
        self.core.stats.restarts += 1;
        self.world.on_restart(&mut Ctx { core: &mut self.core }, node);
    }

    /// Unfreezes a paused node and re-queues what waited, in order, at the current time.
    fn resume(&mut self, node: NodeIdx) {
        let hot = self.core.hot_mut(node);
        if hot.state != NodeState::Paused {
            return;
        }
        hot.state = NodeState::Up;
        let waited = std::mem::take(&mut self.core.slot_mut(node).deferred);
        let now = self.core.now;
        for ev in waited {
            self.core.push(now, ev);
        }
    }
}
