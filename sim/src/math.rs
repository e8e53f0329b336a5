//! `ln` and `exp` from basic IEEE-754 operations only.
//!
//! `f64::ln` and `f64::exp` call the platform's libm, which is not required to round correctly
//! and differs between glibc versions, musl and macOS. A latency drawn with them could differ by
//! one microsecond between two machines and the replay would diverge. Addition, multiplication,
//! division and `sqrt` are exactly specified by IEEE 754, so functions built only from them give
//! the same bits everywhere. Accuracy (about 1e-15 relative) is far beyond what latency models
//! need; determinism is the point.

use std::f64::consts::LN_2;

/// Natural logarithm of a positive finite `x` (returns -inf for 0 and NaN for negatives, like
/// `f64::ln`).
pub(crate) fn ln(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x.is_infinite() {
        return f64::INFINITY;
    }
    // Normalise subnormals so the exponent field is meaningful.
    let (x, bias) = if x < f64::MIN_POSITIVE { (x * (1u64 << 54) as f64, -54) } else { (x, 0) };
    let bits = x.to_bits();
    let mut exponent = ((bits >> 52) & 0x7ff) as i64 - 1023 + bias;
    // Mantissa in [1, 2), then moved to [sqrt(1/2), sqrt(2)) so the series argument stays small.
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        exponent += 1;
    }
    // ln(m) = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716: 13 odd terms reach 1e-20.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut term = s;
    let mut sum = 0.0;
    for k in 0..13 {
        sum += term / f64::from(2 * k + 1);
        term *= s2;
    }
    exponent as f64 * LN_2 + 2.0 * sum
}

/// `e^x`, saturating to `f64::MAX`-range infinity above 709 and to 0 below -745.
pub(crate) fn exp(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x > 709.0 {
        return f64::INFINITY;
    }
    if x < -745.0 {
        return 0.0;
    }
    // x = k ln2 + r with |r| <= ln2 / 2; e^r by Taylor series (0.35^20 / 20! is far below 1e-17).
    let k = (x / LN_2).round();
    let r = x - k * LN_2;
    let mut term = 1.0;
    let mut sum = 1.0;
    for i in 1..21 {
        term *= r / f64::from(i);
        sum += term;
    }
    // Scale by 2^k in two halves so neither factor leaves the normal range.
    let k = k as i64;
    let half = k / 2;
    sum * pow2(half) * pow2(k - half)
}

/// `2^k` for `k` in the normal exponent range (`-1022..=1023`).
fn pow2(k: i64) -> f64 {
    debug_assert!((-1022..=1023).contains(&k));
    f64::from_bits(((k + 1023) as u64) << 52)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-13 * b.abs().max(1.0)
    }

    // The portable ln agrees with the platform's across magnitudes, including subnormals.
    #[test]
    fn ln_matches_std() {
        for &x in &[1e-310, 1e-300, 1e-9, 0.001, 0.5, 0.7, 1.0, 1.5, 2.0, 10.0, 12345.678, 1e300] {
            assert!(close(ln(x), x.ln()), "ln({x}) = {} vs {}", ln(x), x.ln());
        }
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert!(ln(-1.0).is_nan());
    }

    // Both agree with the platform's over a dense sweep of the ranges latency draws use: the
    // polar method's s in (0, 1) and log-normal exponents of a few sigmas.
    #[test]
    fn dense_sweeps_match_std() {
        for i in 1..20_000 {
            let s = f64::from(i) / 20_000.0;
            assert!(close(ln(s), s.ln()), "ln({s}) = {} vs {}", ln(s), s.ln());
            let x = (s - 0.5) * 12.0;
            assert!(close(exp(x), x.exp()), "exp({x}) = {} vs {}", exp(x), x.exp());
        }
    }

    // The portable exp agrees with the platform's and saturates at the ends.
    #[test]
    fn exp_matches_std() {
        for &x in &[-700.0, -20.0, -1.0, -0.1, 0.0, 0.3, 1.0, 2.5, 20.0, 700.0] {
            assert!(close(exp(x), f64::exp(x)), "exp({x}) = {} vs {}", exp(x), f64::exp(x));
        }
        assert_eq!(exp(800.0), f64::INFINITY);
        assert_eq!(exp(-800.0), 0.0);
        assert!(close(exp(ln(42.0)), 42.0));
    }
}
