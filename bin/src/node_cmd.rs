//! `smesh node`: a real node on the wall clock, TCP peers and a store on disk.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use spacemesh_runtime_real::config::{
    ApiFile, ApiListeners, ConfigFile, NodeSettings, PoetAddr, Preset,
};
use spacemesh_runtime_real::node;

#[derive(Debug, Args)]
pub(crate) struct NodeArgs {
    /// Preset the other values override: mainnet, testnet, fastnet or local (default: the
    /// config file's, else local).
    #[arg(long)]
    preset: Option<Preset>,
    /// Keys and store (default: ~/.smesh/<preset>).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// A TOML config file; command-line values override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Listen address for peers.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// A bootstrap peer, PEER_ID_HEX@HOST:PORT (repeatable; replaces the file's list).
    #[arg(long = "bootstrap", value_name = "PEER@ADDR")]
    bootstrap: Vec<String>,
    /// A PoET server, SERVICE_ID_HEX@HOST:PORT (repeatable; replaces the file's list).
    #[arg(long = "poet", value_name = "ID@ADDR")]
    poets: Vec<String>,
    /// Serve /status (JSON) and /metrics (Prometheus) here.
    #[arg(long)]
    metrics: Option<SocketAddr>,
    /// Start of layer 0, Unix seconds (a new local node takes its first start's time).
    #[arg(long)]
    genesis_time: Option<u64>,
    /// Identities the network expects.
    #[arg(long)]
    identities: Option<u32>,
    /// Space units to smesh with.
    #[arg(long)]
    units: Option<u32>,
    /// Follow the network without smeshing.
    #[arg(long)]
    no_smeshing: bool,
    /// The account this node's rewards go to (bech32 of the network, e.g. a `smesh wallet`
    /// address; default: an account of the identity that no wallet can spend from).
    #[arg(long)]
    coinbase: Option<String>,
    /// PoST data directory (default: post in the data directory); data `smesh post init`
    /// wrote there for the same identity and units is used as it is.
    #[arg(long)]
    post_dir: Option<PathBuf>,
    /// Public gRPC API listener (v2alpha1 unary services; default 127.0.0.1:9092).
    #[arg(long)]
    api_public: Option<SocketAddr>,
    /// Private gRPC API listener, loopback only (streams; default 127.0.0.1:9093).
    #[arg(long)]
    api_private: Option<SocketAddr>,
    /// JSON gateway listener (`POST /spacemesh.v2alpha1.<Service>/<Method>`; default
    /// 127.0.0.1:9094).
    #[arg(long)]
    api_json: Option<SocketAddr>,
    /// Serve no API listeners (neither the defaults nor the config file's).
    #[arg(long, conflicts_with_all = ["api_public", "api_private", "api_json"])]
    no_api: bool,
    /// Print where the node listens as one JSON object.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: NodeArgs) -> Result<ExitCode> {
    let mut file = match &args.config {
        Some(path) => ConfigFile::read(path)?,
        None => ConfigFile::default(),
    };
    overlay(&mut file, &args);
    let preset = file.preset.unwrap_or(Preset::Local);
    let data_dir = file.data_dir.clone().unwrap_or_else(|| preset.default_data_dir());
    let genesis_time = match file.network.genesis_time {
        Some(t) => t,
        None => stored_genesis_time(&data_dir, preset)?,
    };
    let settings = file.resolve(Some(preset), Some(genesis_time))?;
    claim_data_dir(&settings)?;
    init_logs();
    let runtime = crate::node_cmd::runtime()?;
    runtime.block_on(serve(settings, args.json))
}

/// Command-line values over the file's.
fn overlay(file: &mut ConfigFile, args: &NodeArgs) {
    if args.preset.is_some() {
        file.preset = args.preset;
    }
    if args.data_dir.is_some() {
        file.data_dir.clone_from(&args.data_dir);
    }
    if args.listen.is_some() {
        file.p2p.listen = args.listen;
    }
    if !args.bootstrap.is_empty() {
        file.p2p.bootstrap = Some(args.bootstrap.clone());
    }
    if !args.poets.is_empty() {
        file.poet.servers = Some(args.poets.clone());
    }
    if args.metrics.is_some() {
        file.metrics.listen = args.metrics;
    }
    if args.genesis_time.is_some() {
        file.network.genesis_time = args.genesis_time;
    }
    if args.identities.is_some() {
        file.network.identities = args.identities;
    }
    if args.units.is_some() {
        file.smeshing.units = args.units;
    }
    if args.no_smeshing {
        file.smeshing.enabled = Some(false);
    }
    if args.post_dir.is_some() {
        file.smeshing.post_dir.clone_from(&args.post_dir);
    }
    if args.coinbase.is_some() {
        file.smeshing.coinbase.clone_from(&args.coinbase);
    }
    let api = &mut file.api;
    if args.no_api {
        *api = ApiFile::default();
    } else {
        // Flags over the file, the file over the defaults.
        let defaults = ApiListeners::defaults();
        api.public_listen = args.api_public.or(api.public_listen).or(defaults.public);
        api.private_listen = args.api_private.or(api.private_listen).or(defaults.private);
        api.json_listen = args.api_json.or(api.json_listen).or(defaults.json);
    }
}

/// The genesis time a node without one in its config uses: the one its data directory holds,
/// or, for a new local node, now (stored for the next start).
fn stored_genesis_time(data_dir: &Path, preset: Preset) -> Result<u64> {
    let path = data_dir.join("genesis_time");
    match std::fs::read_to_string(&path) {
        Ok(text) => text
            .trim()
            .parse()
            .with_context(|| format!("{} must hold Unix seconds", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if preset != Preset::Local {
                bail!(
                    "network.genesis_time is missing: the {} preset needs the network's genesis time (--genesis-time or the config file)",
                    preset.name()
                );
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .context("the system clock is before 1970")?
                .as_secs();
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("creating {}", data_dir.display()))?;
            std::fs::write(&path, format!("{now}\n"))
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(now)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Marks the data directory as this network's, and refuses one that belongs to another: its
/// store would not make sense to this node.
fn claim_data_dir(settings: &NodeSettings) -> Result<()> {
    let dir = &settings.data_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("genesis_id");
    let ours = settings.genesis.to_string();
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim() == ours => Ok(()),
        Ok(text) => bail!(
            "data directory {} belongs to network {}, but this configuration is network {ours} (another genesis time or extra data): use another --data-dir",
            dir.display(),
            text.trim()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::write(&path, format!("{ours}\n"))
                .with_context(|| format!("writing {}", path.display()))
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The async runtime of the real-node commands: two worker threads (jobs have their own).
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Logs to stderr, filtered by `RUST_LOG` (default: info).
pub(crate) fn init_logs() {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// Resolves on SIGINT or SIGTERM.
pub(crate) async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn serve(settings: NodeSettings, json: bool) -> Result<ExitCode> {
    let (poets, embedded) = if settings.poets.is_empty() && settings.smeshing.is_some() {
        let poet = crate::poet_cmd::embedded(&settings).await?;
        (vec![PoetAddr { id: poet.id(), addr: poet.local_addr() }], Some(poet))
    } else {
        (settings.poets.clone(), None)
    };
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let stopped = {
        async move {
            let _ = stop_rx.wait_for(|s| *s).await;
        }
    };
    let (handle, running) = node::start(&settings, poets.clone(), stopped).await?;
    let doc = serde_json::json!({
        "peer_id": handle.peer_id.to_string(),
        "listen": handle.listen.to_string(),
        "metrics": handle.metrics.map(|a| a.to_string()),
        "api_public": handle.api.public.map(|a| a.to_string()),
        "api_private": handle.api.private.map(|a| a.to_string()),
        "api_json": handle.api.json.map(|a| a.to_string()),
        "data_dir": settings.data_dir.display().to_string(),
        "post_dir": settings.post_dir.display().to_string(),
        "preset": settings.preset.name(),
        "genesis": settings.genesis.to_string(),
        "poets": poets.iter().map(|p| format!("{}@{}", p.id, p.addr)).collect::<Vec<_>>(),
    });
    if json {
        out!("{doc}");
    } else {
        out!(
            "node {} listening on {}{} (preset {}, data in {})",
            handle.peer_id,
            handle.listen,
            handle.metrics.map(|m| format!(", status on http://{m}/status")).unwrap_or_default(),
            settings.preset.name(),
            settings.data_dir.display()
        );
        let api = handle.api;
        if let (Some(public), Some(json)) = (api.public, api.json) {
            out!("API: gRPC {public}, JSON http://{json}");
        }
        if let Some(private) = api.private {
            out!("private API (gRPC): {private}");
        }
    }
    let mut running = tokio::spawn(running);
    let result = tokio::select! {
        () = stop_signal() => {
            let _ = stop_tx.send(true);
            (&mut running).await
        }
        result = &mut running => result,
    };
    let result = result.context("the node task panicked")?;
    if let Some(poet) = embedded
        && let Err(e) = poet.shutdown().await
    {
        tracing::warn!(error = %e, "the embedded PoET did not stop cleanly");
    }
    result?;
    Ok(ExitCode::SUCCESS)
}
