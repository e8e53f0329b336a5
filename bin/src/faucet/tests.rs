use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use spacemesh_core::account::Address;

use super::server::{Answer, Faucet, SyncSource, router};
use super::*;

#[derive(Clone)]
struct Synced(Arc<AtomicBool>);

impl SyncSource for Synced {
    async fn synced(&self) -> Result<bool, String> {
        Ok(self.0.load(Ordering::SeqCst))
    }
}

/// A sender that fails its first `failures` payments and pays the rest, numbering them.
fn sender(failures: u32) -> mpsc::Sender<nonce::Payment> {
    let (tx, mut rx) = mpsc::channel::<nonce::Payment>(4);
    tokio::spawn(async move {
        let mut n = 0;
        while let Some(p) = rx.recv().await {
            n += 1;
            let outcome =
                if n <= failures { Err("node refused".into()) } else { Ok(format!("tx-{n}")) };
            let _ = p.reply.send(outcome);
        }
    });
    tx
}

async fn start(dir: &std::path::Path, synced: Arc<AtomicBool>) -> SocketAddr {
    start_with(dir, synced, 0).await
}

async fn start_with(dir: &std::path::Path, synced: Arc<AtomicBool>, failures: u32) -> SocketAddr {
    let cooldowns = cooldown::Cooldowns::open(&dir.join("cooldowns"), 3600, 0).unwrap();
    let faucet = Arc::new(Faucet {
        node: Synced(synced),
        hrp: "stest".into(),
        amount: 42,
        cooldowns: Mutex::new(cooldowns),
        log: Mutex::new(log::RequestLog::open(&dir.join("requests.jsonl")).unwrap()),
        payments: sender(failures),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(faucet).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn post(addr: SocketAddr, content_type: &str, body: String) -> (u16, Answer) {
    let client: Client<HttpConnector, Full<bytes::Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let req = hyper::Request::post(format!("http://{addr}/request"))
        .header("content-type", content_type)
        .body(Full::new(body.into()))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// An unsynced node is a 503; a synced one pays once per address and IP (JSON or form),
/// refuses the second request with 429, refuses another network's address with 400, and
/// every decided request is in the log.
#[tokio::test]
async fn pays_once_per_cooldown() {
    let dir = tempfile::tempdir().unwrap();
    let synced = Arc::new(AtomicBool::new(false));
    let addr = start(dir.path(), Arc::clone(&synced)).await;
    let a = Address::from_hash_tail(&[1; 32]).to_bech32("stest");
    let json = |a: &str| format!("{{\"address\": \"{a}\"}}");

    let (code, answer) = post(addr, "application/json", json(&a)).await;
    assert_eq!(code, 503);
    assert!(answer.error.unwrap().contains("not synced"));

    synced.store(true, Ordering::SeqCst);
    let (code, answer) =
        post(addr, "application/x-www-form-urlencoded", format!("address={a}")).await;
    assert_eq!(code, 200, "{answer:?}");
    assert_eq!((answer.tx_id.as_deref(), answer.amount), (Some("tx-1"), Some(42)));

    let (code, answer) = post(addr, "application/json", json(&a)).await;
    assert_eq!(code, 429);
    assert!(answer.error.unwrap().contains("try again in"));
    let b = Address::from_hash_tail(&[2; 32]).to_bech32("stest");
    let (code, answer) = post(addr, "application/json", json(&b)).await;
    assert_eq!(code, 429, "same IP, another address");
    assert!(answer.error.unwrap().contains("this IP"));

    let mainnet = Address::from_hash_tail(&[3; 32]).to_bech32("sm");
    let (code, answer) = post(addr, "application/json", json(&mainnet)).await;
    assert_eq!(code, 400);
    assert!(answer.error.unwrap().contains("network `sm`"));
    let (code, _) = post(addr, "application/json", "{}".into()).await;
    assert_eq!(code, 400);

    let lines = std::fs::read_to_string(dir.path().join("requests.jsonl")).unwrap();
    let records: Vec<log::RequestRecord> =
        lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let outcomes: Vec<_> = records.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(outcomes.len(), 4, "{outcomes:?}");
    assert_eq!(outcomes[1], "sent");
    assert_eq!(records[1].tx_id.as_deref(), Some("tx-1"));
    assert_eq!(records[1].ip, "127.0.0.1");
}

/// A payment that fails is a 502 with the reason, and it does not start a cooldown: the same
/// address and IP are paid on the next request.
#[tokio::test]
async fn failed_payment_keeps_no_cooldown() {
    let dir = tempfile::tempdir().unwrap();
    let addr = start_with(dir.path(), Arc::new(AtomicBool::new(true)), 1).await;
    let a = Address::from_hash_tail(&[4; 32]).to_bech32("stest");
    let body = format!("{{\"address\": \"{a}\"}}");
    let (code, answer) = post(addr, "application/json", body.clone()).await;
    assert_eq!(code, 502);
    assert!(answer.error.unwrap().contains("node refused"));
    let (code, answer) = post(addr, "application/json", body).await;
    assert_eq!((code, answer.tx_id.as_deref()), (200, Some("tx-2")));
}
