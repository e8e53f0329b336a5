//! Canaries: protocol bugs planted on purpose, to prove that the simulator's checks find bugs.
//!
//! Each canary is a small, realistic mistake (an off-by-one, a skipped record, an order that
//! depends on arrival) at one place in the protocol code. The faulty code is compiled in only
//! with the `canary` cargo feature, and even then it stays dormant until a runtime switches the
//! canary on by name with [`activate`] (`smesh sim run --canary NAME`). `smesh sim canary` runs
//! each canary against the scenario whose checks should catch it and fails if one goes unseen.
//!
//! Without the feature, [`Canary`] still names and describes every canary (so a command line
//! can say what it would run), but [`activate`] refuses and no protocol path consults the switch.
//! The switch is a process-wide value set once before a run; it reads no clock and no OS state,
//! so a run with a canary is as deterministic as one without.

use std::fmt;

/// A planted bug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Canary {
    /// The hare drops the last of its candidate proposals (an off-by-one loop bound), so the
    /// highest proposal id of a layer never reaches the output.
    HareDropsLastProposal,
    /// Hare equivocation is dropped silently instead of yielding a malfeasance proof.
    HareEquivocationUnproven,
    /// A second ATX of an identity in one epoch is ignored instead of proven malicious.
    DoubleAtxUnproven,
    /// The beacon hashes its supported proposals in the order they arrived here rather than
    /// sorted, a non-deterministic tie-break between nodes.
    BeaconArrivalOrder,
    /// A frame that does not decode is counted but its sender is not penalized.
    GarbageUnpenalized,
    /// The tortoise ignores a ballot that arrives after its layer's successor began (late
    /// ballots, as a healed partition or sync delivers them, never count).
    TortoiseIgnoresLateBallots,
    /// Ballots claim one eligibility more than the identity's weight grants.
    EligibilityOverclaim,
    /// The certifier builds a certificate only once a block's seats exceed the threshold
    /// instead of reaching it (an off-by-one threshold).
    CertifierThresholdStrict,
    /// Identities proven malicious stay in the next epoch's active set.
    ActiveSetKeepsMalicious,
    /// A hare committee member claims one seat more than its draw gives.
    HareSeatOverclaim,
}

impl Canary {
    /// Every canary, in listing order.
    pub const ALL: [Canary; 10] = [
        Canary::HareDropsLastProposal,
        Canary::HareEquivocationUnproven,
        Canary::DoubleAtxUnproven,
        Canary::BeaconArrivalOrder,
        Canary::GarbageUnpenalized,
        Canary::TortoiseIgnoresLateBallots,
        Canary::EligibilityOverclaim,
        Canary::CertifierThresholdStrict,
        Canary::ActiveSetKeepsMalicious,
        Canary::HareSeatOverclaim,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Canary::HareDropsLastProposal => "hare-drops-last-proposal",
            Canary::HareEquivocationUnproven => "hare-equivocation-unproven",
            Canary::DoubleAtxUnproven => "double-atx-unproven",
            Canary::BeaconArrivalOrder => "beacon-arrival-order",
            Canary::GarbageUnpenalized => "garbage-unpenalized",
            Canary::TortoiseIgnoresLateBallots => "tortoise-ignores-late-ballots",
            Canary::EligibilityOverclaim => "eligibility-overclaim",
            Canary::CertifierThresholdStrict => "certifier-threshold-strict",
            Canary::ActiveSetKeepsMalicious => "active-set-keeps-malicious",
            Canary::HareSeatOverclaim => "hare-seat-overclaim",
        }
    }

    /// The canary called `name`.
    pub fn from_name(name: &str) -> Option<Canary> {
        Canary::ALL.into_iter().find(|c| c.name() == name)
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Canary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a canary cannot be switched on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanaryError {
    /// This build has no planted bugs.
    #[error(
        "this smesh was built without canaries: rebuild with \
         `cargo build --release -p spacemesh-bin --features canary`"
    )]
    NotBuilt,
}

#[cfg(feature = "canary")]
static ACTIVE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Switches `canary` on for the rest of the process (call before building a run).
pub fn activate(canary: Canary) -> Result<(), CanaryError> {
    #[cfg(feature = "canary")]
    {
        ACTIVE.fetch_or(canary.bit(), std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
    #[cfg(not(feature = "canary"))]
    {
        let _ = canary.bit();
        Err(CanaryError::NotBuilt)
    }
}

/// Whether `canary` is switched on (planted code asks this).
#[cfg(feature = "canary")]
pub fn active(canary: Canary) -> bool {
    ACTIVE.load(std::sync::atomic::Ordering::Relaxed) & canary.bit() != 0
}

/// Whether this build has the planted bugs.
pub const fn built() -> bool {
    cfg!(feature = "canary")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_distinct() {
        let mut names: Vec<&str> = Canary::ALL.iter().map(|c| c.name()).collect();
        for c in Canary::ALL {
            assert_eq!(Canary::from_name(c.name()), Some(c));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Canary::ALL.len());
        assert_eq!(Canary::from_name("no-such-canary"), None);
    }

    #[cfg(not(feature = "canary"))]
    #[test]
    fn a_build_without_the_feature_refuses() {
        assert_eq!(activate(Canary::GarbageUnpenalized), Err(CanaryError::NotBuilt));
    }
}
