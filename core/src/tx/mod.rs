//! Transactions in genvm's format (go-spacemesh's VM, protocol.md section 11): the wire
//! format and its parsing against the principal's state, the native templates' arguments
//! (wallet, multisig, vesting, vault), signatures, and the fixed gas schedule.
//!
//! Parsing is the first stage of a transaction's life: it needs the principal's state (its
//! template decides how the arguments and signatures read) and gives the gas and the most
//! coins the transaction can move, which the mempool and execution build on.

pub mod gas;
mod sign;
mod wire;

pub use sign::{TxKey, signing_body, verify, with_parts};
pub use wire::{
    Call, Drain, METHOD_DRAIN_VAULT, METHOD_SPAWN, METHOD_SPEND, MULTISIG_KEYS_MAX, MultisigArgs,
    ParsedTx, Part, Signatures, SpawnArgs, Spawned, Spend, TX_SIZE_MAX, TxBody, TxError, VaultArgs,
    parse, principal_of,
};

/// A transaction's id: the BLAKE3 hash of its bytes (go-spacemesh `types.TransactionID`).
pub fn tx_id(raw: &[u8]) -> crate::types::Hash32 {
    crate::crypto::hash(raw)
}

#[cfg(test)]
mod tests;
