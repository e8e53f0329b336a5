//! The hash formulas, the store layout and restore (see the module docs of [`super`]).

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::account::Address;
use crate::block::{REWARDS_MAX, TXS_MAX};
use crate::codec::{BoundedBytes, BoundedVec, Encode, decode_exact};
use crate::crypto::hash;
use crate::impl_codec_struct;
use crate::rewards::layer_subsidy;
use crate::state::{Account, Change};
use crate::store::{Batch, Snapshot};
use crate::types::{BlockId, Hash32, LayerId};

use super::{AppliedLayer, Mesh, MeshError};

/// Domain tag of state hashes.
pub const STATE_DOMAIN: &[u8] = b"spacemesh/mesh/state/v2";
/// Domain tag of aggregated hashes.
pub const AGGREGATED_DOMAIN: &[u8] = b"spacemesh/mesh/aggregated/v1";

/// Every mesh key starts with this.
const MESH_PREFIX: &[u8] = b"mesh/";
/// Key prefix of layer records; the layer follows as 4 big-endian bytes.
pub const LAYER_PREFIX: &[u8] = b"mesh/layer/";
/// Key prefix of accounts; the 24-byte address follows.
pub const ACCOUNT_PREFIX: &[u8] = b"mesh/account/";
/// Key of the applied layer, so that a lost tail of layer records is noticed.
pub const APPLIED_KEY: &[u8] = b"mesh/applied";

/// Most accounts one layer changes: each transaction touches at most three (its principal, a
/// destination or spawned account, a vault), and each reward one coinbase.
pub const CHANGES_MAX: usize = 3 * TXS_MAX + REWARDS_MAX;
/// Longest stored reason of a transaction's result, in bytes.
pub const REASON_MAX: usize = 160;

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

/// The state hash of `layer` from the one below it, its block, the state root after it, and
/// the smidge it issued and charged.
pub fn state_hash(
    prev: &Hash32,
    layer: LayerId,
    block: Option<BlockId>,
    root: &Hash32,
    issued: u64,
    fees: u64,
) -> Hash32 {
    let mut h = blake3::Hasher::new();
    h.update(STATE_DOMAIN);
    h.update(&prev.0);
    h.update(&layer.0.to_le_bytes());
    h.update(&block_marker(block));
    h.update(&root.0);
    h.update(&issued.to_le_bytes());
    h.update(&fees.to_le_bytes());
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

/// What became of one transaction of an applied block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxResult {
    /// The transaction.
    pub id: Hash32,
    /// [`TxResult::SUCCEEDED`], [`TxResult::FAILED`] or [`TxResult::INEFFECTIVE`].
    pub status: u8,
    /// Smidge it paid.
    pub fee: u64,
    /// Why it failed or was ineffective (UTF-8, empty when it succeeded).
    pub reason: BoundedBytes<REASON_MAX>,
}
impl_codec_struct!(TxResult { id, status, fee, reason });

impl TxResult {
    /// Executed, and its call succeeded.
    pub const SUCCEEDED: u8 = 0;
    /// Executed (it paid), but its call failed.
    pub const FAILED: u8 = 1;
    /// Skipped without effect.
    pub const INEFFECTIVE: u8 = 2;

    /// Whether it was executed (its nonce is used).
    pub fn executed(&self) -> bool {
        self.status != TxResult::INEFFECTIVE
    }

    /// The reason as text.
    pub fn reason(&self) -> String {
        String::from_utf8_lossy(&self.reason).into_owned()
    }
}

/// A reason as stored: at most [`REASON_MAX`] bytes, cut at a character boundary.
pub(super) fn reason_text(mut s: String) -> BoundedBytes<REASON_MAX> {
    if s.len() > REASON_MAX {
        let mut cut = REASON_MAX;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    BoundedBytes::new(Bytes::from(s)).expect("cut to REASON_MAX")
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
    /// The state root after the layer.
    pub root: Hash32,
    /// Smidge credited in the layer.
    pub issued: u64,
    /// Smidge paid as fees in the layer.
    pub fees: u64,
    /// One result per transaction of the block, in block order.
    pub txs: BoundedVec<TxResult, TXS_MAX>,
    /// Every account the layer changed, in address order, before and after.
    pub changes: BoundedVec<Change, CHANGES_MAX>,
}
impl_codec_struct!(LayerRecord { block, state, aggregated, root, issued, fees, txs, changes });

/// The store key of a layer record.
pub(super) fn layer_key(layer: LayerId) -> Vec<u8> {
    [LAYER_PREFIX, &layer.0.to_be_bytes()].concat()
}

/// The store key of an account.
pub(super) fn account_key(address: &Address) -> Vec<u8> {
    [ACCOUNT_PREFIX, &address.0].concat()
}

/// Writes an account's value, or deletes it when empty.
pub(super) fn put_account(batch: &mut Batch, address: &Address, account: &Account) {
    if *account == Account::default() {
        batch.delete(&account_key(address));
    } else {
        batch.put(&account_key(address), &account.encode());
    }
}

/// The encoded record of an applied layer.
pub(super) fn encode_record(a: &AppliedLayer, txs: &[TxResult], changes: &[Change]) -> Vec<u8> {
    LayerRecord {
        block: a.block,
        state: a.state,
        aggregated: a.aggregated,
        root: a.root,
        issued: a.issued,
        fees: a.fees,
        txs: BoundedVec::new(txs.to_vec()).expect("one result per transaction of a block"),
        changes: BoundedVec::new(changes.to_vec()).expect("a layer changes at most CHANGES_MAX"),
    }
    .encode()
}

/// Which subsidy `layer` mints: 0 for the first layer after the effective genesis.
pub(super) fn subsidy_index(layer: LayerId, effective_genesis: LayerId) -> u32 {
    layer.0.checked_sub(effective_genesis.0 + 1).expect("only layers after the genesis mint")
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
            let account = decode_exact::<Account>(value)
                .map_err(|error| MeshError::BadAccount { address, error })?;
            stored.insert(address, account);
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
    // The lowest address whose stored and replayed accounts differ is reported.
    let accounts = mesh.ledger.accounts();
    let mut addresses: Vec<&Address> =
        stored.keys().chain(accounts.iter().map(|(a, _)| a)).collect();
    addresses.sort();
    addresses.dedup();
    for address in addresses {
        let stored = stored.get(address).cloned();
        let replayed = Some(accounts.get(address)).filter(|a| *a != Account::default());
        if stored != replayed {
            return Err(MeshError::AccountMismatch { address: *address, stored, replayed });
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
    check_supply(mesh, layer, &record)?;
    let changes = record.changes.into_inner();
    mesh.ledger.replay(layer, &changes).map_err(|error| MeshError::BadChanges { layer, error })?;
    let next = mesh.next_layer(layer, record.block, record.issued, record.fees);
    let claimed = AppliedLayer {
        layer,
        block: record.block,
        state: record.state,
        aggregated: record.aggregated,
        root: record.root,
        issued: record.issued,
        fees: record.fees,
    };
    if next != claimed {
        mesh.ledger.revert(applied).expect("the layer just replayed is kept");
        return Err(MeshError::HashMismatch(layer));
    }
    mesh.push(next);
    Ok(())
}

/// A record's coins add up: its balances change by what it issued less its fees, it issues at
/// most its subsidy plus its fees, and an empty layer neither issues nor charges.
fn check_supply(mesh: &Mesh, layer: LayerId, record: &LayerRecord) -> Result<(), MeshError> {
    let bad = MeshError::BadSupply(layer);
    if record.block.is_none() && (record.issued != 0 || record.fees != 0 || !record.txs.is_empty())
    {
        return Err(bad);
    }
    let subsidy = layer_subsidy(subsidy_index(layer, mesh.effective_genesis));
    if u128::from(record.issued) > u128::from(subsidy) + u128::from(record.fees) {
        return Err(bad);
    }
    let delta: i128 = record
        .changes
        .iter()
        .map(|c| i128::from(c.after.balance) - i128::from(c.before.balance))
        .sum();
    if delta != i128::from(record.issued) - i128::from(record.fees) {
        return Err(bad);
    }
    Ok(())
}
