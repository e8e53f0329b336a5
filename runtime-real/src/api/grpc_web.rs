//! The JSON listener's services: grpc-web for browsers beside the JSON gateway and the pages.
//!
//! A request whose content type is `application/grpc-web` (`+proto`) or
//! `application/grpc-web-text` (base64) is served as grpc-web by the public gRPC services, the
//! same values the public listener serves, and by the five read-only v2alpha1 streams of the
//! private listener (so that a page can follow the node live). The smeshing control and admin
//! services are not registered here: they answer UNIMPLEMENTED as any unknown method. Everything else goes to
//! the JSON gateway and the dashboard's pages. grpc-web runs over HTTP/1.1, which is all this
//! listener speaks.
//!
//! Limits: a grpc-web request body over [`gateway::BODY_MAX`] fails (RESOURCE_EXHAUSTED is not
//! possible once the call started: the call ends with an error); the per-client rate limit of
//! [`rate_limit`] applies to grpc-web (as gRPC's RESOURCE_EXHAUSTED, translated to grpc-web)
//! and to the gateway (429), not to the pages. CORS is open to any origin for both, lets the
//! grpc-web headers through and exposes the gRPC status headers to scripts.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::{Layer as _, ServiceExt as _};
use tower_http::cors::{Any, CorsLayer};

use super::rate_limit::{self, RateLimiter};
use super::{V2alpha1, gateway};

/// The request headers a grpc-web client sends besides the simple ones.
pub const ALLOWED_HEADERS: &[&str] =
    &["content-type", "x-grpc-web", "x-user-agent", "grpc-timeout", "authorization"];
/// The answer headers grpc-web clients read.
pub const EXPOSED_HEADERS: &[&str] = &["grpc-status", "grpc-message", "grpc-status-details-bin"];

/// Whether `request` is grpc-web (by its content type).
pub fn is_grpc_web(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc-web"))
}

/// Everything the JSON listener serves on `api`, with the rate limit of `limiter` (if any).
pub fn json_listener(api: V2alpha1, limiter: Option<Arc<RateLimiter>>) -> Router {
    let mut routes = tonic::service::Routes::builder();
    super::add_public(&mut routes, &api);
    super::add_streams(&mut routes, &api);
    let grpc = rate_limit::limit_grpc(routes.routes(), limiter.clone());
    let grpc_web = Router::new().fallback_service(tonic_web::GrpcWebLayer::new().layer(grpc));
    let mut gateway = gateway::router(api);
    if let Some(limiter) = limiter {
        gateway = gateway.layer(middleware::from_fn_with_state(limiter, rate_limit::json_layer));
    }
    crate::web::router()
        .merge(gateway)
        .layer(middleware::from_fn_with_state(grpc_web, dispatch))
        .layer(cors())
}

/// Sends grpc-web requests to `grpc_web` (their bodies bounded), the rest on.
async fn dispatch(State(grpc_web): State<Router>, request: Request, next: Next) -> Response {
    if !is_grpc_web(&request) {
        return next.run(request).await;
    }
    let request = request.map(|b| Body::new(http_body_util::Limited::new(b, gateway::BODY_MAX)));
    match grpc_web.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
    .into_response()
}

/// CORS of the JSON listener: any origin (the API takes no credentials), POST and preflights,
/// the grpc-web request headers, the gRPC status headers exposed.
fn cors() -> CorsLayer {
    let names = |list: &[&'static str]| -> Vec<HeaderName> {
        list.iter().map(|h| HeaderName::from_static(h)).collect()
    };
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers(names(ALLOWED_HEADERS))
        .expose_headers(names(EXPOSED_HEADERS))
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use http_body_util::BodyExt as _;
    use prost::Message as _;

    use super::*;
    use crate::api::proto::spacemesh::v2alpha1 as pb;

    /// A grpc-web data frame of `message`.
    fn frame(message: &impl prost::Message) -> Vec<u8> {
        let bytes = message.encode_to_vec();
        let mut out = vec![0];
        out.extend_from_slice(&u32::try_from(bytes.len()).unwrap().to_be_bytes());
        out.extend_from_slice(&bytes);
        out
    }

    /// The frames of a grpc-web answer body: (flag, payload).
    fn frames(mut body: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let mut out = Vec::new();
        while !body.is_empty() {
            assert!(body.len() >= 5, "a frame header is 5 bytes");
            let len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
            out.push((body[0], body[5..5 + len].to_vec()));
            body = &body[5 + len..];
        }
        out
    }

    /// The grpc-status of a trailer frame's text (`name:value` lines).
    fn grpc_status(trailer: &[u8]) -> Option<u32> {
        String::from_utf8_lossy(trailer)
            .lines()
            .find_map(|l| l.trim().strip_prefix("grpc-status:").map(|v| v.trim().parse().unwrap()))
    }

    /// Posts `body` as `content_type` to `path` of the JSON listener (no rate limit) and
    /// returns the HTTP status, the response headers and the body.
    async fn post(
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, content_type)
            .header("x-grpc-web", "1")
            // A grpc-web client asks for the answer in the encoding it sent.
            .header(header::ACCEPT, content_type)
            .body(Body::from(body))
            .unwrap();
        let response =
            json_listener(crate::api::tests::api(), None).oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        (parts.status, parts.headers, body.collect().await.unwrap().to_bytes().to_vec())
    }

    #[tokio::test]
    async fn unary_call_over_grpc_web() {
        // Network.Info over binary grpc-web: one data frame with the answer, then a trailer
        // frame with grpc-status 0.
        let (status, headers, body) = post(
            "/spacemesh.v2alpha1.NetworkService/Info",
            "application/grpc-web+proto",
            frame(&pb::NetworkInfoRequest {}),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/grpc-web")
        );
        let frames = frames(&body);
        assert_eq!(frames.len(), 2, "{frames:?}");
        assert_eq!(frames[0].0, 0);
        let info = pb::NetworkInfoResponse::decode(frames[0].1.as_slice()).unwrap();
        assert_eq!((info.hrp.as_str(), info.layers_per_epoch), ("stest", 4));
        assert_eq!(frames[1].0, 0x80, "the trailer frame");
        assert_eq!(grpc_status(&frames[1].1), Some(0));
    }

    #[tokio::test]
    async fn text_variant_is_base64() {
        // grpc-web-text: the request and the answer are base64 of the same frames.
        let request = pb::LayerRequest { start_layer: 9, limit: 5, ..Default::default() };
        let (status, headers, body) = post(
            "/spacemesh.v2alpha1.LayerService/List",
            "application/grpc-web-text",
            STANDARD.encode(frame(&request)).into_bytes(),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let ct = headers[header::CONTENT_TYPE].to_str().unwrap();
        assert!(ct.starts_with("application/grpc-web-text"), "{ct} {status}");
        // Each chunk is padded base64 of its own: decode them one by one.
        let text = String::from_utf8(body).unwrap();
        let mut bytes = Vec::new();
        let mut rest = text.as_str();
        while !rest.is_empty() {
            let end = rest
                .find('=')
                .map_or(rest.len(), |i| i + rest[i..].chars().take_while(|c| *c == '=').count());
            bytes.extend(STANDARD.decode(&rest[..end]).unwrap());
            rest = &rest[end..];
        }
        let frames = frames(&bytes);
        let layers = pb::LayerList::decode(frames[0].1.as_slice()).unwrap().layers;
        assert_eq!(layers.iter().map(|l| l.number).collect::<Vec<_>>(), [9, 10]);
        assert_eq!(grpc_status(&frames.last().unwrap().1), Some(0));
    }

    #[tokio::test]
    async fn stream_over_grpc_web() {
        // The layer stream without watch: one data frame per kept layer from the start, then
        // the trailer frame with grpc-status 0.
        let request = pb::LayerStreamRequest { start_layer: 9, end_layer: 0, watch: false };
        let (status, _, body) = post(
            "/spacemesh.v2alpha1.LayerStreamService/Stream",
            "application/grpc-web+proto",
            frame(&request),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let frames = frames(&body);
        let (trailer, data) = frames.split_last().unwrap();
        let layers: Vec<u32> = data
            .iter()
            .map(|(flag, bytes)| {
                assert_eq!(*flag, 0);
                pb::Layer::decode(bytes.as_slice()).unwrap().number
            })
            .collect();
        assert_eq!(layers, [9, 10]);
        assert_eq!((trailer.0, grpc_status(&trailer.1)), (0x80, Some(0)));
    }

    #[tokio::test]
    async fn unknown_and_private_methods_are_unimplemented() {
        // An unknown method and a private service (smeshing control) both answer grpc-status 12.
        for path in
            ["/spacemesh.v2alpha1.NoService/Nothing", "/spacemesh.v1.SmesherService/IsSmeshing"]
        {
            let (status, headers, body) =
                post(path, "application/grpc-web+proto", frame(&pb::LayerStreamRequest::default()))
                    .await;
            assert_eq!(status, StatusCode::OK, "{path}");
            // A trailers-only answer carries the status in its headers, else in a trailer frame.
            let code = headers
                .get("grpc-status")
                .map(|v| v.to_str().unwrap().parse().unwrap())
                .or_else(|| frames(&body).last().and_then(|(_, t)| grpc_status(t)));
            assert_eq!(code, Some(12), "{path}");
        }
    }

    #[tokio::test]
    async fn json_and_pages_still_served_and_cors_lets_grpc_web_through() {
        // A JSON body still goes to the gateway, a page to the pages; a browser's preflight for
        // grpc-web is allowed with its headers, and answers expose grpc-status.
        let (status, _, body) =
            post("/spacemesh.v2alpha1.NetworkService/Info", "application/json", b"{}".to_vec())
                .await;
        assert_eq!(status, StatusCode::OK);
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["hrp"], "stest");
        let page = Request::get("/web/style.css").body(Body::empty()).unwrap();
        let router = json_listener(crate::api::tests::api(), None);
        assert_eq!(router.clone().oneshot(page).await.unwrap().status(), StatusCode::OK);
        let preflight = Request::options("/spacemesh.v2alpha1.NetworkService/Info")
            .header("origin", "http://wallet.test")
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,x-grpc-web,x-user-agent,grpc-timeout",
            )
            .body(Body::empty())
            .unwrap();
        let answer = router.clone().oneshot(preflight).await.unwrap();
        assert_eq!(answer.headers()["access-control-allow-origin"], "*");
        let allowed = answer.headers()["access-control-allow-headers"].to_str().unwrap();
        for h in ["x-grpc-web", "x-user-agent", "grpc-timeout", "content-type"] {
            assert!(allowed.contains(h), "{h} in {allowed}");
        }
        let call = Request::post("/spacemesh.v2alpha1.NetworkService/Info")
            .header("origin", "http://wallet.test")
            .header(header::CONTENT_TYPE, "application/grpc-web+proto")
            .body(Body::from(frame(&pb::NetworkInfoRequest {})))
            .unwrap();
        let answer = router.oneshot(call).await.unwrap();
        let exposed = answer.headers()["access-control-expose-headers"].to_str().unwrap();
        assert!(exposed.contains("grpc-status") && exposed.contains("grpc-message"), "{exposed}");
    }
}
