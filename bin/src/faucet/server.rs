//! The faucet's HTTP side: `POST /request` with `{"address": "stest1..."}` (or the form of
//! `GET /`), answered with JSON. A request is paid when the node says it is synced and neither
//! the address nor the client's IP drew within the cooldown; the single sender
//! ([`super::nonce`]) then submits the payment, and every request is logged.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use spacemesh_core::account::Address;
use tokio::sync::{mpsc, oneshot};

use super::cooldown::{Cooldowns, Refusal};
use super::log::{RequestLog, RequestRecord};
use super::nonce::Payment;

/// Largest request body.
const BODY_MAX: usize = 1024;

/// Whether the node can take payments now.
pub(crate) trait SyncSource: Send + Sync + 'static {
    /// `Ok(true)` when synced; `Err` when the node cannot be asked.
    fn synced(&self) -> impl Future<Output = Result<bool, String>> + Send;
}

/// What the handlers share.
pub(crate) struct Faucet<N> {
    /// The node.
    pub(crate) node: N,
    /// The network's address prefix.
    pub(crate) hrp: String,
    /// Smidge per payment.
    pub(crate) amount: u64,
    /// Cooldowns.
    pub(crate) cooldowns: Mutex<Cooldowns>,
    /// The request log.
    pub(crate) log: Mutex<RequestLog>,
    /// The sender's queue.
    pub(crate) payments: mpsc::Sender<Payment>,
}

impl<N> std::fmt::Debug for Faucet<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Faucet({}, {} smidge)", self.hrp, self.amount)
    }
}

/// The routes.
pub(crate) fn router<N: SyncSource>(faucet: Arc<Faucet<N>>) -> Router {
    Router::new()
        .route("/", get(form))
        .route("/request", axum::routing::post(request::<N>))
        .layer(DefaultBodyLimit::max(BODY_MAX))
        .with_state(faucet)
}

/// The JSON request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestJson {
    address: String,
}

/// The JSON answer.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Answer {
    /// Whether coins were sent.
    pub(crate) ok: bool,
    /// The transaction id.
    pub(crate) tx_id: Option<String>,
    /// Smidge sent.
    pub(crate) amount: Option<u64>,
    /// Why not.
    pub(crate) error: Option<String>,
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    let a = Answer { ok: false, tx_id: None, amount: None, error: Some(message.into()) };
    (status, axum::Json(a)).into_response()
}

async fn form<N: SyncSource>(State(f): State<Arc<Faucet<N>>>) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>smesh faucet</title></head>\
         <body><h1>smesh faucet</h1><p>{amount} smidge per address every cooldown.</p>\
         <form method=\"post\" action=\"/request\"><input name=\"address\" size=\"60\" \
         placeholder=\"{hrp}1...\"> <button type=\"submit\">Request</button></form></body></html>",
        amount = f.amount,
        hrp = f.hrp,
    ))
}

/// The address of a JSON body, or of a form body (`address=...`).
fn address_text(headers: &HeaderMap, body: &[u8]) -> Result<String, String> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        let r: RequestJson = serde_json::from_slice(body)
            .map_err(|e| format!("the body must be JSON {{\"address\": \"...\"}}: {e}"))?;
        return Ok(r.address);
    }
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_owned())?;
    text.split('&')
        .find_map(|kv| kv.strip_prefix("address="))
        .map(|v| v.replace('+', " ").trim().to_owned())
        .ok_or_else(|| {
            "no address: send JSON {\"address\": \"...\"} or a form field `address`".into()
        })
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

async fn request<N: SyncSource>(
    State(f): State<Arc<Faucet<N>>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ip = peer.ip();
    let text = match address_text(&headers, &body) {
        Ok(t) => t,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e),
    };
    let address = match Address::from_bech32(&text, &f.hrp) {
        Ok(a) => a,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("address {text:?}: {e}")),
    };
    let (status, answer, outcome, tx_id) = serve(&f, ip, address).await;
    let record = RequestRecord {
        time: now_secs(),
        ip: ip.to_string(),
        address: address.to_bech32(&f.hrp),
        tx_id,
        outcome,
    };
    if let Ok(mut log) = f.log.lock()
        && let Err(e) = log.append(&record)
    {
        tracing::warn!(error = %e, "the request log could not be written");
    }
    (status, axum::Json(answer)).into_response()
}

/// Decides and pays one request: the status, the answer, the outcome to log and the tx id.
async fn serve<N: SyncSource>(
    f: &Faucet<N>,
    ip: IpAddr,
    address: Address,
) -> (StatusCode, Answer, String, Option<String>) {
    let fail = |status, msg: String| {
        let a = Answer { ok: false, tx_id: None, amount: None, error: Some(msg.clone()) };
        (status, a, msg, None)
    };
    match f.node.synced().await {
        Ok(true) => {}
        Ok(false) => {
            let msg = "the faucet's node is not synced yet; try again in a few minutes";
            return fail(StatusCode::SERVICE_UNAVAILABLE, msg.into());
        }
        Err(e) => {
            return fail(StatusCode::SERVICE_UNAVAILABLE, format!("the node is unreachable: {e}"));
        }
    }
    let keys = vec![format!("addr:{}", address.to_bech32(&f.hrp)), format!("ip:{ip}")];
    let reserved = f.cooldowns.lock().map(|mut c| c.try_reserve(&keys, now_secs())).map_err(|_| ());
    match reserved {
        Ok(Ok(())) => {}
        Ok(Err(Refusal::Cooling { key, wait_secs })) => {
            let who = if key.starts_with("ip:") { "this IP" } else { "this address" };
            let msg = format!("{who} was paid recently; try again in {}", wait_text(wait_secs));
            return fail(StatusCode::TOO_MANY_REQUESTS, msg);
        }
        Ok(Err(Refusal::InFlight(_))) => {
            return fail(StatusCode::TOO_MANY_REQUESTS, "a payment to you is under way".into());
        }
        Err(()) => return fail(StatusCode::INTERNAL_SERVER_ERROR, "faucet state poisoned".into()),
    }
    let (reply, answer) = oneshot::channel();
    let sent = match f.payments.try_send(Payment { to: address, reply }) {
        Ok(()) => answer.await.unwrap_or_else(|_| Err("the sender stopped".into())),
        Err(_) => Err("too many requests are queued; try again shortly".into()),
    };
    let mut cooldowns = match f.cooldowns.lock() {
        Ok(c) => c,
        Err(_) => return fail(StatusCode::INTERNAL_SERVER_ERROR, "faucet state poisoned".into()),
    };
    match sent {
        Ok(id) => {
            if let Err(e) = cooldowns.record(&keys, now_secs()) {
                tracing::error!(error = %e, "a payment could not be recorded in the cooldowns");
            }
            let a =
                Answer { ok: true, tx_id: Some(id.clone()), amount: Some(f.amount), error: None };
            (StatusCode::OK, a, "sent".into(), Some(id))
        }
        Err(e) => {
            cooldowns.release(&keys);
            fail(StatusCode::BAD_GATEWAY, format!("the payment failed: {e}"))
        }
    }
}

fn wait_text(secs: u64) -> String {
    match secs {
        s if s >= 3600 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{}m {}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}
