//! Proof of Space-Time (PoST), bit-exact with Spacemesh's post-rs (proofs.md section 1).
//!
//! Everything here is pure and Sans-IO: no files, threads or clocks. Long work is chunked: the
//! [`Initializer`] computes labels in steps and hands them to a sink, the [`Prover`] is fed
//! labels the driver read. The k2pow is behind [`PowSolver`]/[`PowVerifier`]:
//! [`Blake3Pow`] for tests and simulation, `RandomXPow` (cargo feature `randomx`) for Spacemesh.
//!
//! - [`scrypt`]: scrypt-jane with ChaCha20/8 and Keccak-512 (the label function's core).
//! - [`label`]: commitment, label layout, [`ScryptParams`].
//! - [`config`]: [`PostConfig`] presets and [`PostMetadata`].
//! - [`init`]: resumable [`Initializer`] and the VRF nonce.
//! - [`difficulty`]: label difficulty, k2pow and VRF thresholds.
//! - [`mod@prove`]: the streaming [`Prover`], [`prove()`] over labels in memory and
//!   [`prove_chunked`] over labels read in bounded chunks.
//! - [`proof`]: [`Proof`] and index packing.
//! - [`pow`]: k2pow, the proof of work per nonce group.
//! - [`mod@verify`]: [`verify()`], [`verify_index`] and the K3 subset choice.

pub mod config;
pub mod difficulty;
pub mod init;
pub mod label;
pub mod pow;
pub mod proof;
pub mod prove;
pub mod scrypt;
pub mod verify;

pub use config::{ConfigError, MetadataError, PostConfig, PostMetadata};
pub use init::{InitProgress, InitState, Initializer, VrfNonce, verify_vrf_nonce};
pub use label::{LABEL_BYTES, Labeler, ScryptParams, ScryptParamsError, commitment, label};
#[cfg(feature = "randomx")]
pub use pow::RandomXPow;
pub use pow::{Blake3Pow, PowError, PowSolver, PowVerifier};
pub use proof::Proof;
pub use prove::{ChunkedProveError, ProveError, Prover, prove, prove_chunked};
pub use verify::{VerifyError, VerifyMode, subset_positions, verify, verify_index};
