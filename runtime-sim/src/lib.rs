//! Drives spacemesh-core nodes inside the deterministic simulation engine: network, timers, disk, jobs, memoized verification.
//!
//! [`SimNet`] is the engine's [`World`](spacemesh_sim::engine::World): every simulated node is
//! either an honest [`Node`](spacemesh_core::Node) driven exactly as the real runtime drives it,
//! or an [`Agent`] (an adversary that speaks the wire protocol its own way). The driver:
//!
//! - turns `Send`/`Connect`/`Disconnect` outputs into simulated connections and frames, subject
//!   to the engine's latency, loss, partitions and clogging;
//! - maps the engine's per-node clock (skew, drift) to the node's `Time`, never backwards;
//! - appends every `Persist` batch to a write-ahead log on the node's simulated disk and holds
//!   all later outputs until the modelled sync completes, so a crash loses exactly what a real
//!   node would lose; restart rebuilds the node from the log (a torn tail is dropped, corruption
//!   elsewhere stops the node with an error);
//! - runs jobs at once with the shared [`MemoVerifier`] (and shares results of jobs that depend
//!   only on public inputs between nodes) and delivers the result after the job's modelled
//!   duration;
//! - hosts simulated PoET servers ([`PoetSpec`]) that nodes reach over the simulated network;
//! - calls `check_invariants` after every step (when enabled) and hands every `NodeEvent` to the
//!   [`Observer`] (the checkers) and to the trace digest.

#![forbid(unsafe_code)]

mod agent;
mod detail;
mod driver;
mod links;
mod marks;
mod memo;
mod poet_host;
mod wal;
mod wallet;

pub use agent::{Agent, AgentIo, GarbageSender};
pub use driver::{
    Local, NodeSpec, Observer, RuntimeConfig, RuntimeStats, SimFrame, SimNet, SlotSpec,
    StartupFailure, Wire,
};
pub use links::Links;
pub use memo::{MemoLabels, MemoVerifier};
pub use poet_host::PoetSpec;
pub use wal::{WalError, read_log, record};
pub use wallet::{Submission, WalletAction, WalletSigner};
