//! Block wire format (go-spacemesh `types.InnerBlock`, `types.AnyReward`, `types.RatNum`).
//!
//! A block is never gossiped: every node derives it from the hare output (see
//! [`super::build`]), and a syncing node that fetches one checks it against its id.

use crate::activation::wire::AtxId;
use crate::codec::{BoundedVec, Decode, DecodeError, Encode, Reader};
use crate::crypto::hash;
use crate::hare::PROPOSALS_MAX;
use crate::impl_codec_struct;
use crate::types::{BlockId, Hash32, LayerId};

/// Most rewards in one block: one per ATX, and each proposal of the hare output has its own
/// ATX, so at most one per proposal (go-spacemesh `InnerBlock.Rewards`, `max=2350`).
pub const REWARDS_MAX: usize = PROPOSALS_MAX;
/// Most transactions in one block (go-spacemesh `InnerBlock.TxIDs`, `max=100000`).
pub const TXS_MAX: usize = 100_000;

/// A non-negative rational number `num / den` (go-spacemesh `types.RatNum`). Blocks carry
/// reward weights this way so that every implementation computes rewards exactly.
///
/// A zero denominator does not decode: no honest node builds one, and it would make every
/// reward computation over the block divide by zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ratio {
    /// The numerator.
    pub num: u64,
    /// The denominator, positive.
    pub den: u64,
}

impl Encode for Ratio {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.num.encode_to(out);
        self.den.encode_to(out);
    }
}

impl Decode for Ratio {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let num = u64::decode(r)?;
        let den = u64::decode(r)?;
        if den == 0 {
            return Err(DecodeError::InvalidValue("ratio with a zero denominator"));
        }
        Ok(Ratio { num, den })
    }
}

/// The reward share of one ATX in a block (go-spacemesh `types.AnyReward`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reward {
    /// The ATX whose coinbase is rewarded.
    pub atx: AtxId,
    /// Its weight: ATX weight × eligibilities in the layer / slots in the epoch, reduced.
    pub weight: Ratio,
}
impl_codec_struct!(Reward { atx, weight });

/// The content of a block; its encoding is what the block id hashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InnerBlock {
    /// The layer the block is for.
    pub layer: LayerId,
    /// The highest base tick height among the ATXs of the block's proposals.
    pub tick_height: u64,
    /// Rewards, one per ATX, sorted by ATX id.
    pub rewards: BoundedVec<Reward, REWARDS_MAX>,
    /// Transaction ids in execution order.
    pub tx_ids: BoundedVec<Hash32, TXS_MAX>,
}
impl_codec_struct!(InnerBlock { layer, tick_height, rewards, tx_ids });

/// A block: the layer's content as decided by the hare. Encodes exactly as its inner block.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Block {
    /// The content.
    pub inner: InnerBlock,
}
impl_codec_struct!(Block { inner });

impl Block {
    /// The block id: the first 20 bytes of the BLAKE3 hash of the inner block's encoding
    /// (go-spacemesh `Block.Initialize`).
    pub fn id(&self) -> BlockId {
        let h = hash(&self.inner.encode());
        let mut id = [0u8; BlockId::LEN];
        id.copy_from_slice(&h.0[..BlockId::LEN]);
        BlockId(id)
    }

    /// The layer of the block.
    pub fn layer(&self) -> LayerId {
        self.inner.layer
    }
}
