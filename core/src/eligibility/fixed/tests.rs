use proptest::prelude::*;

use super::*;

fn parse_raw(s: &str) -> Fixed {
    assert_eq!(s.len(), 32, "raw Fixed is 32 hex digits: {s}");
    let hi = u64::from_str_radix(&s[..16], 16).expect("hex");
    let lo = u64::from_str_radix(&s[16..], 16).expect("hex");
    Fixed::from_raw(hi, lo)
}

/// The lines of a KAT file, comments skipped, split on whitespace.
fn kat_lines(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect())
}

/// Go's `fixed.From(f64)`, for tests only (consensus code never touches floats).
fn from_f64(f: f64) -> Fixed {
    let a = f.to_bits();
    if a == 0 {
        return Fixed::ZERO;
    }
    let v = (a & ((1 << 52) - 1)) | (1 << 52);
    let e = ((a >> 52) & 0x7ff) as i64 - 1023 - 52 + 56;
    let s = a & SIGN_MASK;
    if e < 0 {
        return Fixed { lo: v >> -e, hi: s };
    }
    Fixed { lo: v, hi: s }.shl(e).expect("in range")
}

/// Every case of spacemeshos/fixed's own BinCDF tables (4,285 of them, n from 10 to 10^7),
/// evaluated by the Go library, is reproduced bit for bit.
#[test]
fn bin_cdf_matches_go_bit_for_bit() {
    let mut cases = 0;
    for f in kat_lines(include_str!("../testdata/bincdf.kat")) {
        let n: i64 = f[0].parse().unwrap();
        let x: i64 = f[1].parse().unwrap();
        let p = parse_raw(f[2]);
        let want = parse_raw(f[3]);
        assert_eq!(bin_cdf(n, p, x), Ok(want), "BinCDF({n}, {p:?}, {x})");
        cases += 1;
    }
    assert_eq!(cases, 4285);
}

/// `DivUint64` (how hare turns committee/total into p) matches Go on both of its code paths.
#[test]
fn div_u64_matches_go() {
    let mut cases = 0;
    for f in kat_lines(include_str!("../testdata/divu64.kat")) {
        let p: u64 = f[0].parse().unwrap();
        let q: u64 = f[1].parse().unwrap();
        assert_eq!(Fixed::div_u64(p, q), Ok(parse_raw(f[2])), "{p}/{q}");
        cases += 1;
    }
    assert_eq!(cases, 210);
    assert_eq!(Fixed::div_u64(1, 0), Err(FixedError::DivisionByZero));
}

/// The convergence threshold constant is Go's `From(1e-14)`, and `From` agrees with the raw
/// p values of the KAT (which Go produced with `From`).
#[test]
fn constants_match_go() {
    assert_eq!(from_f64(1e-14), BCF_EPSILON);
    assert_eq!(from_f64(0.5), Fixed::div_u64(1, 2).unwrap());
    assert_eq!(from_f64(1.0), Fixed::ONE);
    assert_eq!(fixed(1), Fixed::ONE);
}

/// Edge values: x < 0 is 0, x ≥ n is 1, p = 0 puts all mass on 0, p = 1 all mass on n.
#[test]
fn bin_cdf_edges() {
    let half = Fixed::div_u64(1, 2).unwrap();
    assert_eq!(bin_cdf(10, half, -1), Ok(Fixed::ZERO));
    assert_eq!(bin_cdf(10, half, 10), Ok(Fixed::ONE));
    assert_eq!(bin_cdf(10, half, 11), Ok(Fixed::ONE));
    assert_eq!(bin_cdf(10, Fixed::ZERO, 0), Ok(Fixed::ONE));
    assert_eq!(bin_cdf(10, Fixed::ONE, 9), Ok(Fixed::ZERO));
    // P[X ≤ 0] for Binomial(1, 1/2) is one half, to within the last bits.
    let got = bin_cdf(1, half, 0).unwrap();
    let diff = got.raw().1.abs_diff(half.raw().1);
    assert!(got.raw().0 == 0 && diff < 1 << 8, "{got:?}");
    // p > 1 is out of the function's domain.
    assert_eq!(bin_cdf(10, fixed(2), 3), Err(FixedError::Overflow));
}

/// `frac_from_le_bytes` keeps the low 56 bits of the little-endian integer.
#[test]
fn frac_from_bytes() {
    let f = Fixed::frac_from_le_bytes([0xff; 8]);
    assert_eq!(f.raw(), (0, (1 << 56) - 1));
    assert!(f.less_than(Fixed::ONE));
    assert_eq!(Fixed::frac_from_le_bytes([1, 0, 0, 0, 0, 0, 0, 0x80]).raw(), (0, 1));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The CDF never decreases in x and stays in [0, 1] over the hare parameter range.
    #[test]
    fn bin_cdf_monotone_in_x(
        n in 1i64..2000,
        committee in 1u64..1000,
        extra in 0u64..1_000_000,
    ) {
        let total = committee + extra;
        let p = Fixed::div_u64(committee, total).unwrap();
        let mut prev = Fixed::ZERO;
        let top = n.min(64);
        for x in 0..=top {
            let c = bin_cdf(n, p, x).unwrap();
            prop_assert!(!c.greater_than(Fixed::ONE), "CDF({n},{p:?},{x}) = {c:?} > 1");
            prop_assert!(!prev.greater_than(c), "CDF({n},{p:?},{x}) = {c:?} < {prev:?}");
            prev = c;
        }
    }

    /// Large weights up to Go's supported maximum (2^30) evaluate without overflow.
    #[test]
    fn bin_cdf_large_n(n in 1i64..=(1 << 30), denom in 1u64..(1 << 40), x in 0i64..64) {
        let p = Fixed::div_u64(50.min(denom), denom).unwrap();
        let c = bin_cdf(n, p, x).unwrap();
        prop_assert!(!c.greater_than(Fixed::ONE));
    }
}
