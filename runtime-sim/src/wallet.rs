//! Simulated wallet users. A [`WalletAction`] is signed when it happens, with the nonce the
//! node it is sent to projects for the account (as a wallet asks its node), and submitted to
//! that node's API as [`spacemesh_core::Command::SubmitTx`]; the world logs every
//! [`Submission`] so that checkers can follow each transaction.

use spacemesh_core::account::{Address, Template, principal};
use spacemesh_core::tx::{Call, MultisigArgs, Part, SpawnArgs, TxBody, TxKey, with_parts};
use spacemesh_core::{GenesisId, Hash32};
use spacemesh_sim::{NodeIdx, SimTime};

/// Who signs: a wallet's key, or `required` of a multisig account's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalletSigner {
    /// A wallet (single key) from its ed25519 seed.
    Single([u8; 32]),
    /// A multisig account: the seeds of its keys, in key order, and how many must sign (the
    /// first `required` do).
    Multisig {
        /// The keys' seeds.
        seeds: Vec<[u8; 32]>,
        /// Signatures needed.
        required: u8,
    },
}

impl WalletSigner {
    /// The account's spawn arguments.
    pub fn spawn_args(&self) -> (Template, SpawnArgs) {
        match self {
            WalletSigner::Single(seed) => (Template::Wallet, TxKey::from_seed(*seed).wallet_args()),
            WalletSigner::Multisig { seeds, required } => {
                let public_keys = seeds.iter().map(|s| TxKey::from_seed(*s).public_key()).collect();
                let args = MultisigArgs { required: *required, public_keys };
                (Template::Multisig, SpawnArgs::Multisig(args))
            }
        }
    }

    /// The account's address.
    pub fn address(&self) -> Address {
        let (template, args) = self.spawn_args();
        principal(template, &args.encode())
    }

    /// The call that spawns the account itself.
    pub fn self_spawn(&self) -> Call {
        let (template, args) = self.spawn_args();
        Call::Spawn { template, args }
    }

    /// The signed transaction of `body` on `genesis`.
    pub fn sign(&self, genesis: &GenesisId, body: &TxBody) -> Vec<u8> {
        let unsigned = body.encode();
        match self {
            WalletSigner::Single(seed) => TxKey::from_seed(*seed).sign_single(genesis, &unsigned),
            WalletSigner::Multisig { seeds, required } => {
                let parts: Vec<Part> = seeds
                    .iter()
                    .take(usize::from(*required))
                    .enumerate()
                    .map(|(i, s)| Part {
                        key: i as u8,
                        signature: TxKey::from_seed(*s).sign(genesis, &unsigned),
                    })
                    .collect();
                with_parts(&unsigned, &parts)
            }
        }
    }
}

/// One transaction a wallet user sends through a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletAction {
    /// The account and its keys.
    pub signer: WalletSigner,
    /// What it does.
    pub call: Call,
    /// Smidge per gas.
    pub gas_price: u64,
}

/// A transaction the world submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// When.
    pub at: SimTime,
    /// To which node.
    pub node: NodeIdx,
    /// The transaction's id.
    pub id: Hash32,
    /// Its principal.
    pub principal: Address,
    /// Its nonce (the node's projected nonce at the time).
    pub nonce: u64,
}
