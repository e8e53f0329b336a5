//! Hare: per-layer Byzantine agreement on the set of proposals (protocol.md section 7,
//! go-spacemesh `hare3`).
//!
//! - [`round`]: rounds, iterations, grades and message values.
//! - [`protocol`]: the pure hare3 state machine of one layer (graded gossip, gradecast,
//!   threshold gossip, locks, output and the weak coin).
//! - [`wire`]: the signed hare message.

pub mod protocol;
pub mod round;
pub mod wire;

pub use round::{Grade, IterRound, PROPOSALS_MAX, Round, Value, proposals_hash};
