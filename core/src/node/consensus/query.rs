//! Read-only questions the node's API asks of consensus state that no other accessor answers.

use crate::activation::wire::{Address, AtxId};
use crate::rewards::{layer_subsidy, split};
use crate::types::{LayerId, NodeId};

use super::Consensus;

/// One coinbase's share of an applied layer's rewards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerReward {
    /// The layer.
    pub layer: LayerId,
    /// The rewarded ATX.
    pub atx: AtxId,
    /// Its identity.
    pub smesher: NodeId,
    /// Where the reward went.
    pub coinbase: Address,
    /// Smidge credited: its share of the subsidy and the layer's fees.
    pub total: u64,
    /// Smidge of `total` from the layer's subsidy (the rest is fees).
    pub layer_reward: u64,
}

impl Consensus {
    /// The rewards credited in applied layer `layer`, in the block's reward order, as the mesh
    /// credited them (shares of zero credit nothing and are left out). `None` when the mesh no
    /// longer keeps the layer or this node no longer holds its block; empty for an empty layer.
    pub fn layer_rewards(&self, layer: LayerId) -> Option<Vec<LayerReward>> {
        let applied = self.mesh.layer(layer)?;
        let Some(id) = applied.block else {
            return Some(Vec::new());
        };
        let block = self.block_data.get(&(layer, id))?;
        let index = layer.0.checked_sub(self.mesh.effective_genesis().0 + 1)?;
        let subsidy = layer_subsidy(index);
        let rewards = &block.inner.rewards;
        let totals = split(subsidy.checked_add(applied.fees)?, rewards).ok()?;
        let subsidies = split(subsidy, rewards).ok()?;
        let store = self.atxs.store();
        let mut out = Vec::with_capacity(totals.len());
        for ((atx, total), (_, layer_reward)) in totals.into_iter().zip(subsidies) {
            if total == 0 {
                continue;
            }
            let header = store.get(&atx)?;
            out.push(LayerReward {
                layer,
                atx,
                smesher: header.smesher,
                coinbase: header.coinbase,
                total,
                layer_reward,
            });
        }
        Some(out)
    }
}
