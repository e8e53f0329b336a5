//! Peer upkeep wire messages.

use crate::codec::{BoundedBytes, BoundedVec, Decode, DecodeError, Encode, Reader};
use crate::types::PeerId;

/// Most peers in one peer-exchange answer.
pub const PEERS_LIST_MAX: usize = 32;

/// Longest peer address, in bytes. Addresses are the runtime's (a real node's are
/// `ip:port` text); core only stores and forwards them.
pub const PEER_ADDR_MAX: usize = 64;

/// A peer address: opaque to core, at most [`PEER_ADDR_MAX`] bytes, empty when unknown.
pub type PeerAddr = BoundedBytes<PEER_ADDR_MAX>;

/// A peer and where the sender reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRecord {
    /// The peer.
    pub peer: PeerId,
    /// Its address (empty: unknown to the sender).
    pub addr: PeerAddr,
}
crate::impl_codec_struct!(PeerRecord { peer, addr });

/// A peer upkeep message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerMessage {
    /// Liveness probe with a nonce.
    Ping(u64),
    /// Answer to a ping.
    Pong(u64),
    /// Ask for some of the peer's peers.
    GetPeers,
    /// Some peers the sender is connected to.
    Peers(BoundedVec<PeerId, PEERS_LIST_MAX>),
    /// Some peers the sender is connected to, with their addresses (sent instead of
    /// [`PeerMessage::Peers`] once the sender knows any address).
    Addressed(BoundedVec<PeerRecord, PEERS_LIST_MAX>),
}

impl Encode for PeerMessage {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            PeerMessage::Ping(n) => {
                out.push(0);
                n.encode_to(out);
            }
            PeerMessage::Pong(n) => {
                out.push(1);
                n.encode_to(out);
            }
            PeerMessage::GetPeers => out.push(2),
            PeerMessage::Peers(list) => {
                out.push(3);
                list.encode_to(out);
            }
            PeerMessage::Addressed(list) => {
                out.push(4);
                list.encode_to(out);
            }
        }
    }
}

impl Decode for PeerMessage {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match r.byte()? {
            0 => PeerMessage::Ping(u64::decode(r)?),
            1 => PeerMessage::Pong(u64::decode(r)?),
            2 => PeerMessage::GetPeers,
            3 => PeerMessage::Peers(Decode::decode(r)?),
            4 => PeerMessage::Addressed(Decode::decode(r)?),
            tag => return Err(DecodeError::InvalidTag { what: "PeerMessage", tag }),
        })
    }
}
