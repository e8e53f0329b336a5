//! The mesh: the tortoise's valid block of each layer applied, in layer order, to the account
//! state, with a per-layer state hash, an aggregated hash, and reverts when the tortoise changes
//! its mind (protocol.md sections 9 and 11; go-spacemesh `mesh/mesh.go` `ProcessLayer`,
//! `applyResults`, `revertState`, and `genvm/rewards.go`).
//!
//! [`Mesh`] is Sans-IO: [`Mesh::apply`] and [`Mesh::revert`] change the in-memory state and
//! return the [`Batch`] that makes the change durable; [`Mesh::restore`] rebuilds the state
//! from a [`Snapshot`] and checks everything it can recompute.
//!
//! # Accounts and rewards
//!
//! There is no VM yet: the account state is the balance of every coinbase address, credited
//! with layer rewards. A layer `L` with a block mints `layer_subsidy(L − g − 1)` (with `g` the
//! effective genesis, so the first layer after it is subsidy index 0), split over the block's
//! rewards by their exact weights ([`crate::rewards::split()`]); each share goes to the coinbase
//! of its ATX, shares of ATXs with one coinbase are summed, and the floors' dust is burnt. An
//! empty layer (no valid block) mints nothing, as in go-spacemesh. There are no transaction
//! fees yet. A layer's *credits* are its `(address, amount)` pairs with a positive amount,
//! sorted by address; its *issued* amount is their sum.
//!
//! # Hashes
//!
//! With `B(L)` = `0x01 ‖ block id` for a layer with a block and `0x00 ‖ 0²⁰` for an empty one
//! (21 bytes either way), `le32`/`le64` little-endian integers and `H` BLAKE3-256:
//!
//! ```text
//! state(g)      = H("spacemesh/mesh/state/v1")
//! aggregated(g) = H("spacemesh/mesh/aggregated/v1")
//! state(L)      = H("spacemesh/mesh/state/v1" ‖ state(L−1) ‖ le32(L) ‖ B(L)
//!                   ‖ le32(#credits) ‖ (address ‖ le64(amount))* in address order)
//! aggregated(L) = H("spacemesh/mesh/aggregated/v1" ‖ aggregated(L−1) ‖ B(L))
//! ```
//!
//! So equal state hashes at a layer mean the same blocks and the same credits at every layer
//! up to it; equal aggregated hashes mean the same block ids.
//!
//! # Persistence
//!
//! - `mesh/layer/` ‖ `be32(L)` → [`LayerRecord`] (block, state, aggregated, issued, credits):
//!   one per applied layer, kept for the whole history; big-endian so the keys sort by layer.
//! - `mesh/account/` ‖ address → `le64(balance)`, only for positive balances.
//! - `mesh/applied` → `le32(applied layer)`, absent while nothing is applied.
//!
//! An apply writes its layer record, the new balance of every credited account and the applied
//! layer; a revert deletes the undone records, writes (or deletes, at zero) the balances it
//! changed and the applied layer. Restore replays the records from `g + 1` on and refuses, with
//! a typed [`MeshError`], a key it does not know, a value that does not decode, a gap in the
//! layers, credits that do not add up or exceed the layer's subsidy, a hash that does not chain
//! from its predecessor, a stored balance that differs from the replayed one, and an applied
//! layer other than the last record's (a lost tail). It never silently resets.
//!
//! # Invariants (checked by [`Mesh::check_invariants`])
//!
//! 1. Layers move one at a time: [`Mesh::apply`] takes exactly `applied + 1`,
//!    [`Mesh::revert`] goes down to at least [`Mesh::revertible_to`]; a call that returns an
//!    error changes nothing.
//! 2. Conservation: the balances sum to [`Mesh::total_issued`], which is the sum of the issued
//!    amounts of the applied layers; a layer never issues more than its subsidy; only
//!    positive balances are kept.
//! 3. The hash chain: every kept layer's hashes follow from its predecessor's by the formulas
//!    above, and the effective genesis has the genesis values.
//! 4. A revert is exact: applying layers and reverting them leaves the state, balances, issuance
//!    and hashes bit-identical to before.
//! 5. Memory is bounded: at most `revert_max + 1` layers are kept (the newest `revert_max` with
//!    their credits as undo information, plus the one below them as the base of their hashes);
//!    older layers live only in the store, so [`Mesh::layer`] forgets them and a revert that
//!    deep is a [`MeshError::RevertTooDeep`].
//! 6. Determinism: ordered maps only; batches list accounts in address order.
//!
//! Deviations from the reference: go-spacemesh's state hash is the hash of the encoded accounts
//! a layer changed (not chained); here it chains the previous state hash and the layer's
//! credits, since there is no VM or account encoding yet. go-spacemesh stores the tortoise's
//! opinion hash as the aggregated hash; here it chains the applied block ids, so it depends on
//! the mesh alone. There are no transactions or fees; checkpoint recovery is not supported.
//!
//! Files: `record.rs` (hashes, store keys, the persisted record and restore), `tests.rs`.

#![deny(missing_docs)]

mod record;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use record::{
    ACCOUNT_PREFIX, AGGREGATED_DOMAIN, APPLIED_KEY, LAYER_PREFIX, LayerRecord, STATE_DOMAIN,
    aggregated_hash, genesis_aggregated, genesis_state, state_hash,
};

use crate::activation::wire::{Address, AtxId};
use crate::block::Block;
use crate::codec::DecodeError;
use crate::impl_codec_struct;
use crate::rewards::{SplitError, layer_subsidy, split};
use crate::store::{Batch, Snapshot};
use crate::types::{BlockId, Hash32, LayerId};

/// Mesh parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeshConfig {
    /// Applied layers whose undo information is kept: the deepest revert below the applied
    /// layer. Should cover the tortoise's window, since that is how far back it can change its
    /// mind.
    pub revert_max: u32,
}

impl Default for MeshConfig {
    /// 1000 layers, the tortoise's window in simulation.
    fn default() -> Self {
        MeshConfig { revert_max: 1000 }
    }
}

/// What one coinbase received in one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credit {
    /// The coinbase.
    pub address: Address,
    /// The amount in smidge, positive.
    pub amount: u64,
}
impl_codec_struct!(Credit { address, amount });

/// The outcome of applying one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppliedLayer {
    /// The layer.
    pub layer: LayerId,
    /// The block applied, `None` for an empty layer.
    pub block: Option<BlockId>,
    /// The state hash after the layer.
    pub state: Hash32,
    /// The aggregated hash after the layer.
    pub aggregated: Hash32,
    /// Smidge credited to coinbases in the layer.
    pub issued: u64,
}

/// Why the mesh refused an apply, a revert or a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MeshError {
    /// Layers are applied one at a time, in order.
    #[error("{layer} is not the next layer after the applied {applied}")]
    NotNext {
        /// The layer given.
        layer: LayerId,
        /// The last applied layer.
        applied: LayerId,
    },
    /// The block is for another layer.
    #[error("block {block} is for {block_layer}, not {layer}")]
    WrongBlockLayer {
        /// The block.
        block: BlockId,
        /// The block's own layer.
        block_layer: LayerId,
        /// The layer being applied.
        layer: LayerId,
    },
    /// A reward names an ATX whose coinbase is unknown.
    #[error("{layer}: reward for unknown ATX {atx}")]
    UnknownAtx {
        /// The layer being applied.
        layer: LayerId,
        /// The ATX.
        atx: AtxId,
    },
    /// The block's reward weights cannot be split.
    #[error("{layer}: {error}")]
    Split {
        /// The layer being applied.
        layer: LayerId,
        /// Why.
        error: SplitError,
    },
    /// A revert target above the applied layer.
    #[error("cannot revert to {to}: the applied layer is {applied}")]
    RevertAhead {
        /// The target.
        to: LayerId,
        /// The last applied layer.
        applied: LayerId,
    },
    /// A revert below the effective genesis, or below the kept undo information.
    #[error("cannot revert to {to}: undo information reaches down to {lowest}")]
    RevertTooDeep {
        /// The target.
        to: LayerId,
        /// The lowest layer a revert can reach ([`Mesh::revertible_to`]).
        lowest: LayerId,
    },
    /// A store key under `mesh/` of no known shape.
    #[error("unknown or malformed mesh key {0:02x?}")]
    BadKey(Vec<u8>),
    /// The stored applied layer does not decode.
    #[error("the applied layer does not decode: {0}")]
    BadApplied(DecodeError),
    /// The stored applied layer (`None`: missing) is not the last replayed layer.
    #[error("the stored applied layer is {stored:?}, the records end at {replayed}")]
    AppliedMismatch {
        /// The stored applied layer.
        stored: Option<LayerId>,
        /// The last layer of the records (the effective genesis if there are none).
        replayed: LayerId,
    },
    /// A layer record that does not decode.
    #[error("record of {layer} does not decode: {error}")]
    BadRecord {
        /// The record's layer.
        layer: LayerId,
        /// Why.
        error: DecodeError,
    },
    /// An account balance that does not decode.
    #[error("balance of {address:?} does not decode: {error}")]
    BadBalance {
        /// The account.
        address: Address,
        /// Why.
        error: DecodeError,
    },
    /// The stored layers do not follow one another from the effective genesis on.
    #[error("stored layers have a gap: expected {expected}, found {found}")]
    LayerGap {
        /// The layer that should come next.
        expected: LayerId,
        /// The layer found.
        found: LayerId,
    },
    /// A record's credits are unsorted, zero, do not sum to its issued amount, exceed the
    /// layer's subsidy, or belong to an empty layer.
    #[error("credits of {0} are inconsistent")]
    BadCredits(LayerId),
    /// A record's state or aggregated hash does not follow from its predecessor's.
    #[error("hashes of {0} do not chain from the layer below")]
    HashMismatch(LayerId),
    /// A stored balance (0 = missing) differs from the one the layer records add up to.
    #[error("balance of {address:?} is {stored}, the layers add up to {replayed}")]
    BalanceMismatch {
        /// The account.
        address: Address,
        /// The stored balance.
        stored: u64,
        /// The balance replayed from the records.
        replayed: u64,
    },
}

/// A kept layer: its outcome and its credits (the undo information).
#[derive(Debug, Clone, PartialEq, Eq)]
struct LayerEntry {
    applied: AppliedLayer,
    credits: Vec<Credit>,
}

/// The applied layers and the account state they produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mesh {
    cfg: MeshConfig,
    effective_genesis: LayerId,
    /// Contiguous kept layers, oldest first; the last is the applied layer. Never empty, at
    /// most `revert_max + 1` long; the effective genesis is a pseudo-layer with no credits.
    window: VecDeque<LayerEntry>,
    /// Positive balances only.
    balances: BTreeMap<Address, u64>,
    total_issued: u64,
}

impl Mesh {
    /// A mesh with nothing applied after `effective_genesis`.
    pub fn new(cfg: MeshConfig, effective_genesis: LayerId) -> Self {
        let genesis = AppliedLayer {
            layer: effective_genesis,
            block: None,
            state: genesis_state(),
            aggregated: genesis_aggregated(),
            issued: 0,
        };
        Mesh {
            cfg,
            effective_genesis,
            window: VecDeque::from([LayerEntry { applied: genesis, credits: Vec::new() }]),
            balances: BTreeMap::new(),
            total_issued: 0,
        }
    }

    /// Rebuilds the mesh from what its batches made durable (an empty snapshot gives
    /// [`Mesh::new`]); see the module docs for what is checked.
    pub fn restore(
        cfg: MeshConfig,
        effective_genesis: LayerId,
        snapshot: &Snapshot,
    ) -> Result<Self, MeshError> {
        record::restore(Mesh::new(cfg, effective_genesis), snapshot)
    }

    /// Applies `layer`, which must be the one after [`Mesh::applied`], with its valid block
    /// (`None`: the layer is empty). `coinbase` gives the coinbase of a reward's ATX. Returns the
    /// outcome and the batch to persist; on an error nothing changes.
    pub fn apply(
        &mut self,
        layer: LayerId,
        block: Option<&Block>,
        coinbase: impl Fn(&AtxId) -> Option<Address>,
    ) -> Result<(AppliedLayer, Batch), MeshError> {
        let applied = self.applied();
        if applied.0.checked_add(1) != Some(layer.0) {
            return Err(MeshError::NotNext { layer, applied });
        }
        let credits = match block {
            None => Vec::new(),
            Some(block) => self.credits_of(layer, block, coinbase)?,
        };
        let entry = self.next_entry(layer, block.map(Block::id), credits);
        let mut batch = Batch::default();
        batch.put(&record::layer_key(layer), &record::encode_record(&entry));
        self.push(entry.clone());
        for credit in &entry.credits {
            let balance = self.balance(&credit.address);
            batch.put(&record::account_key(&credit.address), &balance.to_le_bytes());
        }
        batch.put(APPLIED_KEY, &layer.0.to_le_bytes());
        Ok((entry.applied, batch))
    }

    /// Undoes every applied layer above `to`, newest first, restoring balances exactly, and
    /// returns the batch to persist (empty when `to` is the applied layer). `to` must be at
    /// least [`Mesh::revertible_to`]; on an error nothing changes.
    pub fn revert(&mut self, to: LayerId) -> Result<Batch, MeshError> {
        let applied = self.applied();
        if to > applied {
            return Err(MeshError::RevertAhead { to, applied });
        }
        let lowest = self.revertible_to();
        if to < lowest {
            return Err(MeshError::RevertTooDeep { to, lowest });
        }
        let mut batch = Batch::default();
        let mut touched = BTreeMap::new();
        while self.applied() > to {
            let entry = self.window.pop_back().expect("the window holds every layer down to `to`");
            batch.delete(&record::layer_key(entry.applied.layer));
            for credit in &entry.credits {
                let balance =
                    self.balances.get_mut(&credit.address).expect("a credited account exists");
                *balance = balance.checked_sub(credit.amount).expect("balance covers its credits");
                touched.insert(credit.address, *balance);
            }
            self.total_issued = self
                .total_issued
                .checked_sub(entry.applied.issued)
                .expect("total issued covers every layer");
        }
        for (address, balance) in touched {
            if balance == 0 {
                self.balances.remove(&address);
                batch.delete(&record::account_key(&address));
            } else {
                batch.put(&record::account_key(&address), &balance.to_le_bytes());
            }
        }
        if to < applied {
            // With every layer undone the store holds no mesh key, as before the first apply.
            if to == self.effective_genesis {
                batch.delete(APPLIED_KEY);
            } else {
                batch.put(APPLIED_KEY, &to.0.to_le_bytes());
            }
        }
        Ok(batch)
    }

    /// The last applied layer (the effective genesis before the first apply).
    pub fn applied(&self) -> LayerId {
        self.top().applied.layer
    }

    /// The effective genesis layer.
    pub fn effective_genesis(&self) -> LayerId {
        self.effective_genesis
    }

    /// The lowest layer [`Mesh::revert`] can go back to.
    pub fn revertible_to(&self) -> LayerId {
        self.window.front().expect("the window is never empty").applied.layer
    }

    /// The outcome of a kept layer (from [`Mesh::revertible_to`] to [`Mesh::applied`]; the
    /// effective genesis, while kept, has the genesis hashes).
    pub fn layer(&self, layer: LayerId) -> Option<&AppliedLayer> {
        self.entry(layer).map(|e| &e.applied)
    }

    /// The credits of a kept layer, in address order.
    pub fn credits(&self, layer: LayerId) -> Option<&[Credit]> {
        self.entry(layer).map(|e| &e.credits[..])
    }

    /// The balance of an account in smidge (0 for an unknown one).
    pub fn balance(&self, address: &Address) -> u64 {
        self.balances.get(address).copied().unwrap_or(0)
    }

    /// Accounts with a positive balance, in address order.
    pub fn balances(&self) -> impl Iterator<Item = (&Address, &u64)> {
        self.balances.iter()
    }

    /// Number of accounts with a positive balance.
    pub fn accounts(&self) -> usize {
        self.balances.len()
    }

    /// Smidge issued by all applied layers (the sum of all balances).
    pub fn total_issued(&self) -> u64 {
        self.total_issued
    }

    /// Panics if an invariant of the module docs is broken. Costs O(accounts + kept credits)
    /// and one hash of the applied layer: only the newest link of the chain is recomputed,
    /// because older links were checked when they were newest and nothing but a revert (which
    /// only removes links) changes them.
    pub fn check_invariants(&self) {
        assert!(!self.window.is_empty(), "the window holds at least the applied layer");
        assert!(self.window.len() <= self.window_max(), "more than revert_max + 1 layers kept");
        assert!(self.revertible_to() >= self.effective_genesis, "a layer below the genesis kept");
        let mut issued_kept = 0u64;
        for (i, entry) in self.window.iter().enumerate() {
            let a = &entry.applied;
            assert_eq!(a.layer.0, self.revertible_to().0 + i as u32, "kept layers are contiguous");
            record::check_credits(a, &entry.credits)
                .unwrap_or_else(|e| panic!("kept layer breaks the credit rules: {e}"));
            if a.layer == self.effective_genesis {
                assert_eq!((a.state, a.aggregated), (genesis_state(), genesis_aggregated()));
                assert!(a.block.is_none() && entry.credits.is_empty(), "the genesis is empty");
            }
            issued_kept = issued_kept.checked_add(a.issued).expect("kept issuance fits u64");
        }
        assert!(issued_kept <= self.total_issued, "kept layers issued more than the total");
        if self.window.len() >= 2 {
            let top = self.top();
            let expected =
                self.next_entry(top.applied.layer, top.applied.block, top.credits.clone());
            assert_eq!(expected.applied, top.applied, "the applied layer's hashes do not chain");
        }
        let mut sum = 0u64;
        for (address, balance) in &self.balances {
            assert!(*balance > 0, "{address:?} is kept with a zero balance");
            sum = sum.checked_add(*balance).expect("balances sum within u64");
        }
        assert_eq!(sum, self.total_issued, "balances do not sum to the total issued");
    }

    /// The newest kept layer.
    fn top(&self) -> &LayerEntry {
        self.window.back().expect("the window is never empty")
    }

    fn entry(&self, layer: LayerId) -> Option<&LayerEntry> {
        let offset = layer.0.checked_sub(self.revertible_to().0)?;
        self.window.get(usize::try_from(offset).ok()?)
    }

    /// The credits a block gives in `layer`, or why it cannot be applied.
    fn credits_of(
        &self,
        layer: LayerId,
        block: &Block,
        coinbase: impl Fn(&AtxId) -> Option<Address>,
    ) -> Result<Vec<Credit>, MeshError> {
        if block.layer() != layer {
            return Err(MeshError::WrongBlockLayer {
                block: block.id(),
                block_layer: block.layer(),
                layer,
            });
        }
        let subsidy = layer_subsidy(record::subsidy_index(layer, self.effective_genesis));
        let shares = split(subsidy, &block.inner.rewards)
            .map_err(|error| MeshError::Split { layer, error })?;
        let mut sums: BTreeMap<Address, u64> = BTreeMap::new();
        for (atx, amount) in shares {
            let address = coinbase(&atx).ok_or(MeshError::UnknownAtx { layer, atx })?;
            let sum = sums.entry(address).or_insert(0);
            // Shares are floors of parts of the subsidy, so their sum stays within it.
            *sum = sum.checked_add(amount).expect("shares sum within the subsidy");
        }
        Ok(sums
            .into_iter()
            .filter(|&(_, amount)| amount > 0)
            .map(|(address, amount)| Credit { address, amount })
            .collect())
    }

    /// The entry of `layer` on top of the applied one, with its hashes.
    fn next_entry(
        &self,
        layer: LayerId,
        block: Option<BlockId>,
        credits: Vec<Credit>,
    ) -> LayerEntry {
        let prev = &self.entry(LayerId(layer.0 - 1)).expect("the layer below is kept").applied;
        let issued = credits
            .iter()
            .try_fold(0u64, |acc, c| acc.checked_add(c.amount))
            .expect("credits sum within the subsidy");
        let applied = AppliedLayer {
            layer,
            block,
            state: state_hash(&prev.state, layer, block, &credits),
            aggregated: aggregated_hash(&prev.aggregated, block),
            issued,
        };
        LayerEntry { applied, credits }
    }

    /// Makes `entry` (checked, on top of the applied layer) the applied layer, and forgets the
    /// oldest kept layer beyond `revert_max`.
    fn push(&mut self, entry: LayerEntry) {
        assert_eq!(entry.applied.layer.0, self.applied().0 + 1, "layers are pushed in order");
        for credit in &entry.credits {
            let balance = self.balances.entry(credit.address).or_insert(0);
            *balance = balance.checked_add(credit.amount).expect("balances stay within the supply");
        }
        self.total_issued =
            self.total_issued.checked_add(entry.applied.issued).expect("issuance stays in u64");
        self.window.push_back(entry);
        if self.window.len() > self.window_max() {
            self.window.pop_front();
        }
    }

    /// Most kept layers: `revert_max` undoable ones plus the one their hashes start from.
    fn window_max(&self) -> usize {
        usize::try_from(self.cfg.revert_max).unwrap_or(usize::MAX).saturating_add(1)
    }
}
