//! Drives spacemesh-core nodes on real clocks, sockets, disks and threads.
//!
//! This crate is the production shell around the same [`spacemesh_core::Node`] the simulator
//! runs: the wall clock that feeds a node its `Time` (never backwards), the worker pool that runs
//! a node's jobs on OS threads, the authenticated transport, the on-disk store and the PoET
//! service and client.

#![forbid(unsafe_code)]
// madsim marks `spawn_blocking` deprecated because the closure stops the simulated clock while
// it runs; that is what this crate wants of its blocking work (disk, PoET rounds, jobs) there.
#![cfg_attr(madsim, allow(deprecated))]

pub mod account_api;
#[cfg(not(madsim))]
pub mod api;
mod clock;
pub mod config;
mod http;
mod jobs;
pub mod keyfile;
pub mod node;
pub mod poet;
pub mod post_data;
pub mod post_labels;
mod random;
#[cfg(madsim)]
mod sim_jobs;
pub mod status;
pub mod store;
pub mod transport;
pub mod web;

pub use clock::WallClock;
pub use jobs::{JobPool, JobPoolClosed};
