//! Rewards: the issuance curve (how much new coin each layer mints) and the split of a layer's
//! reward among the ATXs its block names (protocol.md section 11; spacemeshos/economics
//! `rewards`, go-spacemesh `genvm/rewards.go`).
//!
//! - [`issuance`]: cumulative subsidy `S(n) = T · (1 − e^{−λ(n+1)})`, `n` layers after the
//!   effective genesis, in exact fixed-point arithmetic (no floating point in consensus).
//! - [`split`]: a layer's total (subsidy plus fees) shared in proportion to the block's reward
//!   weights, rounded down; the dust is burnt.

pub mod issuance;
pub mod split;
mod wide;

pub use issuance::{ONE_SMESH, TOTAL_SUBSIDY, accumulated_subsidy, layer_subsidy};
pub use split::{SplitError, split};
