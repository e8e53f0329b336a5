//! Golden encodings of each transaction kind in genvm's wire format, signed with fixed keys on
//! a fixed network (ed25519 signatures are deterministic), and the bech32 text of their
//! principals: a change to any of these is a wire-format change and must be deliberate.

use spacemesh_core::account::{Address, HRP_MAINNET, HRP_TESTNET, Template, principal};
use spacemesh_core::tx::{
    Call, Drain, MultisigArgs, Part, SpawnArgs, Spend, TxBody, TxKey, VaultArgs, with_parts,
};
use spacemesh_core::types::{GenesisId, LayerId};

const GENESIS: GenesisId = GenesisId([0x11; 20]);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn key(n: u8) -> TxKey {
    TxKey::from_seed([n; 32])
}

fn signed_by(keys: &[(u8, u8)], body: &TxBody) -> Vec<u8> {
    let unsigned = body.encode();
    let parts: Vec<Part> = keys
        .iter()
        .map(|(index, seed)| Part { key: *index, signature: key(*seed).sign(&GENESIS, &unsigned) })
        .collect();
    with_parts(&unsigned, &parts)
}

#[test]
fn transaction_encodings() {
    let wallet = SpawnArgs::Wallet { public_key: key(1).public_key() };
    let wallet_addr = principal(Template::Wallet, &wallet.encode());
    let multisig = SpawnArgs::Multisig(MultisigArgs {
        required: 2,
        public_keys: vec![key(2).public_key(), key(3).public_key(), key(4).public_key()],
    });
    let multisig_addr = principal(Template::Multisig, &multisig.encode());
    let vesting =
        SpawnArgs::Multisig(MultisigArgs { required: 1, public_keys: vec![key(5).public_key()] });
    let vesting_addr = principal(Template::Vesting, &vesting.encode());
    let vault = SpawnArgs::Vault(VaultArgs {
        owner: vesting_addr,
        total_amount: 1_000_000_000_000,
        initial_unlock_amount: 250_000_000_000,
        vesting_start: LayerId(105_120),
        vesting_end: LayerId(420_480),
    });
    let vault_addr = principal(Template::Vault, &vault.encode());
    let to = Address([0x22; 24]);
    let spawn = |principal, template, args: &SpawnArgs| TxBody {
        principal,
        nonce: 0,
        gas_price: 1,
        call: Call::Spawn { template, args: args.clone() },
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "wallet-self-spawn",
            key(1).sign_single(&GENESIS, &spawn(wallet_addr, Template::Wallet, &wallet).encode()),
        ),
        (
            "wallet-spend",
            key(1).sign_single(
                &GENESIS,
                &TxBody {
                    principal: wallet_addr,
                    nonce: 1,
                    gas_price: 2,
                    call: Call::Spend(Spend { destination: to, amount: 1_500_000_000 }),
                }
                .encode(),
            ),
        ),
        (
            "multisig-self-spawn",
            signed_by(&[(0, 2), (2, 4)], &spawn(multisig_addr, Template::Multisig, &multisig)),
        ),
        (
            "multisig-spend",
            signed_by(
                &[(1, 3), (2, 4)],
                &TxBody {
                    principal: multisig_addr,
                    nonce: 7,
                    gas_price: 1,
                    call: Call::Spend(Spend { destination: to, amount: 42 }),
                },
            ),
        ),
        (
            "vesting-self-spawn",
            signed_by(&[(0, 5)], &spawn(vesting_addr, Template::Vesting, &vesting)),
        ),
        (
            "vault-spawn-by-vesting",
            signed_by(
                &[(0, 5)],
                &TxBody { nonce: 1, ..spawn(vesting_addr, Template::Vault, &vault) },
            ),
        ),
        (
            "vesting-drain-vault",
            signed_by(
                &[(0, 5)],
                &TxBody {
                    principal: vesting_addr,
                    nonce: 2,
                    gas_price: 1,
                    call: Call::Drain(Drain { vault: vault_addr, destination: to, amount: 10 }),
                },
            ),
        ),
    ];
    let mut lines: Vec<String> =
        cases.iter().map(|(name, raw)| format!("{name}: {}", hex(raw))).collect();
    for (name, addr) in [
        ("wallet", wallet_addr),
        ("multisig", multisig_addr),
        ("vesting", vesting_addr),
        ("vault", vault_addr),
    ] {
        lines.push(format!(
            "{name} address: {} {}",
            addr.to_bech32(HRP_MAINNET),
            addr.to_bech32(HRP_TESTNET)
        ));
    }
    insta::assert_snapshot!(lines.join("\n"));
}
