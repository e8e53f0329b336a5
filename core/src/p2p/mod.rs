//! Peer upkeep: which peers to be connected to, their scores and bans, liveness pings and peer
//! exchange (protocol.md section 10: peers target/max, penalties, graylisting).
//!
//! The runtime owns connections; this module decides. It asks to [`PeersOutput::Connect`] or
//! [`PeersOutput::Disconnect`], and hears back through [`PeersInput::Up`] and
//! [`PeersInput::Down`]. It keeps the connection count between `peers_target` and `peers_max`,
//! replaces dropped peers from its address book (with exponential backoff on failures), rotates
//! one connection every `rotate_interval` (sooner when the node finds its peers cut off from
//! data others refer to) so that a network split by a healed partition reconnects, disconnects peers that stay silent past `peer_timeout`, and disconnects and bans
//! peers whose score falls to `score_disconnect` through penalties.
//!
//! Invariants:
//! 1. At most `peers_max` connected peers; never a banned peer, never self.
//! 2. A peer is never both connected and being dialed.
//! 3. The address book holds at most `address_book_max` candidates.
//!
//! Addresses are the runtime's and opaque here. The runtime tells the addresses it knows
//! ([`PeersInput::Address`]: bootstrap entries, peers it dialed or that announced their listen
//! port), peer exchange forwards them ([`PeerMessage::Addressed`]), and a dial names the address
//! learned for the peer. An address the runtime gave is never replaced by one from a peer; a
//! wrong address from a peer only costs failed dials and their backoff. A runtime that never
//! tells addresses (the simulator's) exchanges bare peer ids, as before.

mod message;
mod state;

pub use message::{PEER_ADDR_MAX, PEERS_LIST_MAX, PeerAddr, PeerMessage, PeerRecord};
pub use state::{DisconnectReason, Peers, PeersConfig, PeersInput, PeersOutput, Penalty};

#[cfg(test)]
mod tests;
