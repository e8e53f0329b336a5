//! Blocks built from hare outputs (protocol.md section 6; go-spacemesh `blocks/generator.go`,
//! `blocks/utils.go`, `common/types/block.go`).
//!
//! A block is never gossiped: when the hare decides a layer's set of proposals, every node
//! builds the block from it with [`build`], and the certifier ([`crate::certifier`]) then
//! certifies its id. An empty hare output gives no block (the layer's hare output is the empty
//! block id).
//!
//! Invariants:
//! 1. [`build`] is a pure function of the hare output: the order the proposals are given in
//!    does not matter, and every node with the same output builds byte-identical blocks.
//! 2. A block holds one reward per ATX, sorted by ATX id, each a reduced ratio with a positive
//!    denominator; transactions are distinct.
//! 3. Every length is bounded by the wire ([`REWARDS_MAX`], [`TXS_MAX`]), and the generator
//!    never builds a block that would not decode.
//!
//! - [`wire`]: [`Block`], [`InnerBlock`], [`Reward`], [`Ratio`].
//! - [`generator`]: [`build`] and the transaction order.

pub mod generator;
pub mod wire;

pub use generator::{BlockConfig, BlockError, ProposalInfo, build, order_transactions};
pub use wire::{Block, InnerBlock, REWARDS_MAX, Ratio, Reward, TXS_MAX};

#[cfg(test)]
mod tests;
