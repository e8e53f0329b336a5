//! The issuance curve.
//!
//! Spacemesh mints `T` = 2.25 B SMH of subsidy over time (2.4 B total issuance less 150 M
//! vaulted): after `n` layers past the effective genesis the cumulative subsidy is
//! `S(n) = ⌊T · (1 − e^{−λ(n+1)})⌋` smidge, with λ such that 450 M SMH (a fifth of `T`) are
//! mined in the first ten years of 5-minute layers (`10 · 105,120 + 1` layers):
//! `λ = −ln(0.8) / 1,051,201`. A layer mints `S(n) − S(n−1)`.
//!
//! The reference evaluates this with 34-digit decimal arithmetic. Here `e^{−λ}` is a 127-bit
//! fixed-point constant and `e^{−λ(n+1)}` its power by repeated squaring with round-to-nearest
//! products: the relative error stays below 2^−120, far below one smidge of `T` (2^61), so the
//! floor agrees with the exact value except where the exact value is within ~10^−17 smidge of
//! an integer (ten-year boundaries, where `0.8^k · T` is an integer, are such points; there
//! the result is the exact integer).

/// Smidge per SMH.
pub const ONE_SMESH: u64 = 1_000_000_000;

/// Total subsidy in smidge: 2.4 B SMH issuance less 150 M SMH vaulted.
pub const TOTAL_SUBSIDY: u64 = (2_400_000_000 - 150_000_000) * ONE_SMESH;

use super::wide::mul_wide;

/// Fixed-point one (2^127).
const ONE: u128 = 1 << 127;

/// `e^{−λ}` in units of 2^−127, with `λ = −ln(0.8) / 1,051,201` (derived with 80-digit decimal
/// arithmetic; λ · 10^40 = 2122748659050074683778792926470147.035…, the reference's
/// known-answer value). The tests check that its 1,051,201st power is 0.8.
const DECAY: u128 = 0x7fff_fe38_24ab_b3d2_113f_a18c_fa12_a164;

/// `a · b / 2^127`, rounded to nearest (both at most 2^127, so the result fits).
fn mul_fixed(a: u128, b: u128) -> u128 {
    let (high, low) = mul_wide(a, b);
    let (low, carry) = low.overflowing_add(1 << 126);
    let high = high + u128::from(carry);
    (high << 1) | (low >> 127)
}

/// `e^{−λ·k}` in units of 2^−127.
fn decay_pow(mut k: u64) -> u128 {
    let (mut acc, mut base) = (ONE, DECAY);
    while k > 0 {
        if k & 1 == 1 {
            acc = mul_fixed(acc, base);
        }
        base = mul_fixed(base, base);
        k >>= 1;
    }
    acc
}

/// Cumulative subsidy in smidge minted by the end of the `n`-th layer after the effective
/// genesis (layer 0 after it already mints).
pub fn accumulated_subsidy(n: u32) -> u64 {
    let remaining = ONE - decay_pow(u64::from(n) + 1);
    let (high, low) = mul_wide(u128::from(TOTAL_SUBSIDY), remaining);
    // ⌊T · remaining / 2^127⌋ < T fits in u64.
    ((high << 1) | (low >> 127)) as u64
}

/// Subsidy minted in the `n`-th layer after the effective genesis.
pub fn layer_subsidy(n: u32) -> u64 {
    let before = n.checked_sub(1).map_or(0, accumulated_subsidy);
    accumulated_subsidy(n) - before
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ten years of layers mint exactly a fifth of the subsidy: the constant is right.
    #[test]
    fn decay_constant_gives_a_fifth_in_ten_years() {
        let p = decay_pow(1_051_201);
        let fifth_left = ONE / 5 * 4; // 0.8, truncated
        assert!(p.abs_diff(fifth_left) < 1 << 20, "0.8 vs {p}");
        assert_eq!(accumulated_subsidy(1_051_200), 450_000_000 * ONE_SMESH);
    }

    /// Values of the curve, computed independently with 80-digit decimal arithmetic.
    #[test]
    fn known_values() {
        for (n, s) in [
            (0, 477_618_397_593),
            (1, 955_236_693_799),
            (99, 47_761_337_900_253),
            (100, 48_238_946_159_315),
            (4_031, 1_924_933_698_054_853),
            (105_119, 49_651_224_070_537_212),
            (10_000_000, 1_980_670_207_293_862_126),
            (u32::MAX, TOTAL_SUBSIDY),
        ] {
            assert_eq!(accumulated_subsidy(n), s, "layer {n}");
        }
        assert_eq!(layer_subsidy(0), 477_618_397_593);
        assert_eq!(layer_subsidy(100), 477_608_259_062);
    }

    /// Subsidy per layer is positive and shrinks; the total never passes `T`.
    #[test]
    fn per_layer_subsidy_decreases() {
        let mut last = u64::MAX;
        for n in (0..2_000_000u32).step_by(9_973) {
            let s = layer_subsidy(n);
            assert!(s > 0 && s <= last, "layer {n}: {s} after {last}");
            last = s;
        }
        let first: u64 = (0..500).map(layer_subsidy).sum();
        assert_eq!(first, accumulated_subsidy(499));
        assert!(accumulated_subsidy(u32::MAX) <= TOTAL_SUBSIDY);
    }
}
