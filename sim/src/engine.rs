//! The discrete-event engine: a queue of `(time, seq)` events dispatched to a [`World`].

use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::clock::NodeClock;
use crate::disk::{Disk, DiskFaults};
use crate::net::{DropReason, LinkConfig, Network};
use crate::queue::EventQueue;
use crate::rng::RngTree;
use crate::time::{NodeIdx, SimDuration, SimTime};
use crate::trace::{Trace, TraceRecord, Traced};

/// The simulated system: it owns every node's state and reacts to events.
pub trait World: Sized {
    /// What nodes send each other.
    type Msg: Clone + Traced;
    /// What a node schedules for itself (timers, job completions, sync completions).
    type Local: Traced;

    /// A message from `from` arrived at `to`.
    fn on_message(
        &mut self,
        ctx: &mut Ctx<'_, Self::Msg, Self::Local>,
        to: NodeIdx,
        from: NodeIdx,
        msg: Self::Msg,
    );
    /// A self-scheduled event of `node` is due.
    fn on_local(
        &mut self,
        ctx: &mut Ctx<'_, Self::Msg, Self::Local>,
        node: NodeIdx,
        ev: Self::Local,
    );
    /// `node` crashed (its disk has already lost what a crash loses): drop its volatile state.
    fn on_crash(&mut self, ctx: &mut Ctx<'_, Self::Msg, Self::Local>, node: NodeIdx);
    /// `node` restarts: rebuild it from `ctx.disk(node)`.
    fn on_restart(&mut self, ctx: &mut Ctx<'_, Self::Msg, Self::Local>, node: NodeIdx);
    /// The trace kind of a message.
    fn kind_of_msg(_msg: &Self::Msg) -> &'static str {
        "deliver"
    }
    /// The trace kind of a local event.
    fn kind_of_local(_ev: &Self::Local) -> &'static str {
        "local"
    }
}

/// A scheduled change to the simulated environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Fault {
    /// Kill a node (unsynced writes are lost or torn).
    Crash(NodeIdx),
    /// Restart a crashed node from its disk.
    Restart(NodeIdx),
    /// Freeze a node: its events wait until it resumes.
    Pause(NodeIdx),
    /// Unfreeze a node.
    Resume(NodeIdx),
    /// Split the network into groups (unlisted nodes form one more group).
    Partition(Vec<Vec<NodeIdx>>),
    /// Drop messages from one group to another, one way only.
    Block {
        /// Senders.
        from_group: Vec<NodeIdx>,
        /// Receivers.
        to_group: Vec<NodeIdx>,
    },
    /// Remove every partition and block.
    Heal,
    /// Delay everything a node sends for a while.
    ClogOut {
        /// The node.
        node: NodeIdx,
        /// How long.
        duration: SimDuration,
    },
    /// Delay everything a node receives for a while.
    ClogIn {
        /// The node.
        node: NodeIdx,
        /// How long.
        duration: SimDuration,
    },
    /// Delay everything on one directed link for a while.
    ClogLink {
        /// Sender.
        from: NodeIdx,
        /// Receiver.
        to: NodeIdx,
        /// How long.
        duration: SimDuration,
    },
    /// Set a node's clock (a jump, or a new drift).
    SetClock {
        /// The node.
        node: NodeIdx,
        /// The new clock.
        clock: NodeClock,
    },
    /// Change link behaviour: every link (`between: None`) or one directed link.
    SetLink {
        /// The new behaviour.
        link: LinkConfig,
        /// The link, or all.
        between: Option<(NodeIdx, NodeIdx)>,
    },
}

impl Fault {
    /// The trace kind of the fault.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Crash(_) => "fault-crash",
            Fault::Restart(_) => "fault-restart",
            Fault::Pause(_) => "fault-pause",
            Fault::Resume(_) => "fault-resume",
            Fault::Partition(_) => "fault-partition",
            Fault::Block { .. } => "fault-block",
            Fault::Heal => "fault-heal",
            Fault::ClogOut { .. } => "fault-clog-out",
            Fault::ClogIn { .. } => "fault-clog-in",
            Fault::ClogLink { .. } => "fault-clog-link",
            Fault::SetClock { .. } => "fault-set-clock",
            Fault::SetLink { .. } => "fault-set-link",
        }
    }

    fn node(&self) -> NodeIdx {
        match self {
            Fault::Crash(n) | Fault::Restart(n) | Fault::Pause(n) | Fault::Resume(n) => *n,
            Fault::ClogOut { node, .. }
            | Fault::ClogIn { node, .. }
            | Fault::SetClock { node, .. } => *node,
            Fault::ClogLink { from, .. } => *from,
            _ => NodeIdx(u32::MAX),
        }
    }
}

/// Engine settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    /// Behaviour of every link.
    pub link: LinkConfig,
    /// Disk crash and latency behaviour.
    pub disk: DiskFaults,
    /// Keep trace records (for trace files).
    pub record_trace: bool,
    /// Most trace records kept.
    pub trace_records_max: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            link: LinkConfig::default(),
            disk: DiskFaults::default(),
            record_trace: false,
            trace_records_max: 50_000_000,
        }
    }
}

/// Engine counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Events dispatched (deliveries, local events, syncs, faults, drops).
    pub events: u64,
    /// Messages delivered to a live node.
    pub delivered: u64,
    /// Messages dropped by a partition.
    pub dropped_partition: u64,
    /// Messages lost at random.
    pub dropped_loss: u64,
    /// Messages that arrived at a crashed or restarted node.
    pub dropped_down: u64,
    /// Extra copies delivered.
    pub duplicated: u64,
    /// Messages delayed by a clog.
    pub clog_delayed: u64,
    /// Local events dispatched.
    pub local: u64,
    /// Disk syncs completed.
    pub syncs: u64,
    /// Faults applied.
    pub faults: u64,
    /// Crashes.
    pub crashes: u64,
    /// Restarts.
    pub restarts: u64,
}

enum Ev<M, L> {
    Deliver { from: NodeIdx, to: NodeIdx, to_incarnation: u32, msg: M },
    Local { node: NodeIdx, incarnation: u32, ev: L },
    Sync { node: NodeIdx, incarnation: u32, file: Box<str>, then: L },
    // Boxed: faults are rare and large, and every queue entry is as big as the largest variant.
    Fault(Box<Fault>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Up,
    Paused,
    Crashed,
}

struct Slot<M, L> {
    clock: NodeClock,
    disk: Disk,
    state: State,
    incarnation: u32,
    deferred: Vec<Ev<M, L>>,
}

/// Everything but the world: what callbacks get through [`Ctx`].
struct Core<M, L> {
    now: SimTime,
    queue: EventQueue<Ev<M, L>>,
    slots: Vec<Slot<M, L>>,
    network: Network,
    net_rng: ChaCha8Rng,
    fault_rng: ChaCha8Rng,
    disk_rng: ChaCha8Rng,
    disk_faults: DiskFaults,
    trace: Trace,
    stats: Stats,
}

impl<M, L> Core<M, L> {
    fn push(&mut self, time: SimTime, ev: Ev<M, L>) {
        self.queue.push(time, ev);
    }
}

/// The engine as a world callback sees it.
pub struct Ctx<'a, M, L> {
    core: &'a mut Core<M, L>,
}

impl<M, L> std::fmt::Debug for Ctx<'_, M, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx").field("now", &self.core.now).finish()
    }
}

impl<M: Clone, L> Ctx<'_, M, L> {
    /// Current simulated time.
    pub fn now(&self) -> SimTime {
        self.core.now
    }

    /// The local clock reading of `node` now (µs).
    pub fn local_now(&self, node: NodeIdx) -> u64 {
        self.core.slots[node.0 as usize].clock.local(self.core.now)
    }

    /// A node's clock.
    pub fn node_clock(&self, node: NodeIdx) -> NodeClock {
        self.core.slots[node.0 as usize].clock
    }

    /// Number of nodes.
    pub fn nodes(&self) -> u32 {
        self.core.slots.len() as u32
    }

    /// Whether a node is running (not crashed, not paused).
    pub fn is_up(&self, node: NodeIdx) -> bool {
        self.core.slots[node.0 as usize].state == State::Up
    }

    /// Sends a message of `size` bytes through the network model.
    pub fn send(&mut self, from: NodeIdx, to: NodeIdx, msg: M, size: u32) {
        let core = &mut *self.core;
        let route = core.network.route(core.now, from, to, size, &mut core.net_rng);
        match route.dropped {
            Some(DropReason::Partitioned) => core.stats.dropped_partition += 1,
            Some(DropReason::Lost) => core.stats.dropped_loss += 1,
            None => {}
        }
        if route.clogged {
            core.stats.clog_delayed += 1;
        }
        let to_incarnation = core.slots[to.0 as usize].incarnation;
        if let Some(second) = route.second {
            core.stats.duplicated += 1;
            core.push(second, Ev::Deliver { from, to, to_incarnation, msg: msg.clone() });
        }
        if let Some(first) = route.first {
            core.push(first, Ev::Deliver { from, to, to_incarnation, msg });
        }
    }

    /// Schedules a local event for when `node`'s clock reads `local_us` (now, if in the past).
    pub fn schedule_at_local(&mut self, node: NodeIdx, local_us: u64, ev: L) {
        let slot = &self.core.slots[node.0 as usize];
        let at = slot.clock.sim_time_at(local_us).max(self.core.now);
        let incarnation = slot.incarnation;
        self.core.push(at, Ev::Local { node, incarnation, ev });
    }

    /// Schedules a local event after a simulated duration.
    pub fn schedule_after(&mut self, node: NodeIdx, d: SimDuration, ev: L) {
        let incarnation = self.core.slots[node.0 as usize].incarnation;
        let at = self.core.now + d;
        self.core.push(at, Ev::Local { node, incarnation, ev });
    }

    /// Starts a sync of `file`; when it completes the file is durable and `then` is delivered.
    /// A crash before completion cancels both.
    pub fn sync(&mut self, node: NodeIdx, file: &str, then: L) {
        let core = &mut *self.core;
        let d = core.disk_faults.sync_latency.sample(&mut core.disk_rng);
        let incarnation = core.slots[node.0 as usize].incarnation;
        let at = core.now + d;
        core.push(at, Ev::Sync { node, incarnation, file: file.into(), then });
    }

    /// A node's disk.
    pub fn disk(&mut self, node: NodeIdx) -> &mut Disk {
        &mut self.core.slots[node.0 as usize].disk
    }

    /// Folds an extra record (an observable node event) into the trace.
    pub fn trace(&mut self, node: NodeIdx, kind: &'static str, fingerprint: u64) {
        let now = self.core.now;
        self.core.trace.record(now, node, kind, fingerprint);
    }

    /// Engine counters.
    pub fn stats(&self) -> &Stats {
        &self.core.stats
    }
}

/// A simulation: a world driven by the engine.
pub struct Sim<W: World> {
    world: W,
    core: Core<W::Msg, W::Local>,
}

impl<W: World + std::fmt::Debug> std::fmt::Debug for Sim<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("now", &self.core.now)
            .field("queued", &self.core.queue.len())
            .field("world", &self.world)
            .finish()
    }
}

impl<W: World> Sim<W> {
    /// A simulation of `nodes` nodes from master seed `seed`.
    pub fn new(world: W, nodes: u32, seed: u64, cfg: SimConfig) -> Self {
        let tree = RngTree::new(seed);
        let slots = (0..nodes)
            .map(|_| Slot {
                clock: NodeClock::default(),
                disk: Disk::new(),
                state: State::Up,
                incarnation: 0,
                deferred: Vec::new(),
            })
            .collect();
        let core = Core {
            now: SimTime::ZERO,
            queue: EventQueue::new(),
            slots,
            network: Network::new(nodes, cfg.link),
            net_rng: tree.network(),
            fault_rng: tree.faults(),
            disk_rng: tree.disk(),
            disk_faults: cfg.disk,
            trace: Trace::new(cfg.record_trace, cfg.trace_records_max),
            stats: Stats::default(),
        };
        Sim { world, core }
    }

    /// The world.
    pub fn world(&self) -> &W {
        &self.world
    }

    /// The world, mutably.
    pub fn world_mut(&mut self) -> &mut W {
        &mut self.world
    }

    /// Runs `f` with the world and a context (to kick things off at the current time).
    pub fn with_ctx<R>(
        &mut self,
        f: impl FnOnce(&mut W, &mut Ctx<'_, W::Msg, W::Local>) -> R,
    ) -> R {
        f(&mut self.world, &mut Ctx { core: &mut self.core })
    }

    /// Schedules a fault.
    pub fn schedule_fault(&mut self, at: SimTime, fault: Fault) {
        self.core.push(at.max(self.core.now), Ev::Fault(Box::new(fault)));
    }

    /// Schedules a local event for a node at a simulated time.
    pub fn schedule_local(&mut self, node: NodeIdx, at: SimTime, ev: W::Local) {
        let incarnation = self.core.slots[node.0 as usize].incarnation;
        self.core.push(at.max(self.core.now), Ev::Local { node, incarnation, ev });
    }

    /// Delivers a message at `at` without the network model (tests, scripted adversaries).
    pub fn inject_message(&mut self, at: SimTime, from: NodeIdx, to: NodeIdx, msg: W::Msg) {
        let to_incarnation = self.core.slots[to.0 as usize].incarnation;
        self.core.push(at.max(self.core.now), Ev::Deliver { from, to, to_incarnation, msg });
    }

    /// Current simulated time.
    pub fn now(&self) -> SimTime {
        self.core.now
    }

    /// The trace digest so far.
    pub fn digest(&self) -> [u8; 32] {
        self.core.trace.digest()
    }

    /// Engine counters.
    pub fn stats(&self) -> &Stats {
        &self.core.stats
    }

    /// Kept trace records.
    pub fn trace_records(&self) -> &[TraceRecord] {
        self.core.trace.records()
    }

    /// A node's disk.
    pub fn disk(&self, node: NodeIdx) -> &Disk {
        &self.core.slots[node.0 as usize].disk
    }

    /// Whether a node is running.
    pub fn is_up(&self, node: NodeIdx) -> bool {
        self.core.slots[node.0 as usize].state == State::Up
    }

    /// Time of the next event, if any.
    pub fn next_time(&self) -> Option<SimTime> {
        self.core.queue.peek_time()
    }

    /// Runs every event up to and including time `t`, then sets the clock to `t`. Returns the
    /// number of events processed.
    pub fn run_until(&mut self, t: SimTime) -> u64 {
        let before = self.core.stats.events;
        while self.next_time().is_some_and(|next| next <= t) {
            self.step();
        }
        self.core.now = self.core.now.max(t);
        self.core.stats.events - before
    }

    /// Dispatches the next event and returns its trace record (`None` when the queue is empty).
    pub fn step(&mut self) -> Option<TraceRecord> {
        let (time, ev) = self.core.queue.pop()?;
        debug_assert!(time >= self.core.now, "time went backwards");
        self.core.now = time;
        self.core.stats.events += 1;
        Some(self.dispatch(ev))
    }

    fn dispatch(&mut self, ev: Ev<W::Msg, W::Local>) -> TraceRecord {
        let now = self.core.now;
        match ev {
            Ev::Deliver { from, to, to_incarnation, msg } => {
                let slot = &mut self.core.slots[to.0 as usize];
                match slot.state {
                    State::Paused => {
                        slot.deferred.push(Ev::Deliver { from, to, to_incarnation, msg });
                        return self.core.trace.record(now, to, "defer", u64::from(from.0));
                    }
                    State::Crashed => return self.dropped(to, from),
                    State::Up if slot.incarnation != to_incarnation => {
                        return self.dropped(to, from);
                    }
                    State::Up => {}
                }
                self.core.stats.delivered += 1;
                let fp = msg.fingerprint() ^ u64::from(from.0).rotate_left(32);
                let record = self.core.trace.record(now, to, W::kind_of_msg(&msg), fp);
                self.world.on_message(&mut Ctx { core: &mut self.core }, to, from, msg);
                self.with_chain(record)
            }
            Ev::Local { node, incarnation, ev } => {
                let slot = &mut self.core.slots[node.0 as usize];
                if slot.incarnation != incarnation {
                    return self.core.trace.record(now, node, "stale", 0);
                }
                if slot.state == State::Paused {
                    slot.deferred.push(Ev::Local { node, incarnation, ev });
                    return self.core.trace.record(now, node, "defer", 0);
                }
                self.core.stats.local += 1;
                let record =
                    self.core.trace.record(now, node, W::kind_of_local(&ev), ev.fingerprint());
                self.world.on_local(&mut Ctx { core: &mut self.core }, node, ev);
                self.with_chain(record)
            }
            Ev::Sync { node, incarnation, file, then } => {
                let slot = &mut self.core.slots[node.0 as usize];
                if slot.incarnation != incarnation {
                    return self.core.trace.record(now, node, "stale", 0);
                }
                if slot.state == State::Paused {
                    slot.deferred.push(Ev::Sync { node, incarnation, file, then });
                    return self.core.trace.record(now, node, "defer", 0);
                }
                slot.disk.sync_now(&file);
                self.core.stats.syncs += 1;
                let record = self.core.trace.record(now, node, "sync", then.fingerprint());
                self.world.on_local(&mut Ctx { core: &mut self.core }, node, then);
                self.with_chain(record)
            }
            Ev::Fault(fault) => self.apply_fault(*fault),
        }
    }

    fn dropped(&mut self, to: NodeIdx, from: NodeIdx) -> TraceRecord {
        self.core.stats.dropped_down += 1;
        self.core.trace.record(self.core.now, to, "drop-down", u64::from(from.0))
    }

    /// The record of the dispatched event, with the chain after every extra record the world
    /// folded while handling it.
    fn with_chain(&self, record: TraceRecord) -> TraceRecord {
        TraceRecord { chain: self.core.trace.chain(), ..record }
    }

    fn apply_fault(&mut self, fault: Fault) -> TraceRecord {
        let now = self.core.now;
        self.core.stats.faults += 1;
        let record = self.core.trace.record(now, fault.node(), fault.kind(), 0);
        let core = &mut self.core;
        match fault {
            Fault::Crash(n) => {
                let slot = &mut core.slots[n.0 as usize];
                if slot.state == State::Crashed {
                    return record;
                }
                slot.disk.crash(&mut core.fault_rng, &core.disk_faults);
                slot.state = State::Crashed;
                slot.incarnation += 1;
                slot.deferred.clear();
                core.stats.crashes += 1;
                self.world.on_crash(&mut Ctx { core: &mut self.core }, n);
            }
            Fault::Restart(n) => {
                let slot = &mut core.slots[n.0 as usize];
                if slot.state != State::Crashed {
                    return record;
                }
                slot.state = State::Up;
                core.stats.restarts += 1;
                self.world.on_restart(&mut Ctx { core: &mut self.core }, n);
            }
            Fault::Pause(n) => {
                let slot = &mut core.slots[n.0 as usize];
                if slot.state == State::Up {
                    slot.state = State::Paused;
                }
            }
            Fault::Resume(n) => {
                let slot = &mut core.slots[n.0 as usize];
                if slot.state == State::Paused {
                    slot.state = State::Up;
                    for ev in std::mem::take(&mut slot.deferred) {
                        core.push(now, ev);
                    }
                }
            }
            Fault::Partition(groups) => core.network.partition(&groups),
            Fault::Block { from_group, to_group } => core.network.block(&from_group, &to_group),
            Fault::Heal => core.network.heal(),
            Fault::ClogOut { node, duration } => core.network.clog_out(node, now + duration),
            Fault::ClogIn { node, duration } => core.network.clog_in(node, now + duration),
            Fault::ClogLink { from, to, duration } => {
                core.network.clog_link(from, to, now + duration)
            }
            Fault::SetClock { node, clock } => core.slots[node.0 as usize].clock = clock,
            Fault::SetLink { link, between: None } => core.network.set_default(link),
            Fault::SetLink { link, between: Some((a, b)) } => core.network.set_link(a, b, link),
        }
        self.with_chain(record)
    }
}

#[cfg(test)]
mod tests;
