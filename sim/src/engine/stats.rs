//! Engine counters and node liveness.

use serde::Serialize;

/// Counters of what the engine did, for reports and for tests that check a fault had effect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Events dispatched: deliveries, drops at dead receivers, local events, syncs, faults.
    /// Discarded stale events and deferrals are not events.
    pub events: u64,
    /// Messages handed to the network by `Ctx::send`.
    pub sent: u64,
    /// Messages delivered to a running node.
    pub delivered: u64,
    /// Messages sent with `Ctx::send_redundant` that the network would have delivered and that
    /// the world absorbed at once instead (not counted in `delivered`).
    pub absorbed: u64,
    /// Messages dropped by a partition or block.
    pub dropped_partition: u64,
    /// Messages lost at random.
    pub dropped_loss: u64,
    /// Messages that reached a crashed node, or were waiting at a paused node when it crashed.
    pub dropped_down: u64,
    /// Messages dropped because the receiver restarted after they were sent.
    pub dropped_reset: u64,
    /// Extra copies created by duplication.
    pub duplicated: u64,
    /// Messages held back by a clog.
    pub clog_delayed: u64,
    /// Local events dispatched.
    pub locals: u64,
    /// Disk syncs completed.
    pub syncs: u64,
    /// Local events and syncs discarded because their node crashed after scheduling them.
    pub stale: u64,
    /// Events that waited at a paused node.
    pub deferred: u64,
    /// Faults applied (including no-op ones, such as crashing a crashed node).
    pub faults: u64,
    /// Crashes.
    pub crashes: u64,
    /// Restarts.
    pub restarts: u64,
}

/// Whether a node is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum NodeState {
    /// Running: receives messages and local events.
    Up,
    /// Frozen: its events wait until it resumes.
    Paused,
    /// Dead: its volatile state is gone; it may be restarted from its disk.
    Crashed,
}
