//! The mempool: transactions waiting to be proposed, with a conservative view of each
//! principal's state (protocol.md section 11; go-spacemesh `txs/conservative_state.go`,
//! `txs/mempool_iterator.go`).
//!
//! Each principal's transactions are kept by nonce. Starting at the account's next nonce (as
//! the applied state has it), consecutive transactions whose costs (max gas × gas price plus
//! max spend) the balance still covers are *ready*: they are what proposals pick. The
//! *projected* nonce and balance are the account's after its ready transactions, which is what
//! a wallet signs its next transaction against. Later transactions (a nonce gap, or a balance
//! that runs out) wait until the state changes.
//!
//! Invariants (checked by [`Mempool::check_invariants`]):
//! 1. Every kept transaction's nonce is at least its account's next nonce and at most
//!    [`MempoolConfig::nonce_gap_max`] above it; one transaction per nonce and account.
//! 2. At most [`MempoolConfig::txs_max`] transactions in all and
//!    [`MempoolConfig::per_account_max`] per account; the id index matches the queues.
//! 3. [`Mempool::select`] is a pure function of the contents: ready transactions by gas price
//!    (highest first, ties by id), each account's in nonce order.
//! 4. Determinism: ordered maps only.
//!
//! Eviction: when full, the transaction with the lowest gas price among the accounts' *last*
//! queued transactions makes room for a better-paying one (evicting a last one keeps every
//! queue gap-free).

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::account::Address;
use crate::state::Account;
use crate::tx::ParsedTx;
use crate::types::Hash32;

#[cfg(test)]
mod tests;

/// Mempool bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MempoolConfig {
    /// Transactions kept in all.
    pub txs_max: usize,
    /// Transactions kept per principal.
    pub per_account_max: usize,
    /// How far above the account's next nonce a transaction may be.
    pub nonce_gap_max: u64,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig { txs_max: 20_000, per_account_max: 100, nonce_gap_max: 100 }
    }
}

/// A transaction in the pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolTx {
    /// Its id.
    pub id: Hash32,
    /// Its bytes.
    pub raw: Bytes,
    /// The paying account.
    pub principal: Address,
    /// Its nonce.
    pub nonce: u64,
    /// Smidge per gas.
    pub gas_price: u64,
    /// Gas charged up front.
    pub max_gas: u64,
    /// Most coins it moves besides the fee.
    pub max_spend: u64,
}

impl PoolTx {
    /// A parsed transaction as the pool keeps it.
    pub fn new(id: Hash32, raw: Bytes, tx: &ParsedTx) -> Self {
        PoolTx {
            id,
            raw,
            principal: tx.body.principal,
            nonce: tx.body.nonce,
            gas_price: tx.body.gas_price,
            max_gas: tx.max_gas,
            max_spend: tx.max_spend,
        }
    }

    /// The most it can take from its principal: the full fee and the max spend.
    pub fn cost(&self) -> u64 {
        self.max_gas.saturating_mul(self.gas_price).saturating_add(self.max_spend)
    }
}

/// Why the pool refused a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MempoolReject {
    /// It is in the pool already.
    #[error("already in the mempool")]
    Known,
    /// Its nonce was used.
    #[error("nonce {nonce} below the account's next nonce {next}")]
    NonceTooLow {
        /// The transaction's.
        nonce: u64,
        /// The account's.
        next: u64,
    },
    /// Its nonce is too far ahead.
    #[error("nonce {nonce} more than {gap} above the account's next nonce {next}")]
    NonceTooHigh {
        /// The transaction's.
        nonce: u64,
        /// The account's.
        next: u64,
        /// The largest gap allowed.
        gap: u64,
    },
    /// Another transaction with the nonce pays at least as much.
    #[error(
        "nonce {nonce} is taken by a transaction paying {price} per gas (pay more to replace it)"
    )]
    NonceTaken {
        /// The nonce.
        nonce: u64,
        /// The gas price of the one in the pool.
        price: u64,
    },
    /// The projected balance does not cover it.
    #[error("projected balance {balance} does not cover the cost {cost} (max fee + max spend)")]
    InsufficientBalance {
        /// What the account has left after its earlier transactions in the pool.
        balance: u64,
        /// What this one may take.
        cost: u64,
    },
    /// The account has too many transactions waiting.
    #[error("the account has {0} transactions waiting already")]
    AccountFull(usize),
    /// The pool is full of transactions that pay at least as much.
    #[error("the mempool is full and the lowest gas price in it is {0}")]
    Full(u64),
}

/// What an insert did besides adding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inserted {
    /// The transaction with the same nonce that it replaced.
    pub replaced: Option<Hash32>,
    /// The transaction evicted to make room.
    pub evicted: Option<Hash32>,
}

/// One principal's view and queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Queue {
    /// The applied state's next nonce.
    next_nonce: u64,
    /// The applied state's balance.
    balance: u64,
    txs: BTreeMap<u64, PoolTx>,
}

impl Queue {
    /// The ready transactions, in nonce order.
    fn ready(&self) -> impl Iterator<Item = &PoolTx> {
        let mut nonce = self.next_nonce;
        let mut left = self.balance;
        self.txs.range(self.next_nonce..).map_while(move |(n, tx)| {
            if *n != nonce || tx.cost() > left {
                return None;
            }
            nonce += 1;
            left -= tx.cost();
            Some(tx)
        })
    }

    /// The nonce and balance after the ready transactions.
    fn projected(&self) -> (u64, u64) {
        self.ready().fold((self.next_nonce, self.balance), |(n, b), tx| (n + 1, b - tx.cost()))
    }

    /// The balance left before `nonce` when the transactions before it are all ready, else
    /// `None` (a gap, or a balance that ran out before).
    fn left_before(&self, nonce: u64) -> Option<u64> {
        let (next, left) = self
            .ready()
            .take_while(|tx| tx.nonce < nonce)
            .fold((self.next_nonce, self.balance), |(n, b), tx| (n + 1, b - tx.cost()));
        (next == nonce).then_some(left)
    }
}

/// The pool.
#[derive(Debug, Clone, Default)]
pub struct Mempool {
    cfg: MempoolConfig,
    queues: BTreeMap<Address, Queue>,
    by_id: BTreeMap<Hash32, (Address, u64)>,
}

impl Mempool {
    /// An empty pool.
    pub fn new(cfg: MempoolConfig) -> Self {
        Mempool { cfg, queues: BTreeMap::new(), by_id: BTreeMap::new() }
    }

    /// Transactions kept.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// A kept transaction.
    pub fn get(&self, id: &Hash32) -> Option<&PoolTx> {
        let (address, nonce) = self.by_id.get(id)?;
        self.queues.get(address)?.txs.get(nonce)
    }

    /// The ids of the kept transactions, in id order.
    pub fn ids(&self) -> impl Iterator<Item = &Hash32> {
        self.by_id.keys()
    }

    /// Whether `id` is kept.
    pub fn contains(&self, id: &Hash32) -> bool {
        self.by_id.contains_key(id)
    }

    /// The nonce and balance of `address` after its ready transactions, starting from the
    /// applied state `account` (what a wallet's next transaction is signed against).
    pub fn projected(&self, address: &Address, account: &Account) -> (u64, u64) {
        match self.queues.get(address) {
            Some(q) => q.projected(),
            None => (account.next_nonce, account.balance),
        }
    }

    /// Adds `tx` for a principal whose applied state is `account`.
    pub fn insert(&mut self, tx: PoolTx, account: &Account) -> Result<Inserted, MempoolReject> {
        if self.by_id.contains_key(&tx.id) {
            return Err(MempoolReject::Known);
        }
        let (next, gap) = (account.next_nonce, self.cfg.nonce_gap_max);
        if tx.nonce < next {
            return Err(MempoolReject::NonceTooLow { nonce: tx.nonce, next });
        }
        if tx.nonce - next > gap {
            return Err(MempoolReject::NonceTooHigh { nonce: tx.nonce, next, gap });
        }
        let fresh = Queue {
            next_nonce: account.next_nonce,
            balance: account.balance,
            txs: BTreeMap::new(),
        };
        let queue = self.queues.get(&tx.principal).cloned().unwrap_or(fresh);
        let old = queue.txs.get(&tx.nonce);
        if let Some(old) = old
            && old.gas_price >= tx.gas_price
        {
            return Err(MempoolReject::NonceTaken { nonce: tx.nonce, price: old.gas_price });
        }
        // A transaction that would be ready must fit what the ready ones before it leave; one
        // that waits (after a gap) must at least fit the balance.
        let left = queue.left_before(tx.nonce).unwrap_or(queue.balance);
        if tx.cost() > left {
            return Err(MempoolReject::InsufficientBalance { balance: left, cost: tx.cost() });
        }
        let replaced = old.map(|o| o.id);
        if replaced.is_none() && queue.txs.len() >= self.cfg.per_account_max {
            return Err(MempoolReject::AccountFull(queue.txs.len()));
        }
        let mut inserted = Inserted { replaced, evicted: None };
        if replaced.is_none() && self.by_id.len() >= self.cfg.txs_max {
            let (price, victim) = self.eviction_candidate().expect("a full pool holds a tx");
            if price >= tx.gas_price {
                return Err(MempoolReject::Full(price));
            }
            self.remove(&victim);
            inserted.evicted = Some(victim);
        }
        if let Some(old) = replaced {
            self.by_id.remove(&old);
        }
        self.by_id.insert(tx.id, (tx.principal, tx.nonce));
        let queue = self.queues.entry(tx.principal).or_insert(Queue {
            next_nonce: account.next_nonce,
            balance: account.balance,
            txs: BTreeMap::new(),
        });
        queue.txs.insert(tx.nonce, tx);
        Ok(inserted)
    }

    /// The lowest gas price among the accounts' last transactions, and that transaction.
    fn eviction_candidate(&self) -> Option<(u64, Hash32)> {
        self.queues
            .values()
            .filter_map(|q| q.txs.last_key_value().map(|(_, tx)| (tx.gas_price, tx.id)))
            .min()
    }

    /// Removes a transaction (it is evicted or was executed elsewhere).
    pub fn remove(&mut self, id: &Hash32) -> Option<PoolTx> {
        let (address, nonce) = self.by_id.remove(id)?;
        let queue = self.queues.get_mut(&address).expect("indexed accounts have queues");
        let tx = queue.txs.remove(&nonce);
        if queue.txs.is_empty() {
            self.queues.remove(&address);
        }
        tx
    }

    /// The applied state of `address` changed (a layer applied or reverted): drops its
    /// transactions whose nonce is used, and those now out of reach; returns their ids.
    pub fn on_account(&mut self, address: &Address, account: &Account) -> Vec<Hash32> {
        let Some(queue) = self.queues.get_mut(address) else { return Vec::new() };
        queue.next_nonce = account.next_nonce;
        queue.balance = account.balance;
        let limit = account.next_nonce.saturating_add(self.cfg.nonce_gap_max);
        let gone: Vec<u64> =
            queue.txs.keys().copied().filter(|n| *n < account.next_nonce || *n > limit).collect();
        let mut dropped = Vec::with_capacity(gone.len());
        for nonce in gone {
            let tx = queue.txs.remove(&nonce).expect("listed above");
            self.by_id.remove(&tx.id);
            dropped.push(tx.id);
        }
        if queue.txs.is_empty() {
            self.queues.remove(address);
        }
        dropped
    }

    /// Up to `count` ready transactions for a proposal: by gas price, highest first (ties by
    /// id), each account's in nonce order.
    pub fn select(&self, count: usize) -> Vec<Hash32> {
        // Each account's ready transactions, and a frontier of every account's next one.
        let ready: Vec<Vec<&PoolTx>> = self.queues.values().map(|q| q.ready().collect()).collect();
        let mut frontier: BTreeSet<(std::cmp::Reverse<u64>, Hash32, usize, usize)> = ready
            .iter()
            .enumerate()
            .filter_map(|(a, txs)| {
                txs.first().map(|tx| (std::cmp::Reverse(tx.gas_price), tx.id, a, 0))
            })
            .collect();
        let mut out = Vec::with_capacity(count.min(self.by_id.len()));
        while out.len() < count {
            let Some((_, id, a, i)) = frontier.pop_first() else { break };
            out.push(id);
            if let Some(tx) = ready[a].get(i + 1) {
                frontier.insert((std::cmp::Reverse(tx.gas_price), tx.id, a, i + 1));
            }
        }
        out
    }

    /// Principals with transactions waiting, in address order.
    pub fn principals(&self) -> impl Iterator<Item = &Address> {
        self.queues.keys()
    }

    /// Panics if an invariant of the module docs is broken.
    pub fn check_invariants(&self) {
        let mut count = 0;
        for (address, q) in &self.queues {
            assert!(!q.txs.is_empty(), "an empty queue is kept");
            assert!(q.txs.len() <= self.cfg.per_account_max, "a queue over its bound");
            for (nonce, tx) in &q.txs {
                assert_eq!((tx.nonce, tx.principal), (*nonce, *address), "a misfiled tx");
                assert!(*nonce >= q.next_nonce, "a used nonce is kept");
                assert!(*nonce - q.next_nonce <= self.cfg.nonce_gap_max, "a nonce out of reach");
                assert_eq!(self.by_id.get(&tx.id), Some(&(*address, *nonce)), "index mismatch");
            }
            count += q.txs.len();
        }
        assert_eq!(count, self.by_id.len(), "the index lists txs no queue holds");
        assert!(count <= self.cfg.txs_max, "the pool is over its bound");
    }
}
