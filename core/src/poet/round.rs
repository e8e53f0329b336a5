//! The PoET round schedule (proofs.md 2.1, poet's `server.RoundConfig`).
//!
//! Round `e` starts executing at `genesis + phase_shift + e * epoch_duration` and ends
//! `epoch_duration - cycle_gap` later. It is open for registration while `now` lies in
//! `[start(e - 1), start(e))`; round 0 is open from the beginning of time until its start. So
//! the open round at `now` is 0 before `genesis + phase_shift`, else
//! `floor((now - genesis - phase_shift) / epoch_duration) + 1`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::types::Time;

/// Why a schedule is unusable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScheduleError {
    /// The epoch duration is zero.
    #[error("epoch duration must be positive")]
    ZeroEpoch,
    /// The cycle gap leaves no time to execute a round.
    #[error("cycle gap {cycle_gap:?} must be shorter than the epoch {epoch_duration:?}")]
    GapTooLong {
        /// The configured gap.
        cycle_gap: Duration,
        /// The configured epoch.
        epoch_duration: Duration,
    },
}

/// When PoET rounds start and end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundSchedule {
    /// The network's genesis time.
    pub genesis: Time,
    /// Time between round starts (a Spacemesh epoch).
    pub epoch_duration: Duration,
    /// Offset of round starts after genesis.
    pub phase_shift: Duration,
    /// Time between a round's end and the next round's start, when nodes fetch proofs and build
    /// their PoST.
    pub cycle_gap: Duration,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl RoundSchedule {
    /// Checks the schedule is usable.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        if micros(self.epoch_duration) == 0 {
            return Err(ScheduleError::ZeroEpoch);
        }
        if self.cycle_gap >= self.epoch_duration {
            return Err(ScheduleError::GapTooLong {
                cycle_gap: self.cycle_gap,
                epoch_duration: self.epoch_duration,
            });
        }
        Ok(())
    }

    /// When round `round` starts executing.
    pub fn round_start(&self, round: u64) -> Time {
        let offset = micros(self.epoch_duration).saturating_mul(round);
        Time(self.genesis.0.saturating_add(micros(self.phase_shift)).saturating_add(offset))
    }

    /// When round `round` ends.
    pub fn round_end(&self, round: u64) -> Time {
        self.round_start(round) + self.round_duration()
    }

    /// How long a round executes: the epoch minus the cycle gap.
    pub fn round_duration(&self) -> Duration {
        self.epoch_duration.saturating_sub(self.cycle_gap)
    }

    /// The round open for registration at `now`.
    pub fn open_round(&self, now: Time) -> u64 {
        let first = self.round_start(0);
        if now < first {
            return 0;
        }
        (now.0 - first.0) / micros(self.epoch_duration).max(1) + 1
    }
}

impl Encode for RoundSchedule {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.genesis.encode_to(out);
        micros(self.epoch_duration).encode_to(out);
        micros(self.phase_shift).encode_to(out);
        micros(self.cycle_gap).encode_to(out);
    }
}

impl Decode for RoundSchedule {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(RoundSchedule {
            genesis: Time::decode(r)?,
            epoch_duration: Duration::from_micros(u64::decode(r)?),
            phase_shift: Duration::from_micros(u64::decode(r)?),
            cycle_gap: Duration::from_micros(u64::decode(r)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::decode_exact;

    fn hourly() -> RoundSchedule {
        RoundSchedule {
            genesis: Time::from_secs(1000),
            epoch_duration: Duration::from_secs(3600),
            phase_shift: Duration::from_secs(60),
            cycle_gap: Duration::from_secs(600),
        }
    }

    /// Open round ids follow poet's `OpenRoundId`: 0 until the phase shift, then one more per
    /// epoch (the reference's own test cases).
    #[test]
    fn open_round_ids() {
        let s = hourly();
        assert_eq!(s.open_round(Time::ZERO), 0);
        assert_eq!(s.open_round(Time::from_secs(1000 + 59)), 0);
        assert_eq!(s.open_round(Time::from_secs(1000 + 60)), 1);
        assert_eq!(s.open_round(Time::from_secs(1000 + 120)), 1);
        assert_eq!(s.open_round(Time::from_secs(1000 + 100 * 3600)), 100);
    }

    /// Round e starts at genesis + shift + e epochs and lasts the epoch minus the gap; the round
    /// open at any time starts after that time.
    #[test]
    fn start_end() {
        let s = hourly();
        assert_eq!(s.round_start(0), Time::from_secs(1060));
        assert_eq!(s.round_start(2), Time::from_secs(1060 + 7200));
        assert_eq!(s.round_end(2), Time::from_secs(1060 + 7200 + 3000));
        for secs in (0..20_000).step_by(97) {
            let now = Time::from_secs(secs);
            let open = s.open_round(now);
            assert!(s.round_start(open) > now);
            assert!(open == 0 || s.round_start(open - 1) <= now);
        }
    }

    /// Zero epochs and gaps as long as the epoch are rejected; the encoding round-trips.
    #[test]
    fn validate_and_codec() {
        assert_eq!(hourly().validate(), Ok(()));
        let zero = RoundSchedule { epoch_duration: Duration::ZERO, ..hourly() };
        assert_eq!(zero.validate(), Err(ScheduleError::ZeroEpoch));
        let gap = RoundSchedule { cycle_gap: Duration::from_secs(3600), ..hourly() };
        assert!(matches!(gap.validate(), Err(ScheduleError::GapTooLong { .. })));
        assert_eq!(decode_exact::<RoundSchedule>(&hourly().encode()), Ok(hourly()));
    }
}
