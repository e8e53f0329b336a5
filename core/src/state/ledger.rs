//! Accounts, their state root and per-layer undo: a layer's changes are applied as one unit,
//! keeping the previous value of every account it touched, so that reverting recent layers
//! (when the tortoise changes its mind) costs only what those layers changed.
//!
//! The accounts and their tree sit behind one `Arc` ([`LedgerState`]), and a layer's changes in
//! another: a runtime hosting many nodes can hand every node that applies the same block to the
//! same state the same result ([`Ledger::adopt`]) instead of each computing and keeping its own.
//! A ledger writes to its state only where no other holds it (else it copies it first).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use thiserror::Error;

use crate::account::Address;
use crate::impl_codec_struct;
use crate::types::{Hash32, LayerId};

use super::{Account, Accounts, StateTree};

/// A revert that cannot be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RevertError {
    /// The layers after `to` are older than the undo kept.
    #[error("cannot revert to layer {to}: undo is kept from layer {oldest} on")]
    TooOld {
        /// The layer asked for.
        to: u32,
        /// The oldest layer that can be undone.
        oldest: u32,
    },
}

/// A replayed layer's change that does not fit the accounts it is replayed on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReplayError {
    /// The change's `before` is not the account's value.
    #[error("the change of {0:?} does not start from the account's value")]
    Mismatch(Address),
    /// Changes must name each account once, in address order, and change it.
    #[error("the changes are unsorted, repeated or empty at {0:?}")]
    Unordered(Address),
    /// Layers replay in increasing order.
    #[error("layer {layer} replayed after {applied}")]
    OutOfOrder {
        /// The layer replayed.
        layer: LayerId,
        /// The last applied one.
        applied: LayerId,
    },
}

/// One account a layer changed: its value before and after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The account.
    pub address: Address,
    /// Its value before the layer.
    pub before: Account,
    /// Its value after.
    pub after: Account,
}
impl_codec_struct!(Change { address, before, after });

/// The accounts and the tree over them: what applying layers builds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerState {
    accounts: Accounts,
    tree: StateTree,
}

impl LedgerState {
    /// The state root.
    pub fn root(&self) -> Hash32 {
        self.tree.root()
    }
}

/// The ledger: accounts, their root, and the undo of the last `layers_kept` layers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ledger {
    state: Arc<LedgerState>,
    /// Per applied layer, oldest first: each account it changed, with its value before.
    undo: VecDeque<(LayerId, Arc<[Change]>)>,
    layers_kept: usize,
    /// The last applied layer.
    applied: Option<LayerId>,
    /// The newest layer whose undo was dropped (layers up to it cannot be reverted).
    dropped: Option<LayerId>,
}

impl Ledger {
    /// An empty ledger that can undo up to `layers_kept` layers.
    pub fn new(layers_kept: usize) -> Self {
        Ledger {
            state: Arc::default(),
            undo: VecDeque::new(),
            layers_kept,
            applied: None,
            dropped: None,
        }
    }

    /// A ledger that starts from `accounts` (genesis balances), with nothing to undo.
    pub fn with_accounts(layers_kept: usize, accounts: &[(Address, u64)]) -> Self {
        let mut state = LedgerState::default();
        for (address, amount) in accounts {
            state.accounts.credit(*address, *amount);
        }
        let LedgerState { accounts, tree } = &mut state;
        tree.update(accounts.iter().map(|(a, acc)| (a, present(acc))));
        Ledger { state: Arc::new(state), ..Ledger::new(layers_kept) }
    }

    /// The accounts.
    pub fn accounts(&self) -> &Accounts {
        &self.state.accounts
    }

    /// The state root.
    pub fn root(&self) -> Hash32 {
        self.state.root()
    }

    /// The tree (for account proofs).
    pub fn tree(&self) -> &StateTree {
        &self.state.tree
    }

    /// The accounts and tree, to hand to another ledger that applies the same layer to the
    /// same state (see [`Ledger::adopt`]).
    pub fn state(&self) -> &Arc<LedgerState> {
        &self.state
    }

    /// The last applied layer.
    pub fn applied(&self) -> Option<LayerId> {
        self.applied
    }

    /// Applies `layer`'s changes (`change` runs them on the accounts: transactions, rewards),
    /// records their undo and updates the root. Layers apply in increasing order. Returns
    /// what `change` returned and every account it changed, in address order (an account put
    /// back to its value is not listed).
    pub fn apply<T>(
        &mut self,
        layer: LayerId,
        change: impl FnOnce(&mut Accounts) -> T,
    ) -> (T, Arc<[Change]>) {
        self.assert_next(layer);
        let state = Arc::make_mut(&mut self.state);
        state.accounts.start_journal();
        let out = change(&mut state.accounts);
        let changes: Arc<[Change]> = state
            .accounts
            .take_journal()
            .into_iter()
            .map(|(address, before)| Change {
                address,
                after: state.accounts.get(&address),
                before,
            })
            .filter(|c| c.before != c.after)
            .collect();
        self.commit(layer, Arc::clone(&changes));
        (out, changes)
    }

    /// Panics unless `layer` comes after the applied one (checked before anything changes).
    fn assert_next(&self, layer: LayerId) {
        assert!(self.applied.is_none_or(|a| layer > a), "layers apply in increasing order");
    }

    /// Records `layer` as applied with no account changed (an empty layer): the state is kept
    /// as it is, shared or not.
    pub fn skip(&mut self, layer: LayerId) {
        self.assert_next(layer);
        self.record(layer, Arc::from([]));
    }

    /// Takes `state` as the result of applying `layer` with `changes` to this ledger's state:
    /// the allocations another ledger built from the same state and block (a runtime's memo
    /// of [`Ledger::apply`]). Every change must start from this ledger's value of its account
    /// and `state` must be this ledger's state with the changes made; the first is checked,
    /// the second is the caller's promise (its key is the state root and the block).
    pub fn adopt(&mut self, layer: LayerId, state: Arc<LedgerState>, changes: Arc<[Change]>) {
        self.assert_next(layer);
        assert!(
            changes.iter().all(|c| self.state.accounts.get(&c.address) == c.before),
            "an adopted layer's changes start from this ledger's accounts"
        );
        self.state = state;
        self.record(layer, changes);
    }

    /// Applies a layer's recorded changes (restoring from the store): each must start from the
    /// account's current value. On an error nothing changes.
    pub fn replay(&mut self, layer: LayerId, changes: &[Change]) -> Result<(), ReplayError> {
        if let Some(applied) = self.applied
            && layer <= applied
        {
            return Err(ReplayError::OutOfOrder { layer, applied });
        }
        for (i, c) in changes.iter().enumerate() {
            if c.before == c.after || (i > 0 && changes[i - 1].address >= c.address) {
                return Err(ReplayError::Unordered(c.address));
            }
            if self.state.accounts.get(&c.address) != c.before {
                return Err(ReplayError::Mismatch(c.address));
            }
        }
        let state = Arc::make_mut(&mut self.state);
        for c in changes {
            state.accounts.put(c.address, c.after.clone());
        }
        self.commit(layer, changes.into());
        Ok(())
    }

    /// Updates the root for `changes` (already made to the accounts) and records their undo.
    fn commit(&mut self, layer: LayerId, changes: Arc<[Change]>) {
        let state = Arc::make_mut(&mut self.state);
        state.tree.update(changes.iter().map(|c| (&c.address, present(&c.after))));
        self.record(layer, changes);
    }

    /// Records `layer` as applied with `changes` (made to the state) as its undo.
    fn record(&mut self, layer: LayerId, changes: Arc<[Change]>) {
        self.undo.push_back((layer, changes));
        while self.undo.len() > self.layers_kept {
            self.dropped = self.undo.pop_front().map(|(l, _)| l);
        }
        self.applied = Some(layer);
    }

    /// Undoes every layer after `to`, newest first, and returns the accounts it changed with
    /// their values now, in address order; refused (nothing changes) when a layer after `to`
    /// is older than the undo kept.
    pub fn revert(&mut self, to: LayerId) -> Result<Vec<(Address, Account)>, RevertError> {
        if let Some(dropped) = self.dropped
            && dropped > to
        {
            let oldest = self.undo.front().map_or(dropped.0 + 1, |(l, _)| l.0);
            return Err(RevertError::TooOld { to: to.0, oldest });
        }
        let mut restored = BTreeMap::new();
        while let Some((layer, changes)) = self.undo.back() {
            if *layer <= to {
                break;
            }
            let state = Arc::make_mut(&mut self.state);
            for c in changes.iter() {
                state.accounts.put(c.address, c.before.clone());
                restored.insert(c.address, c.before.clone());
            }
            state.tree.update(changes.iter().map(|c| (&c.address, present(&c.before))));
            self.undo.pop_back();
        }
        self.applied = self.undo.back().map(|(l, _)| *l).or(self.dropped);
        Ok(restored.into_iter().collect())
    }
}

/// An account as the tree holds it: an empty one is no account.
fn present(account: &Account) -> Option<&Account> {
    (*account != Account::default()).then_some(account)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{StateTree, verify_proof};

    fn addr(n: u8) -> Address {
        Address([0, 0, 0, 0, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n, n])
    }

    /// Moves `amount` from account `from` to `to` (a stand-in for a layer's transactions).
    fn transfer(accounts: &mut Accounts, from: u8, to: u8, amount: u64) {
        let mut a = accounts.get(&addr(from));
        a.balance -= amount;
        a.next_nonce += 1;
        accounts.put(addr(from), a);
        accounts.credit(addr(to), amount);
    }

    fn root_from_scratch(accounts: &Accounts) -> Hash32 {
        let mut t = StateTree::new();
        t.update(accounts.iter().map(|(a, acc)| (a, Some(acc))));
        t.root()
    }

    /// Reverting layers restores exactly the accounts and root of the layer reverted to; the
    /// root always equals the root of the accounts computed from scratch.
    #[test]
    fn revert_restores_accounts_and_root() {
        let mut ledger = Ledger::new(10);
        ledger.apply(LayerId(1), |a| a.credit(addr(1), 1_000));
        let after1 = (ledger.accounts().clone(), ledger.root());
        ledger.apply(LayerId(2), |a| transfer(a, 1, 2, 300));
        let after2 = (ledger.accounts().clone(), ledger.root());
        ledger.apply(LayerId(4), |a| {
            transfer(a, 2, 3, 300); // account 2 is emptied: it leaves the tree
            transfer(a, 1, 3, 100);
        });
        assert_eq!(
            ledger.accounts().get(&addr(2)),
            Account { balance: 0, next_nonce: 1, spawned: None }
        );
        assert_eq!(ledger.root(), root_from_scratch(ledger.accounts()));
        let p = ledger.tree().prove(&addr(3));
        assert!(verify_proof(&ledger.root(), &addr(3), Some(&ledger.accounts().get(&addr(3))), &p));

        let restored = ledger.revert(LayerId(3)).unwrap();
        assert_eq!(
            restored.iter().map(|(a, _)| *a).collect::<Vec<_>>(),
            vec![addr(1), addr(2), addr(3)]
        );
        assert_eq!((ledger.accounts().clone(), ledger.root()), after2);
        assert_eq!(ledger.applied(), Some(LayerId(2)));
        ledger.revert(LayerId(1)).unwrap();
        assert_eq!((ledger.accounts().clone(), ledger.root()), after1);
        ledger.apply(LayerId(2), |a| transfer(a, 1, 2, 10));
        assert_eq!(ledger.root(), root_from_scratch(ledger.accounts()));
        ledger.revert(LayerId(0)).unwrap();
        assert_eq!(ledger.root(), crate::state::EMPTY_ROOT);
        assert_eq!(ledger.applied(), None);
    }

    /// Replaying the changes a ledger recorded rebuilds it exactly; a change that does not
    /// start from the account's value is refused.
    #[test]
    fn replay_rebuilds_the_ledger() {
        let mut ledger = Ledger::new(10);
        let mut replayed = Ledger::new(10);
        let (_, c1) = ledger.apply(LayerId(1), |a| a.credit(addr(1), 1_000));
        let (_, c2) = ledger.apply(LayerId(2), |a| transfer(a, 1, 2, 300));
        replayed.replay(LayerId(1), &c1).unwrap();
        assert!(matches!(replayed.replay(LayerId(1), &c2), Err(ReplayError::OutOfOrder { .. })));
        replayed.replay(LayerId(2), &c2).unwrap();
        assert_eq!((replayed.accounts(), replayed.root()), (ledger.accounts(), ledger.root()));
        assert_eq!(replayed.replay(LayerId(3), &c2), Err(ReplayError::Mismatch(addr(1))));
        replayed.revert(LayerId(1)).unwrap();
        ledger.revert(LayerId(1)).unwrap();
        assert_eq!((replayed.accounts(), replayed.root()), (ledger.accounts(), ledger.root()));
    }

    /// A ledger that adopts another's result of the same layer holds the same state in the
    /// same allocation; writing to either (a later layer, a revert) copies it first, so the
    /// other never sees the change. An adopted change that does not start from the ledger's
    /// accounts is refused.
    #[test]
    fn adopted_states_are_shared_until_written() {
        let mut a = Ledger::new(10);
        let mut b = Ledger::new(10);
        let (_, c1) = a.apply(LayerId(1), |acc| acc.credit(addr(1), 1_000));
        b.adopt(LayerId(1), Arc::clone(a.state()), Arc::clone(&c1));
        assert!(Arc::ptr_eq(a.state(), b.state()));
        assert_eq!((b.applied(), b.root()), (Some(LayerId(1)), a.root()));
        let after1 = (a.accounts().clone(), a.root());

        a.apply(LayerId(2), |acc| transfer(acc, 1, 2, 300));
        assert!(!Arc::ptr_eq(a.state(), b.state()));
        assert_eq!((b.accounts().clone(), b.root()), after1, "a's layer 2 left b alone");
        b.skip(LayerId(2));
        assert_eq!(b.root(), after1.1, "an empty layer changes nothing");

        let shared = Arc::clone(b.state());
        b.revert(LayerId(0)).unwrap();
        assert_eq!(b.root(), crate::state::EMPTY_ROOT);
        assert_eq!((shared.accounts.clone(), shared.root()), after1, "the revert copied first");

        let mut c = Ledger::new(10);
        c.apply(LayerId(1), |acc| acc.credit(addr(1), 5));
        let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            c.adopt(LayerId(2), Arc::clone(a.state()), Arc::clone(&c1))
        }));
        assert!(refused.is_err(), "c's account 1 is not where the adopted change starts");
    }

    /// Layers older than the undo kept cannot be reverted, and the refusal changes nothing.
    #[test]
    fn revert_past_the_undo_is_refused() {
        let mut ledger = Ledger::new(2);
        for l in 1..=5u8 {
            ledger.apply(LayerId(u32::from(l)), |a| a.credit(addr(l), 10));
        }
        let before = (ledger.accounts().clone(), ledger.root());
        assert_eq!(ledger.revert(LayerId(2)), Err(RevertError::TooOld { to: 2, oldest: 4 }));
        assert_eq!((ledger.accounts().clone(), ledger.root()), before);
        ledger.revert(LayerId(3)).unwrap();
        assert_eq!(ledger.applied(), Some(LayerId(3)));
        assert_eq!(ledger.accounts().get(&addr(4)).balance, 0);
        assert_eq!(ledger.accounts().get(&addr(3)).balance, 10);
    }
}
