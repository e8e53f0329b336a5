//! The certifier: certificates of hare blocks (protocol.md sections 5 and 6; go-spacemesh
//! `blocks/certifier.go`).
//!
//! After the hare decides a non-empty output for a layer and the node builds its block
//! ([`crate::block::build`]), every identity that holds seats in the layer's certify committee
//! (sortition round [`CERTIFY_ROUND`], expected size [`CertifierConfig::committee_size`])
//! signs a [`CertifyMessage`] for the block id and gossips it. Collectors ([`Certifier`]) sum
//! the seats per block; when a block's sum first reaches the threshold (committee / 2 + 1) the
//! messages for it form a [`Certificate`]. Certificates travel in layer-opinion sync, where a
//! node that missed the hare checks one with [`validate`] and adopts the certified block as
//! the layer's hare output.
//!
//! Invariants:
//! 1. At most one certify message per (layer, smesher) is kept and counted; a second,
//!    different one is refused ([`CertifyReject::Conflicting`]).
//! 2. A message is counted only after its signature and its committee seats are verified, and
//!    only for a layer within `layer_buffer` layers of the current one (either side).
//! 3. Each layer yields at most one certificate, built exactly when the summed seats for one
//!    block first reach the threshold; it holds only messages for that layer and block, from
//!    distinct smeshers, and passes [`validate`].
//! 4. State is bounded: at most `2 · layer_buffer + 1` layers (the acceptance window) and at
//!    most `messages_max` messages per layer.
//! 5. Deterministic: ordered maps only, so the same inputs give the same certificate bytes.
//!
//! - [`message`]: [`CertifyMessage`], [`Certificate`].
//! - [`state`]: the per-layer collector [`Certifier`] and [`validate`].

pub mod message;
pub mod state;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use message::{CERTIFY_ROUND, Certificate, CertifyMessage, SIGNATURES_MAX};
pub use state::{Certifier, validate};

use crate::types::{LayerId, NodeId};

/// Certifier parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertifierConfig {
    /// Expected seats of the certify committee per layer (go-spacemesh
    /// `Certificate.CommitteeSize`).
    pub committee_size: u32,
    /// Summed seats that certify a block: `committee_size / 2 + 1`.
    pub threshold: u16,
    /// How many layers before and after the current one certify messages are accepted for
    /// (go-spacemesh `LayerBuffer`; node wiring uses zdist).
    pub layer_buffer: u32,
    /// Most certify messages kept per layer. Every kept message is eligible, so this only
    /// binds far beyond the committee's statistics (its summed seats have mean
    /// `committee_size` and variance at most that).
    pub messages_max: u32,
}

impl CertifierConfig {
    /// Simulation scale: committee 20, threshold 11, a buffer of 8 layers.
    pub fn sim() -> CertifierConfig {
        CertifierConfig::with_committee(20)
    }

    /// A committee of `size` seats with the majority threshold `size / 2 + 1`, a buffer of 8
    /// layers and room for `2 · size + 64` messages per layer.
    pub fn with_committee(size: u32) -> CertifierConfig {
        CertifierConfig {
            committee_size: size,
            threshold: u16::try_from(size / 2 + 1).unwrap_or(u16::MAX),
            layer_buffer: 8,
            messages_max: size.saturating_mul(2).saturating_add(64),
        }
    }

    /// Checks every parameter; an error names the first one that is out of range.
    pub fn validate(&self) -> Result<(), CertifierConfigError> {
        use CertifierConfigError::Invalid;
        if self.committee_size == 0 {
            return Err(Invalid("committee_size must be positive"));
        }
        // Before the threshold is crossed the summed seats are below it and every message has
        // at least one, so a certificate holds at most `threshold` messages.
        if self.threshold == 0 || usize::from(self.threshold) > SIGNATURES_MAX {
            return Err(Invalid("threshold must be in 1..=1000 (the certificate bound)"));
        }
        if self.messages_max < u32::from(self.threshold) {
            return Err(Invalid("messages_max must be at least the threshold"));
        }
        if self.layer_buffer > u32::MAX / 4 {
            return Err(Invalid("layer_buffer must be below 2^30"));
        }
        Ok(())
    }
}

/// Why a [`CertifierConfig`] cannot run.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CertifierConfigError {
    /// A parameter is out of range.
    #[error("invalid certifier config: {0}")]
    Invalid(&'static str),
}

/// Why a certify message (or a certificate) was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CertifyReject {
    /// For a layer outside the acceptance window (ignored: early or late, not invalid).
    #[error("certify message for {layer} outside the buffer around {current}")]
    OutsideBuffer {
        /// The message's layer.
        layer: LayerId,
        /// The node's current layer.
        current: LayerId,
    },
    /// The smesher is not in the layer's active set here (ignored: views may lag).
    #[error("smesher {0} is not in the active set")]
    UnknownIdentity(NodeId),
    /// The smesher is known malicious (ignored).
    #[error("smesher {0} is malicious")]
    Malicious(NodeId),
    /// The same message again (ignored).
    #[error("duplicate certify message")]
    Duplicate,
    /// A second, different valid message of the smesher for the layer: not counted. The
    /// relaying peer cannot know which one came first, so it is not penalized.
    #[error("second certify message of {0} for the layer")]
    Conflicting(NodeId),
    /// The layer holds `messages_max` messages already.
    #[error("certify messages for {0} are full")]
    LayerFull(LayerId),
    /// The signature does not verify.
    #[error("bad certify message signature")]
    BadSignature,
    /// The VRF proof or the claimed seat count (zero included) is not valid for the smesher.
    #[error("smesher {0} is not eligible for the claimed seats")]
    NotEligible(NodeId),
    /// Certificate only: a message for another layer or block than the certificate's.
    #[error("certificate holds a message for another layer or block")]
    MismatchedMessage,
    /// Certificate only: two messages of one smesher.
    #[error("certificate holds two messages of {0}")]
    DuplicateSmesher(NodeId),
    /// Certificate only: the summed seats are below the threshold.
    #[error("certificate has {count} seats, below the threshold {threshold}")]
    BelowThreshold {
        /// Summed seats.
        count: u64,
        /// The threshold.
        threshold: u16,
    },
}

impl CertifyReject {
    /// Whether the peer that sent the message should be penalized: it is invalid (bad
    /// signature, not eligible, a malformed certificate), not merely early, late, redundant,
    /// or unverifiable with this node's view.
    pub fn penalize(&self) -> bool {
        match self {
            CertifyReject::OutsideBuffer { .. }
            | CertifyReject::UnknownIdentity(_)
            | CertifyReject::Malicious(_)
            | CertifyReject::Duplicate
            | CertifyReject::Conflicting(_)
            | CertifyReject::LayerFull(_)
            // Eligibility is judged against this node's beacon and active set; a peer that holds
            // another view (a partition, a restart) relays in good faith.
            | CertifyReject::NotEligible(_) => false,
            CertifyReject::BadSignature
            | CertifyReject::MismatchedMessage
            | CertifyReject::DuplicateSmesher(_)
            | CertifyReject::BelowThreshold { .. } => true,
        }
    }
}

#[cfg(test)]
mod tests;
