//! SCALE compact integers: 1, 2 or 4 bytes for values below 2^30, then a length-prefixed
//! big-integer mode. Only the shortest form is accepted.

use super::{Decode, DecodeError, Encode, Reader};

/// A `u64` encoded in compact form (use for counts and lengths).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Compact(pub u64);

/// Appends the compact encoding of `v`.
pub fn encode_compact(v: u64, out: &mut Vec<u8>) {
    if v < 1 << 6 {
        out.push((v as u8) << 2);
    } else if v < 1 << 14 {
        out.extend_from_slice(&(((v as u16) << 2) | 0b01).to_le_bytes());
    } else if v < 1 << 30 {
        out.extend_from_slice(&(((v as u32) << 2) | 0b10).to_le_bytes());
    } else {
        let n = 8 - (v.leading_zeros() / 8) as usize;
        out.push((((n - 4) as u8) << 2) | 0b11);
        out.extend_from_slice(&v.to_le_bytes()[..n]);
    }
}

/// The length in bytes of the compact encoding of `v`.
pub fn compact_len(v: u64) -> usize {
    match v {
        0..=0x3f => 1,
        0x40..=0x3fff => 2,
        0x4000..=0x3fff_ffff => 4,
        _ => 1 + 8 - (v.leading_zeros() / 8) as usize,
    }
}

/// Reads a compact integer that fits in a `u64`, rejecting non-canonical forms.
pub fn decode_compact(r: &mut Reader<'_>) -> Result<u64, DecodeError> {
    let first = r.byte()?;
    match first & 0b11 {
        0b00 => Ok(u64::from(first >> 2)),
        0b01 => {
            let v = u64::from(u16::from_le_bytes([first, r.byte()?]) >> 2);
            if v < 1 << 6 { Err(DecodeError::InvalidCompact) } else { Ok(v) }
        }
        0b10 => {
            let rest: [u8; 3] = r.array()?;
            let v = u64::from(u32::from_le_bytes([first, rest[0], rest[1], rest[2]]) >> 2);
            if v < 1 << 14 { Err(DecodeError::InvalidCompact) } else { Ok(v) }
        }
        _ => {
            let n = usize::from(first >> 2) + 4;
            if n > 8 {
                return Err(DecodeError::InvalidCompact);
            }
            let mut le = [0u8; 8];
            le[..n].copy_from_slice(r.take(n)?);
            let v = u64::from_le_bytes(le);
            // Canonical: at least 2^30 and the top byte is non-zero.
            if v < 1 << 30 || le[n - 1] == 0 { Err(DecodeError::InvalidCompact) } else { Ok(v) }
        }
    }
}

impl Encode for Compact {
    fn encode_to(&self, out: &mut Vec<u8>) {
        encode_compact(self.0, out);
    }
}

impl Decode for Compact {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        decode_compact(r).map(Compact)
    }
}
