//! Per-node clocks: a fixed offset (skew) and a rate error (drift) over simulated time.

use serde::{Deserialize, Serialize};

use crate::time::SimTime;

/// Largest drift accepted, in parts per million (10%).
pub const DRIFT_PPM_MAX: i32 = 100_000;

/// How a node's clock relates to simulated time: `local = t + t * drift_ppm / 10^6 + offset_us`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NodeClock {
    /// Constant skew in microseconds (may be negative).
    pub offset_us: i64,
    /// Rate error in parts per million (positive runs fast).
    pub drift_ppm: i32,
}

impl NodeClock {
    /// A clock; drift is clamped to ±`DRIFT_PPM_MAX`.
    pub fn new(offset_us: i64, drift_ppm: i32) -> Self {
        NodeClock { offset_us, drift_ppm: drift_ppm.clamp(-DRIFT_PPM_MAX, DRIFT_PPM_MAX) }
    }

    /// The node's local reading (µs) at simulated time `t`, never below zero.
    pub fn local(&self, t: SimTime) -> u64 {
        let t = i128::from(t.0);
        let v = t + t * i128::from(self.drift_ppm) / 1_000_000 + i128::from(self.offset_us);
        v.clamp(0, i128::from(u64::MAX)) as u64
    }

    /// The earliest simulated time at which the local reading is at least `local_us`.
    pub fn sim_time_at(&self, local_us: u64) -> SimTime {
        if self.local(SimTime::ZERO) >= local_us {
            return SimTime::ZERO;
        }
        let rate = 1_000_000 + i128::from(self.drift_ppm);
        let target = i128::from(local_us) - i128::from(self.offset_us);
        let mut t = (target * 1_000_000 / rate).clamp(0, i128::from(u64::MAX)) as u64;
        // Integer division may land one or two microseconds off: walk to the exact answer.
        while t < u64::MAX && self.local(SimTime(t)) < local_us {
            t += 1;
        }
        while t > 0 && self.local(SimTime(t - 1)) >= local_us {
            t -= 1;
        }
        SimTime(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A perfect clock reads simulated time; skew and drift shift and scale it.
    #[test]
    fn skew_and_drift() {
        assert_eq!(NodeClock::default().local(SimTime(5)), 5);
        assert_eq!(NodeClock::new(1_000, 0).local(SimTime(5)), 1_005);
        assert_eq!(NodeClock::new(0, 1_000).local(SimTime(1_000_000)), 1_001_000);
        assert_eq!(NodeClock::new(-10, 0).local(SimTime(3)), 0, "never below zero");
        assert_eq!(NodeClock::new(0, 10_000_000).drift_ppm, DRIFT_PPM_MAX);
    }

    proptest! {
        /// `sim_time_at` is the exact inverse: the earliest time whose reading reaches the target.
        #[test]
        fn inverse_is_exact(offset in -1_000_000_000i64..1_000_000_000, drift in -100_000i32..100_000, local in 0u64..10_000_000_000) {
            let c = NodeClock::new(offset, drift);
            let t = c.sim_time_at(local);
            prop_assert!(c.local(t) >= local);
            if t.0 > 0 {
                prop_assert!(c.local(SimTime(t.0 - 1)) < local);
            }
        }
    }
}
