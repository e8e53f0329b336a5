//! genvm's transaction wire format (SCALE): `version (compact, 0) | principal (24) | method
//! (compact: 0 spawn, 16 spend, 17 drain vault) | template address (24, spawns only) | nonce
//! (compact) | gas price (compact) | method arguments | signature(s)`, at most
//! [`TX_SIZE_MAX`] bytes. How the arguments and signatures read depends on the template: the
//! spawned template for a spawn, the principal's own template otherwise, so parsing takes the
//! principal's state.

use thiserror::Error;

use crate::account::{Address, Template, principal};
use crate::codec::{DecodeError, Encode, Reader, decode_compact, encode_compact};
use crate::crypto::Signature;
use crate::types::LayerId;

use super::gas::{self, GasCall};

/// Largest transaction, in bytes.
pub const TX_SIZE_MAX: usize = 1024;
/// Method selector of a spawn.
pub const METHOD_SPAWN: u8 = 0;
/// Method selector of a spend.
pub const METHOD_SPEND: u8 = 16;
/// Method selector of a vesting account's vault drain.
pub const METHOD_DRAIN_VAULT: u8 = 17;
/// Most keys of a multisig or vesting account.
pub const MULTISIG_KEYS_MAX: usize = 10;

/// What an account is spawned with, which is also its immutable state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpawnArgs {
    /// A wallet's key.
    Wallet {
        /// The ed25519 public key.
        public_key: [u8; 32],
    },
    /// A multisig or vesting account's keys.
    Multisig(MultisigArgs),
    /// A vault.
    Vault(VaultArgs),
}

/// `required` of `public_keys` sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultisigArgs {
    /// Signatures needed (1 to the key count).
    pub required: u8,
    /// The keys (1 to [`MULTISIG_KEYS_MAX`]).
    pub public_keys: Vec<[u8; 32]>,
}

/// Coins that vest linearly from `vesting_start` to `vesting_end`, spent by `owner`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultArgs {
    /// The only account that may spend (a vesting account).
    pub owner: Address,
    /// Coins the vault vests in all.
    pub total_amount: u64,
    /// Coins free from the start.
    pub initial_unlock_amount: u64,
    /// Vesting starts at this layer.
    pub vesting_start: LayerId,
    /// Everything is vested at this layer.
    pub vesting_end: LayerId,
}

/// Coins to move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spend {
    /// The receiver.
    pub destination: Address,
    /// Smidge.
    pub amount: u64,
}

/// A vesting account spends from a vault it owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drain {
    /// The vault.
    pub vault: Address,
    /// The receiver.
    pub destination: Address,
    /// Smidge.
    pub amount: u64,
}

/// What a transaction does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// Spawn an account of `template` (the principal itself, or another once it is spawned).
    Spawn {
        /// The template.
        template: Template,
        /// Its arguments.
        args: SpawnArgs,
    },
    /// Move coins.
    Spend(Spend),
    /// Move coins out of a vault.
    Drain(Drain),
}

/// A transaction without its signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxBody {
    /// The paying, signing account.
    pub principal: Address,
    /// Its counter: lower than the account's next nonce is ineffective, gaps are allowed.
    pub nonce: u64,
    /// Smidge per gas.
    pub gas_price: u64,
    /// What it does.
    pub call: Call,
}

/// A spawned account's template and immutable state: what a transaction's principal is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spawned {
    /// The template.
    pub template: Template,
    /// Its spawn arguments.
    pub args: SpawnArgs,
}

/// One signer of a multisig transaction: the index of its key and its signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// Index into the account's keys (strictly ascending across parts).
    pub key: u8,
    /// The signature.
    pub signature: Signature,
}

/// A transaction's signatures, as its principal's template reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signatures {
    /// A wallet's.
    Single(Signature),
    /// `required` parts of a multisig or vesting account.
    Multi(Vec<Part>),
    /// A vault's (vaults never sign: their transactions never verify).
    None,
}

/// Why bytes are not a transaction this state can run.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TxError {
    /// Over the size limit.
    #[error("transaction of {0} bytes is over the limit of {TX_SIZE_MAX}")]
    TooLarge(usize),
    /// A field does not decode.
    #[error("malformed {what}: {error}")]
    Malformed {
        /// Which field.
        what: &'static str,
        /// Why.
        error: DecodeError,
    },
    /// Bytes after the signatures.
    #[error("{0} bytes after the signatures")]
    Trailing(usize),
    /// Not version 0.
    #[error("unsupported transaction version {0}")]
    Version(u64),
    /// The spawned template is not a known one.
    #[error("unknown template {0:?}")]
    UnknownTemplate(Address),
    /// The template has no such method.
    #[error("the {template} template has no method {method}")]
    UnknownMethod {
        /// Template name.
        template: &'static str,
        /// The selector.
        method: u64,
    },
    /// The principal is not spawned (and the transaction does not spawn it).
    #[error("principal {0:?} is not spawned")]
    NotSpawned(Address),
    /// Spawn arguments that make no account.
    #[error("invalid spawn arguments: {0}")]
    InvalidSpawn(&'static str),
}

fn field<T>(what: &'static str, r: Result<T, DecodeError>) -> Result<T, TxError> {
    r.map_err(|error| TxError::Malformed { what, error })
}

fn compact8(r: &mut Reader<'_>, what: &'static str) -> Result<u8, TxError> {
    let v = field(what, decode_compact(r))?;
    u8::try_from(v).map_err(|_| TxError::Malformed { what, error: DecodeError::InvalidCompact })
}

fn compact32(r: &mut Reader<'_>, what: &'static str) -> Result<u32, TxError> {
    let v = field(what, decode_compact(r))?;
    u32::try_from(v).map_err(|_| TxError::Malformed { what, error: DecodeError::InvalidCompact })
}

impl SpawnArgs {
    /// The encoding genvm hashes into the account's address.
    pub fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            SpawnArgs::Wallet { public_key } => out.extend_from_slice(public_key),
            SpawnArgs::Multisig(m) => {
                encode_compact(u64::from(m.required), out);
                encode_compact(m.public_keys.len() as u64, out);
                for k in &m.public_keys {
                    out.extend_from_slice(k);
                }
            }
            SpawnArgs::Vault(v) => {
                v.owner.encode_to(out);
                encode_compact(v.total_amount, out);
                encode_compact(v.initial_unlock_amount, out);
                encode_compact(u64::from(v.vesting_start.0), out);
                encode_compact(u64::from(v.vesting_end.0), out);
            }
        }
    }

    /// The encoding, as bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_to(&mut out);
        out
    }

    pub(crate) fn decode(template: Template, r: &mut Reader<'_>) -> Result<SpawnArgs, TxError> {
        let args = match template {
            Template::Wallet => SpawnArgs::Wallet { public_key: field("public key", r.array())? },
            Template::Multisig | Template::Vesting => {
                let required = compact8(r, "required signatures")?;
                let n = field("key count", r.length("multisig keys", MULTISIG_KEYS_MAX))?;
                let public_keys =
                    (0..n).map(|_| field("public key", r.array())).collect::<Result<_, _>>()?;
                SpawnArgs::Multisig(MultisigArgs { required, public_keys })
            }
            Template::Vault => SpawnArgs::Vault(VaultArgs {
                owner: field("owner", r.array().map(Address))?,
                total_amount: field("total amount", decode_compact(r))?,
                initial_unlock_amount: field("initial unlock amount", decode_compact(r))?,
                vesting_start: LayerId(compact32(r, "vesting start")?),
                vesting_end: LayerId(compact32(r, "vesting end")?),
            }),
        };
        args.check(template)?;
        Ok(args)
    }

    /// Refuses arguments that make no usable account.
    fn check(&self, template: Template) -> Result<(), TxError> {
        match (template, self) {
            (Template::Wallet, SpawnArgs::Wallet { .. }) => Ok(()),
            (Template::Multisig | Template::Vesting, SpawnArgs::Multisig(m)) => {
                if m.public_keys.is_empty() || m.public_keys.len() > MULTISIG_KEYS_MAX {
                    Err(TxError::InvalidSpawn("a multisig holds 1 to 10 keys"))
                } else if m.required == 0 || usize::from(m.required) > m.public_keys.len() {
                    Err(TxError::InvalidSpawn("required signatures must be 1 to the key count"))
                } else {
                    Ok(())
                }
            }
            (Template::Vault, SpawnArgs::Vault(v)) => {
                if v.initial_unlock_amount > v.total_amount {
                    Err(TxError::InvalidSpawn("initial unlock amount above the total"))
                } else if v.vesting_end < v.vesting_start {
                    Err(TxError::InvalidSpawn("vesting ends before it starts"))
                } else {
                    Ok(())
                }
            }
            _ => Err(TxError::InvalidSpawn("arguments of another template")),
        }
    }

    /// Keys the account holds (gas is charged per key).
    pub fn keys(&self) -> u64 {
        match self {
            SpawnArgs::Wallet { .. } => 1,
            SpawnArgs::Multisig(m) => m.public_keys.len() as u64,
            SpawnArgs::Vault(_) => 0,
        }
    }

    /// Signatures a transaction of this account carries.
    pub fn signatures(&self) -> u64 {
        match self {
            SpawnArgs::Wallet { .. } => 1,
            SpawnArgs::Multisig(m) => u64::from(m.required),
            SpawnArgs::Vault(_) => 0,
        }
    }
}

impl Call {
    fn method(&self) -> u8 {
        match self {
            Call::Spawn { .. } => METHOD_SPAWN,
            Call::Spend(_) => METHOD_SPEND,
            Call::Drain(_) => METHOD_DRAIN_VAULT,
        }
    }

    fn gas_call(&self) -> GasCall {
        match self {
            Call::Spawn { .. } => GasCall::Spawn,
            Call::Spend(_) => GasCall::Spend,
            Call::Drain(_) => GasCall::Drain,
        }
    }
}

impl TxBody {
    /// The bytes the signatures cover (after the genesis id).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        encode_compact(0, &mut out);
        self.principal.encode_to(&mut out);
        encode_compact(u64::from(self.call.method()), &mut out);
        if let Call::Spawn { template, .. } = &self.call {
            template.address().encode_to(&mut out);
        }
        encode_compact(self.nonce, &mut out);
        encode_compact(self.gas_price, &mut out);
        match &self.call {
            Call::Spawn { args, .. } => args.encode_to(&mut out),
            Call::Spend(s) => {
                s.destination.encode_to(&mut out);
                encode_compact(s.amount, &mut out);
            }
            Call::Drain(d) => {
                d.vault.encode_to(&mut out);
                d.destination.encode_to(&mut out);
                encode_compact(d.amount, &mut out);
            }
        }
        out
    }
}

/// A transaction read against its principal's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedTx {
    /// What it says.
    pub body: TxBody,
    /// The account whose keys sign it: the principal, or the account it spawns itself as.
    pub signer: Spawned,
    /// Whether it spawns its own principal.
    pub self_spawn: bool,
    /// Its signatures.
    pub signatures: Signatures,
    /// Bytes the signatures cover.
    pub signed_len: usize,
    /// Gas the principal's balance must cover for the transaction to be considered at all
    /// (its base gas and data).
    pub intrinsic_gas: u64,
    /// Gas charged up front.
    pub max_gas: u64,
    /// Most coins it moves out of the principal (besides the fee).
    pub max_spend: u64,
}

/// The principal of `raw`, read before its state is looked up for [`parse`].
pub fn principal_of(raw: &[u8]) -> Result<Address, TxError> {
    let mut r = Reader::new(raw);
    let version = field("version", decode_compact(&mut r))?;
    if version != 0 {
        return Err(TxError::Version(version));
    }
    field("principal", r.array().map(Address))
}

/// The principal and nonce of `raw`, read without its principal's state (they come before
/// anything the template decides): what block building orders each account's transactions by.
pub fn nonce_of(raw: &[u8]) -> Result<(Address, u64), TxError> {
    let mut r = Reader::new(raw);
    let (principal_addr, _, _) = head(&mut r)?;
    let nonce = field("nonce", decode_compact(&mut r))?;
    Ok((principal_addr, nonce))
}

/// The fields every transaction starts with: the version (0), the principal, the method and,
/// for a spawn, the template's address.
fn head(r: &mut Reader<'_>) -> Result<(Address, u8, Option<Address>), TxError> {
    let version = field("version", decode_compact(r))?;
    if version != 0 {
        return Err(TxError::Version(version));
    }
    let principal_addr = field("principal", r.array().map(Address))?;
    let method = compact8(r, "method")?;
    let template = if method == METHOD_SPAWN {
        Some(field("template", r.array().map(Address))?)
    } else {
        None
    };
    Ok((principal_addr, method, template))
}

/// Reads `raw` as a transaction whose principal is `state` (its template and immutable state
/// if it is spawned, `None` if not). Signatures are read, not verified (see
/// [`super::verify`]).
pub fn parse(raw: &[u8], state: Option<&Spawned>) -> Result<ParsedTx, TxError> {
    if raw.len() > TX_SIZE_MAX {
        return Err(TxError::TooLarge(raw.len()));
    }
    let mut r = Reader::new(raw);
    let (principal_addr, method, template_addr) = head(&mut r)?;
    let template = match template_addr {
        Some(addr) => Template::at(&addr).ok_or(TxError::UnknownTemplate(addr))?,
        None => state.ok_or(TxError::NotSpawned(principal_addr))?.template,
    };
    let nonce = field("nonce", decode_compact(&mut r))?;
    let gas_price = field("gas price", decode_compact(&mut r))?;
    let unknown = || TxError::UnknownMethod { template: template.name(), method: method.into() };
    let call = match method {
        METHOD_SPAWN => Call::Spawn { template, args: SpawnArgs::decode(template, &mut r)? },
        METHOD_SPEND => Call::Spend(Spend {
            destination: field("destination", r.array().map(Address))?,
            amount: field("amount", decode_compact(&mut r))?,
        }),
        METHOD_DRAIN_VAULT if template == Template::Vesting => Call::Drain(Drain {
            vault: field("vault", r.array().map(Address))?,
            destination: field("destination", r.array().map(Address))?,
            amount: field("amount", decode_compact(&mut r))?,
        }),
        _ => return Err(unknown()),
    };
    let body = TxBody { principal: principal_addr, nonce, gas_price, call };
    let (signer, self_spawn, fixed) = match (&body.call, state) {
        (Call::Spawn { template, args }, _)
            if principal(*template, &args.encode()) == principal_addr =>
        {
            let gas = gas::exec_gas(*template, GasCall::Spawn, args.keys());
            (Spawned { template: *template, args: args.clone() }, true, gas)
        }
        (Call::Spawn { .. }, None) => return Err(TxError::NotSpawned(principal_addr)),
        (Call::Spawn { template, args }, Some(s)) => {
            let gas = gas::load_gas(s.template, s.args.keys())
                + gas::exec_gas(*template, GasCall::Spawn, args.keys());
            (s.clone(), false, gas)
        }
        (call, Some(s)) => {
            let gas = gas::load_gas(s.template, s.args.keys())
                + gas::exec_gas(s.template, call.gas_call(), s.args.keys());
            (s.clone(), false, gas)
        }
        (_, None) => return Err(TxError::NotSpawned(principal_addr)),
    };
    let signed_len = raw.len() - r.remaining();
    let signatures = match &signer.args {
        SpawnArgs::Wallet { .. } => {
            Signatures::Single(field("signature", r.array().map(Signature))?)
        }
        SpawnArgs::Multisig(m) => Signatures::Multi(
            (0..m.required)
                .map(|_| {
                    Ok(Part {
                        key: compact8(&mut r, "signature key index")?,
                        signature: field("signature", r.array().map(Signature))?,
                    })
                })
                .collect::<Result<_, TxError>>()?,
        ),
        SpawnArgs::Vault(_) => Signatures::None,
    };
    if r.remaining() > 0 {
        return Err(TxError::Trailing(r.remaining()));
    }
    let base = gas::base_gas(signer.template, body.call.gas_call(), signer.args.signatures());
    let max_spend = match &body.call {
        Call::Spend(s) => s.amount,
        Call::Spawn { .. } | Call::Drain(_) => 0,
    };
    Ok(ParsedTx {
        body,
        signer,
        self_spawn,
        signatures,
        signed_len,
        intrinsic_gas: gas::max_gas(base, 0, raw.len()),
        max_gas: gas::max_gas(base, fixed, raw.len()),
        max_spend,
    })
}
