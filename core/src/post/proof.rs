//! The PoST proof and its index packing (proofs.md section 1.5).
//!
//! Wire format (go-spacemesh `PostV1`): `nonce` u32 LE, `indices` as compact-length bytes (at
//! most [`INDICES_MAX`]), `pow` u64 LE. The K2 indices are packed with
//! [`required_bits`]`(num_labels)` bits each, least significant bit first, concatenated and
//! padded with zero bits to a whole byte.

use crate::codec::BoundedBytes;
use crate::impl_codec_struct;

/// Most bytes of packed indices in a proof (go-spacemesh's `PostV1` limit).
pub const INDICES_MAX: usize = 800;

/// A PoST proof: the winning nonce, its K2 good label indices (packed) and its group's k2pow.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct Proof {
    /// The nonce whose labels are listed.
    pub nonce: u32,
    /// The K2 indices, bit-packed (see [`pack_indices`]).
    pub indices: BoundedBytes<INDICES_MAX>,
    /// The k2pow of the nonce's group.
    pub pow: u64,
}

impl_codec_struct!(Proof { nonce, indices, pow });

/// Bits needed to write `value`: `floor(log2(value)) + 1`, and 0 for 0.
pub fn required_bits(value: u64) -> u32 {
    if value == 0 { 0 } else { value.ilog2() + 1 }
}

/// Bytes that `count` indices of `bits` bits take.
pub fn packed_len(bits: u32, count: usize) -> usize {
    (bits as usize * count).div_ceil(8)
}

/// Packs `indices` with `bits` bits each, LSB first. Bits of an index above `bits` are dropped.
pub fn pack_indices(indices: &[u64], bits: u32) -> Vec<u8> {
    let mut out = vec![0u8; packed_len(bits, indices.len())];
    let mut pos = 0usize;
    for &index in indices {
        for b in 0..bits as usize {
            if (index >> b) & 1 == 1 {
                out[pos / 8] |= 1 << (pos % 8);
            }
            pos += 1;
        }
    }
    out
}

/// Unpacks the first `count` indices of `bits` bits each, or `None` when `bytes` is too short or
/// `bits` is above 64.
pub fn unpack_indices(bytes: &[u8], bits: u32, count: usize) -> Option<Vec<u64>> {
    if bits > 64 || packed_len(bits, count) > bytes.len() {
        return None;
    }
    let mut out = Vec::with_capacity(count);
    let mut pos = 0usize;
    for _ in 0..count {
        let mut index = 0u64;
        for b in 0..bits as usize {
            index |= u64::from((bytes[pos / 8] >> (pos % 8)) & 1) << b;
            pos += 1;
        }
        out.push(index);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use proptest::prelude::*;

    use super::*;
    use crate::codec::{Encode, decode_exact};

    /// post-rs's compression example: 3-bit and 16-bit packing of four indices.
    #[test]
    fn packing_matches_post_rs_example() {
        let indices = [0, 0b1111_1111_1111_0101, 0, 0b1111_1111_0000_1111];
        assert_eq!(pack_indices(&indices, 3), vec![0b0010_1000, 0b0000_1110]);
        assert_eq!(
            pack_indices(&indices, 16),
            vec![0, 0, 0b1111_0101, 0xff, 0, 0, 0b0000_1111, 0xff]
        );
        assert_eq!(required_bits(0), 0);
        assert_eq!(required_bits(1), 1);
        assert_eq!(required_bits(1 << 19), 20);
        assert_eq!(required_bits(u64::MAX), 64);
        // Mainnet, 4 units: 35 bits × 37 indices = 162 bytes.
        assert_eq!(packed_len(required_bits(4 << 32), 37), 162);
    }

    /// One proof's encoding, fixed (nonce LE, compact length, indices, pow LE).
    #[test]
    fn golden_encoding() {
        let proof = Proof {
            nonce: 0x0102_0304,
            indices: BoundedBytes::new(Bytes::from(pack_indices(&[5, 9, 200, 3], 9)))
                .expect("short"),
            pow: 0x1122_3344_5566_7788,
        };
        let hex: String = proof.encode().iter().map(|b| format!("{b:02x}")).collect();
        insta::assert_snapshot!(hex);
    }

    proptest! {
        /// Packing then unpacking gives back the indices, for every width that holds them.
        #[test]
        fn pack_unpack_round_trip(indices in proptest::collection::vec(any::<u64>(), 0..64), extra in 0u32..8) {
            let max = indices.iter().copied().max().unwrap_or(0);
            let bits = (required_bits(max) + extra).min(64);
            let packed = pack_indices(&indices, bits);
            prop_assert_eq!(packed.len(), packed_len(bits, indices.len()));
            prop_assert_eq!(unpack_indices(&packed, bits, indices.len()), Some(indices.clone()));
            if !indices.is_empty() && bits > 0 {
                prop_assert_eq!(unpack_indices(&packed[..packed.len() - 1], bits, indices.len()), None);
            }
        }

        /// The proof codec round-trips and rejects trailing bytes.
        #[test]
        fn proof_codec_round_trip(nonce: u32, pow: u64, indices in proptest::collection::vec(any::<u8>(), 0..=INDICES_MAX)) {
            let proof = Proof { nonce, indices: BoundedBytes::new(Bytes::from(indices)).expect("bounded"), pow };
            let bytes = proof.encode();
            prop_assert_eq!(decode_exact::<Proof>(&bytes), Ok(proof));
            let mut longer = bytes.clone();
            longer.push(0);
            prop_assert!(decode_exact::<Proof>(&longer).is_err());
        }
    }
}
