//! The transactions of an applied layer, with what executing them did, for the API's
//! transaction stream.

use bytes::Bytes;

use crate::mesh::TxResult;
use crate::types::LayerId;

use super::Consensus;

/// One transaction of an applied layer's block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerTx {
    /// The layer.
    pub layer: LayerId,
    /// The block it was in.
    pub block: crate::types::BlockId,
    /// Its bytes.
    pub raw: Bytes,
    /// What executing it did.
    pub result: TxResult,
}

impl Consensus {
    /// The transactions of applied layer `layer`, in block (execution) order. `None` when the
    /// mesh no longer keeps the layer or this node no longer holds its block; empty for an
    /// empty layer. A transaction whose result is recorded in another layer (the same id in a
    /// later block) or whose bytes are no longer kept is left out.
    pub fn layer_txs(&self, layer: LayerId) -> Option<Vec<LayerTx>> {
        let applied = self.mesh.layer(layer)?;
        let Some(block) = applied.block else {
            return Some(Vec::new());
        };
        let data = self.block_data.get(&(layer, block))?;
        let txs = data
            .inner
            .tx_ids
            .iter()
            .filter_map(|id| {
                let (at, result) = self.tx_results.get(id)?;
                if *at != layer {
                    return None;
                }
                let raw = self.tx_raw(id)?;
                Some(LayerTx { layer, block, raw, result: result.clone() })
            })
            .collect();
        Some(txs)
    }
}
