//! Tortoise parameters.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Tortoise parameters (protocol.md sections 8 and 15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TortoiseConfig {
    /// Layers within which the hare output, not the tortoise, decides the local vote
    /// (go-spacemesh `Hdist`).
    pub hdist: u32,
    /// Layers after which a layer the hare has not terminated is terminated empty (`Zdist`).
    pub zdist: u32,
    /// Layers kept behind the verified one (`WindowSize`); also how far ahead of the last
    /// layer inputs are taken.
    pub window: u32,
    /// Most support and against exceptions in one encoded ballot (`MaxExceptions`).
    pub max_exceptions: usize,
    /// Expected ballots per layer (`LayerSize`); only sizes the defaults of the bounds.
    pub layer_size: u32,
    /// Layers per epoch.
    pub layers_per_epoch: u32,
    /// Layers a ballot with a bad beacon waits before the full tortoise counts it
    /// (`BadBeaconVoteDelayLayers`).
    pub bad_beacon_vote_delay: u32,
    /// Most ballots stored per layer; must exceed the identities eligible in one layer (every
    /// identity has at least one slot per epoch).
    pub ballots_per_layer_max: usize,
    /// Most blocks per layer that ballots may name (blocks given by `on_block` always fit).
    pub blocks_per_layer_max: usize,
    /// Most ATXs per epoch.
    pub atxs_per_epoch_max: usize,
}

impl TortoiseConfig {
    /// Simulation parameters (protocol.md section 16): fastnet's hdist 4 and zdist 2, a window
    /// of 1000 layers, 1000 exceptions, a bad-beacon delay of one epoch, and bounds that fit a
    /// few thousand identities.
    pub fn sim(layers_per_epoch: u32, layer_size: u32) -> Self {
        TortoiseConfig {
            hdist: 4,
            zdist: 2,
            window: 1000,
            max_exceptions: 1000,
            layer_size,
            layers_per_epoch,
            bad_beacon_vote_delay: layers_per_epoch,
            ballots_per_layer_max: (layer_size as usize).saturating_mul(16).max(4096),
            blocks_per_layer_max: 64,
            atxs_per_epoch_max: 1 << 20,
        }
    }

    /// Checks every parameter; an error names the first one that is out of range.
    pub fn validate(&self) -> Result<(), TortoiseConfigError> {
        use TortoiseConfigError::Invalid;
        if self.layers_per_epoch == 0 {
            return Err(Invalid("layers_per_epoch must be positive"));
        }
        if self.zdist == 0 || self.hdist < self.zdist {
            return Err(Invalid("zdist must be positive and at most hdist"));
        }
        if self.window <= self.hdist || self.window > u32::MAX / 4 {
            return Err(Invalid("window must be above hdist and below 2^30"));
        }
        if self.max_exceptions == 0 {
            return Err(Invalid("max_exceptions must be positive"));
        }
        if self.layer_size == 0 {
            return Err(Invalid("layer_size must be positive"));
        }
        if self.ballots_per_layer_max == 0
            || self.blocks_per_layer_max == 0
            || self.atxs_per_epoch_max == 0
        {
            return Err(Invalid("the per-layer and per-epoch bounds must be positive"));
        }
        Ok(())
    }
}

/// Why a [`TortoiseConfig`] cannot run.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TortoiseConfigError {
    /// A parameter is out of range.
    #[error("invalid tortoise config: {0}")]
    Invalid(&'static str),
}
