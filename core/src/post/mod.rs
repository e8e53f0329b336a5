//! Proof of Space-Time (PoST), bit-exact with Spacemesh's post-rs (proofs.md section 1).
pub mod label;
pub mod scrypt;
