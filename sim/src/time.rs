//! Simulated time: instants and durations in whole microseconds.
//!
//! Both types saturate instead of wrapping. `SimTime::MAX` doubles as "never" (a clog that lasts
//! until explicitly lifted, a timer whose clock will never reach its deadline), so arithmetic that
//! reaches it must stay there rather than wrap around to the distant past.

use std::fmt;
use std::ops::{Add, AddAssign, Mul, Sub};

use serde::{Deserialize, Serialize};

const MICROS_PER_MILLI: u64 = 1_000;
const MICROS_PER_SEC: u64 = 1_000_000;

/// An instant of simulated time: microseconds since the simulation started.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SimTime(pub u64);

/// A span of simulated time in microseconds.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SimDuration(pub u64);

macro_rules! unit_helpers {
    ($ty:ident) => {
        impl $ty {
            /// Zero microseconds.
            pub const ZERO: $ty = $ty(0);
            /// The largest value; for `SimTime` it means "never".
            pub const MAX: $ty = $ty(u64::MAX);

            /// Whole seconds (saturating).
            pub const fn from_secs(secs: u64) -> $ty {
                $ty(secs.saturating_mul(MICROS_PER_SEC))
            }

            /// Whole milliseconds (saturating).
            pub const fn from_millis(millis: u64) -> $ty {
                $ty(millis.saturating_mul(MICROS_PER_MILLI))
            }

            /// Whole microseconds.
            pub const fn from_micros(micros: u64) -> $ty {
                $ty(micros)
            }

            /// The value in microseconds.
            pub const fn as_micros(self) -> u64 {
                self.0
            }

            /// The value in whole milliseconds (truncated).
            pub const fn as_millis(self) -> u64 {
                self.0 / MICROS_PER_MILLI
            }

            /// The value in whole seconds (truncated).
            pub const fn as_secs(self) -> u64 {
                self.0 / MICROS_PER_SEC
            }

            /// The value in seconds, for reports (never for decisions inside the simulation).
            pub fn as_secs_f64(self) -> f64 {
                self.0 as f64 / MICROS_PER_SEC as f64
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}.{:06}s", self.0 / MICROS_PER_SEC, self.0 % MICROS_PER_SEC)
            }
        }
    };
}

unit_helpers!(SimTime);
unit_helpers!(SimDuration);

impl SimTime {
    /// `self + d`, staying at `MAX` instead of overflowing.
    pub const fn saturating_add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }

    /// `self - d`, stopping at zero.
    pub const fn saturating_sub(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_sub(d.0))
    }

    /// The time elapsed from `earlier` to `self`, or zero if `earlier` is later.
    pub const fn saturating_duration_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    /// `self + d`, staying at `MAX` instead of overflowing.
    pub const fn saturating_add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }

    /// `self - d`, stopping at zero.
    pub const fn saturating_sub(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_sub(d.0))
    }

    /// `self * n`, staying at `MAX` instead of overflowing.
    pub const fn saturating_mul(self, n: u64) -> SimDuration {
        SimDuration(self.0.saturating_mul(n))
    }
}

/// Saturating, like [`SimTime::saturating_add`]: "never" plus anything is still "never".
impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        self.saturating_add(d)
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        *self = self.saturating_add(d);
    }
}

/// Saturating at zero: simulated time has no negative instants.
impl Sub<SimDuration> for SimTime {
    type Output = SimTime;
    fn sub(self, d: SimDuration) -> SimTime {
        self.saturating_sub(d)
    }
}

/// Saturating at zero: a duration is never negative.
impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    fn sub(self, earlier: SimTime) -> SimDuration {
        self.saturating_duration_since(earlier)
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        self.saturating_add(d)
    }
}

impl AddAssign for SimDuration {
    fn add_assign(&mut self, d: SimDuration) {
        *self = self.saturating_add(d);
    }
}

impl Sub for SimDuration {
    type Output = SimDuration;
    fn sub(self, d: SimDuration) -> SimDuration {
        self.saturating_sub(d)
    }
}

impl Mul<u64> for SimDuration {
    type Output = SimDuration;
    fn mul(self, n: u64) -> SimDuration {
        self.saturating_mul(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Unit constructors agree with each other and report the same value back.
    #[test]
    fn units_convert() {
        assert_eq!(SimTime::from_secs(2), SimTime::from_millis(2_000));
        assert_eq!(SimDuration::from_millis(3), SimDuration::from_micros(3_000));
        assert_eq!(SimTime::from_millis(1_500).as_secs_f64(), 1.5);
        assert_eq!(SimDuration::from_secs(7).as_millis(), 7_000);
        assert_eq!(SimTime(2_500_000).to_string(), "2.500000s");
    }

    // Arithmetic saturates: "never" stays "never" and nothing goes below zero.
    #[test]
    fn arithmetic_saturates() {
        assert_eq!(SimTime::MAX + SimDuration::from_secs(1), SimTime::MAX);
        assert_eq!(SimTime(5) - SimDuration(9), SimTime::ZERO);
        assert_eq!(SimTime(5) - SimTime(9), SimDuration::ZERO);
        assert_eq!(SimTime(9) - SimTime(5), SimDuration(4));
        assert_eq!(SimDuration::MAX * 2, SimDuration::MAX);
        let mut t = SimTime(1);
        t += SimDuration(2);
        assert_eq!(t, SimTime(3));
    }
}
