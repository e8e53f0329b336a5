//! Heavy work a node hands to its runtime (`StartJob`), and the results it gets back
//! (`JobDone`). A job is a pure function of its description, so the simulator can run it at once
//! and deliver the result after a modelled duration, while the real runtime runs it on a worker
//! thread.

use std::time::Duration;

use crate::crypto::{Signature, Verifier};

/// Identifies a job within one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub u64);

/// One signature to check: the full signed message (see [`crate::crypto::signed_message`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureCheck {
    /// The signer's public key.
    pub public_key: [u8; 32],
    /// The domain-separated signed bytes.
    pub signed_message: Vec<u8>,
    /// The signature.
    pub signature: Signature,
}

/// A job description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// Verify a batch of signatures.
    VerifySignatures(Vec<SignatureCheck>),
}

/// A job result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobResult {
    /// One verdict per check, in order.
    SignaturesVerified(Vec<bool>),
}

/// Time one ed25519 verification takes on one core (measured: about 38 µs with
/// ed25519-dalek 2 on the project's 2-core machine; dst.md section 3).
pub const ED25519_VERIFY_COST: Duration = Duration::from_micros(40);

impl Job {
    /// Runs the job with the runtime's verifier.
    pub fn run(&self, verifier: &dyn Verifier) -> JobResult {
        match self {
            Job::VerifySignatures(checks) => JobResult::SignaturesVerified(
                checks
                    .iter()
                    .map(|c| verifier.verify(&c.public_key, &c.signed_message, &c.signature))
                    .collect(),
            ),
        }
    }

    /// How long the job takes on one core, for the simulator's duration model.
    pub fn modelled_duration(&self) -> Duration {
        match self {
            Job::VerifySignatures(checks) => ED25519_VERIFY_COST * checks.len() as u32,
        }
    }

    /// A short name for traces.
    pub fn kind(&self) -> &'static str {
        match self {
            Job::VerifySignatures(_) => "verify-signatures",
        }
    }
}
