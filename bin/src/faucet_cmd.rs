//! `smesh faucet`: the command line of the faucet (`faucet/`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};

use crate::faucet::{FaucetConfig, serve};
use crate::wallet::amount::parse_amount;

#[derive(Debug, Subcommand)]
pub(crate) enum FaucetCommand {
    /// Serve `POST /request {"address": ...}` (and a form at `/`), paying from a wallet.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The node's API (`http://HOST:PORT`, its `--metrics` listener).
    #[arg(long)]
    node: String,
    /// The wallet file that pays.
    #[arg(long)]
    wallet: PathBuf,
    /// Which account of the wallet.
    #[arg(long, default_value_t = 0)]
    account: u32,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Per request: smidge, or SMH with the `smh` suffix.
    #[arg(long, default_value = "10smh", value_parser = parse_amount)]
    amount: u64,
    /// Time between payments to one address or one IP (`24h`, `30m`, `90s`, `2d`).
    #[arg(long, default_value = "24h", value_parser = crate::duration_arg::parse_duration)]
    cooldown: u64,
    /// Smidge per unit of gas.
    #[arg(long, default_value_t = 1)]
    gas_price: u64,
    /// Cooldowns and the request log (default ~/.smesh/faucet).
    #[arg(long)]
    data: Option<PathBuf>,
}

pub(crate) fn run(cmd: FaucetCommand) -> Result<ExitCode> {
    let FaucetCommand::Serve(a) = cmd;
    let data = a.data.unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| ".".into());
        home.join(".smesh").join("faucet")
    });
    let cfg = FaucetConfig {
        node: a.node,
        wallet: a.wallet,
        account: a.account,
        listen: a.listen,
        amount: a.amount,
        cooldown_secs: a.cooldown,
        gas_price: a.gas_price,
        data,
    };
    crate::node_cmd::init_logs();
    crate::node_cmd::runtime()?.block_on(serve(cfg))?;
    Ok(ExitCode::SUCCESS)
}
