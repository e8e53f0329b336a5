use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

fn proof_with_prefix(prefix: u64) -> VrfSignature {
    let mut pi = [0u8; 80];
    pi[..8].copy_from_slice(&prefix.to_le_bytes());
    VrfSignature(pi)
}

/// Counts for 624 (weight, committee, total, proof) cases computed by go-spacemesh's oracle loop
/// over the Go fixed library (including committee > total scaling) are reproduced, and each is
/// accepted by validation while its neighbours are not.
#[test]
fn counts_match_go_oracle() {
    let mut cases = 0;
    let text = include_str!("../testdata/hare.kat");
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<u64> = line.split_whitespace().map(|s| s.parse().unwrap()).collect();
        let (w, c, total, prefix, want) = (f[0], f[1] as u32, f[2], f[3], f[4] as u16);
        let proof = proof_with_prefix(prefix);
        assert_eq!(committee_count(w, c, total, &proof), Ok(want), "w={w} c={c} total={total}");
        assert_eq!(validate_count(w, c, total, &proof, want), Ok(true));
        assert_eq!(validate_count(w, c, total, &proof, want + 1), Ok(false));
        if want > 0 {
            assert_eq!(validate_count(w, c, total, &proof, want - 1), Ok(false));
        }
        cases += 1;
    }
    assert_eq!(cases, 624);
}

/// Bad parameters are typed errors, not panics.
#[test]
fn parameter_errors() {
    let proof = proof_with_prefix(1);
    assert_eq!(committee_count(1, 0, 10, &proof), Err(EligibilityError::ZeroCommitteeSize));
    assert_eq!(committee_count(1, 50, 0, &proof), Err(EligibilityError::ZeroTotalWeight));
    assert_eq!(
        committee_count(MAX_SUPPORTED_WEIGHT + 1, 50, u64::MAX, &proof),
        Err(EligibilityError::WeightTooLarge {
            weight: MAX_SUPPORTED_WEIGHT + 1,
            max: MAX_SUPPORTED_WEIGHT
        })
    );
    // Scaling: 2^25 weight · 800 seats is over 2^30.
    assert!(matches!(
        committee_count(1 << 25, 800, 100, &proof),
        Err(EligibilityError::WeightTooLarge { .. })
    ));
    assert!(matches!(
        validate_count(u64::MAX, 800, 100, &proof, 1),
        Err(EligibilityError::WeightTooLarge { .. })
    ));
    assert_eq!(committee_count(MAX_SUPPORTED_WEIGHT, 50, u64::MAX, &proof), Ok(0));
}

/// The whole weight always holds every seat: p = 1 puts all mass on n.
#[test]
fn full_weight_with_committee_equal_total() {
    let proof = proof_with_prefix(u64::MAX);
    assert_eq!(committee_count(7, 7, 7, &proof), Ok(7));
    assert_eq!(committee_count(3, 7, 7, &proof), Ok(3));
}

/// Sortition over an active set: summed over the identities, the seats per round average the
/// committee size, with and without the committee > total scaling.
#[test]
fn seats_sum_to_committee_on_average() {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    for (identities, committee, weight_max, rounds) in
        [(100usize, 50u32, 10_000u64, 200u32), (40, 200, 1_000, 100), (4, 800, 2, 100)]
    {
        let weights: Vec<u64> = (0..identities).map(|_| rng.random_range(1..=weight_max)).collect();
        let total: u64 = weights.iter().sum();
        let mut seats = 0u64;
        for _ in 0..rounds {
            for &w in &weights {
                let proof = proof_with_prefix(rng.random());
                seats += u64::from(committee_count(w, committee, total, &proof).unwrap());
            }
        }
        let mean = seats as f64 / f64::from(rounds);
        // The per-round sum has variance at most C, so the mean of `rounds` of them is within
        // 5 standard deviations of C with overwhelming probability.
        let tolerance = 5.0 * (f64::from(committee) / f64::from(rounds)).sqrt();
        assert!(
            (mean - f64::from(committee)).abs() < tolerance,
            "mean seats {mean} for committee {committee} (tolerance {tolerance})"
        );
    }
}

/// The kept tables answer the 624 known cases as the plain search does, whatever the order the
/// parameter sets come in (more sets than tables, so tables are replaced and built again).
#[test]
fn own_seats_match_the_go_oracle() {
    let text = include_str!("../testdata/hare.kat");
    let cases: Vec<Vec<u64>> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split_whitespace().map(|s| s.parse().unwrap()).collect())
        .collect();
    let mut seats = OwnSeats::default();
    // Forwards, then backwards: the second pass meets tables built for other cases.
    for f in cases.iter().chain(cases.iter().rev()) {
        let (w, c, total, prefix, want) = (f[0], f[1] as u32, f[2], f[3], f[4] as u16);
        let proof = proof_with_prefix(prefix);
        assert_eq!(
            seats.committee_count(w, c, total, &proof),
            Ok(want),
            "w={w} c={c} total={total}"
        );
    }
    assert!(seats.tables.len() <= OwnSeats::TABLES);
}

/// Bad parameters give the same errors through the tables, and leave no table behind.
#[test]
fn own_seats_report_parameter_errors() {
    let proof = proof_with_prefix(1);
    let mut seats = OwnSeats::default();
    for (w, c, total) in
        [(1, 0, 10), (1, 50, 0), (MAX_SUPPORTED_WEIGHT + 1, 50, u64::MAX), (1 << 25, 800, 100)]
    {
        assert_eq!(
            seats.committee_count(w, c, total, &proof),
            committee_count(w, c, total, &proof)
        );
        assert!(seats.committee_count(w, c, total, &proof).is_err());
    }
    assert!(seats.tables.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Validation accepts exactly what `committee_count` produces, and neither neighbour.
    #[test]
    fn validate_agrees_with_count(
        weight in 1u64..100_000,
        committee in 1u32..1000,
        extra in 0u64..10_000_000,
        prefix in any::<u64>(),
    ) {
        let total = weight + extra;
        let proof = proof_with_prefix(prefix);
        let count = committee_count(weight, committee, total, &proof).unwrap();
        prop_assert!(validate_count(weight, committee, total, &proof, count).unwrap());
        prop_assert!(!validate_count(weight, committee, total, &proof, count + 1).unwrap());
        if count > 0 {
            prop_assert!(!validate_count(weight, committee, total, &proof, count - 1).unwrap());
        }
    }

    /// A run of draws over a few parameter sets counts as `committee_count` does, draw by
    /// draw, as the tables fill and are replaced.
    #[test]
    fn own_seats_agree_with_count(
        draws in proptest::collection::vec((0usize..6, any::<u64>()), 1..60),
        weights in proptest::collection::vec((1u64..5_000, 1u32..400, 0u64..200_000), 6),
    ) {
        let mut seats = OwnSeats::default();
        for (set, prefix) in draws {
            let (weight, committee, extra) = weights[set];
            let total = weight + extra;
            let proof = proof_with_prefix(prefix);
            prop_assert_eq!(
                seats.committee_count(weight, committee, total, &proof),
                committee_count(weight, committee, total, &proof)
            );
        }
    }

    /// A higher fraction never gives fewer seats (inverse-CDF sampling is monotone).
    #[test]
    fn count_monotone_in_fraction(
        weight in 1u64..10_000,
        total_extra in 0u64..100_000,
        a in any::<u64>(),
        b in any::<u64>(),
    ) {
        let total = weight + total_extra;
        let mask = (1u64 << 56) - 1;
        let (lo, hi) = if a & mask <= b & mask { (a, b) } else { (b, a) };
        let c_lo = committee_count(weight, 50, total, &proof_with_prefix(lo)).unwrap();
        let c_hi = committee_count(weight, 50, total, &proof_with_prefix(hi)).unwrap();
        prop_assert!(c_lo <= c_hi);
    }
}
