//! Signing and verifying transactions as genvm does: plain ed25519 over `genesis id ‖ the
//! transaction's bytes before its signatures`, with no domain byte (unlike consensus
//! messages), so that wallets made for go-spacemesh sign the same bytes.

use ed25519_dalek::{Signer as _, SigningKey};

use crate::crypto::{Signature, Verifier};
use crate::types::GenesisId;

use super::wire::{Call, ParsedTx, Part, Signatures, SpawnArgs, TxBody};

/// The message a transaction's signatures sign.
pub fn signing_body(genesis: &GenesisId, unsigned: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(genesis.0.len() + unsigned.len());
    out.extend_from_slice(&genesis.0);
    out.extend_from_slice(unsigned);
    out
}

/// An account key: signs transactions for one network.
pub struct TxKey {
    key: SigningKey,
}

impl std::fmt::Debug for TxKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        write!(f, "TxKey({:02x?})", &self.public_key()[..4])
    }
}

impl TxKey {
    /// The key of a 32-byte ed25519 seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        TxKey { key: SigningKey::from_bytes(&seed) }
    }

    /// The public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The signature of `unsigned` (a [`super::TxBody::encode`]) on `genesis`.
    pub fn sign(&self, genesis: &GenesisId, unsigned: &[u8]) -> Signature {
        Signature(self.key.sign(&signing_body(genesis, unsigned)).to_bytes())
    }

    /// A wallet transaction: `unsigned` with this key's signature appended.
    pub fn sign_single(&self, genesis: &GenesisId, unsigned: &[u8]) -> Vec<u8> {
        let mut raw = unsigned.to_vec();
        raw.extend_from_slice(&self.sign(genesis, unsigned).0);
        raw
    }
}

impl TxKey {
    /// The spawn arguments of the wallet account this key owns.
    pub fn wallet_args(&self) -> SpawnArgs {
        SpawnArgs::Wallet { public_key: self.public_key() }
    }

    /// The address of the wallet account this key owns.
    pub fn wallet_address(&self) -> crate::account::Address {
        crate::account::principal(crate::account::Template::Wallet, &self.wallet_args().encode())
    }

    /// A signed transaction of this key's wallet account: `call` with `nonce` and
    /// `gas_price` on `genesis`.
    pub fn wallet_tx(
        &self,
        genesis: &GenesisId,
        nonce: u64,
        gas_price: u64,
        call: Call,
    ) -> Vec<u8> {
        let body = TxBody { principal: self.wallet_address(), nonce, gas_price, call };
        self.sign_single(genesis, &body.encode())
    }

    /// The wallet's self-spawn (its first transaction).
    pub fn wallet_spawn(&self, genesis: &GenesisId, nonce: u64, gas_price: u64) -> Vec<u8> {
        let call =
            Call::Spawn { template: crate::account::Template::Wallet, args: self.wallet_args() };
        self.wallet_tx(genesis, nonce, gas_price, call)
    }
}

/// A multisig transaction: `unsigned` with `parts` appended in key order.
pub fn with_parts(unsigned: &[u8], parts: &[Part]) -> Vec<u8> {
    let mut raw = unsigned.to_vec();
    let mut parts = parts.to_vec();
    parts.sort_by_key(|p| p.key);
    for p in parts {
        crate::codec::encode_compact(u64::from(p.key), &mut raw);
        raw.extend_from_slice(&p.signature.0);
    }
    raw
}

/// Whether `tx` (parsed from `raw`) carries valid signatures of its signer on `genesis`:
/// a wallet's key; for a multisig, `required` distinct keys in ascending order; never a vault.
pub fn verify(tx: &ParsedTx, raw: &[u8], genesis: &GenesisId, verifier: &dyn Verifier) -> bool {
    let body = signing_body(genesis, &raw[..tx.signed_len]);
    match (&tx.signer.args, &tx.signatures) {
        (SpawnArgs::Wallet { public_key }, Signatures::Single(sig)) => {
            verifier.verify(public_key, &body, sig)
        }
        (SpawnArgs::Multisig(m), Signatures::Multi(parts)) => {
            let ascending = parts.windows(2).all(|w| w[0].key < w[1].key);
            ascending
                && parts.len() == usize::from(m.required)
                && parts.iter().all(|p| {
                    m.public_keys
                        .get(usize::from(p.key))
                        .is_some_and(|key| verifier.verify(key, &body, &p.signature))
                })
        }
        _ => false,
    }
}
