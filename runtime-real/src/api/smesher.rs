//! `spacemesh.v1.SmesherService` on the private listener: smeshing status and control, and the
//! PoST data's setup status and parameters.
//!
//! Starting and stopping flip the node's smeshing switch ([`ApiRequest::SetSmeshing`], a
//! command to the node loop): stopped, the identity publishes no ATX, ballot, proposal, hare or
//! certify message (see `Consensus::set_smeshing`); the switch is not persisted, so a restarted
//! node smeshes as configured. The node smeshes with the PoST data directory, units and
//! coinbase of its configuration: a start naming others is refused (INVALID_ARGUMENT), as is a
//! start on a node configured without smeshing (FAILED_PRECONDITION). `SetCoinbase` is not
//! served (UNIMPLEMENTED): the coinbase goes into every ATX from the configuration.

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
}

impl Smesher {
    /// The service asking `requests` (the node loop) and reading `status`.
    pub fn new(
        requests: mpsc::Sender<ApiRequest>,
        status: SharedStatus,
        settings: SmesherSettings,
    ) -> Self {
        Smesher { requests, status, settings: Arc::new(settings) }
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
            return Err(Status::failed_precondition(
                "this node is configured without smeshing: set [smeshing] units and restart it",
            ));
        };
        if let Some(coinbase) = r.coinbase.as_ref().filter(|c| !c.address.is_empty()) {
            let asked = Address::from_bech32(&coinbase.address, &s.hrp).map_err(|e| {
                Status::invalid_argument(format!("coinbase {:?}: {e}", coinbase.address))
            })?;
            if asked != s.coinbase {
                return Err(Status::invalid_argument(format!(
                    "this node's coinbase is {} (set [smeshing] coinbase and restart to change it); \
                     leave coinbase empty or name that one",
                    s.coinbase.to_bech32(&s.hrp)
                )));
            }
        }
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
        let state = if live.done >= live.total { State::Complete } else { State::InProgress };
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

    /// Starts smeshing on the configured data, units and coinbase (a request may name them or
    /// leave them empty; `max_file_size`, `provider_id` and `throttle` do not apply here).
    async fn start_smeshing(
        &self,
        request: Request<pb::StartSmeshingRequest>,
    ) -> Result<Response<pb::StartSmeshingResponse>, Status> {
        self.check_start(&request.into_inner())?;
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

    async fn coinbase(&self, _: Request<Empty>) -> Result<Response<pb::CoinbaseResponse>, Status> {
        let s = &self.settings;
        Ok(Response::new(pb::CoinbaseResponse {
            account_id: Some(pb::AccountId { address: s.coinbase.to_bech32(&s.hrp) }),
        }))
    }

    /// The data directory's state: its checkpoint on disk and the progress of a running
    /// initialization; ERROR when the checkpoint is damaged or of another identity.
    async fn post_setup_status(
        &self,
        _: Request<Empty>,
    ) -> Result<Response<pb::PostSetupStatusResponse>, Status> {
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
            })
            .map_err(|_| Status::internal("the node's status is poisoned (a thread panicked)"))?;
        let s = &self.settings;
        let (state, num_labels_written) = setup_state(&checkpoint, &s.identity, live);
        let info = checkpoint.ok().flatten();
        let opts = pb::PostSetupOpts {
            data_dir: s.post_dir.display().to_string(),
            num_units: s.num_units.or(info.as_ref().map(|i| i.metadata.num_units)).unwrap_or(0),
            max_file_size: info.map_or(0, |i| i.labels_per_file.saturating_mul(LABEL_BYTES as u64)),
            provider_id: None,
            throttle: false,
        };
        Ok(Response::new(pb::PostSetupStatusResponse {
            status: Some(pb::PostSetupStatus {
                state: state.into(),
                num_labels_written,
                opts: Some(opts),
            }),
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
            vrf_nonce: None,
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

    const IDLE: InitProgress = InitProgress { done: 0, total: 0 };

    /// Each state from what the disk and a running initialization say.
    #[test]
    fn setup_state_follows_disk_and_live_progress() {
        let me = NodeId([1; 32]);
        assert_eq!(setup_state(&Ok(None), &me, IDLE), (State::NotStarted, 0));
        let running = InitProgress { done: 30, total: 100 };
        assert_eq!(setup_state(&Ok(None), &me, running), (State::InProgress, 30));
        assert_eq!(setup_state(&Ok(Some(info(1, 40, 100))), &me, IDLE), (State::Paused, 40));
        assert_eq!(setup_state(&Ok(Some(info(1, 100, 100))), &me, IDLE), (State::Complete, 100));
        let done = InitProgress { done: 100, total: 100 };
        assert_eq!(setup_state(&Ok(Some(info(1, 100, 100))), &me, done), (State::Complete, 100));
        assert_eq!(setup_state(&Ok(Some(info(2, 100, 100))), &me, IDLE).0, State::Error);
        let damaged = Err(PostDataError::Damaged { path: "x".into(), what: "bad".into() });
        assert_eq!(setup_state(&damaged, &me, IDLE).0, State::Error);
    }
}
