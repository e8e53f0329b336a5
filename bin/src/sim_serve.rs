//! `smesh sim run --serve ADDR`: after the run, one honest node's final state served through the
//! same API as a real node's (public gRPC on `ADDR`'s port, the JSON gateway with the dashboard
//! and wallet pages on the next port), so that a scenario's end can be browsed with the network
//! dashboard. Questions reach the node through the real node's own answering code
//! (`account_api::answer_read`); the simulation is over, so its clock stands at the run's end
//! and submissions are refused.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use spacemesh_core::account::HRP_TESTNET;
use spacemesh_core::node::Node;
use spacemesh_runtime_real::account_api::{self, ApiRequest, REQUESTS_QUEUED_MAX};
use spacemesh_runtime_real::api::{self, ApiListeners, NetworkConstants, V2alpha1};
use spacemesh_runtime_real::status::NodeStatus;
use spacemesh_scenarios::Run;
use spacemesh_sim::NodeIdx;
use tokio::sync::{mpsc, watch};

/// The node served: `wanted`, or the first honest node with a consensus part.
fn pick(run: &Run, wanted: Option<u32>) -> Result<(NodeIdx, &Node)> {
    let world = run.sim.world();
    let honest = |i: u32| {
        let idx = NodeIdx(i);
        world.is_honest(idx).then(|| world.node(idx)).flatten().filter(|n| n.consensus().is_some())
    };
    match wanted {
        Some(i) => match honest(i) {
            Some(n) => Ok((NodeIdx(i), n)),
            None => bail!("--serve-node {i}: not an honest node with consensus in this run"),
        },
        None => (0..world.len() as u32)
            .find_map(|i| honest(i).map(|n| (NodeIdx(i), n)))
            .context("no honest node with consensus to serve"),
    }
}

/// The status a real node would report at the run's end.
fn status(node: &Node, current_layer: u32) -> NodeStatus {
    let consensus = node.consensus().expect("picked for its consensus part");
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    NodeStatus {
        peer_id: hex(&node.peer_id().0),
        identity: hex(&node.node_id().0),
        listen: "simulated".into(),
        current_layer,
        applied_layer: Some(consensus.mesh().applied().0),
        verified_layer: Some(consensus.tortoise().latest_verified().0),
        synced: true,
        peers: node.peers().connected_count() as u64,
        ..NodeStatus::default()
    }
}

/// Serves node `wanted` (or the first honest one) of the finished `run` until Ctrl-C.
pub(crate) fn serve(run: &Run, at: SocketAddr, wanted: Option<u32>) -> Result<()> {
    let (idx, node) = pick(run, wanted)?;
    let consensus = node.consensus().expect("picked for its consensus part");
    let cfg = consensus.config();
    let clock = &cfg.clock;
    let current = (run.sim.now().as_secs_f64() / clock.layer_duration.as_secs_f64()) as u32;
    let verified = consensus.tortoise().latest_verified().0;
    let network = NetworkConstants {
        genesis_time_us: clock.genesis.as_micros(),
        layer_duration: clock.layer_duration,
        genesis: consensus.genesis(),
        hrp: HRP_TESTNET.to_owned(),
        effective_genesis_layer: clock.effective_genesis().0,
        layers_per_epoch: clock.layers_per_epoch,
        labels_per_unit: cfg.post.labels_per_unit,
    };
    let shared = Arc::new(Mutex::new(status(node, current)));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let (requests, mut asked) = mpsc::channel(REQUESTS_QUEUED_MAX);
        let (stop_tx, stop_rx) = watch::channel(false);
        // Port 0 lets the system choose both ports.
        let json_port = match at.port() {
            0 => 0,
            p => p.checked_add(1).context("--serve: no port after 65535 for the JSON gateway")?,
        };
        let json = SocketAddr::new(at.ip(), json_port);
        let listeners = ApiListeners {
            public: Some(at),
            private: None,
            json: Some(json),
            rate_limit: ApiListeners::defaults().rate_limit,
        };
        let bound = api::serve(listeners, V2alpha1::new(requests, shared, network), stop_rx)
            .await
            .context("starting the API listeners")?;
        let json = bound.json.context("the JSON listener")?;
        out!(
            "serving node {} at layer {current} (verified {verified}): dashboard http://{json}/ , \
             gRPC {} ; Ctrl-C stops",
            idx.0,
            bound.public.context("the gRPC listener")?
        );
        loop {
            tokio::select! {
                request = asked.recv() => {
                    let Some(request) = request else { break };
                    if let Some(ApiRequest::Submit { reply, .. }) =
                        account_api::answer_read(node, verified, request)
                    {
                        let _ = reply.send(Err(
                            "this is a finished simulation: it takes no transactions".into(),
                        ));
                    }
                }
                _ = tokio::signal::ctrl_c() => break,
            }
        }
        let _ = stop_tx.send(true);
        // Let the listeners close their connections.
        tokio::time::sleep(Duration::from_millis(100)).await;
        anyhow::Ok(())
    })
}
