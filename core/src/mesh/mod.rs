//! The mesh: the tortoise's valid block of each layer applied, in layer order, to the account
//! state, with a per-layer state hash, an aggregated hash, and reverts when the tortoise changes
//! its mind (protocol.md sections 9 and 11; go-spacemesh `mesh/mesh.go` `ProcessLayer`,
//! `applyResults`, `revertState`, and `genvm/rewards.go`).
//!
//! [`Mesh`] is Sans-IO: [`Mesh::apply`] and [`Mesh::revert`] change the in-memory state and
//! return the [`Batch`] that makes the change durable; [`Mesh::restore`] rebuilds the state
//! from a [`Snapshot`] and checks everything it can recompute.
//!
//! # Accounts, transactions and rewards
//!
//! The account state is a [`Ledger`] (genvm's accounts under a BLAKE3 sparse Merkle root, see
//! [`crate::state`]). Applying a layer with a block first executes the block's transactions in
//! order with genvm's rules ([`crate::state::execute_block`]; ineffective ones are skipped),
//! then mints `layer_subsidy(L − g − 1)` (with `g` the effective genesis, so the first layer
//! after it is subsidy index 0) and splits subsidy plus the fees the transactions paid over the
//! block's rewards by their exact weights ([`crate::rewards::split()`]); each share goes to the
//! coinbase of its ATX and the floors' dust is burnt. An empty layer (no valid block) changes
//! nothing, as in go-spacemesh. A layer's *issued* amount is what its rewards credited; the
//! coins in all accounts are always the issued amounts minus the fees of the applied layers.
//!
//! A block whose transactions are not all at hand is not applied
//! ([`MeshError::MissingTx`]): the caller fetches them and tries again.
//!
//! # Hashes
//!
//! With `B(L)` = `0x01 ‖ block id` for a layer with a block and `0x00 ‖ 0²⁰` for an empty one
//! (21 bytes either way), `le32`/`le64` little-endian integers, `root(L)` the state root after
//! the layer and `H` BLAKE3-256:
//!
//! ```text
//! state(g)      = H("spacemesh/mesh/state/v2" ‖ root(g))
//! aggregated(g) = H("spacemesh/mesh/aggregated/v1")
//! state(L)      = H("spacemesh/mesh/state/v2" ‖ state(L−1) ‖ le32(L) ‖ B(L) ‖ root(L)
//!                   ‖ le64(issued) ‖ le64(fees))
//! aggregated(L) = H("spacemesh/mesh/aggregated/v1" ‖ aggregated(L−1) ‖ B(L))
//! ```
//!
//! So equal state hashes at a layer mean the same blocks at every layer up to it and the same
//! accounts after it; equal aggregated hashes mean the same block ids.
//!
//! # Persistence
//!
//! - `mesh/layer/` ‖ `be32(L)` → [`LayerRecord`] (block, hashes, root, issued, fees, each
//!   transaction's result, and every account the layer changed with its value before and
//!   after): one per applied layer, kept for the whole history; big-endian so the keys sort by
//!   layer.
//! - `mesh/account/` ‖ address → the encoded [`Account`], for every account that differs from
//!   its genesis value (genesis accounts, see [`Mesh::with_genesis`], start with a balance;
//!   every other account starts empty).
//! - `mesh/applied` → `le32(applied layer)`, absent while nothing is applied.
//!
//! An apply writes its layer record, the new value of every account it changed and the applied
//! layer; a revert deletes the undone records, writes (or deletes, when empty) the accounts it
//! restored and the applied layer. Restore replays the records from `g + 1` on and refuses,
//! with a typed [`MeshError`], a key it does not know, a value that does not decode, a gap in
//! the layers, a change that does not start from the account's replayed value, coins that do
//! not add up (a layer's balance change must be its issued amount minus its fees, and it may
//! issue at most its subsidy plus its fees), a root or hash that does not follow, a stored
//! account that differs from the replayed one, and an applied layer other than the last
//! record's (a lost tail). It never silently resets.
//!
//! # Invariants (checked by [`Mesh::check_invariants`])
//!
//! 1. Layers move one at a time: [`Mesh::apply`] takes exactly `applied + 1`,
//!    [`Mesh::revert`] goes down to at least [`Mesh::revertible_to`]; a call that returns an
//!    error changes nothing.
//! 2. Conservation: the balances sum to the genesis balances plus [`Mesh::total_issued`] minus
//!    [`Mesh::total_fees`]; a layer never issues more than its subsidy plus its fees.
//! 3. The hash chain: the applied layer's hashes follow from its predecessor's and the
//!    ledger's root by the formulas above, and the effective genesis has the genesis values.
//! 4. A revert is exact: applying layers and reverting them leaves the accounts, root,
//!    issuance and hashes bit-identical to before.
//! 5. Memory is bounded: at most `revert_max + 1` layers are kept (the newest `revert_max`
//!    with their undo, plus the one below them as the base of their hashes); older layers live
//!    only in the store, so [`Mesh::layer`] forgets them and a revert that deep is a
//!    [`MeshError::RevertTooDeep`].
//! 6. Determinism: ordered maps only; batches list accounts in address order.
//!
//! Deviations from the reference: go-spacemesh's state hash is the hash of the encoded accounts
//! a layer changed (not chained); here it chains the previous state hash and the state root.
//! go-spacemesh stores the tortoise's opinion hash as the aggregated hash; here it chains the
//! applied block ids, so it depends on the mesh alone. Checkpoint recovery is not supported.
//!
//! Files: `record.rs` (hashes, store keys, the persisted record and restore), `tests.rs`.

#![deny(missing_docs)]

mod record;
mod step;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use record::{
    ACCOUNT_PREFIX, AGGREGATED_DOMAIN, APPLIED_KEY, CHANGES_MAX, LAYER_PREFIX, LayerRecord,
    REASON_MAX, STATE_DOMAIN, TxResult, aggregated_hash, genesis_aggregated, genesis_state,
    state_hash,
};
pub use step::{LayerStep, StepKey};

use crate::account::Address;
use crate::activation::wire::AtxId;
use crate::block::{Block, Reward};
use crate::codec::DecodeError;
use crate::crypto::Verifier;
use crate::rewards::{SplitError, layer_subsidy, split};
use crate::state::{Account, Change, ExecContext, Ledger, Outcome, ReplayError, execute_block};
use crate::store::{Batch, Snapshot};
use crate::types::{BlockId, GenesisId, Hash32, LayerId};

/// Mesh parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeshConfig {
    /// Applied layers whose undo information is kept: the deepest revert below the applied
    /// layer. Should cover the tortoise's window, since that is how far back it can change its
    /// mind.
    pub revert_max: u32,
    /// Gas the transactions of one block may consume (go-spacemesh `BlockGasLimit`).
    pub block_gas_limit: u64,
}

impl Default for MeshConfig {
    /// 1000 layers, the tortoise's window in simulation; go-spacemesh's block gas limit.
    fn default() -> Self {
        MeshConfig { revert_max: 1000, block_gas_limit: 100_000_000 }
    }
}

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
    /// The state root after the layer.
    pub root: Hash32,
    /// Smidge credited to coinbases in the layer (subsidy and fees, less the split's dust).
    pub issued: u64,
    /// Smidge the layer's transactions paid as fees.
    pub fees: u64,
}

/// What an apply did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The layer's outcome.
    pub layer: AppliedLayer,
    /// One result per transaction of the block, in block order.
    pub txs: Vec<TxResult>,
    /// Every account the layer changed, in address order.
    pub changes: Arc<[Change]>,
    /// What makes it durable.
    pub batch: Batch,
}

/// What applying a block needs from the rest of the node.
pub struct ApplyEnv<'a> {
    /// The coinbase of a reward's ATX.
    pub coinbase: &'a dyn Fn(&AtxId) -> Option<Address>,
    /// The bytes of a transaction by id.
    pub tx: &'a dyn Fn(&Hash32) -> Option<Bytes>,
    /// The network (transaction signatures cover it).
    pub genesis: GenesisId,
    /// Checks transaction signatures.
    pub verifier: &'a dyn Verifier,
}

impl std::fmt::Debug for ApplyEnv<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyEnv").field("genesis", &self.genesis).finish_non_exhaustive()
    }
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
    /// A transaction of the block is not at hand (fetch it and apply again).
    #[error("{layer}: transaction {tx} is missing")]
    MissingTx {
        /// The layer being applied.
        layer: LayerId,
        /// The transaction.
        tx: Hash32,
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
    /// A stored account that does not decode.
    #[error("account {address:?} does not decode: {error}")]
    BadAccount {
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
    /// A record's changes do not fit the accounts replayed so far.
    #[error("changes of {layer} do not replay: {error}")]
    BadChanges {
        /// The layer.
        layer: LayerId,
        /// Why.
        error: ReplayError,
    },
    /// A record's coins do not add up: its balance change is not its issued amount minus its
    /// fees, it issues more than its subsidy and fees, or an empty layer issues or charges.
    #[error("coins of {0} do not add up")]
    BadSupply(LayerId),
    /// A record's root, state or aggregated hash does not follow from its predecessor's.
    #[error("hashes of {0} do not chain from the layer below")]
    HashMismatch(LayerId),
    /// A stored account differs from the one the layer records replay to (`None`: missing).
    #[error("account {address:?} is stored as {stored:?}, the layers replay to {replayed:?}")]
    AccountMismatch {
        /// The account.
        address: Address,
        /// The stored value (boxed: accounts are large, errors should not be).
        stored: Box<Option<Account>>,
        /// The replayed value.
        replayed: Box<Option<Account>>,
    },
}

/// The applied layers and the account state they produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mesh {
    cfg: MeshConfig,
    effective_genesis: LayerId,
    /// Contiguous kept layers, oldest first; the last is the applied layer. Never empty, at
    /// most `revert_max + 1` long; the effective genesis is a pseudo-layer.
    window: VecDeque<AppliedLayer>,
    ledger: Ledger,
    /// The genesis accounts' balances.
    genesis: BTreeMap<Address, u64>,
    total_issued: u64,
    total_fees: u64,
}

impl Mesh {
    /// A mesh with nothing applied after `effective_genesis` and no genesis accounts.
    pub fn new(cfg: MeshConfig, effective_genesis: LayerId) -> Self {
        Mesh::with_genesis(cfg, effective_genesis, &[])
    }

    /// A mesh with nothing applied after `effective_genesis` whose accounts start with the
    /// genesis balances `accounts` (go-spacemesh's genesis accounts; an address listed twice
    /// gets the sum).
    pub fn with_genesis(
        cfg: MeshConfig,
        effective_genesis: LayerId,
        accounts: &[(Address, u64)],
    ) -> Self {
        let kept = usize::try_from(cfg.revert_max).unwrap_or(usize::MAX);
        let ledger = Ledger::with_accounts(kept, accounts);
        let genesis: BTreeMap<Address, u64> =
            ledger.accounts().iter().map(|(a, acc)| (*a, acc.balance)).collect();
        let root = ledger.root();
        let top = AppliedLayer {
            layer: effective_genesis,
            block: None,
            state: genesis_state(&root),
            aggregated: genesis_aggregated(),
            root,
            issued: 0,
            fees: 0,
        };
        Mesh {
            cfg,
            effective_genesis,
            window: VecDeque::from([top]),
            ledger,
            genesis,
            total_issued: 0,
            total_fees: 0,
        }
    }

    /// Rebuilds the mesh from what its batches made durable (an empty snapshot gives
    /// [`Mesh::new`]); see the module docs for what is checked.
    pub fn restore(
        cfg: MeshConfig,
        effective_genesis: LayerId,
        snapshot: &Snapshot,
    ) -> Result<Self, MeshError> {
        Mesh::new(cfg, effective_genesis).restore_from(snapshot)
    }

    /// Rebuilds this new mesh (of [`Mesh::with_genesis`]) from what its batches made durable.
    pub fn restore_from(self, snapshot: &Snapshot) -> Result<Self, MeshError> {
        assert_eq!(self.applied(), self.effective_genesis, "restore starts from a new mesh");
        record::restore(self, snapshot)
    }

    /// Applies `layer`, which must be the one after [`Mesh::applied`], with its valid block
    /// (`None`: the layer is empty). On an error nothing changes.
    pub fn apply(
        &mut self,
        layer: LayerId,
        block: Option<&Block>,
        env: &ApplyEnv<'_>,
    ) -> Result<Applied, MeshError> {
        let applied = self.applied();
        if applied.0.checked_add(1) != Some(layer.0) {
            return Err(MeshError::NotNext { layer, applied });
        }
        let Some(block) = block else {
            // An empty layer changes no account, but the ledger keeps its (empty) undo.
            self.ledger.skip(layer);
            let next = self.next_layer(layer, None, 0, 0);
            return Ok(self.commit(next, Vec::new(), Arc::from([])));
        };
        if block.layer() != layer {
            return Err(MeshError::WrongBlockLayer {
                block: block.id(),
                block_layer: block.layer(),
                layer,
            });
        }
        let mut raw = Vec::with_capacity(block.inner.tx_ids.len());
        for id in block.inner.tx_ids.iter() {
            raw.push((env.tx)(id).ok_or(MeshError::MissingTx { layer, tx: *id })?);
        }
        // Check the rewards before anything changes.
        let subsidy = layer_subsidy(record::subsidy_index(layer, self.effective_genesis));
        let rewards = &block.inner.rewards;
        split(subsidy, rewards).map_err(|error| MeshError::Split { layer, error })?;
        for r in rewards.iter() {
            (env.coinbase)(&r.atx).ok_or(MeshError::UnknownAtx { layer, atx: r.atx })?;
        }
        let key = StepKey {
            root: self.ledger.root(),
            layer,
            block: block.id(),
            genesis: env.genesis,
            effective_genesis: self.effective_genesis,
            gas_limit: self.cfg.block_gas_limit,
        };
        let step = match env.verifier.recall_layer_step(&key) {
            Some(step) => {
                self.ledger.adopt(layer, Arc::clone(&step.state), Arc::clone(&step.changes));
                step
            }
            None => {
                let step = Arc::new(self.execute(layer, &raw, subsidy, rewards, env));
                env.verifier.keep_layer_step(key, Arc::clone(&step));
                step
            }
        };
        let txs = block
            .inner
            .tx_ids
            .iter()
            .zip(&step.outcome.outcomes)
            .map(|(id, o)| TxResult::of(*id, o))
            .collect();
        let next = self.next_layer(layer, Some(block.id()), step.issued, step.outcome.fees);
        Ok(self.commit(next, txs, Arc::clone(&step.changes)))
    }

    /// Runs a checked block's transactions (`raw`, in order) and pays its rewards on the
    /// ledger.
    fn execute(
        &mut self,
        layer: LayerId,
        raw: &[Bytes],
        subsidy: u64,
        rewards: &[Reward],
        env: &ApplyEnv<'_>,
    ) -> LayerStep {
        let ctx = ExecContext {
            layer,
            genesis: env.genesis,
            gas_limit: self.cfg.block_gas_limit,
            verifier: env.verifier,
        };
        let ((outcome, issued), changes) = self.ledger.apply(layer, |accounts| {
            let txs: Vec<&[u8]> = raw.iter().map(|b| &b[..]).collect();
            let outcome = execute_block(accounts, &ctx, &txs);
            let total = subsidy.checked_add(outcome.fees).expect("fees and subsidy fit u64");
            // Whether weights split does not depend on the total: checked above.
            let shares = split(total, rewards).expect("the weights split the subsidy");
            let mut issued = 0u64;
            for (atx, amount) in shares {
                let address = (env.coinbase)(&atx).expect("checked above");
                if amount > 0 {
                    accounts.credit(address, amount);
                    issued = issued.checked_add(amount).expect("shares sum within the total");
                }
            }
            (outcome, issued)
        });
        LayerStep { state: Arc::clone(self.ledger.state()), changes, outcome, issued }
    }

    /// Makes a computed layer the applied one and gives the batch that persists it.
    fn commit(
        &mut self,
        next: AppliedLayer,
        txs: Vec<TxResult>,
        changes: Arc<[Change]>,
    ) -> Applied {
        let mut batch = Batch::default();
        batch.put(&record::layer_key(next.layer), &record::encode_record(&next, &txs, &changes));
        for c in changes.iter() {
            record::put_account(&mut batch, &self.genesis, &c.address, &c.after);
        }
        batch.put(APPLIED_KEY, &next.layer.0.to_le_bytes());
        self.push(next);
        Applied { layer: next, txs, changes, batch }
    }

    /// Undoes every applied layer above `to`, newest first, restoring accounts exactly, and
    /// returns the batch to persist (empty when `to` is the applied layer) with the accounts
    /// restored (address order). `to` must be at least [`Mesh::revertible_to`]; on an error
    /// nothing changes.
    pub fn revert(&mut self, to: LayerId) -> Result<(Batch, Vec<(Address, Account)>), MeshError> {
        let applied = self.applied();
        if to > applied {
            return Err(MeshError::RevertAhead { to, applied });
        }
        let lowest = self.revertible_to();
        if to < lowest {
            return Err(MeshError::RevertTooDeep { to, lowest });
        }
        let mut batch = Batch::default();
        if to == applied {
            return Ok((batch, Vec::new()));
        }
        let restored = self.ledger.revert(to).expect("the window's undo reaches down to `to`");
        while self.applied() > to {
            let layer = self.window.pop_back().expect("the window holds every layer down to `to`");
            batch.delete(&record::layer_key(layer.layer));
            self.total_issued -= layer.issued;
            self.total_fees -= layer.fees;
        }
        for (address, account) in &restored {
            record::put_account(&mut batch, &self.genesis, address, account);
        }
        // With every layer undone the store holds no mesh key, as before the first apply.
        if to == self.effective_genesis {
            batch.delete(APPLIED_KEY);
        } else {
            batch.put(APPLIED_KEY, &to.0.to_le_bytes());
        }
        Ok((batch, restored))
    }

    /// The last applied layer (the effective genesis before the first apply).
    pub fn applied(&self) -> LayerId {
        self.top().layer
    }

    /// The effective genesis layer.
    pub fn effective_genesis(&self) -> LayerId {
        self.effective_genesis
    }

    /// The lowest layer [`Mesh::revert`] can go back to.
    pub fn revertible_to(&self) -> LayerId {
        self.window.front().expect("the window is never empty").layer
    }

    /// The outcome of a kept layer (from [`Mesh::revertible_to`] to [`Mesh::applied`]; the
    /// effective genesis, while kept, has the genesis hashes).
    pub fn layer(&self, layer: LayerId) -> Option<&AppliedLayer> {
        let offset = layer.0.checked_sub(self.revertible_to().0)?;
        self.window.get(usize::try_from(offset).ok()?)
    }

    /// The account state.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// An account as of the applied layer (empty if it never held anything).
    pub fn account(&self, address: &Address) -> Account {
        self.ledger.accounts().get(address)
    }

    /// The balance of an account in smidge (0 for an unknown one).
    pub fn balance(&self, address: &Address) -> u64 {
        self.account(address).balance
    }

    /// Smidge credited by all applied layers.
    pub fn total_issued(&self) -> u64 {
        self.total_issued
    }

    /// Smidge of the genesis accounts.
    pub fn genesis_total(&self) -> u64 {
        self.genesis.values().sum()
    }

    /// Smidge paid as fees in all applied layers.
    pub fn total_fees(&self) -> u64 {
        self.total_fees
    }

    /// Panics if an invariant of the module docs is broken. Costs O(accounts + kept layers)
    /// and one hash of the applied layer: only the newest link of the chain is recomputed,
    /// because older links were checked when they were newest and nothing but a revert (which
    /// only removes links) changes them.
    pub fn check_invariants(&self) {
        assert!(!self.window.is_empty(), "the window holds at least the applied layer");
        assert!(self.window.len() <= self.window_max(), "more than revert_max + 1 layers kept");
        assert!(self.revertible_to() >= self.effective_genesis, "a layer below the genesis kept");
        let (mut issued_kept, mut fees_kept) = (0u64, 0u64);
        for (i, a) in self.window.iter().enumerate() {
            assert_eq!(a.layer.0, self.revertible_to().0 + i as u32, "kept layers are contiguous");
            if a.layer == self.effective_genesis {
                let state = genesis_state(&a.root);
                assert_eq!((a.state, a.aggregated), (state, genesis_aggregated()));
                assert!(a.block.is_none() && a.issued == 0, "the genesis is empty");
            } else {
                let subsidy = layer_subsidy(record::subsidy_index(a.layer, self.effective_genesis));
                assert!(a.issued <= subsidy.saturating_add(a.fees), "a layer issued too much");
            }
            issued_kept += a.issued;
            fees_kept += a.fees;
        }
        assert!(issued_kept <= self.total_issued && fees_kept <= self.total_fees);
        let top = self.top();
        assert_eq!(top.root, self.ledger.root(), "the applied layer's root is not the ledger's");
        if self.window.len() >= 2 {
            let expected = self.next_layer_at(
                &self.window[self.window.len() - 2],
                top.layer,
                top.block,
                top.root,
                top.issued,
                top.fees,
            );
            assert_eq!(&expected, top, "the applied layer's hashes do not chain");
        }
        let total = self.ledger.accounts().total();
        let genesis: u128 = self.genesis.values().map(|b| u128::from(*b)).sum();
        assert_eq!(
            total + u128::from(self.total_fees),
            genesis + u128::from(self.total_issued),
            "balances are not the genesis coins plus those issued less the fees paid"
        );
    }

    /// The newest kept layer.
    fn top(&self) -> &AppliedLayer {
        self.window.back().expect("the window is never empty")
    }

    /// `layer` on top of the applied one, with the ledger's root.
    fn next_layer(
        &self,
        layer: LayerId,
        block: Option<BlockId>,
        issued: u64,
        fees: u64,
    ) -> AppliedLayer {
        self.next_layer_at(self.top(), layer, block, self.ledger.root(), issued, fees)
    }

    /// `layer` on top of `prev`.
    fn next_layer_at(
        &self,
        prev: &AppliedLayer,
        layer: LayerId,
        block: Option<BlockId>,
        root: Hash32,
        issued: u64,
        fees: u64,
    ) -> AppliedLayer {
        AppliedLayer {
            layer,
            block,
            state: state_hash(&prev.state, layer, block, &root, issued, fees),
            aggregated: aggregated_hash(&prev.aggregated, block),
            root,
            issued,
            fees,
        }
    }

    /// Makes `next` (on top of the applied layer, its changes already in the ledger) the
    /// applied layer, and forgets the oldest kept layer beyond `revert_max`.
    fn push(&mut self, next: AppliedLayer) {
        assert_eq!(next.layer.0, self.applied().0 + 1, "layers are pushed in order");
        self.total_issued = self.total_issued.checked_add(next.issued).expect("issuance fits");
        self.total_fees = self.total_fees.checked_add(next.fees).expect("fees fit");
        self.window.push_back(next);
        if self.window.len() > self.window_max() {
            self.window.pop_front();
        }
    }

    /// Most kept layers: `revert_max` undoable ones plus the one their hashes start from.
    fn window_max(&self) -> usize {
        usize::try_from(self.cfg.revert_max).unwrap_or(usize::MAX).saturating_add(1)
    }
}

impl TxResult {
    /// The result of transaction `id` from its outcome.
    pub fn of(id: Hash32, outcome: &Outcome) -> TxResult {
        let text = record::reason_text;
        match outcome {
            Outcome::Ineffective(why) => TxResult {
                id,
                status: TxResult::INEFFECTIVE,
                fee: 0,
                reason: text(why.to_string()),
            },
            Outcome::Executed { fee, result: Ok(()), .. } => {
                TxResult { id, status: TxResult::SUCCEEDED, fee: *fee, reason: text(String::new()) }
            }
            Outcome::Executed { fee, result: Err(f), .. } => {
                TxResult { id, status: TxResult::FAILED, fee: *fee, reason: text(f.to_string()) }
            }
        }
    }
}
