//! 256-bit intermediate products and quotients for exact reward arithmetic.

const LOW: u128 = u64::MAX as u128;

/// The 256-bit product of two u128s as (high, low).
pub(crate) fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    let (a1, a0) = (a >> 64, a & LOW);
    let (b1, b0) = (b >> 64, b & LOW);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 64) + (p01 & LOW) + (p10 & LOW);
    let low = (p00 & LOW) | (mid << 64);
    let high = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (high, low)
}

/// `⌊(high · 2^128 + low) / d⌋` for `high < d` (so the quotient fits in a u128).
pub(crate) fn div_wide(high: u128, low: u128, d: u128) -> u128 {
    assert!(high < d, "quotient does not fit");
    let (mut rem, mut q) = (high, 0u128);
    for i in (0..128).rev() {
        let carry = rem >> 127;
        rem = (rem << 1) | ((low >> i) & 1);
        q <<= 1;
        if carry == 1 || rem >= d {
            rem = rem.wrapping_sub(d);
            q |= 1;
        }
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_and_quotients_are_exact() {
        assert_eq!(mul_wide(u128::MAX, u128::MAX), (u128::MAX - 1, 1));
        assert_eq!(mul_wide(1 << 127, 2), (1, 0));
        let (a, b) = (0x1234_5678_9abc_def0_1122_3344_5566_7788u128, 0xfeed_beef_cafe_babeu128);
        let (h, l) = mul_wide(a, b);
        assert_eq!(l, a.wrapping_mul(b));
        assert_eq!(div_wide(h, l, b), a);
        assert_eq!(div_wide(h, l, a), b);
        assert_eq!(div_wide(0, 100, 7), 14);
        let (h, l) = mul_wide(u128::MAX, 3);
        assert_eq!(div_wide(h, l, u128::MAX), 3);
        assert_eq!(div_wide(h, l, 4), u128::MAX / 4 * 3 + 2);
    }
}
