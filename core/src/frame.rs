//! The top-level wire frame: one byte naming the protocol, then that protocol's message.
//!
//! Runtimes move frames as opaque length-prefixed byte strings; [`Frame::decode_bounded`] is the
//! only entry point for bytes from a peer, and it checks the frame size before decoding.

use bytes::Bytes;

use crate::codec::{Decode, DecodeError, Encode, Reader, decode_shared};
use crate::fetch::FetchMessage;
use crate::gossip::GossipMessage;
use crate::p2p::PeerMessage;

/// The largest frame a node accepts from a peer (go-spacemesh caps p2p messages at 2 MiB).
pub const FRAME_MAX: usize = 2 * 1024 * 1024;

/// A frame on a peer connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Gossip.
    Gossip(GossipMessage),
    /// Peer upkeep: liveness and peer exchange.
    Peers(PeerMessage),
    /// Fetching objects by hash.
    Fetch(FetchMessage),
}

impl Frame {
    /// Decodes a frame received from a peer: size limit first, then a canonical decode with no
    /// trailing bytes. Byte fields are zero-copy slices of `bytes`.
    pub fn decode_bounded(bytes: &Bytes, frame_max: usize) -> Result<Frame, DecodeError> {
        if bytes.len() > frame_max {
            return Err(DecodeError::LengthOverLimit {
                what: "frame",
                len: bytes.len() as u64,
                max: frame_max as u64,
            });
        }
        decode_shared(bytes)
    }
}

impl Encode for Frame {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            Frame::Gossip(m) => {
                out.push(0);
                m.encode_to(out);
            }
            Frame::Peers(m) => {
                out.push(1);
                m.encode_to(out);
            }
            Frame::Fetch(m) => {
                out.push(2);
                m.encode_to(out);
            }
        }
    }
}

impl Decode for Frame {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.byte()? {
            0 => Ok(Frame::Gossip(Decode::decode(r)?)),
            1 => Ok(Frame::Peers(Decode::decode(r)?)),
            2 => Ok(Frame::Fetch(Decode::decode(r)?)),
            tag => Err(DecodeError::InvalidTag { what: "Frame", tag }),
        }
    }
}
