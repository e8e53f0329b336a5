//! `smesh poet ...`: run a PoET service.
//!
//! `smesh poet serve --dir DIR --preset P --genesis-time T` (or `--config node.toml`, the
//! configuration a node of the network runs with) keeps in `DIR`:
//! - `poet.key`: the service's ed25519 key seed (64 hex digits, mode 0600), drawn from the OS's
//!   randomness on first start and reused afterwards: the service id, its public key, is what
//!   nodes list in their configuration.
//! - `store/`: the service's rounds (a node store, see `spacemesh_runtime_real::store`).
//!
//! The round schedule and the proof parameters come from the same settings the nodes resolve
//! (preset, genesis time, clock overrides), through `PoetServerConfig::for_nodes`, so node and
//! PoET agree by construction.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use spacemesh_core::NodeId;
use spacemesh_core::crypto::Signer;
use spacemesh_runtime_real::config::{ConfigFile, NodeSettings, Preset};
use spacemesh_runtime_real::keyfile;
use spacemesh_runtime_real::poet::{
    PoetServer, PoetServerConfig, PoetServerError, RunningPoet, WorkBudget,
};

/// File of the key seed inside `--dir`.
const KEY_FILE: &str = "poet.key";
/// Directory of the store inside `--dir`.
const STORE_DIR: &str = "store";
/// Leaves of sequential work per round: far below a second of work at the presets' nesting
/// depth, and what the simulator's PoETs reach in a round (50 leaves/s for 60 s).
const LEAVES_PER_ROUND: u64 = 3000;

#[derive(Debug, Subcommand)]
pub(crate) enum PoetCommand {
    /// Serve a PoET over HTTP until Ctrl-C (or SIGTERM): prints its id and address, then runs
    /// rounds on the nodes' schedule.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Directory of the key and the rounds (created on first start).
    #[arg(long)]
    dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9095")]
    listen: SocketAddr,
    /// A node configuration file of the network (its preset, genesis and clock are used).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The network's preset (overrides the file's).
    #[arg(long)]
    preset: Option<Preset>,
    /// The network's genesis time, Unix seconds (overrides the file's).
    #[arg(long)]
    genesis_time: Option<u64>,
    /// The network's extra genesis data (overrides the file's; default: the preset's name).
    #[arg(long)]
    genesis_extra: Option<String>,
    /// Leaves of sequential work per round; must take this machine less than a round.
    #[arg(long, default_value_t = LEAVES_PER_ROUND)]
    leaves_per_round: u64,
    /// Print the id and address as one JSON object instead of a line of text.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(cmd: PoetCommand) -> Result<ExitCode> {
    match cmd {
        PoetCommand::Serve(args) => serve(&args),
    }
}

/// The network settings a PoET serves: the node file's, with the command line over it.
fn network(args: &ServeArgs) -> Result<NodeSettings> {
    let mut file = match &args.config {
        Some(path) => ConfigFile::read(path)?,
        None => ConfigFile::default(),
    };
    if args.preset.is_some() {
        file.preset = args.preset;
    }
    if args.genesis_time.is_some() {
        file.network.genesis_time = args.genesis_time;
    }
    if args.genesis_extra.is_some() {
        file.network.genesis_extra.clone_from(&args.genesis_extra);
    }
    // The PoET's own settings are not a node's: no smeshing, no peers.
    file.smeshing.enabled = Some(false);
    Ok(file.resolve(None, None)?)
}

/// The server configuration for a network, keeping its key and rounds in `dir`.
fn server_config(
    settings: &NodeSettings,
    dir: &Path,
    listen: SocketAddr,
    leaves_per_round: u64,
) -> Result<PoetServerConfig> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (key_seed, _) = keyfile::load_or_create(&dir.join(KEY_FILE))?;
    let work = WorkBudget { leaves_per_round };
    Ok(PoetServerConfig::for_nodes(settings, dir.join(STORE_DIR), listen, key_seed, work))
}

fn serve(args: &ServeArgs) -> Result<ExitCode> {
    let settings = network(args)?;
    let cfg = server_config(&settings, &args.dir, args.listen, args.leaves_per_round)?;
    crate::node_cmd::init_logs();
    let runtime = crate::node_cmd::runtime()?;
    runtime.block_on(async {
        let mut poet = PoetServer::start(cfg).await?;
        let id = poet.id();
        if args.json {
            let line = serde_json::json!({
                "id": id.to_string(),
                "listen": poet.local_addr().to_string(),
                "genesis_id": settings.genesis.to_string(),
                "preset": settings.preset.name(),
                "dir": args.dir.display().to_string(),
            });
            out!("{line}");
        } else {
            out!("poet {id} listening on {}", poet.local_addr());
        }
        enum Stop {
            Signal,
            Failed(PoetServerError),
        }
        let stop = tokio::select! {
            () = crate::node_cmd::stop_signal() => Stop::Signal,
            e = poet.failed() => Stop::Failed(e),
        };
        match stop {
            Stop::Signal => {
                progress!("stopping the PoET");
                poet.shutdown().await?;
                Ok(ExitCode::SUCCESS)
            }
            Stop::Failed(e) => {
                let _ = poet.shutdown().await;
                Err(anyhow::Error::new(e).context("the PoET stopped"))
            }
        }
    })
}

/// A PoET inside a `local` node's process, for a network of one machine: its key and rounds
/// live in the node's data directory, and it listens on a free loopback port.
pub(crate) async fn embedded(settings: &NodeSettings) -> Result<RunningPoet> {
    let cfg = server_config(
        settings,
        &settings.data_dir.join("poet"),
        ([127, 0, 0, 1], 0).into(),
        LEAVES_PER_ROUND,
    )?;
    PoetServer::start(cfg).await.context("starting the embedded PoET")
}

/// Starts `smesh poet serve` as a child process of a devnet, and waits until it answers.
/// Returns the child and the service id.
pub(crate) async fn spawn_for_devnet(
    exe: &Path,
    dir: &Path,
    listen: SocketAddr,
    preset: Preset,
    genesis_time: u64,
    extra: &str,
) -> Result<(tokio::process::Child, NodeId)> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (seed, _) = keyfile::load_or_create(&dir.join(KEY_FILE))?;
    let genesis = spacemesh_runtime_real::config::genesis_id(genesis_time, extra);
    let id = Signer::from_seed(seed, genesis).node_id();
    let log = std::fs::File::create(dir.join("poet.log"))?;
    let out = std::fs::File::create(dir.join("poet.out"))?;
    let mut child = tokio::process::Command::new(exe)
        .args(["poet", "serve", "--preset", preset.name(), "--genesis-extra", extra])
        .arg("--dir")
        .arg(dir)
        .arg("--listen")
        .arg(listen.to_string())
        .arg("--genesis-time")
        .arg(genesis_time.to_string())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .context("starting the PoET process")?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if crate::devnet_cmd::http_get(listen, "/v1/info").await.is_ok() {
            return Ok((child, id));
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(dir.join("poet.log")).unwrap_or_default();
            bail!("the PoET exited at start ({status}): {}", log.trim());
        }
        if Instant::now() >= deadline {
            bail!(
                "the PoET did not answer on {listen} within 30 s (log: {})",
                dir.join("poet.log").display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: PoetCommand,
    }

    fn args(line: &str) -> ServeArgs {
        let PoetCommand::Serve(a) =
            Cli::parse_from(format!("poet serve {line}").split_whitespace()).cmd;
        a
    }

    /// The PoET resolves the same network as a node with the same preset and genesis, and a
    /// missing genesis time is a clear error.
    #[test]
    fn same_network_as_the_nodes() {
        let dir = tempfile::tempdir().unwrap();
        let a = args(&format!(
            "--dir {} --preset fastnet --genesis-time 1700000000",
            dir.path().display()
        ));
        let poet = network(&a).unwrap();
        let mut node = ConfigFile { preset: Some(Preset::Fastnet), ..ConfigFile::default() };
        node.smeshing.enabled = Some(false);
        let node = node.resolve(None, Some(1_700_000_000)).unwrap();
        assert_eq!((poet.genesis, poet.clock), (node.genesis, node.clock));
        let cfg = server_config(&poet, dir.path(), ([127, 0, 0, 1], 0).into(), 10).unwrap();
        let again = server_config(&poet, dir.path(), ([127, 0, 0, 1], 0).into(), 10).unwrap();
        assert_eq!(cfg.key_seed, again.key_seed, "the key is kept");
        let e = network(&args("--dir x")).unwrap_err().to_string();
        assert!(e.contains("network.genesis_time"), "{e}");
    }
}
