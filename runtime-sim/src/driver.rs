//! The world of simulated nodes: how core outputs become simulated effects.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;
use spacemesh_core::codec::Encode;
use spacemesh_core::crypto::Verifier;
use spacemesh_core::gossip::{PublishPrint, SeenMark};
use spacemesh_core::job::{JobEnv, JobId, JobResult};
use spacemesh_core::lookup::Lookup;
use spacemesh_core::node::SeenCopy;
use spacemesh_core::poet::{PoetRequest, PoetResponse};
use spacemesh_core::{
    Hash32, Input, Node, NodeConfig, NodeEvent, NodeId, NodeKeys, Output, PeerId, Time,
};
use spacemesh_sim::engine::{Ctx, World};
use spacemesh_sim::trace::{Traced, fingerprint, fingerprint_of};
use spacemesh_sim::{NodeIdx, SimDuration, SimTime};

use crate::agent::{Agent, AgentIo};
use crate::detail::event_detail;
use crate::links::Links;
use crate::marks::NodeMarks;
use crate::memo::{MemoLabels, MemoVerifier, Shared};
use crate::poet_host::{PoetHost, PoetSpec};
use crate::wal::{HEADER, WalError, read_log, record};

/// A frame in flight, with the fingerprint of its bytes for the trace and, for a gossip
/// `Publish`, its print (and the marks receivers gave for it).
///
/// One gossiped frame is shared by every forward (hundreds of sends of one allocation in a
/// hundred-node run), so the driver fingerprints each allocation once ([`FramePrints`]) rather
/// than once per delivery. The print lets a receiver that has already seen the message count the
/// copy without decoding and hashing it again ([`Node::seen_publish`]): most deliveries
/// of a gossiped message are such copies.
///
/// A frame is one shared allocation, so a queued delivery carries one pointer: the event queue
/// moves every delivery on its way (millions are in flight at once when a thousand nodes gossip
/// an epoch's ATXs), and a copy that turns out to be a duplicate never touches the bytes.
#[derive(Debug, Clone)]
pub struct SimFrame(Rc<FrameData>);

#[derive(Debug)]
struct FrameData {
    bytes: Bytes,
    fingerprint: u64,
    publish: Option<Printed>,
}

impl SimFrame {
    /// A frame of `bytes` (fingerprinted now).
    pub fn new(bytes: Bytes) -> Self {
        let fingerprint = fingerprint(&bytes);
        let publish = PublishPrint::of(&bytes)
            .map(|print| Printed { print, marks: RefCell::new(NodeMarks::default()) });
        SimFrame(Rc::new(FrameData { bytes, fingerprint, publish }))
    }

    /// The frame's bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.0.bytes
    }

    /// The frame's bytes, by value.
    pub fn into_bytes(self) -> Bytes {
        Rc::try_unwrap(self.0).map_or_else(|shared| shared.bytes.clone(), |data| data.bytes)
    }

    fn publish(&self) -> Option<&Printed> {
        self.0.publish.as_ref()
    }
}

/// The print of a publish frame allocation, and the [`SeenMark`] each node's seen cache gave
/// for its id after the node handled it: every later copy to that node is then told a duplicate
/// from the mark (shared by every copy, so in cache while the message spreads) instead of
/// a lookup in the node's own cache (a memory miss per copy in a large run).
#[derive(Debug)]
struct Printed {
    print: PublishPrint,
    /// By node index: 0 for no mark, else the node's incarnation above [`MARK_BITS`] bits and
    /// the mark's position plus one below them.
    marks: RefCell<NodeMarks>,
}

/// Bits of a stored mark's position (a trillion ids per node incarnation).
const MARK_BITS: u32 = 40;

impl Printed {
    /// The mark `idx` gave in `incarnation`, if any.
    fn mark(&self, idx: NodeIdx, incarnation: u32) -> Option<SeenMark> {
        let stored = self.marks.borrow().get(idx.0);
        (stored != 0 && stored >> MARK_BITS == u64::from(incarnation))
            .then(|| SeenMark::from_position((stored & ((1 << MARK_BITS) - 1)) - 1))
    }

    /// Stores the mark `idx` gave in `incarnation` (none if it does not fit).
    fn set_mark(&self, idx: NodeIdx, incarnation: u32, nodes: usize, mark: SeenMark) {
        let position = mark.position() + 1;
        if position >> MARK_BITS != 0 || u64::from(incarnation) >> (64 - MARK_BITS) != 0 {
            return;
        }
        self.marks.borrow_mut().set(idx.0, u64::from(incarnation) << MARK_BITS | position, nodes);
    }
}

/// The frame of every frame allocation in flight, by address and length.
///
/// An entry holds its frame, and so a clone of its `Bytes`: the allocation stays alive and
/// immutable while it is filed, so the same address and length mean the same bytes, and a hit
/// gives exactly the frame (fingerprint, print and the marks receivers gave) that a send of
/// that allocation made before.
///
/// Nothing is dropped while some copy of the frame is still queued or being handled: whether a
/// send finds the earlier frame, and so its marks, depends only on the run, never on where the
/// allocator put the bytes (a direct-mapped cache by address lost entries to collisions that
/// differ between processes, which is only harmless while a missing mark never changes an
/// answer). Entries only this table holds are swept when it has doubled since the last sweep,
/// at counts the run alone decides.
struct FramePrints {
    frames: Lookup<(usize, usize), SimFrame>,
    /// The size at which the table next drops the frames nothing else holds.
    sweep_at: usize,
}

/// The smallest table [`FramePrints`] sweeps.
const FRAME_PRINTS_SWEEP_MIN: usize = 4096;

impl FramePrints {
    fn new() -> Self {
        FramePrints { frames: Lookup::new(0), sweep_at: FRAME_PRINTS_SWEEP_MIN }
    }

    fn frame(&mut self, bytes: Bytes) -> SimFrame {
        let key = (bytes.as_ptr() as usize, bytes.len());
        if let Some(filed) = self.frames.get(&key) {
            return filed.clone();
        }
        if self.frames.len() >= self.sweep_at {
            self.frames.retain(|_, f| Rc::strong_count(&f.0) > 1);
            self.sweep_at = (self.frames.len() * 2).max(FRAME_PRINTS_SWEEP_MIN);
        }
        let frame = SimFrame::new(bytes);
        self.frames.insert(key, frame.clone());
        frame
    }
}

/// What travels between simulated nodes: frames on a connection, and connection control.
#[derive(Debug, Clone)]
pub enum Wire {
    /// A frame on an established connection.
    Frame(SimFrame),
    /// Open a connection.
    Dial,
    /// The dialed side accepted.
    DialAck,
    /// The connection is closed (by a `Disconnect`, or by the OS when the process dies).
    Close,
    /// A request to a PoET server, with its id (boxed, like every payload, to keep queued
    /// events small: the event queue moves them on every push and pop).
    PoetRequest(Box<(u64, PoetRequest)>),
    /// A PoET server's answer to the request of that id.
    PoetResponse(Box<(u64, PoetResponse)>),
}

impl Traced for Wire {
    fn fingerprint(&self) -> u64 {
        match self {
            Wire::Frame(f) => f.0.fingerprint,
            Wire::Dial => 1,
            Wire::DialAck => 2,
            Wire::Close => 3,
            Wire::PoetRequest(r) => fingerprint(&r.1.encode()) ^ r.0.rotate_left(7),
            Wire::PoetResponse(r) => fingerprint(&r.1.encode()) ^ r.0.rotate_left(13),
        }
    }
}

/// Per-node events the world schedules for itself.
#[derive(Debug, Clone)]
pub enum Local {
    /// Boot the node (first start).
    Start,
    /// A timer armed from `poll_timeout`; stale generations are ignored.
    Timer(u64),
    /// A job's modelled duration has passed (boxed to keep queued events small).
    JobDone(Box<(JobId, JobResult)>),
    /// The write-ahead log sync requested for a `Persist` completed.
    Synced,
    /// An agent's own timer.
    AgentTick(u64),
    /// A PoET server's timer; stale generations are ignored.
    PoetTick(u64),
    /// A wallet user sends a transaction through this node (dropped while it is down).
    Wallet(Box<crate::WalletAction>),
}

impl Traced for Local {
    fn fingerprint(&self) -> u64 {
        match self {
            Local::Start => 1,
            Local::Timer(g) => 2 ^ (g << 8),
            Local::JobDone(done) => match &**done {
                (id, JobResult::SignaturesVerified(v)) => {
                    let bits = v.iter().fold(0u64, |acc, b| acc.rotate_left(1) ^ u64::from(*b));
                    3 ^ (id.0 << 8) ^ bits.rotate_left(32)
                }
                (id, other) => 3 ^ (id.0 << 8) ^ fingerprint_of(other).rotate_left(32),
            },
            Local::Synced => 4,
            Local::AgentTick(n) => 5 ^ (n << 8),
            Local::PoetTick(n) => 6 ^ (n << 8),
            Local::Wallet(a) => 7 ^ fingerprint(format!("{a:?}").as_bytes()).rotate_left(8),
        }
    }
}

/// How to build (and rebuild) an honest node.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// Its configuration.
    pub cfg: NodeConfig,
    /// Its keys.
    pub keys: NodeKeys,
    /// The seed of its random choices (a restarted node gets a new stream derived from it).
    pub seed: [u8; 32],
}

/// One simulated node.
#[derive(Debug)]
pub enum SlotSpec {
    /// An honest node.
    Honest(NodeSpec),
    /// An adversary.
    Agent(Box<dyn Agent>),
    /// A PoET server.
    Poet(PoetSpec),
}

/// Receives every node event (the checkers).
pub trait Observer {
    /// One event from `node` at simulated time `time`.
    fn on_event(&mut self, time: SimTime, node: NodeIdx, event: &NodeEvent);
}

/// Driver settings.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Unix time (µs) that simulated time zero maps to on a node's clock.
    pub genesis_unix_us: u64,
    /// Call `check_invariants` on the node after every step.
    pub check_invariants: bool,
    /// Entries of the shared signature cache.
    pub memo_max: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            genesis_unix_us: 1_700_000_000_000_000,
            check_invariants: true,
            memo_max: 1 << 20,
        }
    }
}

/// A node that could not start from its disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupFailure {
    /// The node.
    pub node: NodeIdx,
    /// When.
    pub time: SimTime,
    /// Why.
    pub error: WalError,
}

/// Counters of the driver.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuntimeStats {
    /// Frames sent by honest nodes.
    pub frames_sent: u64,
    /// Frames dropped because the connection was gone on either side.
    pub frames_unlinked: u64,
    /// Copies of a gossip message that reached a node which had handled another copy since
    /// this one was sent, taken as seen duplicates on arrival (the copies a sender already
    /// knows to be duplicates never arrive: the engine's `absorbed`).
    pub absorbed_on_arrival: u64,
    /// Persist batches written.
    pub persists: u64,
    /// Jobs run.
    pub jobs: u64,
    /// Restarts.
    pub restarts: u64,
    /// Torn log tails dropped on restart.
    pub torn_tails: u64,
}

#[derive(Debug)]
struct Honest {
    /// The node; outputs not yet acted on (behind a `Persist` whose sync is in flight) wait in
    /// its own output queue, in order.
    node: Node,
    syncing: bool,
    armed: Option<(Time, u64)>,
    timer_gen: u64,
    last_now: Time,
    segment: String,
}

#[derive(Debug)]
enum Slot {
    Honest(Box<Honest>),
    Agent(Box<dyn Agent>),
    Poet(Box<PoetHost>, u64),
    Down,
}

/// The simulated world: all nodes, their connections and the shared verifier.
pub struct SimNet<O> {
    cfg: RuntimeConfig,
    slots: Vec<Slot>,
    specs: Vec<Option<NodeSpec>>,
    incarnations: Vec<u32>,
    links: Vec<Links>,
    /// Node by peer id, for every frame sent: a hash table.
    index: Lookup<PeerId, NodeIdx>,
    peer_ids: Vec<PeerId>,
    verifier: Arc<MemoVerifier>,
    labels: MemoLabels,
    job_memo: BTreeMap<Hash32, JobResult>,
    /// Log records by header (length and checksum), one allocation for every disk that logs
    /// equal bytes: honest nodes log every layer's application identically.
    records: Shared<u128, [u8]>,
    poets: BTreeMap<NodeId, NodeIdx>,
    observer: O,
    failures: Vec<StartupFailure>,
    stats: RuntimeStats,
    feeds: u64,
    deep_every: u64,
    frame_prints: FramePrints,
    submissions: Vec<crate::Submission>,
}

/// One step in this many runs a node's linear-time invariant checks too, per hundred nodes: a
/// node's state (ATXs, seen ids) grows with the cluster, so the interval does too, which keeps
/// the deep checks a fixed share of the run at every size.
const DEEP_CHECK_EVERY: u64 = 1024;

/// The deep-check interval of a cluster of `nodes` (see [`DEEP_CHECK_EVERY`]).
fn deep_check_every(nodes: usize) -> u64 {
    DEEP_CHECK_EVERY * (nodes as u64 / 100).max(1)
}

impl<O> std::fmt::Debug for SimNet<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimNet")
            .field("nodes", &self.slots.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl<O: Observer> SimNet<O> {
    /// A world of the given slots; slot `i` is addressed by `peer_ids[i]`.
    pub fn new(
        cfg: RuntimeConfig,
        slots: Vec<SlotSpec>,
        peer_ids: Vec<PeerId>,
        observer: O,
    ) -> Self {
        assert_eq!(slots.len(), peer_ids.len(), "one peer id per slot");
        let mut index = Lookup::new(0);
        for (i, p) in peer_ids.iter().enumerate() {
            assert!(index.insert(*p, NodeIdx(i as u32)).is_none(), "peer ids must be distinct");
        }
        let n = slots.len();
        let mut specs = Vec::with_capacity(n);
        let mut built = Vec::with_capacity(n);
        for s in slots {
            match s {
                SlotSpec::Honest(spec) => {
                    specs.push(Some(spec));
                    built.push(Slot::Down);
                }
                SlotSpec::Agent(a) => {
                    specs.push(None);
                    built.push(Slot::Agent(a));
                }
                SlotSpec::Poet(p) => {
                    specs.push(None);
                    built.push(Slot::Poet(Box::new(PoetHost::new(p)), 0));
                }
            }
        }
        let poets = built
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s {
                Slot::Poet(h, _) => Some((h.id(), NodeIdx(i as u32))),
                _ => None,
            })
            .collect();
        SimNet {
            verifier: Arc::new(MemoVerifier::new(cfg.memo_max)),
            labels: MemoLabels::default(),
            job_memo: BTreeMap::new(),
            records: Shared::default(),
            poets,
            cfg,
            slots: built,
            specs,
            incarnations: vec![0; n],
            links: vec![Links::default(); n],
            index,
            peer_ids,
            observer,
            failures: Vec::new(),
            stats: RuntimeStats::default(),
            feeds: 0,
            deep_every: deep_check_every(n),
            frame_prints: FramePrints::new(),
            submissions: Vec::new(),
        }
    }

    /// Schedules the start of every node at time zero (call once, through `Sim::with_ctx`).
    pub fn start_all(&mut self, ctx: &mut Ctx<'_, Wire, Local>) {
        for i in 0..self.slots.len() {
            ctx.schedule_after(NodeIdx(i as u32), SimDuration(0), Local::Start);
        }
    }

    /// The honest node at `idx`, when it is up.
    pub fn node(&self, idx: NodeIdx) -> Option<&Node> {
        match &self.slots[idx.0 as usize] {
            Slot::Honest(h) => Some(&h.node),
            _ => None,
        }
    }

    /// Whether `idx` is an honest slot (up or down).
    pub fn is_honest(&self, idx: NodeIdx) -> bool {
        self.specs[idx.0 as usize].is_some()
    }

    /// The p2p identity of a slot.
    pub fn peer_id(&self, idx: NodeIdx) -> PeerId {
        self.peer_ids[idx.0 as usize]
    }

    /// The slot of a p2p identity.
    pub fn index_of(&self, peer: &PeerId) -> Option<NodeIdx> {
        self.index.get(peer).copied()
    }

    /// The observer (to read checker results at the end).
    pub fn observer(&self) -> &O {
        &self.observer
    }

    /// The observer, mutably.
    pub fn observer_mut(&mut self) -> &mut O {
        &mut self.observer
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the world has no slots.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Nodes that failed to start from their disks.
    pub fn startup_failures(&self) -> &[StartupFailure] {
        &self.failures
    }

    /// Driver counters.
    pub fn stats(&self) -> &RuntimeStats {
        &self.stats
    }

    /// The shared verifier.
    pub fn verifier(&self) -> &MemoVerifier {
        &self.verifier
    }

    /// Connections as this node's driver sees them.
    pub fn links(&self, idx: NodeIdx) -> &Links {
        &self.links[idx.0 as usize]
    }

    /// Signs `action` with the nonce the node projects for its account and submits it there.
    fn on_wallet(
        &mut self,
        ctx: &mut Ctx<'_, Wire, Local>,
        node: NodeIdx,
        action: &crate::WalletAction,
    ) {
        let i = node.0 as usize;
        let (Slot::Honest(h), Some(spec)) = (&self.slots[i], &self.specs[i]) else { return };
        let principal = action.signer.address();
        let Some(view) = h.node.account(&principal) else { return };
        let body = spacemesh_core::tx::TxBody {
            principal,
            nonce: view.projected_nonce,
            gas_price: action.gas_price,
            call: action.call.clone(),
        };
        let raw = action.signer.sign(&spec.cfg.genesis, &body);
        self.submissions.push(crate::Submission {
            at: ctx.now(),
            node,
            id: spacemesh_core::tx::tx_id(&raw),
            principal,
            nonce: body.nonce,
        });
        let cmd = spacemesh_core::Command::SubmitTx(raw.into());
        self.feed(ctx, node, Input::Command(cmd));
    }

    /// Every transaction wallet users submitted, in order.
    pub fn submissions(&self) -> &[crate::Submission] {
        &self.submissions
    }

    fn boot(&mut self, ctx: &mut Ctx<'_, Wire, Local>, idx: NodeIdx) {
        let i = idx.0 as usize;
        let Some(spec) = self.specs[i].clone() else {
            if let Slot::Agent(agent) = &mut self.slots[i] {
                let mut io =
                    AgentIo::new(ctx, idx, &mut self.links[i], &self.index, self.incarnations[i]);
                agent.on_start(&mut io);
            }
            self.poet_tick(ctx, idx, None);
            return;
        };
        let files: Vec<(String, Vec<u8>)> = {
            let disk = ctx.disk(idx);
            disk.list()
                .into_iter()
                .filter(|f| f.starts_with("wal/"))
                .map(|f| {
                    let data = disk.read(&f).unwrap_or_default();
                    (f, data)
                })
                .collect()
        };
        let (snapshot, torn) = match read_log(files.iter().map(|(n, d)| (n.as_str(), d.as_slice())))
        {
            Ok(ok) => ok,
            Err(error) => {
                self.failures.push(StartupFailure { node: idx, time: ctx.now(), error });
                ctx.trace(idx, "startup-failure", 0);
                return;
            }
        };
        self.stats.torn_tails += u64::from(torn);
        let incarnation = self.incarnations[i];
        // A restarted process draws fresh randomness, as a real one would.
        let mut seed = spec.seed;
        seed[..4].copy_from_slice(&incarnation.to_le_bytes());
        let verifier: Arc<dyn Verifier> = self.verifier.clone();
        let node = Node::new(spec.cfg.clone(), &spec.keys, seed, verifier);
        let segment = format!("wal/{incarnation:08}");
        let now = self.local_time(ctx, idx, Time::ZERO);
        self.slots[i] = Slot::Honest(Box::new(Honest {
            node,
            syncing: false,
            armed: None,
            timer_gen: 0,
            last_now: now,
            segment,
        }));
        self.feed(ctx, idx, Input::Restore(snapshot));
    }

    fn local_time(&self, ctx: &Ctx<'_, Wire, Local>, idx: NodeIdx, last: Time) -> Time {
        Time(self.cfg.genesis_unix_us + ctx.local_now(idx)).max(last)
    }

    /// Feeds one input to an honest node and acts on its outputs.
    fn feed(&mut self, ctx: &mut Ctx<'_, Wire, Local>, idx: NodeIdx, input: Input) {
        self.step(ctx, idx, |node, now| node.handle(now, input))
    }

    /// Steps an honest node with `step` (a [`Node::handle`] at its local time) and acts on its
    /// outputs.
    fn step(
        &mut self,
        ctx: &mut Ctx<'_, Wire, Local>,
        idx: NodeIdx,
        step: impl FnOnce(&mut Node, Time),
    ) {
        let i = idx.0 as usize;
        let last = match &self.slots[i] {
            Slot::Honest(h) => h.last_now,
            _ => return,
        };
        let now = self.local_time(ctx, idx, last);
        let Slot::Honest(h) = &mut self.slots[i] else { unreachable!() };
        h.last_now = now;
        step(&mut h.node, now);
        if self.cfg.check_invariants {
            self.feeds += 1;
            // Cheap bounds after every step; the linear-time checks on a rotating sample.
            if self.feeds.is_multiple_of(self.deep_every) {
                h.node.check_invariants_deep();
            } else {
                h.node.check_invariants();
            }
        }
        self.act(ctx, idx);
        self.arm_timer(ctx, idx);
    }

    /// The copy honest node `idx` would only count as a duplicate if the frame `printed`
    /// describes arrived from `from` now, given the `mark` it gave that print, if any (see
    /// [`Node::seen_publish`]).
    fn seen_publish(
        &self,
        ctx: &Ctx<'_, Wire, Local>,
        idx: NodeIdx,
        from: NodeIdx,
        printed: &Printed,
        mark: Option<SeenMark>,
    ) -> Option<SeenCopy> {
        let Slot::Honest(h) = &self.slots[idx.0 as usize] else { return None };
        let now = self.local_time(ctx, idx, h.last_now);
        h.node.seen_publish(now, &self.peer_ids[from.0 as usize], &printed.print, mark)
    }

    /// Keeps the mark honest node `idx` gives for the publish `printed` describes, right after
    /// it handled that frame.
    fn keep_mark(&self, idx: NodeIdx, printed: &Printed) {
        let Slot::Honest(h) = &self.slots[idx.0 as usize] else { return };
        if let Some(mark) = h.node.seen_mark(&printed.print) {
            printed.set_mark(idx, self.incarnations[idx.0 as usize], self.slots.len(), mark);
        }
    }

    /// Lets an honest node take a copy of a gossip message it has already seen without the full
    /// [`feed`](Self::feed): no decode, no outputs, so nothing to act on or to check.
    fn absorb(&mut self, idx: NodeIdx, copy: SeenCopy) {
        let Slot::Honest(h) = &mut self.slots[idx.0 as usize] else {
            unreachable!("a seen copy comes from an honest node")
        };
        h.node.absorb(copy);
        // No timer to re-arm: an absorbed copy leaves the node's clock and deadline where they
        // were (see `Node::absorb`), and the armed timer is at or before that deadline.
        debug_assert!(
            h.node.poll_timeout().is_none_or(|d| h.armed.is_some_and(|(t, _)| t <= d)),
            "an absorbed copy brought node {idx:?}'s deadline before its armed timer"
        );
    }

    /// Acts on the node's outputs in order, stopping at a `Persist` until its sync completes
    /// (later outputs wait in the node's queue; each is moved once, from there to here).
    fn act(&mut self, ctx: &mut Ctx<'_, Wire, Local>, idx: NodeIdx) {
        let i = idx.0 as usize;
        loop {
            let Slot::Honest(h) = &mut self.slots[i] else { return };
            if h.syncing {
                return;
            }
            let Some(out) = h.node.poll_output() else { return };
            match out {
                Output::Send { peer, bytes } => self.send_frame(ctx, idx, peer, bytes),
                Output::Connect { peer, .. } => {
                    if let Some(to) = self.index_of(&peer) {
                        ctx.send(idx, to, Wire::Dial, 64);
                    }
                }
                Output::Disconnect { peer, .. } => {
                    if let Some(to) = self.index_of(&peer)
                        && self.links[i].remove(&to)
                    {
                        ctx.send(idx, to, Wire::Close, 32);
                    }
                }
                Output::Persist(batch) => {
                    let Slot::Honest(h) = &mut self.slots[i] else { unreachable!() };
                    h.syncing = true;
                    let segment = h.segment.clone();
                    let record = record(&batch);
                    let mut header = [0u8; 16];
                    header[..HEADER].copy_from_slice(&record[..HEADER]);
                    let record = self.records.share(u128::from_le_bytes(header), record);
                    ctx.disk(idx).append_shared(&segment, record);
                    ctx.sync(idx, &segment, Local::Synced);
                    self.stats.persists += 1;
                }
                Output::StartJob { id, job } => {
                    let key = job.memo_key();
                    let memoized = key.and_then(|k| self.job_memo.get(&k).cloned());
                    let result = match memoized {
                        Some(r) => r,
                        None => {
                            let env =
                                JobEnv { verifier: self.verifier.as_ref(), labels: &self.labels };
                            let r = job.run(&env);
                            if let Some(k) = key {
                                if self.job_memo.len() >= self.cfg.memo_max {
                                    self.job_memo.clear();
                                }
                                self.job_memo.insert(k, r.clone());
                            }
                            r
                        }
                    };
                    let micros = job.modelled_duration().as_micros() as u64;
                    ctx.schedule_after(
                        idx,
                        SimDuration(micros),
                        Local::JobDone(Box::new((id, result))),
                    );
                    self.stats.jobs += 1;
                }
                Output::Event(event) => {
                    ctx.trace_detailed(
                        idx,
                        event.kind(),
                        event_fingerprint(&event),
                        event_detail(&event),
                    );
                    self.observer.on_event(ctx.now(), idx, &event);
                }
                Output::Poet { poet, id, request } => {
                    // An unknown PoET is unreachable: the node's own timeout handles it.
                    if let Some(to) = self.poets.get(&poet).copied() {
                        let size = request.encode().len() as u32 + 64;
                        ctx.send(idx, to, Wire::PoetRequest(Box::new((id, *request))), size);
                    }
                }
            }
        }
    }

    fn send_frame(
        &mut self,
        ctx: &mut Ctx<'_, Wire, Local>,
        from: NodeIdx,
        peer: PeerId,
        bytes: Bytes,
    ) {
        match self.index_of(&peer) {
            Some(to) if self.links[from.0 as usize].contains(&to) => {
                self.stats.frames_sent += 1;
                // Four bytes of length prefix, as on a real connection.
                let size = bytes.len() as u32 + 4;
                let frame = self.frame_prints.frame(bytes);
                // Only a receiver that gave this frame a mark is asked here: for the others
                // (most of them have not seen the message yet) the answer would need a probe of
                // their seen cache, and arrival asks again anyway.
                let seen = frame.publish().and_then(|print| {
                    let mark = print.mark(to, self.incarnations[to.0 as usize])?;
                    self.links[to.0 as usize].contains(&from).then_some(())?;
                    self.seen_publish(ctx, to, from, print, Some(mark))
                });
                match seen {
                    // A copy of a message the receiver already holds: all its arrival would do
                    // is count a duplicate and stamp the sender's activity, so the network
                    // routes it (the same draws and drops) and, if it gets through, the
                    // receiver takes it now instead of as a queued event. Most copies of a
                    // gossiped message are such copies.
                    Some(copy) => {
                        if ctx.send_redundant(from, to, Wire::Frame(frame), size) {
                            self.absorb(to, copy);
                        }
                    }
                    None => ctx.send(from, to, Wire::Frame(frame), size),
                }
            }
            _ => self.stats.frames_unlinked += 1,
        }
    }

    fn arm_timer(&mut self, ctx: &mut Ctx<'_, Wire, Local>, idx: NodeIdx) {
        let genesis = self.cfg.genesis_unix_us;
        let Slot::Honest(h) = &mut self.slots[idx.0 as usize] else { return };
        let Some(deadline) = h.node.poll_timeout() else { return };
        if h.armed.is_some_and(|(t, _)| t <= deadline) {
            return; // an earlier timer is armed; the node re-arms when it fires
        }
        h.timer_gen += 1;
        h.armed = Some((deadline, h.timer_gen));
        ctx.schedule_at_local(idx, deadline.0.saturating_sub(genesis), Local::Timer(h.timer_gen));
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Wire, Local>, idx: NodeIdx, generation: u64) {
        let Slot::Honest(h) = &mut self.slots[idx.0 as usize] else { return };
        if h.armed.map(|(_, g)| g) != Some(generation) {
            return;
        }
        h.armed = None;
        self.feed(ctx, idx, Input::Tick);
    }

    /// Advances a PoET server to `now` and re-arms its timer.
    fn poet_tick(&mut self, ctx: &mut Ctx<'_, Wire, Local>, idx: NodeIdx, generation: Option<u64>) {
        let genesis = self.cfg.genesis_unix_us;
        let now = Time(genesis + ctx.local_now(idx));
        let Slot::Poet(host, armed) = &mut self.slots[idx.0 as usize] else { return };
        if generation.is_some_and(|g| g != *armed) {
            return;
        }
        host.on_tick(now);
        if let Some(t) = host.next_timeout() {
            *armed += 1;
            let at = t.0.saturating_sub(genesis).max(ctx.local_now(idx));
            ctx.schedule_at_local(idx, at, Local::PoetTick(*armed));
        }
    }

    fn on_poet_request(
        &mut self,
        ctx: &mut Ctx<'_, Wire, Local>,
        at: NodeIdx,
        from: NodeIdx,
        id: u64,
        request: PoetRequest,
    ) {
        let now = Time(self.cfg.genesis_unix_us + ctx.local_now(at));
        let Slot::Poet(host, _) = &mut self.slots[at.0 as usize] else { return };
        host.on_tick(now);
        let response = host.handle(now, &request, self.verifier.as_ref());
        let size = response.encode().len() as u32 + 64;
        ctx.send(at, from, Wire::PoetResponse(Box::new((id, response))), size);
        self.poet_tick(ctx, at, None);
    }

    fn with_agent(
        &mut self,
        ctx: &mut Ctx<'_, Wire, Local>,
        idx: NodeIdx,
        f: impl FnOnce(&mut dyn Agent, &mut AgentIo<'_, '_>),
    ) {
        let i = idx.0 as usize;
        if let Slot::Agent(agent) = &mut self.slots[i] {
            let mut io =
                AgentIo::new(ctx, idx, &mut self.links[i], &self.index, self.incarnations[i]);
            f(agent.as_mut(), &mut io);
        }
    }
}

impl<O: Observer> World for SimNet<O> {
    type Msg = Wire;
    type Local = Local;

    fn on_message(
        &mut self,
        ctx: &mut Ctx<'_, Wire, Local>,
        to: NodeIdx,
        from: NodeIdx,
        msg: Wire,
    ) {
        let t = to.0 as usize;
        if matches!(self.slots[t], Slot::Agent(_)) {
            return self.with_agent(ctx, to, |a, io| a.on_wire(io, from, msg));
        }
        if !matches!(self.slots[t], Slot::Honest(_) | Slot::Poet(..)) {
            return;
        }
        if let Wire::PoetRequest(request) = msg {
            let (id, request) = *request;
            return self.on_poet_request(ctx, to, from, id, request);
        }
        let peer = self.peer_ids[from.0 as usize];
        match msg {
            Wire::PoetRequest(..) => unreachable!("handled above"),
            Wire::PoetResponse(response) => {
                let (id, response) = *response;
                self.feed(ctx, to, Input::PoetResponse { id, response });
            }
            Wire::Frame(frame) => {
                if self.links[t].contains(&from) {
                    if let Some(copy) = frame.publish().and_then(|p| {
                        let mark = p.mark(to, self.incarnations[t]);
                        self.seen_publish(ctx, to, from, p, mark)
                    }) {
                        self.stats.absorbed_on_arrival += 1;
                        return self.absorb(to, copy);
                    }
                    match frame.publish() {
                        Some(printed) => {
                            let bytes = frame.bytes().clone();
                            self.step(ctx, to, |node, now| {
                                node.handle_printed(now, peer, bytes, &printed.print)
                            });
                            self.keep_mark(to, printed);
                        }
                        None => {
                            self.feed(ctx, to, Input::Message { peer, bytes: frame.into_bytes() })
                        }
                    }
                } else {
                    self.stats.frames_unlinked += 1;
                }
            }
            Wire::Dial => {
                if self.links[t].insert(from) {
                    ctx.send(to, from, Wire::DialAck, 64);
                    self.feed(ctx, to, Input::PeerUp { peer, outbound: false });
                }
            }
            Wire::DialAck => {
                if self.links[t].insert(from) {
                    self.feed(ctx, to, Input::PeerUp { peer, outbound: true });
                }
            }
            Wire::Close => {
                if self.links[t].remove(&from) {
                    self.feed(ctx, to, Input::PeerDown { peer });
                }
            }
        }
    }

    fn on_local(&mut self, ctx: &mut Ctx<'_, Wire, Local>, node: NodeIdx, ev: Local) {
        match ev {
            Local::Start => self.boot(ctx, node),
            Local::Timer(generation) => self.on_timer(ctx, node, generation),
            Local::JobDone(done) => {
                let (id, result) = *done;
                self.feed(ctx, node, Input::JobDone { id, result })
            }
            Local::Synced => {
                if let Slot::Honest(h) = &mut self.slots[node.0 as usize] {
                    h.syncing = false;
                }
                self.act(ctx, node);
                self.arm_timer(ctx, node);
            }
            Local::AgentTick(n) => self.with_agent(ctx, node, |a, io| a.on_tick(io, n)),
            Local::PoetTick(n) => self.poet_tick(ctx, node, Some(n)),
            Local::Wallet(action) => self.on_wallet(ctx, node, &action),
        }
    }

    fn on_crash(&mut self, ctx: &mut Ctx<'_, Wire, Local>, node: NodeIdx) {
        let i = node.0 as usize;
        // The OS closes the dead process's connections.
        for peer in std::mem::take(&mut self.links[i]).into_nodes() {
            ctx.send(node, peer, Wire::Close, 32);
        }
        // A PoET server keeps its rounds on disk: its crash is modelled as a pause.
        if self.specs[i].is_some() {
            self.slots[i] = Slot::Down;
        }
        self.incarnations[i] += 1;
    }

    fn on_restart(&mut self, ctx: &mut Ctx<'_, Wire, Local>, node: NodeIdx) {
        self.stats.restarts += 1;
        self.boot(ctx, node);
    }

    fn kind_of_msg(msg: &Wire) -> &'static str {
        match msg {
            Wire::Frame(_) => "frame",
            Wire::Dial => "dial",
            Wire::DialAck => "dial-ack",
            Wire::Close => "close",
            Wire::PoetRequest(..) => "poet-request",
            Wire::PoetResponse(..) => "poet-response",
        }
    }

    fn kind_of_local(ev: &Local) -> &'static str {
        match ev {
            Local::Start => "start",
            Local::Timer(_) => "timer",
            Local::JobDone(..) => "job-done",
            Local::Synced => "synced",
            Local::AgentTick(_) => "agent-tick",
            Local::PoetTick(_) => "poet-tick",
            Local::Wallet(_) => "wallet",
        }
    }
}

/// A stable 64-bit fingerprint of an event's content, for the trace digest.
fn event_fingerprint(event: &NodeEvent) -> u64 {
    use spacemesh_core::heartbeat::HeartbeatEvent;
    let mut buf = Vec::with_capacity(48);
    match event {
        NodeEvent::Started { next_heartbeat_seq } => {
            buf.extend_from_slice(&next_heartbeat_seq.to_le_bytes())
        }
        NodeEvent::PeerConnected { peer, outbound } => {
            buf.extend_from_slice(&peer.0);
            buf.push(u8::from(*outbound));
        }
        NodeEvent::PeerDisconnected { peer, reason } => {
            buf.extend_from_slice(&peer.0);
            buf.push(*reason as u8);
        }
        NodeEvent::PeerPenalized { peer, penalty } => {
            buf.extend_from_slice(&peer.0);
            buf.push(*penalty as u8);
        }
        NodeEvent::MessageAccepted { topic, id, own } => {
            buf.push(*topic as u8);
            buf.extend_from_slice(&id.0);
            buf.push(u8::from(*own));
        }
        NodeEvent::Heartbeat(HeartbeatEvent::Received { origin, seq })
        | NodeEvent::Heartbeat(HeartbeatEvent::Equivocation { origin, seq }) => {
            buf.extend_from_slice(&origin.0);
            buf.extend_from_slice(&seq.to_le_bytes());
        }
        NodeEvent::Heartbeat(HeartbeatEvent::Published { seq }) => {
            buf.extend_from_slice(&seq.to_le_bytes())
        }
        NodeEvent::Consensus(e) => return fingerprint_of(&**e),
    }
    fingerprint(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Millions of deliveries and timers wait in the event queue of a large run at once, and it
    /// moves each on push and pop: a message or local event is a tag and one word.
    #[test]
    fn queued_payloads_stay_two_words() {
        assert_eq!(size_of::<Wire>(), 16);
        assert_eq!(size_of::<Local>(), 16);
    }

    #[test]
    fn a_frame_gives_back_its_bytes_whether_shared_or_not() {
        let frame = SimFrame::new(Bytes::from_static(b"not a publish"));
        assert!(frame.publish().is_none());
        let copy = frame.clone();
        assert_eq!(frame.into_bytes(), Bytes::from_static(b"not a publish"));
        assert_eq!(copy.into_bytes(), Bytes::from_static(b"not a publish"));
    }
}
