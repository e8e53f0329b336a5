//! Beacons without running the protocol (protocol.md section 4, "Fallbacks"; go-spacemesh
//! `beacon.go` `ReportBeaconFromBallot`, `findMajorityBeacon`, `node.go` standalone mode).
//!
//! - [`BeaconTally`]: a node that did not run the protocol for an epoch (it was syncing, or the
//!   protocol failed) records the beacon each ref ballot of the epoch declares, weighted by the
//!   ballot's weight. Once the ballots carry at least `beacon_sync_weight_units` eligibilities,
//!   the beacon with more than half of the recorded weight wins, else the plurality (ties go to
//!   the smallest beacon bytes, where go-spacemesh's map order is random).
//! - [`genesis_beacon`]: the first epoch with ballots ([`GENESIS_BEACON_EPOCH`]) has no protocol
//!   run before it; its beacon is the first 4 bytes of the genesis id.

use std::collections::BTreeMap;

use thiserror::Error;

use super::message::Beacon;
use crate::lookup::Lookup;
use crate::types::{BallotId, EpochId, GenesisId};

/// The first epoch with ballots: epoch 1 ends with the effective genesis layer (`2·LPE − 1`),
/// and its successor takes [`genesis_beacon`].
pub const GENESIS_BEACON_EPOCH: EpochId = EpochId(2);

/// The beacon of [`GENESIS_BEACON_EPOCH`]: the genesis id's first 4 bytes.
pub fn genesis_beacon(genesis: &GenesisId) -> Beacon {
    Beacon([genesis.0[0], genesis.0[1], genesis.0[2], genesis.0[3]])
}

/// A ballot's weight in the tally, in units of 2^−32: `atx_weight · eligibilities / slots`
/// (the ATX weight per eligibility times the eligibilities the ballot carries), exact for every
/// `u64` weight and `u32` counts. Zero `slots` gives 0.
pub fn ballot_weight(atx_weight: u64, slots: u32, eligibilities: u32) -> u128 {
    if slots == 0 {
        return 0;
    }
    // < 2^64 · 2^32 · 2^32 = 2^128.
    ((u128::from(atx_weight) << 32) * u128::from(eligibilities)) / u128::from(slots)
}

/// Why a ballot was not recorded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TallyError {
    /// The ballot is for another epoch.
    #[error("ballot of {got}, the tally is for {expected}")]
    WrongEpoch {
        /// The tally's epoch.
        expected: EpochId,
        /// The ballot's epoch.
        got: EpochId,
    },
    /// `tally_ballots_max` ballots are already recorded.
    #[error("ballot limit {0} reached")]
    Full(usize),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Entry {
    weight: u128,
    eligibilities: u64,
}

/// The ballot beacon tally of one epoch.
#[derive(Debug, Clone)]
pub struct BeaconTally {
    epoch: EpochId,
    sync_weight_units: u64,
    ballots_max: usize,
    /// The ballots counted, to count each once, by the first 8 bytes of their id: only looked
    /// up, so a hash table (every node keeps one per ballot of three epochs: a B-tree of
    /// 32-byte keys took five times the memory, a table of whole ids twice). Two ballots with
    /// one prefix would count once, but ids are hashes of signed ballots: matching another's
    /// prefix takes about 2^64 hashes. Unseeded: only valid ballots get here.
    ballots: Lookup<u64, ()>,
    beacons: BTreeMap<Beacon, Entry>,
    total: Entry,
}

impl BeaconTally {
    /// A tally for `epoch` that answers after `sync_weight_units` eligibilities and records at
    /// most `ballots_max` ballots (see [`super::BeaconConfig`]).
    pub fn new(epoch: EpochId, sync_weight_units: u32, ballots_max: usize) -> BeaconTally {
        BeaconTally {
            epoch,
            sync_weight_units: u64::from(sync_weight_units),
            ballots_max,
            ballots: Lookup::new(0),
            beacons: BTreeMap::new(),
            total: Entry::default(),
        }
    }

    /// Records the beacon of a ref ballot of `epoch`. `ballot` is its id (a hash);
    /// a ballot recorded before is ignored (`Ok(false)`). `weight` comes from
    /// [`ballot_weight`]; `eligibilities` is the number of eligibility proofs in the ballot.
    pub fn record(
        &mut self,
        epoch: EpochId,
        ballot: BallotId,
        beacon: Beacon,
        weight: u128,
        eligibilities: u32,
    ) -> Result<bool, TallyError> {
        if epoch != self.epoch {
            return Err(TallyError::WrongEpoch { expected: self.epoch, got: epoch });
        }
        let key = u64::from_le_bytes(ballot.0[..8].try_into().expect("20-byte ids"));
        if self.ballots.contains_key(&key) {
            return Ok(false);
        }
        if self.ballots.len() >= self.ballots_max {
            return Err(TallyError::Full(self.ballots_max));
        }
        self.ballots.insert(key, ());
        let e = self.beacons.entry(beacon).or_default();
        e.weight = e.weight.saturating_add(weight);
        e.eligibilities += u64::from(eligibilities);
        self.total.weight = self.total.weight.saturating_add(weight);
        self.total.eligibilities += u64::from(eligibilities);
        Ok(true)
    }

    /// The tally's beacon: `None` until enough eligibilities are recorded, then the majority
    /// beacon (more than half the weight), else the heaviest (smallest bytes on a tie).
    pub fn beacon(&self) -> Option<Beacon> {
        if self.total.eligibilities < self.sync_weight_units {
            return None;
        }
        let mut best: Option<(Beacon, u128)> = None;
        for (beacon, e) in &self.beacons {
            if e.weight > self.total.weight - e.weight {
                return Some(*beacon);
            }
            // Strictly greater keeps the smallest beacon among equal weights (ascending order).
            if best.is_none_or(|(_, w)| e.weight > w) {
                best = Some((*beacon, e.weight));
            }
        }
        best.map(|(b, _)| b)
    }

    /// The beacon with more than half the recorded weight, once enough eligibilities are
    /// recorded: strong enough evidence to replace a beacon this node decided differently.
    pub fn majority(&self) -> Option<Beacon> {
        if self.total.eligibilities < self.sync_weight_units {
            return None;
        }
        self.beacons.iter().find(|(_, e)| e.weight > self.total.weight - e.weight).map(|(b, _)| *b)
    }

    /// Eligibilities recorded so far.
    pub fn eligibilities(&self) -> u64 {
        self.total.eligibilities
    }

    /// Ballots recorded so far.
    pub fn ballots(&self) -> usize {
        self.ballots.len()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn id(i: u32) -> BallotId {
        let mut b = [0u8; 20];
        b[..4].copy_from_slice(&i.to_le_bytes());
        BallotId(b)
    }

    /// The genesis beacon is the genesis id's prefix, for the first epoch with ballots.
    #[test]
    fn genesis_rule() {
        let mut g = [0u8; 20];
        g[..5].copy_from_slice(&[1, 2, 3, 4, 5]);
        assert_eq!(genesis_beacon(&GenesisId(g)), Beacon([1, 2, 3, 4]));
        assert_eq!(GENESIS_BEACON_EPOCH, EpochId(2));
    }

    /// Ballot weights keep fractions: 10 / 3 slots × 2 eligibilities is 20/3 in 2^−32 units.
    #[test]
    fn ballot_weights() {
        assert_eq!(ballot_weight(10, 3, 2), (20u128 << 32) / 3);
        assert_eq!(
            ballot_weight(u64::MAX, 1, u32::MAX),
            (u128::from(u64::MAX) << 32) * u128::from(u32::MAX)
        );
        assert_eq!(ballot_weight(5, 0, 1), 0);
    }

    /// Nothing is answered below the eligibility floor; a majority wins over a plurality.
    #[test]
    fn majority_after_enough_eligibilities() {
        let (a, b) = (Beacon([1; 4]), Beacon([2; 4]));
        let mut t = BeaconTally::new(EpochId(5), 10, 100);
        assert_eq!(t.record(EpochId(5), id(1), a, 30, 4), Ok(true));
        assert_eq!(t.record(EpochId(5), id(2), b, 20, 4), Ok(true));
        assert_eq!(t.beacon(), None, "8 eligibilities < 10");
        assert_eq!(t.record(EpochId(5), id(2), b, 20, 4), Ok(false), "a repeat is not counted");
        assert_eq!(t.record(EpochId(5), id(3), b, 11, 2), Ok(true));
        assert_eq!(t.beacon(), Some(b), "31 of 61 is a majority");
        assert_eq!(
            t.record(EpochId(6), id(4), a, 1, 1),
            Err(TallyError::WrongEpoch { expected: EpochId(5), got: EpochId(6) })
        );
    }

    /// Without a majority the heaviest beacon wins, and a tie goes to the smallest bytes.
    #[test]
    fn plurality_and_tie_break() {
        let (a, b, c) = (Beacon([1; 4]), Beacon([2; 4]), Beacon([3; 4]));
        let mut t = BeaconTally::new(EpochId(1), 1, 100);
        t.record(EpochId(1), id(1), c, 40, 1).unwrap();
        t.record(EpochId(1), id(2), b, 40, 1).unwrap();
        t.record(EpochId(1), id(3), a, 20, 1).unwrap();
        assert_eq!(t.beacon(), Some(b));
        let mut full = BeaconTally::new(EpochId(1), 1, 1);
        full.record(EpochId(1), id(1), a, 1, 1).unwrap();
        assert_eq!(full.record(EpochId(1), id(2), a, 1, 1), Err(TallyError::Full(1)));
    }

    proptest! {
        /// The answer does not depend on the order ballots arrive in.
        #[test]
        fn order_independent(
            ballots in proptest::collection::vec((0u8..4, 1u64..100, 1u32..4), 1..40),
            seed in any::<u64>(),
        ) {
            let mut t1 = BeaconTally::new(EpochId(3), 5, 1000);
            for (i, (b, w, e)) in ballots.iter().enumerate() {
                t1.record(EpochId(3), id(i as u32), Beacon([*b; 4]), u128::from(*w), *e).unwrap();
            }
            let mut order: Vec<usize> = (0..ballots.len()).collect();
            // A seeded Fisher–Yates shuffle.
            let mut s = seed | 1;
            for i in (1..order.len()).rev() {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                order.swap(i, (s % (i as u64 + 1)) as usize);
            }
            let mut t2 = BeaconTally::new(EpochId(3), 5, 1000);
            for i in order {
                let (b, w, e) = ballots[i];
                t2.record(EpochId(3), id(i as u32), Beacon([b; 4]), u128::from(w), e).unwrap();
            }
            prop_assert_eq!(t1.beacon(), t2.beacon());
        }
    }
}
