//! genvm's fixed gas schedule: every transaction's gas is known before it runs, from its
//! template, method, signature count and size (protocol.md section 11).

use crate::account::Template;

/// Storing transaction data in a block, per 8 bytes.
pub const TXDATA: u64 = 128;
/// Every transaction.
pub const TX: u64 = 20_000;
/// Every spawn, on top of `TX`.
pub const SPAWN: u64 = 30_000;
/// Storing new state, per 8 bytes (spawns only).
pub const STORE: u64 = 5_000;
/// Updating state, per 8 bytes.
pub const UPDATE: u64 = 725;
/// Loading state, per 8 bytes.
pub const LOAD: u64 = 182;
/// Accessing an account.
pub const ACCOUNT_ACCESS: u64 = 2_500;
/// One ed25519 verification.
pub const EDVERIFY: u64 = 3_000;

/// A public key's bytes.
const PUBLIC_KEY_SIZE: u64 = 32;
/// Balance (8), nonce (8) and template address (24), rounded as genvm counts it.
const ACCOUNT_HEADER_SIZE: u64 = 36;
/// A balance.
const ACCOUNT_BALANCE_SIZE: u64 = 8;
/// A vault's state.
const VAULT_STATE_SIZE: u64 = ACCOUNT_HEADER_SIZE + 56;
/// A vault's drained counter.
const DRAINED_SIZE: u64 = 8;

/// `gas` per 8 bytes of `size`, rounded up.
pub fn size_gas(gas: u64, size: u64) -> u64 {
    size.div_ceil(8) * gas
}

/// What a call is, for its gas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GasCall {
    /// Spawning an account.
    Spawn,
    /// Spending.
    Spend,
    /// Draining a vault (vesting accounts).
    Drain,
}

/// Intrinsic gas of a call by a principal of `template` with `signatures` signatures (a vault
/// never signs: its calls cost nothing and never verify).
pub fn base_gas(template: Template, call: GasCall, signatures: u64) -> u64 {
    match (template, call) {
        (Template::Vault, _) => 0,
        (_, GasCall::Spawn) => TX + EDVERIFY * signatures + SPAWN,
        (_, GasCall::Spend | GasCall::Drain) => TX + EDVERIFY * signatures,
    }
}

/// Gas to load a principal of `template` holding `keys` public keys.
pub fn load_gas(template: Template, keys: u64) -> u64 {
    match template {
        Template::Vault => 0,
        _ => ACCOUNT_ACCESS + size_gas(LOAD, PUBLIC_KEY_SIZE * keys + ACCOUNT_HEADER_SIZE),
    }
}

/// Gas to execute `call` on an account of `template` holding `keys` public keys.
pub fn exec_gas(template: Template, call: GasCall, keys: u64) -> u64 {
    match (template, call) {
        (Template::Vault, _) => 0,
        (_, GasCall::Spawn) => size_gas(STORE, PUBLIC_KEY_SIZE * keys + ACCOUNT_HEADER_SIZE),
        (_, GasCall::Spend) => {
            ACCOUNT_ACCESS
                + size_gas(LOAD, ACCOUNT_BALANCE_SIZE)
                + size_gas(UPDATE, ACCOUNT_HEADER_SIZE)
                + size_gas(UPDATE, ACCOUNT_BALANCE_SIZE)
        }
        (_, GasCall::Drain) => {
            ACCOUNT_ACCESS
                + size_gas(LOAD, VAULT_STATE_SIZE)
                + size_gas(UPDATE, ACCOUNT_HEADER_SIZE)
                + size_gas(UPDATE, ACCOUNT_BALANCE_SIZE + DRAINED_SIZE)
        }
    }
}

/// Gas charged up front for a transaction of `len` bytes (genvm's `MaxGas`): `base` plus its
/// data (the intrinsic gas) plus `fixed` (loading and execution).
pub fn max_gas(base: u64, fixed: u64, len: usize) -> u64 {
    base + size_gas(TXDATA, len as u64) + fixed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The figures protocol.md quotes: a wallet spend costs about 33-36k gas.
    #[test]
    fn wallet_spend_is_about_35k() {
        let w = Template::Wallet;
        let fixed = load_gas(w, 1) + exec_gas(w, GasCall::Spend, 1);
        let gas = max_gas(base_gas(w, GasCall::Spend, 1), fixed, 120);
        assert!((33_000..=37_000).contains(&gas), "{gas}");
        assert_eq!(size_gas(TXDATA, 120), 15 * 128);
        assert_eq!(size_gas(TXDATA, 121), 16 * 128);
        assert_eq!(base_gas(w, GasCall::Spawn, 1), TX + EDVERIFY + SPAWN);
        let m = Template::Multisig;
        assert_eq!(base_gas(m, GasCall::Spend, 2), base_gas(m, GasCall::Spend, 1) + EDVERIFY);
        assert!(load_gas(m, 3) > load_gas(w, 1));
        assert_eq!(base_gas(Template::Vault, GasCall::Spend, 0), 0);
    }
}
