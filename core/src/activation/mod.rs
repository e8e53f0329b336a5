//! Activation: ATXs (the identities' proofs of space and elapsed time), their validation and
//! storage, and the NIPoST builder that publishes this node's ATX every epoch.
//!
//! - [`wire`]: the ATX format, id and signature.
//! - [`store`]: valid ATX headers, weights, heights and active sets.
//! - [`handler`]: the validation pipeline; `pending`: the ATXs it has no verdict on yet.
//! - [`builder`]: the NIPoST builder (PoET registration, proof, PoST, publish).

pub mod builder;
pub mod handler;
mod pending;
pub mod store;
pub mod wire;

pub use builder::{Builder, BuilderConfig, BuilderEvent, BuilderOutput, PostInitResult};
pub use handler::{
    AtxCheck, AtxCheckOutcome, AtxHandler, AtxReject, HandlerConfig, HandlerOutput, PoetParams,
};
pub use store::{ActiveSet, AtxHeader, AtxStore};
pub use wire::{Address, Atx, AtxId, golden_atx};

#[cfg(test)]
mod tests;
