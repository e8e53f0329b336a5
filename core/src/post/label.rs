//! The PoST label function (proofs.md section 1.2), bit-exact with post-rs.
//!
//! - `commitment = blake3(node_id ‖ commitment_atx_id)`.
//! - `label(commitment, i) = scrypt-jane(password = commitment ‖ LE64(i) ‖ 32 zero bytes,
//!   salt = empty, 32 bytes)`. The first [`LABEL_BYTES`] bytes are stored; the full 32 bytes
//!   are only used to find the VRF nonce.

use thiserror::Error;

use super::scrypt::{LANES, Scrypt};
use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::types::{Hash32, NodeId};

/// Bytes of a stored label.
pub const LABEL_BYTES: usize = 16;

/// Largest N scrypt-jane accepts (`Nfactor` at most 30).
pub const SCRYPT_N_MAX: u32 = 1 << 31;
/// Largest r scrypt-jane accepts with 64-byte blocks (`rfactor` at most 8).
pub const SCRYPT_R_MAX: u32 = 1 << 8;
/// Largest p scrypt-jane accepts (`pfactor` at most 25).
pub const SCRYPT_P_MAX: u32 = 1 << 25;

/// Why scrypt parameters are not usable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScryptParamsError {
    /// N, r or p is not a power of two.
    #[error("scrypt {name} = {value} is not a power of two")]
    NotPowerOfTwo {
        /// Which parameter.
        name: &'static str,
        /// Its value.
        value: u32,
    },
    /// N is below 2.
    #[error("scrypt N = {0} is below the minimum of 2")]
    NTooSmall(u32),
    /// A parameter is above scrypt-jane's limit.
    #[error("scrypt {name} = {value} is above scrypt-jane's limit {max}")]
    TooLarge {
        /// Which parameter.
        name: &'static str,
        /// Its value.
        value: u32,
        /// The limit.
        max: u32,
    },
}

/// scrypt cost parameters: N, r and p, each a power of two, N at least 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScryptParams {
    n: u32,
    r: u32,
    p: u32,
}

impl ScryptParams {
    /// Mainnet's parameters: N = 8192, r = 1, p = 1.
    pub const MAINNET: ScryptParams = ScryptParams { n: 8192, r: 1, p: 1 };

    /// Checked parameters.
    pub fn new(n: u32, r: u32, p: u32) -> Result<Self, ScryptParamsError> {
        for (name, value, max) in
            [("N", n, SCRYPT_N_MAX), ("r", r, SCRYPT_R_MAX), ("p", p, SCRYPT_P_MAX)]
        {
            if !value.is_power_of_two() {
                return Err(ScryptParamsError::NotPowerOfTwo { name, value });
            }
            if value > max {
                return Err(ScryptParamsError::TooLarge { name, value, max });
            }
        }
        if n < 2 {
            return Err(ScryptParamsError::NTooSmall(n));
        }
        Ok(ScryptParams { n, r, p })
    }

    /// N, the number of scratch chunks.
    pub fn n(&self) -> u32 {
        self.n
    }

    /// r, the block count factor (a chunk is `2r` blocks of 64 bytes).
    pub fn r(&self) -> u32 {
        self.r
    }

    /// p, the number of chunks mixed independently.
    pub fn p(&self) -> u32 {
        self.p
    }
}

impl Encode for ScryptParams {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.n.encode_to(out);
        self.r.encode_to(out);
        self.p.encode_to(out);
    }
}

impl Decode for ScryptParams {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let (n, rr, p) = (u32::decode(r)?, u32::decode(r)?, u32::decode(r)?);
        ScryptParams::new(n, rr, p).map_err(|_| DecodeError::InvalidValue("scrypt params"))
    }
}

/// The PoST commitment of an identity: `blake3(node_id ‖ commitment_atx_id)`.
pub fn commitment(node_id: &NodeId, commitment_atx: &Hash32) -> [u8; 32] {
    crate::crypto::hash_parts(&[&node_id.0, &commitment_atx.0]).0
}

/// The full 32-byte label at `index` (allocates scratch memory; use [`Labeler`] for many).
pub fn label(commitment: &[u8; 32], index: u64, params: &ScryptParams) -> [u8; 32] {
    Labeler::new(*commitment, *params).label(index)
}

/// Computes labels of one commitment, reusing its scratch memory.
#[derive(Debug, Clone)]
pub struct Labeler {
    commitment: [u8; 32],
    scrypt: Scrypt,
}

impl Labeler {
    /// A labeler for `commitment` (allocates `128·r·N` bytes once).
    pub fn new(commitment: [u8; 32], params: ScryptParams) -> Self {
        Labeler { commitment, scrypt: Scrypt::new(params) }
    }

    /// The commitment whose labels this computes.
    pub fn commitment(&self) -> &[u8; 32] {
        &self.commitment
    }

    /// The full 32-byte label at `index`.
    pub fn label(&mut self, index: u64) -> [u8; 32] {
        let mut password = [0u8; 72];
        password[..32].copy_from_slice(&self.commitment);
        password[32..40].copy_from_slice(&index.to_le_bytes());
        let mut out = [0u8; 32];
        self.scrypt.hash(&password, &[], &mut out);
        out
    }

    /// The full labels at `first .. first + 4`, computed together (several times the rate of
    /// four [`Labeler::label`] calls when r = p = 1).
    pub fn label4(&mut self, first: u64) -> [[u8; 32]; LANES] {
        let passwords: [[u8; 72]; LANES] = std::array::from_fn(|l| {
            let mut password = [0u8; 72];
            password[..32].copy_from_slice(&self.commitment);
            password[32..40].copy_from_slice(&(first + l as u64).to_le_bytes());
            password
        });
        let mut out = [[0u8; 32]; LANES];
        let [a, b, c, d] = &mut out;
        self.scrypt.hash4(passwords.each_ref().map(|p| p.as_slice()), &[], [a, b, c, d]);
        out
    }
}

/// The stored part of a full label.
pub fn stored(label: &[u8; 32]) -> [u8; LABEL_BYTES] {
    let mut out = [0u8; LABEL_BYTES];
    out.copy_from_slice(&label[..LABEL_BYTES]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode_exact;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The two label known-answer values of proofs.md section 1.2 (computed there with the
    /// upstream C built with `-DSCRYPT_CHACHA -DSCRYPT_KECCAK512`).
    #[test]
    fn label_known_answers() {
        let n2 = ScryptParams::new(2, 1, 1).expect("valid");
        assert_eq!(
            hex(&label(&[0; 32], 0, &n2)),
            "ff29deee2578176c8c7d9495164e88213859c3db4b0fe3cdfdd27818b26943a6"
        );
        let seq: [u8; 32] = std::array::from_fn(|i| i as u8);
        assert_eq!(
            hex(&label(&seq, 0, &ScryptParams::MAINNET)),
            "dc7081988594e3812c274f244b2f77872cda9aba0b67ea3318e49fde3fb0fad5"
        );
    }

    /// The commitment is blake3 over node id then ATX id, so swapping them changes it.
    #[test]
    fn commitment_is_ordered_blake3() {
        let node = NodeId([1; 32]);
        let atx = Hash32([2; 32]);
        let mut cat = [1u8; 64];
        cat[32..].fill(2);
        assert_eq!(commitment(&node, &atx), *blake3::hash(&cat).as_bytes());
        assert_ne!(commitment(&node, &atx), commitment(&NodeId([2; 32]), &Hash32([1; 32])));
    }

    /// A labeler reused across indices gives the same labels as one-off calls, and neighbouring
    /// indices differ.
    #[test]
    fn labeler_matches_one_off() {
        let params = ScryptParams::new(16, 1, 1).expect("valid");
        let mut labeler = Labeler::new([5; 32], params);
        let a = labeler.label(7);
        let b = labeler.label(8);
        assert_eq!(a, label(&[5; 32], 7, &params));
        assert_ne!(a, b);
        let four = labeler.label4(6);
        assert_eq!(four[1], a);
        assert_eq!(four[2], b);
        assert_eq!(four[3], label(&[5; 32], 9, &params));
        assert_eq!(stored(&a), a[..16]);
    }

    /// Bad parameters give typed errors; the decoder applies the same checks.
    #[test]
    fn params_are_validated() {
        assert_eq!(
            ScryptParams::new(6, 1, 1),
            Err(ScryptParamsError::NotPowerOfTwo { name: "N", value: 6 })
        );
        assert_eq!(ScryptParams::new(1, 1, 1), Err(ScryptParamsError::NTooSmall(1)));
        assert_eq!(
            ScryptParams::new(2, 0, 1),
            Err(ScryptParamsError::NotPowerOfTwo { name: "r", value: 0 })
        );
        assert!(matches!(ScryptParams::new(2, 512, 1), Err(ScryptParamsError::TooLarge { .. })));
        let good = ScryptParams::new(8192, 1, 2).expect("valid");
        assert_eq!(decode_exact::<ScryptParams>(&good.encode()), Ok(good));
        let mut bad = good.encode();
        bad[0] = 3;
        assert!(decode_exact::<ScryptParams>(&bad).is_err());
    }
}
