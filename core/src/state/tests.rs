use proptest::prelude::*;

use super::*;
use crate::account::principal;
use crate::crypto::Ed25519Verifier;
use crate::tx::{Drain, MultisigArgs, Part, Spend, TxBody, TxKey, with_parts};

const GENESIS: GenesisId = GenesisId([3; 20]);
const BIG: u64 = 1_000_000_000_000;

fn ctx(layer: u32) -> ExecContext<'static> {
    ExecContext {
        layer: LayerId(layer),
        genesis: GENESIS,
        gas_limit: 100_000_000,
        verifier: &Ed25519Verifier,
    }
}

fn key(n: u8) -> TxKey {
    TxKey::from_seed([n; 32])
}

fn wallet_args(n: u8) -> SpawnArgs {
    SpawnArgs::Wallet { public_key: key(n).public_key() }
}

fn wallet_addr(n: u8) -> Address {
    principal(Template::Wallet, &wallet_args(n).encode())
}

fn signed(n: u8, body: &TxBody) -> Vec<u8> {
    key(n).sign_single(&GENESIS, &body.encode())
}

fn self_spawn(n: u8, nonce: u64) -> Vec<u8> {
    signed(
        n,
        &TxBody {
            principal: wallet_addr(n),
            nonce,
            gas_price: 1,
            call: Call::Spawn { template: Template::Wallet, args: wallet_args(n) },
        },
    )
}

fn spend(n: u8, nonce: u64, gas_price: u64, to: Address, amount: u64) -> Vec<u8> {
    signed(
        n,
        &TxBody {
            principal: wallet_addr(n),
            nonce,
            gas_price,
            call: Call::Spend(Spend { destination: to, amount }),
        },
    )
}

fn run(accounts: &mut Accounts, layer: u32, txs: &[Vec<u8>]) -> BlockOutcome {
    let refs: Vec<&[u8]> = txs.iter().map(Vec::as_slice).collect();
    execute_block(accounts, &ctx(layer), &refs)
}

fn ok(o: &Outcome) -> bool {
    matches!(o, Outcome::Executed { result: Ok(()), .. })
}

/// A stub account funded before it exists spawns itself and spends; the fee is gas times
/// price; the receiver need not exist; nonces move to the transaction's plus one.
#[test]
fn stub_account_spawns_and_spends() {
    let mut accounts = Accounts::new();
    accounts.credit(wallet_addr(1), BIG);
    let out = run(&mut accounts, 1, &[self_spawn(1, 0), spend(1, 5, 2, wallet_addr(2), 1_000)]);
    assert!(out.outcomes.iter().all(ok), "{out:?}");
    let Outcome::Executed { gas, fee, .. } = out.outcomes[1] else { unreachable!() };
    assert_eq!(fee, gas * 2);
    let me = accounts.get(&wallet_addr(1));
    assert_eq!(me.next_nonce, 6, "a nonce gap is allowed");
    assert!(me.spawned.is_some());
    assert_eq!(accounts.get(&wallet_addr(2)).balance, 1_000);
    assert_eq!(accounts.total() + u128::from(out.fees), u128::from(BIG));
}

/// Ineffective transactions change nothing and pay nothing: unparsable, not spawned, zero
/// gas price, balance below intrinsic gas, out of block gas, bad signature, old nonce.
#[test]
fn ineffective_transactions_change_nothing() {
    let mut accounts = Accounts::new();
    accounts.credit(wallet_addr(1), BIG);
    accounts.credit(wallet_addr(3), BIG);
    run(&mut accounts, 1, &[self_spawn(1, 0), self_spawn(3, 0)]);
    // Wallet 3 is spawned but left with almost nothing.
    let mut poor = accounts.get(&wallet_addr(3));
    poor.balance = 10;
    accounts.put(wallet_addr(3), poor);
    let before = accounts.clone();
    let mut forged = spend(1, 1, 1, wallet_addr(2), 5);
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let txs = [
        vec![1, 2, 3],
        spend(4, 0, 1, wallet_addr(2), 5),
        spend(1, 1, 0, wallet_addr(2), 5),
        spend(3, 1, 1, wallet_addr(2), 5),
        forged,
        spend(1, 0, 1, wallet_addr(2), 5),
    ];
    let out = run(&mut accounts, 2, &txs);
    let why: Vec<&Ineffective> = out
        .outcomes
        .iter()
        .map(|o| match o {
            Outcome::Ineffective(i) => i,
            other => panic!("executed: {other:?}"),
        })
        .collect();
    assert!(matches!(why[0], Ineffective::Parse(_)));
    assert!(matches!(why[1], Ineffective::Parse(TxError::NotSpawned(_))));
    assert_eq!(why[2], &Ineffective::ZeroGasPrice);
    assert!(matches!(why[3], Ineffective::IntrinsicGas { balance: 10, .. }));
    assert_eq!(why[4], &Ineffective::Signature);
    assert_eq!(why[5], &Ineffective::NonceTooLow { nonce: 0, next: 1 });
    assert_eq!((accounts, out.fees), (before, 0));

    let mut small = Accounts::new();
    small.credit(wallet_addr(1), BIG);
    let tight = ExecContext { gas_limit: 120_000, ..ctx(1) };
    let refs = [self_spawn(1, 0), spend(1, 1, 1, wallet_addr(2), 1)];
    let refs: Vec<&[u8]> = refs.iter().map(Vec::as_slice).collect();
    let out = execute_block(&mut small, &tight, &refs);
    assert!(ok(&out.outcomes[0]));
    assert!(matches!(out.outcomes[1], Outcome::Ineffective(Ineffective::BlockGas { .. })));
}

/// A call that fails still pays its gas and uses its nonce: spending more than the balance,
/// a balance that covers the intrinsic gas but not the whole charge, spawning twice.
#[test]
fn failed_calls_pay() {
    let mut accounts = Accounts::new();
    accounts.credit(wallet_addr(1), BIG);
    run(&mut accounts, 1, &[self_spawn(1, 0)]);
    let out = run(&mut accounts, 2, &[spend(1, 1, 1, wallet_addr(2), BIG), self_spawn(1, 2)]);
    for (o, failure) in out.outcomes.iter().zip([Failure::NoBalance, Failure::AlreadySpawned]) {
        assert!(
            matches!(o, Outcome::Executed { result: Err(f), fee, .. } if *f == failure && *fee > 0),
            "{o:?}"
        );
    }
    assert_eq!(accounts.get(&wallet_addr(1)).next_nonce, 3);
    assert_eq!(accounts.get(&wallet_addr(2)).balance, 0);

    let mut poor = Accounts::new();
    // Enough for the intrinsic gas (about 55k), not for the whole spawn (about 100k).
    poor.credit(wallet_addr(5), 60_000);
    let out = run(&mut poor, 1, &[self_spawn(5, 0)]);
    assert!(
        matches!(
            out.outcomes[0],
            Outcome::Executed { result: Err(Failure::OutOfGas), fee: 60_000, .. }
        ),
        "{out:?}"
    );
    assert_eq!(poor.get(&wallet_addr(5)).balance, 0);
    assert!(poor.get(&wallet_addr(5)).spawned.is_none(), "the failed spawn did not happen");
}

/// A vesting account drains what its vault has vested, linearly over layers, and no more;
/// nobody else can drain it.
#[test]
fn vesting_drains_vested_coins() {
    let vesting =
        SpawnArgs::Multisig(MultisigArgs { required: 1, public_keys: vec![key(7).public_key()] });
    let vesting_addr = principal(Template::Vesting, &vesting.encode());
    let vault = SpawnArgs::Vault(VaultArgs {
        owner: vesting_addr,
        total_amount: 1_000_000,
        initial_unlock_amount: 0,
        vesting_start: LayerId(100),
        vesting_end: LayerId(200),
    });
    let vault_addr = principal(Template::Vault, &vault.encode());
    let mut accounts = Accounts::new();
    accounts.credit(vesting_addr, BIG);
    accounts.credit(vault_addr, 1_000_000);
    let by_vesting = |nonce, call| {
        let body = TxBody { principal: vesting_addr, nonce, gas_price: 1, call };
        let unsigned = body.encode();
        with_parts(&unsigned, &[Part { key: 0, signature: key(7).sign(&GENESIS, &unsigned) }])
    };
    let drain = |nonce, amount| {
        by_vesting(
            nonce,
            Call::Drain(Drain { vault: vault_addr, destination: wallet_addr(9), amount }),
        )
    };
    let spawns = [
        by_vesting(0, Call::Spawn { template: Template::Vesting, args: vesting.clone() }),
        by_vesting(1, Call::Spawn { template: Template::Vault, args: vault.clone() }),
    ];
    assert!(run(&mut accounts, 50, &spawns).outcomes.iter().all(ok));
    let early = run(&mut accounts, 50, &[drain(2, 1)]);
    assert!(matches!(early.outcomes[0], Outcome::Executed { result: Err(Failure::NotVested), .. }));
    let half = run(&mut accounts, 150, &[drain(3, 500_001), drain(4, 500_000)]);
    assert!(matches!(half.outcomes[0], Outcome::Executed { result: Err(Failure::NotVested), .. }));
    assert!(ok(&half.outcomes[1]));
    assert_eq!(accounts.get(&wallet_addr(9)).balance, 500_000);
    assert_eq!(accounts.get(&vault_addr).balance, 500_000);
    let all = run(&mut accounts, 250, &[drain(5, 500_000)]);
    assert!(ok(&all.outcomes[0]));
    assert_eq!(accounts.get(&vault_addr).balance, 0);

    let v = match &vault {
        SpawnArgs::Vault(v) => v.clone(),
        _ => unreachable!(),
    };
    assert_eq!(
        (vested(&v, LayerId(99)), vested(&v, LayerId(125)), vested(&v, LayerId(200))),
        (0, 250_000, 1_000_000)
    );
}

/// One step of a random history: who sends, with which nonce offset, price and amount.
#[derive(Debug, Clone)]
struct Step {
    from: u8,
    to: u8,
    nonce_back: u8,
    price: u64,
    amount: u64,
}

fn arb_step() -> impl Strategy<Value = Step> {
    (0u8..4, 0u8..5, 0u8..3, 0u64..3, 0u64..2_000_000).prop_map(
        |(from, to, nonce_back, price, amount)| Step { from, to, nonce_back, price, amount },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random spends between four funded wallets, in random blocks, against a model of balances
    /// and nonces: no coin is made or lost (balances plus fees stay the funding), an
    /// ineffective transaction changes nothing, nonces only grow, an executed transaction's
    /// nonce was at least the account's next, and a successful spend moves exactly its amount.
    #[test]
    fn random_spends_keep_the_books(blocks in prop::collection::vec(prop::collection::vec(arb_step(), 1..6), 1..6)) {
        let mut accounts = Accounts::new();
        let funding: u64 = 4 * 3_000_000;
        for n in 0..4 {
            accounts.credit(wallet_addr(n), 3_000_000);
        }
        let spawns: Vec<Vec<u8>> = (0..4).map(|n| self_spawn(n, 0)).collect();
        let mut fees = run(&mut accounts, 1, &spawns).fees;
        let mut next: Vec<u64> = (0..5).map(|n| accounts.get(&wallet_addr(n)).next_nonce).collect();
        for (layer, steps) in blocks.iter().enumerate() {
            let txs: Vec<Vec<u8>> = steps
                .iter()
                .map(|s| {
                    let nonce = next[usize::from(s.from)].saturating_sub(u64::from(s.nonce_back));
                    spend(s.from, nonce, s.price, wallet_addr(s.to), s.amount)
                })
                .collect();
            let before = accounts.clone();
            let out = run(&mut accounts, layer as u32 + 2, &txs);
            fees += out.fees;
            prop_assert_eq!(accounts.total() + u128::from(fees), u128::from(funding));
            if out.outcomes.iter().all(|o| matches!(o, Outcome::Ineffective(_))) {
                prop_assert_eq!(&accounts, &before);
            }
            for (s, o) in steps.iter().zip(&out.outcomes) {
                if let Outcome::Executed { .. } = o {
                    prop_assert!(s.price > 0);
                }
            }
            for n in 0..5u8 {
                let now = accounts.get(&wallet_addr(n)).next_nonce;
                prop_assert!(now >= next[usize::from(n)]);
                next[usize::from(n)] = now;
            }
        }
    }
}
