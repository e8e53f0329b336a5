//! `spacemesh.v1.SmesherService` on the private listener: smeshing status and control, and the
//! PoST data's setup status and parameters.
//!
//! Starting and stopping flip the node's smeshing switch ([`ApiRequest::SetSmeshing`], a
//! command to the node loop): stopped, the identity publishes no ATX, ballot, proposal, hare or
//! certify message (see `Consensus::set_smeshing`); the switch is not persisted, so a restarted
//! node smeshes as configured. The node smeshes with the PoST data directory and units of its
//! configuration: a start naming others is refused (INVALID_ARGUMENT), as is a start on a node
//! configured without smeshing (FAILED_PRECONDITION). `SetCoinbase` (and a start naming a
//! coinbase) sends the rewards of the ATXs published from then on to another address
//! ([`ApiRequest::SetCoinbase`], a command); like the switch it is not persisted.
//!
//! `PostSetupStatusStream` sends the setup status at once and then each change (it looks every
//! half second) until the client leaves; `PostSetupProviders` lists the one provider this node
//! initializes with, the CPU, and with `benchmark` measures its labels per second.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use spacemesh_core::account::Address;
use spacemesh_core::post::PostConfig;
use spacemesh_core::post::init::InitProgress;
use spacemesh_core::post::label::LABEL_BYTES;
use spacemesh_core::types::NodeId;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status};

use super::proto::google::rpc;
use super::proto::spacemesh::v1 as pb;
use super::stream::{ItemStream, Page, poll_stream};
use crate::account_api::{self, ApiRequest};
use crate::post_data::{PostDataError, PostDataInfo};
use crate::status::SharedStatus;

type Empty = pbjson_types::Empty;

/// What the smesher service reports and checks requests against (from the node's settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmesherSettings {
    /// The smeshing identity.
    pub identity: NodeId,
    /// Where its rewards go.
    pub coinbase: Address,
    /// Space units it commits (`None`: the node is configured without smeshing).
    pub num_units: Option<u32>,
    /// The PoST data directory.
    pub post_dir: PathBuf,
    /// The network's PoST parameters.
    pub post: PostConfig,
    /// The network's address prefix.
    pub hrp: String,
}

/// The service: the node loop's request channel, the live status (PoST initialization
/// progress) and the settings.
#[derive(Debug, Clone)]
pub struct Smesher {
    requests: mpsc::Sender<ApiRequest>,
    status: SharedStatus,
    settings: Arc<SmesherSettings>,
    /// The open status streams' slots.
    streams: Arc<tokio::sync::Semaphore>,
}

/// Most PoST setup status streams open at once.
const STATUS_STREAMS_MAX: usize = 16;

/// The id upstream gives the CPU provider.
pub const CPU_PROVIDER_ID: u32 = u32::MAX;

/// How long `PostSetupProviders` with `benchmark` computes labels to measure the CPU's speed.
const BENCHMARK_TIME: std::time::Duration = std::time::Duration::from_millis(250);

impl Smesher {
    /// The service asking `requests` (the node loop) and reading `status`.
    pub fn new(
        requests: mpsc::Sender<ApiRequest>,
        status: SharedStatus,
        settings: SmesherSettings,
    ) -> Self {
        let streams = Arc::new(tokio::sync::Semaphore::new(STATUS_STREAMS_MAX));
        Smesher { requests, status, settings: Arc::new(settings), streams }
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(tokio::sync::oneshot::Sender<T>) -> ApiRequest,
    ) -> Result<T, Status> {
        account_api::ask_node(&self.requests, make).await.map_err(Status::unavailable)
    }

    /// `text` as an address of this network (INVALID_ARGUMENT naming `what` if it is not).
    fn address(&self, what: &str, text: &str) -> Result<Address, Status> {
        Address::from_bech32(text, &self.settings.hrp)
            .map_err(|e| Status::invalid_argument(format!("{what} {text:?}: {e}")))
    }

    /// Sends the rewards of the node's next ATXs to `coinbase`.
    async fn set_coinbase_to(&self, coinbase: Address) -> Result<(), Status> {
        if self.settings.num_units.is_none() {
            return Err(not_smeshing());
        }
        match self.ask(|reply| ApiRequest::SetCoinbase { coinbase, reply }).await? {
            Some(now) if now == coinbase => Ok(()),
            _ => Err(Status::internal("the node did not take the coinbase")),
        }
    }

    /// Where the PoST data stands now.
    async fn setup_status(&self) -> Result<pb::PostSetupStatus, Status> {
        let s = Arc::clone(&self.settings);
        let checkpoint = tokio::task::spawn_blocking(move || PostDataInfo::read(&s.post_dir))
            .await
            .map_err(|e| Status::internal(format!("reading the PoST checkpoint: {e}")))?;
        let live = self
            .status
            .lock()
            .map(|st| InitProgress {
                done: st.post_init_labels_done,
                total: st.post_init_labels_total,
                searched: st.post_init_vrf_search_labels,
            })
            .map_err(|_| Status::internal("the node's status is poisoned (a thread panicked)"))?;
        let s = &self.settings;
        let (state, num_labels_written) = setup_state(&checkpoint, &s.identity, live);
        let info = checkpoint.ok().flatten();
        let opts = pb::PostSetupOpts {
            data_dir: s.post_dir.display().to_string(),
            num_units: s.num_units.or(info.as_ref().map(|i| i.metadata.num_units)).unwrap_or(0),
            max_file_size: info.map_or(0, |i| i.labels_per_file.saturating_mul(LABEL_BYTES as u64)),
            provider_id: Some(CPU_PROVIDER_ID),
            throttle: false,
        };
        Ok(pb::PostSetupStatus { state: state.into(), num_labels_written, opts: Some(opts) })
    }

    async fn set_smeshing(&self, on: bool) -> Result<bool, Status> {
        account_api::ask_node(&self.requests, |reply| ApiRequest::SetSmeshing { on, reply })
            .await
            .map_err(Status::unavailable)
    }

    /// Refuses a start the node cannot honour: it smeshes on its configuration only.
    fn check_start(&self, r: &pb::StartSmeshingRequest) -> Result<(), Status> {
        let s = &self.settings;
        let Some(units) = s.num_units else {
            return Err(not_smeshing());
        };
        if let Some(opts) = &r.opts {
            if !opts.data_dir.is_empty() && !same_dir(Path::new(&opts.data_dir), &s.post_dir) {
                return Err(Status::invalid_argument(format!(
                    "this node's PoST data is in {} (set [smeshing] post_dir and restart to move \
                     it); leave data_dir empty or name that one",
                    s.post_dir.display()
                )));
            }
            if opts.num_units != 0 && opts.num_units != units {
                return Err(Status::invalid_argument(format!(
                    "this node commits {units} units (set [smeshing] units and restart to change \
                     it); leave num_units 0 or name that number"
                )));
            }
        }
        Ok(())
    }
}

fn not_smeshing() -> Status {
    Status::failed_precondition(
        "this node is configured without smeshing: set [smeshing] units and restart it",
    )
}

/// Labels per second one thread computes with `post`'s parameters, measured for `time`.
fn label_rate(post: &PostConfig, time: std::time::Duration) -> u64 {
    let start = std::time::Instant::now();
    let mut labels = 0u64;
    while start.elapsed() < time || labels == 0 {
        std::hint::black_box(spacemesh_core::post::label::label(&[7; 32], labels, &post.scrypt));
        labels += 1;
    }
    (labels as f64 / start.elapsed().as_secs_f64()) as u64
}

/// Whether `a` and `b` name the same directory (as given, or once both resolve).
fn same_dir(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

fn ok_status() -> rpc::Status {
    rpc::Status { code: tonic::Code::Ok as i32, ..Default::default() }
}

/// Where the PoST data stands, from its checkpoint on disk (`checkpoint`) and the progress of
/// a running initialization (`live`, all zero before one ran in this process).
fn setup_state(
    checkpoint: &Result<Option<PostDataInfo>, PostDataError>,
    identity: &NodeId,
    live: InitProgress,
) -> (pb::post_setup_status::State, u64) {
    use pb::post_setup_status::State;
    match checkpoint {
        Err(_) => return (State::Error, live.done),
        Ok(Some(info)) if info.metadata.node_id != *identity => return (State::Error, 0),
        _ => {}
    }
    if live.total > 0 {
        let state = if live.is_complete() { State::Complete } else { State::InProgress };
        return (state, live.done);
    }
    match checkpoint {
        Ok(Some(info)) if info.progress().is_complete() => (State::Complete, info.progress().done),
        // Started once, not running now: it resumes when the node smeshes.
        Ok(Some(info)) => (State::Paused, info.progress().done),
        _ => (State::NotStarted, 0),
    }
}

#[tonic::async_trait]
impl pb::smesher_service_server::SmesherService for Smesher {
    async fn is_smeshing(
        &self,
        _: Request<Empty>,
    ) -> Result<Response<pb::IsSmeshingResponse>, Status> {
        let is_smeshing =
            account_api::ask_node(&self.requests, |reply| ApiRequest::Smeshing { reply })
                .await
                .map_err(Status::unavailable)?;
        Ok(Response::new(pb::IsSmeshingResponse { is_smeshing }))
    }

    /// Starts smeshing on the configured data and units (a request may name them or leave
    /// them empty; `max_file_size`, `provider_id` and `throttle` do not apply here); a coinbase
    /// it names is set first, as `SetCoinbase` does.
    async fn start_smeshing(
        &self,
        request: Request<pb::StartSmeshingRequest>,
    ) -> Result<Response<pb::StartSmeshingResponse>, Status> {
        let r = request.into_inner();
        self.check_start(&r)?;
        if let Some(coinbase) = r.coinbase.as_ref().filter(|c| !c.address.is_empty()) {
            self.set_coinbase_to(self.address("coinbase", &coinbase.address)?).await?;
        }
        if !self.set_smeshing(true).await? {
            return Err(Status::failed_precondition("the node has no smeshing part to start"));
        }
        Ok(Response::new(pb::StartSmeshingResponse { status: Some(ok_status()) }))
    }

    /// Stops smeshing; the PoST data stays (`delete_files` is refused).
    async fn stop_smeshing(
        &self,
        request: Request<pb::StopSmeshingRequest>,
    ) -> Result<Response<pb::StopSmeshingResponse>, Status> {
        if request.into_inner().delete_files {
            return Err(Status::invalid_argument(format!(
                "this node does not delete PoST data: stop without delete_files, then remove {} \
                 yourself if you mean to",
                self.settings.post_dir.display()
            )));
        }
        if self.set_smeshing(false).await? {
            return Err(Status::internal("the node still smeshes after the stop"));
        }
        Ok(Response::new(pb::StopSmeshingResponse { status: Some(ok_status()) }))
    }

    async fn smesher_i_ds(
        &self,
        _: Request<Empty>,
    ) -> Result<Response<pb::SmesherIDsResponse>, Status> {
        Ok(Response::new(pb::SmesherIDsResponse {
            public_keys: vec![self.settings.identity.0.to_vec()],
        }))
    }

    /// The coinbase of the node's next ATXs (the configured one on a node without smeshing).
    async fn coinbase(&self, _: Request<Empty>) -> Result<Response<pb::CoinbaseResponse>, Status> {
        let s = &self.settings;
        let coinbase = self.ask(|reply| ApiRequest::Coinbase { reply }).await?;
        Ok(Response::new(pb::CoinbaseResponse {
            account_id: Some(pb::AccountId {
                address: coinbase.unwrap_or(s.coinbase).to_bech32(&s.hrp),
            }),
        }))
    }

    /// Sends the rewards of the ATXs published from now on to the address (not persisted: set
    /// `[smeshing] coinbase` to keep it across restarts).
    async fn set_coinbase(
        &self,
        request: Request<pb::SetCoinbaseRequest>,
    ) -> Result<Response<pb::SetCoinbaseResponse>, Status> {
        let text = request.into_inner().id.map(|id| id.address).unwrap_or_default();
        if text.is_empty() {
            return Err(Status::invalid_argument("id.address must name the new coinbase"));
        }
        self.set_coinbase_to(self.address("id.address", &text)?).await?;
        Ok(Response::new(pb::SetCoinbaseResponse { status: Some(ok_status()) }))
    }

    /// The data directory's state: its checkpoint on disk and the progress of a running
    /// initialization; ERROR when the checkpoint is damaged or of another identity.
    async fn post_setup_status(
        &self,
        _: Request<Empty>,
    ) -> Result<Response<pb::PostSetupStatusResponse>, Status> {
        Ok(Response::new(pb::PostSetupStatusResponse { status: Some(self.setup_status().await?) }))
    }

    type PostSetupStatusStreamStream = ItemStream<pb::PostSetupStatusStreamResponse>;

    /// The setup status now, then each change, until the client leaves.
    async fn post_setup_status_stream(
        &self,
        _: Request<Empty>,
    ) -> Result<Response<Self::PostSetupStatusStreamStream>, Status> {
        let slot = Arc::clone(&self.streams).try_acquire_owned().map_err(|_| {
            Status::resource_exhausted(format!(
                "{STATUS_STREAMS_MAX} status streams are open; try again when one ends"
            ))
        })?;
        let me = self.clone();
        Ok(Response::new(poll_stream(slot, true, None, move |last| {
            let me = me.clone();
            async move {
                let now = me.setup_status().await?;
                let changed = last.as_ref() != Some(&now);
                let items = if changed {
                    vec![pb::PostSetupStatusStreamResponse { status: Some(now.clone()) }]
                } else {
                    Vec::new()
                };
                Ok(Page { items, next: Some(now), more: false, done: false })
            }
        })))
    }

    /// The CPU, the one provider this node initializes PoST data with; `performance` is its
    /// labels per second on one thread with the network's parameters when `benchmark` is set
    /// (measured for a quarter of a second), else 0.
    async fn post_setup_providers(
        &self,
        request: Request<pb::PostSetupProvidersRequest>,
    ) -> Result<Response<pb::PostSetupProvidersResponse>, Status> {
        let performance = if request.into_inner().benchmark {
            let post = self.settings.post;
            tokio::task::spawn_blocking(move || label_rate(&post, BENCHMARK_TIME))
                .await
                .map_err(|e| Status::internal(format!("the benchmark failed: {e}")))?
        } else {
            0
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Response::new(pb::PostSetupProvidersResponse {
            providers: vec![pb::PostSetupProvider {
                id: CPU_PROVIDER_ID,
                model: format!("CPU ({threads} threads)"),
                device_type: pb::post_setup_provider::DeviceType::DeviceClassCpu.into(),
                performance,
            }],
        }))
    }

    async fn post_config(
        &self,
        _: Request<Empty>,
    ) -> Result<Response<pb::PostConfigResponse>, Status> {
        let p = &self.settings.post;
        Ok(Response::new(pb::PostConfigResponse {
            bits_per_label: (LABEL_BYTES * 8) as u32,
            labels_per_unit: p.labels_per_unit,
            min_num_units: p.min_units,
            max_num_units: p.max_units,
            k1: p.k1,
            k2: p.k2,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pb::post_setup_status::State;
    use spacemesh_core::post::PostMetadata;
    use spacemesh_core::post::init::InitState;

    fn info(node: u8, done: u64, total: u64) -> PostDataInfo {
        let state = InitState {
            commitment: [0; 32],
            num_labels: total,
            scrypt: spacemesh_core::post::label::ScryptParams::new(2, 1, 1).unwrap(),
            next_index: done,
            // Complete data has a nonce; past the end is a search for one.
            vrf_nonce: (done == total)
                .then_some(spacemesh_core::post::VrfNonce { index: 0, label: [0; 32] }),
        };
        PostDataInfo {
            metadata: PostMetadata {
                node_id: NodeId([node; 32]),
                commitment_atx_id: spacemesh_core::Hash32([0; 32]),
                num_units: 1,
                labels_per_unit: total,
            },
            labels_per_file: total,
            state,
        }
    }

    const IDLE: InitProgress = InitProgress { done: 0, total: 0, searched: None };

    /// Each state from what the disk and a running initialization say.
    #[test]
    fn setup_state_follows_disk_and_live_progress() {
        let me = NodeId([1; 32]);
        assert_eq!(setup_state(&Ok(None), &me, IDLE), (State::NotStarted, 0));
        let running = InitProgress { done: 30, total: 100, searched: None };
        assert_eq!(setup_state(&Ok(None), &me, running), (State::InProgress, 30));
        assert_eq!(setup_state(&Ok(Some(info(1, 40, 100))), &me, IDLE), (State::Paused, 40));
        assert_eq!(setup_state(&Ok(Some(info(1, 100, 100))), &me, IDLE), (State::Complete, 100));
        assert_eq!(setup_state(&Ok(Some(info(1, 103, 100))), &me, IDLE), (State::Paused, 100));
        let searching = InitProgress { done: 100, total: 100, searched: Some(4) };
        assert_eq!(setup_state(&Ok(None), &me, searching), (State::InProgress, 100));
        let done = InitProgress { done: 100, total: 100, searched: None };
        assert_eq!(setup_state(&Ok(Some(info(1, 100, 100))), &me, done), (State::Complete, 100));
        assert_eq!(setup_state(&Ok(Some(info(2, 100, 100))), &me, IDLE).0, State::Error);
        let damaged = Err(PostDataError::Damaged { path: "x".into(), what: "bad".into() });
        assert_eq!(setup_state(&damaged, &me, IDLE).0, State::Error);
    }
}
