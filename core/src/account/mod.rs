//! Accounts as genvm (go-spacemesh's VM) names them: 24-byte addresses whose first 4 bytes are
//! reserved zero, shown as bech32 with a network prefix, and derived from the template an account
//! is spawned with and its spawn arguments (protocol.md section 11).
//!
//! An account's address is fixed before it is spawned, so it can receive coins first (a stub
//! account); spawning it later with the same template and arguments takes it over.

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32, Hrp};
use thiserror::Error;

use crate::codec::{Decode, DecodeError, Encode, Reader};

/// Bytes of an address.
pub const ADDRESS_LEN: usize = 24;
/// Leading bytes of an address that are reserved and zero.
pub const ADDRESS_RESERVED: usize = 4;

/// The bech32 prefix of mainnet addresses.
pub const HRP_MAINNET: &str = "sm";
/// The bech32 prefix of test networks' addresses.
pub const HRP_TESTNET: &str = "stest";

/// An account address: 4 reserved zero bytes, then 20 bytes of a hash.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Address(pub [u8; ADDRESS_LEN]);

impl std::fmt::Debug for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Address(")?;
        for b in &self.0[ADDRESS_RESERVED..] {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// Why a text is not an address of the expected network.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AddressError {
    /// Not bech32 (bad characters, mixed case, or a checksum that does not match).
    #[error("not a bech32 address: {0}")]
    Bech32(String),
    /// Another network's address.
    #[error("an address of network `{found}`, not `{expected}`")]
    WrongNetwork {
        /// The prefix found.
        found: String,
        /// The prefix expected.
        expected: String,
    },
    /// The data is not 24 bytes.
    #[error("an address holds {ADDRESS_LEN} bytes, this one {0}")]
    WrongLength(usize),
    /// The reserved leading bytes are not zero.
    #[error("the first {ADDRESS_RESERVED} bytes of an address must be zero")]
    Reserved,
}

impl Address {
    /// The address whose last 20 bytes are the last 20 of `hash` (the genvm rule for
    /// addresses made from a hash or a key).
    pub fn from_hash_tail(hash: &[u8; 32]) -> Self {
        let mut a = [0u8; ADDRESS_LEN];
        a[ADDRESS_RESERVED..].copy_from_slice(&hash[32 - (ADDRESS_LEN - ADDRESS_RESERVED)..]);
        Address(a)
    }

    /// The default coinbase of an identity: its node id's hash, under the reserved prefix.
    pub fn of_node(node: &crate::types::NodeId) -> Address {
        let mut a = [0u8; ADDRESS_LEN];
        a[ADDRESS_RESERVED..].copy_from_slice(&crate::crypto::hash(&node.0).0[..20]);
        Address(a)
    }

    /// Whether the 20 hash bytes are all zero.
    pub fn is_empty(&self) -> bool {
        self.0[ADDRESS_RESERVED..].iter().all(|b| *b == 0)
    }

    /// The bech32 text under network prefix `hrp` (`sm`, `stest`, ...).
    pub fn to_bech32(&self, hrp: &str) -> String {
        let hrp = Hrp::parse(hrp).expect("network prefixes are valid bech32 prefixes");
        bech32::encode::<Bech32>(hrp, &self.0).expect("a 24-byte address fits bech32's limit")
    }

    /// Reads bech32 text of network `hrp`.
    pub fn from_bech32(text: &str, hrp: &str) -> Result<Self, AddressError> {
        let checked = CheckedHrpstring::new::<Bech32>(text)
            .map_err(|e| AddressError::Bech32(e.to_string()))?;
        let found = checked.hrp().to_string();
        if !found.eq_ignore_ascii_case(hrp) {
            return Err(AddressError::WrongNetwork { found, expected: hrp.to_owned() });
        }
        let bytes: Vec<u8> = checked.byte_iter().collect();
        let a: [u8; ADDRESS_LEN] =
            bytes.as_slice().try_into().map_err(|_| AddressError::WrongLength(bytes.len()))?;
        if a[..ADDRESS_RESERVED].iter().any(|b| *b != 0) {
            return Err(AddressError::Reserved);
        }
        Ok(Address(a))
    }
}

impl Encode for Address {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Decode for Address {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array().map(Address)
    }
}

/// The native templates, by the last byte of their address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Template {
    /// Single-key wallet.
    Wallet = 1,
    /// k-of-n multisig wallet.
    Multisig = 2,
    /// A multisig that may also drain a vault it owns.
    Vesting = 3,
    /// Coins that vest linearly between two layers, spent by their owner.
    Vault = 4,
}

impl Template {
    /// Every template.
    pub const ALL: [Template; 4] =
        [Template::Wallet, Template::Multisig, Template::Vesting, Template::Vault];

    /// The template's address: zero but for its last byte.
    pub fn address(self) -> Address {
        let mut a = [0u8; ADDRESS_LEN];
        a[ADDRESS_LEN - 1] = self as u8;
        Address(a)
    }

    /// The template at `address`, if it is one.
    pub fn at(address: &Address) -> Option<Template> {
        Template::ALL.into_iter().find(|t| t.address() == *address)
    }

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            Template::Wallet => "wallet",
            Template::Multisig => "multisig",
            Template::Vesting => "vesting",
            Template::Vault => "vault",
        }
    }
}

/// The address of the account spawned with `template` and spawn arguments encoded as
/// `spawn_args`: the last 20 bytes of blake3(template address ‖ arguments).
pub fn principal(template: Template, spawn_args: &[u8]) -> Address {
    let mut h = blake3::Hasher::new();
    h.update(&template.address().0);
    h.update(spawn_args);
    Address::from_hash_tail(h.finalize().as_bytes())
}

#[cfg(test)]
mod tests;
