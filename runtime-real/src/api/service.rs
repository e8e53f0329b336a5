//! The v2alpha1 services, answered from the node: constants from the settings, live status from
//! the shared status, and everything the node owns (accounts, layers, submissions) as
//! [`ApiRequest`]s to the node loop, the same channel the HTTP account endpoints use.
//!
//! Fields with no source in this node stay at their proto default; each says so where it is set.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use spacemesh_core::account::Address;
use spacemesh_core::activation::store::AtxHeader;
use spacemesh_core::mesh::AppliedLayer;
use spacemesh_core::node::AccountView;
use spacemesh_core::types::{GenesisId, Hash32, NodeId};
use tokio::sync::mpsc;
use tonic::{Request, Response, Status};

use super::proto::google::rpc;
use super::proto::spacemesh::v2alpha1 as pb;
use crate::account_api::{self, ApiRequest, AtxFilter, LayersAnswer};
use crate::status::SharedStatus;

/// Most addresses one Account.List asks for (go-spacemesh's bound too).
pub const ACCOUNTS_MAX: u64 = 100;
/// Most layers one Layer.List answers with.
pub const LAYERS_MAX: u64 = 100;

/// The network's constants, as Network.Info reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkConstants {
    /// Start of layer 0, microseconds since the Unix epoch.
    pub genesis_time_us: u64,
    /// Length of a layer.
    pub layer_duration: Duration,
    /// The genesis id transactions sign over.
    pub genesis: GenesisId,
    /// Address prefix.
    pub hrp: String,
    /// The first layer after genesis.
    pub effective_genesis_layer: u32,
    /// Layers per epoch.
    pub layers_per_epoch: u32,
    /// PoST labels in a space unit.
    pub labels_per_unit: u64,
}

/// What the services read from: the node loop's request channel, the live status and the
/// network's constants. One value serves gRPC and the JSON gateway alike.
#[derive(Debug, Clone)]
pub struct V2alpha1 {
    inner: Arc<Context>,
}

#[derive(Debug)]
struct Context {
    requests: mpsc::Sender<ApiRequest>,
    status: SharedStatus,
    network: NetworkConstants,
    /// The open streams' slots (see [`STREAMS_MAX`]).
    streams: Arc<tokio::sync::Semaphore>,
}

/// Most streams open at once over all listeners: each one asks the node loop every half
/// second while it watches, so an unbounded number would slow the node for everyone.
pub const STREAMS_MAX: usize = 256;

impl V2alpha1 {
    /// Services asking `requests` (the node loop) and reading `status`.
    pub fn new(
        requests: mpsc::Sender<ApiRequest>,
        status: SharedStatus,
        network: NetworkConstants,
    ) -> Self {
        let streams = Arc::new(tokio::sync::Semaphore::new(STREAMS_MAX));
        V2alpha1 { inner: Arc::new(Context { requests, status, network, streams }) }
    }

    /// A slot for one more open stream, held while it is open; RESOURCE_EXHAUSTED when
    /// [`STREAMS_MAX`] are open.
    pub(super) fn stream_slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, Status> {
        Arc::clone(&self.inner.streams).try_acquire_owned().map_err(|_| {
            Status::resource_exhausted(format!(
                "{STREAMS_MAX} streams are open on this node; try again when one ends"
            ))
        })
    }

    pub(super) async fn ask<T>(
        &self,
        make: impl FnOnce(tokio::sync::oneshot::Sender<T>) -> ApiRequest,
    ) -> Result<T, Status> {
        account_api::ask_node(&self.inner.requests, make).await.map_err(Status::unavailable)
    }

    /// The kept applied layers in `first..=last` (bounded by the node loop).
    pub(super) async fn layers(&self, first: u32, last: u32) -> Result<LayersAnswer, Status> {
        self.ask(|reply| ApiRequest::Layers { first, last, reply }).await
    }

    /// The network's address prefix.
    pub(super) fn hrp(&self) -> &str {
        &self.inner.network.hrp
    }

    pub(super) fn address(&self, text: &str) -> Result<Address, Status> {
        Address::from_bech32(text, &self.inner.network.hrp)
            .map_err(|e| Status::invalid_argument(format!("address {text:?}: {e}")))
    }

    /// The rewards a request's `filter_by` admits: of `coinbase` (an address) or of `smesher`
    /// (an identity's 32 bytes), whichever it names; every reward when it names neither.
    pub(super) fn reward_filter(
        &self,
        coinbase: Option<&str>,
        smesher: Option<&[u8]>,
    ) -> Result<RewardFilter, Status> {
        Ok(RewardFilter {
            coinbase: coinbase.map(|text| self.address(text)).transpose()?,
            smesher: smesher.map(|bytes| id32(bytes, "smesher").map(NodeId)).transpose()?,
        })
    }

    /// The ATXs a request admits: publish epoch from `start_epoch` to `end_epoch` (0: no
    /// bound), one of `ids` and of `smeshers` when given, `coinbase` when not empty.
    pub(super) fn atx_filter(
        &self,
        start_epoch: u32,
        end_epoch: u32,
        ids: &[Vec<u8>],
        smeshers: &[Vec<u8>],
        coinbase: &str,
    ) -> Result<AtxFilter, Status> {
        let end_epoch = (end_epoch != 0).then_some(end_epoch);
        if end_epoch.is_some_and(|e| e < start_epoch) {
            return Err(Status::invalid_argument("end_epoch is below start_epoch"));
        }
        Ok(AtxFilter {
            start_epoch,
            end_epoch,
            ids: ids.iter().map(|b| id32(b, "id").map(Hash32)).collect::<Result<_, _>>()?,
            smeshers: smeshers
                .iter()
                .map(|b| id32(b, "smesher_id").map(NodeId))
                .collect::<Result<_, _>>()?,
            coinbase: if coinbase.is_empty() { None } else { Some(self.address(coinbase)?) },
        })
    }
}

/// Which rewards a Reward.List or Reward.Stream request asks for.
#[derive(Clone, Copy)]
pub(super) struct RewardFilter {
    coinbase: Option<Address>,
    smesher: Option<NodeId>,
}

impl RewardFilter {
    /// Whether `w` passes.
    pub(super) fn admits(&self, w: &spacemesh_core::node::consensus::LayerReward) -> bool {
        self.coinbase.is_none_or(|c| w.coinbase == c) && self.smesher.is_none_or(|s| w.smesher == s)
    }
}

/// The last layer of a `start_layer..=end_layer` request (`end_layer` 0: no upper bound).
pub(super) fn last_layer(start_layer: u32, end_layer: u32) -> Result<u32, Status> {
    let last = if end_layer == 0 { u32::MAX } else { end_layer };
    if last < start_layer {
        return Err(Status::invalid_argument("end_layer is below start_layer"));
    }
    Ok(last)
}

/// `offset` and `limit` of a list request over `len` items: the range to answer with.
fn page(offset: u64, limit: u64, limit_max: u64, len: usize) -> Result<(usize, usize), Status> {
    if limit == 0 {
        return Err(Status::invalid_argument("limit must be set (1 to the maximum)"));
    }
    if limit > limit_max {
        return Err(Status::invalid_argument(format!("limit is capped at {limit_max}")));
    }
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(len);
    let end = start.saturating_add(usize::try_from(limit).unwrap_or(usize::MAX)).min(len);
    Ok((start, end))
}

pub(super) fn proto_layer(l: &AppliedLayer, verified: u32) -> pb::Layer {
    let status = if l.layer.0 <= verified {
        pb::layer::LayerStatus::Verified
    } else {
        pb::layer::LayerStatus::Applied
    };
    pb::Layer {
        number: l.layer.0,
        status: status.into(),
        // The aggregated hash: the layer's opinion, chained over the blocks since genesis.
        consensus_hash: l.aggregated.to_string(),
        // The accounts' state root after the layer.
        state_hash: l.root.0.to_vec(),
        // The state hash, chained over every layer since genesis.
        cumulative_state_hash: l.state.0.to_vec(),
        block: l.block.map(|b| pb::Block { id: b.0.to_vec() }),
    }
}

fn proto_account(address: String, view: &AccountView, hrp: &str) -> pb::Account {
    let layer = view.layer.0;
    pb::Account {
        address,
        current: Some(pb::AccountState { counter: view.next_nonce, balance: view.balance, layer }),
        projected: Some(pb::AccountState {
            counter: view.projected_nonce,
            balance: view.projected_balance,
            layer,
        }),
        // Unspawned accounts have no template: the empty string, as in go-spacemesh.
        template: view.template.map(|t| t.address().to_bech32(hrp)).unwrap_or_default(),
    }
}

#[tonic::async_trait]
impl pb::network_service_server::NetworkService for V2alpha1 {
    async fn info(
        &self,
        _: Request<pb::NetworkInfoRequest>,
    ) -> Result<Response<pb::NetworkInfoResponse>, Status> {
        let n = &self.inner.network;
        let secs = n.genesis_time_us / 1_000_000;
        let nanos = (n.genesis_time_us % 1_000_000) * 1000;
        Ok(Response::new(pb::NetworkInfoResponse {
            genesis_time: Some(pbjson_types::Timestamp {
                seconds: i64::try_from(secs).unwrap_or(i64::MAX),
                nanos: i32::try_from(nanos).unwrap_or(0),
            }),
            layer_duration: Some(pbjson_types::Duration {
                seconds: i64::try_from(n.layer_duration.as_secs()).unwrap_or(i64::MAX),
                nanos: i32::try_from(n.layer_duration.subsec_nanos()).unwrap_or(0),
            }),
            genesis_id: n.genesis.as_bytes().to_vec(),
            hrp: n.hrp.clone(),
            effective_genesis_layer: n.effective_genesis_layer,
            layers_per_epoch: n.layers_per_epoch,
            labels_per_unit: n.labels_per_unit,
        }))
    }
}

#[tonic::async_trait]
impl pb::node_service_server::NodeService for V2alpha1 {
    /// `latest_layer` is the newest layer whose votes the tortoise tallied, `processed_layer`
    /// the newest it processed (both asked of the node loop; 0 before any).
    async fn status(
        &self,
        _: Request<pb::NodeStatusRequest>,
    ) -> Result<Response<pb::NodeStatusResponse>, Status> {
        let s = self
            .inner
            .status
            .lock()
            .map_err(|_| Status::internal("the node's status is poisoned (a thread panicked)"))?
            .clone();
        let (latest, processed) =
            self.ask(|reply| ApiRequest::Progress { reply }).await?.unwrap_or((0, 0));
        use pb::node_status_response::SyncStatus;
        let sync = match (s.synced, s.peers) {
            (true, _) => SyncStatus::Synced,
            (false, 0) => SyncStatus::Offline,
            (false, _) => SyncStatus::Syncing,
        };
        Ok(Response::new(pb::NodeStatusResponse {
            connected_peers: s.peers,
            status: sync.into(),
            latest_layer: latest,
            applied_layer: s.applied_layer.unwrap_or(0),
            processed_layer: processed,
            current_layer: s.current_layer,
        }))
    }
}

#[tonic::async_trait]
impl pb::account_service_server::AccountService for V2alpha1 {
    async fn list(
        &self,
        request: Request<pb::AccountRequest>,
    ) -> Result<Response<pb::AccountList>, Status> {
        let r = request.into_inner();
        if r.addresses.is_empty() {
            return Err(Status::invalid_argument("addresses must name at least one account"));
        }
        let (start, end) = page(r.offset, r.limit, ACCOUNTS_MAX, r.addresses.len())?;
        let mut accounts = Vec::with_capacity(end - start);
        for text in &r.addresses[start..end] {
            let address = self.address(text)?;
            let view = self.ask(|reply| ApiRequest::Account { address, reply }).await?;
            let view = view.ok_or_else(|| {
                Status::unavailable("this node keeps no account state (it runs without consensus)")
            })?;
            accounts.push(proto_account(text.clone(), &view, &self.inner.network.hrp));
        }
        Ok(Response::new(pb::AccountList { accounts }))
    }
}

#[tonic::async_trait]
impl pb::layer_service_server::LayerService for V2alpha1 {
    /// Layers the node keeps in memory (its last `revert_max` applied layers); older ones are
    /// not answered. `end_layer` 0 means up to the last applied layer.
    async fn list(
        &self,
        request: Request<pb::LayerRequest>,
    ) -> Result<Response<pb::LayerList>, Status> {
        let r = request.into_inner();
        let last = last_layer(r.start_layer, r.end_layer)?;
        let desc = r.sort_order == i32::from(pb::SortOrder::Desc);
        // The node answers at most LAYERS_ANSWER_MAX layers from the first asked for: newest
        // first wants the ones below the top, not above the start.
        let first = if desc {
            let applied = self.inner.status.lock().ok().and_then(|s| s.applied_layer).unwrap_or(0);
            let top = last.min(applied);
            r.start_layer.max(top.saturating_sub(account_api::LAYERS_ANSWER_MAX - 1))
        } else {
            r.start_layer
        };
        let answer = self.layers(first, last).await?;
        let mut layers = answer.layers;
        if desc {
            layers.reverse();
        }
        let (start, end) = page(r.offset, r.limit, LAYERS_MAX, layers.len())?;
        let layers = layers[start..end].iter().map(|l| proto_layer(l, answer.verified)).collect();
        Ok(Response::new(pb::LayerList { layers }))
    }
}

impl V2alpha1 {
    /// Parses `raw` against its principal's state as the node has it.
    async fn parse(&self, raw: &[u8]) -> Result<spacemesh_core::tx::ParsedTx, Status> {
        if raw.is_empty() {
            return Err(Status::invalid_argument("transaction is empty"));
        }
        let invalid = |e: spacemesh_core::tx::TxError| Status::invalid_argument(e.to_string());
        let address = spacemesh_core::tx::principal_of(raw).map_err(invalid)?;
        let spawned = self.ask(|reply| ApiRequest::Principal { address, reply }).await?;
        let spawned = spawned.ok_or_else(|| {
            Status::unavailable("this node keeps no account state (it runs without consensus)")
        })?;
        spacemesh_core::tx::parse(raw, spawned.as_ref()).map_err(invalid)
    }
}

fn ok_status() -> rpc::Status {
    rpc::Status { code: tonic::Code::Ok as i32, ..Default::default() }
}

#[tonic::async_trait]
impl pb::transaction_service_server::TransactionService for V2alpha1 {
    /// The node's transactions (see [`super::tx::list_query`] for what a request may ask and
    /// [`super::tx::proto_listed`] for how each is shown).
    async fn list(
        &self,
        request: Request<pb::TransactionRequest>,
    ) -> Result<Response<pb::TransactionList>, Status> {
        let r = request.into_inner();
        // An empty address is no filter (JSON clients may send one).
        let address =
            r.address.as_deref().filter(|a| !a.is_empty()).map(|a| self.address(a)).transpose()?;
        let query = super::tx::list_query(&r, address)?;
        let listed = self.ask(|reply| ApiRequest::Transactions { query, reply }).await?;
        let hrp = &self.inner.network.hrp;
        let transactions = listed
            .iter()
            .map(|t| super::tx::proto_listed(t, hrp, r.include_state, r.include_result))
            .collect();
        Ok(Response::new(pb::TransactionList { transactions }))
    }

    /// A transaction that does not parse against its principal's state, or (with `verify`)
    /// whose signatures do not verify, is InvalidArgument (as go-spacemesh answers).
    async fn parse_transaction(
        &self,
        request: Request<pb::ParseTransactionRequest>,
    ) -> Result<Response<pb::ParseTransactionResponse>, Status> {
        let r = request.into_inner();
        let parsed = self.parse(&r.transaction).await?;
        let genesis = &self.inner.network.genesis;
        let verifier = spacemesh_core::crypto::Ed25519Verifier;
        if r.verify && !spacemesh_core::tx::verify(&parsed, &r.transaction, genesis, &verifier) {
            return Err(Status::invalid_argument("the signature is invalid"));
        }
        let tx = super::tx::proto_tx(&parsed, &r.transaction, &self.inner.network.hrp);
        Ok(Response::new(pb::ParseTransactionResponse { status: Some(ok_status()), tx: Some(tx) }))
    }

    /// The gas the transaction is charged up front (its `max_gas`: base, data and execution
    /// gas of its template and call), the same figure its fee is bounded by.
    async fn estimate_gas(
        &self,
        request: Request<pb::EstimateGasRequest>,
    ) -> Result<Response<pb::EstimateGasResponse>, Status> {
        let parsed = self.parse(&request.into_inner().transaction).await?;
        Ok(Response::new(pb::EstimateGasResponse {
            status: Some(ok_status()),
            recommended_max_gas: parsed.max_gas,
        }))
    }

    /// A transaction the node's mempool refuses is answered OK with the reason in `status`
    /// (as go-spacemesh does); an unusable request is an error.
    async fn submit_transaction(
        &self,
        request: Request<pb::SubmitTransactionRequest>,
    ) -> Result<Response<pb::SubmitTransactionResponse>, Status> {
        let raw = Bytes::from(request.into_inner().transaction);
        if raw.is_empty() {
            return Err(Status::invalid_argument("transaction is empty"));
        }
        let id = spacemesh_core::tx::tx_id(&raw);
        let result = self.ask(|reply| ApiRequest::Submit { raw, reply }).await?;
        let status = match result {
            Ok(()) => ok_status(),
            Err(reason) => rpc::Status {
                code: tonic::Code::InvalidArgument as i32,
                message: reason,
                details: Vec::new(),
            },
        };
        Ok(Response::new(pb::SubmitTransactionResponse {
            status: Some(status),
            tx_id: id.0.to_vec(),
        }))
    }
}

/// Most rewards, ATXs or proofs one list answers with (go-spacemesh's bound too).
pub const LIST_MAX: u64 = 100;

/// A 32-byte id from the request's bytes.
pub(super) fn id32(bytes: &[u8], what: &str) -> Result<[u8; 32], Status> {
    <[u8; 32]>::try_from(bytes).map_err(|_| {
        Status::invalid_argument(format!("{what} must be 32 bytes, not {}", bytes.len()))
    })
}

pub(super) fn proto_activation(h: &AtxHeader, hrp: &str) -> pb::Activation {
    pb::Activation {
        id: h.id.0.to_vec(),
        smesher_id: h.smesher.0.to_vec(),
        publish_epoch: h.publish_epoch.0,
        coinbase: h.coinbase.to_bech32(hrp),
        weight: h.weight,
        height: h.height(),
        num_units: h.num_units,
    }
}

#[tonic::async_trait]
impl pb::reward_service_server::RewardService for V2alpha1 {
    /// Rewards credited in the layers the node keeps (its last `revert_max` applied layers,
    /// while it still holds their blocks); older ones are not answered. `end_layer` 0 means up
    /// to the last applied layer. Without a filter, every reward in the range.
    async fn list(
        &self,
        request: Request<pb::RewardRequest>,
    ) -> Result<Response<pb::RewardList>, Status> {
        use pb::reward_request::FilterBy;
        let r = request.into_inner();
        let last = last_layer(r.start_layer, r.end_layer)?;
        let filter = match &r.filter_by {
            Some(FilterBy::Coinbase(text)) => self.reward_filter(Some(text), None)?,
            Some(FilterBy::Smesher(bytes)) => self.reward_filter(None, Some(bytes))?,
            None => self.reward_filter(None, None)?,
        };
        let desc = r.sort_order == i32::from(pb::SortOrder::Desc);
        let first = if desc {
            let applied = self.inner.status.lock().ok().and_then(|s| s.applied_layer).unwrap_or(0);
            let top = last.min(applied);
            r.start_layer.max(top.saturating_sub(account_api::LAYERS_ANSWER_MAX - 1))
        } else {
            r.start_layer
        };
        let mut rewards: Vec<_> = self
            .ask(|reply| ApiRequest::Rewards { first, last, reply })
            .await?
            .into_iter()
            .filter(|w| filter.admits(w))
            .collect();
        if desc {
            rewards.reverse();
        }
        let (start, end) = page(r.offset, r.limit, LIST_MAX, rewards.len())?;
        let hrp = &self.inner.network.hrp;
        let rewards = rewards[start..end].iter().map(|w| proto_reward(w, hrp)).collect();
        Ok(Response::new(pb::RewardList { rewards }))
    }
}

#[tonic::async_trait]
impl pb::activation_service_server::ActivationService for V2alpha1 {
    /// The ATXs the node holds, by publish epoch then id. `end_epoch` 0 means no upper bound;
    /// an empty `coinbase` no coinbase filter.
    async fn list(
        &self,
        request: Request<pb::ActivationRequest>,
    ) -> Result<Response<pb::ActivationList>, Status> {
        let r = request.into_inner();
        let filter =
            self.atx_filter(r.start_epoch, r.end_epoch, &r.id, &r.smesher_id, &r.coinbase)?;
        // Checks limit (the node applies offset and limit).
        page(0, r.limit, LIST_MAX, 0)?;
        let offset = usize::try_from(r.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(r.limit).unwrap_or(usize::MAX);
        let atxs =
            self.ask(|reply| ApiRequest::Activations { filter, offset, limit, reply }).await?;
        let hrp = &self.inner.network.hrp;
        let activations = atxs.iter().map(|h| proto_activation(h, hrp)).collect();
        Ok(Response::new(pb::ActivationList { activations }))
    }

    /// ATXs the node holds, published in `epoch` if set.
    async fn activations_count(
        &self,
        request: Request<pb::ActivationsCountRequest>,
    ) -> Result<Response<pb::ActivationsCountResponse>, Status> {
        let epoch = request.into_inner().epoch;
        let count = self.ask(|reply| ApiRequest::ActivationsCount { epoch, reply }).await?;
        Ok(Response::new(pb::ActivationsCountResponse {
            count: u32::try_from(count).unwrap_or(u32::MAX),
        }))
    }

    /// The ATX of the greatest tick height (NotFound before the node holds any).
    async fn highest(
        &self,
        _: Request<pb::HighestRequest>,
    ) -> Result<Response<pb::HighestResponse>, Status> {
        let highest = self.ask(|reply| ApiRequest::HighestAtx { reply }).await?;
        let h = highest.ok_or_else(|| Status::not_found("the node holds no ATX yet"))?;
        Ok(Response::new(pb::HighestResponse {
            activation: Some(proto_activation(&h, &self.inner.network.hrp)),
        }))
    }
}

#[tonic::async_trait]
impl pb::malfeasance_service_server::MalfeasanceService for V2alpha1 {
    /// The node's proofs, in identity order. `domain` and `type` follow go-spacemesh (type 1
    /// multiple ATXs and 4 invalid PoST index are the activation domain, 2 multiple ballots the
    /// ballot domain, 3 hare equivocation the hare domain). `properties` stays empty: this node
    /// does not describe its proofs as key/value text.
    async fn list(
        &self,
        request: Request<pb::MalfeasanceRequest>,
    ) -> Result<Response<pb::MalfeasanceList>, Status> {
        let r = request.into_inner();
        let wanted: Vec<NodeId> = r
            .smesher_id
            .iter()
            .map(|b| id32(b, "smesher_id").map(NodeId))
            .collect::<Result<_, _>>()?;
        let proofs: Vec<_> = self
            .ask(|reply| ApiRequest::Malfeasance { reply })
            .await?
            .into_iter()
            .filter(|(id, _)| wanted.is_empty() || wanted.contains(id))
            .collect();
        let (start, end) = page(r.offset, r.limit, LIST_MAX, proofs.len())?;
        let proofs = proofs[start..end].iter().map(|(id, kind)| proto_proof(id, *kind)).collect();
        Ok(Response::new(pb::MalfeasanceList { proofs }))
    }
}

/// The v2alpha1 form of a reward, its coinbase as an address of network `hrp`.
pub(super) fn proto_reward(
    w: &spacemesh_core::node::consensus::LayerReward,
    hrp: &str,
) -> pb::Reward {
    pb::Reward {
        layer: w.layer.0,
        total: w.total,
        layer_reward: w.layer_reward,
        coinbase: w.coinbase.to_bech32(hrp),
        smesher: w.smesher.0.to_vec(),
    }
}

/// A proof against `id` of go-spacemesh's type `kind`, with its domain (type 1 multiple ATXs
/// and 4 invalid PoST index are the activation domain, 2 multiple ballots the ballot domain,
/// 3 hare equivocation the hare domain). `properties` stays empty: this node does not describe
/// its proofs as key/value text.
pub(super) fn proto_proof(id: &NodeId, kind: u32) -> pb::MalfeasanceProof {
    use pb::malfeasance_proof::MalfeasanceDomain;
    let domain = match kind {
        1 | 4 => MalfeasanceDomain::DomainActivation,
        2 => MalfeasanceDomain::DomainBallot,
        3 => MalfeasanceDomain::DomainHare,
        _ => MalfeasanceDomain::DomainUnspecified,
    };
    pb::MalfeasanceProof {
        smesher: id.0.to_vec(),
        domain: domain.into(),
        r#type: kind,
        properties: Default::default(),
    }
}
