//! `smesh wallet`: the command line of the wallet (`wallet/`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};

use crate::wallet::amount::parse_amount;
use crate::wallet::commands::{self, SendOptions, Session, VaultPlan};

#[derive(Debug, Subcommand)]
pub(crate) enum WalletCommand {
    /// A new BIP39 mnemonic and wallet file (mode 0600; an existing file needs --force).
    Create {
        #[command(flatten)]
        file: FileArg,
        /// Words of the mnemonic: 12 or 24.
        #[arg(long, default_value_t = 24)]
        words: usize,
        /// Accounts to derive (m/44'/540'/0'/0'/i' for i below this).
        #[arg(long, default_value_t = 1)]
        accounts: u32,
        /// Replace an existing wallet file.
        #[arg(long)]
        force: bool,
        /// Print the new mnemonic.
        #[arg(long)]
        show_secret: bool,
    },
    /// A wallet file from a mnemonic read from stdin (12 or 24 words).
    Recover {
        #[command(flatten)]
        file: FileArg,
        /// Accounts to derive.
        #[arg(long, default_value_t = 1)]
        accounts: u32,
        /// Replace an existing wallet file.
        #[arg(long)]
        force: bool,
    },
    /// The accounts: addresses and public keys.
    Show {
        #[command(flatten)]
        file: FileArg,
        /// Address prefix: `stest` (test networks) or `sm` (mainnet).
        #[arg(long, default_value = "stest")]
        hrp: String,
        /// Also print the mnemonic and the secret keys.
        #[arg(long)]
        show_secret: bool,
    },
    /// An account's balance and nonce at a node.
    Balance {
        #[command(flatten)]
        account: AccountArgs,
    },
    /// Send smidge (or `1.5smh`) to an address.
    Send {
        #[command(flatten)]
        account: AccountArgs,
        /// The receiver (bech32 of the node's network).
        #[arg(long)]
        to: String,
        /// Smidge, or SMH with the `smh` suffix (`1.5smh`).
        #[arg(long, value_parser = parse_amount)]
        amount: u64,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Spawn the wallet account itself (once it holds coins for the fee).
    Spawn {
        #[command(flatten)]
        account: AccountArgs,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Spawn a K-of-N multisig account, paid by this wallet.
    SpawnMultisig {
        #[command(flatten)]
        account: AccountArgs,
        /// The ed25519 public keys (hex), comma-separated, 1 to 10.
        #[arg(long)]
        keys: String,
        /// Signatures required.
        #[arg(long)]
        required: u8,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Spawn a vesting account (a multisig) and the vault it drains, paid by this wallet.
    SpawnVesting {
        #[command(flatten)]
        account: AccountArgs,
        /// The vesting account's ed25519 public keys (hex), comma-separated, 1 to 10.
        #[arg(long)]
        keys: String,
        /// Signatures required.
        #[arg(long)]
        required: u8,
        /// Coins the vault vests (smidge or `Nsmh`).
        #[arg(long, value_parser = parse_amount)]
        total: u64,
        /// Coins free from the start.
        #[arg(long, value_parser = parse_amount, default_value = "0")]
        initial_unlock: u64,
        /// Layer where vesting starts.
        #[arg(long)]
        vesting_start: u32,
        /// Layer where everything is vested.
        #[arg(long)]
        vesting_end: u32,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Transactions this wallet sent, with their status at the node.
    List {
        #[command(flatten)]
        file: FileArg,
        /// The node's API (`http://HOST:PORT`, its `--metrics` listener).
        #[arg(long)]
        node: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct FileArg {
    /// The wallet file (default ~/.smesh/wallet.json).
    #[arg(long = "file")]
    path: Option<PathBuf>,
}

impl FileArg {
    fn path(&self) -> PathBuf {
        self.path.clone().unwrap_or_else(|| {
            let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| ".".into());
            home.join(".smesh").join("wallet.json")
        })
    }
}

#[derive(Debug, Args)]
pub(crate) struct AccountArgs {
    #[command(flatten)]
    file: FileArg,
    /// Which account of the wallet.
    #[arg(long, default_value_t = 0)]
    account: u32,
    /// The node's API (`http://HOST:PORT`, its `--metrics` listener).
    #[arg(long)]
    node: String,
}

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// Smidge per unit of gas.
    #[arg(long, default_value_t = 1)]
    gas_price: u64,
    /// Nonce to use (default: the node's projected nonce of the account).
    #[arg(long)]
    nonce: Option<u64>,
}

impl SendArgs {
    fn options(&self) -> SendOptions {
        SendOptions { gas_price: self.gas_price, nonce: self.nonce }
    }
}

pub(crate) fn run(cmd: WalletCommand) -> Result<ExitCode> {
    match cmd {
        WalletCommand::Create { file, words, accounts, force, show_secret } => {
            commands::create(&file.path(), words, accounts, force, show_secret)
        }
        WalletCommand::Recover { file, accounts, force } => {
            commands::recover(&file.path(), accounts, force)
        }
        WalletCommand::Show { file, hrp, show_secret } => {
            commands::show(&file.path(), &hrp, show_secret)
        }
        cmd => crate::node_cmd::runtime()?.block_on(run_online(cmd)),
    }
}

/// The subcommands that talk to a node.
async fn run_online(cmd: WalletCommand) -> Result<ExitCode> {
    let open = |a: &AccountArgs| {
        let (file, index, node) = (a.file.path(), a.account, a.node.clone());
        async move { Session::open(&file, index, &node).await }
    };
    match cmd {
        WalletCommand::Balance { account } => {
            commands::balance(&account.file.path(), account.account, &account.node).await
        }
        WalletCommand::Send { account, to, amount, send } => {
            commands::send(&open(&account).await?, &to, amount, &send.options()).await
        }
        WalletCommand::Spawn { account, send } => {
            commands::spawn(&open(&account).await?, &send.options()).await
        }
        WalletCommand::SpawnMultisig { account, keys, required, send } => {
            let keys = commands::parse_keys(&keys)?;
            commands::spawn_multisig(&open(&account).await?, &keys, required, &send.options()).await
        }
        WalletCommand::SpawnVesting {
            account,
            keys,
            required,
            total,
            initial_unlock,
            vesting_start,
            vesting_end,
            send,
        } => {
            let keys = commands::parse_keys(&keys)?;
            let plan = VaultPlan { total, initial_unlock, start: vesting_start, end: vesting_end };
            commands::spawn_vesting(&open(&account).await?, &keys, required, &plan, &send.options())
                .await
        }
        WalletCommand::List { file, node } => commands::list(&file.path(), &node).await,
        WalletCommand::Create { .. }
        | WalletCommand::Recover { .. }
        | WalletCommand::Show { .. } => {
            unreachable!("offline subcommands are run by `run`")
        }
    }
}
