//! The transactions the node can list for its API: those waiting in its mempool and those of
//! the applied layers whose results it keeps ([`ConsensusConfig::layers_kept`] layers), with
//! filters, order and paging done here so that only the answered page is copied.
//!
//! Order: by layer, then by id; a pending transaction has no layer yet and counts as later
//! than every applied one (it can only land in a future layer).
//!
//! [`ConsensusConfig::layers_kept`]: super::ConsensusConfig::layers_kept

use bytes::Bytes;

use super::Consensus;
use crate::account::Address;
use crate::mesh::TxResult;
use crate::tx::{self, Call, ParsedTx};
use crate::types::{BlockId, Hash32, LayerId};

/// Which transactions a [`Consensus::list_txs`] answers, and which page of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TxQuery {
    /// Lowest layer (applied transactions below it are left out).
    pub start_layer: Option<LayerId>,
    /// Highest layer (set: pending transactions, which have no layer, are left out).
    pub end_layer: Option<LayerId>,
    /// Only these ids, if any.
    pub ids: Vec<Hash32>,
    /// Only transactions of this principal or sending to it (as destination or vault).
    pub address: Option<Address>,
    /// Newest first (pending ones first, then by layer down).
    pub descending: bool,
    /// How many matching transactions to skip.
    pub offset: usize,
    /// Most to answer with.
    pub limit: usize,
}

/// Where a listed transaction stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListedState {
    /// In the mempool.
    Pending,
    /// In the applied block `block` of `layer`, with its result.
    Applied {
        /// The layer.
        layer: LayerId,
        /// The layer's applied block (`None` if the mesh no longer keeps the layer).
        block: Option<BlockId>,
        /// What executing it did.
        result: TxResult,
    },
}

/// One transaction of a [`Consensus::list_txs`] answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedTx {
    /// Its id.
    pub id: Hash32,
    /// Its bytes.
    pub raw: Bytes,
    /// Its parse against the principal's applied state (`None`: it does not parse, as a
    /// malformed transaction a block carried without effect).
    pub parsed: Option<ParsedTx>,
    /// Where it stands.
    pub state: ListedState,
}

/// The addresses a parsed transaction names: its principal and whom it sends to.
pub fn tx_addresses(parsed: &ParsedTx) -> Vec<Address> {
    let mut out = vec![parsed.body.principal];
    match &parsed.body.call {
        Call::Spend(s) => out.push(s.destination),
        Call::Drain(d) => out.extend([d.vault, d.destination]),
        Call::Spawn { .. } => {}
    }
    out
}

impl Consensus {
    /// The page of listable transactions (see the module docs) that `q` asks for.
    pub fn list_txs(&self, q: &TxQuery) -> Vec<ListedTx> {
        let in_range = |layer: LayerId| {
            q.start_layer.is_none_or(|s| layer >= s) && q.end_layer.is_none_or(|e| layer <= e)
        };
        let wanted = |id: &Hash32| q.ids.is_empty() || q.ids.contains(id);
        // (layer, id), pending as `None` (which sorts before every `Some`, hence the flip).
        let mut keys: Vec<(Option<LayerId>, Hash32)> = self
            .tx_results
            .iter()
            .filter(|(id, (layer, _))| in_range(*layer) && wanted(id))
            .map(|(id, (layer, _))| (Some(*layer), *id))
            .collect();
        if q.end_layer.is_none() {
            keys.extend(
                self.mempool
                    .ids()
                    .filter(|id| wanted(id) && !self.tx_results.contains_key(id))
                    .map(|id| (None, *id)),
            );
        }
        let pending_last = |(layer, id): &(Option<LayerId>, Hash32)| (layer.is_none(), *layer, *id);
        keys.sort_by_key(pending_last);
        if q.descending {
            keys.reverse();
        }
        let listed = keys.into_iter().filter_map(|(layer, id)| self.listed(layer, id));
        match q.address {
            // Without an address filter only the page is parsed.
            None => listed.skip(q.offset).take(q.limit).collect(),
            Some(a) => listed
                .filter(|t| t.parsed.as_ref().is_some_and(|p| tx_addresses(p).contains(&a)))
                .skip(q.offset)
                .take(q.limit)
                .collect(),
        }
    }

    /// A listed transaction from its key, if its bytes are still kept.
    fn listed(&self, layer: Option<LayerId>, id: Hash32) -> Option<ListedTx> {
        let raw = match layer {
            None => self.mempool.get(&id)?.raw.clone(),
            Some(_) => self.tx_raw(&id)?,
        };
        let state = match layer {
            None => ListedState::Pending,
            Some(layer) => ListedState::Applied {
                layer,
                block: self.mesh.layer(layer).and_then(|l| l.block),
                result: self.tx_results.get(&id)?.1.clone(),
            },
        };
        let parsed = tx::principal_of(&raw)
            .ok()
            .and_then(|p| tx::parse(&raw, self.mesh.account(&p).spawned.as_ref()).ok());
        Some(ListedTx { id, raw, parsed, state })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::codec::BoundedBytes;
    use crate::node::consensus::ConsensusConfig;
    use crate::tx::{Spawned, Spend, TxKey};
    use crate::types::{GenesisId, Time};

    const GENESIS: GenesisId = GenesisId([3; 20]);

    /// A consensus part whose mempool holds the self-spawns of wallets 1 and 2 and whose kept
    /// results say that wallet 3's spawn failed in layer 5 and wallet 4's succeeded in layer 7.
    /// Returns it and the four ids in that order.
    fn with_txs() -> (Consensus, [Hash32; 4]) {
        let key = |n: u8| TxKey::from_seed([n; 32]);
        let mut cfg = ConsensusConfig::sim(Time(0), 1, Vec::new());
        cfg.genesis_accounts = (1..=4).map(|n| (key(n).wallet_address(), 1_000_000_000)).collect();
        let verifier = Arc::new(crate::crypto::Ed25519Verifier);
        let rng = ChaCha8Rng::from_seed([0; 32]);
        let mut c = Consensus::new(cfg, GENESIS, [1; 32], [2; 32], verifier, rng);
        let mut ids = Vec::new();
        for n in [1, 2] {
            let raw = Bytes::from(key(n).wallet_spawn(&GENESIS, 0, 1));
            ids.push(tx::tx_id(&raw));
            c.submit_tx(raw);
        }
        assert_eq!(c.mempool().len(), 2, "both spawns are pending");
        let applied = [
            (key(3).wallet_spawn(&GENESIS, 0, 1), 5, TxResult::FAILED),
            (key(4).wallet_spawn(&GENESIS, 0, 1), 7, TxResult::SUCCEEDED),
        ];
        for (raw, layer, status) in applied {
            let raw = Bytes::from(raw);
            let id = tx::tx_id(&raw);
            let reason = BoundedBytes::new(Bytes::from_static(b"why")).unwrap();
            let result = TxResult { id, status, fee: 7, reason };
            c.tx_results.insert(id, (LayerId(layer), result));
            c.tx_bytes.insert(id, (raw, LayerId(layer)));
            ids.push(id);
        }
        (c, ids.try_into().unwrap())
    }

    fn ids(listed: &[ListedTx]) -> Vec<Hash32> {
        listed.iter().map(|t| t.id).collect()
    }

    #[test]
    fn lists_applied_by_layer_then_pending_in_id_order() {
        // Ascending: layer 5, layer 7, then the pending ones by id; descending the reverse.
        let (c, [p1, p2, a5, a7]) = with_txs();
        let (lo, hi) = if p1 < p2 { (p1, p2) } else { (p2, p1) };
        let all = TxQuery { limit: 10, ..TxQuery::default() };
        assert_eq!(ids(&c.list_txs(&all)), [a5, a7, lo, hi]);
        let desc = TxQuery { descending: true, ..all.clone() };
        assert_eq!(ids(&c.list_txs(&desc)), [hi, lo, a7, a5]);
        let page = TxQuery { offset: 1, limit: 2, ..all.clone() };
        assert_eq!(ids(&c.list_txs(&page)), [a7, lo]);
        let listed = c.list_txs(&all);
        let ListedState::Applied { layer, result, .. } = &listed[0].state else {
            panic!("layer 5's spawn is applied");
        };
        assert_eq!(
            (*layer, result.status, result.reason()),
            (LayerId(5), TxResult::FAILED, "why".into())
        );
        assert_eq!(listed[2].state, ListedState::Pending);
        assert!(listed.iter().all(|t| t.parsed.is_some()), "each parses against its principal");
    }

    #[test]
    fn filters_by_layers_ids_and_address() {
        // A layer range leaves out what is outside it (an end layer every pending one), ids
        // and an address keep only theirs.
        let (c, [p1, p2, a5, a7]) = with_txs();
        let q = |f: &dyn Fn(&mut TxQuery)| {
            let mut q = TxQuery { limit: 10, ..TxQuery::default() };
            f(&mut q);
            ids(&c.list_txs(&q))
        };
        assert_eq!(q(&|q| q.start_layer = Some(LayerId(6))).len(), 3);
        assert_eq!(q(&|q| q.end_layer = Some(LayerId(6))), [a5]);
        assert_eq!(q(&|q| q.ids = vec![a7, p2]), [a7, p2]);
        let wallet = |n: u8| TxKey::from_seed([n; 32]).wallet_address();
        assert_eq!(q(&|q| q.address = Some(wallet(1))), [p1]);
        assert_eq!(q(&|q| q.address = Some(wallet(3))), [a5]);
        assert!(q(&|q| q.address = Some(Address([9; 24]))).is_empty());
    }

    #[test]
    fn addresses_of_a_spend_and_a_spawn() {
        // A spend names its principal and destination, a spawn only its principal.
        let key = TxKey::from_seed([5; 32]);
        let spawn = tx::parse(&key.wallet_spawn(&GENESIS, 0, 1), None).unwrap();
        assert_eq!(tx_addresses(&spawn), [key.wallet_address()]);
        let spend = Call::Spend(Spend { destination: Address([8; 24]), amount: 1 });
        let state = Spawned { template: crate::account::Template::Wallet, args: key.wallet_args() };
        let spend = tx::parse(&key.wallet_tx(&GENESIS, 1, 1, spend), Some(&state)).unwrap();
        assert_eq!(tx_addresses(&spend), [key.wallet_address(), Address([8; 24])]);
    }
}
