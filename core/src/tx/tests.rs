use proptest::prelude::*;

use super::*;
use crate::account::{Address, Template, principal};
use crate::crypto::Ed25519Verifier;
use crate::types::{GenesisId, LayerId};

const GENESIS: GenesisId = GenesisId([5; 20]);

fn key(n: u8) -> TxKey {
    TxKey::from_seed([n; 32])
}

fn wallet(n: u8) -> Spawned {
    Spawned {
        template: Template::Wallet,
        args: SpawnArgs::Wallet { public_key: key(n).public_key() },
    }
}

fn multisig(template: Template, required: u8, keys: &[u8]) -> Spawned {
    let public_keys = keys.iter().map(|n| key(*n).public_key()).collect();
    Spawned { template, args: SpawnArgs::Multisig(MultisigArgs { required, public_keys }) }
}

fn address(s: &Spawned) -> Address {
    principal(s.template, &s.args.encode())
}

fn spend(from: &Spawned, nonce: u64, amount: u64) -> TxBody {
    TxBody {
        principal: address(from),
        nonce,
        gas_price: 1,
        call: Call::Spend(Spend { destination: Address([9; 24]), amount }),
    }
}

fn self_spawn(s: &Spawned) -> TxBody {
    TxBody {
        principal: address(s),
        nonce: 0,
        gas_price: 1,
        call: Call::Spawn { template: s.template, args: s.args.clone() },
    }
}

fn parts(unsigned: &[u8], keys: &[(u8, u8)]) -> Vec<Part> {
    keys.iter()
        .map(|(index, seed)| Part { key: *index, signature: key(*seed).sign(&GENESIS, unsigned) })
        .collect()
}

/// A wallet spawns itself, then spends: both parse against the right state and verify; a
/// changed byte, another network or another key does not.
#[test]
fn wallet_spawn_and_spend() {
    let w = wallet(1);
    let raw = key(1).sign_single(&GENESIS, &self_spawn(&w).encode());
    let tx = parse(&raw, None).expect("self-spawn parses");
    assert!(tx.self_spawn);
    assert_eq!(tx.body, self_spawn(&w));
    assert!(verify(&tx, &raw, &GENESIS, &Ed25519Verifier));
    assert!(!verify(&tx, &raw, &GenesisId([6; 20]), &Ed25519Verifier));

    let raw = key(1).sign_single(&GENESIS, &spend(&w, 1, 500).encode());
    assert_eq!(parse(&raw, None), Err(TxError::NotSpawned(address(&w))));
    let tx = parse(&raw, Some(&w)).expect("spend parses");
    assert_eq!((tx.max_spend, tx.self_spawn), (500, false));
    assert!(verify(&tx, &raw, &GENESIS, &Ed25519Verifier));
    assert!((33_000..=37_000).contains(&tx.max_gas), "{}", tx.max_gas);
    let mut bent = raw.clone();
    bent[30] ^= 1;
    let bent_tx = parse(&bent, Some(&w)).expect("still parses");
    assert!(!verify(&bent_tx, &bent, &GENESIS, &Ed25519Verifier));
    let other = key(2).sign_single(&GENESIS, &spend(&w, 1, 500).encode());
    assert!(!verify(&parse(&other, Some(&w)).unwrap(), &other, &GENESIS, &Ed25519Verifier));
}

/// A 2-of-3 multisig verifies with two distinct keys in ascending order, and with nothing
/// else: keys out of order, the same key twice, an index past the keys, a wrong signer.
#[test]
fn multisig_signatures() {
    let m = multisig(Template::Multisig, 2, &[1, 2, 3]);
    let unsigned = self_spawn(&m).encode();
    let raw = with_parts(&unsigned, &parts(&unsigned, &[(2, 3), (0, 1)]));
    let tx = parse(&raw, None).expect("multisig self-spawn parses");
    assert!(tx.self_spawn && verify(&tx, &raw, &GENESIS, &Ed25519Verifier));

    let unsigned = spend(&m, 3, 7).encode();
    let check = |raw: &[u8]| {
        parse(raw, Some(&m)).is_ok_and(|tx| verify(&tx, raw, &GENESIS, &Ed25519Verifier))
    };
    assert!(check(&with_parts(&unsigned, &parts(&unsigned, &[(0, 1), (1, 2)]))));
    // with_parts sorts, so build the unsorted and repeated cases by hand.
    let by_hand = |list: &[(u8, u8)]| {
        let mut raw = unsigned.clone();
        for p in parts(&unsigned, list) {
            crate::codec::encode_compact(u64::from(p.key), &mut raw);
            raw.extend_from_slice(&p.signature.0);
        }
        raw
    };
    assert!(!check(&by_hand(&[(1, 2), (0, 1)])), "descending keys");
    assert!(!check(&by_hand(&[(0, 1), (0, 1)])), "the same key twice");
    assert!(!check(&by_hand(&[(0, 1), (3, 2)])), "no key 3");
    assert!(!check(&by_hand(&[(0, 1), (1, 3)])), "key 1 signed by another");
    let one = by_hand(&[(0, 1)]);
    assert!(matches!(parse(&one, Some(&m)), Err(TxError::Malformed { .. })), "one part short");
}

/// Vesting accounts drain vaults; other templates have no such method. A vault spawned by a
/// spawned account is charged the spawner's load; the vault itself never verifies.
#[test]
fn vesting_and_vault() {
    let v = multisig(Template::Vesting, 1, &[4]);
    let drain = TxBody {
        principal: address(&v),
        nonce: 2,
        gas_price: 2,
        call: Call::Drain(Drain {
            vault: Address([3; 24]),
            destination: Address([4; 24]),
            amount: 9,
        }),
    };
    let unsigned = drain.encode();
    let raw = with_parts(&unsigned, &parts(&unsigned, &[(0, 4)]));
    let tx = parse(&raw, Some(&v)).expect("drain parses");
    assert_eq!(tx.body, drain);
    assert!(verify(&tx, &raw, &GENESIS, &Ed25519Verifier));
    let w = wallet(1);
    let as_wallet = TxBody { principal: address(&w), ..drain };
    let raw = key(1).sign_single(&GENESIS, &as_wallet.encode());
    assert_eq!(
        parse(&raw, Some(&w)),
        Err(TxError::UnknownMethod { template: "wallet", method: 17 })
    );

    let vault = SpawnArgs::Vault(VaultArgs {
        owner: address(&v),
        total_amount: 1_000,
        initial_unlock_amount: 100,
        vesting_start: LayerId(10),
        vesting_end: LayerId(110),
    });
    let spawn = TxBody {
        principal: address(&v),
        nonce: 3,
        gas_price: 1,
        call: Call::Spawn { template: Template::Vault, args: vault.clone() },
    };
    let unsigned = spawn.encode();
    let raw = with_parts(&unsigned, &parts(&unsigned, &[(0, 4)]));
    assert_eq!(parse(&raw, None), Err(TxError::NotSpawned(address(&v))), "spawner not spawned");
    let tx = parse(&raw, Some(&v)).expect("vault spawn parses");
    assert!(!tx.self_spawn && verify(&tx, &raw, &GENESIS, &Ed25519Verifier));

    let vault_state = Spawned { template: Template::Vault, args: vault };
    let from_vault = spend(&vault_state, 0, 5).encode();
    let tx = parse(&from_vault, Some(&vault_state)).expect("a vault's spend parses");
    assert_eq!(tx.signatures, Signatures::None);
    assert!(!verify(&tx, &from_vault, &GENESIS, &Ed25519Verifier));
}

/// Bytes that are not a transaction get a reason.
#[test]
fn malformed_transactions_are_refused() {
    let w = wallet(1);
    let good = key(1).sign_single(&GENESIS, &spend(&w, 1, 5).encode());
    let mut v1 = good.clone();
    v1[0] = 4; // compact 1
    assert_eq!(parse(&v1, Some(&w)), Err(TxError::Version(1)));
    let mut trailing = good.clone();
    trailing.push(0);
    assert_eq!(parse(&trailing, Some(&w)), Err(TxError::Trailing(1)));
    assert!(matches!(parse(&good[..good.len() - 1], Some(&w)), Err(TxError::Malformed { .. })));
    assert_eq!(parse(&[0; TX_SIZE_MAX + 1], None), Err(TxError::TooLarge(TX_SIZE_MAX + 1)));

    let mut unknown = self_spawn(&w).encode();
    unknown[26 + 23] = 9; // the template address's last byte
    assert_eq!(
        parse(&unknown, None),
        Err(TxError::UnknownTemplate({
            let mut a = [0; 24];
            a[23] = 9;
            Address(a)
        }))
    );
    for (required, keys) in [(0u8, &[1u8, 2][..]), (3, &[1, 2]), (1, &[])] {
        let bad = multisig(Template::Multisig, required, keys);
        let raw = self_spawn(&bad).encode();
        assert!(
            matches!(parse(&raw, None), Err(TxError::InvalidSpawn(_))),
            "{required} of {keys:?}"
        );
    }
}

fn arb_address() -> impl Strategy<Value = Address> {
    proptest::array::uniform20(any::<u8>()).prop_map(|tail| {
        let mut a = [0u8; 24];
        a[4..].copy_from_slice(&tail);
        Address(a)
    })
}

fn arb_spawned() -> impl Strategy<Value = Spawned> {
    prop_oneof![
        any::<[u8; 32]>().prop_map(|public_key| Spawned {
            template: Template::Wallet,
            args: SpawnArgs::Wallet { public_key }
        }),
        (prop::collection::vec(any::<[u8; 32]>(), 1..=10), any::<u8>(), any::<bool>()).prop_map(
            |(public_keys, r, vesting)| {
                let required = 1 + r % public_keys.len() as u8;
                Spawned {
                    template: if vesting { Template::Vesting } else { Template::Multisig },
                    args: SpawnArgs::Multisig(MultisigArgs { required, public_keys }),
                }
            }
        ),
    ]
}

proptest! {
    /// Every call of every signing template encodes to bytes that parse back to the same body,
    /// with the signatures read where they were put.
    #[test]
    fn bodies_round_trip(
        signer in arb_spawned(),
        nonce in any::<u64>(),
        gas_price in any::<u64>(),
        to in arb_address(),
        amount in any::<u64>(),
        which in 0u8..3,
    ) {
        let call = match which {
            0 => Call::Spawn { template: signer.template, args: signer.args.clone() },
            1 => Call::Spend(Spend { destination: to, amount }),
            _ if signer.template == Template::Vesting =>
                Call::Drain(Drain { vault: to, destination: to, amount }),
            _ => Call::Spend(Spend { destination: to, amount }),
        };
        let body = TxBody { principal: address(&signer), nonce, gas_price, call };
        let unsigned = body.encode();
        let raw = match &signer.args {
            SpawnArgs::Multisig(m) => {
                let list: Vec<Part> = (0..m.required)
                    .map(|k| Part { key: k, signature: crate::crypto::Signature([k; 64]) })
                    .collect();
                with_parts(&unsigned, &list)
            }
            _ => [unsigned.clone(), vec![7; 64]].concat(),
        };
        let state = (which != 0).then_some(&signer);
        if raw.len() > TX_SIZE_MAX {
            // Ten keys and ten signatures do not fit: genvm refuses such a transaction too.
            prop_assert_eq!(parse(&raw, state), Err(TxError::TooLarge(raw.len())));
            return Ok(());
        }
        let tx = parse(&raw, state).expect("parses");
        prop_assert_eq!(&tx.body, &body);
        prop_assert_eq!(tx.signed_len, unsigned.len());
        prop_assert_eq!(tx.self_spawn, which == 0);
    }

    /// Parsing arbitrary bytes never panics, against any principal state.
    #[test]
    fn parse_never_panics(raw in prop::collection::vec(any::<u8>(), 0..300), signer in arb_spawned()) {
        let _ = parse(&raw, None);
        let _ = parse(&raw, Some(&signer));
    }
}
