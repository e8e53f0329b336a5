//! The private listener: the five streams (history, then new items with `watch`) and the
//! smesher service, over gRPC on a fake node whose applied layers grow.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spacemesh_core::account::Address;
use spacemesh_core::types::{GenesisId, Hash32, NodeId};
use tokio_stream::StreamExt as _;
use tonic::transport::Channel;

use super::proto::spacemesh::v1;
use super::*;
use crate::account_api::tests::growing_node;
use crate::status::NodeStatus;

const HRP: &str = "stest";
/// Longest a test waits for one stream item.
const ITEM_WAIT: Duration = Duration::from_secs(5);

fn known() -> Address {
    let mut a = [5; 24];
    a[..4].fill(0);
    Address(a)
}

struct Private {
    at: ApiListeners,
    top: Arc<AtomicU32>,
    _stop: watch::Sender<bool>,
    _post: tempfile::TempDir,
}

/// Public and private listeners on a fake node with layers 1 to 4 applied, and a smesher
/// service (identity 1s, 4 units; `units: None` for a node configured without smeshing).
async fn start(units: Option<u32>) -> Private {
    let (requests, top) = growing_node(known(), Hash32([9; 32]), 4);
    let status = Arc::new(Mutex::new(NodeStatus { applied_layer: Some(4), ..Default::default() }));
    let network = NetworkConstants {
        genesis_time_us: 0,
        layer_duration: Duration::from_secs(1),
        genesis: GenesisId([7; 20]),
        hrp: HRP.into(),
        effective_genesis_layer: 0,
        layers_per_epoch: 4,
        labels_per_unit: 1024,
    };
    let post = tempfile::tempdir().unwrap();
    let settings = SmesherSettings {
        identity: NodeId([1; 32]),
        coinbase: known(),
        num_units: units,
        post_dir: post.path().to_owned(),
        post: spacemesh_core::post::PostConfig::sim(),
        hrp: HRP.into(),
    };
    let smesher = Smesher::new(requests.clone(), Arc::clone(&status), settings);
    let api = V2alpha1::new(requests, status, network);
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let (stop, rx) = watch::channel(false);
    let at = ApiListeners { public: Some(any), private: Some(any), json: None, rate_limit: None };
    let at = serve_with(at, api, Some(smesher), rx).await.unwrap();
    Private { at, top, _stop: stop, _post: post }
}

async fn channel(addr: Option<SocketAddr>) -> Channel {
    Channel::from_shared(format!("http://{}", addr.unwrap())).unwrap().connect().await.unwrap()
}

/// The next `n` items of `stream`, each within [`ITEM_WAIT`].
async fn take<T>(stream: &mut tonic::Streaming<T>, n: usize) -> Vec<T> {
    let mut items = Vec::new();
    for _ in 0..n {
        let item = tokio::time::timeout(ITEM_WAIT, stream.next()).await.expect("an item in time");
        items.push(item.expect("the stream goes on").expect("an item, not an error"));
    }
    items
}

/// Nothing more arrives on `stream` for a poll interval and a half.
async fn quiet<T: std::fmt::Debug>(stream: &mut tonic::Streaming<T>) {
    let next = tokio::time::timeout(Duration::from_millis(750), stream.next()).await;
    assert!(next.is_err(), "unexpected item {next:?}");
}

#[tokio::test]
async fn streams_send_history_then_new_items_once() {
    // Each stream sends what the node holds from its start, then with watch only what the
    // node newly holds (layers 5 and 6 applied, epoch 2's ATXs, a second proof), never an
    // item twice.
    let p = start(Some(4)).await;
    let ch = channel(p.at.private).await;
    let mut layers = pb::layer_stream_service_client::LayerStreamServiceClient::new(ch.clone())
        .stream(pb::LayerStreamRequest { start_layer: 2, end_layer: 0, watch: true })
        .await
        .unwrap()
        .into_inner();
    let mut rewards = pb::reward_stream_service_client::RewardStreamServiceClient::new(ch.clone())
        .stream(pb::RewardStreamRequest {
            start_layer: 1,
            filter_by: Some(pb::reward_stream_request::FilterBy::Coinbase(known().to_bech32(HRP))),
            watch: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut txs =
        pb::transaction_stream_service_client::TransactionStreamServiceClient::new(ch.clone())
            .stream(pb::TransactionStreamRequest {
                start_layer: 3,
                watch: true,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
    let mut atxs =
        pb::activation_stream_service_client::ActivationStreamServiceClient::new(ch.clone())
            .stream(pb::ActivationStreamRequest { watch: true, ..Default::default() })
            .await
            .unwrap()
            .into_inner();
    let mut proofs =
        pb::malfeasance_stream_service_client::MalfeasanceStreamServiceClient::new(ch.clone())
            .stream(pb::MalfeasanceStreamRequest { smesher_id: Vec::new(), watch: true })
            .await
            .unwrap()
            .into_inner();

    let numbers = |ls: Vec<pb::Layer>| ls.iter().map(|l| l.number).collect::<Vec<_>>();
    assert_eq!(numbers(take(&mut layers, 3).await), [2, 3, 4]);
    let history = take(&mut rewards, 2).await;
    assert_eq!(
        history.iter().map(|r| (r.layer, r.total)).collect::<Vec<_>>(),
        [(2, 200), (4, 400)]
    );
    let history = take(&mut txs, 1).await;
    let result = history[0].tx_result.as_ref().unwrap();
    assert_eq!((result.layer, result.fee), (4, 40));
    assert_eq!(result.status(), pb::transaction_result::Status::TransactionStatusFailure);
    assert_eq!(history[0].tx.as_ref().unwrap().nonce.as_ref().unwrap().counter, 4);
    let history = take(&mut atxs, 2).await;
    assert!(history.iter().all(|a| a.publish_epoch == 1), "{history:?}");
    assert_eq!(take(&mut proofs, 1).await[0].smesher, vec![1; 32]);
    quiet(&mut layers).await;

    p.top.store(8, Ordering::SeqCst);
    assert_eq!(numbers(take(&mut layers, 4).await), [5, 6, 7, 8]);
    let new = take(&mut rewards, 2).await;
    assert_eq!(new.iter().map(|r| r.layer).collect::<Vec<_>>(), [6, 8]);
    let new = take(&mut txs, 2).await;
    let layers_of = new.iter().map(|t| t.tx_result.as_ref().unwrap().layer).collect::<Vec<_>>();
    assert_eq!(layers_of, [6, 8]);
    assert_eq!(new[0].tx_state, Some(pb::TransactionState::Processed.into()));
    let new = take(&mut atxs, 2).await;
    assert!(new.iter().all(|a| a.publish_epoch == 2), "{new:?}");
    let new = take(&mut proofs, 1).await;
    assert_eq!((new[0].smesher.clone(), new[0].r#type), (vec![4; 32], 3));
    quiet(&mut rewards).await;
    quiet(&mut atxs).await;
    quiet(&mut proofs).await;
}

#[tokio::test]
async fn streams_without_watch_end_after_the_history() {
    // Without watch a stream ends once it sent what the node holds; a bad request is
    // INVALID_ARGUMENT saying what to fix.
    let p = start(Some(4)).await;
    let ch = channel(p.at.private).await;
    let mut client = pb::reward_stream_service_client::RewardStreamServiceClient::new(ch.clone());
    let rewards: Vec<_> = client
        .stream(pb::RewardStreamRequest { start_layer: 3, ..Default::default() })
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    let rewards: Vec<_> = rewards.into_iter().map(Result::unwrap).collect();
    assert_eq!(rewards.iter().map(|r| r.layer).collect::<Vec<_>>(), [4, 4]);
    let e = client
        .stream(pb::RewardStreamRequest { start_layer: 5, end_layer: 2, ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (tonic::Code::InvalidArgument, "end_layer is below start_layer")
    );
    let e = pb::malfeasance_stream_service_client::MalfeasanceStreamServiceClient::new(ch.clone())
        .stream(pb::MalfeasanceStreamRequest { smesher_id: vec![vec![1; 3]], watch: false })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(e.message().contains("smesher_id must be 32 bytes"), "{}", e.message());
    let e = pb::transaction_stream_service_client::TransactionStreamServiceClient::new(ch)
        .stream(pb::TransactionStreamRequest {
            principal: Some("nonsense".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
}

#[tokio::test]
async fn private_services_are_unimplemented_on_the_public_listener() {
    // The streams and the smesher service answer UNIMPLEMENTED on the public listener; the
    // private listener's reflection lists every private service and no public one.
    let p = start(Some(4)).await;
    let public = channel(p.at.public).await;
    let e = pb::reward_stream_service_client::RewardStreamServiceClient::new(public.clone())
        .stream(pb::RewardStreamRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unimplemented);
    let e = v1::smesher_service_client::SmesherServiceClient::new(public)
        .is_smeshing(pbjson_types::Empty {})
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unimplemented);

    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = ServerReflectionClient::new(channel(p.at.private).await)
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) =
        answers.next().await.unwrap().unwrap().message_response
    else {
        panic!("not a service list");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for name in PRIVATE_SERVICES {
        assert!(names.contains(&(*name).to_owned()), "{name} in {names:?}");
    }
    assert!(!names.iter().any(|n| PUBLIC_SERVICES.contains(&n.as_str())), "{names:?}");
}

#[tokio::test]
async fn smesher_stops_starts_and_reports() {
    // Stop, then IsSmeshing says false; Start brings it back; requests the node cannot honour
    // are refused with what to fix; identity, coinbase, PoST parameters and data state are
    // the node's.
    let p = start(Some(4)).await;
    let mut s = v1::smesher_service_client::SmesherServiceClient::new(channel(p.at.private).await);
    let is = |r: tonic::Response<v1::IsSmeshingResponse>| r.into_inner().is_smeshing;
    assert!(is(s.is_smeshing(pbjson_types::Empty {}).await.unwrap()));
    let stopped = s.stop_smeshing(v1::StopSmeshingRequest { delete_files: false }).await.unwrap();
    assert_eq!(stopped.into_inner().status.unwrap().code, 0);
    assert!(!is(s.is_smeshing(pbjson_types::Empty {}).await.unwrap()));
    let e = s.stop_smeshing(v1::StopSmeshingRequest { delete_files: true }).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);

    let elsewhere = v1::StartSmeshingRequest {
        coinbase: None,
        opts: Some(v1::PostSetupOpts { data_dir: "/elsewhere".into(), ..Default::default() }),
    };
    let e = s.start_smeshing(elsewhere).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(e.message().contains("post_dir"), "{}", e.message());
    let garbled = v1::StartSmeshingRequest {
        coinbase: Some(v1::AccountId { address: "stest1nonsense".into() }),
        opts: None,
    };
    assert_eq!(s.start_smeshing(garbled).await.unwrap_err().code(), tonic::Code::InvalidArgument);
    assert!(
        !is(s.is_smeshing(pbjson_types::Empty {}).await.unwrap()),
        "a refused start starts nothing"
    );
    let mine = v1::StartSmeshingRequest {
        coinbase: Some(v1::AccountId { address: known().to_bech32(HRP) }),
        opts: Some(v1::PostSetupOpts { num_units: 4, ..Default::default() }),
    };
    s.start_smeshing(mine).await.unwrap();
    assert!(is(s.is_smeshing(pbjson_types::Empty {}).await.unwrap()));

    let ids = s.smesher_i_ds(pbjson_types::Empty {}).await.unwrap().into_inner();
    assert_eq!(ids.public_keys, vec![vec![1; 32]]);
    let coinbase =
        |r: tonic::Response<v1::CoinbaseResponse>| r.into_inner().account_id.unwrap().address;
    assert_eq!(coinbase(s.coinbase(pbjson_types::Empty {}).await.unwrap()), known().to_bech32(HRP));
    // SetCoinbase (and a start naming a coinbase) changes where the next ATXs' rewards go;
    // an address of another network or none at all is refused.
    let other = Address([0; 24]).to_bech32(HRP);
    let set = |address: &str| v1::SetCoinbaseRequest {
        id: Some(v1::AccountId { address: address.into() }),
    };
    let done = s.set_coinbase(set(&other)).await.unwrap().into_inner();
    assert_eq!(done.status.unwrap().code, 0);
    assert_eq!(coinbase(s.coinbase(pbjson_types::Empty {}).await.unwrap()), other);
    let e = s.set_coinbase(set(&Address([0; 24]).to_bech32("sm"))).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    assert!(e.message().starts_with("id.address"), "{}", e.message());
    let e = s.set_coinbase(v1::SetCoinbaseRequest { id: None }).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    let back = v1::StartSmeshingRequest {
        coinbase: Some(v1::AccountId { address: known().to_bech32(HRP) }),
        opts: None,
    };
    s.start_smeshing(back).await.unwrap();
    assert_eq!(coinbase(s.coinbase(pbjson_types::Empty {}).await.unwrap()), known().to_bech32(HRP));
    let config = s.post_config(pbjson_types::Empty {}).await.unwrap().into_inner();
    let sim = spacemesh_core::post::PostConfig::sim();
    assert_eq!(
        (config.labels_per_unit, config.k1, config.k2),
        (sim.labels_per_unit, sim.k1, sim.k2)
    );
    assert_eq!(config.bits_per_label, 128);
    let status = s.post_setup_status(pbjson_types::Empty {}).await.unwrap().into_inner();
    let status = status.status.unwrap();
    assert_eq!(status.state(), v1::post_setup_status::State::NotStarted);
    assert_eq!(status.opts.as_ref().unwrap().num_units, 4);

    // The status stream sends the same status at once, then nothing while it does not change.
    let mut stream = s.post_setup_status_stream(pbjson_types::Empty {}).await.unwrap().into_inner();
    let first = take(&mut stream, 1).await.remove(0);
    assert_eq!(first.status.unwrap(), status);
    quiet(&mut stream).await;

    // One provider, the CPU, measured only when asked.
    let providers = |benchmark| v1::PostSetupProvidersRequest { benchmark };
    let cpu = s.post_setup_providers(providers(false)).await.unwrap().into_inner().providers;
    assert_eq!(cpu.len(), 1);
    assert_eq!(
        (cpu[0].id, cpu[0].device_type(), cpu[0].performance),
        (u32::MAX, v1::post_setup_provider::DeviceType::DeviceClassCpu, 0)
    );
    let measured = s.post_setup_providers(providers(true)).await.unwrap().into_inner().providers;
    assert!(measured[0].performance > 0, "{measured:?}");
}

#[tokio::test]
async fn admin_peer_info_stream_lists_connected_peers() {
    // PeerInfoStream sends each connected peer (key, address, uptime, direction) and ends.
    let p = start(Some(4)).await;
    let mut admin = v1::admin_service_client::AdminServiceClient::new(channel(p.at.private).await);
    let peers: Vec<_> =
        admin.peer_info_stream(pbjson_types::Empty {}).await.unwrap().into_inner().collect().await;
    let peers: Vec<v1::PeerInfo> = peers.into_iter().map(Result::unwrap).collect();
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0].id, spacemesh_core::PeerId([3; 32]).to_string());
    let c = &peers[0].connections[0];
    assert_eq!((c.address.as_str(), c.outbound), ("127.0.0.1:7513", true));
    assert_eq!(c.uptime.unwrap().seconds, 90);
    assert_eq!(c.kind(), v1::connection_info::Kind::Outbound);
}

#[tokio::test]
async fn smesher_start_needs_a_smeshing_configuration() {
    // A node configured without smeshing refuses to start with FAILED_PRECONDITION.
    let p = start(None).await;
    let mut s = v1::smesher_service_client::SmesherServiceClient::new(channel(p.at.private).await);
    let e = s.start_smeshing(v1::StartSmeshingRequest::default()).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::FailedPrecondition);
    assert!(e.message().contains("[smeshing] units"), "{}", e.message());
    let set =
        v1::SetCoinbaseRequest { id: Some(v1::AccountId { address: known().to_bech32(HRP) }) };
    assert_eq!(s.set_coinbase(set).await.unwrap_err().code(), tonic::Code::FailedPrecondition);
}
