//! The discrete-event engine: a queue of `(time, seq)` events dispatched to a [`World`], in time
//! order or in windowed order.
//!
//! The engine owns time, the network, clocks, disks, faults and the trace; the [`World`] owns
//! the nodes' state and reacts to what the engine delivers through a [`Ctx`]. Rules:
//!
//! 1. Events pop in `(time, seq)` order: equal times in insertion order. Time jumps straight to
//!    the next event (idle time costs nothing) and never goes backwards. In windowed order
//!    ([`SimConfig::window`]) time is cut into windows whose events pop node by node, each
//!    node's in `(time, seq)` order: a node's time never goes backwards, and an event one
//!    node's step causes for another is due in a later window, so no event runs before one
//!    that caused it.
//! 2. Every dispatched event (delivery, drop at a dead receiver, local event, sync completion,
//!    fault) is folded into the trace with its fingerprint; so are drops by the network and the
//!    world's own [`Ctx::trace`] records.
//! 3. A node has an *incarnation* that changes when it crashes and again when it restarts.
//!    Local events and syncs carry the incarnation they were scheduled in and are silently
//!    discarded (not traced) if it has changed: a dead process's timers never fire. Messages
//!    carry the receiver's incarnation at send time and are dropped (traced as `drop-reset`) if
//!    it has changed: the connection they travelled on was reset.
//! 4. Messages to a crashed node are dropped (traced as `drop-down`). A paused node's messages,
//!    local events and syncs wait, and are re-queued in their original order when it resumes.
//! 5. On a crash the engine first applies the disk crash model (unsynced writes lost or torn),
//!    then calls [`World::on_crash`]; on a restart it calls [`World::on_restart`], which
//!    rebuilds the node from [`Ctx::disk`].
//!
//! Randomness comes from the [`RngTree`](crate::rng::RngTree) of the master seed: the network,
//! the disk model and the fault injector each have their own stream, so the world's own draws
//! (from node streams) never shift the environment's, and vice versa.

mod ctx;
mod sim;
mod state;
mod stats;
#[cfg(test)]
mod tests;

pub use crate::fault::{Fault, FaultError};
pub use ctx::Ctx;
pub use sim::{Sim, SimConfig};
pub use stats::{NodeState, Stats};

use crate::idx::NodeIdx;
use crate::trace::Traced;

/// The simulated system: it owns every node's state and reacts to events.
///
/// Callbacks must be deterministic functions of their arguments, the world's own state and the
/// context: no clocks, no OS randomness, no iteration over hash maps. The lockstep checker
/// ([`check_lockstep`](crate::determinism::check_lockstep)) catches violations.
pub trait World {
    /// What nodes send each other.
    type Msg: Clone + Traced;
    /// What a node schedules for itself (timers, job completions, sync completions).
    type Local: Traced;

    /// A message from `from` arrived at `to` (which is running).
    fn on_message(
        &mut self,
        ctx: &mut Ctx<'_, Self::Msg, Self::Local>,
        to: NodeIdx,
        from: NodeIdx,
        msg: Self::Msg,
    );

    /// A local event of `node` (which is running) is due.
    fn on_local(
        &mut self,
        ctx: &mut Ctx<'_, Self::Msg, Self::Local>,
        node: NodeIdx,
        ev: Self::Local,
    );

    /// `node` crashed; its disk has already lost what a crash loses. The world must drop the
    /// node's volatile state.
    fn on_crash(&mut self, ctx: &mut Ctx<'_, Self::Msg, Self::Local>, node: NodeIdx);

    /// `node` restarts: the world rebuilds it from `ctx.disk(node)`.
    fn on_restart(&mut self, ctx: &mut Ctx<'_, Self::Msg, Self::Local>, node: NodeIdx);

    /// The trace kind of a delivered message.
    fn kind_of_msg(_msg: &Self::Msg) -> &'static str {
        "deliver"
    }

    /// The trace kind of a local event.
    fn kind_of_local(_ev: &Self::Local) -> &'static str {
        "local"
    }
}
