//! The proposal eligibility threshold `2^640 · (1 − 2^(−κ/((1−q)·N)))` in integer arithmetic.
//!
//! A VRF proof (80 bytes read as a big-endian integer, as go-spacemesh's `big.Int.SetBytes`) is
//! eligible when it is below the threshold. go-spacemesh evaluates the fraction with 64-bit
//! `big.Float`s; here `2^(−x)` is built from its binary digits and a table of `2^(2^−i)` made by
//! integer square roots, all in Q63 fixed point. Every step is an integer operation, so the result
//! is identical on every platform. Its relative error is below 2^−55, so it can disagree with
//! go-spacemesh only for a proof within that distance of the threshold (probability ~2^−55).

use super::config::Ratio;

/// Fractional bits of the fixed-point numbers.
const FRAC_BITS: u32 = 63;
/// One in Q63.
const ONE: u128 = 1 << FRAC_BITS;
/// Bits of a VRF proof.
const VRF_BITS: u128 = 640;

/// The threshold as 80 big-endian bytes: `vrf.0 < threshold` (lexicographically) is eligibility.
///
/// `num_atxs == 0` gives a zero threshold (nothing is eligible), as in go-spacemesh.
pub(crate) fn proposal_threshold(kappa: u32, q: Ratio, num_atxs: u64) -> [u8; 80] {
    debug_assert!(q.den > 0 && q.num < q.den, "q was validated");
    if num_atxs == 0 {
        return [0; 80];
    }
    // x = κ / ((1 − q)·N) = p / r, and 2^640·(1 − 2^−x) = 2^640 − 2^e with e = 640 − x.
    let p = u128::from(kappa) * u128::from(q.den);
    let r = u128::from(q.den - q.num) * u128::from(num_atxs);
    let e_num = (VRF_BITS * r).saturating_sub(p);
    // Y approximates ceil(2^e) from below; the threshold is 2^640 − Y.
    let y = if e_num == 0 {
        // 2^e ≤ 1: the threshold is 2^640 − 1, every proof but all-ones is eligible.
        Big::from_u128(1, 0)
    } else {
        let n = (e_num / r) as u32;
        let m = pow2_frac(e_num % r, r);
        if n >= FRAC_BITS {
            Big::from_u128(m, n - FRAC_BITS)
        } else {
            Big::from_u128(((m << n) + ONE - 1) >> FRAC_BITS, 0)
        }
    };
    y.complement_of_minus_one()
}

/// `2^(num/den)` in Q63 for `0 ≤ num < den`, rounded down at every step.
fn pow2_frac(mut num: u128, den: u128) -> u128 {
    let mut result = ONE;
    // 2^(2^−i) in Q63, starting from 2^(2^0) = 2.
    let mut root = 2 * ONE;
    for _ in 0..FRAC_BITS {
        root = (root << FRAC_BITS).isqrt();
        num *= 2;
        if num >= den {
            num -= den;
            result = (result * root) >> FRAC_BITS;
        }
        if num == 0 {
            break;
        }
    }
    result
}

/// A 640-bit unsigned integer as 80 big-endian bytes.
struct Big([u8; 80]);

impl Big {
    /// `value · 2^shift`; the caller keeps it below 2^640.
    fn from_u128(value: u128, shift: u32) -> Big {
        let mut out = [0u8; 80];
        let (bytes, bits) = ((shift / 8) as usize, shift % 8);
        // value < 2^65 here, so the shifted value fits in 73 bits.
        debug_assert!(value < 1 << 120);
        let v = value << bits;
        for i in 0..16 {
            let pos = 79usize.checked_sub(bytes + i);
            if let Some(pos) = pos {
                out[pos] = (v >> (8 * i)) as u8;
            }
        }
        Big(out)
    }

    /// `2^640 − self` for `1 ≤ self ≤ 2^640`, computed as `!(self − 1)` over 640 bits.
    fn complement_of_minus_one(mut self) -> [u8; 80] {
        for b in self.0.iter_mut().rev() {
            let (v, borrow) = b.overflowing_sub(1);
            *b = v;
            if !borrow {
                break;
            }
        }
        self.0.map(|b| !b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The threshold's top 64 bits, as a fraction of 2^640.
    fn fraction(t: &[u8; 80]) -> f64 {
        let top = u64::from_be_bytes(t[..8].try_into().unwrap());
        top as f64 / 2f64.powi(64)
    }

    /// The integer threshold agrees with the floating-point formula (test-only f64) across the
    /// range of ATX counts, κ and q.
    #[test]
    fn matches_the_formula() {
        for (kappa, q) in [(40, Ratio::new(1, 3)), (8, Ratio::new(1, 3)), (40, Ratio::new(0, 1))] {
            for n in [1u64, 2, 3, 7, 10, 60, 100, 1000, 12345, 1_000_000, 5_400_000] {
                let x = f64::from(kappa) / ((1.0 - q.num as f64 / q.den as f64) * n as f64);
                let want = 1.0 - 2f64.powf(-x);
                let got = fraction(&proposal_threshold(kappa, q, n));
                assert!((got - want).abs() < 1e-12, "κ {kappa} q {q:?} N {n}: {got} vs {want}");
            }
        }
    }

    /// More ATXs give a lower threshold; zero ATXs make nothing eligible.
    #[test]
    fn monotone_in_the_atx_count() {
        let q = Ratio::new(1, 3);
        assert_eq!(proposal_threshold(40, q, 0), [0; 80]);
        let mut prev = [0xff; 80];
        for n in 1..200 {
            let t = proposal_threshold(40, q, n);
            assert!(t < prev, "N {n}");
            prev = t;
        }
    }

    /// Exact small cases: x = 640 gives 2^640 − 1; x = 639 gives 2^640 − 2; x = 1 gives 2^639.
    #[test]
    fn exact_powers_of_two() {
        let q = Ratio::new(0, 1);
        let mut all_ones = [0xff; 80];
        assert_eq!(proposal_threshold(640, q, 1), all_ones);
        all_ones[79] = 0xfe;
        assert_eq!(proposal_threshold(639, q, 1), all_ones);
        let mut half = [0u8; 80];
        half[0] = 0x80;
        assert_eq!(proposal_threshold(1, q, 1), half);
        let mut three_quarters = [0u8; 80];
        three_quarters[0] = 0xc0;
        assert_eq!(proposal_threshold(2, q, 1), three_quarters);
    }

    /// 2^(1/2) and 2^(1/3) in Q63 are within a few ulps of the true values.
    #[test]
    fn fractional_powers() {
        let sqrt2 = pow2_frac(1, 2) as f64 / ONE as f64;
        assert!((sqrt2 - 2f64.sqrt()).abs() < 1e-15);
        let cbrt2 = pow2_frac(1, 3) as f64 / ONE as f64;
        assert!((cbrt2 - 2f64.cbrt()).abs() < 1e-15);
    }
}
