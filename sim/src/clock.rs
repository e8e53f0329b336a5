//! Per-node clocks: a fixed offset (skew) and a rate error (drift) over simulated time.
//!
//! A node never sees simulated time directly: it reads its [`NodeClock`], and its timers are set
//! in local time and converted to the simulated instant at which the local reading reaches the
//! deadline. All arithmetic is in integers (`i128` intermediates), so the conversion is exact and
//! [`NodeClock::sim_time_at`] is the precise inverse of [`NodeClock::local`].
//!
//! A clock fault ([`Fault::SetClock`](crate::engine::Fault::SetClock)) replaces a node's clock at
//! run time: a jump is a new offset, a rate change a new drift.

use serde::{Deserialize, Serialize};

use crate::time::SimTime;

const PPM: i128 = 1_000_000;

/// How a node's clock relates to simulated time:
/// `local(t) = max(0, floor(t * (10^6 + drift_ppm) / 10^6) + offset_us)`.
///
/// Drift below -10^6 ppm would make the clock run backwards; it is treated as -10^6 (a stopped
/// clock), so readings never decrease as simulated time advances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NodeClock {
    /// Constant skew in microseconds (negative: the node is behind).
    pub offset_us: i64,
    /// Rate error in parts per million (positive: the node's clock runs fast).
    pub drift_ppm: i32,
}

impl NodeClock {
    /// A clock with the given skew and drift.
    pub const fn new(offset_us: i64, drift_ppm: i32) -> Self {
        NodeClock { offset_us, drift_ppm }
    }

    /// Local microseconds per 10^6 simulated microseconds, never negative.
    fn rate(&self) -> i128 {
        (PPM + i128::from(self.drift_ppm)).max(0)
    }

    /// The node's local reading (µs) at simulated time `t`; saturates at 0 and `u64::MAX`.
    pub fn local(&self, t: SimTime) -> u64 {
        let scaled = i128::from(t.0) * self.rate() / PPM;
        (scaled + i128::from(self.offset_us)).clamp(0, i128::from(u64::MAX)) as u64
    }

    /// The earliest simulated time whose local reading is at least `local_us`; `SimTime::MAX`
    /// if the clock never gets there (a stopped clock, or a deadline beyond `u64` range).
    pub fn sim_time_at(&self, local_us: u64) -> SimTime {
        if self.local(SimTime::ZERO) >= local_us {
            return SimTime::ZERO;
        }
        let rate = self.rate();
        if rate == 0 {
            return SimTime::MAX;
        }
        // local(0) < local_us implies offset < local_us, so `needed` is positive.
        // floor(t * rate / 10^6) >= needed  <=>  t * rate >= needed * 10^6  (needed is an integer).
        let needed = i128::from(local_us) - i128::from(self.offset_us);
        let t = (needed * PPM + rate - 1) / rate;
        if t > i128::from(u64::MAX) { SimTime::MAX } else { SimTime(t as u64) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // A perfect clock reads simulated time; skew shifts it, drift scales it, zero is the floor.
    #[test]
    fn skew_and_drift() {
        assert_eq!(NodeClock::default().local(SimTime(5)), 5);
        assert_eq!(NodeClock::new(1_000, 0).local(SimTime(5)), 1_005);
        assert_eq!(NodeClock::new(0, 1_000).local(SimTime(1_000_000)), 1_001_000);
        assert_eq!(NodeClock::new(0, -1_000).local(SimTime(1_000_000)), 999_000);
        assert_eq!(NodeClock::new(-10, 0).local(SimTime(3)), 0, "never below zero");
        assert_eq!(
            NodeClock::new(0, -5_000_000).local(SimTime(1_000_000)),
            0,
            "stopped, not reversed"
        );
    }

    // Hand-computed inverses, including the saturating cases.
    #[test]
    fn inverse_examples() {
        let c = NodeClock::new(1_000_000, 1_000); // 1 s ahead, 0.1% fast
        assert_eq!(c.sim_time_at(3_002_000), SimTime(2_000_000));
        assert_eq!(c.sim_time_at(500), SimTime::ZERO, "already past");
        let behind = NodeClock::new(-2_000_000, 0);
        assert_eq!(behind.sim_time_at(1), SimTime(2_000_001));
        assert_eq!(
            NodeClock::new(0, -1_000_000).sim_time_at(1),
            SimTime::MAX,
            "a stopped clock never gets there"
        );
        assert_eq!(NodeClock::new(0, -500_000).sim_time_at(u64::MAX), SimTime::MAX);
    }

    proptest! {
        // `sim_time_at` is the exact inverse: the earliest time whose reading reaches the target.
        #[test]
        fn inverse_is_exact(
            offset in -1_000_000_000_000i64..1_000_000_000_000,
            drift in -1_100_000i32..1_000_000,
            local in 0u64..100_000_000_000_000,
        ) {
            let c = NodeClock::new(offset, drift);
            let t = c.sim_time_at(local);
            if t == SimTime::MAX {
                prop_assert!(c.local(SimTime(u64::MAX - 1)) < local);
            } else {
                prop_assert!(c.local(t) >= local);
                if t.0 > 0 {
                    prop_assert!(c.local(SimTime(t.0 - 1)) < local);
                }
            }
        }

        // Readings never decrease as simulated time advances, whatever the drift.
        #[test]
        fn monotone(offset in -1_000_000i64..1_000_000, drift in i32::MIN..i32::MAX, t in 0u64..1u64 << 50, dt in 0u64..1_000_000) {
            let c = NodeClock::new(offset, drift);
            prop_assert!(c.local(SimTime(t)) <= c.local(SimTime(t + dt)));
        }
    }
}
