//! The smesh command-line tool: simulation, node, PoST, PoET, wallet, faucet, gateway and benchmarks.
//!
//! Exit status: 0 when everything asked for passed, 1 when a check failed, 2 on bad usage.

/// Prints a line to stdout; a closed stdout (`smesh ... | head`) is not an error.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Prints a progress line to stderr; a closed stderr is not an error.
macro_rules! progress {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod allocator;
mod bench;
mod bench_api;
mod bench_poet;
mod bench_post;
mod bench_post_disk;
mod bench_tx;
mod bench_verify;
mod canary_cmd;
mod devnet_cmd;
mod devnet_faults;
mod duration_arg;
mod explore;
mod faucet;
mod faucet_cmd;
mod html;
mod node_cmd;
mod poet_cmd;
mod post_cmd;
mod shrink;
mod sim_cmd;
mod sim_serve;
mod trace_file;
mod wallet;
mod wallet_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// smesh: a Spacemesh node built as a deterministic simulation framework.
#[derive(Debug, Parser)]
#[command(name = "smesh", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Deterministic simulation: list, run and check scenarios.
    #[command(subcommand)]
    Sim(sim_cmd::SimCommand),
    /// Benchmarks that print measured ratios.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// PoST tools.
    #[command(subcommand)]
    Post(post_cmd::PostCommand),
    /// Run a node: real clock, TCP peers, a store on disk.
    Node(node_cmd::NodeArgs),
    /// A PoET service.
    #[command(subcommand)]
    Poet(poet_cmd::PoetCommand),
    /// A network of node processes and a PoET on this machine.
    #[command(subcommand)]
    Devnet(devnet_cmd::DevnetCommand),
    /// A BIP39 wallet: accounts, balances and transactions through a node.
    #[command(subcommand)]
    Wallet(wallet_cmd::WalletCommand),
    /// A faucet that pays test coins from a wallet through a node.
    #[command(subcommand)]
    Faucet(faucet_cmd::FaucetCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Sim(_) | Command::Bench(_)) {
        allocator::keep_freed_memory();
    }
    let result = match cli.command {
        Command::Sim(cmd) => sim_cmd::run(cmd),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Post(cmd) => post_cmd::run(cmd),
        Command::Node(args) => node_cmd::run(args),
        Command::Poet(cmd) => poet_cmd::run(cmd),
        Command::Devnet(cmd) => devnet_cmd::run(cmd),
        Command::Wallet(cmd) => wallet_cmd::run(cmd),
        Command::Faucet(cmd) => faucet_cmd::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("error: {e:#}");
            }
            ExitCode::from(2)
        }
    }
}

/// Peak resident set size of this process, from /proc (0 where unavailable).
pub(crate) fn peak_rss_bytes() -> u64 {
    proc_status_kb("VmHWM:") * 1024
}

/// Current resident set size of this process, from /proc (0 where unavailable).
pub(crate) fn rss_bytes() -> u64 {
    proc_status_kb("VmRSS:") * 1024
}

fn proc_status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
