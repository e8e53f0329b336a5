//! Gossip: topic-based message dissemination with dedup, validation verdicts, a mesh fan-out,
//! lazy id announcements and anti-entropy (protocol.md section 10).
//!
//! The shape follows GossipSub v1.1 as go-spacemesh configures it: message id =
//! `BLAKE3(topic || payload)`; own messages are flood-published to every connected peer; received
//! messages are handed to the topic's owner and forwarded to the mesh (about `mesh_d` peers) only
//! when the owner accepts them; ids of recent messages are announced lazily (IHAVE) to a few
//! non-mesh peers, who ask (IWANT) for what they miss. Verdicts: accept (forward), ignore (drop,
//! no penalty) and reject (drop and penalize the peer it came from).
//!
//! Beyond GossipSub, a node reconciles its retained messages with one random peer every
//! `reconcile_interval`: bucket fingerprints (count and XOR of ids) are compared, the ids of
//! differing buckets are listed and the missing messages flow both ways. This is what delivers
//! messages published during a partition once it heals.
//!
//! At most `validating_max` messages wait for their owner's verdict. A message that arrives
//! while that many wait is dropped unseen, and its id is kept (up to `deferred_max`) and asked
//! for (IWANT) once the backlog drains, from the peer that offered it, then from others: an
//! epoch's ATXs are published as one PoET round ends, so in a network of more smeshers than
//! `validating_max` every copy of some of them can arrive while the first ones still wait for
//! their PoET proof.
//!
//! Invariants:
//! 1. A message id is handed to its owner at most once while it is in the seen cache.
//! 2. Only accepted messages are forwarded or served; a message is never sent back to the peer
//!    it came from by the forwarding path.
//! 3. The mesh is a subset of the connected peers and never larger than `mesh_d_hi`.
//! 4. Every collection is bounded by a `*_max` of [`GossipConfig`] (or a codec bound).

mod chunked;
mod id_index;
mod message;
mod seen;
mod state;

pub use message::{
    BUCKET_IDS_MAX, BUCKETS, BUCKETS_LISTED_MAX, BucketIds, BucketSummary, GossipMessage,
    HeldFrame, IDS_MAX, MESSAGE_MAX, MsgId, PublishPrint, Topic, bucket_of, message_id,
};
pub use state::{Gossip, GossipConfig, GossipInput, GossipOutput, GossipStats, SeenMark, Verdict};

#[cfg(test)]
mod tests;
