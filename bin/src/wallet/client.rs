//! The node's account and transaction API as a client sees it (`runtime-real`'s
//! `account_api`): one HTTP/1 exchange per call, JSON answers, errors that say whether the node
//! was unreachable, refused the input, or does not know the thing asked about.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::header::CONTENT_TYPE;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use spacemesh_core::account::Address;
use spacemesh_core::types::{GenesisId, Hash32};
use spacemesh_runtime_real::account_api::{
    AccountInfo, ApiError, NodeInfo, SubmitAnswer, TxStatusAnswer,
};
use thiserror::Error;

/// Largest answer read.
const ANSWER_MAX: usize = 64 * 1024;

/// Why a call to the node failed.
#[derive(Debug, Error)]
pub(crate) enum ClientError {
    /// Nothing answered.
    #[error(
        "node at {url} is unreachable ({detail}); check --node and that the node runs with its \
         API listener (`--metrics ADDR`)"
    )]
    Unreachable {
        /// The node's URL.
        url: String,
        /// The connection error.
        detail: String,
    },
    /// No answer in time.
    #[error("node at {url} did not answer within {after:?}")]
    Timeout {
        /// The node's URL.
        url: String,
        /// The timeout.
        after: Duration,
    },
    /// An HTTP error status with the node's explanation.
    #[error("node at {url} answered HTTP {status}: {message}")]
    Status {
        /// The node's URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// The node's message.
        message: String,
    },
    /// An answer that is not the API's.
    #[error("node at {url}: unexpected answer: {detail} (is this a smesh node's API?)")]
    Protocol {
        /// The node's URL.
        url: String,
        /// What was wrong.
        detail: String,
    },
}

impl ClientError {
    /// Whether the node answered that it does not know the thing (HTTP 404).
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, ClientError::Status { status: 404, .. })
    }
}

/// A client of one node's API.
#[derive(Debug, Clone)]
pub(crate) struct NodeClient {
    base: String,
    http: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

/// The network a node reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeNetwork {
    /// Address prefix.
    pub(crate) hrp: String,
    /// Genesis id, which transactions sign over.
    pub(crate) genesis: GenesisId,
}

impl NodeClient {
    /// A client of the node at `url` (`http://host:port`, or `host:port`).
    pub(crate) fn new(url: &str) -> anyhow::Result<NodeClient> {
        let base = if url.contains("://") { url.to_owned() } else { format!("http://{url}") };
        let base = base.trim_end_matches('/').to_owned();
        if !base.starts_with("http://") {
            anyhow::bail!("--node {url}: only http:// URLs are supported");
        }
        let uri: hyper::Uri = base.parse().map_err(|e| anyhow::anyhow!("--node {url}: {e}"))?;
        if uri.host().is_none() {
            anyhow::bail!("--node {url}: no host (write http://HOST:PORT)");
        }
        let timeout = Duration::from_secs(15);
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(timeout));
        Ok(NodeClient {
            base,
            http: Client::builder(TokioExecutor::new()).build(connector),
            timeout,
        })
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: hyper::Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<T, ClientError> {
        let url = self.base.clone();
        let mut req = hyper::Request::builder().method(method).uri(format!("{url}{path}"));
        if body.is_some() {
            req = req.header(CONTENT_TYPE, "application/octet-stream");
        }
        let req = req
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| ClientError::Protocol { url: url.clone(), detail: e.to_string() })?;
        let exchange = async {
            let resp = self.http.request(req).await.map_err(|e| {
                let detail = spacemesh_runtime_real::poet::error_chain(&e);
                if e.is_connect() {
                    ClientError::Unreachable { url: url.clone(), detail }
                } else {
                    ClientError::Protocol { url: url.clone(), detail }
                }
            })?;
            let status = resp.status();
            let body = Limited::new(resp.into_body(), ANSWER_MAX)
                .collect()
                .await
                .map_err(|e| ClientError::Protocol { url: url.clone(), detail: e.to_string() })?
                .to_bytes();
            if !status.is_success() {
                let message = serde_json::from_slice::<ApiError>(&body).map_or_else(
                    |_| String::from_utf8_lossy(&body[..body.len().min(512)]).trim().to_owned(),
                    |e| e.error,
                );
                return Err(ClientError::Status {
                    url: url.clone(),
                    status: status.as_u16(),
                    message,
                });
            }
            serde_json::from_slice(&body)
                .map_err(|e| ClientError::Protocol { url: url.clone(), detail: e.to_string() })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| ClientError::Timeout { url: url.clone(), after: self.timeout })?
    }

    /// `GET /v1/node`.
    pub(crate) async fn node(&self) -> Result<NodeInfo, ClientError> {
        self.call(hyper::Method::GET, "/v1/node", None).await
    }

    /// The node's network, checked to be well-formed.
    pub(crate) async fn network(&self) -> Result<NodeNetwork, ClientError> {
        let info = self.node().await?;
        let genesis =
            GenesisId::from_hex(&info.genesis_id).ok_or_else(|| ClientError::Protocol {
                url: self.base.clone(),
                detail: format!("genesis id {:?} is not 20 bytes of hex", info.genesis_id),
            })?;
        Ok(NodeNetwork { hrp: info.hrp, genesis })
    }

    /// `GET /v1/accounts/{address}`.
    pub(crate) async fn account(
        &self,
        address: &Address,
        hrp: &str,
    ) -> Result<AccountInfo, ClientError> {
        let path = format!("/v1/accounts/{}", address.to_bech32(hrp));
        self.call(hyper::Method::GET, &path, None).await
    }

    /// `POST /v1/transactions` with the raw bytes.
    pub(crate) async fn submit(&self, raw: Vec<u8>) -> Result<SubmitAnswer, ClientError> {
        self.call(hyper::Method::POST, "/v1/transactions", Some(Bytes::from(raw))).await
    }

    /// `GET /v1/transactions/{id}`.
    pub(crate) async fn tx_status(&self, id: &Hash32) -> Result<TxStatusAnswer, ClientError> {
        self.call(hyper::Method::GET, &format!("/v1/transactions/{id}"), None).await
    }
}
