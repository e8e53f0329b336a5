//! The node's account and transaction endpoints, served beside `/status` on the metrics
//! listener (plain HTTP/1 and JSON; the gRPC/JSON gateway of a later issue replaces them):
//!
//! - `GET /v1/accounts/{bech32}`: [`AccountInfo`]. An address of another network or that is not
//!   bech32 is 400; a node without account state (no consensus part) is 503.
//! - `POST /v1/transactions`: the raw transaction as the body, or JSON `{"raw": "<hex>"}` with
//!   `Content-Type: application/json`; the answer is [`SubmitAnswer`] (refused transactions are
//!   answered 200 with `accepted: false` and the node's reason). Bodies over [`BODY_MAX`] bytes
//!   are 413, bodies that are neither are 400.
//! - `GET /v1/transactions/{hex id}`: [`TxStatusAnswer`]; an id the node does not know is 404.
//! - `GET /v1/node`: [`NodeInfo`] (sync, layers, the network's address prefix and genesis id).
//!
//! The handlers only translate: the node loop owns the node, so each question travels to it as
//! an [`ApiRequest`] over a bounded channel and the handler waits (at most [`ANSWER_TIMEOUT`])
//! for the loop's answer. Errors are JSON `{"error": "..."}` that say what to fix.

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use spacemesh_core::account::Address;
use spacemesh_core::node::{AccountView, TxStatus};
use spacemesh_core::tx::tx_id;
use spacemesh_core::types::{GenesisId, Hash32};
use tokio::sync::{mpsc, oneshot};

use crate::status::SharedStatus;

/// Largest request body (a transaction is at most 1 KiB, as hex in JSON about 2 KiB).
pub const BODY_MAX: usize = 4096;
/// Longest a handler waits for the node loop.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// Questions that may wait for the node loop at once.
pub const REQUESTS_QUEUED_MAX: usize = 256;

/// An account's state as the node sees it (everything of [`AccountInfo`] but the address).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountState {
    /// Balance after the last applied layer, in smidge.
    pub balance: u64,
    /// The next nonce a transaction must use, after the last applied layer.
    pub next_nonce: u64,
    /// The template it is spawned with (`wallet`, `multisig`, `vesting`, `vault`), if spawned.
    pub template: Option<String>,
    /// Balance once the node's pending transactions of this account execute.
    pub projected_balance: u64,
    /// The nonce after the node's pending transactions of this account.
    pub projected_nonce: u64,
    /// The last applied layer.
    pub layer: u32,
}

impl From<AccountView> for AccountState {
    fn from(v: AccountView) -> AccountState {
        AccountState {
            balance: v.balance,
            next_nonce: v.next_nonce,
            template: v.template.map(|t| t.name().to_owned()),
            projected_balance: v.projected_balance,
            projected_nonce: v.projected_nonce,
            layer: v.layer.0,
        }
    }
}

/// `GET /v1/accounts/{address}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// The address, as bech32.
    pub address: String,
    /// Its state.
    #[serde(flatten)]
    pub state: AccountState,
}

/// `POST /v1/transactions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitAnswer {
    /// The transaction id (BLAKE3 of the raw bytes, hex).
    pub id: String,
    /// Whether the node took it into its mempool.
    pub accepted: bool,
    /// Why not.
    pub reason: Option<String>,
}

/// Where a transaction is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum TxStatusInfo {
    /// In the mempool, not yet in an applied block.
    Pending,
    /// Executed in an applied layer: the fee was paid, and it succeeded unless `failure`.
    Executed {
        /// The layer.
        layer: u32,
        /// Fee paid, in smidge.
        fee: u64,
        /// Why it failed after paying its fee.
        failure: Option<String>,
    },
    /// In an applied layer but changed nothing (bad nonce, balance below its gas, ...).
    Ineffective {
        /// The layer.
        layer: u32,
        /// Why.
        reason: String,
    },
}

impl From<TxStatus> for TxStatusInfo {
    fn from(s: TxStatus) -> TxStatusInfo {
        match s {
            TxStatus::Pending => TxStatusInfo::Pending,
            TxStatus::Executed { layer, fee, failure } => {
                TxStatusInfo::Executed { layer: layer.0, fee, failure }
            }
            TxStatus::Ineffective { layer, reason } => {
                TxStatusInfo::Ineffective { layer: layer.0, reason }
            }
        }
    }
}

/// `GET /v1/transactions/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxStatusAnswer {
    /// The id (hex).
    pub id: String,
    /// Its status.
    #[serde(flatten)]
    pub status: TxStatusInfo,
}

/// `GET /v1/node`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Whether the node considers itself synced.
    pub synced: bool,
    /// The layer its clock is in.
    pub layer: u32,
    /// The last applied layer.
    pub applied_layer: Option<u32>,
    /// The network's bech32 address prefix (`sm`, `stest`).
    pub hrp: String,
    /// The network's genesis id (hex), which transactions sign over.
    pub genesis_id: String,
}

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// What went wrong and what to fix.
    pub error: String,
}

/// A question for the node loop, with where to send its answer.
#[derive(Debug)]
pub enum ApiRequest {
    /// An account's state (`None`: the node keeps no account state).
    Account {
        /// The account.
        address: Address,
        /// The answer.
        reply: oneshot::Sender<Option<AccountView>>,
    },
    /// The applied layers the node keeps in `first..=last` (at most [`LAYERS_ANSWER_MAX`],
    /// oldest first; empty without a consensus part), and its last verified layer.
    Layers {
        /// First layer asked for.
        first: u32,
        /// Last layer asked for.
        last: u32,
        /// The answer.
        reply: oneshot::Sender<LayersAnswer>,
    },
    /// An account's template and immutable state once spawned (`Some(None)`: not spawned;
    /// `None`: the node keeps no account state), to parse its transactions.
    Principal {
        /// The account.
        address: Address,
        /// The answer.
        reply: oneshot::Sender<Option<Option<spacemesh_core::tx::Spawned>>>,
    },
    /// Submit a raw transaction: `Ok` when the mempool took it, else the reason.
    Submit {
        /// The bytes.
        raw: Bytes,
        /// The answer.
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// The rewards credited in the kept applied layers `first..=last` (at most
    /// [`LAYERS_ANSWER_MAX`] layers from `first`), oldest layer first; layers whose block the
    /// node no longer holds are left out. Empty without a consensus part.
    Rewards {
        /// First layer asked for.
        first: u32,
        /// Last layer asked for.
        last: u32,
        /// The answer.
        reply: oneshot::Sender<Vec<spacemesh_core::node::consensus::LayerReward>>,
    },
    /// The ATXs the node holds that `filter` admits, by publish epoch then id, `offset` and
    /// `limit` applied. Empty without a consensus part.
    Activations {
        /// Which.
        filter: AtxFilter,
        /// How many matching ones to skip.
        offset: usize,
        /// Most to answer with.
        limit: usize,
        /// The answer.
        reply: oneshot::Sender<Vec<spacemesh_core::activation::store::AtxHeader>>,
    },
    /// How many ATXs the node holds (published in `epoch`, if set).
    ActivationsCount {
        /// The publish epoch.
        epoch: Option<u32>,
        /// The answer.
        reply: oneshot::Sender<u64>,
    },
    /// The ATX of the greatest tick height the node holds (ties: the lowest id).
    HighestAtx {
        /// The answer.
        reply: oneshot::Sender<Option<spacemesh_core::activation::store::AtxHeader>>,
    },
    /// The identities the node holds malfeasance proofs against, in identity order, with
    /// go-spacemesh's proof type of each (1 multiple ATXs, 2 multiple ballots, 3 hare
    /// equivocation, 4 invalid PoST index).
    Malfeasance {
        /// The answer.
        reply: oneshot::Sender<Vec<(spacemesh_core::types::NodeId, u32)>>,
    },
    /// The page of the node's transactions (its mempool and the kept applied layers) that
    /// the query asks for (see [`spacemesh_core::node::consensus::TxQuery`]). Empty without
    /// a consensus part.
    Transactions {
        /// Which, in what order, which page.
        query: spacemesh_core::node::consensus::TxQuery,
        /// The answer.
        reply: oneshot::Sender<Vec<spacemesh_core::node::consensus::ListedTx>>,
    },
    /// A transaction's status (`None`: unknown).
    TxStatus {
        /// The id.
        id: Hash32,
        /// The answer.
        reply: oneshot::Sender<Option<TxStatusInfo>>,
    },
    /// The rewards of the kept applied layers `first..=last` (at most [`LAYERS_ANSWER_MAX`]
    /// layers from `first`), and the last layer looked at, for a stream's cursor.
    RewardsPage {
        /// First layer asked for.
        first: u32,
        /// Last layer asked for.
        last: u32,
        /// The answer.
        reply: oneshot::Sender<LayerPage<spacemesh_core::node::consensus::LayerReward>>,
    },
    /// The transactions of the kept applied layers `first..=last` (at most
    /// [`LAYERS_ANSWER_MAX`] layers from `first`) in execution order, each parsed against its
    /// principal's state, and the last layer looked at.
    TxsPage {
        /// First layer asked for.
        first: u32,
        /// Last layer asked for.
        last: u32,
        /// The answer.
        reply: oneshot::Sender<LayerPage<LayerTxInfo>>,
    },
    /// The ATXs `filter` admits that the node accepted after `after` (receipt time, then id)
    /// and before its current time, in that order, at most `limit`: what a stream has not sent
    /// yet. (Acceptances at the current time are left for the next page: another may follow
    /// at the same instant.)
    AtxsSince {
        /// Which.
        filter: AtxFilter,
        /// The cursor: the last one sent (`None`: from the start).
        after: Option<(spacemesh_core::types::Time, spacemesh_core::activation::wire::AtxId)>,
        /// Most to answer with.
        limit: usize,
        /// The answer, each with its receipt time.
        reply: oneshot::Sender<
            Vec<(spacemesh_core::types::Time, spacemesh_core::activation::store::AtxHeader)>,
        >,
    },
    /// The malfeasance proofs the node learned after `after` (time learned, then identity) and
    /// before its current time, in that order, at most `limit`, each with its go-spacemesh
    /// proof type (see [`ApiRequest::Malfeasance`]).
    MalfeasanceSince {
        /// The cursor: the last one sent (`None`: from the start).
        after: Option<(spacemesh_core::types::Time, spacemesh_core::types::NodeId)>,
        /// Most to answer with.
        limit: usize,
        /// The answer, each with when it was learned.
        reply:
            oneshot::Sender<Vec<(spacemesh_core::types::Time, spacemesh_core::types::NodeId, u32)>>,
    },
    /// The tortoise's progress: the newest layer whose votes it tallied and the newest it
    /// processed (`None` without a consensus part).
    Progress {
        /// The answer: (latest, processed).
        reply: oneshot::Sender<Option<(u32, u32)>>,
    },
    /// Where the node's next ATXs send their rewards (`None`: it does not smesh).
    Coinbase {
        /// The answer.
        reply: oneshot::Sender<Option<Address>>,
    },
    /// Send the rewards of the node's next ATXs to `coinbase`; answered with the coinbase
    /// afterwards (`None`: the node does not smesh). Needs the live node (a command).
    SetCoinbase {
        /// The new coinbase.
        coinbase: Address,
        /// The answer.
        reply: oneshot::Sender<Option<Address>>,
    },
    /// Whether the node's identity smeshes.
    Smeshing {
        /// The answer.
        reply: oneshot::Sender<bool>,
    },
    /// The peers connected now, by p2p key: whether this node dialed each, how long the
    /// connection is up, and the address it is reached at if known.
    Peers {
        /// The answer.
        reply: oneshot::Sender<Vec<PeerConnection>>,
    },
    /// Start (`on`) or stop smeshing; answered with whether the node smeshes afterwards. Needs
    /// the live node (a command).
    SetSmeshing {
        /// Start or stop.
        on: bool,
        /// The answer.
        reply: oneshot::Sender<bool>,
    },
}

/// Answers `request` from `node` when answering only reads the node's state (`verified` is its
/// last verified layer): the same answers for a live node and for a node of a finished
/// simulation (`smesh sim run --serve`). Hands back the requests that need the live node (a
/// submission).
pub fn answer_read(
    node: &spacemesh_core::node::Node,
    verified: u32,
    request: ApiRequest,
) -> Option<ApiRequest> {
    match request {
        ApiRequest::Account { address, reply } => {
            let _ = reply.send(node.account(&address));
        }
        ApiRequest::Principal { address, reply } => {
            let spawned = node.consensus().map(|c| c.mesh().account(&address).spawned);
            let _ = reply.send(spawned);
        }
        ApiRequest::Layers { first, last, reply } => {
            let layers = node.consensus().map_or_else(Vec::new, |c| {
                kept(c, first, last)
                    .filter_map(|l| c.mesh().layer(spacemesh_core::types::LayerId(l)).cloned())
                    .collect()
            });
            let _ = reply.send(LayersAnswer { layers, verified });
        }
        ApiRequest::TxStatus { id, reply } => {
            let _ = reply.send(node.tx_status(&id).map(Into::into));
        }
        ApiRequest::Transactions { query, reply } => {
            let _ = reply.send(node.consensus().map_or_else(Vec::new, |c| c.list_txs(&query)));
        }
        ApiRequest::Rewards { first, last, reply } => {
            let rewards = node.consensus().map_or_else(Vec::new, |c| {
                kept(c, first, last)
                    .filter_map(|l| c.layer_rewards(spacemesh_core::types::LayerId(l)))
                    .flatten()
                    .collect()
            });
            let _ = reply.send(rewards);
        }
        ApiRequest::Activations { filter, offset, limit, reply } => {
            let atxs = node.consensus().map_or_else(Vec::new, |c| {
                let mut found: Vec<_> =
                    c.atxs().store().iter().filter(|h| filter.admits(h)).collect();
                found.sort_by_key(|h| (h.publish_epoch, h.id));
                found.into_iter().skip(offset).take(limit).cloned().collect()
            });
            let _ = reply.send(atxs);
        }
        ApiRequest::ActivationsCount { epoch, reply } => {
            let count = node.consensus().map_or(0, |c| {
                let store = c.atxs().store();
                match epoch {
                    Some(e) => store
                        .iter()
                        .filter(|h| h.publish_epoch == spacemesh_core::types::EpochId(e))
                        .count(),
                    None => store.len(),
                }
            });
            let _ = reply.send(count as u64);
        }
        ApiRequest::HighestAtx { reply } => {
            let highest = node.consensus().and_then(|c| {
                c.atxs()
                    .store()
                    .iter()
                    .max_by(|a, b| a.height().cmp(&b.height()).then(b.id.cmp(&a.id)))
                    .cloned()
            });
            let _ = reply.send(highest);
        }
        ApiRequest::Malfeasance { reply } => {
            use spacemesh_core::malfeasance::Evidence;
            let proofs = node.consensus().map_or_else(Vec::new, |c| {
                let set = c.malicious();
                set.identities()
                    .filter_map(|id| {
                        let kind = match set.proof(id)?.evidence {
                            Evidence::MultipleAtxs(..) => 1,
                            Evidence::MultipleBallots(..) => 2,
                            Evidence::HareEquivocation(..) => 3,
                            Evidence::InvalidPostIndex { .. } => 4,
                        };
                        Some((*id, kind))
                    })
                    .collect()
            });
            let _ = reply.send(proofs);
        }
        ApiRequest::RewardsPage { first, last, reply } => {
            let page = layer_page(node, first, last, |c, l| c.layer_rewards(l));
            let _ = reply.send(page);
        }
        ApiRequest::TxsPage { first, last, reply } => {
            let page = layer_page(node, first, last, |c, l| {
                let txs = c.layer_txs(l)?;
                Some(txs.into_iter().filter_map(|tx| parsed_tx(c, tx)).collect())
            });
            let _ = reply.send(page);
        }
        ApiRequest::AtxsSince { filter, after, limit, reply } => {
            let now = node.now();
            let atxs = node.consensus().map_or_else(Vec::new, |c| {
                let store = c.atxs().store();
                let mut found: Vec<_> = store
                    .iter()
                    .filter(|h| filter.admits(h))
                    .filter_map(|h| Some((store.received(&h.id)?, h)))
                    .filter(|(t, h)| *t < now && after.is_none_or(|a| (*t, h.id) > a))
                    .collect();
                found.sort_by_key(|(t, h)| (*t, h.id));
                found.into_iter().take(limit).map(|(t, h)| (t, h.clone())).collect()
            });
            let _ = reply.send(atxs);
        }
        ApiRequest::MalfeasanceSince { after, limit, reply } => {
            let now = node.now();
            let proofs = node.consensus().map_or_else(Vec::new, |c| {
                let set = c.malicious();
                let mut found: Vec<_> = set
                    .identities()
                    .filter_map(|id| Some((set.learned(id)?, *id, proof_type(set.proof(id)?))))
                    .filter(|(t, id, _)| *t < now && after.is_none_or(|a| (*t, *id) > a))
                    .collect();
                found.sort_by_key(|(t, id, _)| (*t, *id));
                found.truncate(limit);
                found
            });
            let _ = reply.send(proofs);
        }
        ApiRequest::Progress { reply } => {
            let progress = node.consensus().map(|c| {
                let t = c.tortoise();
                (t.last_tallied().0, t.processed().0)
            });
            let _ = reply.send(progress);
        }
        ApiRequest::Coinbase { reply } => {
            let _ = reply.send(node.coinbase());
        }
        ApiRequest::Smeshing { reply } => {
            let _ = reply.send(node.smeshing());
        }
        ApiRequest::Peers { reply } => {
            let now = node.now();
            let peers = node.peers();
            let connected = peers
                .connected()
                .filter_map(|p| {
                    let (outbound, since, addr) = peers.connection(p)?;
                    Some(PeerConnection {
                        peer: *p,
                        outbound,
                        uptime: std::time::Duration::from_micros(now.0.saturating_sub(since.0)),
                        address: addr.map(|a| String::from_utf8_lossy(&a).into_owned()),
                    })
                })
                .collect();
            let _ = reply.send(connected);
        }
        live @ (ApiRequest::Submit { .. }
        | ApiRequest::SetSmeshing { .. }
        | ApiRequest::SetCoinbase { .. }) => return Some(live),
    }
    None
}

/// go-spacemesh's type of a malfeasance proof (1 multiple ATXs, 2 multiple ballots, 3 hare
/// equivocation, 4 invalid PoST index).
fn proof_type(proof: &spacemesh_core::malfeasance::MalfeasanceProof) -> u32 {
    use spacemesh_core::malfeasance::Evidence;
    match proof.evidence {
        Evidence::MultipleAtxs(..) => 1,
        Evidence::MultipleBallots(..) => 2,
        Evidence::HareEquivocation(..) => 3,
        Evidence::InvalidPostIndex { .. } => 4,
    }
}

/// What `of` says of each kept applied layer of `first..=last` (at most
/// [`LAYERS_ANSWER_MAX`]; layers it answers `None` for are left out).
fn layer_page<T>(
    node: &spacemesh_core::node::Node,
    first: u32,
    last: u32,
    of: impl Fn(
        &spacemesh_core::node::consensus::Consensus,
        spacemesh_core::types::LayerId,
    ) -> Option<Vec<T>>,
) -> LayerPage<T> {
    let Some(c) = node.consensus() else { return LayerPage { items: Vec::new(), through: None } };
    let range = kept(c, first, last);
    let through = (!range.is_empty()).then(|| *range.end());
    let items = range.filter_map(|l| of(c, spacemesh_core::types::LayerId(l))).flatten().collect();
    LayerPage { items, through }
}

/// `tx` with its parse against its principal's current state (`None` if it no longer parses,
/// which an executed transaction always does).
fn parsed_tx(
    c: &spacemesh_core::node::consensus::Consensus,
    tx: spacemesh_core::node::consensus::LayerTx,
) -> Option<LayerTxInfo> {
    let principal = spacemesh_core::tx::principal_of(&tx.raw).ok()?;
    let spawned = c.mesh().account(&principal).spawned;
    let parsed = spacemesh_core::tx::parse(&tx.raw, spawned.as_ref()).ok()?;
    Some(LayerTxInfo { tx, parsed })
}

/// The answer to a layer-indexed page ([`ApiRequest::RewardsPage`], [`ApiRequest::TxsPage`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerPage<T> {
    /// What the layers hold, oldest layer first.
    pub items: Vec<T>,
    /// The last layer looked at (`None`: no kept applied layer in the range yet).
    pub through: Option<u32>,
}

/// A transaction of an applied layer, as [`ApiRequest::TxsPage`] answers it.
#[derive(Debug, Clone)]
pub struct LayerTxInfo {
    /// The transaction, its layer and result.
    pub tx: spacemesh_core::node::consensus::LayerTx,
    /// Its parse.
    pub parsed: spacemesh_core::tx::ParsedTx,
}

/// The applied layers of `first..=last` that the mesh keeps, at most [`LAYERS_ANSWER_MAX`].
fn kept(
    consensus: &spacemesh_core::node::consensus::Consensus,
    first: u32,
    last: u32,
) -> std::ops::RangeInclusive<u32> {
    let mesh = consensus.mesh();
    let first = first.max(mesh.revertible_to().0);
    let last = last.min(mesh.applied().0);
    first..=last.min(first.saturating_add(LAYERS_ANSWER_MAX - 1))
}

/// Which ATXs an [`ApiRequest::Activations`] asks for (every set condition must hold).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AtxFilter {
    /// Lowest publish epoch.
    pub start_epoch: u32,
    /// Highest publish epoch (`None`: no bound).
    pub end_epoch: Option<u32>,
    /// One of these ids, if any.
    pub ids: Vec<spacemesh_core::activation::wire::AtxId>,
    /// Of one of these identities, if any.
    pub smeshers: Vec<spacemesh_core::types::NodeId>,
    /// With this coinbase.
    pub coinbase: Option<Address>,
}

impl AtxFilter {
    /// Whether `h` passes.
    pub fn admits(&self, h: &spacemesh_core::activation::store::AtxHeader) -> bool {
        h.publish_epoch.0 >= self.start_epoch
            && self.end_epoch.is_none_or(|e| h.publish_epoch.0 <= e)
            && (self.ids.is_empty() || self.ids.contains(&h.id))
            && (self.smeshers.is_empty() || self.smeshers.contains(&h.smesher))
            && self.coinbase.is_none_or(|c| h.coinbase == c)
    }
}

/// Most layers one [`ApiRequest::Layers`] answers with.
pub const LAYERS_ANSWER_MAX: u32 = 1000;

/// The answer to [`ApiRequest::Layers`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayersAnswer {
    /// The kept applied layers asked for, oldest first.
    pub layers: Vec<spacemesh_core::mesh::AppliedLayer>,
    /// The tortoise's last verified layer (0 before any).
    pub verified: u32,
}

/// The network a node is on, as the API reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// Address prefix.
    pub hrp: String,
    /// Genesis id.
    pub genesis: GenesisId,
}

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// Questions to the node loop.
    pub requests: mpsc::Sender<ApiRequest>,
    /// The live status (sync and layers).
    pub status: SharedStatus,
    /// The network.
    pub network: Network,
}

/// The routes of this API on `state`.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/accounts/{address}", get(account))
        .route("/v1/transactions", post(submit))
        .route("/v1/transactions/{id}", get(tx_status))
        .route("/v1/node", get(node_info))
        .layer(DefaultBodyLimit::max(BODY_MAX))
        .with_state(state)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(ApiError { error: message.into() })).into_response()
}

/// Sends a question to the node loop and waits (at most [`ANSWER_TIMEOUT`]) for its answer; the
/// error says why there is none. Every API frontend (these endpoints, gRPC, the JSON gateway)
/// asks through here.
pub(crate) async fn ask_node<T>(
    requests: &mpsc::Sender<ApiRequest>,
    make: impl FnOnce(oneshot::Sender<T>) -> ApiRequest,
) -> Result<T, &'static str> {
    let (reply, answer) = oneshot::channel();
    let asked = async {
        requests.send(make(reply)).await.map_err(|_| "the node is stopping")?;
        answer.await.map_err(|_| "the node dropped the question (it is stopping)")
    };
    tokio::time::timeout(ANSWER_TIMEOUT, asked)
        .await
        .map_err(|_| "the node did not answer in time; try again")?
}

/// [`ask_node`], its failure as a 503 answer.
async fn ask<T>(
    state: &ApiState,
    make: impl FnOnce(oneshot::Sender<T>) -> ApiRequest,
) -> Result<T, Response> {
    ask_node(&state.requests, make).await.map_err(|why| error(StatusCode::SERVICE_UNAVAILABLE, why))
}

async fn account(State(state): State<ApiState>, Path(text): Path<String>) -> Response {
    let address = match Address::from_bech32(&text, &state.network.hrp) {
        Ok(a) => a,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("address {text:?}: {e}")),
    };
    match ask(&state, |reply| ApiRequest::Account { address, reply }).await {
        Ok(Some(view)) => {
            axum::Json(AccountInfo { address: text, state: view.into() }).into_response()
        }
        Ok(None) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "this node keeps no account state (it runs without consensus)",
        ),
        Err(r) => r,
    }
}

/// The `{"raw": hex}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJson {
    raw: String,
}

/// The transaction bytes of a body: JSON with hex when the content type says JSON, else the
/// body itself.
fn raw_of(headers: &HeaderMap, body: Bytes) -> Result<Bytes, String> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let raw = if json {
        let parsed: RawJson = serde_json::from_slice(&body)
            .map_err(|e| format!("the body is not JSON {{\"raw\": \"<hex>\"}}: {e}"))?;
        let hex = parsed.raw.strip_prefix("0x").unwrap_or(&parsed.raw);
        Bytes::from(decode_hex(hex).ok_or("\"raw\" is not an even number of hex digits")?)
    } else {
        body
    };
    if raw.is_empty() {
        return Err("empty transaction".into());
    }
    Ok(raw)
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

async fn submit(State(state): State<ApiState>, headers: HeaderMap, body: Bytes) -> Response {
    let raw = match raw_of(&headers, body) {
        Ok(raw) => raw,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let id = tx_id(&raw).to_string();
    match ask(&state, |reply| ApiRequest::Submit { raw, reply }).await {
        Ok(Ok(())) => axum::Json(SubmitAnswer { id, accepted: true, reason: None }).into_response(),
        Ok(Err(reason)) => {
            axum::Json(SubmitAnswer { id, accepted: false, reason: Some(reason) }).into_response()
        }
        Err(r) => r,
    }
}

async fn tx_status(State(state): State<ApiState>, Path(text): Path<String>) -> Response {
    let Some(id) = Hash32::from_hex(&text) else {
        return error(StatusCode::BAD_REQUEST, format!("{text:?} is not a 32-byte hex id"));
    };
    match ask(&state, |reply| ApiRequest::TxStatus { id, reply }).await {
        Ok(Some(status)) => {
            axum::Json(TxStatusAnswer { id: id.to_string(), status }).into_response()
        }
        Ok(None) => error(StatusCode::NOT_FOUND, format!("the node knows no transaction {id}")),
        Err(r) => r,
    }
}

async fn node_info(State(state): State<ApiState>) -> Response {
    let (synced, layer, applied_layer) = state
        .status
        .lock()
        .map(|s| (s.synced, s.current_layer, s.applied_layer))
        .unwrap_or_default();
    axum::Json(NodeInfo {
        synced,
        layer,
        applied_layer,
        hrp: state.network.hrp.clone(),
        genesis_id: state.network.genesis.to_string(),
    })
    .into_response()
}

#[cfg(test)]
pub(crate) mod tests;

/// A connected peer, as [`ApiRequest::Peers`] answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConnection {
    /// Its p2p key.
    pub peer: spacemesh_core::PeerId,
    /// Whether this node dialed it.
    pub outbound: bool,
    /// How long the connection is up (as of the node's last input).
    pub uptime: Duration,
    /// Where it is reached (`ip:port`), if known.
    pub address: Option<String>,
}
