//! PoET, proof of elapsed time (proofs.md section 2): a service registers node challenges per
//! round, commits to them in a membership tree, runs sequential work on the tree's root for the
//! round's duration, and publishes a non-interactive proof whose leaf count measures the time.
//!
//! Pieces, all pure and Sans-IO:
//! - [`membership`]: the membership tree and its single-leaf proofs.
//! - [`seqwork`]: the resumable sequential work ([`SequentialWork`]) and Fiat-Shamir.
//! - [`proof`]: [`PoetProof`] with go-spacemesh's encoding and its reference.
//! - [`verify()`]: proof verification with typed errors.
//! - [`round`]: the round schedule; [`service`]: the service state machine.
//! - [`api`]: request and response messages between nodes and a service.
//!
//! Bit-exact with Spacemesh (proofs.md 4.6): the label and node hashes, Fiat-Shamir, the
//! membership tree, the proof-node order and the proof encoding. Parameterised: `t`, the
//! nesting depth, the schedule and the member cap. Simulation uses the same code with a small
//! depth and `t` (for example 1-4 and 8-16; see [`prove`]).

pub mod api;
pub mod membership;
pub mod proof;
pub mod round;
pub mod seqwork;
pub mod service;
mod tree;
mod verify;

pub use api::{PoetErrorCode, PoetInfo, PoetRequest, PoetResponse};
pub use membership::{MembershipProof, MembershipTree};
pub use proof::{MerkleProof, PoetProof};
pub use round::RoundSchedule;
pub use seqwork::{SeqWorkError, SeqWorkSnapshot, SequentialWork, fiat_shamir};
pub use service::{
    PoetService, PoetServiceConfig, ServiceEvent, ServiceSnapshot, Submit, SubmitError,
    SubmitResponse,
};
pub use tree::TreeError;
pub use verify::{PoetVerifyError, verify};

use crate::types::Hash32;

/// Leaves a mainnet proof opens (poet's `shared.T`).
pub const T: usize = 150;
/// Hashes per leaf on mainnet (poet's `LabelHashNestingDepth`).
pub const NESTING_DEPTH: u32 = 400;

/// Runs `leaves` leaves of sequential work on `statement` at once and proves it: what a
/// simulating host does when a round ends.
pub fn prove(
    statement: &Hash32,
    leaves: u64,
    t: usize,
    nesting_depth: u32,
) -> Result<PoetProof, SeqWorkError> {
    let mut work = SequentialWork::new(statement.0, nesting_depth);
    work.step(leaves);
    Ok(PoetProof { merkle: work.finish(t)?, leaves })
}
