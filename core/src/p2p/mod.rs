//! Peer upkeep: which peers to be connected to, their scores and bans, liveness pings and peer
//! exchange (protocol.md section 10: peers target/max, penalties, graylisting).
//!
//! The runtime owns connections; this module decides. It asks to [`PeersOutput::Connect`] or
//! [`PeersOutput::Disconnect`], and hears back through [`PeersInput::Up`] and
//! [`PeersInput::Down`]. It keeps the connection count between `peers_target` and `peers_max`,
//! replaces dropped peers from its address book (with exponential backoff on failures), rotates
//! one connection every `rotate_interval` so that a network split by a healed partition
//! reconnects, disconnects peers that stay silent past `peer_timeout`, and disconnects and bans
//! peers whose score falls to `score_disconnect` through penalties.
//!
//! Invariants:
//! 1. At most `peers_max` connected peers; never a banned peer, never self.
//! 2. A peer is never both connected and being dialed.
//! 3. The address book holds at most `address_book_max` candidates.

mod message;
mod state;

pub use message::{PEERS_LIST_MAX, PeerMessage};
pub use state::{DisconnectReason, Peers, PeersConfig, PeersInput, PeersOutput, Penalty};

#[cfg(test)]
mod tests;
