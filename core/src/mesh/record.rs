//! The hash formulas, the store layout and restore (see the module docs of [`super`]).

use std::collections::BTreeMap;

use crate::activation::wire::Address;
use crate::block::REWARDS_MAX;
use crate::codec::{BoundedVec, Encode, decode_exact};
use crate::crypto::hash;
use crate::impl_codec_struct;
use crate::rewards::layer_subsidy;
use crate::store::Snapshot;
use crate::types::{BlockId, Hash32, LayerId};

use super::{AppliedLayer, Credit, LayerEntry, Mesh, MeshError};

/// Domain tag of state hashes.
pub const STATE_DOMAIN: &[u8] = b"spacemesh/mesh/state/v1";
/// Domain tag of aggregated hashes.
pub const AGGREGATED_DOMAIN: &[u8] = b"spacemesh/mesh/aggregated/v1";

/// Every mesh key starts with this.
const MESH_PREFIX: &[u8] = b"mesh/";
/// Key prefix of layer records; the layer follows as 4 big-endian bytes.
pub const LAYER_PREFIX: &[u8] = b"mesh/layer/";
/// Key prefix of account balances; the 24-byte address follows.
pub const ACCOUNT_PREFIX: &[u8] = b"mesh/account/";
/// Key of the applied layer, so that a lost tail of layer records is noticed.
pub const APPLIED_KEY: &[u8] = b"mesh/applied";

/// The state hash of the effective genesis.
pub fn genesis_state() -> Hash32 {
    hash(STATE_DOMAIN)
}

/// The aggregated hash of the effective genesis.
pub fn genesis_aggregated() -> Hash32 {
    hash(AGGREGATED_DOMAIN)
}

/// `B(L)`: a tag byte and the block id, or zeros for an empty layer.
fn block_marker(block: Option<BlockId>) -> [u8; 1 + BlockId::LEN] {
    let mut out = [0u8; 1 + BlockId::LEN];
    if let Some(id) = block {
        out[0] = 1;
        out[1..].copy_from_slice(&id.0);
    }
    out
}

/// The state hash of `layer` from the one below it, its block and its credits (in address
/// order).
pub fn state_hash(
    prev: &Hash32,
    layer: LayerId,
    block: Option<BlockId>,
    credits: &[Credit],
) -> Hash32 {
    let mut h = blake3::Hasher::new();
    h.update(STATE_DOMAIN);
    h.update(&prev.0);
    h.update(&layer.0.to_le_bytes());
    h.update(&block_marker(block));
    let count = u32::try_from(credits.len()).expect("credits are bounded by REWARDS_MAX");
    h.update(&count.to_le_bytes());
    for credit in credits {
        h.update(&credit.address.0);
        h.update(&credit.amount.to_le_bytes());
    }
    Hash32(*h.finalize().as_bytes())
}

/// The aggregated hash of a layer from the one below it and its block.
pub fn aggregated_hash(prev: &Hash32, block: Option<BlockId>) -> Hash32 {
    let mut h = blake3::Hasher::new();
    h.update(AGGREGATED_DOMAIN);
    h.update(&prev.0);
    h.update(&block_marker(block));
    Hash32(*h.finalize().as_bytes())
}

/// The persisted record of one applied layer (its layer is in the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRecord {
    /// The block applied, `None` for an empty layer.
    pub block: Option<BlockId>,
    /// The state hash after the layer.
    pub state: Hash32,
    /// The aggregated hash after the layer.
    pub aggregated: Hash32,
    /// Smidge credited in the layer.
    pub issued: u64,
    /// The credits, in address order: at most one per reward of the block.
    pub credits: BoundedVec<Credit, REWARDS_MAX>,
}
impl_codec_struct!(LayerRecord { block, state, aggregated, issued, credits });

/// The store key of a layer record.
pub(super) fn layer_key(layer: LayerId) -> Vec<u8> {
    [LAYER_PREFIX, &layer.0.to_be_bytes()].concat()
}

/// The store key of an account balance.
pub(super) fn account_key(address: &Address) -> Vec<u8> {
    [ACCOUNT_PREFIX, &address.0].concat()
}

/// The encoded record of a kept layer.
pub(super) fn encode_record(entry: &LayerEntry) -> Vec<u8> {
    let a = &entry.applied;
    LayerRecord {
        block: a.block,
        state: a.state,
        aggregated: a.aggregated,
        issued: a.issued,
        credits: BoundedVec::new(entry.credits.clone())
            .expect("one credit per coinbase, at most one coinbase per reward"),
    }
    .encode()
}

/// Which subsidy `layer` mints: 0 for the first layer after the effective genesis.
pub(super) fn subsidy_index(layer: LayerId, effective_genesis: LayerId) -> u32 {
    layer.0.checked_sub(effective_genesis.0 + 1).expect("only layers after the genesis mint")
}

/// Checks that credits are positive, strictly in address order and sum to the issued amount,
/// and that an empty layer has none.
pub(super) fn check_credits(a: &AppliedLayer, credits: &[Credit]) -> Result<(), MeshError> {
    let bad = MeshError::BadCredits(a.layer);
    if a.block.is_none() && !credits.is_empty() {
        return Err(bad);
    }
    if credits.iter().any(|c| c.amount == 0)
        || credits.windows(2).any(|w| w[0].address >= w[1].address)
    {
        return Err(bad);
    }
    let sum = credits.iter().try_fold(0u64, |acc, c| acc.checked_add(c.amount));
    if sum != Some(a.issued) {
        return Err(bad);
    }
    Ok(())
}

/// Replays the mesh keys of `snapshot` onto `mesh` (a new one) and checks them.
pub(super) fn restore(mut mesh: Mesh, snapshot: &Snapshot) -> Result<Mesh, MeshError> {
    let mut stored = BTreeMap::new();
    let mut stored_applied = None;
    let keys =
        snapshot.range(MESH_PREFIX.to_vec()..).take_while(|(k, _)| k.starts_with(MESH_PREFIX));
    for (key, value) in keys {
        let bad_key = || MeshError::BadKey(key.clone());
        if let Some(rest) = key.strip_prefix(LAYER_PREFIX) {
            let layer = LayerId(u32::from_be_bytes(rest.try_into().map_err(|_| bad_key())?));
            restore_layer(&mut mesh, layer, value)?;
        } else if let Some(rest) = key.strip_prefix(ACCOUNT_PREFIX) {
            let address = Address(rest.try_into().map_err(|_| bad_key())?);
            let balance = decode_exact::<u64>(value)
                .map_err(|error| MeshError::BadBalance { address, error })?;
            stored.insert(address, balance);
        } else if key == APPLIED_KEY {
            stored_applied =
                Some(LayerId(decode_exact::<u32>(value).map_err(MeshError::BadApplied)?));
        } else {
            return Err(bad_key());
        }
    }
    let replayed = mesh.applied();
    if stored_applied.unwrap_or(mesh.effective_genesis) != replayed {
        return Err(MeshError::AppliedMismatch { stored: stored_applied, replayed });
    }
    // The lowest address whose stored and replayed balances differ is reported.
    let mut addresses: Vec<&Address> = stored.keys().chain(mesh.balances.keys()).collect();
    addresses.sort();
    addresses.dedup();
    for address in addresses {
        let (stored, replayed) = (stored.get(address).copied().unwrap_or(0), mesh.balance(address));
        if stored != replayed {
            return Err(MeshError::BalanceMismatch { address: *address, stored, replayed });
        }
    }
    Ok(mesh)
}

/// Checks the record of `layer` against the applied layer below it and applies it.
fn restore_layer(mesh: &mut Mesh, layer: LayerId, value: &[u8]) -> Result<(), MeshError> {
    let applied = mesh.applied();
    if applied.0.checked_add(1) != Some(layer.0) {
        return Err(MeshError::LayerGap {
            expected: LayerId(applied.0.wrapping_add(1)),
            found: layer,
        });
    }
    let record: LayerRecord =
        decode_exact(value).map_err(|error| MeshError::BadRecord { layer, error })?;
    let claimed = AppliedLayer {
        layer,
        block: record.block,
        state: record.state,
        aggregated: record.aggregated,
        issued: record.issued,
    };
    let credits = record.credits.into_inner();
    check_credits(&claimed, &credits)?;
    // The subsidy bounds every balance, so replaying stays within u64 even for crafted records.
    if claimed.issued > layer_subsidy(subsidy_index(layer, mesh.effective_genesis)) {
        return Err(MeshError::BadCredits(layer));
    }
    let entry = mesh.next_entry(layer, claimed.block, credits);
    if entry.applied != claimed {
        return Err(MeshError::HashMismatch(layer));
    }
    mesh.push(entry);
    Ok(())
}
