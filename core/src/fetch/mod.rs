//! Fetch: asking peers for objects by hash (ATXs, PoET proofs, malfeasance proofs) when a
//! message refers to something this node does not hold.
//!
//! Requests are batched per peer, time out, and move on to another connected peer; after
//! `attempts_max` tries the object is reported failed so its waiters can give up. Responses
//! carry the raw bytes; the receiver validates them exactly as if they came from gossip, so a
//! peer cannot smuggle in anything by answering a fetch. A response that answers nothing that
//! was asked is a protocol violation.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::codec::{BoundedBytes, BoundedVec, Decode, DecodeError, Encode, Reader};
use crate::impl_codec_struct;
use crate::types::{Hash32, PeerId, Time};

/// Most hashes in one request.
pub const BATCH_MAX: usize = 64;
/// Largest object in a response.
pub const ITEM_MAX: usize = 512 * 1024;

/// What kind of object a hash names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Hint {
    /// An ATX by id.
    Atx,
    /// A PoET proof by reference.
    PoetProof,
    /// A malfeasance proof by accused identity.
    Malfeasance,
    /// A block by id (zero-padded).
    Block,
    /// A ballot's proposal by ballot id (zero-padded).
    Ballot,
    /// The ATX ids published in an epoch (epoch number, big-endian, zero-padded).
    EpochAtxs,
    /// The ballot ids of a layer (layer number, big-endian, zero-padded).
    LayerBallots,
    /// An active set by its hash.
    ActiveSet,
    /// The certificate of a layer (layer number, big-endian, zero-padded).
    Certificate,
    /// The identities with a malfeasance proof (the hash is ignored: zero).
    MaliciousIds,
    /// A transaction by id.
    Tx,
    /// A proposal by its own id, as a hare output names it: the id, then its layer number
    /// (big-endian), zero-padded.
    Proposal,
}

impl Hint {
    /// Every hint, in the order of their tags.
    pub const ALL: [Hint; 12] = [
        Hint::Atx,
        Hint::PoetProof,
        Hint::Malfeasance,
        Hint::Block,
        Hint::Ballot,
        Hint::EpochAtxs,
        Hint::LayerBallots,
        Hint::ActiveSet,
        Hint::Certificate,
        Hint::MaliciousIds,
        Hint::Tx,
        Hint::Proposal,
    ];
}

impl Encode for Hint {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(match self {
            Hint::Atx => 1,
            Hint::PoetProof => 2,
            Hint::Malfeasance => 3,
            Hint::Block => 4,
            Hint::Ballot => 5,
            Hint::EpochAtxs => 6,
            Hint::LayerBallots => 7,
            Hint::ActiveSet => 8,
            Hint::Certificate => 9,
            Hint::MaliciousIds => 10,
            Hint::Tx => 11,
            Hint::Proposal => 12,
        });
    }
}

impl Decode for Hint {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.byte()? {
            1 => Ok(Hint::Atx),
            2 => Ok(Hint::PoetProof),
            3 => Ok(Hint::Malfeasance),
            4 => Ok(Hint::Block),
            5 => Ok(Hint::Ballot),
            6 => Ok(Hint::EpochAtxs),
            7 => Ok(Hint::LayerBallots),
            8 => Ok(Hint::ActiveSet),
            9 => Ok(Hint::Certificate),
            10 => Ok(Hint::MaliciousIds),
            11 => Ok(Hint::Tx),
            12 => Ok(Hint::Proposal),
            tag => Err(DecodeError::InvalidTag { what: "fetch hint", tag }),
        }
    }
}

/// One answered hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchItem {
    /// The hash asked for.
    pub hash: Hash32,
    /// The object, or `None` when the peer does not hold it.
    pub data: Option<BoundedBytes<ITEM_MAX>>,
}
impl_codec_struct!(FetchItem { hash, data });

/// Fetch protocol messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchMessage {
    /// Please send these objects.
    Request {
        /// Request id (echoed).
        id: u64,
        /// What they are.
        hint: Hint,
        /// Their hashes.
        hashes: BoundedVec<Hash32, BATCH_MAX>,
    },
    /// The objects asked for.
    Response {
        /// Request id.
        id: u64,
        /// One item per hash asked (possibly without data).
        items: BoundedVec<FetchItem, BATCH_MAX>,
    },
}

impl Encode for FetchMessage {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            FetchMessage::Request { id, hint, hashes } => {
                out.push(0);
                id.encode_to(out);
                hint.encode_to(out);
                hashes.encode_to(out);
            }
            FetchMessage::Response { id, items } => {
                out.push(1);
                id.encode_to(out);
                items.encode_to(out);
            }
        }
    }
}

impl Decode for FetchMessage {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.byte()? {
            0 => Ok(FetchMessage::Request {
                id: Decode::decode(r)?,
                hint: Decode::decode(r)?,
                hashes: Decode::decode(r)?,
            }),
            1 => Ok(FetchMessage::Response { id: Decode::decode(r)?, items: Decode::decode(r)? }),
            tag => Err(DecodeError::InvalidTag { what: "fetch message", tag }),
        }
    }
}

/// Fetch settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchConfig {
    /// How long to wait for a response.
    pub timeout: Duration,
    /// Peers tried per object before giving up.
    pub attempts_max: u32,
    /// Most objects wanted at once.
    pub wanted_max: usize,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig { timeout: Duration::from_secs(2), attempts_max: 4, wanted_max: 4096 }
    }
}

/// What the fetcher asks its owner to do or tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutput {
    /// Send this message to a peer.
    Send {
        /// The peer.
        peer: PeerId,
        /// The message.
        msg: FetchMessage,
    },
    /// An object arrived (not yet validated).
    Delivered {
        /// Kind.
        hint: Hint,
        /// Hash asked for.
        hash: Hash32,
        /// The bytes.
        data: Bytes,
        /// Who sent it.
        peer: PeerId,
    },
    /// Every attempt failed.
    Failed {
        /// Kind.
        hint: Hint,
        /// Hash.
        hash: Hash32,
    },
    /// A peer answered something that was not asked (penalize it).
    Unsolicited {
        /// The peer.
        peer: PeerId,
    },
}

#[derive(Debug, Clone)]
struct Want {
    preferred: Option<PeerId>,
    tried: Vec<PeerId>,
    /// Peers not to ask (they already answered this hash to an earlier want).
    skip: Vec<PeerId>,
    in_flight: bool,
}

#[derive(Debug, Clone)]
struct InFlight {
    peer: PeerId,
    hint: Hint,
    hashes: Vec<Hash32>,
    deadline: Time,
}

/// Outstanding fetches.
#[derive(Debug)]
pub struct Fetcher {
    cfg: FetchConfig,
    rng: ChaCha8Rng,
    wanted: BTreeMap<(Hint, Hash32), Want>,
    in_flight: BTreeMap<u64, InFlight>,
    /// Requests that timed out, and whom they were sent to: an answer that comes after the
    /// deadline is late, not unsolicited (an honest peer behind a slow or healing link), and
    /// is dropped without a penalty. The latest [`EXPIRED_MAX`].
    expired: BTreeMap<u64, PeerId>,
    next_id: u64,
    outputs: VecDeque<FetchOutput>,
}

/// Timed-out requests remembered, so that their late answers are not taken as unsolicited.
pub const EXPIRED_MAX: usize = 1024;

impl Fetcher {
    /// A fetcher; `rng` picks peers.
    pub fn new(cfg: FetchConfig, rng: ChaCha8Rng) -> Self {
        Fetcher {
            cfg,
            rng,
            wanted: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            expired: BTreeMap::new(),
            next_id: 0,
            outputs: VecDeque::new(),
        }
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<FetchOutput> {
        self.outputs.pop_front()
    }

    /// The earliest request deadline.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.in_flight.values().map(|f| f.deadline).min()
    }

    /// Objects wanted and not yet delivered.
    pub fn wanted(&self) -> usize {
        self.wanted.len()
    }

    /// Asks for an object, preferably from `peer` (the one that referred to it).
    pub fn want(&mut self, hint: Hint, hash: Hash32, peer: Option<PeerId>) {
        self.insert(
            hint,
            hash,
            Want { preferred: peer, tried: Vec::new(), skip: Vec::new(), in_flight: false },
        );
    }

    /// Asks for a hash again from a peer other than those in `skip` (a list of ids that is
    /// merged from several peers' answers); it fails at once if every connected peer is in
    /// `skip`.
    pub fn want_besides(&mut self, hint: Hint, hash: Hash32, skip: Vec<PeerId>) {
        self.insert(
            hint,
            hash,
            Want { preferred: None, tried: Vec::new(), skip, in_flight: false },
        );
    }

    fn insert(&mut self, hint: Hint, hash: Hash32, want: Want) {
        if self.wanted.contains_key(&(hint, hash)) {
            return;
        }
        if self.wanted.len() >= self.cfg.wanted_max {
            self.outputs.push_back(FetchOutput::Failed { hint, hash });
            return;
        }
        self.wanted.insert((hint, hash), want);
    }

    /// Sends requests for wanted objects that are not in flight, batched per peer.
    pub fn dispatch(&mut self, now: Time, connected: &[PeerId]) {
        let mut batches: BTreeMap<(PeerId, Hint), Vec<Hash32>> = BTreeMap::new();
        let mut failed = Vec::new();
        for ((hint, hash), want) in self.wanted.iter_mut() {
            if want.in_flight {
                continue;
            }
            let untried: Vec<PeerId> = connected
                .iter()
                .filter(|p| !want.tried.contains(p) && !want.skip.contains(p))
                .copied()
                .collect();
            let peer = match want.preferred.filter(|p| untried.contains(p)) {
                Some(p) => Some(p),
                None if untried.is_empty() => None,
                None => Some(untried[self.rng.random_range(0..untried.len())]),
            };
            let Some(peer) = peer else {
                if want.tried.len() as u32 >= self.cfg.attempts_max || !connected.is_empty() {
                    failed.push((*hint, *hash));
                }
                continue;
            };
            if want.tried.len() as u32 >= self.cfg.attempts_max {
                failed.push((*hint, *hash));
                continue;
            }
            let batch = batches.entry((peer, *hint)).or_default();
            if batch.len() < BATCH_MAX {
                if !want.tried.is_empty() {
                    crate::coverage::mark(crate::coverage::FETCH_RETRY);
                }
                want.in_flight = true;
                want.tried.push(peer);
                batch.push(*hash);
            }
        }
        for (hint, hash) in failed {
            crate::coverage::mark(crate::coverage::FETCH_FAILED);
            self.wanted.remove(&(hint, hash));
            self.outputs.push_back(FetchOutput::Failed { hint, hash });
        }
        for ((peer, hint), hashes) in batches {
            let id = self.next_id;
            self.next_id += 1;
            let msg = FetchMessage::Request {
                id,
                hint,
                hashes: BoundedVec::new(hashes.clone()).expect("batched up to BATCH_MAX"),
            };
            self.in_flight
                .insert(id, InFlight { peer, hint, hashes, deadline: now + self.cfg.timeout });
            self.outputs.push_back(FetchOutput::Send { peer, msg });
        }
    }

    /// A response from `peer`.
    pub fn on_response(&mut self, peer: PeerId, id: u64, items: Vec<FetchItem>) {
        let Some(req) = self.in_flight.get(&id) else {
            if self.expired.get(&id) == Some(&peer) {
                self.expired.remove(&id);
                return;
            }
            return self.outputs.push_back(FetchOutput::Unsolicited { peer });
        };
        if req.peer != peer {
            return self.outputs.push_back(FetchOutput::Unsolicited { peer });
        }
        let req = self.in_flight.remove(&id).expect("present");
        for hash in &req.hashes {
            let key = (req.hint, *hash);
            let item = items.iter().find(|i| i.hash == *hash);
            match item.and_then(|i| i.data.clone()) {
                Some(data) if self.wanted.remove(&key).is_some() => {
                    self.outputs.push_back(FetchOutput::Delivered {
                        hint: req.hint,
                        hash: *hash,
                        data: data.into_inner(),
                        peer,
                    });
                }
                _ => {
                    if let Some(w) = self.wanted.get_mut(&key) {
                        w.in_flight = false;
                    }
                }
            }
        }
        if items.iter().any(|i| !req.hashes.contains(&i.hash)) {
            self.outputs.push_back(FetchOutput::Unsolicited { peer });
        }
    }

    /// A peer disconnected: its requests are retried elsewhere.
    pub fn on_peer_down(&mut self, peer: &PeerId) {
        let ids: Vec<u64> =
            self.in_flight.iter().filter(|(_, f)| f.peer == *peer).map(|(id, _)| *id).collect();
        for id in ids {
            self.release(id);
        }
    }

    /// Expires requests past their deadline.
    pub fn on_tick(&mut self, now: Time) {
        let timed_out: Vec<(u64, PeerId)> = self
            .in_flight
            .iter()
            .filter(|(_, f)| now >= f.deadline)
            .map(|(id, f)| (*id, f.peer))
            .collect();
        for (id, peer) in timed_out {
            self.expired.insert(id, peer);
            if self.expired.len() > EXPIRED_MAX {
                self.expired.pop_first();
            }
            self.release(id);
        }
    }

    fn release(&mut self, id: u64) {
        let Some(req) = self.in_flight.remove(&id) else { return };
        for hash in req.hashes {
            if let Some(w) = self.wanted.get_mut(&(req.hint, hash)) {
                w.in_flight = false;
            }
        }
    }

    /// Panics if a bound is broken (constant time).
    pub fn check_bounds(&self) {
        assert!(self.wanted.len() <= self.cfg.wanted_max, "too many wanted objects");
        assert!(self.expired.len() <= EXPIRED_MAX, "too many expired requests remembered");
    }

    /// Panics if a bound or the in-flight bookkeeping is broken (linear time).
    pub fn check_invariants(&self) {
        self.check_bounds();
        let flying: BTreeSet<(Hint, Hash32)> = self
            .in_flight
            .values()
            .flat_map(|f| f.hashes.iter().map(move |h| (f.hint, *h)))
            .collect();
        for (key, w) in &self.wanted {
            assert_eq!(w.in_flight, flying.contains(key), "in-flight flag out of sync");
        }
    }
}

#[cfg(test)]
mod tests;
