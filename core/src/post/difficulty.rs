//! Thresholds of PoST (proofs.md sections 1.3, 1.4 and 1.7) and the few 256-bit operations they
//! need. 256-bit values are 32-byte big-endian arrays, compared as byte strings.

use thiserror::Error;

/// Why a label difficulty cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DifficultyError {
    /// `num_labels` must be above K1, or every label would be good.
    #[error("number of labels {num_labels} must be above K1 = {k1}")]
    TooFewLabels {
        /// The number of labels.
        num_labels: u64,
        /// K1.
        k1: u32,
    },
}

/// The label difficulty `d = floor(2^64 · K1 / num_labels)` (proofs.md section 1.4).
pub fn proving_difficulty(k1: u32, num_labels: u64) -> Result<u64, DifficultyError> {
    if num_labels <= u64::from(k1) {
        return Err(DifficultyError::TooFewLabels { num_labels, k1 });
    }
    // K1 < num_labels, so the quotient is below 2^64.
    Ok(((1u128 << 64) * u128::from(k1) / u128::from(num_labels)) as u64)
}

/// Splits `d` into its top 8 bits and its low 56 bits (post-rs `Prover8_56`).
pub fn split_difficulty(d: u64) -> (u8, u64) {
    ((d >> 56) as u8, d & 0x00ff_ffff_ffff_ffff)
}

/// The k2pow target of an identity with `num_units` units: `difficulty / num_units` as 256-bit
/// integers (proofs.md section 1.7). Zero units give the zero target, which nothing meets.
pub fn scale_pow_difficulty(difficulty: &[u8; 32], num_units: u32) -> [u8; 32] {
    if num_units == 0 {
        return [0; 32];
    }
    div_u256(difficulty, u64::from(num_units)).0
}

/// The VRF-nonce threshold `floor(2^256 / num_labels) · 8` as Spacemesh's post computes it
/// (`shared.PowDifficulty`), or `None` when it is 2^256 or more (at most 8 labels), in which case
/// every label qualifies.
pub fn vrf_difficulty(num_labels: u64) -> Option<[u8; 32]> {
    if num_labels <= 8 {
        return None;
    }
    // 2^256 / n = (2^256 - 1) / n, plus one when n divides 2^256 (a power of two).
    let (mut q, rem) = div_u256(&[0xff; 32], num_labels);
    if rem == num_labels - 1 {
        q = add_one(&q);
    }
    // n > 8, so the quotient is below 2^253 and the shift cannot overflow.
    Some(shl3(&q))
}

/// Big-endian 256-bit integer divided by a u64: quotient and remainder.
fn div_u256(a: &[u8; 32], d: u64) -> ([u8; 32], u64) {
    let mut q = [0u8; 32];
    let mut rem: u128 = 0;
    for (i, chunk) in a.chunks_exact(8).enumerate() {
        let limb = u64::from_be_bytes(chunk.try_into().expect("8 bytes"));
        let cur = (rem << 64) | u128::from(limb);
        q[8 * i..8 * i + 8].copy_from_slice(&((cur / u128::from(d)) as u64).to_be_bytes());
        rem = cur % u128::from(d);
    }
    (q, rem as u64)
}

fn add_one(a: &[u8; 32]) -> [u8; 32] {
    let mut out = *a;
    for b in out.iter_mut().rev() {
        let (v, carry) = b.overflowing_add(1);
        *b = v;
        if !carry {
            break;
        }
    }
    out
}

fn shl3(a: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for i in 0..32 {
        let next = if i + 1 < 32 { a[i + 1] } else { 0 };
        out[i] = (a[i] << 3) | (next >> 5);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The label difficulty matches post-rs's examples and rejects num_labels ≤ K1.
    #[test]
    fn proving_difficulty_values() {
        assert_eq!(proving_difficulty(1, 2), Ok(1 << 63));
        assert_eq!(proving_difficulty(1, 128), Ok(1 << 57));
        // Mainnet, 4 units: d = 0x6_8000_0000 (proofs.md section 1.4), so d_msb = 0.
        let d = proving_difficulty(26, 4 << 32).expect("valid");
        assert_eq!(d, 0x6_8000_0000);
        assert_eq!(split_difficulty(d), (0, 0x6_8000_0000));
        assert_eq!(split_difficulty(u64::MAX), (0xff, 0x00ff_ffff_ffff_ffff));
        assert!(proving_difficulty(2, 2).is_err());
        assert!(proving_difficulty(1, 0).is_err());
    }

    /// The pow target shrinks by the unit count like a 256-bit division.
    #[test]
    fn pow_scaling() {
        assert_eq!(scale_pow_difficulty(&[0xff; 32], 1), [0xff; 32]);
        let mut half = [0xff; 32];
        half[0] = 0x7f;
        assert_eq!(scale_pow_difficulty(&[0xff; 32], 2), half);
        let mut by32 = [0xff; 32];
        by32[0] = 0xff >> 5;
        assert_eq!(scale_pow_difficulty(&[0xff; 32], 32), by32);
        assert_eq!(scale_pow_difficulty(&[0xff; 32], 0), [0; 32]);
        // 3 · 0x55..55 = 0xff..ff, so 0xff..ff / 3 = 0x55..55.
        assert_eq!(scale_pow_difficulty(&[0xff; 32], 3), [0x55; 32]);
    }

    /// The VRF threshold is floor(2^256 / n) · 8, exactly, including powers of two.
    #[test]
    fn vrf_threshold() {
        assert_eq!(vrf_difficulty(8), None);
        // n = 16: 2^256 / 16 · 8 = 2^255.
        let mut half = [0u8; 32];
        half[0] = 0x80;
        assert_eq!(vrf_difficulty(16), Some(half));
        // n = 2^34 (mainnet 4 units): 2^(256 - 34 + 3) = 2^225, byte 3 = 0x02.
        let mut t = [0u8; 32];
        t[3] = 0x02;
        assert_eq!(vrf_difficulty(1 << 34), Some(t));
        // n = 24: floor(2^256 / 24) = 0x0aaa..aa; times 8 = 0x5555..50.
        let mut want = [0x55u8; 32];
        want[31] = 0x50;
        assert_eq!(vrf_difficulty(24), Some(want));
    }
}
