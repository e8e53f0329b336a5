//! The gossip state machine.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rand::RngCore;
use rand::seq::{IndexedRandom, SliceRandom};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::id_index::IdMemo;
use super::message::{
    BUCKET_IDS_MAX, BUCKETS, BUCKETS_LISTED_MAX, BucketIds, BucketSummary, GossipMessage,
    HeldFrame, IDS_MAX, MsgId, PublishPrint, Topic, message_id,
};
use super::seen::{SeenCache, SeenState};
use crate::codec::{BoundedBytes, BoundedVec, Encode};
use crate::frame::Frame;
use crate::lookup::Lookup;
use crate::p2p::Penalty;
use crate::sorted_map::SortedMap;
use crate::types::{PeerId, Time};

/// Every bound and interval of gossip.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GossipConfig {
    /// Target mesh degree (GossipSub D).
    pub mesh_d: usize,
    /// Below this the mesh grafts more peers (D_lo).
    pub mesh_d_lo: usize,
    /// Above this the mesh prunes peers (D_hi).
    pub mesh_d_hi: usize,
    /// Non-mesh peers that get IHAVE each heartbeat (D_lazy).
    pub lazy_d: usize,
    /// Gossip heartbeat: mesh upkeep, IHAVE, budgets.
    pub heartbeat_interval: Duration,
    /// Heartbeats an accepted id is announced in IHAVE.
    pub history_heartbeats: u64,
    /// How long an id stays in the dedup cache.
    pub seen_ttl: Duration,
    /// Most ids in the dedup cache.
    pub seen_max: usize,
    /// How long an accepted message is kept to serve IWANT and reconciliation.
    pub retain_duration: Duration,
    /// Most retained messages.
    pub retained_max: usize,
    /// Largest accepted payload (at most the codec bound `MESSAGE_MAX`).
    pub message_max: usize,
    /// Most messages waiting for their owner's verdict.
    pub validating_max: usize,
    /// Most ids kept to ask for again after they arrived while `validating_max` messages were
    /// waiting (see [`Gossip`]'s overload handling).
    pub deferred_max: usize,
    /// Messages served to one peer per heartbeat (IWANT and reconciliation pushes).
    pub serve_max: usize,
    /// Ids asked for per heartbeat, over all peers.
    pub ask_max: usize,
    /// How long an asked id is not asked again.
    pub ask_timeout: Duration,
    /// Anti-entropy period (one random peer each time).
    pub reconcile_interval: Duration,
    /// Send own messages to every connected peer rather than the mesh only.
    pub flood_publish: bool,
}

impl Default for GossipConfig {
    fn default() -> Self {
        GossipConfig {
            mesh_d: 6,
            mesh_d_lo: 4,
            mesh_d_hi: 8,
            lazy_d: 6,
            heartbeat_interval: Duration::from_secs(1),
            history_heartbeats: 3,
            seen_ttl: Duration::from_secs(20 * 60),
            seen_max: 100_000,
            retain_duration: Duration::from_secs(10 * 60),
            retained_max: 20_000,
            message_max: 1 << 20,
            validating_max: 1024,
            deferred_max: 8192,
            serve_max: 256,
            ask_max: 512,
            ask_timeout: Duration::from_secs(3),
            reconcile_interval: Duration::from_secs(10),
            flood_publish: true,
        }
    }
}

/// The ChaCha stream (XORed into the gossip stream's number) of the seen cache's table key.
const SEEN_KEY_STREAM: u64 = 0x5eed_cace;

/// The owner's judgement of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Valid: keep, forward, serve.
    Accept,
    /// Not useful now (stale, duplicate content, not synced): drop without penalty.
    Ignore,
    /// Invalid: drop and penalize the peer it came from.
    Reject,
}

/// Inputs to [`Gossip`].
#[derive(Debug, Clone)]
pub enum GossipInput {
    /// A peer connection is ready.
    PeerUp(PeerId),
    /// A peer connection is gone.
    PeerDown(PeerId),
    /// A gossip message from a peer, with the raw frame it came in.
    Message {
        /// Sender.
        peer: PeerId,
        /// The decoded message.
        msg: GossipMessage,
        /// The raw frame (a `Publish` frame is forwarded byte for byte).
        frame: Bytes,
    },
    /// Publish an own message (already valid: the owner built it).
    Publish {
        /// Topic.
        topic: Topic,
        /// Payload.
        data: Bytes,
    },
    /// The owner's verdict on a message from [`GossipOutput::Validate`].
    Verdict {
        /// The message.
        id: MsgId,
        /// The verdict.
        verdict: Verdict,
    },
    /// Time passed.
    Tick,
}

/// Outputs of [`Gossip`].
#[derive(Debug, Clone, PartialEq)]
pub enum GossipOutput {
    /// Send an encoded frame to a peer.
    Send {
        /// Recipient.
        peer: PeerId,
        /// Encoded frame.
        frame: Bytes,
    },
    /// Ask the topic's owner for a verdict (answer with [`GossipInput::Verdict`]).
    Validate {
        /// Message id.
        id: MsgId,
        /// Topic.
        topic: Topic,
        /// Payload (a zero-copy slice of the frame).
        data: Bytes,
        /// The peer it came from.
        from: PeerId,
    },
    /// A peer broke the rules.
    Penalize {
        /// The peer.
        peer: PeerId,
        /// What it did.
        penalty: Penalty,
    },
    /// A message was accepted (received and valid, or own and published).
    Accepted {
        /// Message id.
        id: MsgId,
        /// Topic.
        topic: Topic,
        /// Whether this node published it.
        own: bool,
    },
}

/// Where an id stands in one gossip instance's seen cache: its insertion position, counted over
/// the cache's life ([`Gossip::seen_mark`]). Only meaningful to the instance that gave it: a node
/// restarted from disk has a new cache, and a runtime drops the marks of the old one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenMark(u64);

impl SeenMark {
    /// The position, for a runtime that stores marks compactly.
    pub fn position(self) -> u64 {
        self.0
    }

    /// A mark from a stored [`SeenMark::position`].
    pub fn from_position(position: u64) -> Self {
        SeenMark(position)
    }
}

/// How far back from the latest seen id [`Gossip::seen_mark`] looks: handling one publish
/// inserts its id, then at most a few ids of messages the node publishes in reaction.
const SEEN_MARK_DEPTH: usize = 16;

/// Counters for reports and the API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GossipStats {
    /// Publish messages received.
    pub received: u64,
    /// Of those, already seen.
    pub duplicates: u64,
    /// Accepted (received or own).
    pub accepted: u64,
    /// Ignored by their owner.
    pub ignored: u64,
    /// Rejected by their owner.
    pub rejected: u64,
    /// Dropped because too many were validating.
    pub overloaded: u64,
    /// Frames sent.
    pub sent: u64,
    /// Messages obtained through IWANT or reconciliation after being missed.
    pub recovered: u64,
}

/// A message dropped for a full validation backlog, to ask for again.
#[derive(Debug, Clone, Copy)]
struct Deferred {
    /// The peer to ask: the one that offered it, then another after an unanswered ask.
    peer: PeerId,
    /// When it was first offered.
    since: Time,
    /// When it was last asked for.
    asked: Option<Time>,
}

#[derive(Debug, Default)]
struct PeerBudget {
    served: usize,
    reconcile_answered: bool,
}

/// The gossip state machine of one node.
#[derive(Debug)]
pub struct Gossip {
    cfg: GossipConfig,
    rng: ChaCha8Rng,
    peers: SortedMap<PeerId, PeerBudget>,
    mesh: BTreeSet<PeerId>,
    seen: SeenCache,
    /// Ids of recently received payloads (duplicates arrive as the same allocation).
    ids: IdMemo,
    /// Accepted ids with the heartbeat they were accepted in, for IHAVE: the newest
    /// [`IDS_MAX`] of the history window.
    recent: VecDeque<(u64, MsgId)>,
    /// Ids asked for with IWANT and when, so they are not asked again at once (looked up for
    /// every message received: a hash table, keyed by the seen cache's secret stream).
    asked: Lookup<MsgId, Time>,
    asked_this_heartbeat: usize,
    /// Messages that arrived while the validation backlog was full, by id: the peer to ask,
    /// when they were offered, and when they were last asked for. They are asked for (IWANT) as
    /// the backlog drains, until they arrive or peers no longer retain them.
    deferred: BTreeMap<MsgId, Deferred>,
    /// The peer asked to reconcile and when.
    reconciling: Option<(PeerId, Time)>,
    /// Heartbeats an asked id stays in `asked` (bounds its size).
    asked_windows: usize,
    heartbeat: u64,
    next_heartbeat: Option<Time>,
    next_reconcile: Time,
    outputs: VecDeque<GossipOutput>,
    stats: GossipStats,
}

impl Gossip {
    /// A gossip instance; `rng` is this component's own seeded stream.
    pub fn new(cfg: GossipConfig, rng: ChaCha8Rng) -> Self {
        assert!(cfg.mesh_d_lo <= cfg.mesh_d && cfg.mesh_d <= cfg.mesh_d_hi, "mesh degrees");
        assert!(cfg.message_max <= super::MESSAGE_MAX, "message_max above the codec bound");
        assert!(!cfg.heartbeat_interval.is_zero(), "heartbeat interval must be positive");
        let cfg_windows =
            cfg.ask_timeout.as_micros().div_ceil(cfg.heartbeat_interval.as_micros()) as usize;
        // The seen cache's table key comes from a separate stream of the same seed, so drawing it
        // leaves this component's own stream (and every choice made from it) unchanged.
        let mut key_rng = rng.clone();
        key_rng.set_stream(rng.get_stream() ^ SEEN_KEY_STREAM);
        let seen_key = key_rng.next_u64();
        Gossip {
            seen: SeenCache::new(cfg.seen_max, cfg.retained_max, seen_key),
            asked: Lookup::new(key_rng.next_u64()),
            ids: IdMemo::new(),
            cfg,
            rng,
            peers: SortedMap::new(),
            mesh: BTreeSet::new(),
            recent: VecDeque::new(),
            asked_this_heartbeat: 0,
            deferred: BTreeMap::new(),
            reconciling: None,
            asked_windows: cfg_windows,
            heartbeat: 0,
            next_heartbeat: None,
            next_reconcile: Time::ZERO,
            outputs: VecDeque::new(),
            stats: GossipStats::default(),
        }
    }

    /// Feeds one input. Drain [`Gossip::poll_output`] afterwards.
    pub fn handle(&mut self, now: Time, input: GossipInput) {
        self.handle_known(now, input, None)
    }

    /// [`Gossip::handle`], where a `Message` input carrying a `Publish` comes with `known`,
    /// its id and frame (from the runtime's [`PublishPrint`] of the frame): the id is not hashed
    /// again, and the message is kept in that allocation.
    pub(crate) fn handle_known(
        &mut self,
        now: Time,
        input: GossipInput,
        known: Option<Arc<HeldFrame>>,
    ) {
        if self.next_heartbeat.is_none() {
            self.next_heartbeat = Some(now + self.cfg.heartbeat_interval);
            self.next_reconcile = now + self.cfg.reconcile_interval;
        }
        match input {
            GossipInput::PeerUp(peer) => {
                self.peers.get_or_insert_with(peer, PeerBudget::default);
            }
            GossipInput::PeerDown(peer) => {
                self.peers.remove(&peer);
                self.mesh.remove(&peer);
            }
            GossipInput::Message { peer, msg, frame } => {
                self.on_message(now, peer, msg, frame, known)
            }
            GossipInput::Publish { topic, data } => self.on_publish(now, topic, data),
            GossipInput::Verdict { id, verdict } => self.on_verdict(now, id, verdict),
            GossipInput::Tick => {
                if self.next_heartbeat.is_some_and(|t| now >= t) {
                    self.on_heartbeat(now);
                }
            }
        }
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<GossipOutput> {
        self.outputs.pop_front()
    }

    /// When gossip next wants a tick.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.next_heartbeat
    }

    /// Counters.
    pub fn stats(&self) -> &GossipStats {
        &self.stats
    }

    /// The current mesh peers.
    pub fn mesh(&self) -> &BTreeSet<PeerId> {
        &self.mesh
    }

    /// Whether a message id is in the dedup cache.
    pub fn has_seen(&self, id: &MsgId) -> bool {
        self.seen.contains(id)
    }

    /// Number of retained messages.
    pub fn retained(&self) -> usize {
        self.seen.retained()
    }

    /// Whether all [`Gossip::handle`] would do with a `Publish` from `peer` that `print`
    /// describes is count a duplicate: a connected peer, a payload within `message_max`, an id in
    /// the seen cache.
    ///
    /// A `mark` this gossip instance gave for the print's id ([`Gossip::seen_mark`]) answers the
    /// seen-cache question without a lookup while it holds; a stale one falls back to the lookup.
    pub fn is_seen_publish(
        &self,
        peer: &PeerId,
        print: &PublishPrint,
        mark: Option<SeenMark>,
    ) -> bool {
        self.next_heartbeat.is_some()
            && self.peers.contains_key(peer)
            && print.data_len() <= self.cfg.message_max
            && (mark.is_some_and(|m| self.holds_mark(print, m)) || self.seen.contains(print.id()))
    }

    fn holds_mark(&self, print: &PublishPrint, mark: SeenMark) -> bool {
        let held = self.seen.holds_position(mark.0);
        debug_assert!(!held || self.seen.contains(print.id()), "a mark of another id");
        held
    }

    /// A mark of where the id of the publish `print` describes stands in the seen cache, when it
    /// is among the latest ids seen (as right after handling that publish): while the id stays
    /// seen, [`Gossip::is_seen_publish`] answers from the mark without a cache lookup.
    pub fn seen_mark(&self, print: &PublishPrint) -> Option<SeenMark> {
        self.seen.recent_position(print.id(), SEEN_MARK_DEPTH).map(SeenMark)
    }

    /// Counts a `Publish` that [`Gossip::is_seen_publish`] found to be a duplicate, as
    /// [`Gossip::handle`] would have.
    pub(crate) fn count_seen_publish(&mut self) {
        self.stats.received += 1;
        self.stats.duplicates += 1;
    }

    fn on_message(
        &mut self,
        now: Time,
        peer: PeerId,
        msg: GossipMessage,
        frame: Bytes,
        known: Option<Arc<HeldFrame>>,
    ) {
        if !self.peers.contains_key(&peer) {
            return; // a frame racing a disconnect
        }
        match msg {
            GossipMessage::Publish { topic, data } => {
                self.on_publish_from(now, peer, topic, data, frame, known)
            }
            GossipMessage::IHave(ids) => self.on_ihave(now, peer, &ids),
            GossipMessage::IWant(ids) => self.on_iwant(peer, &ids),
            GossipMessage::Graft => {
                if self.mesh.len() < self.cfg.mesh_d_hi {
                    self.mesh.insert(peer);
                } else if !self.mesh.contains(&peer) {
                    self.send(peer, &GossipMessage::Prune);
                }
            }
            GossipMessage::Prune => {
                self.mesh.remove(&peer);
            }
            GossipMessage::ReconcileRequest(buckets) => self.on_reconcile_request(peer, &buckets),
            GossipMessage::ReconcileIds(lists) => {
                self.on_reconcile_ids(now, peer, lists.into_inner())
            }
        }
    }

    fn on_publish_from(
        &mut self,
        now: Time,
        peer: PeerId,
        topic: Topic,
        data: BoundedBytes<{ super::MESSAGE_MAX }>,
        frame: Bytes,
        known: Option<Arc<HeldFrame>>,
    ) {
        self.stats.received += 1;
        if data.len() > self.cfg.message_max {
            self.outputs.push_back(GossipOutput::Penalize { peer, penalty: Penalty::Oversized });
            return;
        }
        let data = data.into_inner();
        debug_assert!(
            known.as_ref().is_none_or(|k| k.id == message_id(topic, &data) && k.frame == frame),
            "a wrong known message"
        );
        let id = known.as_ref().map_or_else(|| self.ids.id(topic, &data), |k| k.id);
        if self.seen.contains(&id) {
            self.stats.duplicates += 1;
            return;
        }
        if self.seen.validating() >= self.cfg.validating_max {
            // Not recorded as seen, so it can arrive again; every copy of a burst (an epoch's
            // ATXs, published as one PoET round ends) may come while the backlog is full, so
            // the id is also kept to be asked for once there is room (`ask_deferred`).
            self.stats.overloaded += 1;
            if self.deferred.len() < self.cfg.deferred_max {
                self.deferred.entry(id).or_insert(Deferred { peer, since: now, asked: None });
            }
            return;
        }
        let deferred = !self.deferred.is_empty() && self.deferred.remove(&id).is_some();
        if (!self.asked.is_empty() && self.asked.remove(&id).is_some()) || deferred {
            self.stats.recovered += 1;
        }
        let held = known.unwrap_or_else(|| Arc::new(HeldFrame { id, frame }));
        self.seen.insert(now, id, SeenState::Validating { from: peer, held, topic });
        self.outputs.push_back(GossipOutput::Validate { id, topic, data, from: peer });
    }

    fn on_publish(&mut self, now: Time, topic: Topic, data: Bytes) {
        assert!(data.len() <= self.cfg.message_max, "own message over message_max");
        let id = message_id(topic, &data);
        if self.seen.contains(&id) {
            return;
        }
        let msg = GossipMessage::Publish { topic, data: BoundedBytes::new(data).expect("checked") };
        let frame = Frame::Gossip(msg).encode_bytes();
        let reconciled = topic.reconciled();
        let held = Some(Arc::new(HeldFrame { id, frame: frame.clone() }));
        self.seen.insert(now, id, SeenState::Accepted { held, reconciled });
        self.note_recent(id);
        self.stats.accepted += 1;
        let targets: Vec<PeerId> = if self.cfg.flood_publish {
            self.peers.keys().copied().collect()
        } else {
            self.mesh.iter().copied().collect()
        };
        for peer in targets {
            self.send_frame(peer, frame.clone());
        }
        self.outputs.push_back(GossipOutput::Accepted { id, topic, own: true });
    }

    fn on_verdict(&mut self, now: Time, id: MsgId, verdict: Verdict) {
        let accept = verdict == Verdict::Accept;
        let Some(SeenState::Validating { from, held, topic }) = self.seen.resolve(now, &id, accept)
        else {
            return; // expired or evicted while validating
        };
        match verdict {
            Verdict::Accept => {
                self.stats.accepted += 1;
                self.note_recent(id);
                let targets: Vec<PeerId> =
                    self.mesh.iter().copied().filter(|p| *p != from).collect();
                for peer in targets {
                    self.send_frame(peer, held.frame.clone());
                }
                self.outputs.push_back(GossipOutput::Accepted { id, topic, own: false });
            }
            Verdict::Ignore => self.stats.ignored += 1,
            Verdict::Reject => {
                self.stats.rejected += 1;
                self.outputs.push_back(GossipOutput::Penalize {
                    peer: from,
                    penalty: Penalty::InvalidMessage,
                });
            }
        }
    }

    fn on_ihave(&mut self, now: Time, peer: PeerId, ids: &[MsgId]) {
        let mut want = Vec::new();
        self.seen.warm(ids);
        for id in ids {
            if self.asked_this_heartbeat >= self.cfg.ask_max {
                break;
            }
            if self.seen.contains(id)
                || self.asked.get(id).is_some_and(|t| *t + self.cfg.ask_timeout > now)
            {
                continue;
            }
            self.asked.insert(*id, now);
            self.asked_this_heartbeat += 1;
            want.push(*id);
        }
        if !want.is_empty() {
            self.send(peer, &GossipMessage::IWant(BoundedVec::truncating(want)));
        }
    }

    fn on_iwant(&mut self, peer: PeerId, ids: &[MsgId]) {
        for id in ids {
            let Some(frame) = self.seen.retained_frame(id).cloned() else { continue };
            if !self.take_serve_budget(peer) {
                return;
            }
            self.send_frame(peer, frame);
        }
    }

    fn take_serve_budget(&mut self, peer: PeerId) -> bool {
        let Some(budget) = self.peers.get_mut(&peer) else { return false };
        if budget.served >= self.cfg.serve_max {
            return false;
        }
        budget.served += 1;
        true
    }

    fn on_reconcile_request(&mut self, peer: PeerId, theirs: &[BucketSummary]) {
        if theirs.len() != BUCKETS {
            self.outputs.push_back(GossipOutput::Penalize { peer, penalty: Penalty::Protocol });
            return;
        }
        let budget = self.peers.get_mut(&peer).expect("checked connected");
        if budget.reconcile_answered {
            return; // one answer per peer per heartbeat
        }
        budget.reconcile_answered = true;
        let ours = self.seen.buckets();
        let differing: Vec<usize> = (0..BUCKETS).filter(|&b| ours[b] != theirs[b]).collect();
        if differing.is_empty() {
            return;
        }
        // Start at a random differing bucket so that, over rounds, every bucket gets listed.
        let start = *differing.choose(&mut self.rng).expect("non-empty");
        let lists: Vec<BucketIds> = differing
            .iter()
            .cycle()
            .skip_while(|&&b| b != start)
            .take(differing.len().min(BUCKETS_LISTED_MAX))
            .map(|&b| BucketIds {
                index: b as u8,
                ids: BoundedVec::truncating(self.seen.bucket_ids(b).take(BUCKET_IDS_MAX).collect()),
            })
            .collect();
        self.send(peer, &GossipMessage::ReconcileIds(BoundedVec::truncating(lists)));
    }

    fn on_reconcile_ids(&mut self, now: Time, peer: PeerId, lists: Vec<BucketIds>) {
        if self.reconciling.map(|(p, _)| p) != Some(peer) {
            return; // unsolicited or late: ignore
        }
        self.reconciling = None;
        let mut want = Vec::new();
        let mut push = Vec::new();
        for list in &lists {
            let index = usize::from(list.index);
            if index >= BUCKETS {
                self.outputs.push_back(GossipOutput::Penalize { peer, penalty: Penalty::Protocol });
                return;
            }
            let theirs: BTreeSet<MsgId> = list.ids.iter().copied().collect();
            for id in &theirs {
                let budget_left = self.asked_this_heartbeat + want.len() < self.cfg.ask_max;
                if !self.seen.contains(id) && want.len() < IDS_MAX && budget_left {
                    want.push(*id);
                }
            }
            push.extend(self.seen.bucket_ids(index).filter(|id| !theirs.contains(id)));
        }
        self.asked_this_heartbeat += want.len();
        for id in &want {
            self.asked.insert(*id, now);
        }
        if !want.is_empty() {
            self.send(peer, &GossipMessage::IWant(BoundedVec::truncating(want)));
        }
        for id in push {
            let Some(frame) = self.seen.retained_frame(&id).cloned() else { continue };
            if !self.take_serve_budget(peer) {
                break;
            }
            self.send_frame(peer, frame);
        }
    }

    fn on_heartbeat(&mut self, now: Time) {
        self.heartbeat += 1;
        self.next_heartbeat = Some(now + self.cfg.heartbeat_interval);
        for budget in self.peers.values_mut() {
            *budget = PeerBudget::default();
        }
        self.asked_this_heartbeat = 0;
        let ask_timeout = self.cfg.ask_timeout;
        self.asked.retain(|_, t| *t + ask_timeout > now);
        self.seen.expire(now, self.cfg.seen_ttl, self.cfg.retain_duration);
        let oldest = self.heartbeat.saturating_sub(self.cfg.history_heartbeats);
        while self.recent.front().is_some_and(|(h, _)| *h < oldest) {
            self.recent.pop_front();
        }
        self.maintain_mesh();
        self.ask_deferred(now);
        self.emit_ihave();
        if now >= self.next_reconcile {
            self.next_reconcile = now + self.cfg.reconcile_interval;
            self.start_reconcile(now);
        }
    }

    /// Asks for messages dropped for a full validation backlog, as many as the backlog and this
    /// heartbeat's ask budget have room for: first from the peer that offered it, then (not
    /// answered within `ask_timeout`, or that peer gone) from a random connected one, as every
    /// peer that accepted it retains it. One that arrived, or that peers no longer retain
    /// (`retain_duration` after it was offered), is let go.
    fn ask_deferred(&mut self, now: Time) {
        if self.deferred.is_empty() {
            return;
        }
        let retain = self.cfg.retain_duration;
        let seen = &self.seen;
        self.deferred.retain(|id, d| !seen.contains(id) && d.since + retain > now);
        let connected: Vec<PeerId> = self.peers.keys().copied().collect();
        let room = self.cfg.validating_max.saturating_sub(self.seen.validating());
        let mut left = room.min(self.cfg.ask_max.saturating_sub(self.asked_this_heartbeat));
        if connected.is_empty() {
            left = 0;
        }
        let mut asks: BTreeMap<PeerId, Vec<MsgId>> = BTreeMap::new();
        for (id, d) in self.deferred.iter_mut() {
            if left == 0 {
                break;
            }
            if d.asked.is_some_and(|t| t + self.cfg.ask_timeout > now) {
                continue;
            }
            if d.asked.is_some() || !self.peers.contains_key(&d.peer) {
                d.peer = *connected.choose(&mut self.rng).expect("some peer is connected");
            }
            let ids = asks.entry(d.peer).or_default();
            if ids.len() >= IDS_MAX {
                continue;
            }
            d.asked = Some(now);
            ids.push(*id);
            left -= 1;
        }
        for (peer, ids) in asks {
            self.asked_this_heartbeat += ids.len();
            self.send(peer, &GossipMessage::IWant(BoundedVec::truncating(ids)));
        }
    }

    fn maintain_mesh(&mut self) {
        if self.mesh.len() < self.cfg.mesh_d_lo {
            let mut candidates: Vec<PeerId> =
                self.peers.keys().filter(|p| !self.mesh.contains(*p)).copied().collect();
            candidates.shuffle(&mut self.rng);
            let need = self.cfg.mesh_d - self.mesh.len();
            for peer in candidates.into_iter().take(need) {
                self.mesh.insert(peer);
                self.send(peer, &GossipMessage::Graft);
            }
        } else if self.mesh.len() > self.cfg.mesh_d_hi {
            let mut members: Vec<PeerId> = self.mesh.iter().copied().collect();
            members.shuffle(&mut self.rng);
            for peer in members.into_iter().take(self.mesh.len() - self.cfg.mesh_d) {
                self.mesh.remove(&peer);
                self.send(peer, &GossipMessage::Prune);
            }
        }
    }

    /// Notes a received payload's id for IHAVE. Only the newest [`IDS_MAX`] can ever be
    /// announced (an IHAVE takes the newest ids of the history window), so no more are kept.
    fn note_recent(&mut self, id: MsgId) {
        if self.recent.len() >= IDS_MAX {
            self.recent.pop_front();
        }
        self.recent.push_back((self.heartbeat, id));
    }

    fn emit_ihave(&mut self) {
        if self.recent.is_empty() {
            return;
        }
        let ids: Vec<MsgId> = self.recent.iter().rev().take(IDS_MAX).map(|(_, id)| *id).collect();
        let lazy: Vec<PeerId> =
            self.peers.keys().filter(|p| !self.mesh.contains(*p)).copied().collect();
        let chosen: Vec<PeerId> =
            lazy.choose_multiple(&mut self.rng, self.cfg.lazy_d).copied().collect();
        if chosen.is_empty() {
            return;
        }
        let frame = Frame::Gossip(GossipMessage::IHave(BoundedVec::truncating(ids))).encode_bytes();
        for peer in chosen {
            self.send_frame(peer, frame.clone());
        }
    }

    fn start_reconcile(&mut self, now: Time) {
        let peers: Vec<PeerId> = self.peers.keys().copied().collect();
        let Some(&peer) = peers.choose(&mut self.rng) else { return };
        self.reconciling = Some((peer, now));
        let buckets = BoundedVec::new(self.seen.buckets().to_vec()).expect("BUCKETS entries");
        self.send(peer, &GossipMessage::ReconcileRequest(buckets));
    }

    fn send(&mut self, peer: PeerId, msg: &GossipMessage) {
        let frame = Frame::Gossip(msg.clone()).encode_bytes();
        self.send_frame(peer, frame);
    }

    fn send_frame(&mut self, peer: PeerId, frame: Bytes) {
        self.stats.sent += 1;
        self.outputs.push_back(GossipOutput::Send { peer, frame });
    }

    /// Panics if an invariant of the module doc is broken (cost: the mesh size; the simulator
    /// calls it after every step).
    pub fn check_invariants(&self) {
        assert!(self.mesh.len() <= self.cfg.mesh_d_hi, "mesh above D_hi");
        assert!(self.mesh.len() <= self.peers.len(), "mesh larger than the peer set");
        assert!(
            self.asked.len() <= self.cfg.ask_max * (self.asked_windows + 1),
            "asked ids over their bound"
        );
        assert!(self.seen.validating() <= self.cfg.validating_max, "validating over its bound");
        assert!(self.deferred.len() <= self.cfg.deferred_max, "deferred ids over their bound");
        self.seen.check_invariants();
    }

    /// [`Gossip::check_invariants`] plus a full recount of the seen cache's counters and bucket
    /// fingerprints (linear in the cache size).
    pub fn check_invariants_deep(&self) {
        self.check_invariants();
        assert!(self.mesh.iter().all(|p| self.peers.contains_key(p)), "mesh peer not connected");
        self.seen.check_invariants_deep();
    }
}
