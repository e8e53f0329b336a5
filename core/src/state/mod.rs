//! Account state and the execution of a block's transactions, with genvm's rules
//! (protocol.md section 11): each transaction is parsed against its principal's state, and is
//! either ineffective (skipped: no state change, no fee) or executed: its gas is charged up front
//! (at most the principal's balance), its call runs or fails (a failed call still pays), and
//! the principal's next nonce becomes the transaction's nonce plus one.
//!
//! Accounts live in a `BTreeMap`, so iteration and everything derived from it is deterministic.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::account::{Address, Template, principal};
use crate::codec::{Decode, DecodeError, Encode, Reader};
use crate::crypto::Verifier;
use crate::tx::{self, Call, ParsedTx, SpawnArgs, Spawned, TxError, VaultArgs};
use crate::types::{GenesisId, LayerId};

mod ledger;
mod tree;

pub use ledger::{Change, Ledger, LedgerState, ReplayError, RevertError};
pub use tree::{AccountProof, EMPTY_ROOT, StateTree, key_of, leaf_hash, verify_proof};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tree_tests;

/// One account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Account {
    /// Smidge.
    pub balance: u64,
    /// The lowest nonce its next transaction may have.
    pub next_nonce: u64,
    /// Its template and immutable state, once spawned (a stub account only holds coins).
    pub spawned: Option<Spawned>,
}

impl Encode for Account {
    /// genvm's account fields: balance, next nonce, and the template address and spawn
    /// arguments once spawned.
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.balance.encode_to(out);
        self.next_nonce.encode_to(out);
        match &self.spawned {
            None => out.push(0),
            Some(s) => {
                out.push(1);
                s.template.address().encode_to(out);
                s.args.encode_to(out);
            }
        }
    }
}

impl Decode for Account {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let balance = u64::decode(r)?;
        let next_nonce = u64::decode(r)?;
        let spawned = match r.byte()? {
            0 => None,
            1 => {
                let at = Address::decode(r)?;
                let template =
                    Template::at(&at).ok_or(DecodeError::InvalidValue("account template"))?;
                let args = SpawnArgs::decode(template, r)
                    .map_err(|_| DecodeError::InvalidValue("account spawn arguments"))?;
                Some(Spawned { template, args })
            }
            tag => return Err(DecodeError::InvalidTag { what: "Account", tag }),
        };
        Ok(Account { balance, next_nonce, spawned })
    }
}

/// Every account with anything in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounts {
    map: BTreeMap<Address, Account>,
    /// While on, the value each changed account had before its first change.
    journal: Option<BTreeMap<Address, Account>>,
}

impl Accounts {
    /// No accounts.
    pub fn new() -> Self {
        Accounts::default()
    }

    /// The account at `address` (empty if it never held anything).
    pub fn get(&self, address: &Address) -> Account {
        self.map.get(address).cloned().unwrap_or_default()
    }

    /// Replaces the account at `address`.
    pub fn put(&mut self, address: Address, account: Account) {
        if let Some(journal) = &mut self.journal
            && !journal.contains_key(&address)
        {
            let before = self.map.get(&address).cloned().unwrap_or_default();
            journal.insert(address, before);
        }
        if account == Account::default() {
            self.map.remove(&address);
        } else {
            self.map.insert(address, account);
        }
    }

    /// Adds coins (rewards, genesis funds); the sum must fit (total supply is far below 2^64).
    pub fn credit(&mut self, address: Address, amount: u64) {
        let mut a = self.get(&address);
        a.balance = a.balance.checked_add(amount).expect("balances fit in u64");
        self.put(address, a);
    }

    /// Accounts in address order.
    pub fn iter(&self) -> impl Iterator<Item = (&Address, &Account)> {
        self.map.iter()
    }

    /// Starts recording the previous value of every account changed from now on.
    fn start_journal(&mut self) {
        self.journal = Some(BTreeMap::new());
    }

    /// Stops recording; the accounts changed since the start, with their values before.
    fn take_journal(&mut self) -> BTreeMap<Address, Account> {
        self.journal.take().unwrap_or_default()
    }

    /// The sum of all balances.
    pub fn total(&self) -> u128 {
        self.map.values().map(|a| u128::from(a.balance)).sum()
    }
}

/// Why a transaction was skipped without effect.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Ineffective {
    /// It does not parse against its principal's state.
    #[error("does not parse: {0}")]
    Parse(#[from] TxError),
    /// Zero gas price.
    #[error("zero gas price")]
    ZeroGasPrice,
    /// The principal cannot pay the intrinsic gas.
    #[error("balance {balance} below the intrinsic gas {gas}")]
    IntrinsicGas {
        /// The principal's balance.
        balance: u64,
        /// The intrinsic gas.
        gas: u64,
    },
    /// The block has not enough gas left.
    #[error("block gas left {left} below the transaction's {gas}")]
    BlockGas {
        /// Gas left in the block.
        left: u64,
        /// The transaction's max gas.
        gas: u64,
    },
    /// A signature does not verify.
    #[error("bad signature")]
    Signature,
    /// The nonce was used already.
    #[error("nonce {nonce} below the account's next nonce {next}")]
    NonceTooLow {
        /// The transaction's.
        nonce: u64,
        /// The account's.
        next: u64,
    },
}

/// Why an executed transaction's call failed (it still paid its gas).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Failure {
    /// The balance did not cover the gas: all of it was taken.
    #[error("out of gas")]
    OutOfGas,
    /// Not enough coins.
    #[error("balance too low")]
    NoBalance,
    /// More than the transaction declared it spends.
    #[error("over the declared max spend")]
    MaxSpend,
    /// The account exists already.
    #[error("already spawned")]
    AlreadySpawned,
    /// The vault is not spawned.
    #[error("not spawned")]
    NotSpawned,
    /// The drained account is not a vault.
    #[error("not a vault")]
    NotVault,
    /// Only the vault's owner spends from it.
    #[error("not the vault's owner")]
    NotOwner,
    /// More than the vault has vested.
    #[error("amount not vested")]
    NotVested,
    /// The vault holds less than its unvested part.
    #[error("vault misconfigured")]
    Misconfigured,
}

/// What became of one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Skipped.
    Ineffective(Ineffective),
    /// Charged and run.
    Executed {
        /// The principal.
        principal: Address,
        /// Gas consumed (the max gas).
        gas: u64,
        /// Smidge paid.
        fee: u64,
        /// Whether its call succeeded.
        result: Result<(), Failure>,
    },
}

/// A block's execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockOutcome {
    /// One per transaction, in order.
    pub outcomes: Vec<Outcome>,
    /// Fees collected (they go to the layer's rewards).
    pub fees: u64,
}

/// What executing a block needs besides its transactions.
#[derive(Debug, Clone, Copy)]
pub struct ExecContext<'a> {
    /// The layer (vaults vest by it).
    pub layer: LayerId,
    /// The network (signatures cover it).
    pub genesis: GenesisId,
    /// Gas a block may consume.
    pub gas_limit: u64,
    /// Checks signatures.
    pub verifier: &'a dyn Verifier,
}

/// Executes `txs` in order on `accounts`.
pub fn execute_block(
    accounts: &mut Accounts,
    ctx: &ExecContext<'_>,
    txs: &[&[u8]],
) -> BlockOutcome {
    let mut left = ctx.gas_limit;
    let mut fees = 0u64;
    let outcomes = txs
        .iter()
        .map(|raw| match check(accounts, ctx, raw, left) {
            Err(why) => Outcome::Ineffective(why),
            Ok(tx) => {
                let (fee, result) = apply(accounts, ctx, &tx);
                left -= tx.max_gas;
                fees = fees.checked_add(fee).expect("fees fit in u64");
                Outcome::Executed { principal: tx.body.principal, gas: tx.max_gas, fee, result }
            }
        })
        .collect();
    BlockOutcome { outcomes, fees }
}

/// The checks that make a transaction ineffective, in genvm's order.
fn check(
    accounts: &Accounts,
    ctx: &ExecContext<'_>,
    raw: &[u8],
    left: u64,
) -> Result<ParsedTx, Ineffective> {
    let principal = tx::principal_of(raw)?;
    let account = accounts.get(&principal);
    let parsed = tx::parse(raw, account.spawned.as_ref())?;
    if parsed.body.gas_price == 0 {
        return Err(Ineffective::ZeroGasPrice);
    }
    if account.balance < parsed.intrinsic_gas {
        return Err(Ineffective::IntrinsicGas {
            balance: account.balance,
            gas: parsed.intrinsic_gas,
        });
    }
    if left < parsed.max_gas {
        return Err(Ineffective::BlockGas { left, gas: parsed.max_gas });
    }
    if !tx::verify(&parsed, raw, &ctx.genesis, ctx.verifier) {
        return Err(Ineffective::Signature);
    }
    if parsed.body.nonce < account.next_nonce {
        return Err(Ineffective::NonceTooLow {
            nonce: parsed.body.nonce,
            next: account.next_nonce,
        });
    }
    Ok(parsed)
}

/// Charges and runs a checked transaction: its fee and how its call went. A failed call
/// changes nothing but the fee and the nonce.
fn apply(
    accounts: &mut Accounts,
    ctx: &ExecContext<'_>,
    tx: &ParsedTx,
) -> (u64, Result<(), Failure>) {
    let me = tx.body.principal;
    let mut principal = accounts.get(&me);
    // A price so high that the product overflows is more than any balance: all of it goes.
    let charge = tx.max_gas.saturating_mul(tx.body.gas_price);
    let fee = charge.min(principal.balance);
    principal.balance -= fee;
    principal.next_nonce = tx.body.nonce.saturating_add(1);
    let result =
        if charge > fee { Err(Failure::OutOfGas) } else { run(accounts, ctx, tx, &mut principal) };
    accounts.put(me, principal);
    (fee, result)
}

/// Runs the call; on failure nothing has been written.
fn run(
    accounts: &mut Accounts,
    ctx: &ExecContext<'_>,
    tx: &ParsedTx,
    me: &mut Account,
) -> Result<(), Failure> {
    let principal_addr = tx.body.principal;
    match &tx.body.call {
        Call::Spawn { template, args } => {
            let target = principal(*template, &args.encode());
            let spawned = Spawned { template: *template, args: args.clone() };
            if target == principal_addr {
                if me.spawned.is_some() {
                    return Err(Failure::AlreadySpawned);
                }
                me.spawned = Some(spawned);
                return Ok(());
            }
            let mut account = accounts.get(&target);
            if account.spawned.is_some() {
                return Err(Failure::AlreadySpawned);
            }
            account.spawned = Some(spawned);
            accounts.put(target, account);
            Ok(())
        }
        Call::Spend(s) => {
            if s.amount > me.balance {
                return Err(Failure::NoBalance);
            }
            if s.amount > tx.max_spend {
                return Err(Failure::MaxSpend);
            }
            if s.destination != principal_addr {
                me.balance -= s.amount;
                accounts.credit(s.destination, s.amount);
            }
            Ok(())
        }
        Call::Drain(d) => {
            let mut vault = accounts.get(&d.vault);
            let args = match &vault.spawned {
                None => return Err(Failure::NotSpawned),
                Some(Spawned { template: Template::Vault, args: SpawnArgs::Vault(v) }) => v.clone(),
                Some(_) => return Err(Failure::NotVault),
            };
            if args.owner != principal_addr {
                return Err(Failure::NotOwner);
            }
            let vested = vested(&args, ctx.layer);
            let unvested = args.total_amount - vested;
            if vault.balance < unvested {
                return Err(Failure::Misconfigured);
            }
            if d.amount > vault.balance - unvested {
                return Err(Failure::NotVested);
            }
            if d.destination == d.vault {
                return Ok(());
            }
            vault.balance -= d.amount;
            accounts.put(d.vault, vault);
            if d.destination == principal_addr {
                me.balance = me.balance.checked_add(d.amount).expect("balances fit in u64");
            } else {
                accounts.credit(d.destination, d.amount);
            }
            Ok(())
        }
    }
}

/// Coins of a vault vested at `layer`: none before the start, all from the end, linear between.
pub fn vested(vault: &VaultArgs, layer: LayerId) -> u64 {
    if layer < vault.vesting_start {
        return 0;
    }
    if layer >= vault.vesting_end {
        return vault.total_amount;
    }
    let done = u128::from(layer.0 - vault.vesting_start.0);
    let span = u128::from(vault.vesting_end.0 - vault.vesting_start.0);
    (u128::from(vault.total_amount) * done / span) as u64
}
