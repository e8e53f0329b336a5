//! Weights and thresholds (protocol.md section 8; go-spacemesh `tortoise/threshold.go`).
//!
//! Weights are fixed-point integers: one unit of ATX weight is [`WEIGHT_ONE`] weight units, so
//! a ballot's share `atx_weight · eligibilities / slots` loses less than one unit to rounding.
//! Thresholds are exact fractions `num / den` and every comparison cross-multiplies, so no
//! float (and no division) ever decides a vote:
//!
//! - local threshold = `W_e / 3 / LPE` with `W_e` the epoch weight of the last layer;
//! - expected weight of a target layer = the weight of the layers in `(target, window end]`,
//!   each epoch's weight prorated by its layers in the range, i.e. `Σ W_e · n_e / LPE`;
//! - global threshold = `expected / 3 + local`.

use crate::types::LayerId;

use super::Tortoise;
use super::state::Sign;

/// A signed weight in fixed-point units.
pub(super) type Weight = i128;

/// Fixed-point units per unit of ATX weight.
pub(super) const WEIGHT_ONE: i128 = 1 << 16;

/// The share of one ballot: `atx_weight · eligibilities / slots` in fixed-point units,
/// rounded down. `slots` is positive (checked by the caller).
pub(super) fn ballot_weight(atx_weight: u64, eligibilities: u32, slots: u32) -> Weight {
    debug_assert!(slots > 0);
    i128::from(atx_weight) * i128::from(eligibilities) * WEIGHT_ONE / i128::from(slots)
}

/// An exact non-negative fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Fraction {
    pub(super) num: i128,
    pub(super) den: i128,
}

impl Fraction {
    /// Whether `w / w_den` is strictly above this fraction.
    fn below(&self, w: Weight, w_den: i128) -> bool {
        w * self.den > self.num * w_den
    }
}

/// `Support` when `w / w_den` is positive and above `threshold`, `Against` when negative and
/// below `-threshold`, neutral otherwise (go-spacemesh `crossesThreshold`).
pub(super) fn crosses(w: Weight, w_den: i128, threshold: Fraction) -> Sign {
    if w > 0 && threshold.below(w, w_den) {
        Sign::Support
    } else if w < 0 && threshold.below(-w, w_den) {
        Sign::Against
    } else {
        Sign::Neutral
    }
}

impl Tortoise {
    /// The fixed-point weight of an epoch (zero when unknown).
    pub(super) fn epoch_weight(&self, epoch: u32) -> Weight {
        self.epochs.get(&crate::types::EpochId(epoch)).map_or(0, |e| e.weight)
    }

    /// `W_e / (3 · LPE)` for the epoch of the last layer.
    pub(super) fn local_threshold(&self) -> Fraction {
        let lpe = i128::from(self.cfg.layers_per_epoch);
        Fraction {
            num: self.epoch_weight(self.last.epoch(self.cfg.layers_per_epoch).0),
            den: 3 * lpe,
        }
    }

    /// `LPE ·` the expected weight of the layers in `(target, last]`.
    fn expected_weight_scaled(&self, target: LayerId, last: LayerId) -> Weight {
        let lpe = u64::from(self.cfg.layers_per_epoch);
        let (start, last) = (u64::from(target.0) + 1, u64::from(last.0));
        if start > last {
            return 0;
        }
        let mut total = 0;
        for epoch in start / lpe..=last / lpe {
            let first = (epoch * lpe).max(start);
            let end = (epoch * lpe + (lpe - 1)).min(last);
            total += self.epoch_weight(epoch as u32) * i128::from(end - first + 1);
        }
        total
    }

    /// The end of the range whose weight is expected to vote on `target`: the last layer, but
    /// at most a window past the target (or the processed layer if that is further), as
    /// go-spacemesh `computeExpectedWeightInWindow`.
    fn window_end(&self, target: LayerId) -> LayerId {
        if self.last.0 - target.0.min(self.last.0) > self.cfg.window {
            LayerId(target.0.saturating_add(self.cfg.window)).max(self.processed)
        } else {
            self.last
        }
    }

    /// `LPE ·` the expected weight voting on `target`.
    pub(super) fn expected_weight(&self, target: LayerId) -> Weight {
        self.expected_weight_scaled(target, self.window_end(target))
    }

    /// `expected / 3 + local` as one fraction over `3 · LPE`.
    pub(super) fn global_threshold(&self, target: LayerId) -> Fraction {
        let local = self.local_threshold();
        Fraction { num: self.expected_weight(target) + local.num, den: local.den }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Crossing is strict on both sides and scale-free: w/den is compared exactly.
    #[test]
    fn crosses_is_strict_and_exact() {
        let t = Fraction { num: 10, den: 3 }; // 3.33..
        assert_eq!(crosses(4, 1, t), Sign::Support);
        assert_eq!(crosses(10, 3, t), Sign::Neutral, "equal is not above");
        assert_eq!(crosses(11, 3, t), Sign::Support);
        assert_eq!(crosses(-11, 3, t), Sign::Against);
        assert_eq!(crosses(-10, 3, t), Sign::Neutral);
        assert_eq!(crosses(0, 1, Fraction { num: 0, den: 1 }), Sign::Neutral);
        assert_eq!(crosses(1, 1, Fraction { num: 0, den: 1 }), Sign::Support);
    }

    /// A ballot's weight is its eligibility share of the ATX weight, in fixed point.
    #[test]
    fn ballot_weight_is_the_eligibility_share() {
        assert_eq!(ballot_weight(100, 1, 4), 25 * WEIGHT_ONE);
        assert_eq!(ballot_weight(100, 3, 4), 75 * WEIGHT_ONE);
        // 10/3 rounds down by less than one unit.
        let w = ballot_weight(10, 1, 3);
        assert!(w * 3 <= 10 * WEIGHT_ONE && (w + 1) * 3 > 10 * WEIGHT_ONE);
    }
}
