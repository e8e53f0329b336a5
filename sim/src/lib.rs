//! Generic deterministic discrete-event simulation engine: scheduler, RNG tree, network, clocks, disks, faults, trace digest.
//!
//! The engine knows nothing of Spacemesh. A [`World`](engine::World) owns the simulated nodes'
//! state; the engine owns time and the environment:
//!
//! - a single-threaded queue of `(time, seq)` events (ties pop in insertion order; idle time is
//!   skipped);
//! - an [`RngTree`](rng::RngTree): one master seed, independent ChaCha8 streams per node
//!   component, network, faults, disk and workload;
//! - a [`Network`](net::Network) with per-link latency distributions, loss, duplication,
//!   reordering and bandwidth, symmetric and asymmetric partitions, and clogging (with
//!   FoundationDB's swizzle schedule);
//! - per-node [`NodeClock`](clock::NodeClock)s with skew and drift;
//! - crash, restart and pause of nodes, with a [`Disk`](disk::Disk) whose unsynced writes are
//!   lost or torn on a crash;
//! - a BLAKE3 [`Trace`](trace::Trace) digest folded over every event, and a lockstep
//!   [determinism check](determinism::check_lockstep) that names the first differing event.
//!
//! Events carry the incarnation of the node they concern: after a crash, the old incarnation's
//! timers and syncs are discarded, and messages sent to it before it restarted are dropped (its
//! connections were reset). A paused node's events wait and are delivered in order on resume.

pub mod clock;
pub mod determinism;
pub mod disk;
pub mod engine;
pub mod net;
pub mod queue;
pub mod rng;
mod time;
pub mod toy;
pub mod trace;

pub use time::{NodeIdx, SimDuration, SimTime};
