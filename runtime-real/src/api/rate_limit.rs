//! Per-client rate limits of the public API: a token bucket per client IP address (an IPv6
//! client by its /64, which one host usually holds whole), shared by the public gRPC listener,
//! the JSON gateway and grpc-web. A request takes one token; a bucket holds at most `burst`
//! and refills at `rate_per_second`. Over the limit, gRPC answers RESOURCE_EXHAUSTED and the
//! JSON gateway 429 with a `retry-after` header.
//!
//! The table of buckets is bounded ([`CLIENTS_MAX`]): a new client finding it full first drops
//! every idle client (a full bucket is the same as a new one, so this forgets nothing), then,
//! if it is still full, the client seen longest ago. An attacker with many addresses can so
//! reset others' buckets but never grow memory.
//!
//! [`Buckets`] is the pure part, with the time passed in; [`RateLimiter`] adds the clock and a
//! lock, and [`grpc_layer`] / [`json_layer`] the answers of each listener.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub use crate::config::RateLimit;

/// Most clients whose buckets are kept.
pub const CLIENTS_MAX: usize = 10_000;

/// The token buckets of the clients seen lately, at times given by the caller.
///
/// Each bucket is kept as one instant (the generic cell rate algorithm, exact in integers):
/// `tat`, when the bucket will be full again. A request at `now` takes a token when
/// `tat - now` leaves room for one more interval within the burst, and moves `tat` on by one
/// interval (`1 s / rate_per_second`).
#[derive(Debug)]
pub struct Buckets {
    /// Time one token takes to come back.
    interval: Duration,
    /// How far ahead of now `tat` may be before a token is taken: `(burst - 1)` intervals.
    tolerance: Duration,
    clients_max: usize,
    table: HashMap<IpAddr, Duration>,
}

impl Buckets {
    /// Buckets of `limit`, for at most `clients_max` clients (at least one).
    pub fn new(limit: RateLimit, clients_max: usize) -> Self {
        assert!(limit.rate_per_second > 0 && limit.burst > 0, "a limit of zero is no limit");
        let interval = Duration::from_nanos(1_000_000_000 / u64::from(limit.rate_per_second));
        Buckets {
            interval,
            tolerance: interval * (limit.burst - 1),
            clients_max: clients_max.max(1),
            table: HashMap::new(),
        }
    }

    /// Clients kept.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether no client is kept.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Takes a token of `client` at `now` (time since any fixed origin, never decreasing):
    /// `Ok`, or `Err` with how long until the next token.
    pub fn take(&mut self, client: IpAddr, now: Duration) -> Result<(), Duration> {
        let client = key(client);
        if !self.table.contains_key(&client) && self.table.len() >= self.clients_max {
            self.make_room(now);
        }
        let tat = self.table.entry(client).or_insert(now);
        let start = (*tat).max(now);
        let ahead = start - now;
        if ahead > self.tolerance {
            return Err(ahead - self.tolerance);
        }
        *tat = start + self.interval;
        Ok(())
    }

    /// Drops the idle clients (whose buckets are full at `now`), else the one whose bucket
    /// fills first.
    fn make_room(&mut self, now: Duration) {
        self.table.retain(|_, tat| *tat > now);
        if self.table.len() >= self.clients_max
            && let Some(fullest) = self.table.iter().min_by_key(|(_, tat)| **tat).map(|(ip, _)| *ip)
        {
            self.table.remove(&fullest);
        }
        debug_assert!(self.table.len() < self.clients_max);
    }
}

/// The key of a client: IPv4 addresses (also when mapped into IPv6) whole, IPv6 ones by /64.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
    }
}

/// [`Buckets`] on the wall clock, shared by the listeners.
#[derive(Debug)]
pub struct RateLimiter {
    origin: Instant,
    buckets: Mutex<Buckets>,
}

impl RateLimiter {
    /// A limiter of `limit` for at most [`CLIENTS_MAX`] clients.
    pub fn new(limit: RateLimit) -> Arc<Self> {
        Arc::new(RateLimiter {
            origin: Instant::now(),
            buckets: Mutex::new(Buckets::new(limit, CLIENTS_MAX)),
        })
    }

    /// Takes a token of `client` now: `Err` with how long until the next one.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        let now = self.origin.elapsed();
        // A poisoned lock only means a panic elsewhere mid-update: the table is still usable.
        let mut buckets = self.buckets.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        buckets.take(client, now)
    }

    /// [`RateLimiter::check`] for `request`'s client. Requests with no peer address (served
    /// in process, as in tests) are not limited.
    fn check_request(&self, request: &Request) -> Result<(), Duration> {
        match client_of(request) {
            Some(ip) => self.check(ip),
            None => Ok(()),
        }
    }
}

/// The peer address of a request as either server records it (axum's `ConnectInfo` on the
/// JSON listener, tonic's `TcpConnectInfo` on the gRPC one).
fn client_of(request: &Request) -> Option<IpAddr> {
    let ext = request.extensions();
    ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).or_else(|| {
        ext.get::<tonic::transport::server::TcpConnectInfo>()
            .and_then(tonic::transport::server::TcpConnectInfo::remote_addr)
            .map(|a| a.ip())
    })
}

fn over_limit(wait: Duration) -> String {
    format!(
        "rate limit exceeded: too many requests from your address; retry in {} ms",
        wait.as_millis().max(1)
    )
}

/// Seconds for a `retry-after` header: at least 1 (the header has whole seconds).
fn retry_after(wait: Duration) -> HeaderValue {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    HeaderValue::from(secs.max(1))
}

/// Middleware answering gRPC's RESOURCE_EXHAUSTED over the limit (grpc-web too, when it runs
/// inside the grpc-web translation).
pub async fn grpc_layer(
    State(limiter): State<Arc<RateLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    match limiter.check_request(&request) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let status = tonic::Status::resource_exhausted(over_limit(wait));
            status.into_http::<axum::body::Body>().into_response()
        }
    }
}

/// Middleware answering the JSON gateway's 429 over the limit: grpc-gateway's error shape with
/// code 8 (RESOURCE_EXHAUSTED) and a `retry-after` header.
pub async fn json_layer(
    State(limiter): State<Arc<RateLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    match limiter.check_request(&request) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let body = serde_json::json!({
                "code": tonic::Code::ResourceExhausted as i32,
                "message": over_limit(wait),
                "details": [],
            });
            let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
            response.headers_mut().insert(header::RETRY_AFTER, retry_after(wait));
            response
        }
    }
}

/// `routes` with gRPC's answer over `limiter`'s limit (unchanged without a limiter).
pub fn limit_grpc(
    routes: tonic::service::Routes,
    limiter: Option<Arc<RateLimiter>>,
) -> tonic::service::Routes {
    match limiter {
        Some(limiter) => routes
            .into_axum_router()
            .layer(axum::middleware::from_fn_with_state(limiter, grpc_layer))
            .into(),
        None => routes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    const LIMIT: RateLimit = RateLimit { rate_per_second: 10, burst: 3 };

    #[test]
    fn a_burst_then_the_rate() {
        // Three requests at once pass, the fourth waits 100 ms for a token; 100 ms later one
        // passes again, and a second after that the bucket is full, not fuller.
        let mut b = Buckets::new(LIMIT, 10);
        for _ in 0..3 {
            assert_eq!(b.take(ip(1), ms(0)), Ok(()));
        }
        assert_eq!(b.take(ip(1), ms(0)), Err(ms(100)));
        assert_eq!(b.take(ip(1), ms(40)), Err(ms(60)));
        assert_eq!(b.take(ip(1), ms(100)), Ok(()));
        assert!(b.take(ip(1), ms(100)).is_err());
        let later = ms(1100);
        assert_eq!((0..5).filter(|_| b.take(ip(1), later).is_ok()).count(), 3);
    }

    #[test]
    fn clients_have_their_own_buckets_and_ipv6_counts_by_64() {
        // One client's burst leaves another's untouched; two addresses of one IPv6 /64 share a
        // bucket, and an IPv4-mapped IPv6 address is its IPv4 client.
        let mut b = Buckets::new(LIMIT, 10);
        for _ in 0..3 {
            b.take(ip(1), ms(0)).unwrap();
        }
        assert!(b.take(ip(1), ms(0)).is_err());
        assert!(b.take(ip(2), ms(0)).is_ok());
        let v6 = |last: u16| IpAddr::from([0x2001, 0xdb8, 0, 1, 0, 0, 0, last]);
        for n in 0..3 {
            b.take(v6(n), ms(0)).unwrap();
        }
        assert!(b.take(v6(99), ms(0)).is_err());
        let mapped = IpAddr::from(std::net::Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped());
        assert!(b.take(mapped, ms(0)).is_err());
        assert_eq!(b.len(), 3);
    }

    #[test]
    fn the_table_stays_bounded() {
        // With room for 4 clients, a fifth first evicts the idle ones (their buckets refilled),
        // and while all are busy, the one whose bucket fills first; never more than 4 are kept.
        let mut b = Buckets::new(LIMIT, 4);
        for n in 0..4 {
            b.take(ip(n), ms(u64::from(n))).unwrap();
        }
        assert_eq!(b.len(), 4);
        b.take(ip(9), ms(10)).unwrap();
        assert_eq!(b.len(), 4, "client 0 (its bucket full first) made room");
        for _ in 0..2 {
            b.take(ip(1), ms(10)).unwrap();
        }
        assert!(b.take(ip(1), ms(10)).is_err(), "client 1 was kept, its bucket empty");
        // 300 ms after their last request every bucket is full again: all are idle.
        b.take(ip(20), ms(410)).unwrap();
        assert_eq!(b.len(), 1, "the idle clients went at once");
        for n in 100..=255 {
            let _ = b.take(ip(n), ms(400));
            assert!(b.len() <= 4);
        }
    }

    #[tokio::test]
    async fn listeners_refuse_a_burst_past_the_limit() {
        // With bursts of 3 and 1 request a minute, three JSON calls pass and the fourth is 429
        // with retry-after and the {code, message, details} body; the client's gRPC calls
        // (shared bucket) are then RESOURCE_EXHAUSTED, while the pages are still served.
        use axum::http::Request as HttpRequest;
        use http_body_util::BodyExt as _;
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let (_stop, stop) = tokio::sync::watch::channel(false);
        let at = crate::config::ApiListeners {
            public: Some(any),
            private: None,
            json: Some(any),
            rate_limit: Some(RateLimit { rate_per_second: 1, burst: 3 }),
        };
        let at = crate::api::serve(at, crate::api::tests::api(), stop).await.unwrap();
        let json = at.json.unwrap();
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<http_body_util::Full<bytes::Bytes>>();
        let info = || {
            HttpRequest::post(format!("http://{json}/spacemesh.v2alpha1.NetworkService/Info"))
                .body(http_body_util::Full::new(bytes::Bytes::from_static(b"{}")))
                .unwrap()
        };
        for _ in 0..3 {
            assert_eq!(client.request(info()).await.unwrap().status(), StatusCode::OK);
        }
        let refused = client.request(info()).await.unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let wait: u64 = refused.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
        assert!((1..=2).contains(&wait), "{wait}");
        let body = refused.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["code"], 8);
        assert!(body["message"].as_str().unwrap().contains("rate limit"), "{body}");
        assert_eq!(body["details"], serde_json::json!([]));

        let channel =
            tonic::transport::Channel::from_shared(format!("http://{}", at.public.unwrap()))
                .unwrap()
                .connect()
                .await
                .unwrap();
        let mut network =
            crate::api::proto::spacemesh::v2alpha1::network_service_client::NetworkServiceClient::new(
                channel,
            );
        let e = network
            .info(crate::api::proto::spacemesh::v2alpha1::NetworkInfoRequest {})
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::ResourceExhausted, "{e}");

        let page = HttpRequest::get(format!("http://{json}/web/style.css"))
            .body(http_body_util::Full::default())
            .unwrap();
        assert_eq!(client.request(page).await.unwrap().status(), StatusCode::OK);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        // The header never says 0, and a wait of 1.2 s says 2.
        assert_eq!(retry_after(ms(100)), "1");
        assert_eq!(retry_after(ms(1200)), "2");
        assert_eq!(retry_after(ms(2000)), "2");
    }
}
