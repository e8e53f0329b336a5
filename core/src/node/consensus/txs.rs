//! The node's transactions: gossip and submission into the mempool, the bytes kept for
//! proposals and blocks (served to and fetched from peers), the mempool's view kept in line
//! with applied and reverted layers, and each executed transaction's result.
//!
//! - A transaction (gossiped, submitted or fetched) is parsed against its principal's applied
//!   state, its signature checked, and it enters the mempool; its bytes are kept while a
//!   proposal or block may still need them ([`ConsensusConfig::layers_kept`] layers).
//! - Bad bytes or a bad signature reject the gossip message (the sender is penalized); a
//!   transaction that is valid but not wanted now (a used nonce, an unspawned principal, a full
//!   pool) is ignored.
//! - A proposal's unknown transactions are fetched from its sender; a block's missing ones
//!   before it is applied.
//! - After a layer is applied the mempool sees every changed account (used nonces leave it);
//!   after a revert the restored accounts, and the reverted layers' executed transactions go
//!   back into it.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::{Consensus, ConsensusEvent, ConsensusOutput};
use crate::account::Address;
use crate::fetch::Hint;
use crate::gossip::{MsgId, Topic, Verdict};
use crate::mempool::{MempoolReject, PoolTx};
use crate::mesh::TxResult;
use crate::state::{Account, Change};
use crate::tx::{self, TX_SIZE_MAX, TxError};
use crate::types::{Hash32, LayerId, PeerId, Time};

/// Why a transaction was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxReject {
    /// It does not parse against its principal's state.
    #[error("{0}")]
    Parse(TxError),
    /// Zero gas price: it could never be executed.
    #[error("zero gas price")]
    ZeroGasPrice,
    /// A signature does not verify.
    #[error("bad signature")]
    Signature,
    /// The mempool refused it.
    #[error("{0}")]
    Mempool(MempoolReject),
}

impl TxReject {
    /// Whether the sender broke the protocol (a bad encoding or signature): honest nodes
    /// only relay transactions that parse and verify. A principal that is not spawned yet
    /// is not its fault (the spawn may not have reached this node).
    pub fn penalize(&self) -> bool {
        match self {
            TxReject::Parse(TxError::NotSpawned(_)) => false,
            TxReject::Parse(_) | TxReject::Signature => true,
            TxReject::ZeroGasPrice | TxReject::Mempool(_) => false,
        }
    }
}

/// What a wallet sees of an account: the applied state and the mempool's projection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountView {
    /// Smidge, as of the applied layer.
    pub balance: u64,
    /// The next nonce, as of the applied layer.
    pub next_nonce: u64,
    /// Its template once spawned.
    pub template: Option<crate::account::Template>,
    /// The balance after its transactions waiting in the mempool.
    pub projected_balance: u64,
    /// The nonce its next transaction should have.
    pub projected_nonce: u64,
    /// The applied layer.
    pub layer: LayerId,
}

/// Where a transaction stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxStatus {
    /// In the mempool, or known but not yet in an applied block.
    Pending,
    /// Executed in an applied layer (it paid `fee`; `failure` says why its call failed).
    Executed {
        /// The layer.
        layer: LayerId,
        /// Smidge paid.
        fee: u64,
        /// Why the call failed, if it did.
        failure: Option<String>,
    },
    /// In an applied block, but skipped without effect.
    Ineffective {
        /// The layer.
        layer: LayerId,
        /// Why.
        reason: String,
    },
}

/// Transaction bytes kept for proposals and blocks, with the last layer each was needed at.
pub(super) type TxBytes = BTreeMap<Hash32, (Bytes, LayerId)>;

impl Consensus {
    /// A gossiped transaction.
    pub(super) fn on_tx_gossip(&mut self, id: MsgId, data: &Bytes) {
        let verdict = match self.take_tx(data.clone()) {
            Ok(_) => Verdict::Accept,
            Err(e) if e.penalize() => Verdict::Reject,
            Err(_) => Verdict::Ignore,
        };
        self.outputs.push_back(ConsensusOutput::Verdict(id, verdict));
    }

    /// A transaction from this node's API: taken like a gossiped one and, when taken,
    /// published.
    pub fn submit_tx(&mut self, raw: Bytes) {
        let id = tx::tx_id(&raw);
        let result = self.take_tx(raw.clone());
        if result.is_ok() {
            self.outputs.push_back(ConsensusOutput::Publish(Topic::Tx, raw));
        }
        self.outputs.push_back(ConsensusOutput::Event(ConsensusEvent::TxSubmitted {
            id,
            result: result.map(|_| ()).map_err(|e| e.to_string()),
        }));
    }

    /// Checks a transaction and adds it to the mempool and the kept bytes.
    fn take_tx(&mut self, raw: Bytes) -> Result<Hash32, TxReject> {
        if raw.len() > TX_SIZE_MAX {
            return Err(TxReject::Parse(TxError::TooLarge(raw.len())));
        }
        let id = tx::tx_id(&raw);
        if self.mempool.contains(&id) {
            return Err(TxReject::Mempool(MempoolReject::Known));
        }
        let principal = tx::principal_of(&raw).map_err(TxReject::Parse)?;
        let account = self.mesh.account(&principal);
        let parsed = tx::parse(&raw, account.spawned.as_ref()).map_err(TxReject::Parse)?;
        if parsed.body.gas_price == 0 {
            return Err(TxReject::ZeroGasPrice);
        }
        if !tx::verify(&parsed, &raw, &self.genesis, self.verifier.as_ref()) {
            return Err(TxReject::Signature);
        }
        self.mempool
            .insert(PoolTx::new(id, raw.clone(), &parsed), &account)
            .map_err(TxReject::Mempool)?;
        self.keep_tx(id, raw);
        Ok(id)
    }

    /// Keeps a transaction's bytes, needed at least until the current layer is old.
    fn keep_tx(&mut self, id: Hash32, raw: Bytes) {
        let layer = self.next_layer;
        let entry = self.tx_bytes.entry(id).or_insert((raw, layer));
        entry.1 = entry.1.max(layer);
    }

    /// The ids of a proposal's transactions: known ones are kept longer, unknown ones fetched
    /// from `peer`.
    pub(super) fn want_txs(&mut self, ids: &[Hash32], peer: Option<PeerId>) {
        let layer = self.next_layer;
        for id in ids {
            match self.tx_bytes.get_mut(id) {
                Some(entry) => entry.1 = entry.1.max(layer),
                None => self.fetcher.want(Hint::Tx, *id, peer),
            }
        }
    }

    /// A transaction's bytes, if kept.
    pub(super) fn tx_raw(&self, id: &Hash32) -> Option<Bytes> {
        self.tx_bytes.get(id).map(|(raw, _)| raw.clone())
    }

    /// A fetched transaction: kept if it hashes to the id asked for (and offered to the
    /// mempool, which may not want it).
    pub(super) fn on_fetched_tx(&mut self, now: Time, hash: Hash32, data: Bytes) -> bool {
        if tx::tx_id(&data) != hash || data.len() > TX_SIZE_MAX {
            return false;
        }
        if self.take_tx(data.clone()).is_err() {
            self.keep_tx(hash, data);
        }
        // Hare outputs waiting for their transactions' bytes are built once all are here.
        let waiting: Vec<(LayerId, Vec<crate::types::ProposalId>)> = self
            .unbuilt
            .iter()
            .filter(|(_, ps)| !ps.is_empty())
            .map(|(l, ps)| (*l, ps.clone()))
            .collect();
        for (layer, proposals) in waiting {
            let complete = self
                .ballots
                .layer(layer)
                .into_iter()
                .flat_map(|r| r.records())
                .filter(|r| proposals.contains(&r.proposal))
                .flat_map(|r| r.tx_ids.iter())
                .all(|id| self.tx_bytes.contains_key(id));
            if complete {
                self.build_block(now, layer, &proposals);
            }
        }
        self.apply_decisions(None);
        true
    }

    /// Brings the mempool in line with accounts an applied layer changed, and records the
    /// layer's transaction results.
    pub(super) fn after_apply(&mut self, layer: LayerId, txs: &[TxResult], changes: &[Change]) {
        for c in changes {
            self.mempool.on_account(&c.address, &c.after);
        }
        for r in txs {
            self.tx_results.insert(r.id, (layer, r.clone()));
            if let Some(entry) = self.tx_bytes.get_mut(&r.id) {
                entry.1 = entry.1.max(layer);
            }
        }
        if !txs.is_empty() {
            self.outputs.push_back(ConsensusOutput::Event(ConsensusEvent::LayerTxs {
                layer,
                executed: txs.iter().filter(|r| r.executed()).map(|r| r.id).collect(),
                ineffective: txs.iter().filter(|r| !r.executed()).map(|r| r.id).collect(),
            }));
        }
    }

    /// Brings the mempool in line with a revert down to `to`: restored accounts, and the
    /// reverted layers' executed transactions offered again.
    pub(super) fn after_revert(&mut self, to: LayerId, restored: &[(Address, Account)]) {
        for (address, account) in restored {
            self.mempool.on_account(address, account);
        }
        let undone: Vec<Hash32> = self
            .tx_results
            .iter()
            .filter(|(_, (layer, _))| *layer > to)
            .map(|(id, _)| *id)
            .collect();
        for id in undone {
            if let Some((_, r)) = self.tx_results.remove(&id)
                && r.executed()
                && let Some(raw) = self.tx_raw(&id)
            {
                let _ = self.take_tx(raw);
            }
        }
    }

    /// Forgets the bytes of transactions no longer needed (neither in the mempool nor in a
    /// layer this node may still apply or serve) and the results of layers as old.
    pub(super) fn prune_txs(&mut self) {
        let keep = u32::try_from(self.layers_kept()).unwrap_or(u32::MAX);
        let oldest = LayerId(self.mesh.applied().0.saturating_sub(keep));
        let mempool = &self.mempool;
        self.tx_bytes.retain(|id, (_, layer)| *layer >= oldest || mempool.contains(id));
        self.tx_results.retain(|_, (layer, _)| *layer >= oldest);
    }

    /// What a wallet sees of `address`.
    pub fn account_view(&self, address: &Address) -> AccountView {
        let account = self.mesh.account(address);
        let (projected_nonce, projected_balance) = self.mempool.projected(address, &account);
        AccountView {
            balance: account.balance,
            next_nonce: account.next_nonce,
            template: account.spawned.as_ref().map(|s| s.template),
            projected_balance,
            projected_nonce,
            layer: self.mesh.applied(),
        }
    }

    /// Where transaction `id` stands (`None`: unknown here).
    pub fn tx_status(&self, id: &Hash32) -> Option<TxStatus> {
        if let Some((layer, r)) = self.tx_results.get(id) {
            let layer = *layer;
            return Some(match r.status {
                TxResult::INEFFECTIVE => TxStatus::Ineffective { layer, reason: r.reason() },
                TxResult::FAILED => {
                    TxStatus::Executed { layer, fee: r.fee, failure: Some(r.reason()) }
                }
                _ => TxStatus::Executed { layer, fee: r.fee, failure: None },
            });
        }
        (self.mempool.contains(id) || self.tx_bytes.contains_key(id)).then_some(TxStatus::Pending)
    }

    /// The mempool.
    pub fn mempool(&self) -> &crate::mempool::Mempool {
        &self.mempool
    }
}
