//! Ballots and proposals: who may vote in which layer (VRF eligibility over the epoch's active
//! set), building this node's proposals, and validating everyone else's (protocol.md sections
//! 5 and 6).
//!
//! - [`wire`]: ballot and proposal formats.
//! - [`eligibility`]: slots per epoch and the layers they fall in.
//! - [`handler`]: validation and the per-layer ballot store.

pub mod eligibility;
pub mod handler;
pub mod wire;

use serde::{Deserialize, Serialize};

pub use eligibility::{EpochInfo, OwnEligibility};
pub use handler::{BallotHandler, BallotRecord, BallotReject};
pub use wire::{Ballot, BallotMetadata, EpochData, Proposal, Votes};

/// Ballot parameters of a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BallotConfig {
    /// Expected ballots (eligibilities) per layer.
    pub layer_avg_size: u32,
    /// Floor of the total weight used for slot counts (against under-declared active sets).
    pub min_active_set_weight: u64,
    /// Layers of ballots kept in memory.
    pub window_layers: u32,
    /// How far ahead of the local layer a ballot may be (clock skew allowance).
    pub future_layers: u32,
}

impl BallotConfig {
    /// Simulation parameters at `nodes` identities: the layer size is chosen so that an epoch has
    /// about one slot per identity (the `max(1, ·)` floor of the slot formula would otherwise
    /// dominate and every identity would get one slot anyway).
    pub fn sim(nodes: u32, layers_per_epoch: u32) -> Self {
        BallotConfig {
            layer_avg_size: (nodes / layers_per_epoch.max(1)).max(10),
            min_active_set_weight: 0,
            window_layers: 24,
            future_layers: 1,
        }
    }
}
