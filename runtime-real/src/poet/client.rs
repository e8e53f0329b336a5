//! The client a node reaches a PoET service with: one SCALE-encoded [`PoetRequest`] per HTTP/1
//! `POST /v1/request`, answered by one SCALE-encoded [`PoetResponse`].

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::StatusCode;
use hyper::header::CONTENT_TYPE;
#[cfg(not(madsim))]
use hyper_util::client::legacy::{Client, connect::HttpConnector};
#[cfg(not(madsim))]
use hyper_util::rt::TokioExecutor;
use spacemesh_core::codec::{DecodeError, Encode as _, decode_exact};
use spacemesh_core::poet::{PoetRequest, PoetResponse};
use thiserror::Error;

use super::REQUEST_PATH;

/// Largest answer the client reads: a proof with the members of a full round fits.
pub const RESPONSE_BODY_MAX: usize = 16 * 1024 * 1024;
/// Longest server message kept in a [`PoetClientError::Status`].
const STATUS_TEXT_MAX: usize = 512;

/// Why a request to a PoET service failed.
#[derive(Debug, Error)]
pub enum PoetClientError {
    /// No connection could be made (nothing listens there, or the network is down).
    #[error("PoET at {addr} is unreachable: {detail}")]
    Unreachable {
        /// The service's address.
        addr: SocketAddr,
        /// The connection error.
        detail: String,
    },
    /// No complete answer within the client's timeout.
    #[error("PoET at {addr} did not answer within {after:?}")]
    Timeout {
        /// The service's address.
        addr: SocketAddr,
        /// The timeout.
        after: Duration,
    },
    /// The connection failed after it was made (reset, closed early, not HTTP/1).
    #[error("PoET at {addr}: HTTP exchange failed: {detail}")]
    Transport {
        /// The service's address.
        addr: SocketAddr,
        /// What went wrong.
        detail: String,
    },
    /// The service answered with an HTTP error status.
    #[error("PoET at {addr} answered HTTP {status}: {message}")]
    Status {
        /// The service's address.
        addr: SocketAddr,
        /// The HTTP status code.
        status: u16,
        /// The body of the answer (the server's explanation), cut to 512 bytes.
        message: String,
    },
    /// The answer is not a PoET response.
    #[error("PoET at {addr} sent an answer that does not decode: {source}")]
    Undecodable {
        /// The service's address.
        addr: SocketAddr,
        /// The decoding error.
        source: DecodeError,
    },
}

/// A raw HTTP exchange's outcome: status and body.
#[derive(Debug)]
pub(crate) struct RawAnswer {
    pub(crate) status: StatusCode,
    pub(crate) body: Bytes,
}

/// An HTTP/1 client for PoET services, reusing connections (in a `--cfg madsim` build: one
/// simulated connection per request). Cheap to clone.
#[derive(Debug, Clone)]
pub struct PoetClient {
    #[cfg(not(madsim))]
    http: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl PoetClient {
    /// A client that gives up on a request after `timeout` (connecting included).
    pub fn new(timeout: Duration) -> PoetClient {
        #[cfg(not(madsim))]
        let http = {
            let mut connector = HttpConnector::new();
            connector.set_connect_timeout(Some(timeout));
            connector.set_nodelay(true);
            Client::builder(TokioExecutor::new()).build(connector)
        };
        PoetClient {
            #[cfg(not(madsim))]
            http,
            timeout,
        }
    }

    /// Sends `request` to the service at `addr` and decodes its answer. A [`PoetResponse::Error`]
    /// is an answer, not a client error.
    pub async fn request(
        &self,
        addr: SocketAddr,
        request: &PoetRequest,
    ) -> Result<PoetResponse, PoetClientError> {
        let answer = self.post(addr, REQUEST_PATH, Bytes::from(request.encode())).await?;
        if !answer.status.is_success() {
            let cut = &answer.body[..answer.body.len().min(STATUS_TEXT_MAX)];
            return Err(PoetClientError::Status {
                addr,
                status: answer.status.as_u16(),
                message: String::from_utf8_lossy(cut).trim().to_string(),
            });
        }
        decode_exact(&answer.body).map_err(|source| PoetClientError::Undecodable { addr, source })
    }

    /// Posts `body` to `path` at `addr` and returns the status and body, whatever the status.
    pub(crate) async fn post(
        &self,
        addr: SocketAddr,
        path: &str,
        body: Bytes,
    ) -> Result<RawAnswer, PoetClientError> {
        let request = hyper::Request::post(format!("http://{addr}{path}"))
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(Full::new(body))
            .map_err(|e| PoetClientError::Transport { addr, detail: e.to_string() })?;
        let exchange = async {
            let response = self.send(addr, request).await?;
            let status = response.status();
            let body = Limited::new(response.into_body(), RESPONSE_BODY_MAX)
                .collect()
                .await
                .map_err(|e| PoetClientError::Transport {
                    addr,
                    detail: format!("reading the answer (at most {RESPONSE_BODY_MAX} bytes): {e}"),
                })?
                .to_bytes();
            Ok(RawAnswer { status, body })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| PoetClientError::Timeout { addr, after: self.timeout })?
    }

    /// One exchange on the pooled client.
    #[cfg(not(madsim))]
    async fn send(
        &self,
        addr: SocketAddr,
        request: hyper::Request<Full<Bytes>>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, PoetClientError> {
        self.http.request(request).await.map_err(|e| {
            if e.is_connect() {
                PoetClientError::Unreachable { addr, detail: error_chain(&e) }
            } else {
                PoetClientError::Transport { addr, detail: error_chain(&e) }
            }
        })
    }

    /// One exchange on a new simulated connection.
    #[cfg(madsim)]
    async fn send(
        &self,
        addr: SocketAddr,
        request: hyper::Request<Full<Bytes>>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, PoetClientError> {
        crate::http::send(addr, request).await.map_err(|e| match e {
            Ok(e) => PoetClientError::Unreachable { addr, detail: error_chain(&e) },
            Err(e) => PoetClientError::Transport { addr, detail: error_chain(&e) },
        })
    }
}

/// An error and its sources, one line (for messages about HTTP clients' failures).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
