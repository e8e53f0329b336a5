//! `smesh devnet up`: a network of real node processes and a PoET on loopback.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde::Deserialize;
use spacemesh_core::crypto::Signer;
use spacemesh_runtime_real::config::{self, ApiListeners, ConfigFile, Preset};
use spacemesh_runtime_real::keyfile;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

use crate::devnet_faults::{Action, KillSpec, OfflineSpec, Schedule};

#[derive(Debug, Subcommand)]
pub(crate) enum DevnetCommand {
    /// Start N node processes and a PoET on loopback; stop them all on Ctrl-C, or, with
    /// `--layers`, once every node applied that many layers (exit 0 only when all agree).
    Up(UpArgs),
}

#[derive(Debug, Args)]
pub(crate) struct UpArgs {
    /// Node processes.
    #[arg(long, default_value_t = 4)]
    nodes: u32,
    /// Run until every node applied this layer, print each node's layers and state, and stop.
    #[arg(long)]
    layers: Option<u32>,
    /// Print the start and the result as JSON objects.
    #[arg(long)]
    json: bool,
    /// Timing preset of the network (fastnet: 5 s layers; local: 10 s layers).
    #[arg(long, default_value = "fastnet")]
    preset: Preset,
    /// Where the nodes keep their data and logs (default: a new directory under the system's
    /// temporary directory, removed at the end unless --keep or the run failed).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Keep the data directory.
    #[arg(long)]
    keep: bool,
    /// Give up on `--layers` after this many seconds (default: three times the layers' time).
    #[arg(long)]
    timeout: Option<u64>,
    /// SIGKILL node NODE COUNT times at random moments before layer L-4, restarting it at
    /// once from its data directory each time (repeatable; needs --layers).
    #[arg(long = "kill", value_name = "NODE:COUNT")]
    kills: Vec<KillSpec>,
    /// Stop node NODE gracefully at layer FROM and restart it at layer TO; the run then also
    /// waits for it to catch up (synced, applied up to the current layer) and reports the time
    /// that took (repeatable; needs --layers).
    #[arg(long = "offline", value_name = "NODE:FROM:TO")]
    offline: Vec<OfflineSpec>,
    /// Seed of the kill moments (default: drawn from the clock and printed).
    #[arg(long)]
    fault_seed: Option<u64>,
    /// Every node's rewards go to this account (bech32 of the preset's network), for example
    /// a `smesh wallet` address, so that a wallet on the devnet has coins to send.
    #[arg(long)]
    coinbase: Option<String>,
}

/// One node process.
struct Member {
    index: u32,
    peer_id: String,
    listen: SocketAddr,
    metrics: SocketAddr,
    /// Its API listeners (public gRPC, private gRPC, JSON).
    api: ApiListeners,
    dir: PathBuf,
    child: Child,
    /// Stopped on purpose (an offline span).
    down: bool,
    /// SIGKILLs survived.
    kills: u32,
    /// When it was last restarted after an offline span, and when it then caught up.
    restarted: Option<Instant>,
    caught_up: Option<Duration>,
}

/// The part of a node's `/status` the launcher reads.
#[derive(Debug, Clone, Default, Deserialize)]
struct Status {
    applied_layer: Option<u32>,
    verified_layer: Option<u32>,
    synced: bool,
    peers: u64,
    resident_bytes: u64,
    layers: BTreeMap<u32, LayerStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
struct LayerStatus {
    block: Option<String>,
    state: String,
}

pub(crate) fn run(cmd: DevnetCommand) -> Result<ExitCode> {
    let DevnetCommand::Up(args) = cmd;
    if args.nodes == 0 {
        bail!("--nodes must be at least 1");
    }
    for k in &args.kills {
        if k.node >= args.nodes || args.layers.is_none() {
            bail!(
                "--kill {}:{}: needs --layers and a node below --nodes {}",
                k.node,
                k.count,
                args.nodes
            );
        }
    }
    for o in &args.offline {
        if o.node >= args.nodes || args.layers.is_none_or(|l| o.to + 2 > l) {
            bail!(
                "--offline {}:{}:{}: needs a node below --nodes and --layers at least 2 past the restart",
                o.node,
                o.from,
                o.to
            );
        }
    }
    if !matches!(args.preset, Preset::Local | Preset::Fastnet) {
        bail!("--preset {}: a devnet runs the local or fastnet preset", args.preset.name());
    }
    if let Some(text) = &args.coinbase {
        let hrp = args.preset.hrp();
        if let Err(e) = spacemesh_core::account::Address::from_bech32(text, hrp) {
            bail!("--coinbase {text}: {e} (an address of this network starts with {hrp}1)");
        }
    }
    crate::node_cmd::init_logs();
    let runtime = crate::node_cmd::runtime()?;
    runtime.block_on(up(args))
}

async fn up(args: UpArgs) -> Result<ExitCode> {
    let (dir, temporary) = match &args.dir {
        Some(d) => (d.clone(), false),
        None => {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            (
                std::env::temp_dir().join(format!("smesh-devnet-{}-{stamp}", std::process::id())),
                true,
            )
        }
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut net = Devnet { members: Vec::new(), poet: None };
    let result = net.run(&args, &dir).await;
    net.stop().await;
    // A failed run keeps its directory: the nodes' logs are what explains it.
    let failed = !matches!(result, Ok(ExitCode::SUCCESS));
    if temporary && !args.keep && !failed {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        progress!("devnet data and logs kept in {}", dir.display());
    }
    result
}

struct Devnet {
    members: Vec<Member>,
    poet: Option<Child>,
}

impl Devnet {
    async fn run(&mut self, args: &UpArgs, dir: &Path) -> Result<ExitCode> {
        let exe = std::env::current_exe().context("finding the smesh executable")?;
        // Per node: p2p, metrics, and the three API listeners.
        const PORTS_PER_NODE: usize = 5;
        let ports = free_ports(PORTS_PER_NODE * args.nodes as usize + 1)?;
        let startup = 8 + u64::from(args.nodes) / 4;
        let genesis_time = unix_now()? + startup;
        let extra = "devnet".to_string();
        let genesis = config::genesis_id(genesis_time, &extra);

        // The PoET, first: the nodes need its key.
        let poet_listen: SocketAddr = ([127, 0, 0, 1], ports[0]).into();
        let poet_dir = dir.join("poet");
        std::fs::create_dir_all(&poet_dir)?;
        let (poet, poet_id) = crate::poet_cmd::spawn_for_devnet(
            &exe,
            &poet_dir,
            poet_listen,
            args.preset,
            genesis_time,
            &extra,
        )
        .await?;
        self.poet = Some(poet);

        // Keys first, so that every node's bootstrap list can name every other node.
        let mut peers = Vec::new();
        for i in 0..args.nodes {
            let node_dir = dir.join(format!("node-{i}"));
            let (seed, _) = keyfile::load_or_create(&node_dir.join("keys/p2p.key"))?;
            let peer = Signer::from_seed(seed, genesis).node_id().0;
            let port = |k: usize| -> SocketAddr {
                ([127, 0, 0, 1], ports[1 + PORTS_PER_NODE * i as usize + k]).into()
            };
            // No rate limit: a devnet's API is loopback-only, for tools (CI's API tests,
            // `smesh bench api`) that ask from one address as fast as they can.
            let api = ApiListeners {
                public: Some(port(2)),
                private: Some(port(3)),
                json: Some(port(4)),
                rate_limit: None,
            };
            peers.push((node_dir, peer, port(0), port(1), api));
        }
        for (i, (node_dir, peer, listen, metrics, api)) in peers.iter().enumerate() {
            let mut file = ConfigFile { preset: Some(args.preset), ..ConfigFile::default() };
            file.data_dir = Some(node_dir.clone());
            file.network.genesis_time = Some(genesis_time);
            file.network.genesis_extra = Some(extra.clone());
            file.network.identities = Some(args.nodes);
            file.p2p.listen = Some(*listen);
            file.p2p.bootstrap = Some(
                peers
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, (_, p, a, _, _))| config::keyed_addr(p, *a))
                    .collect(),
            );
            file.poet.servers = Some(vec![format!("{poet_id}@{poet_listen}")]);
            file.metrics.listen = Some(*metrics);
            file.api.public_listen = api.public;
            file.api.private_listen = api.private;
            file.api.json_listen = api.json;
            file.api.rate_per_second = Some(0); // Off, as `api.rate_limit` says.
            file.smeshing.coinbase = args.coinbase.clone();
            let path = node_dir.join("node.toml");
            std::fs::write(&path, file.to_toml())
                .with_context(|| format!("writing {}", path.display()))?;
            self.members.push(Member {
                index: i as u32,
                peer_id: hex(peer),
                listen: *listen,
                metrics: *metrics,
                api: *api,
                dir: node_dir.clone(),
                child: spawn_node(&exe, node_dir)?,
                down: false,
                kills: 0,
                restarted: None,
                caught_up: None,
            });
        }
        for m in &mut self.members {
            wait_until_serving(m).await?;
        }
        let started = serde_json::json!({
            "genesis": genesis.to_string(),
            "genesis_time": genesis_time,
            "preset": args.preset.name(),
            "dir": dir.display().to_string(),
            "poet": format!("{poet_id}@{poet_listen}"),
            "nodes": self.members.iter().map(|m| serde_json::json!({
                "index": m.index, "peer_id": m.peer_id, "listen": m.listen.to_string(),
                "status": format!("http://{}/status", m.metrics),
                "metrics": format!("http://{}/metrics", m.metrics),
                "api_public": m.api.public.map(|a| a.to_string()),
                "api_private": m.api.private.map(|a| a.to_string()),
                "api_json": m.api.json.map(|a| format!("http://{a}")),
            })).collect::<Vec<_>>(),
        });
        if args.json && args.layers.is_none() {
            out!("{started}");
        } else if args.json {
            progress!("{started}");
        } else {
            out!(
                "devnet of {} nodes, genesis {genesis} in {startup} s; PoET {poet_listen}",
                args.nodes
            );
            for m in &self.members {
                out!(
                    "node {} {} listening on {}, status http://{}/status",
                    m.index,
                    m.peer_id,
                    m.listen,
                    m.metrics
                );
                if let (Some(public), Some(private), Some(json)) =
                    (m.api.public, m.api.private, m.api.json)
                {
                    out!("  API: gRPC {public}, private gRPC {private}, JSON http://{json}");
                }
            }
        }
        let Some(target) = args.layers else {
            progress!("running; Ctrl-C stops every process");
            tokio::select! {
                () = crate::node_cmd::stop_signal() => {}
                exited = self.first_exit() => bail!("{exited}"),
            }
            return Ok(ExitCode::SUCCESS);
        };
        let layer_secs = if args.preset == Preset::Fastnet { 5 } else { 10 };
        let timeout = Duration::from_secs(
            args.timeout.unwrap_or(startup + 3 * layer_secs * (u64::from(target) + 2) + 60),
        );
        let deadline = Instant::now() + timeout;
        let fault_seed = args.fault_seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        });
        let layer = Duration::from_secs(layer_secs);
        let window = (f64::from(target.saturating_sub(4)) * layer.as_secs_f64()).max(0.0);
        let mut plan = Schedule::plan(&args.kills, &args.offline, layer, window, 4.0, fault_seed)
            .actions
            .into_iter()
            .peekable();
        if plan.peek().is_some() {
            progress!(
                "faults: {} actions, seed {fault_seed} (--fault-seed to replay the moments)",
                plan.len()
            );
        }
        let genesis_at =
            Instant::now() + Duration::from_secs(genesis_time.saturating_sub(unix_now()?));
        let mut last_print = Instant::now();
        let statuses = loop {
            let since_genesis = Instant::now().saturating_duration_since(genesis_at).as_secs_f64()
                - genesis_at.saturating_duration_since(Instant::now()).as_secs_f64();
            while let Some((_, action)) = plan.next_if(|(t, _)| *t <= since_genesis) {
                self.act(&exe, action).await?;
            }
            let statuses = self.statuses().await;
            let current = (since_genesis.max(0.0) / layer.as_secs_f64()) as u32;
            for (m, s) in self.members.iter_mut().zip(&statuses) {
                if let (Some(at), None, Some(s)) = (m.restarted, m.caught_up, s)
                    && s.synced
                    && s.applied_layer.is_some_and(|a| a + 1 >= current)
                {
                    m.caught_up = Some(at.elapsed());
                    progress!(
                        "node {} caught up {:.1} s after its restart",
                        m.index,
                        at.elapsed().as_secs_f64()
                    );
                }
            }
            // Done when every node applied the target, and every node restarted after an
            // offline span caught up (its catch-up time is a figure the run reports).
            let done = statuses
                .iter()
                .all(|s| s.as_ref().is_some_and(|s| s.applied_layer >= Some(target)))
                && self.members.iter().all(|m| m.restarted.is_none() || m.caught_up.is_some());
            if done || Instant::now() >= deadline {
                break statuses;
            }
            if last_print.elapsed() >= Duration::from_secs(10) {
                last_print = Instant::now();
                let applied: Vec<String> = statuses
                    .iter()
                    .map(|s| {
                        s.as_ref()
                            .and_then(|s| s.applied_layer)
                            .map_or("-".into(), |l| l.to_string())
                    })
                    .collect();
                progress!("applied layers: {} (target {target})", applied.join(" "));
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(250)) => {}
                () = crate::node_cmd::stop_signal() => bail!("interrupted"),
                exited = self.first_exit() => bail!("{exited}"),
            }
        };
        let report = verdict(&self.members, &statuses, target);
        if args.json {
            out!("{}", serde_json::to_string(&report.json).expect("json"));
        } else {
            for line in &report.lines {
                out!("{line}");
            }
        }
        if report.agree {
            Ok(ExitCode::SUCCESS)
        } else {
            for &i in &report.suspects {
                let log = self.members[i].dir.join("node.log");
                progress!("the last {LOG_TAIL_LINES} lines of node {i}'s log ({}):", log.display());
                for line in log_tail(&log, LOG_TAIL_LINES) {
                    progress!("  {line}");
                }
            }
            progress!("{}", report.why);
            Ok(ExitCode::from(1))
        }
    }

    /// Carries out one fault action.
    async fn act(&mut self, exe: &Path, action: Action) -> Result<()> {
        let (Action::Kill(i) | Action::Stop(i) | Action::Start(i)) = action;
        let m = &mut self.members[i as usize];
        match action {
            Action::Kill(_) => {
                m.child.kill().await.with_context(|| format!("killing node {i}"))?;
                m.kills += 1;
                m.child = spawn_node(exe, &m.dir)?;
            }
            Action::Stop(_) => {
                signal(&m.child, nix::sys::signal::Signal::SIGTERM);
                let _ = tokio::time::timeout(Duration::from_secs(10), m.child.wait()).await;
                let _ = m.child.kill().await;
                m.down = true;
                progress!("node {i} stopped");
            }
            Action::Start(_) => {
                m.child = spawn_node(exe, &m.dir)?;
                m.down = false;
                m.restarted = Some(Instant::now());
                progress!("node {i} restarted");
            }
        }
        Ok(())
    }

    async fn statuses(&self) -> Vec<Option<Status>> {
        let mut out = Vec::new();
        for m in &self.members {
            let s = http_get(m.metrics, "/status")
                .await
                .ok()
                .and_then(|b| serde_json::from_str(&b).ok());
            out.push(s);
        }
        out
    }

    /// Resolves when some process exits, with which and how.
    async fn first_exit(&mut self) -> String {
        loop {
            for m in self.members.iter_mut().filter(|m| !m.down) {
                if let Ok(Some(status)) = m.child.try_wait() {
                    return format!(
                        "node {} exited ({status}); its log: {}",
                        m.index,
                        m.dir.join("node.log").display()
                    );
                }
            }
            if let Some(Ok(Some(status))) = self.poet.as_mut().map(|p| p.try_wait()) {
                return format!("the PoET exited ({status})");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// SIGTERM to every process, then SIGKILL to those still running after 10 s.
    async fn stop(&mut self) {
        let children = self.members.iter_mut().map(|m| &mut m.child).chain(self.poet.as_mut());
        let mut children: Vec<&mut Child> = children.collect();
        for c in &children {
            signal(c, nix::sys::signal::Signal::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for c in &mut children {
            let left = deadline.saturating_duration_since(Instant::now());
            if tokio::time::timeout(left, c.wait()).await.is_err() {
                let _ = c.kill().await;
            }
        }
    }
}

/// Lines of a failing node's log printed when the nodes do not agree.
const LOG_TAIL_LINES: usize = 40;

/// The last `n` lines of the file at `path` (none if it cannot be read).
fn log_tail(path: &Path, n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].iter().map(|l| l.to_string()).collect()
}

/// Whether the nodes agree, as lines for people and one JSON object.
struct Verdict {
    agree: bool,
    why: String,
    /// The nodes behind the disagreement (their logs are printed).
    suspects: Vec<usize>,
    lines: Vec<String>,
    json: serde_json::Value,
}

fn verdict(members: &[Member], statuses: &[Option<Status>], target: u32) -> Verdict {
    let mut why = Vec::new();
    let mut suspects = Vec::new();
    let mut nodes = Vec::new();
    let mut lines = Vec::new();
    let reference = statuses.iter().flatten().find_map(|s| s.layers.get(&target)).cloned();
    for (m, s) in members.iter().zip(statuses) {
        let s = s.clone().unwrap_or_default();
        let at_target = s.layers.get(&target);
        let before = why.len();
        if m.restarted.is_some() && m.caught_up.is_none() {
            why.push(format!("node {} did not catch up after its restart", m.index));
        }
        if s.applied_layer < Some(target) {
            why.push(format!("node {} applied only {:?}", m.index, s.applied_layer));
        } else if at_target != reference.as_ref() {
            why.push(format!("node {} has another state at layer {target}", m.index));
        }
        // Every layer two nodes both still hold must agree.
        for (other, o) in members.iter().zip(statuses).skip(m.index as usize + 1) {
            let Some(o) = o else { continue };
            for (layer, l) in &s.layers {
                if o.layers.get(layer).is_some_and(|ol| ol != l) && *layer <= target {
                    why.push(format!(
                        "nodes {} and {} differ at layer {layer}",
                        m.index, other.index
                    ));
                }
            }
        }
        if why.len() > before {
            suspects.push(m.index as usize);
        }
        let state = at_target.map(|l| l.state.clone());
        lines.push(format!(
            "node {} applied {} verified {} synced {} peers {} rss {} MB state@{target} {}{}{}",
            m.index,
            s.applied_layer.map_or("-".into(), |l| l.to_string()),
            s.verified_layer.map_or("-".into(), |l| l.to_string()),
            s.synced,
            s.peers,
            s.resident_bytes / 1_000_000,
            state.as_deref().unwrap_or("-"),
            if m.kills > 0 { format!(" (killed {} times)", m.kills) } else { String::new() },
            m.caught_up
                .map(|d| format!(" (caught up {:.1} s after its restart)", d.as_secs_f64()))
                .unwrap_or_default(),
        ));
        nodes.push(serde_json::json!({
            "index": m.index, "peer_id": m.peer_id, "applied_layer": s.applied_layer,
            "verified_layer": s.verified_layer, "synced": s.synced, "peers": s.peers,
            "layer": target, "state_hash": state,
            "block": at_target.and_then(|l| l.block.clone()),
            "kills": m.kills,
            "resident_bytes": s.resident_bytes,
            "catch_up_seconds": m.caught_up.map(|d| d.as_secs_f64()),
        }));
    }
    let agree = why.is_empty();
    lines.push(if agree {
        format!("all {} nodes agree on layers up to {target}", members.len())
    } else {
        format!("the nodes do not agree: {}", why.join("; "))
    });
    Verdict {
        agree,
        why: why.join("; "),
        suspects,
        lines,
        json: serde_json::json!({ "layer": target, "agree": agree, "nodes": nodes, "problems": why }),
    }
}

/// Starts `smesh node` on the config in `dir`, appending to its logs.
fn spawn_node(exe: &Path, dir: &Path) -> Result<Child> {
    let append =
        |name: &str| std::fs::File::options().create(true).append(true).open(dir.join(name));
    Command::new(exe)
        .arg("node")
        .arg("--config")
        .arg(dir.join("node.toml"))
        .arg("--json")
        .stdin(Stdio::null())
        .stdout(append("node.out")?)
        .stderr(append("node.log")?)
        .kill_on_drop(true)
        .spawn()
        .context("starting a node process")
}

/// Sends a signal to a running child (nothing if it already exited).
fn signal(child: &Child, sig: nix::sys::signal::Signal) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
    }
}

/// Waits until a node answers `/status`, or fails with the tail of its log.
async fn wait_until_serving(m: &mut Member) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if http_get(m.metrics, "/status").await.is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = m.child.try_wait() {
            let log = std::fs::read_to_string(m.dir.join("node.log")).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(10).collect();
            bail!(
                "node {} exited at start ({status}):\n{}",
                m.index,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        if Instant::now() >= deadline {
            bail!(
                "node {} did not serve its status within 30 s (log: {})",
                m.index,
                m.dir.join("node.log").display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A plain HTTP/1.1 GET on loopback; the body on 200.
pub(crate) async fn http_get(addr: SocketAddr, path: &str) -> Result<String> {
    let io = async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
        let mut buf = String::new();
        s.read_to_string(&mut buf).await?;
        Ok::<_, std::io::Error>(buf)
    };
    let text = tokio::time::timeout(Duration::from_secs(5), io).await.context("timed out")??;
    let (head, body) = text.split_once("\r\n\r\n").context("no HTTP header")?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!("{}", head.lines().next().unwrap_or_default());
    }
    Ok(body.to_string())
}

/// Ports a devnet picks its listeners from: below Linux's ephemeral range (32768-60999), so that
/// no outgoing connection or `bind(0)` of another process takes a port between its check here
/// and the node's bind.
const PORT_RANGE: std::ops::Range<u16> = 20_000..32_000;

/// Distinct free loopback ports from [`PORT_RANGE`], scanned from a start drawn per call (so
/// that devnets started side by side pick apart), each held while the rest are found and then
/// released for the node processes to bind.
fn free_ports(n: usize) -> Result<Vec<u16>> {
    use std::hash::{BuildHasher, Hasher};
    let span = PORT_RANGE.end - PORT_RANGE.start;
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let start = (hasher.finish() % u64::from(span)) as u16;
    let mut held = Vec::with_capacity(n);
    for i in 0..span {
        if held.len() == n {
            break;
        }
        let port = PORT_RANGE.start + (start + i) % span;
        if let Ok(listener) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            held.push(listener);
        }
    }
    if held.len() < n {
        bail!(
            "only {} of the {n} loopback ports needed are free in {}..{}",
            held.len(),
            PORT_RANGE.start,
            PORT_RANGE.end
        );
    }
    held.iter().map(|l| Ok(l.local_addr()?.port())).collect()
}

fn unix_now() -> Result<u64> {
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the system clock is before 1970")?
        .as_secs())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
