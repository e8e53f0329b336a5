//! Observable facts a node reports.

use crate::gossip::{MsgId, Topic};
use crate::heartbeat::HeartbeatEvent;
use crate::node::consensus::ConsensusEvent;
use crate::p2p::{DisconnectReason, Penalty};
use crate::types::PeerId;

/// An observable fact: feeds checkers, the API and the trace. Checkers judge a run from these
/// alone, never from a node's internals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    /// The node started from its restored state.
    Started {
        /// The heartbeat sequence number it continues from.
        next_heartbeat_seq: u64,
    },
    /// A connection is usable.
    PeerConnected {
        /// The peer.
        peer: PeerId,
        /// Whether this node dialed.
        outbound: bool,
    },
    /// A connection is gone.
    PeerDisconnected {
        /// The peer.
        peer: PeerId,
        /// Why.
        reason: DisconnectReason,
    },
    /// A peer was penalized.
    PeerPenalized {
        /// The peer.
        peer: PeerId,
        /// What for.
        penalty: Penalty,
    },
    /// A gossip message was accepted (`own`: published by this node).
    MessageAccepted {
        /// Topic.
        topic: Topic,
        /// Message id.
        id: MsgId,
        /// Whether this node published it.
        own: bool,
    },
    /// A heartbeat fact.
    Heartbeat(HeartbeatEvent),
    /// An epoch machinery fact (ATXs, beacon, ballots, malfeasance).
    Consensus(Box<ConsensusEvent>),
}

impl NodeEvent {
    /// A short name for traces and summaries.
    pub fn kind(&self) -> &'static str {
        match self {
            NodeEvent::Started { .. } => "started",
            NodeEvent::PeerConnected { .. } => "peer-connected",
            NodeEvent::PeerDisconnected { .. } => "peer-disconnected",
            NodeEvent::PeerPenalized { .. } => "peer-penalized",
            NodeEvent::MessageAccepted { .. } => "message-accepted",
            NodeEvent::Heartbeat(HeartbeatEvent::Received { .. }) => "heartbeat-received",
            NodeEvent::Heartbeat(HeartbeatEvent::Published { .. }) => "heartbeat-published",
            NodeEvent::Heartbeat(HeartbeatEvent::Equivocation { .. }) => "heartbeat-equivocation",
            NodeEvent::Consensus(e) => e.kind(),
        }
    }
}
