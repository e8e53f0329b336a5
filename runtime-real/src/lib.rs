//! Drives spacemesh-core nodes on real clocks and threads.
//!
//! This crate is the production shell around the same [`spacemesh_core::Node`] the simulator
//! runs. So far it holds the pieces that do not need a network stack: the wall clock that feeds
//! a node its `Time` (never backwards), and the worker pool that runs a node's jobs on OS
//! threads. The transport, storage and API listeners come with the node issue.

mod clock;
mod jobs;

pub use clock::WallClock;
pub use jobs::{JobPool, JobPoolClosed};
