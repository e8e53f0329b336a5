//! `smesh post ...`: PoST tools.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use spacemesh_core::post::{ScryptParams, label};

#[derive(Debug, Subcommand)]
pub(crate) enum PostCommand {
    /// Print the full 32-byte label of one index as hex (the stored label is its first half).
    Label(LabelArgs),
}

#[derive(Debug, Args)]
pub(crate) struct LabelArgs {
    /// The 32-byte commitment, blake3(node_id ‖ commitment_atx_id), as 64 hex digits.
    #[arg(long)]
    commitment: String,
    /// The label index.
    #[arg(long)]
    index: u64,
    /// scrypt N (a power of two, at least 2); r = p = 1.
    #[arg(long, default_value_t = 8192)]
    scrypt_n: u32,
}

pub(crate) fn run(cmd: PostCommand) -> Result<ExitCode> {
    match cmd {
        PostCommand::Label(args) => print_label(&args),
    }
}

fn print_label(args: &LabelArgs) -> Result<ExitCode> {
    let text = args.commitment.strip_prefix("0x").unwrap_or(&args.commitment);
    let bytes = hex::decode(text).context("--commitment is not valid hex")?;
    let Ok(commitment) = <[u8; 32]>::try_from(bytes.as_slice()) else {
        bail!("--commitment must be 32 bytes (64 hex digits), got {} bytes", bytes.len());
    };
    let params = ScryptParams::new(args.scrypt_n, 1, 1).context("--scrypt-n")?;
    out!("{}", hex::encode(label(&commitment, args.index, &params)));
    Ok(ExitCode::SUCCESS)
}
