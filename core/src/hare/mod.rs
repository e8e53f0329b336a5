//! Hare: per-layer Byzantine agreement on the set of proposals (protocol.md section 7,
//! go-spacemesh `hare3`).
//!
//! - [`round`]: rounds, iterations, grades and message values.
//! - [`protocol`]: the pure hare3 state machine of one layer (graded gossip, gradecast,
//!   threshold gossip, locks, output and the weak coin).
//! - [`wire`]: the signed hare message.
//! - [`sessions`]: the sessions of one node, driven by the clock; message validation.
//! - [`config`]: parameters and adversary knobs.

pub mod config;
pub mod protocol;
pub mod round;
pub mod sessions;
pub mod wire;

pub use config::{HareBehavior, HareConfig};
pub use protocol::Signed;
pub use round::{Grade, IterRound, PROPOSALS_MAX, Round, Value, proposals_hash};
pub use sessions::{Committee, Hare, HareOutput, HareReject, SessionEnd};
