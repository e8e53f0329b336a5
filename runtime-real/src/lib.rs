//! Drives spacemesh-core nodes on real clocks, sockets, disks and threads.
//!
//! This crate is the production shell around the same [`spacemesh_core::Node`] the simulator
//! runs: the wall clock that feeds a node its `Time` (never backwards), the worker pool that runs
//! a node's jobs on OS threads, the authenticated transport, the on-disk store and the PoET
//! service and client.

mod clock;
pub mod config;
mod jobs;
pub mod keyfile;
pub mod node;
pub mod poet;
pub mod post_data;
pub mod post_labels;
pub mod status;
pub mod store;
pub mod transport;

pub use clock::WallClock;
pub use jobs::{JobPool, JobPoolClosed};
