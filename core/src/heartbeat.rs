//! Heartbeats: every node periodically gossips a signed, sequence-numbered statement that it is
//! alive (identity, sequence, its clock, software info). They feed the network dashboard's view of
//! live nodes and clock drift, and they are the first topic owner on top of gossip.
//!
//! Rules (the same shape as hare messages and ATXs, at a smaller scale):
//! - A heartbeat is valid when it decodes, is signed by its identity under
//!   [`Domain::Heartbeat`], and its claimed time is within `max_age` in the past and
//!   `max_future` in the future of the receiver's clock. Undecodable or badly signed:
//!   reject (penalize the relay); outside the time window: ignore.
//! - An identity must never sign two different heartbeats with the same sequence number. A node
//!   that sees both reports a [`HeartbeatEvent::Equivocation`] and ignores the second.
//! - So a node persists its next sequence number *before* it publishes (the `Persist` output
//!   precedes the publish), and a restarted node continues from the persisted number.
//!
//! Invariants:
//! 1. At most `origins_max` identities and `seqs_per_origin` sequence numbers each are tracked.
//! 2. Every published sequence number is below the persisted `next_seq`.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::codec::{BoundedBytes, Decode, DecodeError, Encode, Reader, decode_shared};
use crate::crypto::{Domain, Signature, Signer, signed_message};
use crate::gossip::{MsgId, Verdict};
use crate::job::SignatureCheck;
use crate::store::{Batch, Snapshot};
use crate::types::{GenesisId, NodeId, Time};

/// Longest free-form info field.
pub const INFO_MAX: usize = 256;
/// Store key of the next sequence number to sign.
pub const NEXT_SEQ_KEY: &[u8] = b"heartbeat/next_seq";

/// Bounds and intervals of the heartbeat protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeartbeatConfig {
    /// How often this node publishes; `None` disables publishing.
    pub interval: Option<Duration>,
    /// Oldest accepted claimed time, relative to the receiver's clock.
    pub max_age: Duration,
    /// Furthest accepted claimed time in the future (clock skew allowance).
    pub max_future: Duration,
    /// Most identities tracked.
    pub origins_max: usize,
    /// Sequence numbers remembered per identity (for equivocation checks).
    pub seqs_per_origin: usize,
    /// Most heartbeats waiting for their signature check.
    pub pending_max: usize,
    /// Info published with each heartbeat.
    pub info: String,
}

impl Default for HeartbeatConfig {
    fn default() -> Self {
        HeartbeatConfig {
            interval: Some(Duration::from_secs(300)),
            max_age: Duration::from_secs(3600),
            max_future: Duration::from_secs(30),
            origins_max: 100_000,
            seqs_per_origin: 8,
            pending_max: 4096,
            info: concat!("smesh/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }
}

/// A signed heartbeat as gossiped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatMsg {
    /// The signer.
    pub node_id: NodeId,
    /// Sequence number, never reused by one identity.
    pub seq: u64,
    /// The signer's clock when it signed.
    pub time: Time,
    /// Free-form software info.
    pub info: BoundedBytes<INFO_MAX>,
    /// Signature over the fields above.
    pub signature: Signature,
}

impl HeartbeatMsg {
    fn signed_fields(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + 8 + 8 + 2 + self.info.len());
        self.node_id.encode_to(&mut out);
        self.seq.encode_to(&mut out);
        self.time.encode_to(&mut out);
        self.info.encode_to(&mut out);
        out
    }

    /// Builds and signs a heartbeat.
    pub fn sign(signer: &Signer, seq: u64, time: Time, info: &[u8]) -> HeartbeatMsg {
        let info = BoundedBytes::new(Bytes::copy_from_slice(&info[..info.len().min(INFO_MAX)]))
            .expect("truncated to INFO_MAX");
        let mut msg = HeartbeatMsg {
            node_id: signer.node_id(),
            seq,
            time,
            info,
            signature: Signature([0; 64]),
        };
        msg.signature = signer.sign(Domain::Heartbeat, &msg.signed_fields());
        msg
    }

    /// The signature check for this heartbeat on network `genesis`.
    pub fn signature_check(&self, genesis: &GenesisId) -> SignatureCheck {
        SignatureCheck {
            public_key: self.node_id.0,
            signed_message: signed_message(genesis, Domain::Heartbeat, &self.signed_fields()),
            signature: self.signature,
        }
    }
}

impl Encode for HeartbeatMsg {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.signed_fields());
        self.signature.encode_to(out);
    }
}

impl Decode for HeartbeatMsg {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(HeartbeatMsg {
            node_id: Decode::decode(r)?,
            seq: Decode::decode(r)?,
            time: Decode::decode(r)?,
            info: Decode::decode(r)?,
            signature: Decode::decode(r)?,
        })
    }
}

/// Inputs to [`Heartbeat`].
#[derive(Debug, Clone)]
pub enum HeartbeatInput {
    /// Restore persisted state (first input).
    Restore(u64),
    /// A gossiped heartbeat to judge.
    Gossip {
        /// Its gossip id.
        id: MsgId,
        /// Its payload.
        data: Bytes,
    },
    /// The result of a requested signature check.
    SignatureChecked {
        /// The gossip id.
        id: MsgId,
        /// Whether the signature is valid.
        valid: bool,
    },
    /// Time passed.
    Tick,
}

/// Observable facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HeartbeatEvent {
    /// A valid heartbeat from another identity.
    Received {
        /// Signer.
        origin: NodeId,
        /// Sequence number.
        seq: u64,
    },
    /// This node published a heartbeat.
    Published {
        /// Sequence number.
        seq: u64,
    },
    /// An identity signed two different heartbeats with one sequence number.
    Equivocation {
        /// The equivocating identity.
        origin: NodeId,
        /// The reused sequence number.
        seq: u64,
    },
}

/// Outputs of [`Heartbeat`].
#[derive(Debug, Clone)]
pub enum HeartbeatOutput {
    /// Verdict on a gossiped heartbeat.
    Verdict {
        /// Gossip id.
        id: MsgId,
        /// Verdict.
        verdict: Verdict,
    },
    /// A signature to check; answer with [`HeartbeatInput::SignatureChecked`].
    CheckSignature {
        /// Gossip id.
        id: MsgId,
        /// The check.
        check: SignatureCheck,
    },
    /// Make this durable before acting on any later output.
    Persist(Batch),
    /// Publish this payload on the heartbeat topic.
    Publish(Bytes),
    /// An observable fact.
    Event(HeartbeatEvent),
}

/// The heartbeat protocol of one node.
#[derive(Debug)]
pub struct Heartbeat {
    cfg: HeartbeatConfig,
    signer: Signer,
    next_seq: u64,
    next_publish: Option<Time>,
    /// Per identity: recent sequence numbers with their gossip ids, and the last update time.
    origins: BTreeMap<NodeId, Time>,
    /// Recent (identity, sequence number) pairs with their gossip ids, one flat map: a map per
    /// identity would cost a B-tree node per identity, and a thousand-node simulation keeps a
    /// thousand identities in every node.
    seqs: BTreeMap<(NodeId, u64), MsgId>,
    pending: BTreeMap<MsgId, HeartbeatMsg>,
    outputs: VecDeque<HeartbeatOutput>,
}

impl Heartbeat {
    /// The heartbeat protocol, signing with `signer`.
    pub fn new(cfg: HeartbeatConfig, signer: Signer) -> Self {
        Heartbeat {
            cfg,
            signer,
            next_seq: 0,
            next_publish: None,
            origins: BTreeMap::new(),
            seqs: BTreeMap::new(),
            pending: BTreeMap::new(),
            outputs: VecDeque::new(),
        }
    }

    /// Reads the persisted sequence number from a snapshot (0 when absent). A corrupt value is a
    /// disk fault: the node must not silently restart its sequence.
    pub fn restored_seq(snapshot: &Snapshot) -> Result<u64, DecodeError> {
        match snapshot.get(NEXT_SEQ_KEY) {
            None => Ok(0),
            Some(v) => crate::codec::decode_exact::<u64>(v),
        }
    }

    /// Feeds one input. Drain [`Heartbeat::poll_output`] afterwards.
    pub fn handle(&mut self, now: Time, input: HeartbeatInput) {
        match input {
            HeartbeatInput::Restore(next_seq) => {
                self.next_seq = next_seq;
                self.next_publish = self.cfg.interval.map(|_| now);
            }
            HeartbeatInput::Gossip { id, data } => self.on_gossip(now, id, &data),
            HeartbeatInput::SignatureChecked { id, valid } => self.on_checked(now, id, valid),
            HeartbeatInput::Tick => {
                if self.next_publish.is_some_and(|t| now >= t) {
                    self.publish(now);
                }
            }
        }
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<HeartbeatOutput> {
        self.outputs.pop_front()
    }

    /// When the next heartbeat is due.
    pub fn poll_timeout(&self) -> Option<Time> {
        self.next_publish
    }

    /// Delays the first heartbeat by `offset` (spreads a network's heartbeats over the interval).
    pub fn delay_first(&mut self, offset: Duration) {
        if let Some(t) = self.next_publish.as_mut() {
            *t = *t + offset;
        }
    }

    /// Identities with at least one valid heartbeat.
    pub fn origins(&self) -> usize {
        self.origins.len()
    }

    /// The next sequence number this node will sign.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn publish(&mut self, now: Time) {
        let interval = self.cfg.interval.expect("publish scheduled only with an interval");
        self.next_publish = Some(now + interval);
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut batch = Batch::default();
        batch.put(NEXT_SEQ_KEY, &self.next_seq.encode());
        // Persist first: a crash after the publish but before the write would make the
        // restarted node sign `seq` again, an equivocation.
        self.outputs.push_back(HeartbeatOutput::Persist(batch));
        let msg = HeartbeatMsg::sign(&self.signer, seq, now, self.cfg.info.as_bytes());
        self.outputs.push_back(HeartbeatOutput::Publish(msg.encode_bytes()));
        self.outputs.push_back(HeartbeatOutput::Event(HeartbeatEvent::Published { seq }));
    }

    fn on_gossip(&mut self, now: Time, id: MsgId, data: &Bytes) {
        let msg = match decode_shared::<HeartbeatMsg>(data) {
            Ok(msg) => msg,
            Err(_) => return self.verdict(id, Verdict::Reject),
        };
        let too_old = msg.time + self.cfg.max_age < now;
        let too_new = msg.time > now + self.cfg.max_future;
        if too_old || too_new || self.pending.len() >= self.cfg.pending_max {
            return self.verdict(id, Verdict::Ignore);
        }
        let check = msg.signature_check(&self.signer.genesis());
        self.pending.insert(id, msg);
        self.outputs.push_back(HeartbeatOutput::CheckSignature { id, check });
    }

    fn on_checked(&mut self, now: Time, id: MsgId, valid: bool) {
        let Some(msg) = self.pending.remove(&id) else { return };
        if !valid {
            return self.verdict(id, Verdict::Reject);
        }
        if let Some(existing) = self.seqs.get(&(msg.node_id, msg.seq)) {
            if *existing != id {
                let event = HeartbeatEvent::Equivocation { origin: msg.node_id, seq: msg.seq };
                self.outputs.push_back(HeartbeatOutput::Event(event));
            }
            return self.verdict(id, Verdict::Ignore);
        }
        self.record(now, &msg, id);
        self.verdict(id, Verdict::Accept);
        let event = HeartbeatEvent::Received { origin: msg.node_id, seq: msg.seq };
        self.outputs.push_back(HeartbeatOutput::Event(event));
    }

    fn record(&mut self, now: Time, msg: &HeartbeatMsg, id: MsgId) {
        let origin = msg.node_id;
        if !self.origins.contains_key(&origin) && self.origins.len() >= self.cfg.origins_max {
            let stalest = self.origins.iter().min_by_key(|(n, t)| (**t, **n)).map(|(n, _)| *n);
            if let Some(n) = stalest {
                self.forget(n);
            }
        }
        self.origins.insert(origin, now);
        self.seqs.insert((origin, msg.seq), id);
        let range = (origin, 0)..=(origin, u64::MAX);
        let kept = self.seqs.range(range.clone()).count();
        let excess: Vec<(NodeId, u64)> = self
            .seqs
            .range(range)
            .take(kept.saturating_sub(self.cfg.seqs_per_origin))
            .map(|(k, _)| *k)
            .collect();
        for k in excess {
            self.seqs.remove(&k);
        }
    }

    fn forget(&mut self, origin: NodeId) {
        self.origins.remove(&origin);
        let keys: Vec<(NodeId, u64)> =
            self.seqs.range((origin, 0)..=(origin, u64::MAX)).map(|(k, _)| *k).collect();
        for k in keys {
            self.seqs.remove(&k);
        }
    }

    fn verdict(&mut self, id: MsgId, verdict: Verdict) {
        self.outputs.push_back(HeartbeatOutput::Verdict { id, verdict });
    }

    /// Panics if an invariant of the module doc is broken.
    pub fn check_invariants(&self) {
        assert!(self.origins.len() <= self.cfg.origins_max, "origins over their bound");
        assert!(
            self.seqs.len() <= self.origins.len() * self.cfg.seqs_per_origin,
            "sequence numbers over their bound"
        );
        assert!(self.pending.len() <= self.cfg.pending_max, "pending over its bound");
    }
}

#[cfg(test)]
mod tests;
