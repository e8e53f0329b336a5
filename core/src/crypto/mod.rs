//! Hashing (BLAKE3), ed25519 signing with domain separation, and the verifier interface.
//!
//! Every signature covers `genesis_id || domain || message` (as go-spacemesh's `EdSigner.Sign`),
//! so a signature made for one message kind or one network is never valid for another.
//! Verification goes through [`Verifier`], which the runtime provides: the simulator memoizes
//! checks across nodes (a pure function, so a shared cache keeps determinism), the real node
//! verifies on worker threads.

mod hash;
mod signing;

pub use hash::{hash, hash_parts};
pub use signing::{Domain, Ed25519Verifier, Signature, Signer, Verifier, signed_message};
