//! ECVRF (ECVRF-EDWARDS25519-SHA512-ELL2, RFC 9381) on the node's ed25519 key, wire-compatible
//! with go-spacemesh's `signing.VRFSigner`.
//!
//! VRF outputs feed consensus (ballot slots, hare committees, beacon proposals), so proving is a
//! pure function of (secret seed, message) and verifying a pure function of (node id, message,
//! proof). Verification goes through [`crate::crypto::Verifier::verify_vrf`] so the simulator can
//! memoize it across nodes.

use std::fmt;

use crate::codec::{Decode, DecodeError, Encode, Reader};

/// An 80-byte VRF proof π = Γ (32) ‖ c (16) ‖ s (32), go-spacemesh's `types.VrfSignature`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VrfSignature(pub [u8; 80]);

impl VrfSignature {
    /// The first 8 bytes of π as a little-endian u64: what go-spacemesh maps to slots, layers and
    /// committee fractions.
    pub fn le_u64_prefix(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[..8]);
        u64::from_le_bytes(b)
    }
}

impl fmt::Debug for VrfSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "VrfSignature({:02x}{:02x}{:02x}{:02x}..)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

impl Encode for VrfSignature {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Decode for VrfSignature {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array().map(VrfSignature)
    }
}

/// Proves `message` with the identity whose ed25519 secret seed is `seed`.
///
/// Placeholder until the ECVRF lands in this module: it is NOT a VRF (it is forgeable by anyone
/// who knows the public key) and `verify` below rejects everything, so nothing built on it can
/// pass validation by accident.
pub fn prove(seed: &[u8; 32], message: &[u8]) -> VrfSignature {
    let mut out = [0u8; 80];
    let mut h = blake3::Hasher::new();
    h.update(seed);
    h.update(message);
    h.finalize_xof().fill(&mut out);
    VrfSignature(out)
}

/// Verifies an ECVRF proof (see [`prove`]).
pub fn verify(_public_key: &[u8; 32], _message: &[u8], _proof: &VrfSignature) -> bool {
    false
}
