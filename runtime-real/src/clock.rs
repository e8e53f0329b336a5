//! The wall clock a real node runs on.

use std::time::{SystemTime, UNIX_EPOCH};

use spacemesh_core::Time;

/// Reads the system clock as a core [`Time`], never going backwards: a node's contract is that
/// `now` never decreases, while a system clock can be stepped back by NTP or an operator.
#[derive(Debug, Default)]
pub struct WallClock {
    last: Time,
}

impl WallClock {
    /// A clock that has not been read yet.
    pub fn new() -> Self {
        WallClock::default()
    }

    /// The current time, at least the last time returned.
    pub fn now(&mut self) -> Time {
        let micros =
            SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0);
        self.last = self.last.max(Time(micros));
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Successive readings never decrease and are after 2020.
    #[test]
    fn monotonic_and_plausible() {
        let mut c = WallClock::new();
        let a = c.now();
        let b = c.now();
        assert!(b >= a);
        assert!(a > Time::from_secs(1_577_836_800));
    }
}
