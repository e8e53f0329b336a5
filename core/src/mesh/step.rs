//! One layer's application as a value a runtime may remember: a runtime hosting many nodes
//! computes it once per (state, block) and every node that applies the same block to the same
//! state adopts the result (see [`crate::crypto::Verifier::recall_layer_step`]). A real node
//! remembers nothing and computes every layer itself.

use std::sync::Arc;

use crate::state::{BlockOutcome, Change, LedgerState};
use crate::types::{BlockId, GenesisId, Hash32, LayerId};

/// Everything a layer's application reads besides what the block id commits to (its
/// transactions by id, its rewards by ATX, which commits to the coinbase): the state it starts
/// from, by root, and the rules it runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StepKey {
    /// The state root before the layer.
    pub root: Hash32,
    /// The layer (vaults vest by it, the subsidy follows it).
    pub layer: LayerId,
    /// The block applied.
    pub block: BlockId,
    /// The network (transaction signatures cover it).
    pub genesis: GenesisId,
    /// The layer the subsidy counts from.
    pub effective_genesis: LayerId,
    /// Gas a block may consume.
    pub gas_limit: u64,
}

/// What applying a block to a state gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerStep {
    /// The accounts and tree after the layer.
    pub state: Arc<LedgerState>,
    /// Every account the layer changed, in address order.
    pub changes: Arc<[Change]>,
    /// The transactions' outcomes and fees.
    pub outcome: BlockOutcome,
    /// Smidge credited to coinbases.
    pub issued: u64,
}
