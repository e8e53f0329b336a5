//! Beacon protocol parameters (protocol.md sections 4, 15 and 16).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::message::{PROPOSALS_MAX, VOTES_BIT_VECTOR_MAX};

/// A non-negative rational number `num / den`, as go-spacemesh's `big.Rat` parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ratio {
    /// Numerator.
    pub num: u64,
    /// Denominator (positive).
    pub den: u64,
}

impl Ratio {
    /// `num / den`.
    pub const fn new(num: u64, den: u64) -> Ratio {
        Ratio { num, den }
    }
}

/// Largest denominator accepted for `q` and `theta`: keeps every threshold computation in
/// fixed-width integers.
pub(crate) const RATIO_DEN_MAX: u64 = 1 << 20;

/// Parameters of the beacon protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BeaconConfig {
    /// Voting rounds including the first; 0 disables the protocol (mainnet).
    pub rounds_number: u32,
    /// Security parameter κ of the proposal eligibility threshold.
    pub kappa: u32,
    /// Assumed fraction of dishonest weight, below 1.
    pub q: Ratio,
    /// Fraction of the epoch weight a proposal's margin must reach to be decided, at most 1.
    pub theta: Ratio,
    /// δ: the assumed bound on clock skew plus network delay.
    pub grace_period: Duration,
    /// Length of the proposal phase.
    pub proposal_duration: Duration,
    /// Length of the first voting round.
    pub first_voting_round_duration: Duration,
    /// Length of each following voting round (without its weak coin).
    pub voting_round_duration: Duration,
    /// Length of each weak coin round.
    pub weak_coin_round_duration: Duration,
    /// Longest reference list (first-round votes) a following-round bit vector covers.
    pub votes_limit: u32,
    /// Ballot eligibilities the fallback tally needs before it answers.
    pub beacon_sync_weight_units: u32,
    /// Most participants (ATXs targeting the epoch) tracked.
    pub participants_max: usize,
    /// Most proposals kept per class (valid, potentially valid); at most [`PROPOSALS_MAX`].
    pub proposals_max: usize,
    /// Most distinct ref ballots the fallback tally records.
    pub tally_ballots_max: usize,
}

impl BeaconConfig {
    /// Fastnet (go-spacemesh `config/presets/fastnet.go`): 4 rounds, grace 30 s, proposal 2 s,
    /// first vote 10 s, rounds 2 s + coin 2 s.
    pub fn fastnet() -> BeaconConfig {
        BeaconConfig {
            rounds_number: 4,
            kappa: 40,
            q: Ratio::new(1, 3),
            theta: Ratio::new(1, 4),
            grace_period: Duration::from_secs(30),
            proposal_duration: Duration::from_secs(2),
            first_voting_round_duration: Duration::from_secs(10),
            voting_round_duration: Duration::from_secs(2),
            weak_coin_round_duration: Duration::from_secs(2),
            votes_limit: 100,
            beacon_sync_weight_units: 10,
            participants_max: 100_000,
            proposals_max: PROPOSALS_MAX,
            tally_ballots_max: 1_000_000,
        }
    }

    /// Simulation scale (protocol.md section 16): δ = 1 s, proposal 1 s, first vote 2 s, rounds
    /// 1 s + coin 1 s. Two rounds (one following vote and one weak coin) instead of the four of
    /// fastnet: every identity sends a message per round and every node receives all of them, so
    /// the rounds are most of a 1000-node run's traffic; two still exercise every phase. The
    /// protocol takes 5 s of an 80 s epoch.
    pub fn sim() -> BeaconConfig {
        BeaconConfig {
            rounds_number: 2,
            kappa: 40,
            q: Ratio::new(1, 3),
            theta: Ratio::new(1, 4),
            grace_period: Duration::from_secs(1),
            proposal_duration: Duration::from_secs(1),
            first_voting_round_duration: Duration::from_secs(2),
            voting_round_duration: Duration::from_secs(1),
            weak_coin_round_duration: Duration::from_secs(1),
            votes_limit: 100,
            beacon_sync_weight_units: 10,
            participants_max: 10_000,
            proposals_max: PROPOSALS_MAX,
            tally_ballots_max: 100_000,
        }
    }

    /// Time from the epoch start until the beacon is decided.
    pub fn protocol_duration(&self) -> Duration {
        let following = self.voting_round_duration + self.weak_coin_round_duration;
        self.proposal_duration
            + self.first_voting_round_duration
            + following * self.rounds_number.saturating_sub(1)
    }

    /// Checks every parameter; an error names the first one that is out of range.
    pub fn validate(&self) -> Result<(), BeaconConfigError> {
        use BeaconConfigError as E;
        if self.rounds_number == 0 {
            return Err(E::Disabled);
        }
        if self.kappa == 0 {
            return Err(E::Invalid("kappa must be positive"));
        }
        let ratio_ok = |r: Ratio| r.den > 0 && r.den <= RATIO_DEN_MAX;
        if !ratio_ok(self.q) || self.q.num >= self.q.den {
            return Err(E::Invalid("q must be in [0, 1) with a denominator in 1..=2^20"));
        }
        if !ratio_ok(self.theta) || self.theta.num > self.theta.den {
            return Err(E::Invalid("theta must be in [0, 1] with a denominator in 1..=2^20"));
        }
        if self.proposal_duration.is_zero() || self.first_voting_round_duration.is_zero() {
            return Err(E::Invalid("proposal and first voting durations must be positive"));
        }
        if self.rounds_number > 1
            && (self.voting_round_duration.is_zero() || self.weak_coin_round_duration.is_zero())
        {
            return Err(E::Invalid("voting and weak coin durations must be positive"));
        }
        if self.votes_limit == 0 || self.votes_limit as usize > VOTES_BIT_VECTOR_MAX * 8 {
            return Err(E::Invalid("votes_limit must be in 1..=1024 (the bit vector bound)"));
        }
        if self.proposals_max == 0 || self.proposals_max > PROPOSALS_MAX {
            return Err(E::Invalid("proposals_max must be in 1..=1000 (the first vote bound)"));
        }
        if self.participants_max == 0 || self.participants_max > u32::MAX as usize {
            return Err(E::Invalid("participants_max must be in 1..=2^32-1"));
        }
        if self.beacon_sync_weight_units == 0 || self.tally_ballots_max == 0 {
            return Err(E::Invalid(
                "beacon_sync_weight_units and tally_ballots_max must be positive",
            ));
        }
        Ok(())
    }
}

/// Why a [`BeaconConfig`] cannot run.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BeaconConfigError {
    /// `rounds_number` is 0: the protocol is disabled and beacons come from the fallbacks.
    #[error("the beacon protocol is disabled (rounds_number = 0)")]
    Disabled,
    /// A parameter is out of range.
    #[error("invalid beacon config: {0}")]
    Invalid(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both presets validate and fit their epochs: fastnet's 60 s and the sim's 80 s.
    #[test]
    fn presets_validate_and_fit_their_epochs() {
        let fast = BeaconConfig::fastnet();
        fast.validate().unwrap();
        assert_eq!(fast.protocol_duration(), Duration::from_secs(24));
        let sim = BeaconConfig::sim();
        sim.validate().unwrap();
        assert_eq!(sim.protocol_duration(), Duration::from_secs(5));
        assert_eq!(
            BeaconConfig { rounds_number: 4, ..sim }.protocol_duration(),
            Duration::from_secs(9)
        );
    }

    /// Out-of-range parameters are named; rounds 0 means disabled, not broken.
    #[test]
    fn invalid_parameters_are_rejected() {
        let ok = BeaconConfig::sim();
        let cases: Vec<(BeaconConfig, bool)> = vec![
            (BeaconConfig { rounds_number: 0, ..ok.clone() }, true),
            (BeaconConfig { kappa: 0, ..ok.clone() }, false),
            (BeaconConfig { q: Ratio::new(1, 1), ..ok.clone() }, false),
            (BeaconConfig { q: Ratio::new(0, 0), ..ok.clone() }, false),
            (BeaconConfig { theta: Ratio::new(5, 4), ..ok.clone() }, false),
            (BeaconConfig { votes_limit: 1025, ..ok.clone() }, false),
            (BeaconConfig { proposals_max: 1001, ..ok.clone() }, false),
            (BeaconConfig { voting_round_duration: Duration::ZERO, ..ok.clone() }, false),
            (BeaconConfig { participants_max: 0, ..ok.clone() }, false),
        ];
        for (cfg, disabled) in cases {
            let err = cfg.validate().unwrap_err();
            assert_eq!(err == BeaconConfigError::Disabled, disabled, "{err}");
        }
        // One round needs no following-round durations.
        let single = BeaconConfig { rounds_number: 1, voting_round_duration: Duration::ZERO, ..ok };
        single.validate().unwrap();
    }
}
