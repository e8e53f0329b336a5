//! `smesh wallet`: a BIP39 wallet whose accounts are derived as Spacemesh's wallets derive
//! them, kept in an owner-only JSON file, and commands that read accounts from a node and send
//! it signed transactions (`runtime-real`'s account API).
//!
//! - `slip10`: SLIP-0010 ed25519 derivation.
//! - `keys`: mnemonics, account keys and wallet addresses.
//! - `file`: the wallet file (0600, never overwritten without `--force`).
//! - `amount`: smidge and SMH amounts.
//! - `txs`: the transactions an account signs.
//! - `client`: the node API client (also used by the faucet).
//! - `txlog`: the log of sent transactions.
//! - `commands`: what each subcommand does.

pub(crate) mod amount;
pub(crate) mod client;
pub(crate) mod commands;
pub(crate) mod file;
pub(crate) mod keys;
pub(crate) mod slip10;
pub(crate) mod txlog;
pub(crate) mod txs;
