//! What a running node tells operators: a status document (JSON on `/status`) and Prometheus
//! metrics (`/metrics`), both built from the node's events.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Serialize;
use spacemesh_core::NodeEvent;
use spacemesh_core::node::consensus::ConsensusEvent;

/// Layers whose state hash the status keeps.
const LAYERS_KEPT: usize = 256;

/// One applied layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerStatus {
    /// The block applied (hex), or none for an empty layer.
    pub block: Option<String>,
    /// State hash after it (hex).
    pub state: String,
}

/// A node's state as operators and the devnet launcher see it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NodeStatus {
    /// p2p key (hex).
    pub peer_id: String,
    /// Smeshing identity (hex).
    pub identity: String,
    /// Where it listens for peers.
    pub listen: String,
    /// The layer its clock is in.
    pub current_layer: u32,
    /// Last applied layer.
    pub applied_layer: Option<u32>,
    /// Last verified layer.
    pub verified_layer: Option<u32>,
    /// Whether it considers itself synced.
    pub synced: bool,
    /// Connected peers.
    pub peers: u64,
    /// ATXs accepted.
    pub atxs_accepted: u64,
    /// ATXs this node published.
    pub atxs_published: u64,
    /// Proposals this node published.
    pub proposals_published: u64,
    /// Hare outputs.
    pub hare_outputs: u64,
    /// Certificates.
    pub certified: u64,
    /// Reverts of applied layers.
    pub reverts: u64,
    /// Malfeasance proofs.
    pub malfeasance: u64,
    /// Peers penalized.
    pub penalties: u64,
    /// Coins issued in applied layers.
    pub issued: u64,
    /// PoST labels initialized in the node's data directory (0 before initialization runs).
    pub post_init_labels_done: u64,
    /// PoST labels the node's data directory holds when complete.
    pub post_init_labels_total: u64,
    /// While every label is done but none is below the VRF difficulty: the labels computed
    /// past them so far in search of a VRF nonce (`None` otherwise).
    pub post_init_vrf_search_labels: Option<u64>,
    /// Resident memory of the process, read when the status is served (0 where unknown).
    pub resident_bytes: u64,
    /// The last applied layers, by layer.
    pub layers: BTreeMap<u32, LayerStatus>,
}

impl NodeStatus {
    /// Folds one event in.
    pub fn on_event(&mut self, event: &NodeEvent) {
        match event {
            NodeEvent::PeerConnected { .. } => self.peers += 1,
            NodeEvent::PeerDisconnected { .. } => self.peers = self.peers.saturating_sub(1),
            NodeEvent::PeerPenalized { .. } => self.penalties += 1,
            NodeEvent::Consensus(c) => self.on_consensus(c),
            NodeEvent::Started { .. }
            | NodeEvent::MessageAccepted { .. }
            | NodeEvent::Heartbeat(_) => {}
        }
    }

    fn on_consensus(&mut self, event: &ConsensusEvent) {
        match event {
            ConsensusEvent::AtxAccepted { .. } => self.atxs_accepted += 1,
            ConsensusEvent::AtxPublished { .. } => self.atxs_published += 1,
            ConsensusEvent::ProposalPublished { .. } => self.proposals_published += 1,
            ConsensusEvent::HareOutput { .. } => self.hare_outputs += 1,
            ConsensusEvent::Certified { .. } => self.certified += 1,
            ConsensusEvent::Malfeasance { .. } => self.malfeasance += 1,
            ConsensusEvent::LayerApplied { layer, block, state, issued, .. } => {
                self.applied_layer = Some(layer.0);
                self.issued += issued;
                self.layers.insert(
                    layer.0,
                    LayerStatus { block: block.map(|b| b.to_string()), state: state.to_string() },
                );
                while self.layers.len() > LAYERS_KEPT {
                    self.layers.pop_first();
                }
            }
            ConsensusEvent::Verified { layer, .. } => self.verified_layer = Some(layer.0),
            ConsensusEvent::Reverted { from, .. } => {
                self.reverts += 1;
                self.layers.retain(|l, _| *l < from.0);
                self.applied_layer = from.0.checked_sub(1);
            }
            ConsensusEvent::Sync { synced, layer, .. } => {
                self.synced = *synced;
                self.current_layer = self.current_layer.max(layer.0);
            }
            _ => {}
        }
    }

    /// The Prometheus text exposition of the counters and gauges.
    pub fn metrics(&self) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP smesh_{name} {help}\n# TYPE smesh_{name} {kind}");
            let _ = writeln!(out, "smesh_{name} {value}");
        };
        let opt = |v: Option<u32>| v.map_or(0, u64::from);
        metric(
            "layer_current",
            "gauge",
            "The layer the node's clock is in.",
            self.current_layer.into(),
        );
        metric("layer_applied", "gauge", "The last applied layer.", opt(self.applied_layer));
        metric("layer_verified", "gauge", "The last verified layer.", opt(self.verified_layer));
        metric("synced", "gauge", "1 when the node considers itself synced.", self.synced.into());
        metric("peers", "gauge", "Connected peers.", self.peers);
        metric("atxs_accepted_total", "counter", "ATXs accepted.", self.atxs_accepted);
        metric("atxs_published_total", "counter", "ATXs this node published.", self.atxs_published);
        metric(
            "proposals_published_total",
            "counter",
            "Proposals this node published.",
            self.proposals_published,
        );
        metric("hare_outputs_total", "counter", "Hare outputs.", self.hare_outputs);
        metric("certified_total", "counter", "Certified blocks.", self.certified);
        metric("tortoise_reverts_total", "counter", "Reverts of applied layers.", self.reverts);
        metric("malfeasance_total", "counter", "Malfeasance proofs.", self.malfeasance);
        metric("peer_penalties_total", "counter", "Peers penalized.", self.penalties);
        metric("issued_total", "counter", "Coins issued in applied layers.", self.issued);
        metric(
            "post_init_labels_done",
            "gauge",
            "PoST labels initialized in the node's data directory.",
            self.post_init_labels_done,
        );
        metric(
            "post_init_labels_total",
            "gauge",
            "PoST labels the node's data directory holds when complete.",
            self.post_init_labels_total,
        );
        metric(
            "post_init_vrf_search_labels",
            "gauge",
            "PoST labels computed past the data in search of a VRF nonce (none of the data's qualified).",
            self.post_init_vrf_search_labels.unwrap_or(0),
        );
        metric(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory of the node process.",
            self.resident_bytes,
        );
        out
    }
}

/// The status shared between the node loop and the listener.
pub type SharedStatus = Arc<Mutex<NodeStatus>>;

/// Serves `/status` and `/metrics` on `listen` until `shutdown` resolves, and the account and
/// transaction API when `api` is given; returns the bound address once listening.
pub async fn serve(
    listen: SocketAddr,
    status: SharedStatus,
    api: Option<crate::account_api::ApiState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<SocketAddr> {
    let mut app = Router::new()
        .route("/status", get(status_json))
        .route("/metrics", get(metrics_text))
        .with_state(status);
    if let Some(api) = api {
        app = app.merge(crate::account_api::router(api));
    }
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let served = crate::http::serve(listener, app, shutdown).await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "the status listener stopped");
        }
    });
    Ok(addr)
}

/// The status now, with the process's memory read.
fn snapshot(status: &SharedStatus) -> NodeStatus {
    let mut doc = status.lock().map(|s| s.clone()).unwrap_or_default();
    doc.resident_bytes = resident_bytes();
    doc
}

async fn status_json(State(status): State<SharedStatus>) -> impl IntoResponse {
    axum::Json(snapshot(&status))
}

async fn metrics_text(State(status): State<SharedStatus>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], snapshot(&status).metrics())
}

/// Resident set size of this process from `/proc/self/status` (Linux; 0 elsewhere).
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spacemesh_core::types::{Hash32, LayerId};

    fn applied(layer: u32, state: u8) -> NodeEvent {
        NodeEvent::Consensus(Box::new(ConsensusEvent::LayerApplied {
            layer: LayerId(layer),
            block: None,
            state: Hash32([state; 32]),
            opinion: Hash32([0; 32]),
            issued: 5,
            fees: 0,
            root: Hash32::default(),
        }))
    }

    /// Applied layers are kept with their state hashes, reverts drop them, and the metrics
    /// show the same numbers.
    #[test]
    fn folds_layers_and_reverts() {
        let mut s = NodeStatus::default();
        for l in 0..300 {
            s.on_event(&applied(l, l as u8));
        }
        assert_eq!(s.applied_layer, Some(299));
        assert_eq!(s.layers.len(), LAYERS_KEPT);
        assert_eq!(s.layers[&299].state, Hash32([299u32 as u8; 32]).to_string());
        s.on_event(&NodeEvent::Consensus(Box::new(ConsensusEvent::Reverted {
            from: LayerId(298),
            to: LayerId(299),
        })));
        assert_eq!(s.applied_layer, Some(297));
        assert!(!s.layers.contains_key(&298));
        assert_eq!(s.reverts, 1);
        let m = s.metrics();
        assert!(m.contains("smesh_layer_applied 297\n"), "{m}");
        assert!(m.contains("smesh_issued_total 1500\n"), "{m}");
        assert!(m.contains("# TYPE smesh_tortoise_reverts_total counter"), "{m}");
    }
}
