//! Transactions as the API shows them: core's parse of the raw bytes (against the principal's
//! spawned state, which the node loop looks up) mapped onto the v2alpha1 `Transaction`.

use spacemesh_core::account::Template;
use spacemesh_core::tx::{Call, ParsedTx, SpawnArgs};

use super::proto::spacemesh::v2alpha1 as pb;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The v2alpha1 form of `tx` (`raw` its bytes): bech32 addresses of network `hrp`, public keys
/// as hex (as go-spacemesh prints them).
pub(crate) fn proto_tx(tx: &ParsedTx, raw: &[u8], hrp: &str) -> pb::Transaction {
    use pb::transaction::TransactionType as T;
    use pb::transaction_contents::Contents;
    let body = &tx.body;
    let signer = tx.signer.template;
    let (method, kind, contents) = match &body.call {
        Call::Spend(s) => {
            let kind = if signer == Template::Wallet { T::SingleSigSend } else { T::MultiSigSend };
            let send =
                pb::ContentsSend { destination: s.destination.to_bech32(hrp), amount: s.amount };
            (spacemesh_core::tx::METHOD_SPEND, kind, Contents::Send(send))
        }
        Call::Drain(d) => {
            let drain = pb::ContentsDrainVault {
                vault: d.vault.to_bech32(hrp),
                destination: d.destination.to_bech32(hrp),
                amount: d.amount,
            };
            (spacemesh_core::tx::METHOD_DRAIN_VAULT, T::DrainVault, Contents::DrainVault(drain))
        }
        Call::Spawn { template, args } => {
            let multisig = |m: &spacemesh_core::tx::MultisigArgs| pb::ContentsMultiSigSpawn {
                required: u32::from(m.required),
                pubkey: m.public_keys.iter().map(|k| hex(k)).collect(),
            };
            let (kind, contents) = match (template, args) {
                (_, SpawnArgs::Wallet { public_key }) => (
                    T::SingleSigSpawn,
                    Contents::SingleSigSpawn(pb::ContentsSingleSigSpawn {
                        pubkey: hex(public_key),
                    }),
                ),
                (Template::Vesting, SpawnArgs::Multisig(m)) => {
                    (T::VestingSpawn, Contents::VestingSpawn(multisig(m)))
                }
                (_, SpawnArgs::Multisig(m)) => {
                    (T::MultiSigSpawn, Contents::MultiSigSpawn(multisig(m)))
                }
                (_, SpawnArgs::Vault(v)) => (
                    T::VaultSpawn,
                    Contents::VaultSpawn(pb::ContentsVaultSpawn {
                        owner: v.owner.to_bech32(hrp),
                        total_amount: v.total_amount,
                        initial_unlock_amount: v.initial_unlock_amount,
                        vesting_start: v.vesting_start.0,
                        vesting_end: v.vesting_end.0,
                    }),
                ),
            };
            (spacemesh_core::tx::METHOD_SPAWN, kind, contents)
        }
    };
    // The template of the principal: the one it spawns itself as, else the one it has.
    let template = match &body.call {
        Call::Spawn { template, .. } if tx.self_spawn => *template,
        _ => signer,
    };
    pb::Transaction {
        id: spacemesh_core::tx::tx_id(raw).0.to_vec(),
        principal: body.principal.to_bech32(hrp),
        template: template.address().to_bech32(hrp),
        method: u32::from(method),
        nonce: Some(pb::Nonce { counter: body.nonce }),
        max_gas: tx.max_gas,
        gas_price: body.gas_price,
        max_spend: tx.max_spend,
        raw: raw.to_vec(),
        r#type: kind.into(),
        contents: Some(pb::TransactionContents { contents: Some(contents) }),
    }
}
