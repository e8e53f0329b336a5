//! Accounts, their state root and per-layer undo: a layer's changes are applied as one unit,
//! keeping the previous value of every account it touched, so that reverting recent layers
//! (when the tortoise changes its mind) costs only what those layers changed.

use std::collections::VecDeque;

use thiserror::Error;

use crate::account::Address;
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

/// The ledger: accounts, their root, and the undo of the last `layers_kept` layers.
#[derive(Debug, Clone)]
pub struct Ledger {
    accounts: Accounts,
    tree: StateTree,
    /// Per applied layer, oldest first: the value before the layer of each account it changed.
    undo: VecDeque<(LayerId, Vec<(Address, Account)>)>,
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
            accounts: Accounts::new(),
            tree: StateTree::new(),
            undo: VecDeque::new(),
            layers_kept,
            applied: None,
            dropped: None,
        }
    }

    /// The accounts.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// The state root.
    pub fn root(&self) -> Hash32 {
        self.tree.root()
    }

    /// The tree (for account proofs).
    pub fn tree(&self) -> &StateTree {
        &self.tree
    }

    /// The last applied layer.
    pub fn applied(&self) -> Option<LayerId> {
        self.applied
    }

    /// Applies `layer`'s changes (`change` runs them on the accounts: transactions, rewards),
    /// records their undo and updates the root. Layers apply in increasing order.
    pub fn apply<T>(&mut self, layer: LayerId, change: impl FnOnce(&mut Accounts) -> T) -> T {
        assert!(self.applied.is_none_or(|a| layer > a), "layers apply in increasing order");
        self.accounts.start_journal();
        let out = change(&mut self.accounts);
        let before = self.accounts.take_journal();
        let now: Vec<(Address, Account)> =
            before.keys().map(|a| (*a, self.accounts.get(a))).collect();
        self.tree.update(now.iter().map(|(a, acc)| (a, present(acc))));
        self.undo.push_back((layer, before.into_iter().collect()));
        while self.undo.len() > self.layers_kept {
            self.dropped = self.undo.pop_front().map(|(l, _)| l);
        }
        self.applied = Some(layer);
        out
    }

    /// Undoes every layer after `to`, newest first; refused (nothing changes) when a layer
    /// after `to` is older than the undo kept.
    pub fn revert(&mut self, to: LayerId) -> Result<(), RevertError> {
        if let Some(dropped) = self.dropped
            && dropped > to
        {
            let oldest = self.undo.front().map_or(dropped.0 + 1, |(l, _)| l.0);
            return Err(RevertError::TooOld { to: to.0, oldest });
        }
        while let Some((layer, before)) = self.undo.back() {
            if *layer <= to {
                break;
            }
            for (address, account) in before {
                self.accounts.put(*address, account.clone());
            }
            self.tree.update(before.iter().map(|(a, acc)| (a, present(acc))));
            self.undo.pop_back();
        }
        self.applied = self.undo.back().map(|(l, _)| *l).or(self.dropped);
        Ok(())
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

        ledger.revert(LayerId(3)).unwrap();
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
