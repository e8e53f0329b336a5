//! The network dashboard and the web wallet: static pages compiled into the binary and served
//! beside the JSON gateway, which they call from the browser (same origin, so no CORS).
//!
//! - `/` (and `/dashboard`): current layer and epoch, sync status, peers, the active set's size
//!   and weight, a layer timeline, ATX weight over epochs, recent layers with their state
//!   hashes, rewards and malfeasance proofs; it polls the gateway every two seconds.
//! - `/wallet`: a key from a mnemonic (the accounts of `smesh wallet`) or a seed, the account's
//!   balance and nonces, and a signed self-spawn or spend submitted to the node. Keys never
//!   leave the page.
//! - `/web/*`: the pages' scripts and style sheet.
//!
//! The wallet's transaction code (`web/tx.js`) is tested against the project's golden
//! encodings by `node --test runtime-real/web/`, and the pages against a devnet in headless
//! Chromium by `.ci/web-browser-test.py`.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// A page or script: its path, content type and text.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

const ASSETS: &[Asset] = &[
    Asset { path: "/", content_type: HTML, body: include_str!("../web/dashboard.html") },
    Asset { path: "/dashboard", content_type: HTML, body: include_str!("../web/dashboard.html") },
    Asset { path: "/wallet", content_type: HTML, body: include_str!("../web/wallet.html") },
    Asset { path: "/web/style.css", content_type: CSS, body: include_str!("../web/style.css") },
    Asset { path: "/web/api.js", content_type: JS, body: include_str!("../web/api.js") },
    Asset { path: "/web/tx.js", content_type: JS, body: include_str!("../web/tx.js") },
    Asset {
        path: "/web/dashboard.js",
        content_type: JS,
        body: include_str!("../web/dashboard.js"),
    },
    Asset { path: "/web/wallet.js", content_type: JS, body: include_str!("../web/wallet.js") },
];

fn serve(asset: &'static Asset) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, asset.content_type),
            // The pages change with the binary only; a reload after an upgrade must see them.
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        asset.body,
    )
        .into_response()
}

/// The routes of the dashboard and the wallet, to merge into the gateway's router.
pub fn router() -> Router {
    ASSETS.iter().fold(Router::new(), |r, asset| {
        r.route(asset.path, get(move || async move { serve(asset) }))
    })
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    async fn get_path(path: &str) -> (StatusCode, String, String) {
        let res = router().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
        let status = res.status();
        let ct = res
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, ct, String::from_utf8(body.to_vec()).unwrap())
    }

    /// Every page and script is served with its type, and every script or style sheet a page
    /// names is one that is served (a renamed file cannot leave a page half-loaded).
    #[tokio::test]
    async fn pages_and_their_assets_are_served() {
        for asset in ASSETS {
            let (status, ct, body) = get_path(asset.path).await;
            assert_eq!(status, StatusCode::OK, "{}", asset.path);
            assert_eq!(ct, asset.content_type, "{}", asset.path);
            assert!(!body.is_empty());
            for linked in body.split(['"', '\'']).filter(|s| s.starts_with("/web/")) {
                assert!(ASSETS.iter().any(|a| a.path == linked), "{} names {linked}", asset.path);
            }
            for import in body.split(['"']).filter(|s| s.starts_with("./") && s.ends_with(".js")) {
                let path = format!("/web/{}", &import[2..]);
                assert!(ASSETS.iter().any(|a| a.path == path), "{} imports {import}", asset.path);
            }
        }
        assert_eq!(get_path("/web/missing.js").await.0, StatusCode::NOT_FOUND);
    }
}
