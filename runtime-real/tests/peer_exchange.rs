//! Peer exchange on real sockets: a node that only knows a bootstrap node learns, from it, where
//! the bootstrap node's other peers listen, and connects to them.

use std::time::{Duration, Instant};

use spacemesh_runtime_real::config::{ConfigFile, Preset, keyed_addr};
use spacemesh_runtime_real::node::{self, NodeHandle};
use tokio::sync::oneshot;

/// Starts a following (non-smeshing) node on loopback that bootstraps from `bootstrap`.
async fn follower(
    dir: &std::path::Path,
    genesis_time: u64,
    bootstrap: Option<&NodeHandle>,
) -> (NodeHandle, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let mut file = ConfigFile { preset: Some(Preset::Local), ..ConfigFile::default() };
    file.data_dir = Some(dir.to_owned());
    file.network.genesis_time = Some(genesis_time);
    file.p2p.listen = Some("127.0.0.1:0".parse().unwrap());
    file.p2p.bootstrap = bootstrap.map(|b| vec![keyed_addr(&b.peer_id.0, b.listen)]);
    file.smeshing.enabled = Some(false);
    let settings = file.resolve(None, None).expect("valid settings");
    let (stop, stopped) = oneshot::channel::<()>();
    let (handle, run) = node::start(&settings, Vec::new(), async move {
        let _ = stopped.await;
    })
    .await
    .expect("node starts");
    let task = tokio::spawn(async move { run.await.expect("node runs") });
    (handle, stop, task)
}

fn peers(h: &NodeHandle) -> u64 {
    h.status.lock().unwrap().peers
}

/// Waits until `ok` holds, or fails after `limit` naming `what`.
async fn wait_for(what: &str, limit: Duration, ok: impl Fn() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// B and C know only A. C, started after B is connected to A, asks A for peers on connecting,
/// gets B's listen address, and dials B: all three end up connected to each other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_finds_peers_through_exchange() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let genesis =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let (a, stop_a, task_a) = follower(dirs[0].path(), genesis, None).await;
    let (b, stop_b, task_b) = follower(dirs[1].path(), genesis, Some(&a)).await;
    wait_for("B to connect to A", Duration::from_secs(20), || peers(&a) == 1).await;
    let (c, stop_c, task_c) = follower(dirs[2].path(), genesis, Some(&a)).await;
    wait_for("C to connect to A and B", Duration::from_secs(30), || peers(&c) == 2).await;
    wait_for("B to see C", Duration::from_secs(10), || peers(&b) == 2).await;
    for stop in [stop_a, stop_b, stop_c] {
        let _ = stop.send(());
    }
    for task in [task_a, task_b, task_c] {
        task.await.unwrap();
    }
}
