//! Gossip wire messages.

use crate::codec::{BoundedBytes, BoundedVec, Decode, DecodeError, Encode, Reader};
use crate::impl_codec_struct;
use crate::types::Hash32;

/// The largest payload a published message may carry (the codec's hard bound; the configured
/// `message_max` may be lower). Matches go-spacemesh's 2 MiB p2p message cap minus framing.
pub const MESSAGE_MAX: usize = 2 * 1024 * 1024 - 1024;
/// Most message ids in one IHAVE or IWANT.
pub const IDS_MAX: usize = 512;
/// Reconciliation buckets: message ids are bucketed by their first byte's top six bits.
pub const BUCKETS: usize = 64;
/// Most buckets whose ids are listed in one reconciliation answer.
pub const BUCKETS_LISTED_MAX: usize = 8;
/// Most ids listed per bucket in one reconciliation answer.
pub const BUCKET_IDS_MAX: usize = 256;

/// A message id: `BLAKE3(topic || payload)`, as go-spacemesh's pubsub message id.
pub type MsgId = Hash32;

/// A gossip topic. The byte values are this project's; the names follow go-spacemesh's topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Topic {
    /// Activation transactions (see [`crate::activation`]).
    Atx = 0x01,
    /// Proposals carrying ballots (see [`crate::ballot`]).
    Proposal = 0x02,
    /// Beacon protocol messages (see [`crate::beacon`]).
    Beacon = 0x03,
    /// Malfeasance proofs (see [`crate::malfeasance`]).
    Malfeasance = 0x04,
    /// Hare messages (see [`crate::hare`]).
    Hare = 0x05,
    /// Certify messages (see [`crate::certifier`]).
    Certify = 0x06,
    /// Transactions (see [`crate::tx`] and [`crate::mempool`]).
    Tx = 0x07,
    /// Signed node heartbeats (see [`crate::heartbeat`]).
    Heartbeat = 0x80,
}

impl Topic {
    /// Every topic, in wire order.
    pub const ALL: [Topic; 8] = [
        Topic::Atx,
        Topic::Proposal,
        Topic::Beacon,
        Topic::Malfeasance,
        Topic::Hare,
        Topic::Certify,
        Topic::Tx,
        Topic::Heartbeat,
    ];

    /// Whether retained messages of the topic take part in anti-entropy. Hare rounds and
    /// certify messages are worthless seconds after they are sent (a late hare message only
    /// grades worse, certificates reach syncing nodes through sync): they are relayed and served
    /// to IWANT while retained, but reconciling them after a partition could not help and would
    /// crowd the bucket lists that carry ATXs, proposals and proofs.
    pub fn reconciled(self) -> bool {
        !matches!(self, Topic::Hare | Topic::Certify)
    }

    /// The topic's short name (go-spacemesh's where one exists).
    pub fn name(self) -> &'static str {
        match self {
            Topic::Atx => "ax1",
            Topic::Proposal => "pp1",
            Topic::Beacon => "bc1",
            Topic::Malfeasance => "mp1",
            Topic::Hare => "h3",
            Topic::Certify => "cert",
            Topic::Tx => "tx1",
            Topic::Heartbeat => "hb1",
        }
    }
}

impl Encode for Topic {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(*self as u8);
    }
}

impl Decode for Topic {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.byte()? {
            0x01 => Ok(Topic::Atx),
            0x02 => Ok(Topic::Proposal),
            0x03 => Ok(Topic::Beacon),
            0x04 => Ok(Topic::Malfeasance),
            0x05 => Ok(Topic::Hare),
            0x06 => Ok(Topic::Certify),
            0x07 => Ok(Topic::Tx),
            0x80 => Ok(Topic::Heartbeat),
            tag => Err(DecodeError::InvalidTag { what: "Topic", tag }),
        }
    }
}

/// The fingerprint of one reconciliation bucket: how many retained messages fall in it and the
/// XOR of their ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BucketSummary {
    /// Retained messages in the bucket.
    pub count: u32,
    /// XOR of their ids.
    pub xor: Hash32,
}
impl_codec_struct!(BucketSummary { count, xor });

/// The ids one side retains in one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketIds {
    /// Bucket index, below [`BUCKETS`].
    pub index: u8,
    /// Retained ids in the bucket.
    pub ids: BoundedVec<MsgId, BUCKET_IDS_MAX>,
}
impl_codec_struct!(BucketIds { index, ids });

/// A gossip protocol message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GossipMessage {
    /// A full message on a topic.
    Publish {
        /// The topic.
        topic: Topic,
        /// The payload, validated by the topic's owner.
        data: BoundedBytes<MESSAGE_MAX>,
    },
    /// Lazy announcement: "I have these messages".
    IHave(BoundedVec<MsgId, IDS_MAX>),
    /// "Send me these messages".
    IWant(BoundedVec<MsgId, IDS_MAX>),
    /// "Add me to your mesh".
    Graft,
    /// "Remove me from your mesh".
    Prune,
    /// Anti-entropy request: the sender's bucket fingerprints.
    ReconcileRequest(BoundedVec<BucketSummary, BUCKETS>),
    /// Anti-entropy answer: the responder's ids in the buckets whose fingerprints differ.
    ReconcileIds(BoundedVec<BucketIds, BUCKETS_LISTED_MAX>),
}

impl GossipMessage {
    /// Whether this message only maintains the mesh (GRAFT, PRUNE) rather than carrying,
    /// announcing or asking for messages.
    pub fn is_mesh_upkeep(&self) -> bool {
        matches!(self, GossipMessage::Graft | GossipMessage::Prune)
    }
}

impl Encode for GossipMessage {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            GossipMessage::Publish { topic, data } => {
                out.push(0);
                topic.encode_to(out);
                data.encode_to(out);
            }
            GossipMessage::IHave(ids) => {
                out.push(1);
                ids.encode_to(out);
            }
            GossipMessage::IWant(ids) => {
                out.push(2);
                ids.encode_to(out);
            }
            GossipMessage::Graft => out.push(3),
            GossipMessage::Prune => out.push(4),
            GossipMessage::ReconcileRequest(b) => {
                out.push(5);
                b.encode_to(out);
            }
            GossipMessage::ReconcileIds(b) => {
                out.push(6);
                b.encode_to(out);
            }
        }
    }
}

impl Decode for GossipMessage {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match r.byte()? {
            0 => GossipMessage::Publish { topic: Topic::decode(r)?, data: Decode::decode(r)? },
            1 => GossipMessage::IHave(Decode::decode(r)?),
            2 => GossipMessage::IWant(Decode::decode(r)?),
            3 => GossipMessage::Graft,
            4 => GossipMessage::Prune,
            5 => GossipMessage::ReconcileRequest(Decode::decode(r)?),
            6 => GossipMessage::ReconcileIds(Decode::decode(r)?),
            tag => return Err(DecodeError::InvalidTag { what: "GossipMessage", tag }),
        })
    }
}

/// The id of a message: `BLAKE3(topic || payload)`.
pub fn message_id(topic: Topic, data: &[u8]) -> MsgId {
    crate::crypto::hash_parts(&[&[topic as u8], data])
}

/// A message as a node keeps it while it validates or retains it: its id and the frame it came
/// in (or was published in). One allocation, which a runtime hosting many nodes hands to all of
/// them through [`PublishPrint`]: every node keeps every recent message, and an id and a frame
/// handle per node took 64 bytes a message at each of them.
#[derive(Debug, PartialEq, Eq)]
pub struct HeldFrame {
    pub(super) id: MsgId,
    pub(super) frame: bytes::Bytes,
}

impl HeldFrame {
    /// The message id.
    pub fn id(&self) -> &MsgId {
        &self.id
    }
}

/// What a runtime learns once from a frame that carries a gossip `Publish`, so that a node can
/// count a later copy of an already seen message without decoding the frame again (see
/// [`crate::node::Node::absorb_seen_publish`]), and keep the message in the print's allocation
/// (see [`HeldFrame`]).
///
/// It can only be made from the frame's bytes ([`PublishPrint::of`]), so it always describes the
/// frame it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishPrint {
    held: std::sync::Arc<HeldFrame>,
    data_len: usize,
}

impl PublishPrint {
    /// The print of `frame` when it decodes as a gossip `Publish` (no size limit beyond the
    /// codec's: the node applies its own `frame_max` and `message_max` to the lengths).
    pub fn of(frame: &bytes::Bytes) -> Option<PublishPrint> {
        // Every other frame is told apart by its first two tags (frame 0 = gossip, gossip 0 =
        // publish) without decoding it.
        if frame.get(..2) != Some(&[0, 0]) {
            return None;
        }
        match crate::frame::Frame::decode_bounded(frame, usize::MAX).ok()? {
            crate::frame::Frame::Gossip(GossipMessage::Publish { topic, data }) => {
                let held = HeldFrame { id: message_id(topic, &data), frame: frame.clone() };
                Some(PublishPrint { held: std::sync::Arc::new(held), data_len: data.len() })
            }
            _ => None,
        }
    }

    /// The message id.
    pub fn id(&self) -> &MsgId {
        &self.held.id
    }

    /// The message with the frame, as a node keeps it.
    pub fn held(&self) -> &std::sync::Arc<HeldFrame> {
        &self.held
    }

    /// The payload's length.
    pub fn data_len(&self) -> usize {
        self.data_len
    }

    /// The whole frame's length.
    pub fn frame_len(&self) -> usize {
        self.held.frame.len()
    }
}

/// The reconciliation bucket of an id.
pub fn bucket_of(id: &MsgId) -> usize {
    usize::from(id.0[0] >> 2)
}
