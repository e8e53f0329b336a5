//! A cluster of five real nodes and one PoET server on the madsim simulator: the production
//! node loop, transport (TCP + Noise), store (fjall, on the real file system), and PoET server
//! and client (HTTP/1), built with `--cfg madsim` so that tokio's sockets, clock, timers, tasks
//! and randomness are madsim's, seeded. At the end each node's `/status` listener is read over
//! HTTP too.
//!
//! Each seed runs a timeline on the `fastnet` preset (5-second layers, 8 per epoch): the nodes
//! connect, gossip and verify layers with blocks; the network splits into two groups for four
//! layers and heals; one node is killed (its tasks dropped, as in a crash) and restarted on its
//! data directory two layers later. After each step every node must verify past the step and
//! agree with the others on the blocks and state hashes of the layers they verified. Each seed
//! runs twice, each time in a fresh process, and both runs must give the same outcome: when
//! each step was reached, each node's final layers and hashes, and how many messages the
//! simulated network carried.
//!
//! Run: `RUSTFLAGS="--cfg madsim" CARGO_TARGET_DIR=target/madsim cargo test -p
//! spacemesh-runtime-real --test madsim_cluster`; `SMESH_MADSIM_SEEDS=7,8` picks the seeds.
//! Seeds 5, 6 and 13 are in the default list for what they found: node 4, killed early in
//! epoch 4 and back two layers later, published its ATX for epoch 5 before any peer was
//! connected; its peers had it only after epoch 5's cutoff, so its graded active set had one
//! ATX more than the one they declared, it refused every ballot of epoch 5 (no beacon from the
//! fallback tally, no layer verified past 36) until it learned to take the set a majority of
//! the weight declares (`core/src/node/consensus/sync.rs`).
#![cfg(madsim)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use madsim::net::NetSim;
use madsim::runtime::{Handle, NodeHandle, Runtime};
use spacemesh_core::crypto::Signer;
use spacemesh_core::layers::LayerClock;
use spacemesh_runtime_real::config::{self, ConfigFile, NodeSettings, PoetAddr, Preset};
use spacemesh_runtime_real::keyfile;
use spacemesh_runtime_real::node;
use spacemesh_runtime_real::poet::{PoetServer, PoetServerConfig, WorkBudget};
use spacemesh_runtime_real::status::{NodeStatus, SharedStatus};

/// Nodes in the cluster; the first `GROUP_A` (and the PoET) are one side of the partition.
const NODES: usize = 5;
const GROUP_A: usize = 3;
/// The node that is killed and restarted.
const RESTARTED: usize = 4;
/// Seeds run when `SMESH_MADSIM_SEEDS` is not set (5, 6 and 13: see the top).
const SEEDS: [u64; 8] = [1, 2, 3, 4, 5, 6, 7, 13];
/// Where each node serves `/status` (on its own address).
const STATUS_PORT: u16 = 9090;
/// Leaves of PoET work per round (what `smesh poet serve` does by default).
const LEAVES_PER_ROUND: u64 = 3000;
/// Layers the network is split for, and the node is down for.
const PARTITION_LAYERS: u32 = 4;
const DOWN_LAYERS: u32 = 2;
/// Layers every node must verify past a step's end, and the layers it may take at most.
const VERIFY_AFTER: u32 = 4;
const STEP_LAYERS_MAX: u32 = 24;
/// Layers to verify before the faults start (blocks appear once ATXs give eligibility).
const WARMUP_LAYERS: u32 = 20;

/// What one run produced; two runs of one seed must produce equal outcomes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    /// Each step and the simulated time it was reached, in microseconds after genesis.
    steps: Vec<(&'static str, u64)>,
    /// Each node at the end.
    nodes: Vec<NodeEnd>,
    /// The layers all nodes verified and agree on, at the end.
    agreed_through: u32,
    /// blake3 of every node's applied layers (block and state hash) at the end.
    digest: String,
    /// Messages the simulated network carried.
    messages: u64,
}

/// A node at the end of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NodeEnd {
    applied: Option<u32>,
    verified: Option<u32>,
    state: Option<String>,
    peers: u64,
    atxs_accepted: u64,
    hare_outputs: u64,
    blocks: usize,
}

/// One simulated node: its madsim host and the status of its current incarnation.
struct Member {
    host: NodeHandle,
    status: Arc<Mutex<Option<SharedStatus>>>,
}

impl Member {
    fn status(&self) -> NodeStatus {
        let slot = self.status.lock().expect("status slot").clone();
        slot.and_then(|s| s.lock().ok().map(|s| s.clone())).unwrap_or_default()
    }
}

/// Set in a child process: the seed it runs once.
const CHILD_SEED: &str = "SMESH_MADSIM_CHILD_SEED";
/// Starts the child's line with its outcome on stdout.
const OUTCOME_LINE: &str = "madsim-outcome: ";
/// This test's name, for a child process to run it alone.
const TEST_NAME: &str = "cluster_survives_partition_and_restart_and_repeats_by_seed";

/// The cluster runs, heals from a partition, survives a node restart, and repeats by seed.
#[test]
fn cluster_survives_partition_and_restart_and_repeats_by_seed() {
    if let Ok(seed) = std::env::var(CHILD_SEED) {
        // Logs (`RUST_LOG=info`, on stderr) carry the simulated time and the madsim host.
        if std::env::var_os("RUST_LOG").is_some() {
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .init();
        }
        let seed = seed.parse().expect("the child's seed is a u64");
        // A thread of its own: madsim seeds std's hash keys per thread, before their first
        // use, and the logger above has used the keys of this one.
        let outcome = std::thread::spawn(move || run(seed))
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        print_outcome(&outcome);
        return;
    }
    let mut seeds: Vec<u64> = match std::env::var("SMESH_MADSIM_SEEDS") {
        Ok(list) => list.split(',').map(|s| s.trim().parse().expect("a seed is a u64")).collect(),
        Err(_) => SEEDS.to_vec(),
    };
    seeds.sort_unstable();
    seeds.dedup();
    let mut outcomes = BTreeMap::new();
    for &seed in &seeds {
        let first = run_in_child(seed);
        let second = run_in_child(seed);
        report(seed, &first);
        assert_eq!(
            first, second,
            "seed {seed} gave two outcomes (reproduce: SMESH_MADSIM_SEEDS={seed})"
        );
        outcomes.insert(first, seed);
    }
    // The seed drives the run: different seeds give different runs.
    assert_eq!(outcomes.len(), seeds.len(), "two seeds gave the same outcome: {outcomes:?}");
}

#[allow(clippy::print_stdout)] // The child's outcome goes to its parent on stdout.
fn print_outcome(outcome: &Outcome) {
    println!("{OUTCOME_LINE}{outcome:?}");
}

#[allow(clippy::print_stderr)] // The per-seed line is the test's report.
fn report(seed: u64, outcome: &str) {
    eprintln!("seed {seed}: {outcome}");
}

/// Runs one seed in a child process (this test binary, this test alone) and returns its
/// outcome. A process per run, because tokio seeds the generator `select!` draws its branch
/// order from with a process-wide counter: two runs in one process would not draw alike.
fn run_in_child(seed: u64) -> String {
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = std::process::Command::new(exe)
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD_SEED, seed.to_string())
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("running the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "seed {seed} failed ({}); reproduce: SMESH_MADSIM_SEEDS={seed}\n{stdout}",
        out.status
    );
    stdout
        .lines()
        .find_map(|l| l.split_once(OUTCOME_LINE).map(|(_, outcome)| outcome))
        .unwrap_or_else(|| panic!("seed {seed}: no outcome in the child's output:\n{stdout}"))
        .to_string()
}

fn run(seed: u64) -> Outcome {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut rt = Runtime::with_seed_and_config(seed, madsim::Config::default());
    // fjall flushes and compacts on its own threads; what the store reads back does not
    // depend on when they run, and nothing else in a node reads the disk after its start.
    rt.set_allow_system_thread(true);
    rt.set_time_limit(Duration::from_secs(30 * 60));
    let path = dir.path().to_path_buf();
    let outcome = rt.block_on(async move { scenario(&path).await });
    drop(rt);
    outcome
}

fn ip(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, host))
}

fn unix_now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970")
}

async fn scenario(dir: &Path) -> Outcome {
    let handle = Handle::current();
    let genesis_time = unix_now().as_secs() + 10;
    let extra = "madsim";
    let genesis = config::genesis_id(genesis_time, extra);

    // The PoET's key and every node's p2p key first, so every bootstrap list names the others.
    let poet_dir = dir.join("poet");
    let (poet_seed, _) = keyfile::load_or_create(&poet_dir.join("poet.key")).expect("PoET key");
    let poet = PoetAddr {
        id: Signer::from_seed(poet_seed, genesis).node_id(),
        addr: SocketAddr::new(ip(100), 9095),
    };
    let mut peers = Vec::new();
    for i in 0..NODES {
        let node_dir = dir.join(format!("node-{i}"));
        let (seed, _) = keyfile::load_or_create(&node_dir.join("keys/p2p.key")).expect("p2p key");
        let peer = Signer::from_seed(seed, genesis).node_id().0;
        peers.push((node_dir, peer, SocketAddr::new(ip(i as u8 + 1), 7513)));
    }
    let settings: Vec<NodeSettings> = (0..NODES)
        .map(|i| {
            let mut file = ConfigFile { preset: Some(Preset::Fastnet), ..ConfigFile::default() };
            file.data_dir = Some(peers[i].0.clone());
            file.network.genesis_time = Some(genesis_time);
            file.network.genesis_extra = Some(extra.into());
            file.network.identities = Some(NODES as u32);
            file.p2p.listen = Some(peers[i].2);
            file.metrics.listen = Some(SocketAddr::new(peers[i].2.ip(), STATUS_PORT));
            file.poet.servers = Some(vec![config::keyed_addr(&poet.id.0, poet.addr)]);
            file.p2p.bootstrap = Some(
                (0..NODES)
                    .filter(|&j| j != i)
                    .map(|j| config::keyed_addr(&peers[j].1, peers[j].2))
                    .collect(),
            );
            file.resolve(None, None).expect("the cluster's settings resolve")
        })
        .collect();
    let clock = settings[0].clock;

    let poet_host = start_poet(&handle, &settings[0], &poet_dir, poet_seed, poet.addr);
    let members: Vec<Member> =
        settings.iter().enumerate().map(|(i, s)| start_node(&handle, i, s)).collect();
    let mut steps = Vec::new();

    // Connect, gossip, reach consensus.
    let warm = wait_for(&clock, &members, "warm-up", WARMUP_LAYERS, |all| {
        all.iter().all(|s| {
            s.peers > 0
                && s.atxs_accepted > 0
                && s.verified_layer >= Some(WARMUP_LAYERS)
                && s.layers.values().any(|l| l.block.is_some())
        })
    })
    .await;
    steps.push(("warm-up", warm));

    // Split {nodes 0..GROUP_A, PoET} from the rest, then heal.
    let net = NetSim::current();
    let group_a: Vec<_> =
        members[..GROUP_A].iter().map(|m| m.host.id()).chain([poet_host.id()]).collect();
    let group_b: Vec<_> = members[GROUP_A..].iter().map(|m| m.host.id()).collect();
    let set_links = |clogged: bool| {
        for &a in &group_a {
            for &b in &group_b {
                for (src, dst) in [(a, b), (b, a)] {
                    if clogged { net.clog_link(src, dst) } else { net.unclog_link(src, dst) }
                }
            }
        }
    };
    set_links(true);
    steps.push(("partitioned", since_genesis(&clock)));
    madsim::time::sleep(clock.layer_duration * PARTITION_LAYERS).await;
    set_links(false);
    let healed_at = current_layer(&clock);
    steps.push(("healed", since_genesis(&clock)));
    let after_heal = wait_for(&clock, &members, "heal", healed_at + VERIFY_AFTER, |all| {
        all.iter().all(|s| s.verified_layer >= Some(healed_at + VERIFY_AFTER))
    })
    .await;
    steps.push(("verified after heal", after_heal));

    // Crash one node and start it again on its data directory.
    let down = members[RESTARTED].host.id();
    handle.kill(down);
    steps.push(("killed", since_genesis(&clock)));
    madsim::time::sleep(clock.layer_duration * DOWN_LAYERS).await;
    handle.restart(down);
    let restarted_at = current_layer(&clock);
    steps.push(("restarted", since_genesis(&clock)));
    let target = restarted_at + VERIFY_AFTER;
    let after_restart = wait_for(&clock, &members, "restart", target, |all| {
        all.iter().all(|s| s.verified_layer >= Some(target) && s.applied_layer >= Some(target))
    })
    .await;
    steps.push(("verified after restart", after_restart));

    check_status_listeners(&handle, &members).await;
    let statuses: Vec<NodeStatus> = members.iter().map(Member::status).collect();
    let agreed_through = check_agreement(&statuses);
    outcome(steps, &statuses, agreed_through, net.stat().msg_count)
}

/// Starts the PoET on its own host; it runs until the simulation ends.
fn start_poet(
    handle: &Handle,
    settings: &NodeSettings,
    dir: &Path,
    key_seed: [u8; 32],
    listen: SocketAddr,
) -> NodeHandle {
    let work = WorkBudget { leaves_per_round: LEAVES_PER_ROUND };
    let cfg = PoetServerConfig::for_nodes(settings, dir.join("store"), listen, key_seed, work);
    handle
        .create_node()
        .name("poet")
        .ip(listen.ip())
        .init(move || {
            let cfg = cfg.clone();
            async move {
                let mut poet = PoetServer::start(cfg).await.expect("the PoET starts");
                panic!("the PoET stopped: {}", poet.failed().await);
            }
        })
        .build()
}

/// Starts node `i` on its own host; a restart of the host starts it again on the same
/// settings and data directory.
fn start_node(handle: &Handle, i: usize, settings: &NodeSettings) -> Member {
    let status = Arc::new(Mutex::new(None));
    let (settings, slot) = (settings.clone(), Arc::clone(&status));
    let host = handle
        .create_node()
        .name(format!("node-{i}"))
        .ip(settings.listen.ip())
        .init(move || {
            let (settings, slot) = (settings.clone(), Arc::clone(&slot));
            async move {
                let poets = settings.poets.clone();
                let (node, run) = node::start(&settings, poets, std::future::pending())
                    .await
                    .unwrap_or_else(|e| panic!("node {i} does not start: {e}"));
                *slot.lock().expect("status slot") = Some(node.status);
                if let Err(e) = run.await {
                    panic!("node {i} stopped: {e}");
                }
            }
        })
        .build();
    Member { host, status }
}

/// Fetches every node's `/status` over HTTP from a client host (the restarted node's listener
/// too) and checks it against the status read in process before and after.
async fn check_status_listeners(handle: &Handle, members: &[Member]) {
    let client = handle.create_node().name("status-client").ip(ip(200)).build();
    for (i, m) in members.iter().enumerate() {
        let before = m.status();
        let addr = SocketAddr::new(ip(i as u8 + 1), STATUS_PORT);
        let json = client.spawn(http_get(addr, "/status")).await.expect("the client task");
        let after = m.status();
        let doc: serde_json::Value = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("node {i}: /status is not JSON ({e}): {json}"));
        assert_eq!(doc["peer_id"], before.peer_id.as_str(), "node {i}: /status names another peer");
        let verified = doc["verified_layer"].as_u64().map(|v| v as u32);
        assert!(
            before.verified_layer <= verified && verified <= after.verified_layer,
            "node {i}: /status says verified {verified:?}, in process {:?} then {:?}",
            before.verified_layer,
            after.verified_layer
        );
    }
}

/// One HTTP/1 GET over a simulated connection; the body as text.
async fn http_get(addr: SocketAddr, path: &str) -> String {
    use http_body_util::BodyExt as _;
    let stream = madsim::net::TcpStream::connect(addr).await.expect("connecting to /status");
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("HTTP handshake");
    madsim::task::spawn(connection);
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, addr.to_string())
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .expect("a request");
    let response = sender.send_request(request).await.expect("an answer");
    assert!(response.status().is_success(), "GET {path} at {addr}: {}", response.status());
    let body = response.into_body().collect().await.expect("the body").to_bytes();
    String::from_utf8(body.to_vec()).expect("UTF-8")
}

fn since_genesis(clock: &LayerClock) -> u64 {
    (unix_now().as_micros() as u64).saturating_sub(clock.genesis.0)
}

fn current_layer(clock: &LayerClock) -> u32 {
    clock.layer_at(spacemesh_core::types::Time(unix_now().as_micros() as u64)).0
}

/// Polls the nodes every simulated second until `done` holds for all of them; panics with
/// their statuses if it does not by `STEP_LAYERS_MAX` layers after `target`. Returns the
/// time it held, in microseconds after genesis.
async fn wait_for(
    clock: &LayerClock,
    members: &[Member],
    step: &str,
    target: u32,
    done: impl Fn(&[NodeStatus]) -> bool,
) -> u64 {
    let deadline = target + STEP_LAYERS_MAX;
    loop {
        let statuses: Vec<NodeStatus> = members.iter().map(Member::status).collect();
        if done(&statuses) {
            check_agreement(&statuses);
            return since_genesis(clock);
        }
        let layer = current_layer(clock);
        assert!(
            layer < deadline,
            "step {step}: not reached by layer {layer} (seed {}):\n{}",
            Handle::current().seed(),
            summary(&statuses)
        );
        madsim::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Asserts that every layer two nodes both applied and verified holds the same block and
/// state hash at both; returns the last layer every node verified.
fn check_agreement(statuses: &[NodeStatus]) -> u32 {
    let common = statuses.iter().map(|s| s.verified_layer.unwrap_or(0)).min().unwrap_or(0);
    let mut seen: BTreeMap<u32, (usize, &spacemesh_runtime_real::status::LayerStatus)> =
        BTreeMap::new();
    for (i, s) in statuses.iter().enumerate() {
        let verified = s.verified_layer.unwrap_or(0);
        for (&layer, l) in s.layers.range(..=verified) {
            match seen.get(&layer) {
                Some((j, other)) => assert_eq!(
                    *other,
                    l,
                    "nodes {j} and {i} verified different contents of layer {layer} (seed {}):\n{}",
                    Handle::current().seed(),
                    summary(statuses)
                ),
                None => {
                    seen.insert(layer, (i, l));
                }
            }
        }
    }
    common
}

fn summary(statuses: &[NodeStatus]) -> String {
    statuses
        .iter()
        .enumerate()
        .map(|(i, s)| {
            format!(
                "  node {i}: layer {} applied {:?} verified {:?} peers {} atxs {} hare {} reverts {}\n",
                s.current_layer,
                s.applied_layer,
                s.verified_layer,
                s.peers,
                s.atxs_accepted,
                s.hare_outputs,
                s.reverts
            )
        })
        .collect()
}

fn outcome(
    steps: Vec<(&'static str, u64)>,
    statuses: &[NodeStatus],
    agreed_through: u32,
    messages: u64,
) -> Outcome {
    let mut hasher = blake3::Hasher::new();
    let nodes = statuses
        .iter()
        .map(|s| {
            for (layer, l) in &s.layers {
                hasher.update(&layer.to_le_bytes());
                hasher.update(l.block.as_deref().unwrap_or("-").as_bytes());
                hasher.update(l.state.as_bytes());
            }
            NodeEnd {
                applied: s.applied_layer,
                verified: s.verified_layer,
                state: s.verified_layer.and_then(|v| s.layers.get(&v)).map(|l| l.state.clone()),
                peers: s.peers,
                atxs_accepted: s.atxs_accepted,
                hare_outputs: s.hare_outputs,
                blocks: s.layers.values().filter(|l| l.block.is_some()).count(),
            }
        })
        .collect();
    Outcome {
        steps,
        nodes,
        agreed_through,
        digest: hasher.finalize().to_hex().to_string(),
        messages,
    }
}
