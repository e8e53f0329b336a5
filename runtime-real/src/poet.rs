//! The PoET service over HTTP and the client a node reaches it with.
//!
//! The server ([`PoetServer`]) hosts core's [`PoetService`](spacemesh_core::poet::PoetService)
//! state machine: it ticks it on the wall clock, persists its state in a
//! [`NodeStore`](crate::store::NodeStore) after every change, runs each round's sequential work
//! on a blocking thread, and answers over HTTP/1:
//!
//! - `POST /v1/request`: body a SCALE-encoded `PoetRequest`, answer a SCALE-encoded
//!   `PoetResponse` (`application/octet-stream`). A body that does not decode is HTTP 400 with
//!   a text message; a body over [`REQUEST_BODY_MAX`] is HTTP 413.
//! - `GET /v1/info`: JSON with the service id, the open round, the schedule and the proof
//!   parameters, and the rounds proven.
//! - `GET /v1/proofs/{round}`: JSON with the round's statement, leaf count, proof (its parts
//!   and its SCALE encoding, hex) and members; HTTP 404 with a JSON error while the round has no
//!   proof.
//!
//! The client ([`PoetClient`]) speaks `POST /v1/request`.
//!
//! # Timing: what the operator configures
//!
//! Node and PoET agree on rounds by construction when both derive them from the same
//! [`LayerClock`] and genesis id: use [`service_config_for`]. Round `e` of the service is the
//! round of publish epoch `e + 1`: it opens for registration when round `e - 1` starts, starts
//! (registration closes) `poet_phase_shift` into epoch `e`, and ends one epoch minus
//! `poet_cycle_gap` later. Nodes register until the round starts and fetch the proof from its
//! end until `poet_grace_period` before the next round starts: a window of `poet_cycle_gap -
//! poet_grace_period`, in which they must also prove their PoST.
//!
//! The server starts a round's sequential work when the round starts, and publishes the proof
//! at the round's end or when the work is done, whichever is later. So:
//!
//! - [`WorkBudget::leaves_per_round`] must take this machine less than a round (an epoch minus
//!   the cycle gap) to compute at the configured nesting depth; a budget that takes longer
//!   eats into the nodes' fetch window, and one that takes longer than the window makes every
//!   node miss the epoch. The time it took is logged at `info` for every round.
//! - `t` and `nesting_depth` must be the nodes' PoET parameters (their `PoetParams`), or no
//!   node accepts the proofs; `leaves_per_round` should be at least the nodes' tick size (a
//!   proof is worth `leaves / tick_size` ticks).
//! - The service id nodes list in their configuration is the public key of the key seed.

mod client;
mod server;

use spacemesh_core::GenesisId;
use spacemesh_core::layers::LayerClock;
use spacemesh_core::poet::{PoetServiceConfig, RoundSchedule};
use spacemesh_core::store::VALUE_MAX;

pub use client::{PoetClient, PoetClientError, RESPONSE_BODY_MAX, error_chain};
pub use server::{PoetServer, PoetServerConfig, PoetServerError, RunningPoet, WorkBudget};

/// Path of the request endpoint.
pub const REQUEST_PATH: &str = "/v1/request";
/// Largest request body the server reads (a submission is 139 bytes).
pub const REQUEST_BODY_MAX: usize = 64 * 1024;
/// Most members of one round the server persists: a round is one store record, and its
/// members (64 bytes each) and proof must fit in a record.
pub const PERSISTED_MEMBERS_MAX: usize = (VALUE_MAX - 512 * 1024) / 64;
/// Rounds with a proof the server keeps for queries (and as many waiting for their proof).
pub const ROUNDS_KEPT: usize = 16;

/// The service configuration that matches nodes running on `clock` in network `genesis_id`:
/// the round schedule is the clock's (genesis, epoch, PoET phase shift and cycle gap), at most
/// [`PERSISTED_MEMBERS_MAX`] members per round, [`ROUNDS_KEPT`] rounds kept.
pub fn service_config_for(clock: &LayerClock, genesis_id: GenesisId) -> PoetServiceConfig {
    PoetServiceConfig {
        genesis_id,
        schedule: RoundSchedule {
            genesis: clock.genesis,
            epoch_duration: clock.epoch_duration(),
            phase_shift: clock.poet_phase_shift,
            cycle_gap: clock.poet_cycle_gap,
        },
        members_max: PERSISTED_MEMBERS_MAX,
        rounds_kept: ROUNDS_KEPT,
    }
}

#[cfg(test)]
mod tests;
