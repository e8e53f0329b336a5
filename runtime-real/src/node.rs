//! The real node: one [`spacemesh_core::Node`] driven by the wall clock, the transport, the
//! store on disk, a job pool and PoET clients, following the I/O contract of `core`.
//!
//! One task owns the node and feeds it, one input at a time, whatever comes first: a transport
//! event, a finished job, a PoET answer, or its timer. After every input it acts on the node's
//! outputs in order; a `Persist` batch is durable (fsync) before the next output is acted on,
//! and a batch that cannot be written stops the node with an error rather than letting it run
//! ahead of its disk.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spacemesh_core::crypto::{Ed25519Verifier, Signer, Verifier};
use spacemesh_core::job::{JobId, JobResult};
use spacemesh_core::node::{Command, NodeConfig};
use spacemesh_core::p2p::PeerAddr;
use spacemesh_core::poet::PoetResponse;
use spacemesh_core::types::Hash32;
use spacemesh_core::{Input, Node, NodeEvent, NodeKeys, Output, PeerId};
use thiserror::Error;
use tokio::sync::{mpsc, oneshot};

#[cfg(not(madsim))]
use crate::JobPool;
use crate::WallClock;
use crate::account_api::{self, ApiRequest, ApiState};
use crate::config::{NodeSettings, PoetAddr};
use crate::keyfile::{self, KeyFileError};
use crate::poet::PoetClient;
use crate::post_labels::DiskLabels;
use crate::status::{NodeStatus, SharedStatus};
use crate::store::{NodeStore, StoreError};
use crate::transport::{Transport, TransportConfig, TransportEvent};
// Under madsim, jobs are simulator tasks (worker threads would make results arrive in real time).
#[cfg(madsim)]
use crate::sim_jobs::TaskJobs as JobPool;

/// The node could not start or had to stop.
#[derive(Debug, Error)]
pub enum NodeError {
    /// A key file.
    #[error(transparent)]
    Key(#[from] KeyFileError),
    /// The store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The data directory or a listener.
    #[error("{what}: {error}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        error: std::io::Error,
    },
    /// The job pool died (a worker panicked).
    #[error("the job pool stopped: a worker thread panicked")]
    Jobs,
}

/// Where a started node can be reached, and its live status.
#[derive(Debug, Clone)]
pub struct NodeHandle {
    /// The node's p2p key.
    pub peer_id: PeerId,
    /// Where it listens for peers.
    pub listen: SocketAddr,
    /// Where `/status` and `/metrics` are served, if they are.
    pub metrics: Option<SocketAddr>,
    /// Where the gRPC API and its JSON gateway listen (each `None` when off).
    pub api: crate::config::ApiListeners,
    /// The live status.
    pub status: SharedStatus,
}

/// Everything a node loop reads from.
struct Inputs {
    transport: mpsc::Receiver<TransportEvent>,
    jobs: mpsc::UnboundedReceiver<(JobId, JobResult)>,
    poet: mpsc::UnboundedReceiver<(u64, PoetResponse)>,
    api: mpsc::Receiver<ApiRequest>,
}

/// A node being driven.
struct Driver {
    node: Node,
    clock: WallClock,
    store: NodeStore,
    transport: Transport,
    pool: JobPool,
    poet_client: PoetClient,
    poet_tx: mpsc::UnboundedSender<(u64, PoetResponse)>,
    poets: HashMap<spacemesh_core::NodeId, SocketAddr>,
    status: SharedStatus,
    layer_clock: spacemesh_core::layers::LayerClock,
    /// Inputs the runtime owes the node, fed once the current outputs are acted on.
    owed: Vec<Input>,
    /// API submissions waiting for the node's `TxSubmitted`, by transaction id.
    submits: HashMap<Hash32, Vec<oneshot::Sender<Result<(), String>>>>,
}

/// Opens the node's keys and store in `settings.data_dir`, starts its listeners, and returns
/// its handle and the future that runs it until `shutdown` resolves (or an error stops it).
/// `poets` are the PoETs to use (the settings' own, or an embedded one the caller started).
pub async fn start<S: Future<Output = ()> + Send + 'static>(
    settings: &NodeSettings,
    poets: Vec<PoetAddr>,
    shutdown: S,
) -> Result<(NodeHandle, impl Future<Output = Result<(), NodeError>> + Send + use<S>), NodeError> {
    let dir = &settings.data_dir;
    let io = |what: String| move |error| NodeError::Io { what, error };
    std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    let (identity_seed, _) = keyfile::load_or_create(&dir.join("keys/identity.key"))?;
    let (p2p_seed, _) = keyfile::load_or_create(&dir.join("keys/p2p.key"))?;
    let store = NodeStore::open(&store_dir(dir))?;
    let snapshot = store.load()?;

    let mut cfg = NodeConfig {
        genesis: settings.genesis,
        bootstrap: settings.bootstrap.iter().map(|p| p.id).collect(),
        ..NodeConfig::default()
    };
    cfg.peers.peers_max = settings.connections_max;
    cfg.peers.peers_target = cfg.peers.peers_target.min(settings.connections_max);
    cfg.consensus = Some(settings.consensus(poets.iter().map(|p| p.id).collect()));
    let keys = NodeKeys { identity_seed, p2p_seed };
    let verifier: Arc<dyn Verifier> = Arc::new(Ed25519Verifier);
    let mut seed = [0u8; 32];
    crate::random::fill(&mut seed).map_err(|e| NodeError::Io {
        what: "drawing the node's random seed".into(),
        error: std::io::Error::other(e.to_string()),
    })?;
    let node = Node::new(cfg, &keys, seed, Arc::clone(&verifier));

    let mut tcfg = TransportConfig::new(settings.genesis, p2p_seed, settings.listen);
    tcfg.connections_max = settings.connections_max;
    let (transport, transport_rx) = Transport::start(tcfg)
        .await
        .map_err(io(format!("listening for peers on {}", settings.listen)))?;
    let listen = transport.local_addr();

    let identity = Signer::from_seed(identity_seed, settings.genesis).node_id();
    let status: SharedStatus = Arc::new(Mutex::new(NodeStatus {
        peer_id: node.peer_id().to_string(),
        identity: identity.to_string(),
        listen: listen.to_string(),
        ..NodeStatus::default()
    }));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (api_tx, api_rx) = mpsc::channel(account_api::REQUESTS_QUEUED_MAX);
    let api = serve_api(settings, identity, &api_tx, &status, &stop_rx).await?;
    let metrics = match settings.metrics {
        Some(addr) => {
            let mut rx = stop_rx.clone();
            let stopped = async move {
                let _ = rx.wait_for(|s| *s).await;
            };
            let api = ApiState {
                requests: api_tx,
                status: Arc::clone(&status),
                network: account_api::Network {
                    hrp: settings.preset.hrp().to_owned(),
                    genesis: settings.genesis,
                },
            };
            Some(
                crate::status::serve(addr, Arc::clone(&status), Some(api), stopped)
                    .await
                    .map_err(io(format!("serving status and metrics on {addr}")))?,
            )
        }
        None => None,
    };

    let (jobs_tx, jobs_rx) = mpsc::unbounded_channel();
    let post = Some(DiskLabels::new(settings.post_dir.clone()).reporting_to(Arc::clone(&status)));
    let pool = JobPool::with_sink(job_threads(), Arc::clone(&verifier), post, move |id, result| {
        jobs_tx.send((id, result)).is_ok()
    });
    let (poet_tx, poet_rx) = mpsc::unbounded_channel();
    let handle =
        NodeHandle { peer_id: node.peer_id(), listen, metrics, api, status: Arc::clone(&status) };
    let mut driver = Driver {
        node,
        clock: WallClock::new(),
        store,
        transport,
        pool,
        poet_client: PoetClient::new(Duration::from_secs(10)),
        poet_tx,
        poets: poets.iter().map(|p| (p.id, p.addr)).collect(),
        status,
        layer_clock: settings.clock,
        // The bootstrap addresses, fed right after the restore (before any tick can dial).
        owed: settings.bootstrap.iter().rev().map(|p| peer_address(p.id, p.addr)).collect(),
        submits: HashMap::new(),
    };
    let inputs = Inputs { transport: transport_rx, jobs: jobs_rx, poet: poet_rx, api: api_rx };
    let run = async move {
        let result = driver.run(snapshot, inputs, shutdown).await;
        driver.transport.shutdown();
        let _ = stop_tx.send(true);
        result
    };
    Ok((handle, run))
}

/// Starts the API listeners the settings ask for (none under madsim: see [`crate::api`]).
#[cfg(not(madsim))]
async fn serve_api(
    settings: &NodeSettings,
    identity: spacemesh_core::NodeId,
    requests: &mpsc::Sender<ApiRequest>,
    status: &SharedStatus,
    stop: &tokio::sync::watch::Receiver<bool>,
) -> Result<crate::config::ApiListeners, NodeError> {
    let at = settings.api;
    if at == crate::config::ApiListeners::default() {
        return Ok(at);
    }
    let clock = &settings.clock;
    let network = crate::api::NetworkConstants {
        genesis_time_us: clock.genesis.as_micros(),
        layer_duration: clock.layer_duration,
        genesis: settings.genesis,
        hrp: settings.preset.hrp().to_owned(),
        effective_genesis_layer: clock.effective_genesis().0,
        layers_per_epoch: clock.layers_per_epoch,
        labels_per_unit: settings.post.labels_per_unit,
    };
    let api = crate::api::V2alpha1::new(requests.clone(), Arc::clone(status), network);
    let smesher = crate::api::SmesherSettings {
        identity,
        coinbase: settings
            .coinbase
            .unwrap_or_else(|| spacemesh_core::account::Address::of_node(&identity)),
        num_units: settings.smeshing,
        post_dir: settings.post_dir.clone(),
        post: settings.post,
        hrp: settings.preset.hrp().to_owned(),
    };
    let smesher = crate::api::Smesher::new(requests.clone(), Arc::clone(status), smesher);
    crate::api::serve_with(at, api, Some(smesher), stop.clone())
        .await
        .map_err(|error| NodeError::Io { what: "starting the API listeners".into(), error })
}

#[cfg(madsim)]
async fn serve_api(
    _: &NodeSettings,
    _: spacemesh_core::NodeId,
    _: &mpsc::Sender<ApiRequest>,
    _: &SharedStatus,
    _: &tokio::sync::watch::Receiver<bool>,
) -> Result<crate::config::ApiListeners, NodeError> {
    Ok(crate::config::ApiListeners::default())
}

/// Worker threads for jobs: all cores but one for the node loop, at least one.
fn job_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}

impl Driver {
    async fn run(
        &mut self,
        snapshot: spacemesh_core::store::Snapshot,
        mut inputs: Inputs,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), NodeError> {
        tracing::info!(peer = %self.node.peer_id(), "node starting from {} stored records", snapshot.len());
        self.feed(Input::Restore(snapshot))?;
        tokio::pin!(shutdown);
        loop {
            let now = self.clock.now();
            let wait = self.node.poll_timeout().map_or(Duration::from_secs(1), |t| {
                Duration::from_micros(t.0.saturating_sub(now.0))
            });
            let input = tokio::select! {
                () = &mut shutdown => {
                    tracing::info!("node stopping");
                    return Ok(());
                }
                Some(event) = inputs.transport.recv() => match event {
                    TransportEvent::Up { peer, outbound, addr } => {
                        // Where it listens (a dialed address, or its IP and announced port).
                        if addr.port() != 0 {
                            self.owed.push(peer_address(peer, addr));
                        }
                        Input::PeerUp { peer, outbound }
                    }
                    TransportEvent::Frame { peer, bytes } => Input::Message { peer, bytes },
                    TransportEvent::Down { peer, reason } => {
                        tracing::debug!(%peer, %reason, "peer down");
                        Input::PeerDown { peer }
                    }
                },
                job = inputs.jobs.recv() => match job {
                    Some((id, result)) => Input::JobDone { id, result },
                    None => return Err(NodeError::Jobs),
                },
                Some((id, response)) = inputs.poet.recv() => Input::PoetResponse { id, response },
                Some(request) = inputs.api.recv() => {
                    self.answer(request)?;
                    continue;
                }
                () = tokio::time::sleep(wait) => Input::Tick,
            };
            self.feed(input)?;
        }
    }

    /// Feeds one input and acts on every output it caused, in order.
    fn feed(&mut self, input: Input) -> Result<(), NodeError> {
        let mut next = Some(input);
        while let Some(input) = next.take().or_else(|| self.owed.pop()) {
            let now = self.clock.now();
            self.node.handle(now, input);
            while let Some(output) = self.node.poll_output() {
                self.act(output)?;
            }
        }
        let now = self.clock.now();
        let layer = self.layer_clock.layer_at(now).0;
        if let Ok(mut s) = self.status.lock() {
            s.current_layer = s.current_layer.max(layer);
        }
        Ok(())
    }

    /// Answers a question of the account API between two inputs. A submission is fed to the
    /// node as a command, and answered by the `TxSubmitted` event it causes; starting or
    /// stopping smeshing and setting the coinbase are commands too, answered with what the
    /// node does afterwards.
    fn answer(&mut self, request: ApiRequest) -> Result<(), NodeError> {
        let verified = self.status.lock().ok().and_then(|s| s.verified_layer).unwrap_or(0);
        let (raw, reply) = match account_api::answer_read(&self.node, verified, request) {
            Some(ApiRequest::Submit { raw, reply }) => (raw, reply),
            Some(ApiRequest::SetSmeshing { on, reply }) => {
                self.feed(Input::Command(Command::SetSmeshing(on)))?;
                tracing::info!(
                    smeshing = self.node.smeshing(),
                    "smeshing switched through the API"
                );
                let _ = reply.send(self.node.smeshing());
                return Ok(());
            }
            Some(ApiRequest::SetCoinbase { coinbase, reply }) => {
                self.feed(Input::Command(Command::SetCoinbase(coinbase)))?;
                tracing::info!(coinbase = ?self.node.coinbase(), "coinbase set through the API");
                let _ = reply.send(self.node.coinbase());
                return Ok(());
            }
            _ => return Ok(()),
        };
        let id = spacemesh_core::tx::tx_id(&raw);
        self.submits.entry(id).or_default().push(reply);
        self.feed(Input::Command(Command::SubmitTx(raw)))?;
        // The node answers while it handles the command; one without a consensus part ignores
        // it.
        for reply in self.submits.remove(&id).unwrap_or_default() {
            let _ = reply
                .send(Err("this node takes no transactions (it runs without consensus)".into()));
        }
        Ok(())
    }

    fn act(&mut self, output: Output) -> Result<(), NodeError> {
        match output {
            Output::Send { peer, bytes } => self.transport.send(peer, bytes),
            Output::Connect { peer, addr } => {
                let target = addr
                    .as_deref()
                    .and_then(|a| std::str::from_utf8(a).ok()?.parse::<SocketAddr>().ok());
                match target {
                    Some(target) => self.transport.dial(peer, target),
                    // No usable address (none known, or a peer sent garbage): the dial fails
                    // at once, as an unreachable peer's would, and backs off.
                    _ => {
                        tracing::debug!(%peer, "no usable address for peer");
                        self.owed.push(Input::PeerDown { peer });
                    }
                }
            }
            Output::Disconnect { peer, reason } => {
                tracing::debug!(%peer, ?reason, "disconnecting");
                self.transport.disconnect(peer);
            }
            Output::Persist(batch) => self.store.persist(&batch)?,
            Output::StartJob { id, job } => {
                self.pool.submit(id, *job).map_err(|_| NodeError::Jobs)?
            }
            Output::Event(event) => self.on_event(&event),
            Output::Poet { poet, id, request } => match self.poets.get(&poet) {
                Some(&addr) => {
                    let client = self.poet_client.clone();
                    let tx = self.poet_tx.clone();
                    tokio::spawn(async move {
                        match client.request(addr, &request).await {
                            Ok(response) => {
                                let _ = tx.send((id, response));
                            }
                            // No answer: the node's own timeout retries.
                            Err(e) => {
                                tracing::warn!(%poet, %addr, error = %e, "PoET request failed")
                            }
                        }
                    });
                }
                None => tracing::warn!(%poet, "no address for PoET"),
            },
        }
        Ok(())
    }

    fn on_event(&mut self, event: &NodeEvent) {
        match event {
            NodeEvent::Consensus(c) => self.on_consensus(c),
            NodeEvent::PeerPenalized { peer, penalty } => {
                tracing::debug!(%peer, ?penalty, "penalized")
            }
            _ => tracing::trace!(?event, "event"),
        }
        if let Ok(mut s) = self.status.lock() {
            s.on_event(event);
        }
    }
}

impl Driver {
    fn on_consensus(&mut self, event: &spacemesh_core::node::consensus::ConsensusEvent) {
        use spacemesh_core::node::consensus::ConsensusEvent as C;
        match event {
            C::LayerApplied { layer, block, state, .. } => {
                tracing::info!(layer = layer.0, block = ?block, state = %state, "layer applied");
            }
            C::Verified { layer, .. } => tracing::info!(layer = layer.0, "layer verified"),
            C::Reverted { from, to } => {
                tracing::warn!(from = from.0, to = to.0, "applied layers reverted");
            }
            C::AtxPublished { epoch, id } => {
                tracing::info!(epoch = epoch.0, atx = %id, "ATX published");
            }
            C::Sync { synced, .. } => tracing::info!(synced, "sync status"),
            C::ActiveSet { epoch, hash, size, .. } => {
                tracing::info!(epoch = epoch.0, hash = %hash, size, "active set frozen");
            }
            C::Beacon { epoch, beacon, source } => {
                tracing::info!(epoch = epoch.0, beacon = ?beacon, source = ?source, "beacon");
            }
            C::AtxRejected { id, reason } => {
                tracing::info!(atx = %id, reason, "ATX rejected");
            }
            C::Malfeasance { smesher, kind, .. } => tracing::warn!(%smesher, kind, "malfeasance"),
            C::TxSubmitted { id, result } => {
                tracing::debug!(tx = %id, ?result, "transaction submitted");
                for reply in self.submits.remove(id).unwrap_or_default() {
                    let _ = reply.send(result.clone());
                }
            }
            _ => tracing::trace!(?event, "event"),
        }
    }
}

/// Tells the node where `peer` listens (core keeps addresses as opaque `ip:port` text).
fn peer_address(peer: PeerId, addr: SocketAddr) -> Input {
    let text = bytes::Bytes::from(addr.to_string());
    let addr = PeerAddr::new(text).expect("a socket address is shorter than PEER_ADDR_MAX");
    Input::Command(Command::PeerAddress { peer, addr })
}

/// The data directory's layout, for tools that look inside.
pub fn store_dir(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("store")
}
