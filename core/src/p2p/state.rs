//! The peer upkeep state machine.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::message::{PEERS_LIST_MAX, PeerAddr, PeerMessage, PeerRecord};
use crate::codec::{BoundedVec, Encode};
use crate::frame::Frame;
use crate::sorted_map::SortedMap;
use crate::types::{PeerId, Time};

/// Every bound and interval of peer upkeep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeersConfig {
    /// Dial until this many peers are connected.
    pub peers_target: usize,
    /// Never more connected peers than this (inbound beyond it are refused).
    pub peers_max: usize,
    /// A dial not answered within this is a failure.
    pub dial_timeout: Duration,
    /// Backoff after the first failed dial to a candidate; doubles per failure.
    pub dial_backoff_min: Duration,
    /// Cap of the dial backoff.
    pub dial_backoff_max: Duration,
    /// How often connected peers are pinged.
    pub ping_interval: Duration,
    /// A peer silent for this long is disconnected.
    pub peer_timeout: Duration,
    /// How often one connection is replaced by a new random one (the first time at a random
    /// point of the first interval).
    pub rotate_interval: Duration,
    /// The soonest a rotation may follow another when the node reports its connected peers
    /// cut off ([`PeersInput::CutOff`]).
    #[serde(default = "default_early_rotate_interval")]
    pub early_rotate_interval: Duration,
    /// How long a misbehaving peer stays banned.
    pub ban_duration: Duration,
    /// Score at or below which a peer is disconnected and banned.
    pub score_disconnect: i32,
    /// Score regained per tick, up to zero.
    pub score_recovery: i32,
    /// Most candidates in the address book.
    pub address_book_max: usize,
    /// Peers given in one peer-exchange answer (at most `PEERS_LIST_MAX`).
    pub exchange_max: usize,
    /// Upkeep period.
    pub tick_interval: Duration,
}

fn default_early_rotate_interval() -> Duration {
    Duration::from_secs(10)
}

impl Default for PeersConfig {
    fn default() -> Self {
        PeersConfig {
            peers_target: 8,
            peers_max: 16,
            dial_timeout: Duration::from_secs(10),
            dial_backoff_min: Duration::from_secs(2),
            dial_backoff_max: Duration::from_secs(300),
            ping_interval: Duration::from_secs(20),
            peer_timeout: Duration::from_secs(60),
            rotate_interval: Duration::from_secs(120),
            early_rotate_interval: default_early_rotate_interval(),
            ban_duration: Duration::from_secs(30 * 60),
            score_disconnect: -40,
            score_recovery: 1,
            address_book_max: 2048,
            exchange_max: 16,
            tick_interval: Duration::from_secs(1),
        }
    }
}

/// What a peer did wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Penalty {
    /// A frame that does not decode.
    Malformed,
    /// A message its topic's owner rejected.
    InvalidMessage,
    /// A message over the configured size.
    Oversized,
    /// A well-formed message that breaks the protocol (bad bucket index, wrong sizes).
    Protocol,
}

impl Penalty {
    /// Score change for this penalty. A garbage frame costs more than an invalid message because
    /// an honest relay can pass on an invalid message it could not judge, never a broken frame.
    pub fn weight(self) -> i32 {
        match self {
            Penalty::Malformed => -20,
            Penalty::Oversized => -20,
            Penalty::Protocol => -15,
            Penalty::InvalidMessage => -10,
        }
    }
}

/// Why a connection was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DisconnectReason {
    /// The peer's score fell through penalties; it is banned.
    Misbehaving,
    /// The peer stayed silent past `peer_timeout`.
    Timeout,
    /// Replaced by a new random peer.
    Rotation,
    /// Already at `peers_max`.
    TooManyPeers,
    /// The peer is banned.
    Banned,
    /// The other side closed, or the runtime lost the connection.
    Remote,
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            DisconnectReason::Misbehaving => "misbehaving",
            DisconnectReason::Timeout => "timeout",
            DisconnectReason::Rotation => "rotation",
            DisconnectReason::TooManyPeers => "too many peers",
            DisconnectReason::Banned => "banned",
            DisconnectReason::Remote => "remote",
        };
        f.write_str(s)
    }
}

/// Inputs to [`Peers`].
#[derive(Debug, Clone)]
pub enum PeersInput {
    /// A connection is established (`outbound`: this node dialed).
    Up {
        /// The peer.
        peer: PeerId,
        /// Whether this node dialed.
        outbound: bool,
    },
    /// A connection or a dial is gone.
    Down(PeerId),
    /// A peer upkeep message.
    Message {
        /// Sender.
        peer: PeerId,
        /// Message.
        msg: PeerMessage,
    },
    /// Any frame arrived from the peer (it is alive).
    Activity(PeerId),
    /// The peer misbehaved.
    Penalize {
        /// The peer.
        peer: PeerId,
        /// What it did.
        penalty: Penalty,
    },
    /// New candidates for the address book (bootstrap list, discovery).
    AddCandidates(Vec<PeerId>),
    /// Where the runtime reaches a peer (bootstrap list, a dial, an announced listen port);
    /// it replaces any address learned from peer exchange.
    Address {
        /// The peer.
        peer: PeerId,
        /// Its address.
        addr: PeerAddr,
    },
    /// None of the connected peers holds something another peer referred to (every fetch
    /// of it failed): this node may be cut off from part of the network, as after a partition
    /// heals. The next rotation is brought forward, at most once per
    /// `early_rotate_interval`.
    CutOff,
    /// Time passed.
    Tick,
}

/// Outputs of [`Peers`].
#[derive(Debug, Clone, PartialEq)]
pub enum PeersOutput {
    /// Ask the runtime to dial.
    Connect {
        /// The peer.
        peer: PeerId,
        /// Its address, if one is known (else the runtime's own book decides).
        addr: Option<PeerAddr>,
    },
    /// Ask the runtime to close a connection.
    Disconnect {
        /// The peer.
        peer: PeerId,
        /// Why.
        reason: DisconnectReason,
    },
    /// Send an encoded frame.
    Send {
        /// Recipient.
        peer: PeerId,
        /// Encoded frame.
        frame: Bytes,
    },
    /// A peer is usable (tell the other protocols).
    Ready {
        /// The peer.
        peer: PeerId,
        /// Whether this node dialed.
        outbound: bool,
    },
    /// A peer is no longer usable.
    Gone {
        /// The peer.
        peer: PeerId,
        /// Why.
        reason: DisconnectReason,
    },
}

#[derive(Debug)]
struct Connection {
    outbound: bool,
    since: Time,
    last_heard: Time,
    score: i32,
    asked_peers: bool,
    answered_peers: bool,
}

#[derive(Debug, Default)]
struct Candidate {
    failures: u32,
    next_attempt: Time,
    banned_until: Option<Time>,
    addr: Option<PeerAddr>,
}

/// Peer upkeep for one node.
#[derive(Debug)]
pub struct Peers {
    cfg: PeersConfig,
    self_id: PeerId,
    rng: ChaCha8Rng,
    connected: SortedMap<PeerId, Connection>,
    dialing: BTreeMap<PeerId, Time>,
    book: BTreeMap<PeerId, Candidate>,
    next_tick: Option<Time>,
    next_ping: Time,
    next_rotate: Time,
    /// When the last rotation was due.
    last_rotate: Time,
    ping_nonce: u64,
    outputs: VecDeque<PeersOutput>,
}

impl Peers {
    /// Peer upkeep for the node whose p2p identity is `self_id`.
    pub fn new(cfg: PeersConfig, self_id: PeerId, rng: ChaCha8Rng) -> Self {
        assert!(cfg.peers_target <= cfg.peers_max && cfg.peers_max > 0, "peer counts");
        assert!(cfg.exchange_max <= PEERS_LIST_MAX, "exchange_max above the codec bound");
        assert!(cfg.score_disconnect < 0, "score_disconnect must be negative");
        Peers {
            cfg,
            self_id,
            rng,
            connected: SortedMap::new(),
            dialing: BTreeMap::new(),
            book: BTreeMap::new(),
            next_tick: None,
            next_ping: Time::ZERO,
            next_rotate: Time::ZERO,
            last_rotate: Time::ZERO,
            ping_nonce: 0,
            outputs: VecDeque::new(),
        }
    }

    /// Feeds one input. Drain [`Peers::poll_output`] afterwards.
    pub fn handle(&mut self, now: Time, input: PeersInput) {
        if self.next_tick.is_none() {
            self.next_tick = Some(now);
            self.next_ping = now + self.cfg.ping_interval;
            self.next_rotate = now + self.first_rotation();
        }
        match input {
            PeersInput::Up { peer, outbound } => self.on_up(now, peer, outbound),
            PeersInput::Down(peer) => self.on_down(now, peer),
            PeersInput::Message { peer, msg } => self.on_message(peer, msg),
            PeersInput::Activity(peer) => {
                // The latest of the stamps, whatever order they come in (a runtime may hand
                // over a duplicate's stamp ahead of earlier inputs, see `Node::absorb`).
                if let Some(c) = self.connected.get_mut(&peer) {
                    c.last_heard = c.last_heard.max(now);
                }
            }
            PeersInput::Penalize { peer, penalty } => self.on_penalty(now, peer, penalty),
            PeersInput::AddCandidates(peers) => self.add_candidates(peers),
            PeersInput::Address { peer, addr } => self.learn_address(peer, addr, true),
            PeersInput::CutOff => {
                let soonest = self.last_rotate + self.cfg.early_rotate_interval;
                self.next_rotate = self.next_rotate.min(soonest.max(now));
            }
            PeersInput::Tick => {
                if self.next_tick.is_some_and(|t| now >= t) {
                    self.on_tick(now);
                }
            }
        }
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<PeersOutput> {
        self.outputs.pop_front()
    }

    /// When upkeep next wants a tick.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.next_tick
    }

    /// Connected peers.
    pub fn connected(&self) -> impl Iterator<Item = &PeerId> {
        self.connected.keys()
    }

    /// Number of connected peers.
    pub fn connected_count(&self) -> usize {
        self.connected.len()
    }

    /// Whether `peer` is connected.
    pub fn is_connected(&self, peer: &PeerId) -> bool {
        self.connected.contains_key(peer)
    }

    /// The score of a connected peer.
    pub fn score(&self, peer: &PeerId) -> Option<i32> {
        self.connected.get(peer).map(|c| c.score)
    }

    /// Whether `peer` is banned at `now`.
    pub fn is_banned(&self, now: Time, peer: &PeerId) -> bool {
        self.book.get(peer).and_then(|c| c.banned_until).is_some_and(|t| t > now)
    }

    /// A connected peer's connection: whether this node dialed it, since when it is up, and
    /// where the peer is reached if known (`None`: not connected).
    pub fn connection(&self, peer: &PeerId) -> Option<(bool, Time, Option<PeerAddr>)> {
        let c = self.connected.get(peer)?;
        let addr = self.book.get(peer).and_then(|b| b.addr.clone());
        Some((c.outbound, c.since, addr))
    }

    /// Size of the address book.
    pub fn candidates(&self) -> usize {
        self.book.len()
    }

    fn on_up(&mut self, now: Time, peer: PeerId, outbound: bool) {
        self.dialing.remove(&peer);
        if peer == self.self_id || self.connected.contains_key(&peer) {
            return;
        }
        if self.is_banned(now, &peer) {
            self.outputs
                .push_back(PeersOutput::Disconnect { peer, reason: DisconnectReason::Banned });
            return;
        }
        if self.connected.len() >= self.cfg.peers_max {
            let reason = DisconnectReason::TooManyPeers;
            self.outputs.push_back(PeersOutput::Disconnect { peer, reason });
            return;
        }
        let conn = Connection {
            outbound,
            since: now,
            last_heard: now,
            score: 0,
            asked_peers: outbound,
            answered_peers: false,
        };
        self.connected.insert(peer, conn);
        self.add_candidates(vec![peer]);
        if let Some(c) = self.book.get_mut(&peer) {
            c.failures = 0;
        }
        self.outputs.push_back(PeersOutput::Ready { peer, outbound });
        if outbound {
            self.send(peer, PeerMessage::GetPeers);
        }
    }

    fn on_down(&mut self, now: Time, peer: PeerId) {
        if self.dialing.remove(&peer).is_some() {
            self.dial_failed(now, peer);
        }
        if self.connected.remove(&peer).is_some() {
            self.outputs.push_back(PeersOutput::Gone { peer, reason: DisconnectReason::Remote });
        }
    }

    fn on_message(&mut self, peer: PeerId, msg: PeerMessage) {
        let Some(conn) = self.connected.get_mut(&peer) else { return };
        match msg {
            PeerMessage::Ping(n) => self.send(peer, PeerMessage::Pong(n)),
            PeerMessage::Pong(_) => {}
            PeerMessage::GetPeers => {
                if conn.answered_peers {
                    return; // one answer per peer per tick
                }
                conn.answered_peers = true;
                let others: Vec<PeerId> =
                    self.connected.keys().filter(|p| **p != peer).copied().collect();
                let list: Vec<PeerId> =
                    others.choose_multiple(&mut self.rng, self.cfg.exchange_max).copied().collect();
                let answer = self.peers_answer(list);
                self.send(peer, answer);
            }
            PeerMessage::Peers(list) => {
                if !std::mem::take(&mut conn.asked_peers) {
                    return; // unsolicited
                }
                self.add_candidates(list.into_inner());
            }
            PeerMessage::Addressed(list) => {
                if !std::mem::take(&mut conn.asked_peers) {
                    return; // unsolicited
                }
                for record in list.into_inner() {
                    self.add_candidates(vec![record.peer]);
                    if !record.addr.is_empty() {
                        self.learn_address(record.peer, record.addr, false);
                    }
                }
            }
        }
    }

    fn on_penalty(&mut self, now: Time, peer: PeerId, penalty: Penalty) {
        let Some(conn) = self.connected.get_mut(&peer) else { return };
        conn.score = conn.score.saturating_add(penalty.weight());
        if conn.score <= self.cfg.score_disconnect {
            self.book.entry(peer).or_default().banned_until = Some(now + self.cfg.ban_duration);
            self.disconnect(peer, DisconnectReason::Misbehaving);
        }
    }

    /// The answer to a peer-exchange request for `list`: with addresses once any is known.
    fn peers_answer(&self, list: Vec<PeerId>) -> PeerMessage {
        let addr = |p: &PeerId| self.book.get(p).and_then(|c| c.addr.clone());
        if !list.iter().any(|p| addr(p).is_some()) {
            return PeerMessage::Peers(BoundedVec::truncating(list));
        }
        let records = list
            .into_iter()
            .map(|peer| PeerRecord { peer, addr: addr(&peer).unwrap_or_default() })
            .collect();
        PeerMessage::Addressed(BoundedVec::truncating(records))
    }

    /// Records where `peer` is reached: `own` addresses (the runtime's) replace any other,
    /// exchanged ones only fill a gap (so a peer cannot redirect dials to a known peer).
    fn learn_address(&mut self, peer: PeerId, addr: PeerAddr, own: bool) {
        if own {
            self.add_candidates(vec![peer]);
        }
        let Some(c) = self.book.get_mut(&peer) else { return };
        if own || c.addr.is_none() {
            c.addr = Some(addr);
        }
    }

    fn add_candidates(&mut self, peers: Vec<PeerId>) {
        for peer in peers {
            if peer == self.self_id || self.book.contains_key(&peer) {
                continue;
            }
            if self.book.len() >= self.cfg.address_book_max && !self.evict_candidate() {
                return;
            }
            self.book.insert(peer, Candidate::default());
        }
    }

    /// Evicts a random candidate that is neither connected, dialed nor banned.
    fn evict_candidate(&mut self) -> bool {
        let evictable: Vec<PeerId> = self
            .book
            .iter()
            .filter(|(p, c)| {
                c.banned_until.is_none()
                    && !self.connected.contains_key(p)
                    && !self.dialing.contains_key(*p)
            })
            .map(|(p, _)| *p)
            .collect();
        match evictable.choose(&mut self.rng) {
            Some(p) => {
                self.book.remove(p);
                true
            }
            None => false,
        }
    }

    fn on_tick(&mut self, now: Time) {
        self.next_tick = Some(now + self.cfg.tick_interval);
        let recovery = self.cfg.score_recovery;
        for conn in self.connected.values_mut() {
            conn.score = (conn.score + recovery).min(0);
            conn.answered_peers = false;
        }
        let silent: Vec<PeerId> = self
            .connected
            .iter()
            .filter(|(_, c)| now.saturating_since(c.last_heard) > self.cfg.peer_timeout)
            .map(|(p, _)| *p)
            .collect();
        for peer in silent {
            self.disconnect(peer, DisconnectReason::Timeout);
        }
        let timed_out: Vec<PeerId> = self
            .dialing
            .iter()
            .filter(|(_, t)| now.saturating_since(**t) > self.cfg.dial_timeout)
            .map(|(p, _)| *p)
            .collect();
        for peer in timed_out {
            self.dialing.remove(&peer);
            self.dial_failed(now, peer);
        }
        if now >= self.next_ping {
            self.next_ping = now + self.cfg.ping_interval;
            self.ping_all();
        }
        let want = self.cfg.peers_target.saturating_sub(self.connected.len() + self.dialing.len());
        if want > 0 {
            self.dial_random(now, want);
        }
        if now >= self.next_rotate {
            self.next_rotate = now + self.cfg.rotate_interval;
            self.last_rotate = now;
            self.rotate(now);
        }
    }

    fn ping_all(&mut self) {
        self.ping_nonce += 1;
        let frame = Frame::Peers(PeerMessage::Ping(self.ping_nonce)).encode_bytes();
        let peers: Vec<PeerId> = self.connected.keys().copied().collect();
        for peer in peers {
            self.outputs.push_back(PeersOutput::Send { peer, frame: frame.clone() });
        }
    }

    /// How long after its start the node first rotates a connection: a random point of
    /// `rotate_interval`, so that nodes started together do not rotate in step. In step, two
    /// groups that filled their connections with each other's own members during a partition
    /// (silent peers are dropped, and a node at its target dials nobody) find each other only
    /// at the next common rotation, up to a whole interval after the heal; out of step, some
    /// node rotates every `rotate_interval / nodes` on average.
    fn first_rotation(&mut self) -> Duration {
        let interval = u64::try_from(self.cfg.rotate_interval.as_micros()).unwrap_or(u64::MAX);
        if interval == 0 {
            return Duration::ZERO;
        }
        Duration::from_micros(self.rng.random_range(0..interval))
    }

    /// When the next rotation is due (none before the node's first input).
    pub fn next_rotation(&self) -> Option<Time> {
        self.next_tick.map(|_| self.next_rotate)
    }

    /// Replaces one connection by a new random candidate, so that separated groups of peers
    /// (after a partition heals) find each other again.
    fn rotate(&mut self, now: Time) {
        if self.connected.len() < self.cfg.peers_target || !self.dialing.is_empty() {
            return;
        }
        if self.connected.len() + 1 >= self.cfg.peers_max {
            let oldest_outbound = self
                .connected
                .iter()
                .filter(|(_, c)| c.outbound)
                .min_by_key(|(p, c)| (c.since, **p))
                .map(|(p, _)| *p);
            if let Some(peer) = oldest_outbound {
                self.disconnect(peer, DisconnectReason::Rotation);
            }
        }
        self.dial_random(now, 1);
    }

    fn dial_random(&mut self, now: Time, n: usize) {
        let eligible: Vec<PeerId> = self
            .book
            .iter()
            .filter(|(p, c)| {
                c.next_attempt <= now
                    && c.banned_until.is_none_or(|t| t <= now)
                    && !self.connected.contains_key(p)
                    && !self.dialing.contains_key(*p)
            })
            .map(|(p, _)| *p)
            .collect();
        let chosen: Vec<PeerId> = eligible.choose_multiple(&mut self.rng, n).copied().collect();
        for peer in chosen {
            self.dialing.insert(peer, now);
            let addr = self.book.get(&peer).and_then(|c| c.addr.clone());
            self.outputs.push_back(PeersOutput::Connect { peer, addr });
        }
    }

    fn dial_failed(&mut self, now: Time, peer: PeerId) {
        let min = self.cfg.dial_backoff_min;
        let max = self.cfg.dial_backoff_max;
        let Some(c) = self.book.get_mut(&peer) else { return };
        c.failures = c.failures.saturating_add(1);
        let backoff = min.saturating_mul(1u32 << c.failures.min(16).saturating_sub(1)).min(max);
        // Jitter keeps many nodes from redialing one peer in lockstep.
        let jitter =
            Duration::from_micros(self.rng.random_range(0..=backoff.as_micros() as u64 / 4));
        c.next_attempt = now + backoff + jitter;
    }

    fn disconnect(&mut self, peer: PeerId, reason: DisconnectReason) {
        if self.connected.remove(&peer).is_some() {
            self.outputs.push_back(PeersOutput::Disconnect { peer, reason });
            self.outputs.push_back(PeersOutput::Gone { peer, reason });
        }
    }

    fn send(&mut self, peer: PeerId, msg: PeerMessage) {
        let frame = Frame::Peers(msg).encode_bytes();
        self.outputs.push_back(PeersOutput::Send { peer, frame });
    }

    /// Panics if a bound of the module doc is broken (constant time; the simulator calls it
    /// after every step).
    pub fn check_invariants(&self) {
        assert!(self.connected.len() <= self.cfg.peers_max, "more than peers_max connected");
        assert!(self.book.len() <= self.cfg.address_book_max, "address book over its bound");
    }

    /// [`Peers::check_invariants`] plus the per-peer invariants (no self, no banned peer, no
    /// peer both connected and dialed).
    pub fn check_invariants_deep(&self, now: Time) {
        self.check_invariants();
        assert!(!self.connected.contains_key(&self.self_id), "connected to self");
        for peer in self.connected.keys() {
            assert!(!self.dialing.contains_key(peer), "peer both connected and dialed");
            assert!(!self.is_banned(now, peer), "banned peer connected");
        }
    }
}
