use proptest::prelude::*;

use super::*;

fn addr(n: u8) -> Address {
    let mut a = [0u8; 24];
    a[23] = n;
    Address(a)
}

fn tx(principal: u8, nonce: u64, gas_price: u64, max_spend: u64) -> PoolTx {
    let mut id = [0u8; 32];
    id[0] = principal;
    id[1..9].copy_from_slice(&nonce.to_be_bytes());
    id[9..17].copy_from_slice(&gas_price.to_be_bytes());
    PoolTx {
        id: Hash32(id),
        raw: Bytes::new(),
        principal: addr(principal),
        nonce,
        gas_price,
        max_gas: 10,
        max_spend,
    }
}

fn account(balance: u64, next_nonce: u64) -> Account {
    Account { balance, next_nonce, spawned: None }
}

fn small() -> MempoolConfig {
    MempoolConfig { txs_max: 4, per_account_max: 3, nonce_gap_max: 5 }
}

#[test]
fn projection_follows_ready_transactions() {
    let mut pool = Mempool::new(MempoolConfig::default());
    let a = account(100, 3);
    pool.insert(tx(1, 3, 1, 20), &a).unwrap(); // cost 30
    pool.insert(tx(1, 5, 1, 0), &a).unwrap(); // after a gap: waits
    assert_eq!(pool.projected(&addr(1), &a), (4, 70));
    pool.insert(tx(1, 4, 2, 30), &a).unwrap(); // cost 50 closes the gap
    assert_eq!(pool.projected(&addr(1), &a), (6, 10));
    assert_eq!(pool.select(10).len(), 3);
    pool.check_invariants();
}

#[test]
fn refusals_say_why() {
    let mut pool = Mempool::new(small());
    let a = account(100, 3);
    pool.insert(tx(1, 3, 2, 0), &a).unwrap();
    assert_eq!(pool.insert(tx(1, 3, 2, 0), &a), Err(MempoolReject::Known));
    assert_eq!(
        pool.insert(tx(1, 2, 1, 0), &a),
        Err(MempoolReject::NonceTooLow { nonce: 2, next: 3 })
    );
    assert_eq!(
        pool.insert(tx(1, 9, 1, 0), &a),
        Err(MempoolReject::NonceTooHigh { nonce: 9, next: 3, gap: 5 })
    );
    assert_eq!(
        pool.insert(tx(1, 3, 1, 1), &a),
        Err(MempoolReject::NonceTaken { nonce: 3, price: 2 })
    );
    assert_eq!(
        pool.insert(tx(1, 4, 1, 81), &a),
        Err(MempoolReject::InsufficientBalance { balance: 80, cost: 91 })
    );
    pool.insert(tx(1, 4, 1, 0), &a).unwrap();
    pool.insert(tx(1, 5, 1, 0), &a).unwrap();
    assert_eq!(pool.insert(tx(1, 6, 1, 0), &a), Err(MempoolReject::AccountFull(3)));
    let s = MempoolReject::InsufficientBalance { balance: 80, cost: 91 }.to_string();
    assert!(s.contains("80") && s.contains("91"), "{s}");
    pool.check_invariants();
}

#[test]
fn higher_price_replaces_same_nonce() {
    let mut pool = Mempool::new(small());
    let a = account(100, 0);
    let first = tx(1, 0, 1, 0);
    pool.insert(first.clone(), &a).unwrap();
    let better = tx(1, 0, 3, 0);
    let done = pool.insert(better.clone(), &a).unwrap();
    assert_eq!(done.replaced, Some(first.id));
    assert!(!pool.contains(&first.id) && pool.contains(&better.id));
    pool.check_invariants();
}

#[test]
fn full_pool_evicts_the_cheapest_last_transaction() {
    let mut pool = Mempool::new(small());
    let a = account(1000, 0);
    pool.insert(tx(1, 0, 5, 0), &a).unwrap();
    pool.insert(tx(1, 1, 1, 0), &a).unwrap();
    pool.insert(tx(2, 0, 4, 0), &a).unwrap();
    pool.insert(tx(3, 0, 3, 0), &a).unwrap();
    assert_eq!(pool.insert(tx(4, 0, 1, 0), &a), Err(MempoolReject::Full(1)));
    let done = pool.insert(tx(4, 0, 2, 0), &a).unwrap();
    assert_eq!(done.evicted, Some(tx(1, 1, 1, 0).id));
    assert_eq!(pool.len(), 4);
    pool.check_invariants();
}

#[test]
fn applied_state_drops_used_nonces() {
    let mut pool = Mempool::new(MempoolConfig::default());
    let a = account(100, 0);
    for n in 0..3 {
        pool.insert(tx(1, n, 1, 0), &a).unwrap();
    }
    let dropped = pool.on_account(&addr(1), &account(70, 2));
    assert_eq!(dropped, vec![tx(1, 0, 1, 0).id, tx(1, 1, 1, 0).id]);
    assert_eq!(pool.projected(&addr(1), &a), (3, 60));
    pool.on_account(&addr(1), &account(60, 3));
    assert!(pool.is_empty());
    pool.check_invariants();
}

#[test]
fn selection_orders_by_price_within_nonce_order() {
    let mut pool = Mempool::new(MempoolConfig::default());
    let a = account(1000, 0);
    pool.insert(tx(1, 0, 1, 0), &a).unwrap();
    pool.insert(tx(1, 1, 9, 0), &a).unwrap();
    pool.insert(tx(2, 0, 5, 0), &a).unwrap();
    let picked = pool.select(3);
    assert_eq!(picked, vec![tx(2, 0, 5, 0).id, tx(1, 0, 1, 0).id, tx(1, 1, 9, 0).id]);
    assert_eq!(pool.select(1), vec![tx(2, 0, 5, 0).id]);
}

#[derive(Debug, Clone)]
enum Op {
    Insert { principal: u8, nonce: u64, price: u64, spend: u64 },
    Apply { principal: u8, nonce: u64, balance: u64 },
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..4, 0u64..8, 1u64..5, 0u64..60)
            .prop_map(|(principal, nonce, price, spend)| Op::Insert { principal, nonce, price, spend }),
        1 => (0u8..4, 0u64..6, 0u64..200)
            .prop_map(|(principal, nonce, balance)| Op::Apply { principal, nonce, balance }),
    ]
}

proptest! {
    /// Against a model of the applied state: the pool keeps its invariants, selects only
    /// transactions that run in nonce order from the applied nonce and that the balance
    /// covers, and projects exactly what executing its ready transactions would leave.
    #[test]
    fn pool_matches_the_model(ops in prop::collection::vec(arb_op(), 1..60)) {
        let mut pool = Mempool::new(MempoolConfig { txs_max: 12, per_account_max: 4, nonce_gap_max: 3 });
        let mut state: BTreeMap<Address, Account> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Insert { principal, nonce, price, spend } => {
                    let acc = state.get(&addr(principal)).cloned().unwrap_or(account(100, 0));
                    let _ = pool.insert(tx(principal, nonce, price, spend), &acc);
                }
                Op::Apply { principal, nonce, balance } => {
                    let acc = account(balance, nonce);
                    state.insert(addr(principal), acc.clone());
                    pool.on_account(&addr(principal), &acc);
                }
            }
            pool.check_invariants();
            let picked = pool.select(usize::MAX);
            let mut run: BTreeMap<Address, Account> = BTreeMap::new();
            for id in &picked {
                let t = pool.get(id).expect("selected txs are kept");
                let acc = run.entry(t.principal).or_insert_with(|| {
                    state.get(&t.principal).cloned().unwrap_or(account(100, 0))
                });
                prop_assert_eq!(t.nonce, acc.next_nonce, "selected out of nonce order");
                prop_assert!(t.cost() <= acc.balance, "selected an unaffordable tx");
                acc.next_nonce += 1;
                acc.balance -= t.cost();
            }
            for p in 0..4u8 {
                let a = addr(p);
                let applied = state.get(&a).cloned().unwrap_or(account(100, 0));
                let expected = run.get(&a).map_or((applied.next_nonce, applied.balance), |r| (r.next_nonce, r.balance));
                prop_assert_eq!(pool.projected(&a, &applied), expected);
            }
        }
    }
}
