//! Node configuration and keys.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::frame::FRAME_MAX;
use crate::gossip::GossipConfig;
use crate::heartbeat::HeartbeatConfig;
use crate::node::consensus::ConsensusConfig;
use crate::p2p::PeersConfig;
use crate::types::{GenesisId, PeerId};

/// Everything configurable about a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeConfig {
    /// The network this node belongs to.
    pub genesis: GenesisId,
    /// Peer upkeep.
    pub peers: PeersConfig,
    /// Gossip.
    pub gossip: GossipConfig,
    /// Heartbeats.
    pub heartbeat: HeartbeatConfig,
    /// Peers to dial first.
    pub bootstrap: Vec<PeerId>,
    /// Largest frame accepted from a peer (at most `FRAME_MAX`).
    pub frame_max: usize,
    /// Most signature checks in one job.
    pub verify_batch_max: usize,
    /// Most jobs in flight.
    pub verify_jobs_max: usize,
    /// Delay of the first heartbeat after start (spreads a network's heartbeats).
    pub heartbeat_offset: Option<Duration>,
    /// The epoch machinery (ATXs, beacon, ballots); `None` runs gossip and heartbeats only.
    #[serde(skip)]
    pub consensus: Option<ConsensusConfig>,
    /// Adversary knob (simulations; a real node leaves it false): keep connections alive and
    /// take part in mesh upkeep, but drop every gossip message, announcement, request and
    /// fetch from peers unseen, so that nothing sent to this node goes further (an eclipser).
    #[serde(skip)]
    pub black_hole: bool,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            genesis: GenesisId::default(),
            peers: PeersConfig::default(),
            gossip: GossipConfig::default(),
            heartbeat: HeartbeatConfig::default(),
            bootstrap: Vec::new(),
            frame_max: FRAME_MAX,
            verify_batch_max: 64,
            verify_jobs_max: 2,
            heartbeat_offset: None,
            consensus: None,
            black_hole: false,
        }
    }
}

/// The secret seeds of a node's two keys.
#[derive(Clone)]
pub struct NodeKeys {
    /// ed25519 seed of the smeshing identity.
    pub identity_seed: [u8; 32],
    /// ed25519 seed of the p2p identity.
    pub p2p_seed: [u8; 32],
}

impl std::fmt::Debug for NodeKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NodeKeys(..)")
    }
}
