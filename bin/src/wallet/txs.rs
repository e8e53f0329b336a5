//! The transactions a wallet account signs, in genvm's format (`spacemesh_core::tx`): a spend,
//! its own spawn, and spawns of multisig, vesting and vault accounts it pays for.

use anyhow::{Result, bail};
use spacemesh_core::account::{Address, Template, principal};
use spacemesh_core::tx::{
    Call, MULTISIG_KEYS_MAX, MultisigArgs, SpawnArgs, Spend, TxBody, TxKey, VaultArgs,
};
use spacemesh_core::types::{GenesisId, LayerId};

use super::keys::wallet_address;

/// What every transaction of one account shares.
#[derive(Debug)]
pub(crate) struct Signing<'a> {
    /// The account's key.
    pub(crate) key: &'a TxKey,
    /// The network.
    pub(crate) genesis: GenesisId,
    /// Smidge per gas.
    pub(crate) gas_price: u64,
}

impl Signing<'_> {
    /// The wallet account of the key.
    pub(crate) fn principal(&self) -> Address {
        wallet_address(&self.key.public_key())
    }

    fn sign(&self, nonce: u64, call: Call) -> Vec<u8> {
        let body = TxBody { principal: self.principal(), nonce, gas_price: self.gas_price, call };
        self.key.sign_single(&self.genesis, &body.encode())
    }

    /// Moves `amount` smidge to `to`.
    pub(crate) fn spend(&self, nonce: u64, to: Address, amount: u64) -> Vec<u8> {
        self.sign(nonce, Call::Spend(Spend { destination: to, amount }))
    }

    /// Spawns the wallet account itself.
    pub(crate) fn self_spawn(&self, nonce: u64) -> Vec<u8> {
        let args = SpawnArgs::Wallet { public_key: self.key.public_key() };
        self.sign(nonce, Call::Spawn { template: Template::Wallet, args })
    }

    /// Spawns another account of `template` with `args`, paid by this (spawned) wallet;
    /// returns the transaction and the new account's address.
    pub(crate) fn spawn(
        &self,
        nonce: u64,
        template: Template,
        args: SpawnArgs,
    ) -> (Vec<u8>, Address) {
        let address = principal(template, &args.encode());
        (self.sign(nonce, Call::Spawn { template, args }), address)
    }
}

/// Multisig (or vesting) arguments, checked as genvm checks them.
pub(crate) fn multisig_args(keys: &[[u8; 32]], required: u8) -> Result<MultisigArgs> {
    if keys.is_empty() || keys.len() > MULTISIG_KEYS_MAX {
        bail!("--keys: a multisig holds 1 to {MULTISIG_KEYS_MAX} keys, not {}", keys.len());
    }
    if required == 0 || usize::from(required) > keys.len() {
        bail!("--required {required}: must be 1 to the number of keys ({})", keys.len());
    }
    let mut sorted = keys.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    if sorted.len() != keys.len() {
        bail!("--keys: a key is listed twice");
    }
    Ok(MultisigArgs { required, public_keys: keys.to_vec() })
}

/// A vault owned by the vesting account `owner`, checked as genvm checks it.
pub(crate) fn vault_args(
    owner: Address,
    total: u64,
    initial_unlock: u64,
    start: u32,
    end: u32,
) -> Result<VaultArgs> {
    if initial_unlock > total {
        bail!("--initial-unlock {initial_unlock} is above --total {total}");
    }
    if end < start {
        bail!("--vesting-end {end} is before --vesting-start {start}");
    }
    Ok(VaultArgs {
        owner,
        total_amount: total,
        initial_unlock_amount: initial_unlock,
        vesting_start: LayerId(start),
        vesting_end: LayerId(end),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use spacemesh_core::crypto::Ed25519Verifier;
    use spacemesh_core::tx::{Spawned, parse, verify};

    const GENESIS: GenesisId = GenesisId([3; 20]);

    /// Every transaction the wallet builds parses against the state it is meant for, verifies
    /// on its network and no other, and says what it was asked to say.
    #[test]
    fn built_transactions_parse_and_verify() {
        let key = TxKey::from_seed([8; 32]);
        let s = Signing { key: &key, genesis: GENESIS, gas_price: 2 };
        let wallet = Spawned {
            template: Template::Wallet,
            args: SpawnArgs::Wallet { public_key: key.public_key() },
        };
        let ok = |raw: &[u8], state: Option<&Spawned>| {
            let tx = parse(raw, state).expect("parses");
            assert!(verify(&tx, raw, &GENESIS, &Ed25519Verifier));
            assert!(!verify(&tx, raw, &GenesisId([4; 20]), &Ed25519Verifier));
            tx
        };
        let tx = ok(&s.self_spawn(0), None);
        assert!(tx.self_spawn);
        assert_eq!(tx.body.principal, s.principal());

        let to = Address::from_hash_tail(&[1; 32]);
        let tx = ok(&s.spend(5, to, 77), Some(&wallet));
        assert_eq!((tx.body.nonce, tx.body.gas_price, tx.max_spend), (5, 2, 77));
        assert_eq!(tx.body.call, Call::Spend(Spend { destination: to, amount: 77 }));

        let keys = [[1; 32], [2; 32], [3; 32]];
        let m = SpawnArgs::Multisig(multisig_args(&keys, 2).unwrap());
        let (raw, vesting) = s.spawn(6, Template::Vesting, m.clone());
        let tx = ok(&raw, Some(&wallet));
        assert!(!tx.self_spawn);
        assert_eq!(vesting, principal(Template::Vesting, &m.encode()));
        let v = SpawnArgs::Vault(vault_args(vesting, 1_000, 100, 10, 20).unwrap());
        let (raw, vault) = s.spawn(7, Template::Vault, v.clone());
        ok(&raw, Some(&wallet));
        assert_eq!(vault, principal(Template::Vault, &v.encode()));
    }

    /// Arguments genvm would refuse are refused before anything is signed.
    #[test]
    fn bad_arguments_refused() {
        assert!(multisig_args(&[], 1).is_err());
        assert!(multisig_args(&[[1; 32]], 2).is_err());
        assert!(multisig_args(&[[1; 32]], 0).is_err());
        assert!(multisig_args(&[[1; 32], [1; 32]], 1).unwrap_err().to_string().contains("twice"));
        assert!(multisig_args(&[[1; 32]; 11], 1).is_err());
        let owner = Address::from_hash_tail(&[2; 32]);
        assert!(vault_args(owner, 10, 11, 0, 1).is_err());
        assert!(vault_args(owner, 10, 1, 5, 4).is_err());
    }
}
