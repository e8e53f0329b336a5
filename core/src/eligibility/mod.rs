//! Eligibility math (proofs.md section 3, protocol.md section 5): how many ballot slots an
//! identity has per epoch and in which layers, and how many seats it holds in a hare committee.
//!
//! All of it is a pure function of consensus data and VRF proofs, in integer arithmetic, so every
//! node computes the same answer. [`fixed`] is the bit-exact port of go-spacemesh's fixed-point
//! binomial CDF that the hare count needs.

pub mod ballot;
pub mod fixed;
pub mod hare;

use thiserror::Error;

pub use fixed::{Fixed, FixedError, bin_cdf};

/// Why an eligibility cannot be computed from the given parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum EligibilityError {
    /// The active set (or the declared total weight) is empty.
    #[error("total weight is zero")]
    ZeroTotalWeight,
    /// A committee of size zero was asked for.
    #[error("committee size is zero")]
    ZeroCommitteeSize,
    /// The (scaled) weight is above what the fixed-point CDF supports.
    #[error("weight {weight} is above the supported maximum {max}")]
    WeightTooLarge {
        /// The weight after scaling.
        weight: u64,
        /// The maximum, 2^30.
        max: u64,
    },
    /// The count does not fit the u16 that hare messages carry.
    #[error("eligibility count is over {max}", max = u16::MAX)]
    CountTooLarge,
    /// The fixed-point computation failed (go-spacemesh would panic here).
    #[error(transparent)]
    Fixed(#[from] FixedError),
}
