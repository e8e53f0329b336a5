//! The network model.
//!
//! Every message a node sends goes through [`Network::route`], which decides, with draws from the
//! network's own RNG stream, whether and when it arrives:
//!
//! 1. **Reachability**: symmetric partitions and one-way blocks drop it
//!    ([`DropReason::Partitioned`]).
//! 2. **Loss**: dropped with the link's `loss` probability ([`DropReason::Lost`]).
//! 3. **Clogs** (FoundationDB semantics): held, not dropped, until the sender's outbound clog,
//!    the receiver's inbound clog and the link's clog have all ended. [`swizzle_schedule`]
//!    builds FDB's swizzle pattern from these.
//! 4. **Bandwidth**: it queues on the sender's uplink for `size / bandwidth`.
//! 5. **Latency** from the link's [`Latency`] distribution, plus with probability `reorder` an
//!    extra delay that lets later messages overtake it.
//! 6. **Duplication**: with probability `duplicate` a second copy with its own latency.

mod latency;
mod link;
mod network;
mod partition;
mod swizzle;

pub use latency::{LATENCY_MAX, Latency, Normals};
pub use link::{LinkConfig, LinkError};
pub use network::{DropReason, Network, Route};
pub use swizzle::swizzle_schedule;
