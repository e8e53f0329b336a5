//! A layer's reward shared among the ATXs its block names.
//!
//! Each ATX's share is `⌊total · w_i / Σw⌋` with the block's rational weights taken exactly (as
//! go-spacemesh does with big rationals): the weights are brought to their least common
//! denominator and every product and quotient is computed in 256 bits. What the floors leave
//! over (less than one smidge per ATX) is burnt.

use crate::activation::wire::AtxId;
use crate::block::Reward;

use super::wide::{div_wide, mul_wide};

/// Why a reward cannot be split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// A weight has a zero denominator or the weights sum to zero.
    #[error("reward weights are zero or have a zero denominator")]
    ZeroWeight,
    /// The common denominator or the summed weight does not fit 128 bits (denominators of one
    /// block are eligibility counts, far below this).
    #[error("reward weights too large to sum exactly")]
    Overflow,
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Shares `total` among `rewards` in proportion to their weights, in the block's order.
pub fn split(total: u64, rewards: &[Reward]) -> Result<Vec<(AtxId, u64)>, SplitError> {
    let mut lcm: u128 = 1;
    for r in rewards {
        let den = u128::from(r.weight.den);
        if den == 0 {
            return Err(SplitError::ZeroWeight);
        }
        lcm = (lcm / gcd(lcm, den)).checked_mul(den).ok_or(SplitError::Overflow)?;
    }
    let scaled: Vec<u128> = rewards
        .iter()
        .map(|r| {
            (lcm / u128::from(r.weight.den))
                .checked_mul(u128::from(r.weight.num))
                .ok_or(SplitError::Overflow)
        })
        .collect::<Result<_, _>>()?;
    let sum =
        scaled.iter().try_fold(0u128, |acc, w| acc.checked_add(*w)).ok_or(SplitError::Overflow)?;
    if sum == 0 {
        return Err(SplitError::ZeroWeight);
    }
    Ok(rewards
        .iter()
        .zip(scaled)
        .map(|(r, w)| {
            let (high, low) = mul_wide(u128::from(total), w);
            // w ≤ sum, so the share is at most `total` and fits a u64.
            (r.atx, div_wide(high, low, sum) as u64)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::Ratio;
    use crate::types::Hash32;
    use proptest::prelude::*;

    fn reward(i: u8, num: u64, den: u64) -> Reward {
        Reward { atx: Hash32([i; 32]), weight: Ratio { num, den } }
    }

    #[test]
    fn shares_follow_exact_weights_and_dust_is_burnt() {
        let r = [reward(1, 1, 3), reward(2, 2, 3)];
        assert_eq!(split(300, &r).unwrap(), vec![(Hash32([1; 32]), 100), (Hash32([2; 32]), 200)]);
        // 1/2 and 1/3 of 10: shares 6 and 4 of the exact 6/10 and 4/10.
        let r = [reward(1, 1, 2), reward(2, 1, 3)];
        assert_eq!(split(10, &r).unwrap(), vec![(Hash32([1; 32]), 6), (Hash32([2; 32]), 4)]);
        let r = [reward(1, 1, 1), reward(2, 1, 1), reward(3, 1, 1)];
        let shares = split(100, &r).unwrap();
        assert!(shares.iter().all(|(_, s)| *s == 33), "one smidge burnt");
        assert_eq!(split(u64::MAX, &[reward(1, u64::MAX, 1)]).unwrap()[0].1, u64::MAX);
    }

    #[test]
    fn bad_weights_are_errors() {
        assert_eq!(split(1, &[reward(1, 1, 0)]), Err(SplitError::ZeroWeight));
        assert_eq!(split(1, &[reward(1, 0, 5)]), Err(SplitError::ZeroWeight));
        let primes = [u64::MAX, u64::MAX - 58, u64::MAX - 82];
        let r: Vec<Reward> = primes.iter().map(|p| reward(1, 1, *p)).collect();
        assert_eq!(split(1, &r), Err(SplitError::Overflow));
    }

    proptest! {
        /// Shares never exceed the total, each is within one smidge of its exact value, and
        /// the burnt dust is less than one smidge per ATX.
        #[test]
        fn shares_are_exact_floors(
            total in any::<u64>(),
            weights in proptest::collection::vec((1u64..1_000_000, 1u64..64), 1..40),
        ) {
            let r: Vec<Reward> =
                weights.iter().enumerate().map(|(i, (n, d))| reward(i as u8, *n, *d)).collect();
            let shares = split(total, &r).unwrap();
            let paid: u128 = shares.iter().map(|(_, s)| u128::from(*s)).sum();
            prop_assert!(paid <= u128::from(total));
            prop_assert!(u128::from(total) - paid < r.len() as u128 + 1);
        }
    }
}
