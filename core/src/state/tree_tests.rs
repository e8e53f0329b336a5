use proptest::prelude::*;

use super::tree::*;
use super::*;
use crate::types::Hash32;
use std::collections::BTreeMap;

fn addr(n: u32) -> Address {
    let mut a = [0u8; 24];
    a[20..].copy_from_slice(&n.to_le_bytes());
    Address(a)
}

fn acct(balance: u64) -> Account {
    Account { balance, next_nonce: balance % 7, spawned: None }
}

/// The root computed from scratch, recursively: the definition the cached tree must match.
fn naive_root(leaves: &[([u8; 32], Hash32)], depth: usize) -> Hash32 {
    match leaves {
        [] => EMPTY_ROOT,
        [(_, h)] => *h,
        _ => {
            let split = leaves.partition_point(|(k, _)| k[depth / 8] >> (7 - depth % 8) & 1 == 0);
            let (l, r) = leaves.split_at(split);
            let (l, r) = (naive_root(l, depth + 1), naive_root(r, depth + 1));
            let mut h = blake3::Hasher::new();
            h.update(&[1]);
            h.update(&l.0);
            h.update(&r.0);
            Hash32(*h.finalize().as_bytes())
        }
    }
}

fn naive(accounts: &BTreeMap<Address, Account>) -> Hash32 {
    let mut leaves: Vec<([u8; 32], Hash32)> =
        accounts.iter().map(|(a, acc)| (key_of(a), leaf_hash(&key_of(a), acc))).collect();
    leaves.sort();
    naive_root(&leaves, 0)
}

/// The root is the same whatever the order of updates, and matches the recursive definition.
#[test]
fn root_is_order_independent() {
    let accounts: BTreeMap<Address, Account> =
        (0..200).map(|n| (addr(n), acct(u64::from(n) + 1))).collect();
    let mut forward = StateTree::new();
    for (a, acc) in &accounts {
        forward.update([(a, Some(acc))]);
    }
    let mut backward = StateTree::new();
    for (a, acc) in accounts.iter().rev() {
        backward.update([(a, Some(acc))]);
    }
    let mut batch = StateTree::new();
    batch.update(accounts.iter().map(|(a, acc)| (a, Some(acc))));
    assert_eq!(forward.root(), naive(&accounts));
    assert_eq!(backward.root(), forward.root());
    assert_eq!(batch, forward, "the same cached nodes, too");
    assert_eq!(StateTree::new().root(), EMPTY_ROOT);
}

/// Proofs of present and absent accounts check against the root; a wrong value, a wrong
/// claim of absence, or another root does not.
#[test]
fn proofs() {
    let mut tree = StateTree::new();
    let accounts: Vec<(Address, Account)> =
        (0..50).map(|n| (addr(n), acct(u64::from(n) * 3 + 1))).collect();
    tree.update(accounts.iter().map(|(a, acc)| (a, Some(acc))));
    let root = tree.root();
    for (a, acc) in &accounts {
        let p = tree.prove(a);
        assert!(verify_proof(&root, a, Some(acc), &p));
        assert!(!verify_proof(&root, a, Some(&acct(999)), &p));
        assert!(!verify_proof(&root, a, None, &p));
    }
    for n in 1000..1050 {
        let p = tree.prove(&addr(n));
        assert!(verify_proof(&root, &addr(n), None, &p), "absence of {n}");
        assert!(!verify_proof(&root, &addr(n), Some(&acct(1)), &p));
    }
    let p = tree.prove(&accounts[0].0);
    assert!(!verify_proof(&Hash32([7; 32]), &accounts[0].0, Some(&accounts[0].1), &p));
    // A single account: its leaf is the root and the proof is empty.
    let mut one = StateTree::new();
    one.update([(&addr(1), Some(&acct(5)))]);
    let p = one.prove(&addr(1));
    assert!(p.siblings.is_empty() && verify_proof(&one.root(), &addr(1), Some(&acct(5)), &p));
}

proptest! {
    /// Random inserts, changes and removals keep the cached root equal to the definition and
    /// leave no stale cached node behind (removing everything gives the empty tree).
    #[test]
    fn random_updates_match_the_definition(ops in prop::collection::vec((0u32..40, prop::option::of(1u64..1000)), 1..120)) {
        let mut tree = StateTree::new();
        let mut model: BTreeMap<Address, Account> = BTreeMap::new();
        for chunk in ops.chunks(5) {
            let changes: Vec<(Address, Option<Account>)> = chunk.iter().map(|(n, b)| (addr(*n), b.map(acct))).collect();
            for (a, acc) in &changes {
                match acc {
                    Some(acc) => model.insert(*a, acc.clone()),
                    None => model.remove(a),
                };
            }
            // The last change of an address wins, as in the model.
            let mut last: BTreeMap<Address, Option<Account>> = BTreeMap::new();
            for (a, acc) in changes {
                last.insert(a, acc);
            }
            tree.update(last.iter().map(|(a, acc)| (a, acc.as_ref())));
            prop_assert_eq!(tree.root(), naive(&model));
            prop_assert_eq!(tree.len(), model.len());
            // Exactly the cached nodes of the same accounts inserted at once: none stale, none
            // missing.
            let mut fresh = StateTree::new();
            fresh.update(model.iter().map(|(a, acc)| (a, Some(acc))));
            prop_assert_eq!(&tree, &fresh);
        }
        let all: Vec<Address> = model.keys().copied().collect();
        tree.update(all.iter().map(|a| (a, None)));
        prop_assert_eq!(tree, StateTree::new());
    }
}
