//! The account API of a real node: the node loop answers accounts, submissions (through the
//! node's `SubmitTx` command and its `TxSubmitted` answer), transaction status and network
//! info on the metrics listener.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use spacemesh_core::account::Template;
use spacemesh_core::tx::{Call, TxBody, TxKey, tx_id};
use spacemesh_core::types::GenesisId;
use spacemesh_runtime_real::config::{ConfigFile, Preset};
use spacemesh_runtime_real::node;
use tokio::sync::oneshot;

async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let req = hyper::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
}

fn self_spawn(key: &TxKey, genesis: &GenesisId, gas_price: u64) -> Vec<u8> {
    let body = TxBody {
        principal: key.wallet_address(),
        nonce: 0,
        gas_price,
        call: Call::Spawn { template: Template::Wallet, args: key.wallet_args() },
    };
    key.sign_single(genesis, &body.encode())
}

/// One following node: its network, an empty account, and submissions refused for the
/// node's own reasons (not a transaction, zero gas price, signed for another network, an
/// unfunded account), which leave no transaction behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_node_answers() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = ConfigFile { preset: Some(Preset::Local), ..ConfigFile::default() };
    file.data_dir = Some(dir.path().to_owned());
    file.network.genesis_time =
        Some(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs());
    file.p2p.listen = Some("127.0.0.1:0".parse().unwrap());
    file.metrics.listen = Some("127.0.0.1:0".parse().unwrap());
    file.smeshing.enabled = Some(false);
    let settings = file.resolve(None, None).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let (handle, run) = node::start(&settings, Vec::new(), async move {
        let _ = stopped.await;
    })
    .await
    .unwrap();
    let task = tokio::spawn(async move { run.await.expect("node runs") });
    let api = handle.metrics.expect("metrics listener");

    let (code, info) = call(api, "GET", "/v1/node", vec![]).await;
    assert_eq!(code, 200);
    assert_eq!(info["hrp"], "stest");
    assert_eq!(info["genesis_id"], settings.genesis.to_string());

    let key = TxKey::from_seed([7; 32]);
    let address = key.wallet_address().to_bech32("stest");
    let (code, account) = call(api, "GET", &format!("/v1/accounts/{address}"), vec![]).await;
    assert_eq!(code, 200, "{account}");
    assert_eq!(
        (account["balance"].clone(), account["template"].clone()),
        (0.into(), serde_json::Value::Null)
    );

    let (_, answer) = call(api, "POST", "/v1/transactions", vec![1, 2, 3]).await;
    assert_eq!(answer["accepted"], false);
    assert!(answer["reason"].as_str().unwrap().contains("version"), "{answer}");
    let (_, answer) =
        call(api, "POST", "/v1/transactions", self_spawn(&key, &settings.genesis, 0)).await;
    assert_eq!(answer["reason"], "zero gas price");
    let (_, answer) =
        call(api, "POST", "/v1/transactions", self_spawn(&key, &GenesisId([1; 20]), 1)).await;
    assert_eq!(answer["reason"], "bad signature");

    let raw = self_spawn(&key, &settings.genesis, 1);
    let (code, answer) = call(api, "POST", "/v1/transactions", raw.clone()).await;
    assert_eq!(code, 200);
    assert_eq!(answer["id"], tx_id(&raw).to_string());
    let (code, status) =
        call(api, "GET", &format!("/v1/transactions/{}", tx_id(&raw)), vec![]).await;
    assert_eq!(answer["accepted"], false, "an unfunded account cannot pay the spawn's gas");
    assert!(answer["reason"].as_str().unwrap().contains("projected balance 0"), "{answer}");
    assert_eq!(code, 404, "a refused transaction is unknown: {status}");

    let _ = stop.send(());
    task.await.unwrap();
}
