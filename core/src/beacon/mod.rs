//! The beacon: a 4-byte value per epoch, agreed on during epoch N for epoch N+1, that seeds ballot
//! eligibility, hare committees and the tortoise's good/bad-beacon check (protocol.md section 4).
//!
//! One [`EpochBeacon`] runs the protocol of one epoch as a Sans-IO state machine:
//!
//! 1. **Proposal phase** (`proposal_duration`): every participant computes
//!    `VRF(Beacon, vrf_nonce, epoch)` and publishes it if it passes the eligibility threshold
//!    `2^640 · (1 − 2^(−κ/((1−q)·N)))`. Receivers classify proposals as valid, potentially valid or
//!    invalid by the proposer's ATX receipt time, the proposal's receipt time and the threshold.
//! 2. **First voting round** (`first_voting_round_duration`): every participant signs its sorted
//!    valid and potentially valid lists. Receivers add the voter's weight to each valid proposal
//!    and subtract it from each potentially valid one; the concatenation (capped at
//!    `votes_limit`) is that voter's reference list for later rounds.
//! 3. **Following rounds** `1..rounds_number`: a bit vector over the voter's own reference list
//!    (+weight for a set bit, −weight otherwise), then a **weak coin** round: the smallest of the
//!    participants' `VRF(BeaconWC, nonce, epoch, round, unit)`; proposals whose cumulative margin
//!    is within `±θ·W` take the coin's value.
//! 4. **Output**: `beacon = BLAKE3(sorted supported proposals)[0..4]`.
//!
//! Fallbacks live in [`fallback`]: the ballot beacon tally for nodes that did not run the
//! protocol, and the genesis rule for the first epoch with ballots.
//!
//! How a node drives an [`EpochBeacon`]: create it at (or within `grace_period` before) the epoch
//! start with the epoch's [`Participant`]s and the local identity if it has an ATX for the epoch;
//! call [`EpochBeacon::on_tick`] when [`EpochBeacon::next_timeout`] is due and
//! [`EpochBeacon::on_message`] for every gossiped beacon message of the epoch; after each call
//! drain [`EpochBeacon::poll_output`]. `now` must not decrease between calls.
//!
//! Invariants (checked by [`EpochBeacon::check_invariants`]):
//! 1. Every collection is bounded by [`BeaconConfig`] (`participants_max`, `proposals_max`,
//!    `votes_limit`, `rounds_number`).
//! 2. Vote margins exist exactly for the proposals classified valid or potentially valid, each
//!    in its own slot, and every interned reference list's resolved slots are its proposals'.
//! 3. The node never signs two different votes for one round.
//! 4. A decision (or failure) is emitted at most once, and only when the last round has ended.

mod config;
pub mod fallback;
mod message;
mod protocol;
mod threshold;

pub use config::{BeaconConfig, BeaconConfigError, Ratio};
pub use fallback::{BeaconTally, GENESIS_BEACON_EPOCH, TallyError, ballot_weight, genesis_beacon};
pub use message::{
    Beacon, BeaconMessage, FirstVotingMessage, FollowingVotingMessage, PROPOSALS_MAX, Proposal,
    ProposalMessage, VOTES_BIT_VECTOR_MAX, WeakCoinMessage,
};
pub use protocol::{
    BeaconFailure, BeaconOutput, BeaconPhase, BeaconReject, BeaconSetupError, EpochBeacon,
    LocalIdentity, Participant,
};

#[cfg(test)]
mod tests;
