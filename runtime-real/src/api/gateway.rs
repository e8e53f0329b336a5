//! The JSON gateway: `POST /spacemesh.v2alpha1.<Service>/<Method>` with a JSON body in the
//! canonical proto3 JSON mapping (lowerCamelCase names, 64-bit integers as strings, bytes as
//! base64, enums by name), answered by the same [`V2alpha1`] value the gRPC listener serves,
//! in process. Only the public unary methods are routed: private services are not reachable here.
//!
//! Errors have grpc-gateway's shape `{"code": N, "message": "...", "details": []}` (the gRPC
//! code, and the HTTP status grpc-gateway maps it to). A body that is not JSON or does not fit
//! the request message is 400, an unknown method 404, a body over [`BODY_MAX`] 413, and an
//! answer that takes longer than [`TIMEOUT`] 504.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::{Code, Request, Status};

use super::proto::spacemesh::v2alpha1 as pb;
use super::service::V2alpha1;
use pb::account_service_server::AccountService;
use pb::activation_service_server::ActivationService;
use pb::layer_service_server::LayerService;
use pb::malfeasance_service_server::MalfeasanceService;
use pb::network_service_server::NetworkService;
use pb::node_service_server::NodeService;
use pb::reward_service_server::RewardService;
use pb::transaction_service_server::TransactionService;

/// Largest request body (a transaction is at most 1 KiB; 100 addresses about 6 KiB).
pub const BODY_MAX: usize = 64 * 1024;
/// Longest a request may take (go-spacemesh's gateway allows 15 s too).
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// The methods this gateway answers, as `(service, method)`.
pub const METHODS: &[(&str, &str)] = &[
    ("spacemesh.v2alpha1.NetworkService", "Info"),
    ("spacemesh.v2alpha1.NodeService", "Status"),
    ("spacemesh.v2alpha1.AccountService", "List"),
    ("spacemesh.v2alpha1.LayerService", "List"),
    ("spacemesh.v2alpha1.TransactionService", "List"),
    ("spacemesh.v2alpha1.TransactionService", "ParseTransaction"),
    ("spacemesh.v2alpha1.TransactionService", "SubmitTransaction"),
    ("spacemesh.v2alpha1.TransactionService", "EstimateGas"),
    ("spacemesh.v2alpha1.RewardService", "List"),
    ("spacemesh.v2alpha1.ActivationService", "List"),
    ("spacemesh.v2alpha1.ActivationService", "ActivationsCount"),
    ("spacemesh.v2alpha1.ActivationService", "Highest"),
    ("spacemesh.v2alpha1.MalfeasanceService", "List"),
];

/// The error body (grpc-gateway's `google.rpc.Status` as JSON).
#[derive(Debug, Serialize)]
struct ErrorBody {
    code: i32,
    message: String,
    details: Vec<serde_json::Value>,
}

/// The HTTP status grpc-gateway answers a gRPC code with.
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
            StatusCode::BAD_REQUEST
        }
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn error_with(http: StatusCode, code: Code, message: impl Into<String>) -> Response {
    let body = ErrorBody { code: code as i32, message: message.into(), details: Vec::new() };
    (http, axum::Json(body)).into_response()
}

fn error(status: &Status) -> Response {
    error_with(http_status(status.code()), status.code(), status.message())
}

/// The gateway's routes on `api` (CORS is the JSON listener's: see [`super::grpc_web`]).
pub fn router(api: V2alpha1) -> Router {
    Router::new().route("/{method}/{name}", post(handle)).fallback(not_found).with_state(api)
}

async fn not_found(uri: axum::http::Uri) -> Response {
    error_with(
        StatusCode::NOT_FOUND,
        Code::NotFound,
        format!("no method at {uri}: use POST /spacemesh.v2alpha1.<Service>/<Method>"),
    )
}

async fn handle(
    State(api): State<V2alpha1>,
    Path((service, method)): Path<(String, String)>,
    body: Body,
) -> Response {
    let body = match axum::body::to_bytes(body, BODY_MAX).await {
        Ok(b) => b,
        Err(_) => {
            return error_with(
                StatusCode::PAYLOAD_TOO_LARGE,
                Code::ResourceExhausted,
                format!("the request body is over {BODY_MAX} bytes (or could not be read)"),
            );
        }
    };
    let answer = async {
        match (service.as_str(), method.as_str()) {
            ("spacemesh.v2alpha1.NetworkService", "Info") => {
                let info = |r| async { Ok(NetworkService::info(&api, r).await?.map(InfoJson)) };
                call(&body, info).await
            }
            ("spacemesh.v2alpha1.NodeService", "Status") => {
                call(&body, |r| NodeService::status(&api, r)).await
            }
            ("spacemesh.v2alpha1.AccountService", "List") => {
                call(&body, |r| AccountService::list(&api, r)).await
            }
            ("spacemesh.v2alpha1.LayerService", "List") => {
                call(&body, |r| LayerService::list(&api, r)).await
            }
            ("spacemesh.v2alpha1.TransactionService", "List") => {
                call(&body, |r| TransactionService::list(&api, r)).await
            }
            ("spacemesh.v2alpha1.TransactionService", "ParseTransaction") => {
                call(&body, |r| TransactionService::parse_transaction(&api, r)).await
            }
            ("spacemesh.v2alpha1.TransactionService", "SubmitTransaction") => {
                call(&body, |r| TransactionService::submit_transaction(&api, r)).await
            }
            ("spacemesh.v2alpha1.TransactionService", "EstimateGas") => {
                call(&body, |r| TransactionService::estimate_gas(&api, r)).await
            }
            ("spacemesh.v2alpha1.RewardService", "List") => {
                call(&body, |r| RewardService::list(&api, r)).await
            }
            ("spacemesh.v2alpha1.ActivationService", "List") => {
                call(&body, |r| ActivationService::list(&api, r)).await
            }
            ("spacemesh.v2alpha1.ActivationService", "ActivationsCount") => {
                call(&body, |r| ActivationService::activations_count(&api, r)).await
            }
            ("spacemesh.v2alpha1.ActivationService", "Highest") => {
                call(&body, |r| ActivationService::highest(&api, r)).await
            }
            ("spacemesh.v2alpha1.MalfeasanceService", "List") => {
                call(&body, |r| MalfeasanceService::list(&api, r)).await
            }
            _ => error_with(
                StatusCode::NOT_FOUND,
                Code::NotFound,
                format!("no method /{service}/{method} on this gateway"),
            ),
        }
    };
    match tokio::time::timeout(TIMEOUT, answer).await {
        Ok(response) => response,
        Err(_) => error_with(
            StatusCode::GATEWAY_TIMEOUT,
            Code::DeadlineExceeded,
            format!("no answer within {} s", TIMEOUT.as_secs()),
        ),
    }
}

/// Decodes `body` as the request message (an empty body is the empty message), calls the
/// method and encodes its answer.
async fn call<Req, Resp, F, Fut>(body: &[u8], method: F) -> Response
where
    Req: DeserializeOwned + Default,
    Resp: Serialize,
    F: FnOnce(Request<Req>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Resp>, Status>>,
{
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        Req::default()
    } else {
        let mut json = serde_json::Deserializer::from_slice(body);
        match serde_path_to_error::deserialize::<_, Req>(&mut json) {
            Ok(r) => r,
            Err(e) => {
                let at = match e.path().to_string().as_str() {
                    "." | "?" => String::new(),
                    path => format!(" at {path}"),
                };
                return error_with(
                    StatusCode::BAD_REQUEST,
                    Code::InvalidArgument,
                    format!(
                        "the body is not a valid {} in JSON{at}: {}",
                        short_type::<Req>(),
                        e.inner()
                    ),
                );
            }
        }
    };
    match method(Request::new(request)).await {
        Ok(answer) => match serde_json::to_vec(answer.get_ref()) {
            Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
            Err(e) => error(&Status::internal(format!("encoding the answer: {e}"))),
        },
        Err(status) => error(&status),
    }
}

/// Network.Info's answer as proto3 JSON asks: its timestamp Z-normalized with 0, 3, 6 or 9
/// fractional digits (pbjson writes `+00:00`).
struct InfoJson(pb::NetworkInfoResponse);

impl Serialize for InfoJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let mut json = serde_json::to_value(&self.0).map_err(S::Error::custom)?;
        if let Some(t) = self.0.genesis_time {
            json["genesisTime"] = rfc3339_z(t).map_err(S::Error::custom)?.into();
        }
        json.serialize(serializer)
    }
}

/// `t` in RFC 3339, UTC as `Z`, with 0, 3, 6 or 9 fractional digits.
fn rfc3339_z(t: pbjson_types::Timestamp) -> Result<String, String> {
    let time: chrono::DateTime<chrono::Utc> = t.try_into().map_err(|e| format!("{e:?}"))?;
    Ok(time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

/// The message name of `T` (`AccountRequest`), for errors.
fn short_type<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}
