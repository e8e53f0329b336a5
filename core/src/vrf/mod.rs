//! ECVRF (ECVRF-EDWARDS25519-SHA512-ELL2, RFC 9381) on the node's ed25519 key, wire-compatible
//! with go-spacemesh's `signing.VRFSigner`.
//!
//! VRF outputs feed consensus (ballot slots, hare committees, beacon proposals), so proving is a
//! pure function of (secret seed, message) and verifying a pure function of (node id, message,
//! proof). Verification goes through [`crate::crypto::Verifier::verify_vrf`] so the simulator can
//! memoize it across nodes.
//!
//! The arithmetic is the pinned `vrf-rfc9381` crate (RFC 9381 suite 0x04, which is what
//! curve25519-voi implements from draft v11 on: the public key is hashed into the challenge).
//! On top of it this module adds the decoding rules curve25519-voi enforces and the crate does
//! not, so that exactly the same byte strings verify here and in go-spacemesh:
//! 1. the public key and Γ must be canonical point encodings (y < p, and no "negative zero" x);
//! 2. s must be a canonical scalar (s < ℓ).
//!
//! Without (2) anyone could turn a valid proof into a second valid proof by adding ℓ to s;
//! without (1) the same for Γ, where it would also move the bytes eligibility is read from.

pub mod message;

use std::fmt;

use vrf_rfc9381::ec::edwards25519::EdVrfProof;
use vrf_rfc9381::ec::edwards25519::elligator2::{
    EdVrfEdwards25519Ell2PublicKey, EdVrfEdwards25519Ell2SecretKey,
};
use vrf_rfc9381::{Ciphersuite, Proof as _, Prover as _, Verifier as _};

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

/// Proves `message` with the identity whose ed25519 secret seed is `seed` (the node id is the
/// seed's ed25519 public key). Deterministic: the same seed and message give the same proof.
pub fn prove(seed: &[u8; 32], message: &[u8]) -> VrfSignature {
    let key = EdVrfEdwards25519Ell2SecretKey::from_slice(seed)
        .expect("a 32-byte seed is always a valid ECVRF secret key");
    let proof = key.prove(message).expect("ELL2 encode-to-curve cannot fail");
    let pi = proof.encode_to_pi();
    let mut out = [0u8; 80];
    out.copy_from_slice(&pi);
    VrfSignature(out)
}

/// Γ = x·H of the proof of `message` by the identity with secret `seed` and public key
/// `public_key` (its node id): the first 32 bytes of π, so it carries the eligibility prefix
/// ([`VrfSignature::le_u64_prefix`]). It takes one scalar multiplication where the whole proof
/// takes four, so a node reads whether it is eligible first and proves only when it is.
pub fn gamma(seed: &[u8; 32], public_key: &[u8; 32], message: &[u8]) -> [u8; 32] {
    use curve25519_dalek_vrf::{EdwardsPoint, Scalar, scalar::clamp_integer};
    use sha2_vrf::{Digest, Sha512};
    let hashed = Sha512::digest(seed);
    let mut x_bytes = [0u8; 32];
    x_bytes.copy_from_slice(&hashed[..32]);
    // The VRF crate's secret scalar: the clamped, unreduced ed25519 one (H is in the prime-order
    // subgroup, so reducing it would not change x·H).
    #[allow(deprecated)]
    let x = Scalar::from_bits(clamp_integer(x_bytes));
    // RFC 9381 ECVRF_encode_to_curve with the ELL2 suite: salt (the public key) then α, under
    // "ECVRF_" ‖ h2c suite id ‖ suite byte 0x04.
    let input = [public_key.as_slice(), message].concat();
    let dst = [b"ECVRF_".as_slice(), b"edwards25519_XMD:SHA-512_ELL2_NU_", &[0x04]].concat();
    let h = EdwardsPoint::encode_to_curve::<Sha512>(&[&input], &[&dst]);
    (x * h).compress().to_bytes()
}

/// Verifies that `proof` is the ECVRF proof of `message` by `public_key` (a node id).
///
/// Rejects, without panicking: non-canonical or small-order public keys, points that do not
/// decode, non-canonical Γ or s, and proofs that do not check.
pub fn verify(public_key: &[u8; 32], message: &[u8], proof: &VrfSignature) -> bool {
    verified_output(public_key, message, proof).is_some()
}

/// Like [`verify`], and returns the VRF output β (64 bytes) of a valid proof.
pub fn verified_output(
    public_key: &[u8; 32],
    message: &[u8],
    proof: &VrfSignature,
) -> Option<[u8; 64]> {
    if !is_canonical_point(public_key) {
        return None;
    }
    let decoded = decode_proof(proof)?;
    let key = EdVrfEdwards25519Ell2PublicKey::from_slice(public_key).ok()?;
    let beta = key.verify(message, decoded).ok()?;
    let mut out = [0u8; 64];
    out.copy_from_slice(&beta);
    Some(out)
}

/// The VRF output β = proof_to_hash(π) (RFC 9381 section 5.2), or `None` if π does not decode.
///
/// Only meaningful for a proof that [`verify`] accepted. go-spacemesh does not use β: its
/// eligibility rules read the first bytes of π itself (see [`VrfSignature::le_u64_prefix`]).
pub fn proof_to_hash(proof: &VrfSignature) -> Option<[u8; 64]> {
    let decoded = decode_proof(proof)?;
    let beta = decoded.proof_to_hash(Ciphersuite::ECVRF_EDWARDS25519_SHA512_ELL2).ok()?;
    let mut out = [0u8; 64];
    out.copy_from_slice(&beta);
    Some(out)
}

/// Decodes π with curve25519-voi's strictness (canonical Γ and s) before the crate sees it.
fn decode_proof(proof: &VrfSignature) -> Option<EdVrfProof> {
    let gamma: &[u8; 32] = proof.0[..32].try_into().expect("80-byte proof");
    let s: &[u8; 32] = proof.0[48..].try_into().expect("80-byte proof");
    if !is_canonical_point(gamma) || !is_canonical_scalar(s) {
        return None;
    }
    EdVrfProof::decode_pi(&proof.0).ok()
}

/// Whether `bytes` is the one canonical encoding of an edwards25519 point's y and sign: y < p
/// and no sign bit on x = 0 (curve25519-voi's `CompressedEdwardsY::IsCanonical`). It does not
/// check that a point with this y exists; decompression does that.
fn is_canonical_point(bytes: &[u8; 32]) -> bool {
    // y >= p = 2^255 - 19 only when bytes 1..31 are all 0xff, the top byte is 0x7f (ignoring the
    // sign bit) and the low byte is at least 0xed.
    let y_too_big =
        bytes[0] >= 0xed && bytes[1..31].iter().all(|&b| b == 0xff) && bytes[31] | 0x80 == 0xff;
    if y_too_big {
        return false;
    }
    // x = 0 happens for y = 1 and y = p - 1; their encodings with the sign bit set are aliases.
    const Y_ONE_NEGATIVE: [u8; 32] = {
        let mut b = [0u8; 32];
        b[0] = 0x01;
        b[31] = 0x80;
        b
    };
    const Y_MINUS_ONE_NEGATIVE: [u8; 32] = {
        let mut b = [0xffu8; 32];
        b[0] = 0xec;
        b
    };
    *bytes != Y_ONE_NEGATIVE && *bytes != Y_MINUS_ONE_NEGATIVE
}

/// The group order ℓ = 2^252 + 27742317777372353535851937790883648493, little-endian.
const GROUP_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// Whether the little-endian integer `s` is below ℓ.
fn is_canonical_scalar(s: &[u8; 32]) -> bool {
    s.iter().rev().lt(GROUP_ORDER.iter().rev())
}

#[cfg(test)]
mod tests;
