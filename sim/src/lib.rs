//! Generic deterministic discrete-event simulation engine: scheduler, RNG tree, network, clocks, disks, faults, trace digest.
//!
//! The engine knows nothing of Spacemesh. A [`World`](engine::World) owns the simulated nodes'
//! state and reacts to events; the engine owns time and the environment:
//!
//! - **Scheduler** ([`engine::Sim`]): one single-threaded queue of `(time, seq)` events. Equal
//!   times pop in insertion order; idle time is skipped. Optionally in windowed order: each
//!   short window's events node by node, for cache locality in large runs
//!   ([`engine::SimConfig::window`]).
//! - **Randomness** ([`rng::RngTree`]): one master seed, an independent ChaCha8 stream per node
//!   component, network, faults, disk and workload.
//! - **Network** ([`net::Network`]): per-link latency distributions, loss, duplication,
//!   reordering and bandwidth; symmetric and asymmetric partitions; FoundationDB-style clogging
//!   and swizzling.
//! - **Clocks** ([`clock::NodeClock`]): per-node skew and drift; timers are set in local time.
//! - **Disks and crashes** ([`disk::Disk`]): a node crashes and restarts from what its disk made
//!   durable (unsynced writes lost or torn), or is paused and resumed.
//! - **Faults** ([`engine::Fault`]): serializable, schedulable environment changes.
//! - **Trace** ([`trace::Trace`]): every event is folded into a BLAKE3 digest. Same seed and same
//!   binary give the same digest, in one process or two, on any machine;
//!   [`determinism::check_lockstep`] names the first event at which two runs differ.
//!
//! Determinism rules for the crate itself: no clocks, no OS randomness, no threads, no I/O, no
//! hash-ordered containers, and no libm transcendental functions (see `math`).

#![forbid(unsafe_code)]

pub mod clock;
pub mod determinism;
pub mod disk;
pub mod engine;
pub mod fault;
mod idx;
mod math;
pub mod net;
mod queue;
pub mod rng;
mod time;
pub mod toy;
pub mod trace;

pub use idx::NodeIdx;
pub use time::{SimDuration, SimTime};
