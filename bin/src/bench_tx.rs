//! `smesh bench tx-exec`: wallet spends executed per second on one core (parse, ed25519
//! verification, gas, state update), against the bare ed25519 verification of the same
//! transactions measured in the same run: signature checking is the floor execution sits on.
//! Then the mempool's insert rate for the same spends (against the same floor) and the time
//! to select a proposal's transactions, and the state root's update cost per touched
//! account, in bare blake3 node hashes.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Result, ensure};
use clap::Args;
use spacemesh_core::account::{Template, principal};
use spacemesh_core::crypto::{Ed25519Verifier, Verifier};
use spacemesh_core::mempool::{Mempool, MempoolConfig, PoolTx};
use spacemesh_core::state::{Account, Accounts, ExecContext, Outcome, StateTree, execute_block};
use spacemesh_core::tx::{Call, SpawnArgs, Spend, TxBody, TxKey, parse, signing_body, tx_id};
use spacemesh_core::types::{GenesisId, LayerId};

#[derive(Debug, Args)]
pub(crate) struct TxExecArgs {
    /// Wallets; each spends once per round.
    #[arg(long, default_value_t = 2000)]
    wallets: usize,
    /// Rounds of spends (a block per round).
    #[arg(long, default_value_t = 5)]
    rounds: u64,
}

const GENESIS: GenesisId = GenesisId([0x42; 20]);

fn key(i: usize) -> TxKey {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
    seed[8] = 0x7e;
    TxKey::from_seed(seed)
}

pub(crate) fn run(args: &TxExecArgs) -> Result<ExitCode> {
    ensure!(args.wallets >= 2 && args.rounds >= 1, "need at least 2 wallets and 1 round");
    let keys: Vec<TxKey> = (0..args.wallets).map(key).collect();
    let spawn_args: Vec<SpawnArgs> =
        keys.iter().map(|k| SpawnArgs::Wallet { public_key: k.public_key() }).collect();
    let addrs: Vec<_> =
        spawn_args.iter().map(|a| principal(Template::Wallet, &a.encode())).collect();
    let mut accounts = Accounts::new();
    for a in &addrs {
        accounts.credit(*a, 1_000_000_000_000);
    }
    let ctx = ExecContext {
        layer: LayerId(1),
        genesis: GENESIS,
        gas_limit: u64::MAX,
        verifier: &Ed25519Verifier,
    };
    let spawns: Vec<Vec<u8>> = (0..args.wallets)
        .map(|i| {
            let body = TxBody {
                principal: addrs[i],
                nonce: 0,
                gas_price: 1,
                call: Call::Spawn { template: Template::Wallet, args: spawn_args[i].clone() },
            };
            keys[i].sign_single(&GENESIS, &body.encode())
        })
        .collect();
    let refs: Vec<&[u8]> = spawns.iter().map(Vec::as_slice).collect();
    execute_block(&mut accounts, &ctx, &refs);

    let blocks: Vec<Vec<Vec<u8>>> = (1..=args.rounds)
        .map(|round| {
            (0..args.wallets)
                .map(|i| {
                    let body = TxBody {
                        principal: addrs[i],
                        nonce: round,
                        gas_price: 1,
                        call: Call::Spend(Spend {
                            destination: addrs[(i + 1) % args.wallets],
                            amount: 1_000,
                        }),
                    };
                    keys[i].sign_single(&GENESIS, &body.encode())
                })
                .collect()
        })
        .collect();
    let total = (args.wallets as u64 * args.rounds) as f64;

    // The floor: verifying the same signatures over the same messages, nothing else.
    let started = Instant::now();
    let mut verified = 0u64;
    for block in &blocks {
        for (i, raw) in block.iter().enumerate() {
            let state = accounts.get(&addrs[i]).spawned;
            let tx = parse(raw, state.as_ref()).expect("bench transactions parse");
            let body = signing_body(&GENESIS, &raw[..tx.signed_len]);
            let sig = spacemesh_core::crypto::Signature(raw[tx.signed_len..].try_into()?);
            verified += u64::from(Ed25519Verifier.verify(&keys[i].public_key(), &body, &sig));
        }
    }
    let floor = total / started.elapsed().as_secs_f64();
    ensure!(verified as f64 == total, "every bench signature verifies");

    let started = Instant::now();
    let mut executed = 0u64;
    for block in &blocks {
        let refs: Vec<&[u8]> = block.iter().map(Vec::as_slice).collect();
        let out = execute_block(&mut accounts, &ctx, &refs);
        executed += out
            .outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Executed { result: Ok(()), .. }))
            .count() as u64;
    }
    let rate = total / started.elapsed().as_secs_f64();
    ensure!(executed as f64 == total, "every bench spend executes ({executed} of {total})");
    out!("wallet spends, one core ({} wallets x {} blocks):", args.wallets, args.rounds);
    out!("  executed (parse, verify, gas, state)  {:>10.0} tx/s", rate);
    out!("  ed25519 verification alone            {:>10.0} tx/s", floor);
    out!("  execution / verification floor        {:>10.2}x", rate / floor);

    // The mempool: the same spends inserted (parse, id, conservative state; the signature check
    // before it is the floor above), then a proposal's selection from the full pool.
    let fresh: Vec<Account> = addrs
        .iter()
        .map(|a| Account { next_nonce: 1, ..accounts.get(a) })
        .map(|a| Account { balance: 1_000_000_000_000, ..a })
        .collect();
    let mut pool = Mempool::new(MempoolConfig {
        txs_max: args.wallets * args.rounds as usize,
        per_account_max: args.rounds as usize,
        nonce_gap_max: args.rounds,
    });
    let started = Instant::now();
    for block in &blocks {
        for (i, raw) in block.iter().enumerate() {
            let tx = parse(raw, fresh[i].spawned.as_ref()).expect("bench transactions parse");
            let entry = PoolTx::new(tx_id(raw), bytes::Bytes::copy_from_slice(raw), &tx);
            pool.insert(entry, &fresh[i]).expect("bench transactions fit the pool");
        }
    }
    let inserts = total / started.elapsed().as_secs_f64();
    let started = Instant::now();
    let picked = pool.select(700);
    let select = started.elapsed().as_secs_f64();
    ensure!(picked.len() == 700.min(pool.len()), "a proposal's worth is ready");
    out!("mempool, {} transactions of {} accounts:", pool.len(), args.wallets);
    out!("  inserted (parse, id, projection)      {:>10.0} tx/s", inserts);
    out!("  insert / verification floor           {:>10.2}x", inserts / floor);
    out!("  a proposal's 700 selected in          {:>10.2} ms", select * 1e3);

    // State root: every wallet touched once per round, in a tree of all accounts, against a
    // bare blake3 of one internal node (64 bytes) measured in the same run.
    let mut tree = StateTree::new();
    let all: Vec<_> = accounts.iter().map(|(a, acc)| (*a, acc.clone())).collect();
    tree.update(all.iter().map(|(a, acc)| (a, Some(acc))));
    let started = Instant::now();
    for round in 0..args.rounds {
        let touched: Vec<_> = all
            .iter()
            .map(|(a, acc)| (*a, Account { balance: acc.balance + round + 1, ..acc.clone() }))
            .collect();
        tree.update(touched.iter().map(|(a, acc)| (a, Some(acc))));
    }
    let per_account = started.elapsed().as_secs_f64() / (all.len() as u64 * args.rounds) as f64;
    let node = [7u8; 64];
    let started = Instant::now();
    let mut h = [0u8; 32];
    let hashes = 200_000u32;
    for _ in 0..hashes {
        h = *blake3::hash(&[&h[..], &node[32..]].concat()).as_bytes();
    }
    let per_hash = started.elapsed().as_secs_f64() / f64::from(hashes);
    out!("state root update, {} accounts in the tree:", tree.len());
    out!("  per touched account                   {:>10.2} µs", per_account * 1e6);
    out!("  bare blake3 of a 64-byte node         {:>10.3} µs", per_hash * 1e6);
    out!("  cost in node hashes per account       {:>10.1}", per_account / per_hash);
    Ok(ExitCode::SUCCESS)
}
