//! The PoET server: core's [`PoetService`] on the wall clock, persisted, with each round's
//! sequential work on a blocking thread, served over HTTP/1 with axum.
//!
//! # Persistence
//!
//! The state lives in a [`NodeStore`] in the configured directory:
//!
//! - `poet/identity`: the service id, the genesis id and the round schedule (SCALE), written
//!   on first start; a later start with another identity, network or schedule is refused.
//! - `poet/closed_through`: the latest round closed (SCALE `Option<u64>`).
//! - `poet/round/<round, 8 bytes big-endian>`: one record per round the service keeps (SCALE
//!   `RoundSnapshot`: phase, members, and the proof once there is one).
//!
//! Every change is persisted before it is acted on: a submission is answered only once its
//! round's record is durable; a round close, a round end and a proof are persisted when the
//! ticker handles them. Together these records are the service's `ServiceSnapshot`. On start
//! the service is restored from them; a round that was executing or waiting for its proof
//! (its work was interrupted) has its work redone from the start.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path as UrlPath, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use spacemesh_core::codec::{Encode, decode_exact};
use spacemesh_core::crypto::{Ed25519Verifier, Signer};
use spacemesh_core::poet::proof::PROVEN_LEAVES_MAX;
use spacemesh_core::poet::service::{ProofReadyError, RoundPhase, RoundSnapshot};
use spacemesh_core::poet::{
    PoetProof, PoetRequest, PoetResponse, PoetService, PoetServiceConfig, SequentialWork,
    ServiceEvent, ServiceSnapshot,
};
use spacemesh_core::store::{Batch, Snapshot};
use spacemesh_core::{GenesisId, Hash32, NodeId, Time};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use super::{PERSISTED_MEMBERS_MAX, REQUEST_BODY_MAX, REQUEST_PATH};
use crate::WallClock;
use crate::store::{NodeStore, StoreError};

const IDENTITY_KEY: &[u8] = b"poet/identity";
const CLOSED_KEY: &[u8] = b"poet/closed_through";
const ROUND_PREFIX: &[u8] = b"poet/round/";
/// Leaves appended between two checks of the stop flag.
const WORK_CHUNK: u64 = 256;

fn round_key(round: u64) -> Vec<u8> {
    let mut key = ROUND_PREFIX.to_vec();
    key.extend_from_slice(&round.to_be_bytes());
    key
}

/// How much sequential work a round gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkBudget {
    /// Leaves of sequential work per round (at least `t`). The work starts when the round
    /// starts, so this many leaves should take less than the round's duration here.
    pub leaves_per_round: u64,
}

/// How to run a PoET server.
#[derive(Clone)]
pub struct PoetServerConfig {
    /// Directory of the server's store (created on first start).
    pub dir: PathBuf,
    /// Address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// The service: network, schedule, bounds. `members_max` must be at most
    /// [`PERSISTED_MEMBERS_MAX`]; use [`super::service_config_for`].
    pub service: PoetServiceConfig,
    /// Seed of the service's ed25519 identity; its public key is the id nodes address it by.
    pub key_seed: [u8; 32],
    /// The network (must equal `service.genesis_id`).
    pub genesis: GenesisId,
    /// Leaves a proof opens (the nodes' PoET `t`).
    pub t: u32,
    /// Hashes per leaf (the nodes' PoET nesting depth).
    pub nesting_depth: u32,
    /// Sequential work per round.
    pub work: WorkBudget,
}

impl PoetServerConfig {
    /// The server that serves nodes running on `settings` (their clock, network and PoET
    /// parameters), keeping its store in `store`.
    pub fn for_nodes(
        settings: &crate::config::NodeSettings,
        store: PathBuf,
        listen: SocketAddr,
        key_seed: [u8; 32],
        work: WorkBudget,
    ) -> Self {
        let params = settings.consensus(Vec::new()).poet;
        PoetServerConfig {
            dir: store,
            listen,
            service: super::service_config_for(&settings.clock, settings.genesis),
            key_seed,
            genesis: settings.genesis,
            t: params.t,
            nesting_depth: params.nesting_depth,
            work,
        }
    }
}

impl fmt::Debug for PoetServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoetServerConfig")
            .field("dir", &self.dir)
            .field("listen", &self.listen)
            .field("service", &self.service)
            .field("key_seed", &"<secret>")
            .field("genesis", &self.genesis)
            .field("t", &self.t)
            .field("nesting_depth", &self.nesting_depth)
            .field("work", &self.work)
            .finish()
    }
}

impl PoetServerConfig {
    /// Checks the configuration, saying which field to fix.
    pub fn validate(&self) -> Result<(), PoetServerError> {
        let bad = |m: String| Err(PoetServerError::Config(m));
        if self.service.genesis_id != self.genesis {
            return bad(format!(
                "genesis {} differs from service.genesis_id {}",
                self.genesis, self.service.genesis_id
            ));
        }
        if let Err(e) = self.service.validate() {
            return bad(format!("service: {e}"));
        }
        if self.service.members_max > PERSISTED_MEMBERS_MAX {
            return bad(format!(
                "service.members_max {} is over {PERSISTED_MEMBERS_MAX}, the most a round \
                 record holds",
                self.service.members_max
            ));
        }
        if self.t == 0 || self.t as usize > PROVEN_LEAVES_MAX {
            return bad(format!("t {} must be between 1 and {PROVEN_LEAVES_MAX}", self.t));
        }
        if self.nesting_depth == 0 {
            return bad("nesting_depth must be at least 1".into());
        }
        if self.work.leaves_per_round < u64::from(self.t) {
            return bad(format!(
                "work.leaves_per_round {} must be at least t ({})",
                self.work.leaves_per_round, self.t
            ));
        }
        Ok(())
    }
}

/// Why the server cannot start or stopped.
#[derive(Debug, Error)]
pub enum PoetServerError {
    /// The configuration is unusable.
    #[error("PoET configuration: {0}")]
    Config(String),
    /// The store failed.
    #[error("PoET store: {0}")]
    Store(#[from] StoreError),
    /// The store holds records of another service, network or schedule.
    #[error(
        "PoET store {dir} belongs to another service, network or schedule ({detail}); use a new \
         directory, or the key, genesis and schedule it was created with"
    )]
    OtherIdentity {
        /// The store directory.
        dir: PathBuf,
        /// What differs.
        detail: String,
    },
    /// The persisted state does not decode or restore.
    #[error("PoET store {dir} holds an unusable state: {detail}")]
    BadState {
        /// The store directory.
        dir: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The HTTP server failed.
    #[error("PoET HTTP server failed: {0}")]
    Serve(std::io::Error),
    /// Sequential work could not produce a proof.
    #[error("sequential work of round {round} failed: {detail}")]
    Work {
        /// The round.
        round: u64,
        /// Why.
        detail: String,
    },
    /// A background task panicked or was cancelled.
    #[error("PoET task failed: {0}")]
    Task(String),
}

/// The proof of a round's work, or why there is none.
#[derive(Debug)]
struct WorkResult {
    round: u64,
    result: Result<PoetProof, String>,
    took: Duration,
}

/// The mutable state, behind one lock: the service and its clock, the store, and the work.
struct Inner {
    service: PoetService,
    clock: WallClock,
    store: NodeStore,
    /// Hash of each round and closed-through record as last persisted.
    persisted: BTreeMap<Vec<u8>, blake3::Hash>,
    /// Rounds whose work runs.
    working: BTreeSet<u64>,
    /// Proofs done before their round ended.
    proven: BTreeMap<u64, PoetProof>,
}

impl Inner {
    /// Persists whatever changed in the service since the last call, as one batch.
    fn sync(&mut self) -> Result<(), StoreError> {
        let snapshot = self.service.snapshot();
        let mut desired: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        desired.insert(CLOSED_KEY.to_vec(), snapshot.closed_through.encode());
        for r in snapshot.rounds.iter() {
            desired.insert(round_key(r.round), r.encode());
        }
        let mut batch = Batch::default();
        for (key, value) in &desired {
            if self.persisted.get(key) != Some(&blake3::hash(value)) {
                batch.put(key, value);
            }
        }
        for key in self.persisted.keys() {
            if !desired.contains_key(key) {
                batch.delete(key);
            }
        }
        if batch.ops.is_empty() {
            return Ok(());
        }
        self.store.persist(&batch)?;
        self.persisted = desired.iter().map(|(k, v)| (k.clone(), blake3::hash(v))).collect();
        Ok(())
    }
}

/// What the HTTP handlers, the ticker and the workers share.
struct Shared {
    inner: Mutex<Inner>,
    dir: PathBuf,
    id: NodeId,
    t: u32,
    nesting_depth: u32,
    leaves_per_round: u64,
    /// Wakes the ticker when the service's next timeout moved earlier.
    wake: Notify,
    /// Stops the work threads.
    stop: Arc<AtomicBool>,
    runtime: tokio::runtime::Handle,
    results: mpsc::UnboundedSender<WorkResult>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().expect("PoET state lock poisoned by a panic")
    }

    /// Starts the sequential work of `round` on a blocking thread, unless it runs or is done.
    fn start_work(&self, inner: &mut Inner, round: u64, statement: Hash32) {
        if inner.working.contains(&round) || inner.proven.contains_key(&round) {
            return;
        }
        inner.working.insert(round);
        let (t, depth, leaves) = (self.t as usize, self.nesting_depth, self.leaves_per_round);
        let stop = Arc::clone(&self.stop);
        let results = self.results.clone();
        let handle = self.runtime.spawn_blocking(move || {
            let started = Instant::now();
            let mut work = SequentialWork::new(statement.0, depth);
            while work.leaves() < leaves {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                work.step((leaves - work.leaves()).min(WORK_CHUNK));
            }
            let result = work
                .finish(t)
                .map(|merkle| PoetProof { merkle, leaves: work.leaves() })
                .map_err(|e| e.to_string());
            // The receiver is gone only when the server stops.
            let _ = results.send(WorkResult { round, result, took: started.elapsed() });
        });
        let mut workers = self.workers.lock().expect("workers lock");
        workers.retain(|h| !h.is_finished());
        workers.push(handle);
    }

    /// One step of the ticker: takes finished work, ticks the service, starts work for rounds
    /// that started, hands proofs to rounds that ended, persists. Returns the next timeout.
    fn step(&self, results: Vec<WorkResult>) -> Result<Option<Time>, PoetServerError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let now = inner.clock.now();
        for r in results {
            inner.working.remove(&r.round);
            match r.result {
                Ok(proof) => {
                    info!(round = r.round, leaves = proof.leaves, took = ?r.took, "PoET work done");
                    inner.proven.insert(r.round, proof);
                }
                Err(detail) => return Err(PoetServerError::Work { round: r.round, detail }),
            }
        }
        for event in inner.service.on_tick(now) {
            match event {
                ServiceEvent::RoundExecuting { round, statement, members, end } => {
                    info!(round, members, %statement, end = end.0, "PoET round started");
                    self.start_work(inner, round, statement);
                }
                ServiceEvent::RoundEnded { round, statement } => {
                    self.start_work(inner, round, statement);
                }
                ServiceEvent::RoundSkipped { round } => {
                    info!(round, "PoET round skipped: no members");
                }
            }
        }
        let ready: Vec<u64> = inner.proven.keys().copied().collect();
        for round in ready {
            let proof = inner.proven[&round].clone();
            match inner.service.proof_ready(round, proof) {
                Ok(()) => {
                    inner.proven.remove(&round);
                    let end = inner.service.config().schedule.round_end(round);
                    let late = Duration::from_micros(now.0.saturating_sub(end.0));
                    info!(round, after_round_end = ?late, "PoET proof published");
                }
                Err(ProofReadyError::NotEnded(_)) => {}
                Err(e) => {
                    inner.proven.remove(&round);
                    warn!(round, "PoET proof dropped: {e}");
                }
            }
        }
        inner.sync()?;
        Ok(inner.service.next_timeout())
    }

    /// Answers a request; a submission is durable before its answer.
    fn handle(&self, request: &PoetRequest) -> Result<PoetResponse, StoreError> {
        let mut inner = self.lock();
        let now = inner.clock.now();
        let before = inner.service.next_timeout();
        let response = inner.service.handle_request(now, request, self.id, &Ed25519Verifier);
        if matches!(response, PoetResponse::Submitted { .. }) {
            inner.sync()?;
            if inner.service.next_timeout() != before {
                self.wake.notify_one();
            }
        }
        Ok(response)
    }
}

/// Opens the store and restores the service; returns the rounds whose work must be (re)done.
fn open_state(
    dir: &std::path::Path,
    config: PoetServiceConfig,
    id: NodeId,
) -> Result<(Inner, Vec<(u64, Hash32)>), PoetServerError> {
    let store = NodeStore::open(dir)?;
    let records = store.load()?;
    let mut identity = Vec::new();
    id.encode_to(&mut identity);
    config.genesis_id.encode_to(&mut identity);
    config.schedule.encode_to(&mut identity);
    let bad = |detail: String| PoetServerError::BadState { dir: dir.to_path_buf(), detail };
    let service = match records.get(IDENTITY_KEY) {
        None if records.is_empty() => {
            let mut batch = Batch::default();
            batch.put(IDENTITY_KEY, &identity);
            store.persist(&batch)?;
            PoetService::new(config).map_err(|e| bad(e.to_string()))?
        }
        None => return Err(bad("records without a poet/identity record".into())),
        Some(found) if *found != identity => {
            return Err(PoetServerError::OtherIdentity {
                dir: dir.to_path_buf(),
                detail: identity_difference(found, &identity),
            });
        }
        Some(_) => {
            let snapshot = snapshot_from(&records).map_err(bad)?;
            PoetService::restore(config, &snapshot).map_err(|e| bad(e.to_string()))?
        }
    };
    let persisted = records
        .iter()
        .filter(|(k, _)| k.as_slice() != IDENTITY_KEY)
        .map(|(k, v)| (k.clone(), blake3::hash(v)))
        .collect();
    let pending = service
        .snapshot()
        .rounds
        .iter()
        .filter(|r| matches!(r.phase, RoundPhase::Executing | RoundPhase::Ended))
        .filter_map(|r| Some((r.round, service.statement(r.round)?)))
        .collect();
    let inner = Inner {
        service,
        clock: WallClock::new(),
        store,
        persisted,
        working: BTreeSet::new(),
        proven: BTreeMap::new(),
    };
    Ok((inner, pending))
}

/// Which part of the identity record differs.
fn identity_difference(found: &[u8], expected: &[u8]) -> String {
    let parts = [("service id", 0..32), ("genesis id", 32..52), ("schedule", 52..expected.len())];
    let differing: Vec<&str> = parts
        .iter()
        .filter(|(_, range)| found.get(range.clone()) != expected.get(range.clone()))
        .map(|(name, _)| *name)
        .collect();
    if differing.is_empty() || found.len() != expected.len() {
        "the identity record differs".into()
    } else {
        format!("the {} differ(s)", differing.join(", "))
    }
}

/// The service snapshot the records hold.
fn snapshot_from(records: &Snapshot) -> Result<ServiceSnapshot, String> {
    let closed_through = match records.get(CLOSED_KEY) {
        Some(v) => decode_exact::<Option<u64>>(v).map_err(|e| format!("closed_through: {e}"))?,
        None => None,
    };
    let mut rounds = Vec::new();
    for (key, value) in records {
        if key.as_slice() == IDENTITY_KEY || key.as_slice() == CLOSED_KEY {
            continue;
        }
        let Some(id) = key.strip_prefix(ROUND_PREFIX).and_then(|r| <[u8; 8]>::try_from(r).ok())
        else {
            return Err(format!("unexpected record {}", String::from_utf8_lossy(key)));
        };
        let id = u64::from_be_bytes(id);
        let round: RoundSnapshot =
            decode_exact(value).map_err(|e| format!("round {id} does not decode: {e}"))?;
        if round.round != id {
            return Err(format!("record of round {id} holds round {}", round.round));
        }
        rounds.push(round);
    }
    let rounds = spacemesh_core::codec::BoundedVec::new(rounds)
        .map_err(|_| "more rounds than a snapshot holds".to_string())?;
    Ok(ServiceSnapshot { closed_through, rounds })
}

/// Starts PoET servers.
#[derive(Debug)]
pub struct PoetServer;

impl PoetServer {
    /// Opens (or creates) the state in `cfg.dir`, restores the service, binds `cfg.listen`,
    /// and starts serving and ticking. Must be called within a multi-threaded tokio runtime
    /// (the current-thread runtime of `#[tokio::test]` also works).
    pub async fn start(cfg: PoetServerConfig) -> Result<RunningPoet, PoetServerError> {
        cfg.validate()?;
        let id = Signer::from_seed(cfg.key_seed, cfg.genesis).node_id();
        let (dir, service) = (cfg.dir.clone(), cfg.service.clone());
        let (inner, pending) = tokio::task::spawn_blocking(move || open_state(&dir, service, id))
            .await
            .map_err(|e| PoetServerError::Task(e.to_string()))??;
        let listener = TcpListener::bind(cfg.listen)
            .await
            .map_err(|source| PoetServerError::Bind { addr: cfg.listen, source })?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| PoetServerError::Bind { addr: cfg.listen, source })?;
        let (results, results_rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            inner: Mutex::new(inner),
            dir: cfg.dir.clone(),
            id,
            t: cfg.t,
            nesting_depth: cfg.nesting_depth,
            leaves_per_round: cfg.work.leaves_per_round,
            wake: Notify::new(),
            stop: Arc::new(AtomicBool::new(false)),
            runtime: tokio::runtime::Handle::current(),
            results,
            workers: Mutex::new(Vec::new()),
        });
        {
            let mut inner = shared.lock();
            for (round, statement) in pending {
                info!(round, "PoET round's work was interrupted: redoing it");
                shared.start_work(&mut inner, round, statement);
            }
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let router = Router::new()
            .route(REQUEST_PATH, post(request_handler))
            .route("/v1/info", get(info_handler))
            .route("/v1/proofs/{round}", get(proof_handler))
            .layer(DefaultBodyLimit::max(REQUEST_BODY_MAX))
            .with_state(Arc::clone(&shared));
        let mut serve_stop = stop_rx.clone();
        let server = tokio::spawn(async move {
            let stopped = async move {
                let _ = serve_stop.wait_for(|stop| *stop).await;
            };
            crate::http::serve(listener, router, stopped).await
        });
        let ticker = tokio::spawn(ticker(Arc::clone(&shared), results_rx, stop_rx));
        info!(id = %id, addr = %local_addr, dir = %cfg.dir.display(), "PoET serving");
        Ok(RunningPoet {
            local_addr,
            id,
            shared,
            stop: stop_tx,
            server: Some(server),
            ticker: Some(ticker),
        })
    }
}

/// Ticks the service on its next timeout, when woken, and when work finishes.
async fn ticker(
    shared: Arc<Shared>,
    mut results: mpsc::UnboundedReceiver<WorkResult>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), PoetServerError> {
    let mut done = Vec::new();
    loop {
        let s = Arc::clone(&shared);
        let batch = std::mem::take(&mut done);
        let next = tokio::task::spawn_blocking(move || s.step(batch))
            .await
            .map_err(|e| PoetServerError::Task(e.to_string()))?
            .inspect_err(|e| error!("PoET stops: {e}"))?;
        let sleep = next.map_or(Duration::from_secs(3600), |t| {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
            Duration::from_micros(t.0.saturating_sub(now.as_micros() as u64))
                + Duration::from_millis(1)
        });
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = shared.wake.notified() => {}
            Some(r) = results.recv() => {
                done.push(r);
                while let Ok(r) = results.try_recv() {
                    done.push(r);
                }
            }
            _ = stop.wait_for(|stop| *stop) => return Ok(()),
        }
    }
}

async fn request_handler(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let request = match decode_exact::<PoetRequest>(&body) {
        Ok(r) => r,
        Err(e) => {
            let text = format!("the body is not a SCALE-encoded PoetRequest: {e}\n");
            return (StatusCode::BAD_REQUEST, text).into_response();
        }
    };
    let s = Arc::clone(&shared);
    match tokio::task::spawn_blocking(move || s.handle(&request)).await {
        Ok(Ok(response)) => {
            (StatusCode::OK, [(CONTENT_TYPE, "application/octet-stream")], response.encode())
                .into_response()
        }
        Ok(Err(e)) => {
            error!("PoET could not persist a submission: {e}");
            let text = format!("the PoET could not store the submission: {e}\n");
            (StatusCode::INTERNAL_SERVER_ERROR, text).into_response()
        }
        Err(e) => {
            (StatusCode::INTERNAL_SERVER_ERROR, format!("PoET task failed: {e}\n")).into_response()
        }
    }
}

/// The JSON of `GET /v1/info`.
#[derive(Debug, Serialize)]
struct InfoJson {
    service_id: String,
    genesis_id: String,
    open_round: u64,
    schedule: ScheduleJson,
    t: u32,
    nesting_depth: u32,
    leaves_per_round: u64,
    rounds_proven: Vec<u64>,
    rounds_waiting: Vec<u64>,
}

/// The round schedule in JSON, times in microseconds (since the Unix epoch for `genesis`).
#[derive(Debug, Serialize)]
struct ScheduleJson {
    genesis_unix_us: u64,
    epoch_duration_us: u64,
    phase_shift_us: u64,
    cycle_gap_us: u64,
    open_round_start_unix_us: u64,
    open_round_end_unix_us: u64,
}

async fn info_handler(State(shared): State<Arc<Shared>>) -> Response {
    let mut inner = shared.lock();
    let now = inner.clock.now();
    let config = inner.service.config().clone();
    let open_round = inner.service.open_round(now);
    let snapshot = inner.service.snapshot();
    drop(inner);
    let round_ids = |proven: bool| {
        snapshot
            .rounds
            .iter()
            .filter(|r| match r.phase {
                RoundPhase::ProofReady(_) => proven,
                RoundPhase::Executing | RoundPhase::Ended => !proven,
                RoundPhase::Open => false,
            })
            .map(|r| r.round)
            .collect::<Vec<_>>()
    };
    let s = config.schedule;
    let us = |d: Duration| d.as_micros() as u64;
    let info = InfoJson {
        service_id: shared.id.to_string(),
        genesis_id: config.genesis_id.to_string(),
        open_round,
        schedule: ScheduleJson {
            genesis_unix_us: s.genesis.0,
            epoch_duration_us: us(s.epoch_duration),
            phase_shift_us: us(s.phase_shift),
            cycle_gap_us: us(s.cycle_gap),
            open_round_start_unix_us: s.round_start(open_round).0,
            open_round_end_unix_us: s.round_end(open_round).0,
        },
        t: shared.t,
        nesting_depth: shared.nesting_depth,
        leaves_per_round: shared.leaves_per_round,
        rounds_proven: round_ids(true),
        rounds_waiting: round_ids(false),
    };
    axum::Json(info).into_response()
}

/// The JSON of `GET /v1/proofs/{round}`: hashes in hex.
#[derive(Debug, Serialize)]
struct ProofJson {
    round: u64,
    /// The membership root the work ran on.
    statement: String,
    leaves: u64,
    root: String,
    proven_leaves: Vec<String>,
    proof_nodes: Vec<String>,
    /// The SCALE encoding of the `PoetProof`.
    proof: String,
    /// The proof's reference (what an ATX's PoST proves against).
    reference: String,
    /// The members' challenges in membership-tree order.
    members: Vec<String>,
}

#[derive(Debug, Serialize)]
struct ErrorJson {
    error: String,
}

async fn proof_handler(
    State(shared): State<Arc<Shared>>,
    UrlPath(round): UrlPath<u64>,
) -> Response {
    let inner = shared.lock();
    let (Some((proof, members)), Some(statement)) =
        (inner.service.proof(round), inner.service.statement(round))
    else {
        drop(inner);
        let error = format!(
            "round {round} has no proof: it has not ended, its work is not done, it had no \
             members, or it is older than the rounds kept"
        );
        return (StatusCode::NOT_FOUND, axum::Json(ErrorJson { error })).into_response();
    };
    let hexes = |v: &[Hash32]| v.iter().map(Hash32::to_string).collect::<Vec<_>>();
    let json = ProofJson {
        round,
        statement: statement.to_string(),
        leaves: proof.leaves,
        root: proof.merkle.root.to_string(),
        proven_leaves: hexes(&proof.merkle.proven_leaves),
        proof_nodes: hexes(&proof.merkle.proof_nodes),
        proof: proof.encode().iter().map(|b| format!("{b:02x}")).collect(),
        reference: proof.reference().to_string(),
        members: hexes(&members),
    };
    drop(inner);
    axum::Json(json).into_response()
}

/// A running PoET server.
pub struct RunningPoet {
    local_addr: SocketAddr,
    id: NodeId,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    ticker: Option<JoinHandle<Result<(), PoetServerError>>>,
}

impl fmt::Debug for RunningPoet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningPoet")
            .field("local_addr", &self.local_addr)
            .field("id", &self.id)
            .field("dir", &self.shared.dir)
            .finish_non_exhaustive()
    }
}

impl RunningPoet {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The service's identity: the public key nodes address it by.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Waits until the server stops by itself, which happens only on a fatal error (the store
    /// failed, the listener failed, a task panicked), and returns that error. Call
    /// [`shutdown`](Self::shutdown) afterwards to release the rest.
    pub async fn failed(&mut self) -> PoetServerError {
        enum Ended {
            Server(Result<std::io::Result<()>, tokio::task::JoinError>),
            Ticker(Result<Result<(), PoetServerError>, tokio::task::JoinError>),
        }
        let ended = {
            let (server, ticker) = (&mut self.server, &mut self.ticker);
            tokio::select! {
                r = async { server.as_mut().expect("checked").await }, if server.is_some() => {
                    Ended::Server(r)
                }
                r = async { ticker.as_mut().expect("checked").await }, if ticker.is_some() => {
                    Ended::Ticker(r)
                }
                else => std::future::pending::<Ended>().await,
            }
        };
        match ended {
            Ended::Server(r) => {
                self.server = None;
                match r {
                    Ok(Ok(())) => PoetServerError::Task("the HTTP server stopped".into()),
                    Ok(Err(e)) => PoetServerError::Serve(e),
                    Err(e) => PoetServerError::Task(e.to_string()),
                }
            }
            Ended::Ticker(r) => {
                self.ticker = None;
                match r {
                    Ok(Ok(())) => PoetServerError::Task("the ticker stopped".into()),
                    Ok(Err(e)) => e,
                    Err(e) => PoetServerError::Task(e.to_string()),
                }
            }
        }
    }

    /// Stops gracefully: no new connections, open exchanges finish, the ticker and the work
    /// threads stop (unfinished work is redone after a restart), and the store is closed once
    /// this returns. Returns the first error a task stopped with.
    pub async fn shutdown(mut self) -> Result<(), PoetServerError> {
        let _ = self.stop.send(true);
        self.shared.stop.store(true, Ordering::Relaxed);
        let mut first_error = None;
        if let Some(server) = self.server.take() {
            match server.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => first_error = first_error.or(Some(PoetServerError::Serve(e))),
                Err(e) => first_error = first_error.or(Some(PoetServerError::Task(e.to_string()))),
            }
        }
        if let Some(ticker) = self.ticker.take() {
            match ticker.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => first_error = first_error.or(Some(e)),
                Err(e) => first_error = first_error.or(Some(PoetServerError::Task(e.to_string()))),
            }
        }
        let workers = std::mem::take(&mut *self.shared.workers.lock().expect("workers lock"));
        for worker in workers {
            let _ = worker.await;
        }
        info!(id = %self.id, "PoET stopped");
        first_error.map_or(Ok(()), Err)
    }
}
