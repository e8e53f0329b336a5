use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request as HttpRequest, StatusCode};
use http_body_util::BodyExt as _;
use spacemesh_core::account::Address;
use spacemesh_core::types::{GenesisId, Hash32};
use tokio_stream::StreamExt as _;
use tonic::transport::Channel;
use tower::ServiceExt as _;

use super::*;
use crate::account_api::tests::fake_node;
use crate::status::NodeStatus;

const HRP: &str = "stest";

fn known() -> Address {
    let mut a = [5; 24];
    a[..4].fill(0); // Addresses start with four zero bytes.
    Address(a)
}

/// The API on a fake node loop (a funded wallet at [`known`], layers 1 to 10).
pub(crate) fn api() -> V2alpha1 {
    let requests = fake_node(known(), Hash32([9; 32]));
    let status = Arc::new(Mutex::new(NodeStatus {
        synced: true,
        peers: 3,
        current_layer: 11,
        applied_layer: Some(10),
        ..NodeStatus::default()
    }));
    let network = NetworkConstants {
        genesis_time_us: 1_700_000_000_500_000,
        layer_duration: std::time::Duration::from_millis(1500),
        genesis: GenesisId([7; 20]),
        hrp: HRP.into(),
        effective_genesis_layer: 3,
        layers_per_epoch: 4,
        labels_per_unit: 1024,
    };
    V2alpha1::new(requests, status, network)
}

/// All three listeners on free loopback ports.
async fn start() -> (ApiListeners, watch::Sender<bool>) {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let (stop, rx) = watch::channel(false);
    let at =
        ApiListeners { public: Some(any), private: Some(any), json: Some(any), rate_limit: None };
    (serve(at, api(), rx).await.unwrap(), stop)
}

async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap()
}

/// Posts `body` to the gateway router and returns the status and the JSON answer.
async fn post(path: &str, body: &str) -> (StatusCode, serde_json::Value) {
    let request = HttpRequest::post(path).body(Body::from(body.to_owned())).unwrap();
    let response = gateway::router(api()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn grpc_public_services_answer_from_the_node() {
    // Each public service answers over gRPC with what the (fake) node loop and status hold.
    let (at, _stop) = start().await;
    let ch = channel(at.public.unwrap()).await;
    let info = pb::network_service_client::NetworkServiceClient::new(ch.clone())
        .info(pb::NetworkInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.hrp, HRP);
    assert_eq!(info.genesis_id, vec![7; 20]);
    assert_eq!(info.genesis_time.unwrap().seconds, 1_700_000_000);
    assert_eq!(info.layer_duration.unwrap().nanos, 500_000_000);
    assert_eq!((info.layers_per_epoch, info.effective_genesis_layer), (4, 3));

    let status = pb::node_service_client::NodeServiceClient::new(ch.clone())
        .status(pb::NodeStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.status(), pb::node_status_response::SyncStatus::Synced);
    assert_eq!((status.connected_peers, status.applied_layer, status.current_layer), (3, 10, 11));
    assert_eq!((status.latest_layer, status.processed_layer), (10, 9), "the tortoise's progress");

    let address = known().to_bech32(HRP);
    let accounts = pb::account_service_client::AccountServiceClient::new(ch.clone())
        .list(pb::AccountRequest { addresses: vec![address.clone()], offset: 0, limit: 10 })
        .await
        .unwrap()
        .into_inner()
        .accounts;
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].address, address);
    assert_eq!(accounts[0].current, Some(pb::AccountState { counter: 2, balance: 1000, layer: 7 }));
    assert_eq!(accounts[0].projected.as_ref().unwrap().balance, 900);
    assert!(accounts[0].template.starts_with(HRP));

    let layers = pb::layer_service_client::LayerServiceClient::new(ch.clone())
        .list(pb::LayerRequest {
            start_layer: 7,
            end_layer: 10,
            limit: 10,
            sort_order: pb::SortOrder::Desc.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .layers;
    assert_eq!(layers.iter().map(|l| l.number).collect::<Vec<_>>(), [10, 9, 8, 7]);
    assert_eq!(layers[0].status(), pb::layer::LayerStatus::Applied);
    assert_eq!(layers[2].status(), pb::layer::LayerStatus::Verified);
    assert_eq!(layers[0].block.as_ref().unwrap().id, vec![10; 20]);
    assert!(layers[1].block.is_none());
    assert_eq!(layers[0].cumulative_state_hash, vec![10; 32]);

    let submitted = pb::transaction_service_client::TransactionServiceClient::new(ch)
        .submit_transaction(pb::SubmitTransactionRequest { transaction: vec![1, 2, 3] })
        .await
        .unwrap()
        .into_inner();
    let status = submitted.status.unwrap();
    assert_eq!((status.code, status.message.as_str()), (3, "bad nonce"));
    assert_eq!(submitted.tx_id, spacemesh_core::tx::tx_id(&[1, 2, 3]).0.to_vec());
}

#[tokio::test]
async fn grpc_bad_requests_are_invalid_argument() {
    // A wrong address, a missing or too large limit are refused with what to fix.
    let (at, _stop) = start().await;
    let mut accounts =
        pb::account_service_client::AccountServiceClient::new(channel(at.public.unwrap()).await);
    let bad = |addresses: Vec<String>, limit| pb::AccountRequest { addresses, offset: 0, limit };
    for (request, says) in [
        (bad(vec!["sm1nothing".into()], 1), "address"),
        (bad(vec![known().to_bech32(HRP)], 0), "limit must be set"),
        (bad(vec![known().to_bech32(HRP)], 101), "capped at 100"),
        (bad(vec![], 1), "at least one"),
    ] {
        let e = accounts.list(request).await.unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(e.message().contains(says), "{}", e.message());
    }
}

#[tokio::test]
async fn private_services_only_on_the_private_listener() {
    // The layer stream answers on the private listener and is unknown on the public one, and
    // each listener's reflection lists only its own services.
    let (at, _stop) = start().await;
    let request = pb::LayerStreamRequest { start_layer: 8, end_layer: 0, watch: false };
    let mut public = pb::layer_stream_service_client::LayerStreamServiceClient::new(
        channel(at.public.unwrap()).await,
    );
    let e = public.stream(request).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unimplemented);
    let mut private = pb::layer_stream_service_client::LayerStreamServiceClient::new(
        channel(at.private.unwrap()).await,
    );
    let mut stream = private.stream(request).await.unwrap().into_inner();
    let mut numbers = Vec::new();
    while let Some(layer) = stream.next().await {
        numbers.push(layer.unwrap().number);
    }
    assert_eq!(numbers, [8, 9, 10]);

    let listed = |addr| async move {
        use tonic_reflection::pb::v1::ServerReflectionRequest;
        use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut client = ServerReflectionClient::new(channel(addr).await);
        let mut answers = client
            .server_reflection_info(tokio_stream::iter([request]))
            .await
            .unwrap()
            .into_inner();
        let Some(MessageResponse::ListServicesResponse(list)) =
            answers.next().await.unwrap().unwrap().message_response
        else {
            panic!("not a service list");
        };
        let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        names.sort();
        names
    };
    let public_names = listed(at.public.unwrap()).await;
    for name in PUBLIC_SERVICES {
        assert!(public_names.contains(&(*name).to_owned()), "{name} in {public_names:?}");
    }
    assert!(!public_names.iter().any(|n| n.contains("Stream")), "{public_names:?}");
    let private_names = listed(at.private.unwrap()).await;
    assert!(private_names.contains(&"spacemesh.v2alpha1.LayerStreamService".to_owned()));
    assert!(!private_names.contains(&"spacemesh.v2alpha1.AccountService".to_owned()));
}

#[tokio::test]
async fn json_gateway_speaks_canonical_proto3_json() {
    // 64-bit integers are strings, bytes base64, enums names, names lowerCamelCase.
    let (status, info) = post("/spacemesh.v2alpha1.NetworkService/Info", "{}").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["hrp"], HRP);
    assert_eq!(info["labelsPerUnit"], "1024");
    assert_eq!(info["layerDuration"], "1.500s");
    assert_eq!(info["genesisTime"], "2023-11-14T22:13:20.500Z");
    assert_eq!(info["genesisId"], "BwcHBwcHBwcHBwcHBwcHBwcHBwc=");

    let (_, node) = post("/spacemesh.v2alpha1.NodeService/Status", "").await;
    assert_eq!(node["status"], "SYNC_STATUS_SYNCED");
    assert_eq!(node["connectedPeers"], "3");

    let body = format!(r#"{{"addresses": ["{}"], "limit": "5"}}"#, known().to_bech32(HRP));
    let (status, list) = post("/spacemesh.v2alpha1.AccountService/List", &body).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["accounts"][0]["current"]["balance"], "1000");
    assert_eq!(list["accounts"][0]["projected"]["counter"], "3");

    let body = r#"{"startLayer": 9, "limit": 1}"#;
    let (_, layers) = post("/spacemesh.v2alpha1.LayerService/List", body).await;
    assert_eq!(layers["layers"][0]["number"], 9);
    assert_eq!(layers["layers"][0]["status"], "LAYER_STATUS_APPLIED");

    let body = r#"{"transaction": "AAEC"}"#;
    let (status, tx) = post("/spacemesh.v2alpha1.TransactionService/SubmitTransaction", body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tx["status"]["code"], serde_json::Value::Null, "OK is the default code: {tx}");
}

#[tokio::test]
async fn json_gateway_bad_requests_get_clear_errors() {
    // Malformed JSON and wrong types are 400, unknown and private methods 404, large bodies
    // 413, service errors their mapped status; all in the {code, message, details} shape.
    let cases = [
        ("/spacemesh.v2alpha1.AccountService/List", "{not json".to_owned(), 400, 3, "not a valid"),
        (
            "/spacemesh.v2alpha1.AccountService/List",
            r#"{"addresses": 5}"#.into(),
            400,
            3,
            "sequence",
        ),
        ("/spacemesh.v2alpha1.AccountService/List", r#"{"limit": "x"}"#.into(), 400, 3, "limit"),
        (
            "/spacemesh.v2alpha1.AccountService/List",
            r#"{"addresses": ["x"], "limit": 1}"#.into(),
            400,
            3,
            "address",
        ),
        ("/spacemesh.v2alpha1.NoService/List", "{}".into(), 404, 5, "no method"),
        ("/spacemesh.v2alpha1.LayerStreamService/Stream", "{}".into(), 404, 5, "no method"),
        ("/nothing", "{}".into(), 404, 5, "no method"),
        (
            "/spacemesh.v2alpha1.NodeService/Status",
            "x".repeat(gateway::BODY_MAX + 1),
            413,
            8,
            "over",
        ),
    ];
    for (path, body, http, code, says) in cases {
        let (status, answer) = post(path, &body).await;
        assert_eq!(status.as_u16(), http, "{path} {answer}");
        assert_eq!(answer["code"], code, "{path} {answer}");
        assert!(answer["message"].as_str().unwrap().contains(says), "{path} {answer}");
        assert_eq!(answer["details"], serde_json::json!([]));
    }
}

#[tokio::test]
async fn json_gateway_serves_cors_and_listens() {
    // The JSON listener answers a browser's preflight, a real POST over TCP, and the pages.
    let (at, _stop) = start().await;
    let addr = at.json.unwrap();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let preflight =
        HttpRequest::options(format!("http://{addr}/spacemesh.v2alpha1.NodeService/Status"))
            .header("origin", "http://example.test")
            .header("access-control-request-method", "POST")
            .body(http_body_util::Full::default())
            .unwrap();
    let answer = client.request(preflight).await.unwrap();
    assert_eq!(answer.headers()["access-control-allow-origin"], "*");
    let request = HttpRequest::post(format!("http://{addr}/spacemesh.v2alpha1.NodeService/Status"))
        .body(http_body_util::Full::new(bytes::Bytes::from_static(b"{}")))
        .unwrap();
    let answer = client.request(request).await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    // The dashboard's pages are on the same listener.
    let page = HttpRequest::get(format!("http://{addr}/web/style.css"))
        .body(http_body_util::Full::default())
        .unwrap();
    assert_eq!(client.request(page).await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn transactions_parse_verify_and_estimate() {
    // A wallet's self-spawn parses (type, contents, gas) and verifies for this network, is
    // refused when signed for another one, and a spend of an unspawned principal is refused.
    let (at, _stop) = start().await;
    let mut txs = pb::transaction_service_client::TransactionServiceClient::new(
        channel(at.public.unwrap()).await,
    );
    let key = spacemesh_core::tx::TxKey::from_seed([1; 32]);
    let spawn = key.wallet_spawn(&GenesisId([7; 20]), 0, 2);
    let parsed = txs
        .parse_transaction(pb::ParseTransactionRequest { transaction: spawn.clone(), verify: true })
        .await
        .unwrap()
        .into_inner();
    let tx = parsed.tx.unwrap();
    assert_eq!(tx.r#type(), pb::transaction::TransactionType::SingleSigSpawn);
    assert_eq!(tx.principal, key.wallet_address().to_bech32(HRP));
    assert_eq!((tx.gas_price, tx.nonce.unwrap().counter), (2, 0));
    let Some(pb::transaction_contents::Contents::SingleSigSpawn(c)) = tx.contents.unwrap().contents
    else {
        panic!("not a single-sig spawn");
    };
    assert_eq!(c.pubkey.len(), 64);
    let gas =
        txs.estimate_gas(pb::EstimateGasRequest { transaction: spawn }).await.unwrap().into_inner();
    assert!(gas.recommended_max_gas > 0);
    assert_eq!(gas.recommended_max_gas, tx.max_gas);

    let foreign = key.wallet_spawn(&GenesisId([8; 20]), 0, 2);
    let request = pb::ParseTransactionRequest { transaction: foreign.clone(), verify: true };
    let e = txs.parse_transaction(request).await.unwrap_err();
    assert_eq!((e.code(), e.message()), (tonic::Code::InvalidArgument, "the signature is invalid"));
    let request = pb::ParseTransactionRequest { transaction: foreign, verify: false };
    assert!(txs.parse_transaction(request).await.is_ok(), "unverified parse of any network");
    let e = txs
        .parse_transaction(pb::ParseTransactionRequest {
            transaction: vec![0, 1, 2],
            verify: false,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
}

#[tokio::test]
async fn grpc_rewards_activations_and_malfeasance() {
    // Reward.List without a filter lists every reward of the range, newest layer first, and
    // filters by coinbase or smesher; Activation answers from the ATXs, Malfeasance.List from
    // the proofs.
    let (at, _stop) = start().await;
    let ch = channel(at.public.unwrap()).await;
    let mut rewards = pb::reward_service_client::RewardServiceClient::new(ch.clone());
    let all = rewards
        .list(pb::RewardRequest {
            start_layer: 1,
            end_layer: 10,
            limit: 3,
            sort_order: pb::SortOrder::Desc.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .rewards;
    assert_eq!(
        all.iter().map(|r| (r.layer, r.total)).collect::<Vec<_>>(),
        [(10, 100), (10, 1000), (8, 80)]
    );
    assert_eq!(all[1].coinbase, known().to_bech32(HRP));
    assert_eq!((all[1].layer_reward, all[1].smesher.clone()), (900, vec![1; 32]));
    use pb::reward_request::FilterBy;
    let by = |filter| pb::RewardRequest {
        start_layer: 5,
        end_layer: 0,
        filter_by: Some(filter),
        limit: 100,
        ..Default::default()
    };
    let mine = rewards
        .list(by(FilterBy::Coinbase(known().to_bech32(HRP))))
        .await
        .unwrap()
        .into_inner()
        .rewards;
    assert_eq!(mine.iter().map(|r| r.layer).collect::<Vec<_>>(), [6, 8, 10]);
    assert!(mine.iter().all(|r| r.smesher == vec![1; 32]));
    let theirs =
        rewards.list(by(FilterBy::Smesher(vec![2; 32]))).await.unwrap().into_inner().rewards;
    assert_eq!(theirs.iter().map(|r| r.total).collect::<Vec<_>>(), [60, 80, 100]);
    let e = rewards.list(by(FilterBy::Smesher(vec![2; 5]))).await.unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);

    let mut atxs = pb::activation_service_client::ActivationServiceClient::new(ch.clone());
    let epoch2 = atxs
        .list(pb::ActivationRequest {
            start_epoch: 2,
            end_epoch: 2,
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .activations;
    assert_eq!(epoch2.iter().map(|a| a.weight).collect::<Vec<_>>(), [21, 22]);
    assert_eq!(epoch2[0].coinbase, known().to_bech32(HRP));
    assert_eq!((epoch2[0].height, epoch2[0].num_units, epoch2[0].publish_epoch), (200, 4, 2));
    let by_smesher = atxs
        .list(pb::ActivationRequest {
            smesher_id: vec![vec![2; 32]],
            offset: 1,
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .activations;
    assert_eq!(by_smesher.iter().map(|a| a.id.clone()).collect::<Vec<_>>(), [vec![34; 32]]);
    let count = |epoch| {
        let mut atxs = atxs.clone();
        async move {
            atxs.activations_count(pb::ActivationsCountRequest { epoch })
                .await
                .unwrap()
                .into_inner()
                .count
        }
    };
    assert_eq!((count(Some(3)).await, count(None).await, count(Some(9)).await), (2, 6, 0));
    let highest = atxs.highest(pb::HighestRequest {}).await.unwrap().into_inner();
    assert_eq!(highest.activation.unwrap().height, 300);

    let proofs = pb::malfeasance_service_client::MalfeasanceServiceClient::new(ch)
        .list(pb::MalfeasanceRequest { smesher_id: vec![], offset: 0, limit: 10 })
        .await
        .unwrap()
        .into_inner()
        .proofs;
    use pb::malfeasance_proof::MalfeasanceDomain;
    assert_eq!(
        proofs.iter().map(|p| (p.smesher[0], p.domain(), p.r#type)).collect::<Vec<_>>(),
        [(1, MalfeasanceDomain::DomainActivation, 1), (4, MalfeasanceDomain::DomainHare, 3)]
    );
}

#[tokio::test]
async fn json_gateway_answers_the_dashboard_calls() {
    // The dashboard's calls: Reward.List with no filter, Activation.List of one epoch.
    let (status, json) = post(
        "/spacemesh.v2alpha1.RewardService/List",
        r#"{"startLayer": 1, "endLayer": 10, "limit": "12", "sortOrder": "DESC"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let rewards = json["rewards"].as_array().unwrap();
    assert_eq!(rewards.len(), 10);
    assert_eq!(rewards[0]["layer"], 10);
    assert_eq!(rewards[1]["total"], "1000");
    assert_eq!(rewards[1]["layerReward"], "900");

    let (status, json) = post(
        "/spacemesh.v2alpha1.ActivationService/List",
        r#"{"startEpoch": 3, "endEpoch": 3, "offset": "0", "limit": "100"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let weights: Vec<&str> = json["activations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["weight"].as_str().unwrap())
        .collect();
    assert_eq!(weights, ["31", "32"]);

    let (status, json) =
        post("/spacemesh.v2alpha1.ActivationService/ActivationsCount", r#"{"epoch": 1}"#).await;
    assert_eq!((status, json["count"].as_u64()), (StatusCode::OK, Some(2)));
    let (status, json) = post("/spacemesh.v2alpha1.ActivationService/Highest", "").await;
    assert_eq!((status, json["activation"]["height"].as_str()), (StatusCode::OK, Some("300")));
    let (status, json) =
        post("/spacemesh.v2alpha1.MalfeasanceService/List", r#"{"limit": "10"}"#).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["proofs"][1]["domain"], "DOMAIN_HARE");
    assert_eq!(json["proofs"][1]["type"], 3);
}
